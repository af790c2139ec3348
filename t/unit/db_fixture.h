/* A real database through apr_dbd, with dbd_schema.sql: SQLite in a
 * temporary file (WAL) by default; with DBS_UNIT_DRIVER=pgsql or mysql and
 * DBS_UNIT_PARAMS (as DBDParams), that server's database, whose session
 * table is made anew for each test (scripts/run-tests does this with the
 * servers scripts/db.sh starts). */
#ifndef DBS_DB_FIXTURE_H
#define DBS_DB_FIXTURE_H

#include "dbs_store.h"

/* One connection, as mod_dbd keeps it: a pool of its own. */
typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_pool_t *pool;
} unit_conn_t;

extern unit_conn_t unit_conn;
extern dbs_store_t *unit_store; /* of the table "dbsession" */

/* The driver the database tests run on. */
const char *unit_driver(void);
int unit_driver_is(const char *name);

/* Another connection to the same database, and its end. */
void unit_connect(unit_conn_t *c);
void unit_close(unit_conn_t *c);
/* A transaction object on c, in the test's pool. */
dbs_txn_t *unit_txn(unit_conn_t *c, apr_int64_t lock_timeout);

void unit_db_setup(void);
void unit_db_teardown(void);
/* The single integer a query on unit_conn returns. */
long long unit_count(const char *sql);
/* A statement on unit_conn that must succeed. */
void unit_exec(const char *sql);

#endif
