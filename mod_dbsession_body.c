/*
 * Request bodies before the session: a request with a body is received in
 * full (the first BODY_MEMORY_LIMIT bytes in memory, the rest in a
 * temporary file) before its session is opened, so that a client that
 * trickles its upload holds no lock, no pooled connection and no open
 * transaction. LimitRequestBody and mod_reqtimeout apply as they would to
 * the handler's own reads; the handler then reads the body at full speed
 * through an input filter that replays it, also after an internal redirect
 * (httpd gives a redirected request_rec only the protocol's filters).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "apr_file_io.h"
#include "apr_strings.h"

#include "mod_dbsession_private.h"

/* How much of a body stays in memory while it is received. */
#define BODY_MEMORY_LIMIT (64 * 1024)
/* How much is asked of the input filters at a time. */
#define BODY_READ_SIZE (16 * 1024)

static int has_body(const request_rec *r)
{
    const char *length = apr_table_get(r->headers_in, "Content-Length");

    return apr_table_get(r->headers_in, "Transfer-Encoding") ||
           (length && strspn(length, "0 \t") != strlen(length));
}

/* Where the body goes past BODY_MEMORY_LIMIT: a file of its own, removed
 * when the request ends. */
static apr_status_t open_spool(request_rec *r, apr_file_t **file)
{
    const char *dir;
    char *name;
    apr_status_t rv = apr_temp_dir_get(&dir, r->pool);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    name = apr_pstrcat(r->pool, dir, "/dbsession-body.XXXXXX", NULL);
    return apr_file_mktemp(file, name,
                           APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE |
                               APR_FOPEN_EXCL | APR_FOPEN_BINARY |
                               APR_FOPEN_DELONCLOSE,
                           r->pool);
}

int dbsession_receive_body(request_rec *r, apr_bucket_brigade **body)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    apr_bucket_brigade *kept = apr_brigade_create(r->pool, ba);
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, ba);
    apr_file_t *spool = NULL;
    apr_off_t in_memory = 0, spooled = 0;
    int ended = 0;

    *body = NULL;
    if (r->main || !has_body(r)) {
        return OK;
    }
    while (!ended) {
        apr_status_t rv =
            ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                           APR_BLOCK_READ, BODY_READ_SIZE);

        if (rv != APR_SUCCESS) {
            /* LimitRequestBody (413), a timeout (408), a bad chunk. */
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r,
                          DBSLOGNO(042) "receiving the request body "
                                        "before the session failed");
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        while (!APR_BRIGADE_EMPTY(bb)) {
            apr_bucket *b = APR_BRIGADE_FIRST(bb);
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(b)) {
                ended = 1;
            }
            if (APR_BUCKET_IS_METADATA(b) ||
                (rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ)) !=
                    APR_SUCCESS) {
                apr_bucket_delete(b);
                if (rv != APR_SUCCESS) {
                    return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
                }
                continue;
            }
            if (!spool && in_memory + (apr_off_t)len <= BODY_MEMORY_LIMIT) {
                APR_BUCKET_REMOVE(b);
                apr_bucket_setaside(b, r->pool);
                APR_BRIGADE_INSERT_TAIL(kept, b);
                in_memory += (apr_off_t)len;
                continue;
            }
            if ((!spool && (rv = open_spool(r, &spool)) != APR_SUCCESS) ||
                (rv = apr_file_write_full(spool, data, len, NULL)) !=
                    APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                              DBSLOGNO(043) "spooling the request body to "
                                            "a temporary file failed");
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            spooled += (apr_off_t)len;
            apr_bucket_delete(b);
        }
    }
    if (spool) {
        apr_brigade_insert_file(kept, spool, 0, spooled, r->pool);
    }
    APR_BRIGADE_INSERT_TAIL(kept, apr_bucket_eos_create(ba));
    ap_add_input_filter(DBSESSION_BODY_FILTER, kept, r, r->connection);
    *body = kept;
    return OK;
}

void dbsession_replay_body(request_rec *r, apr_bucket_brigade *body)
{
    if (body && !APR_BRIGADE_EMPTY(body)) {
        ap_add_input_filter(DBSESSION_BODY_FILTER, body, r, r->connection);
    }
}

/* Hands the handler the body read before it (f->ctx: the brigade kept),
 * then the rest, if any, as it comes. */
apr_status_t dbsession_body_replay(ap_filter_t *f, apr_bucket_brigade *bb,
                                   ap_input_mode_t mode, apr_read_type_e block,
                                   apr_off_t readbytes)
{
    apr_bucket_brigade *kept = f->ctx;
    apr_bucket *after;
    apr_status_t rv;

    if (APR_BRIGADE_EMPTY(kept)) {
        ap_remove_input_filter(f);
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    if (mode == AP_MODE_GETLINE) {
        return apr_brigade_split_line(bb, kept, block, HUGE_STRING_LEN);
    }
    if (mode == AP_MODE_EXHAUSTIVE) {
        APR_BRIGADE_CONCAT(bb, kept);
        return APR_SUCCESS;
    }
    rv = apr_brigade_partition(kept, readbytes, &after);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        return rv;
    }
    if (mode == AP_MODE_SPECULATIVE) {
        /* Look, do not take. */
        apr_bucket *b, *copy;

        for (b = APR_BRIGADE_FIRST(kept); b != after; b = APR_BUCKET_NEXT(b)) {
            apr_bucket_copy(b, &copy);
            APR_BRIGADE_INSERT_TAIL(bb, copy);
        }
        return APR_SUCCESS;
    }
    while (APR_BRIGADE_FIRST(kept) != after) {
        apr_bucket *b = APR_BRIGADE_FIRST(kept);

        APR_BUCKET_REMOVE(b);
        APR_BRIGADE_INSERT_TAIL(bb, b);
    }
    return APR_SUCCESS;
}
