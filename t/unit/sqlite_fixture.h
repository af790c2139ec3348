/* A real SQLite database (a temporary file, WAL) through apr_dbd, with
 * dbd_schema.sql. */
#ifndef DBS_SQLITE_FIXTURE_H
#define DBS_SQLITE_FIXTURE_H

#include "dbs_store.h"

extern dbs_conn_t unit_conn;
extern char unit_db_path[];
/* Another connection to the same database. */
void sqlite_connect(dbs_conn_t *c);
void sqlite_setup(void);
void sqlite_teardown(void);
/* The single integer a query returns. */
long long sqlite_count(const char *sql);

#endif
