/* See db_fixture.h. Run from the source tree (make unit does). */
#include "unit.h"
#include "db_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

unit_conn_t unit_conn;
dbs_store_t *unit_store;
static char sqlite_path[64];

const char *unit_driver(void)
{
    const char *driver = getenv("DBS_UNIT_DRIVER");

    return driver && *driver ? driver : "sqlite3";
}

int unit_driver_is(const char *name)
{
    return strcmp(unit_driver(), name) == 0;
}

static const char *params(void)
{
    const char *p = getenv("DBS_UNIT_PARAMS");

    if (unit_driver_is("sqlite3")) {
        return sqlite_path;
    }
    ck_assert_msg(p && *p, "DBS_UNIT_DRIVER=%s needs DBS_UNIT_PARAMS",
                  unit_driver());
    return p;
}

void unit_connect(unit_conn_t *c)
{
    const char *err = NULL;

    memset(c, 0, sizeof(*c));
    apr_pool_create(&c->pool, unit_pool);
    ck_assert_int_eq(apr_dbd_get_driver(c->pool, unit_driver(), &c->driver),
                     APR_SUCCESS);
    ck_assert_msg(apr_dbd_open_ex(c->driver, c->pool, params(), &c->handle,
                                  &err) == APR_SUCCESS,
                  "connecting to %s: %s", unit_driver(), err ? err : "?");
}

void unit_close(unit_conn_t *c)
{
    apr_dbd_close(c->driver, c->handle);
}

dbs_txn_t *unit_txn(unit_conn_t *c, apr_int64_t lock_timeout)
{
    return dbs_txn_make(unit_pool, unit_store, c->driver, c->handle, c->pool,
                        lock_timeout);
}

void unit_exec(const char *sql)
{
    int rows;

    ck_assert_msg(
        apr_dbd_query(unit_conn.driver, unit_conn.handle, &rows, sql) == 0,
        "%s: %s", sql, apr_dbd_error(unit_conn.driver, unit_conn.handle, 1));
}

/* Run dbd_schema.sql, as the README has administrators do. */
static void load_schema(void)
{
    apr_file_t *f;
    char buf[8192];
    apr_size_t len = sizeof(buf) - 1;
    char *stmt, *last;

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
        const char *start = stmt + strspn(stmt, " \t\r\n");

        /* Empty, or a statement only MySQL runs (a comment elsewhere). */
        if (*start &&
            (strncmp(start, "/*!", 3) != 0 || unit_driver_is("mysql"))) {
            unit_exec(stmt);
        }
    }
}

void unit_db_setup(void)
{
    unit_pool_setup();
    if (unit_driver_is("sqlite3")) {
        apr_dbd_results_t *res = NULL;
        int fd;

        /* A file, as in production: the session locks live beside it. */
        snprintf(sqlite_path, sizeof(sqlite_path), "/tmp/dbs-unit-db.XXXXXX");
        fd = mkstemp(sqlite_path);
        ck_assert_int_ge(fd, 0);
        close(fd);
        unit_connect(&unit_conn);
        /* It returns a row ("wal"): a query would report SQLITE_ROW. */
        ck_assert_int_eq(apr_dbd_select(unit_conn.driver, unit_pool,
                                        unit_conn.handle, &res,
                                        "PRAGMA journal_mode=WAL", 1),
                         0);
    }
    else {
        unit_connect(&unit_conn);
        unit_exec("DROP TABLE IF EXISTS dbsession");
    }
    load_schema();
    unit_store = dbs_store_make(unit_pool, "dbsession");
}

void unit_db_teardown(void)
{
    const char *suffixes[] = {"", "-wal", "-shm", "-dbsession-locks"};
    int i;

    if (unit_driver_is("sqlite3")) {
        unit_close(&unit_conn);
        for (i = 0; i < 4; i++) {
            unlink(apr_pstrcat(unit_pool, sqlite_path, suffixes[i], NULL));
        }
    }
    else {
        /* The server's database is the httpd suite's next: leave it as
         * dbd_schema.sql made it. */
        int rows;

        apr_dbd_query(unit_conn.driver, unit_conn.handle, &rows, "ROLLBACK");
        unit_exec("DELETE FROM dbsession");
        unit_close(&unit_conn);
    }
    unit_pool_teardown();
}

long long unit_count(const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    long long n = -1;

    ck_assert_msg(apr_dbd_select(unit_conn.driver, unit_pool, unit_conn.handle,
                                 &res, sql, 0) == 0,
                  "%s: %s", sql,
                  apr_dbd_error(unit_conn.driver, unit_conn.handle, 1));
    while (apr_dbd_get_row(unit_conn.driver, unit_pool, res, &row, -1) == 0) {
        n = atoll(apr_dbd_get_entry(unit_conn.driver, row, 0));
    }
    return n;
}
