/* dbs_stats: see dbs_stats.h. */
#include "dbs_stats.h"

#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

/* How each counter is named in each rendering. */
static const struct {
    const char *metric; /* Prometheus, after "dbsession_" */
    const char *key;    /* ?auto */
    const char *help;
} names[DBS_STAT_COUNT] = {
    {"sessions_loaded_total", "SessionsLoaded",
     "Requests that found a live session."},
    {"sessions_created_total", "SessionsCreated", "New sessions stored."},
    {"sessions_renewed_total", "SessionsRenewed",
     "Session IDs replaced by DBSessionRenewalTimeout."},
    {"commits_total", "Commits", "Request transactions committed."},
    {"rollbacks_total", "Rollbacks", "Request transactions rolled back."},
    {"lock_waits_total", "LockWaits",
     "Requests that waited for another request of their session."},
    {"lock_timeouts_total", "LockTimeouts",
     "Requests that waited longer than DBSessionLockTimeout (503)."},
    {"cookies_rejected_total", "CookiesRejected",
     "Session cookies that did not open (forged, damaged, unknown key)."},
    {"renewal_violations_total", "RenewalViolations",
     "Session IDs replaced by renewal, presented after their grace."},
    {"csrf_failures_total", "CSRFFailures",
     "Requests refused by DBSessionCSRFCheck (403)."},
    {"rows_cleaned_total", "RowsCleaned", "Expired session rows deleted."},
    {"database_errors_total", "DatabaseErrors",
     "Failed database operations (503 for a request)."},
};

static const apr_uint64_t bounds_usec[DBS_DB_TIME_BOUNDS] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000, 10000000};

void dbs_stats_init(dbs_stats_t *stats, apr_int64_t now)
{
    memset(stats, 0, sizeof(*stats));
    stats->started = (apr_uint64_t)now;
}

void dbs_stats_add(dbs_stats_t *stats, dbs_stat_e which, apr_uint64_t n)
{
    if (stats && n) {
        apr_atomic_add64(&stats->counter[which], n);
    }
}

void dbs_stats_db_time(dbs_stats_t *stats, apr_interval_time_t usec)
{
    apr_uint64_t t = usec > 0 ? (apr_uint64_t)usec : 0;
    int i = 0;

    if (!stats) {
        return;
    }
    while (i < DBS_DB_TIME_BOUNDS && t > bounds_usec[i]) {
        i++;
    }
    apr_atomic_inc64(&stats->db_usec_bucket[i]);
    apr_atomic_add64(&stats->db_usec_sum, t);
}

/* One consistent-enough copy: each counter read once. */
typedef struct {
    apr_uint64_t counter[DBS_STAT_COUNT];
    apr_uint64_t cumulative[DBS_DB_TIME_BOUNDS + 1];
    apr_uint64_t usec_sum;
    apr_uint64_t started;
} snapshot_t;

static void take(const dbs_stats_t *stats, snapshot_t *out)
{
    /* apr_atomic_read64 takes a pointer to non-const. */
    dbs_stats_t *mutable = (dbs_stats_t *)stats;
    apr_uint64_t total = 0;
    int i;

    for (i = 0; i < DBS_STAT_COUNT; i++) {
        out->counter[i] = apr_atomic_read64(&mutable->counter[i]);
    }
    for (i = 0; i <= DBS_DB_TIME_BOUNDS; i++) {
        total += apr_atomic_read64(&mutable->db_usec_bucket[i]);
        out->cumulative[i] = total;
    }
    out->usec_sum = apr_atomic_read64(&mutable->db_usec_sum);
    out->started = stats->started;
}

static const char *seconds(apr_pool_t *pool, apr_uint64_t usec)
{
    return apr_psprintf(pool, "%" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT,
                        usec / 1000000, usec % 1000000);
}

static apr_uint64_t uptime(const snapshot_t *snap, apr_int64_t now)
{
    return (apr_uint64_t)now > snap->started ? (apr_uint64_t)now - snap->started
                                             : 0;
}

const char *dbs_stats_auto(apr_pool_t *pool, const dbs_stats_t *stats,
                           apr_int64_t now)
{
    snapshot_t snap;
    const char *out;
    int i;

    take(stats, &snap);
    out = apr_psprintf(pool, "Uptime: %" APR_UINT64_T_FMT "\n",
                       uptime(&snap, now));
    for (i = 0; i < DBS_STAT_COUNT; i++) {
        out = apr_psprintf(pool, "%s%s: %" APR_UINT64_T_FMT "\n", out,
                           names[i].key, snap.counter[i]);
    }
    return apr_psprintf(
        pool,
        "%sDatabaseRequests: %" APR_UINT64_T_FMT "\nDatabaseSeconds: %s\n", out,
        snap.cumulative[DBS_DB_TIME_BOUNDS], seconds(pool, snap.usec_sum));
}

