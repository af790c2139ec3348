/* See sqlite_fixture.h. Run from the source tree (make unit does). */
#include "unit.h"
#include "sqlite_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

dbs_conn_t unit_conn;
char unit_db_path[64];

void sqlite_connect(dbs_conn_t *c)
{
    memset(c, 0, sizeof(*c));
    /* A pool of its own, as each of mod_dbd's connections has. */
    apr_pool_create(&c->pool, unit_pool);
    ck_assert_int_eq(apr_dbd_get_driver(c->pool, "sqlite3", &c->driver),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_dbd_open(c->driver, c->pool, unit_db_path, &c->handle),
                     APR_SUCCESS);
}

void sqlite_setup(void)
{
    apr_file_t *f;
    char buf[8192];
    apr_size_t len = sizeof(buf) - 1;
    char *stmt, *last;
    apr_dbd_results_t *res = NULL;
    int rows, fd;

    unit_pool_setup();
    /* A file, as in production: the session locks live beside it. */
    snprintf(unit_db_path, sizeof(unit_db_path), "/tmp/dbs-unit-db.XXXXXX");
    fd = mkstemp(unit_db_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    sqlite_connect(&unit_conn);
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
    /* It returns a row ("wal"): a query would report SQLITE_ROW. */
    ck_assert_int_eq(apr_dbd_select(unit_conn.driver, unit_pool,
                                    unit_conn.handle, &res,
                                    "PRAGMA journal_mode=WAL", 1),
                     0);
    for (stmt = apr_strtok(buf, ";", &last); stmt;
         stmt = apr_strtok(NULL, ";", &last)) {
        const char *start = stmt + strspn(stmt, " \t\r\n");

        /* Empty, or a statement only MySQL runs (a comment here). */
        if (*start && strncmp(start, "/*!", 3) != 0) {
            ck_assert_msg(apr_dbd_query(unit_conn.driver, unit_conn.handle,
                                        &rows, stmt) == 0,
                          "schema: %s", stmt);
        }
    }
}

void sqlite_teardown(void)
{
    const char *suffixes[] = {"", "-wal", "-shm", "-dbsession-locks"};
    int i;

    apr_dbd_close(unit_conn.driver, unit_conn.handle);
    for (i = 0; i < 4; i++) {
        unlink(apr_pstrcat(unit_pool, unit_db_path, suffixes[i], NULL));
    }
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
