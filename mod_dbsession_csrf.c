/*
 * DBSessionCSRFCheck: a request whose method is not safe (anything but GET,
 * HEAD, OPTIONS and TRACE) must show the session's token, in the X-CSRF-Token
 * header or in the _csrf field of a form body. The body is read only until that
 * field (dbs_csrf scans it as it streams in) and replayed to the handler whole
 * by an input filter.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_filter.h"

#include "apr_strings.h"

#include "mod_dbsession_private.h"

#include "dbs_crypto.h"
#include "dbs_csrf.h"

#define CSRF_HEADER "X-CSRF-Token"
#define FORM_TYPE   "application/x-www-form-urlencoded"
/* How much of a form body the check reads (and keeps) to find _csrf. */
#define CSRF_SCAN_LIMIT (1 << 20)

/* Safe methods change nothing: GET (and HEAD, which is M_GET), OPTIONS and
 * TRACE. Every other one, WebDAV's and custom methods included, needs the
 * token. */
static int is_unsafe_method(const request_rec *r)
{
    return r->method_number != M_GET && r->method_number != M_OPTIONS &&
           r->method_number != M_TRACE;
}

static int is_form(const request_rec *r)
{
    const char *type = apr_table_get(r->headers_in, "Content-Type");
    apr_size_t len = strlen(FORM_TYPE);

    return type && strncasecmp(type, FORM_TYPE, len) == 0 &&
           (type[len] == '\0' || type[len] == ';' || type[len] == ' ');
}

/* Read the body until its _csrf field is complete (or the body ends),
 * keeping every bucket read in `kept` for the handler. */
static const char *token_in_body(request_rec *r, apr_bucket_brigade *kept)
{
    apr_bucket_brigade *bb =
        apr_brigade_create(r->pool, r->connection->bucket_alloc);
    dbs_csrf_scan_t scan;
    dbs_csrf_result_e result = DBS_CSRF_MORE;
    apr_off_t scanned = 0;
    int ended = 0;

    dbs_csrf_scan_init(&scan);
    while (result == DBS_CSRF_MORE && !ended && scanned < CSRF_SCAN_LIMIT) {
        if (ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                           APR_BLOCK_READ, HUGE_STRING_LEN) != APR_SUCCESS) {
            break; /* the handler will see the same error */
        }
        while (!APR_BRIGADE_EMPTY(bb)) {
            apr_bucket *b = APR_BRIGADE_FIRST(bb);
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(b)) {
                ended = 1;
            }
            else if (result == DBS_CSRF_MORE && !APR_BUCKET_IS_METADATA(b) &&
                     apr_bucket_read(b, &data, &len, APR_BLOCK_READ) ==
                         APR_SUCCESS) {
                result = dbs_csrf_scan_feed(&scan, r->pool, data, len);
                scanned += (apr_off_t)len;
            }
            APR_BUCKET_REMOVE(b);
            apr_bucket_setaside(b, r->pool);
            APR_BRIGADE_INSERT_TAIL(kept, b);
        }
    }
    if (result == DBS_CSRF_MORE && ended) {
        result = dbs_csrf_scan_end(&scan, r->pool);
    }
    return result == DBS_CSRF_FOUND ? scan.value : NULL;
}

/* fixups come after authentication and authorization and before the
 * handler: a POST, PUT, PATCH or DELETE must show the session's token in
 * X-CSRF-Token or in the _csrf field of a form body, which the handler
 * then still reads whole. A failure is 403, and rolls back. */
int dbsession_csrf_fixups(request_rec *r)
{
    const dbs_dir_config_t *raw =
        ap_get_module_config(r->per_dir_config, &dbsession_module);
    dbsession_request_t *rs = dbsession_request(r);
    const char *presented, *why;

    /* Every request_rec that reaches a scope with the check, internal
     * redirects from scopes without it included, unless an earlier one of
     * the chain passed it. */
    if (!dbs_dir_config_csrf_check(raw) || !is_unsafe_method(r) ||
        (rs && rs->csrf_passed)) {
        return DECLINED;
    }
    presented = apr_table_get(r->headers_in, CSRF_HEADER);
    /* A subrequest does not read the request's body. */
    if (!presented && is_form(r) && !r->main) {
        apr_bucket_brigade *kept =
            apr_brigade_create(r->pool, r->connection->bucket_alloc);

        presented = token_in_body(r, kept);
        ap_add_input_filter(DBSESSION_BODY_FILTER, kept, r, r->connection);
    }
    if (!rs || rs->failed || !rs->session.loaded) {
        why = "the request has no session";
    }
    else if (!presented) {
        why = "no token (X-CSRF-Token or a _csrf field)";
    }
    else if (!dbs_token_matches(rs->session.csrf, presented)) {
        why = "the token is not the session's";
    }
    else {
        rs->csrf_passed = 1;
        return DECLINED;
    }
    COUNT(CSRF_FAILURES, 1);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  DBSLOGNO(080) "CSRF check failed: %s: 403", why);
    return HTTP_FORBIDDEN;
}