const char *dbs_stats_prometheus(apr_pool_t *pool, const dbs_stats_t *stats)
{
    snapshot_t snap;
    const char *out = "";
    int i;

    take(stats, &snap);
    for (i = 0; i < DBS_STAT_COUNT; i++) {
        out = apr_psprintf(pool,
                           "%s# HELP dbsession_%s %s\n# TYPE dbsession_%s "
                           "counter\ndbsession_%s %" APR_UINT64_T_FMT "\n",
                           out, names[i].metric, names[i].help, names[i].metric,
                           names[i].metric, snap.counter[i]);
    }
    out = apr_pstrcat(pool, out,
                      "# HELP dbsession_database_seconds Database time per "
                      "request (begin and load, writes, commit).\n"
                      "# TYPE dbsession_database_seconds histogram\n",
                      NULL);
    for (i = 0; i < DBS_DB_TIME_BOUNDS; i++) {
        out = apr_psprintf(pool,
                           "%sdbsession_database_seconds_bucket{le=\"%s\"} "
                           "%" APR_UINT64_T_FMT "\n",
                           out, seconds(pool, bounds_usec[i]),
                           snap.cumulative[i]);
    }
    return apr_psprintf(
        pool,
        "%sdbsession_database_seconds_bucket{le=\"+Inf\"} %" APR_UINT64_T_FMT
        "\ndbsession_database_seconds_sum %s\n"
        "dbsession_database_seconds_count %" APR_UINT64_T_FMT "\n"
        "# HELP dbsession_start_time_seconds Unix time the counters began.\n"
        "# TYPE dbsession_start_time_seconds gauge\n"
        "dbsession_start_time_seconds %" APR_UINT64_T_FMT "\n",
        out, snap.cumulative[DBS_DB_TIME_BOUNDS], seconds(pool, snap.usec_sum),
        snap.cumulative[DBS_DB_TIME_BOUNDS], snap.started);
}

const char *dbs_stats_html(apr_pool_t *pool, const dbs_stats_t *stats,
                           apr_int64_t now)
{
    snapshot_t snap;
    const char *rows = "";
    apr_uint64_t requests;
    int i;

    take(stats, &snap);
    for (i = 0; i < DBS_STAT_COUNT; i++) {
        rows = apr_psprintf(pool,
                            "%s<tr><th>%s</th><td>%" APR_UINT64_T_FMT
                            "</td><td>%s</td></tr>\n",
                            rows, names[i].key, snap.counter[i], names[i].help);
    }
    requests = snap.cumulative[DBS_DB_TIME_BOUNDS];
    for (i = 0; i <= DBS_DB_TIME_BOUNDS; i++) {
        apr_uint64_t in_bucket =
            snap.cumulative[i] - (i > 0 ? snap.cumulative[i - 1] : 0);

        rows = apr_psprintf(
            pool,
            "%s<tr><th>%s %s s</th><td>%" APR_UINT64_T_FMT
            "</td><td>requests with this much database time</td></tr>\n",
            rows, i < DBS_DB_TIME_BOUNDS ? "&le;" : "&gt;",
            seconds(pool, bounds_usec[i < DBS_DB_TIME_BOUNDS ? i : i - 1]),
            in_bucket);
    }
    return apr_psprintf(
        pool,
        "<!DOCTYPE html>\n<html><head><title>mod_dbsession status</title>"
        "</head><body>\n<h1>mod_dbsession status</h1>\n"
        "<p>Counters of the whole server, for %" APR_UINT64_T_FMT
        " seconds. Database time: %" APR_UINT64_T_FMT
        " requests, %s s in all (%s s each on average).</p>\n"
        "<table>\n%s</table>\n"
        "<p>Also as <a href=\"?auto\">?auto</a> and "
        "<a href=\"?metrics\">?metrics</a> (Prometheus).</p>\n"
        "</body></html>\n",
        uptime(&snap, now), requests, seconds(pool, snap.usec_sum),
        seconds(pool, requests ? snap.usec_sum / requests : 0), rows);
}
