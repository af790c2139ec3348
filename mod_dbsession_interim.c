/*
 * mod_dbsession: interim (1xx) responses never carry X-DBSession-* headers.
 *
 * httpd 2.4 sends an interim response (mod_proxy_http forwarding a
 * backend's 103 Early Hints or 100 Continue: ap_send_interim_response in
 * server/protocol.c) by writing its status line and r->headers_out straight
 * to r->connection->output_filters: no request filter and no hook sees it,
 * so the output filter that takes the X-DBSession-* headers out of the
 * final response never meets these. A session request therefore puts this
 * filter at the head of its connection's output filters. The request's own
 * response does not pass it (the request's filters were linked to the
 * connection's before); what does is written to the connection directly:
 * interim responses, a tunnel after 101 Switching Protocols, the end of the
 * request. It drops the X-DBSession-* lines of interim header blocks, lets
 * everything after a 101 (or anything that is not a response head) through
 * untouched, and leaves the connection with its request.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_request.h"
#include "util_filter.h"

#include "apr_strings.h"

#include "mod_dbsession_private.h"

#define INTERIM_FILTER "DBSESSION_INTERIM"
#define OUR_HEADERS    "X-DBSession-"
#define MAX_LINE       65536

typedef struct {
    apr_pool_t *pool; /* the request's */
    ap_filter_t *f;
    apr_bucket_brigade *out;
    char *line; /* the line in progress, not yet ended by '\n' */
    apr_size_t len, cap;
    int in_block;  /* within a response head, after its status line */
    int switching; /* that head is a 101: a tunnel follows */
    int pass;      /* not (or no longer) response heads: all passes */
    int removed;
} interim_t;

static void emit(interim_t *x, const char *data, apr_size_t len)
{
    apr_brigade_write(x->out, NULL, NULL, data, len);
}

/* One whole line of a response head ('\n' included). */
static void end_line(interim_t *x)
{
    const char *l = x->line;
    apr_size_t len = x->len;

    x->len = 0;
    if (!x->in_block) {
        if (len < 5 || strncmp(l, "HTTP/", 5) != 0) {
            x->pass = 1; /* not a response head: leave it alone */
            emit(x, l, len);
            return;
        }
        x->in_block = 1;
        x->switching = len > 12 && strncmp(l + 8, " 101", 4) == 0;
        emit(x, l, len);
        return;
    }
    if (len <= 2 && (l[0] == '\n' || (l[0] == '\r' && len == 2))) {
        x->in_block = 0;
        x->pass = x->switching; /* after a 101 the connection is a tunnel */
        emit(x, l, len);
        return;
    }
    if (len >= sizeof(OUR_HEADERS) - 1 &&
        strncasecmp(l, OUR_HEADERS, sizeof(OUR_HEADERS) - 1) == 0) {
        return; /* never to the client */
    }
    emit(x, l, len);
}

static void take_data(interim_t *x, const char *data, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len && !x->pass; i++) {
        if (x->len == x->cap) {
            if (x->cap >= MAX_LINE) {
                /* No header line is this long: not a response head. */
                x->pass = 1;
                emit(x, x->line, x->len);
                x->len = 0;
                break;
            }
            x->cap = x->cap ? 2 * x->cap : 256;
            x->line = memcpy(apr_palloc(x->pool, x->cap),
                             x->line ? x->line : "", x->len);
        }
        x->line[x->len++] = data[i];
        if (data[i] == '\n') {
            end_line(x);
        }
    }
    if (i < len) {
        emit(x, data + i, len - i);
    }
}

static apr_status_t interim_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    interim_t *x = f->ctx;
    int last = 0;

    if (x->pass && x->len == 0) {
        return ap_pass_brigade(f->next, bb);
    }
    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);
        const char *data;
        apr_size_t len;
        apr_status_t rv;

        if (APR_BUCKET_IS_METADATA(b)) {
            if (AP_BUCKET_IS_EOR(b) || APR_BUCKET_IS_EOS(b)) {
                /* The request ends: what is held goes as it is. */
                emit(x, x->line, x->len);
                x->len = 0;
                last = AP_BUCKET_IS_EOR(b);
            }
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(x->out, b);
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        take_data(x, data, len);
        apr_bucket_delete(b);
    }
    if (last) {
        /* Passing the end of the request may free the request's pool, and
         * x with it: leave first, and touch nothing after. */
        x->removed = 1;
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, x->out);
    }
    {
        apr_status_t rv = ap_pass_brigade(f->next, x->out);

        apr_brigade_cleanup(x->out);
        return rv;
    }
}

static apr_status_t interim_done(void *data)
{
    interim_t *x = data;

    if (!x->removed) {
        x->removed = 1;
        ap_remove_output_filter(x->f);
    }
    return APR_SUCCESS;
}

void dbsession_interim_watch(request_rec *r)
{
    interim_t *x;

    if (r->proto_num < HTTP_VERSION(1, 1)) {
        return; /* httpd sends no interim response to HTTP/1.0 */
    }
    x = apr_pcalloc(r->pool, sizeof(*x));
    x->pool = r->pool;
    x->out = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    /* Without r: a connection filter, not linked into r's own chain (its
     * record is the connection's: a few bytes per request). */
    x->f = ap_add_output_filter(INTERIM_FILTER, x, NULL, r->connection);
    if (x->f) {
        apr_pool_cleanup_register(r->pool, x, interim_done,
                                  apr_pool_cleanup_null);
    }
}

void dbsession_interim_register(void)
{
    ap_register_output_filter(INTERIM_FILTER, interim_filter, NULL,
                              AP_FTYPE_CONNECTION);
}
