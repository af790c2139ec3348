/*
 * dbs_stats: the server-wide counters behind `SetHandler dbsession-status`,
 * and their three renderings (an HTML page, mod_status's "Key: value" form
 * for ?auto, the Prometheus text exposition format for ?metrics).
 *
 * httpd-free. The counters live in memory the caller shares between every
 * process of the server (the glue maps it once in the parent); updates are
 * atomic, a rendering reads each counter once.
 */
#ifndef DBS_STATS_H
#define DBS_STATS_H

#include <apr_pools.h>
#include <apr_time.h>

typedef enum {
    DBS_STAT_LOADED = 0,         /* a request found a live session */
    DBS_STAT_CREATED,            /* a new session row */
    DBS_STAT_RENEWED,            /* a new ID by DBSessionRenewalTimeout */
    DBS_STAT_COMMITTED,          /* request transactions committed */
    DBS_STAT_ROLLED_BACK,        /* ... and rolled back */
    DBS_STAT_LOCK_WAITS,         /* a request waited for its session */
    DBS_STAT_LOCK_TIMEOUTS,      /* ... longer than DBSessionLockTimeout: 503 */
    DBS_STAT_COOKIES_REJECTED,   /* cookies of our name that did not open */
    DBS_STAT_RENEWAL_VIOLATIONS, /* replaced IDs after their grace */
    DBS_STAT_CSRF_FAILURES,      /* DBSessionCSRFCheck: 403 */
    DBS_STAT_ROWS_CLEANED,       /* expired rows deleted */
    DBS_STAT_DB_ERRORS,          /* failed database operations */
    DBS_STAT_COUNT
} dbs_stat_e;

/* Upper bounds of the database-time histogram, in microseconds; one more
 * bucket counts everything above the last. */
#define DBS_DB_TIME_BOUNDS 10

typedef struct {
    apr_uint64_t started; /* Unix seconds: when the counters began */
    apr_uint64_t counter[DBS_STAT_COUNT];
    /* Database time per request: the sum, and one count per bucket (not
     * cumulative; the last is above every bound). */
    apr_uint64_t db_usec_sum;
    apr_uint64_t db_usec_bucket[DBS_DB_TIME_BOUNDS + 1];
} dbs_stats_t;

/* Zero the counters of freshly mapped memory. */
void dbs_stats_init(dbs_stats_t *stats, apr_int64_t now);

/* Both accept NULL stats (no shared memory): then they do nothing. */
void dbs_stats_add(dbs_stats_t *stats, dbs_stat_e which, apr_uint64_t n);
void dbs_stats_db_time(dbs_stats_t *stats, apr_interval_time_t usec);

/* The renderings; now is Unix seconds. */
const char *dbs_stats_auto(apr_pool_t *pool, const dbs_stats_t *stats,
                           apr_int64_t now);
const char *dbs_stats_prometheus(apr_pool_t *pool, const dbs_stats_t *stats);
const char *dbs_stats_html(apr_pool_t *pool, const dbs_stats_t *stats,
                           apr_int64_t now);

#endif
