/* See sqlite_fixture.h. Run from the source tree (make unit does). */
#include "unit.h"
#include "sqlite_fixture.h"

#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

dbs_conn_t unit_conn;

void sqlite_setup(void)
{
    apr_file_t *f;
    char buf[4096];
    apr_size_t len = sizeof(buf) - 1;
    char *stmt, *last;
    int rows;

    unit_pool_setup();
    ck_assert_int_eq(
        apr_dbd_get_driver(unit_pool, "sqlite3", &unit_conn.driver),
        APR_SUCCESS);
    ck_assert_int_eq(apr_dbd_open(unit_conn.driver, unit_pool,
                                  ":memory:", &unit_conn.handle),
                     APR_SUCCESS);
    unit_conn.pool = unit_pool;
    ck_assert_int_eq(apr_file_open(&f, "dbd_schema.sql", APR_FOPEN_READ,
                                   APR_FPROT_OS_DEFAULT, unit_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_read(f, buf, &len), APR_SUCCESS);
    buf[len] = '\0';
    apr_file_close(f);
    /* Drop comment lines, then run each ';'-separated statement. */
    for (stmt = buf; (stmt = strstr(stmt, "--")) != NULL;) {
        while (*stmt && *stmt != '\n') {
            *stmt++ = ' ';
        }
    }
    for (stmt = apr_strtok(buf, ";", &last); stmt;
         stmt = apr_strtok(NULL, ";", &last)) {
        if (stmt[strspn(stmt, " \t\r\n")]) {
            ck_assert_msg(apr_dbd_query(unit_conn.driver, unit_conn.handle,
                                        &rows, stmt) == 0,
                          "schema: %s", stmt);
        }
    }
}

void sqlite_teardown(void)
{
    apr_dbd_close(unit_conn.driver, unit_conn.handle);
    unit_pool_teardown();
}

long long sqlite_count(const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    long long n = -1;

    ck_assert_int_eq(apr_dbd_select(unit_conn.driver, unit_pool,
                                    unit_conn.handle, &res, sql, 0),
                     0);
    while (apr_dbd_get_row(unit_conn.driver, unit_pool, res, &row, -1) == 0) {
        n = atoll(apr_dbd_get_entry(unit_conn.driver, row, 0));
    }
    return n;
}
