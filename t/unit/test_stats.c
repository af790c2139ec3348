/* dbs_stats: counting, the histogram's buckets, and the three renderings
 * (Prometheus' text format checked line by line). */
#include "unit.h"
#include "dbs_stats.h"

#include <string.h>

#include <apr_strings.h>

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p;

    for (p = text; (p = strstr(p, line)) != NULL; p += n) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return 1;
        }
    }
    return 0;
}

#define ck_assert_line(text, line)                                             \
    ck_assert_msg(has_line(text, line), "no line \"%s\" in:\n%s", line, text)

START_TEST(counts_and_renders)
{
    dbs_stats_t stats;
    const char *text;

    dbs_stats_init(&stats, 1000);
    dbs_stats_add(&stats, DBS_STAT_LOADED, 3);
    dbs_stats_add(&stats, DBS_STAT_CSRF_FAILURES, 1);
    dbs_stats_add(NULL, DBS_STAT_LOADED, 1); /* no shared memory: ignored */
    dbs_stats_db_time(&stats, 100);          /* <= 250 us */
    dbs_stats_db_time(&stats, 250);          /* the bound itself is inside */
    dbs_stats_db_time(&stats, 251);          /* <= 500 us */
    dbs_stats_db_time(&stats, 20000000);     /* above every bound */
    dbs_stats_db_time(&stats, -5);           /* a clock step: counted as 0 */

    text = dbs_stats_auto(unit_pool, &stats, 1060);
    ck_assert_line(text, "Uptime: 60");
    ck_assert_line(text, "SessionsLoaded: 3");
    ck_assert_line(text, "CSRFFailures: 1");
    ck_assert_line(text, "LockTimeouts: 0");
    ck_assert_line(text, "DatabaseRequests: 5");
    ck_assert_line(text, "DatabaseSeconds: 20.000601");

    text = dbs_stats_prometheus(unit_pool, &stats);
    ck_assert_line(text, "# TYPE dbsession_sessions_loaded_total counter");
    ck_assert_line(text, "dbsession_sessions_loaded_total 3");
    ck_assert_line(text, "dbsession_csrf_failures_total 1");
    ck_assert_line(text, "# TYPE dbsession_database_seconds histogram");
    /* Cumulative buckets, ending in +Inf = count. */
    ck_assert_line(text,
                   "dbsession_database_seconds_bucket{le=\"0.000250\"} 3");
    ck_assert_line(text,
                   "dbsession_database_seconds_bucket{le=\"0.000500\"} 4");
    ck_assert_line(text,
                   "dbsession_database_seconds_bucket{le=\"10.000000\"} 4");
    ck_assert_line(text, "dbsession_database_seconds_bucket{le=\"+Inf\"} 5");
    ck_assert_line(text, "dbsession_database_seconds_count 5");
    ck_assert_line(text, "dbsession_database_seconds_sum 20.000601");
    ck_assert_line(text, "dbsession_start_time_seconds 1000");

    text = dbs_stats_html(unit_pool, &stats, 1060);
    ck_assert_ptr_nonnull(strstr(text, "<th>SessionsLoaded</th><td>3</td>"));
    ck_assert_ptr_nonnull(strstr(text, "for 60 seconds"));
}
END_TEST

/* Every line of the exposition is a comment (# HELP / # TYPE) or "name
 * value" with a dbsession_ name; every metric has HELP and TYPE first. */
START_TEST(prometheus_is_well_formed)
{
    dbs_stats_t stats;
    char *text, *line, *last;
    const char *typed = "";

    dbs_stats_init(&stats, 1);
    text = apr_pstrdup(unit_pool, dbs_stats_prometheus(unit_pool, &stats));
    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        if (strncmp(line, "# HELP dbsession_", 17) == 0) {
            continue;
        }
        if (strncmp(line, "# TYPE dbsession_", 17) == 0) {
            typed = apr_pstrndup(unit_pool, line + 7, strcspn(line + 7, " "));
            continue;
        }
        ck_assert_msg(strncmp(line, typed, strlen(typed)) == 0 && *typed,
                      "\"%s\" does not follow its TYPE line", line);
        ck_assert_msg(strchr(line, ' ') != NULL, "no value: %s", line);
    }
}
END_TEST

Suite *stats_suite(void)
{
    Suite *s = suite_create("dbs_stats");
    TCase *tc = tcase_create("stats");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, counts_and_renders);
    tcase_add_test(tc, prometheus_is_well_formed);
    suite_add_tcase(s, tc);
    return s;
}
