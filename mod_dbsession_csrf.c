/*
 * DBSessionCSRFCheck: a request whose method is not safe (anything but GET,
 * HEAD, OPTIONS and TRACE) must show the session's token, in the X-CSRF-Token
 * header or in the _csrf field of a form body. The body, received in full
 * before the session was opened, is scanned up to that field where it lies
 * (dbs_csrf takes it in any chunks), so the handler still reads it whole.
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

/* The _csrf field of the body received before the session (in memory and
 * in its temporary file), read where it lies: the handler still gets the
 * same buckets, in their order. */
static const char *token_in_body(request_rec *r, apr_bucket_brigade *body)
{
    dbs_csrf_scan_t scan;
    dbs_csrf_result_e result = DBS_CSRF_MORE;
    apr_off_t scanned = 0;
    apr_bucket *b;

    dbs_csrf_scan_init(&scan);
    for (b = APR_BRIGADE_FIRST(body);
         b != APR_BRIGADE_SENTINEL(body) && result == DBS_CSRF_MORE &&
         scanned < CSRF_SCAN_LIMIT;
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_EOS(b)) {
            result = dbs_csrf_scan_end(&scan, r->pool);
        }
        else if (!APR_BUCKET_IS_METADATA(b) &&
                 apr_bucket_read(b, &data, &len, APR_BLOCK_READ) ==
                     APR_SUCCESS) {
            result = dbs_csrf_scan_feed(&scan, r->pool, data, len);
            scanned += (apr_off_t)len;
        }
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
    /* The body of a session's request was received before its session was
     * opened (mod_dbsession_body.c); a subrequest has none of its own. */
    if (!presented && is_form(r) && !r->main && rs && rs->body) {
        presented = token_in_body(r, rs->body);
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
