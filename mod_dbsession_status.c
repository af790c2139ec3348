/*
 * mod_dbsession_status: the server-wide counters and the handler that shows
 * them (SetHandler dbsession-status; ?auto, ?metrics).
 *
 * The counters live in anonymous shared memory that the httpd parent maps
 * once and keeps in its process pool: every child of every generation
 * inherits the same mapping, so the counters are the whole server's and
 * survive graceful (and plain) restarts; they start at zero with httpd.
 */
#include "mod_dbsession_private.h"

#include "http_log.h"
#include "http_protocol.h"

#include "apr_shm.h"
#include "apr_strings.h"

#define STATUS_HANDLER "dbsession-status"
/* In the process pool, which outlives every configuration generation (and
 * this module's DSO, which httpd reloads on restart: the key is copied). */
#define STATS_USERDATA "mod_dbsession:stats"

dbs_stats_t *dbsession_stats;

void dbsession_stats_attach(server_rec *s)
{
    apr_pool_t *process_pool = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&shm, STATS_USERDATA, process_pool);
    if (!shm) {
        rv = apr_shm_create(&shm, sizeof(dbs_stats_t), NULL, process_pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         DBSLOGNO(002) "no shared memory for the counters: "
                                       "the dbsession-status handler "
                                       "answers 503");
            dbsession_stats = NULL;
            return;
        }
        dbs_stats_init(apr_shm_baseaddr_get(shm), apr_time_sec(apr_time_now()));
        apr_pool_userdata_set(shm, STATS_USERDATA, apr_pool_cleanup_null,
                              process_pool);
    }
    dbsession_stats = apr_shm_baseaddr_get(shm);
}

/* Whether the query string holds `word` as one of its &-separated items
 * (mod_status style: "?auto", "?metrics"). */
static int asks_for(const request_rec *r, const char *word)
{
    const char *p = r->args;
    apr_size_t n = strlen(word);

    while (p && *p) {
        if (strncmp(p, word, n) == 0 && (p[n] == '\0' || p[n] == '&')) {
            return 1;
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return 0;
}

int dbsession_status_handler(request_rec *r)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    const char *body;

    if (!r->handler || strcmp(r->handler, STATUS_HANDLER) != 0) {
        return DECLINED;
    }
    r->allowed = AP_METHOD_BIT << M_GET;
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!dbsession_stats) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (asks_for(r, "metrics")) {
        ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
        body = dbs_stats_prometheus(r->pool, dbsession_stats);
    }
    else if (asks_for(r, "auto")) {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        body = dbs_stats_auto(r->pool, dbsession_stats, now);
    }
    else {
        ap_set_content_type(r, "text/html; charset=utf-8");
        body = dbs_stats_html(r->pool, dbsession_stats, now);
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rputs(body, r);
    }
    return OK;
}
