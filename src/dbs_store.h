/*
 * dbs_store: the session table through apr_dbd. httpd-free: it takes a
 * connection, not a request.
 *
 * What is the same on every database lives in dbs_store.c; what differs
 * (whole statements, how a session is locked, how a connection is set up,
 * which errors mean what) lives in one file per database behind the
 * dialect table of dbs_store_private.h: dbs_store_sqlite3.c,
 * dbs_store_pgsql.c, dbs_store_mysql.c.
 *
 * Statements are prepared once per database connection, on its first use,
 * and kept in the connection's pool. After any failed statement they are
 * forgotten and prepared again on the next use: a PostgreSQL connection that
 * libpq reset behind mod_dbd's back has lost its server-side statements.
 *
 * Every function that can fail returns APR_SUCCESS, APR_TIMEUP (a lock wait
 * ran out: the caller answers 503 with Retry-After), APR_ENOTIMPL (a driver
 * no dialect speaks) or APR_EGENERAL (any other database failure);
 * dbs_txn_error() then says what failed, with the driver's message.
 */
#ifndef DBS_STORE_H
#define DBS_STORE_H

#include <apr_dbd.h>
#include <apr_pools.h>
#include <apr_tables.h>

/* The session table of one server: its statements for every dialect. */
typedef struct dbs_store_t dbs_store_t;

/* One pooled database connection (mod_dbd's ap_dbd_t, seen from the core)
 * and the one transaction a request, a cleanup or a command runs on it. */
typedef struct dbs_txn_t dbs_txn_t;

/* One row of the session table. Empty strings mean "none". */
typedef struct {
    const char *user;
    const char *data; /* form-urlencoded, see dbs_codec.h */
    const char *flash;
    const char *csrf;
    apr_int64_t created_at;
    apr_int64_t active_at;
    /* Renewal: when the current ID was issued, the hash of the ID it
     * replaced, and until when that one works (0: until the current one is
     * first presented). */
    apr_int64_t renewed_at;
    const char *prev_hash;
    apr_int64_t prev_until;
    /* Set by a load: the row's current id_hash, and whether the ID looked
     * up was its previous one. */
    const char *id_hash;
    int via_previous;
} dbs_record_t;

/* PostgreSQL and MySQL do not say whether a lock was waited for: a locking
 * read slower than this counts as a wait. */
#define DBS_LOCK_WAIT_HINT_MSEC 5

dbs_store_t *dbs_store_make(apr_pool_t *pool, const char *table);
const char *dbs_store_table(const dbs_store_t *st);

/* Whether apr_dbd driver `name` is one we speak, and the list of those
 * ("sqlite3, pgsql or mysql") for error messages. */
int dbs_store_driver_supported(const char *name);
const char *dbs_store_driver_names(apr_pool_t *pool);

/* A transaction object for the connection (driver, handle, and the pool
 * that lives as long as the connection), made in `pool`, which must outlive
 * the transaction: everything it allocates goes there. lock_timeout is the
 * longest wait for another request's session, in seconds (0: not at all).
 * Nothing is sent to the database until dbs_store_begin. */
dbs_txn_t *dbs_txn_make(apr_pool_t *pool, const dbs_store_t *st,
                        const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                        apr_pool_t *conn_pool, apr_int64_t lock_timeout);

/* What the last failure was ("what: the driver's message"), or NULL. */
const char *dbs_txn_error(const dbs_txn_t *t);
/* Where the transaction is: what the glue decides by. */
typedef enum {
    DBS_TXN_NEW = 0,      /* not begun, or its begin failed */
    DBS_TXN_OPEN,         /* begun, not yet ended */
    DBS_TXN_COMMITTED,    /* ended: committed */
    DBS_TXN_ROLLED_BACK,  /* ended: rolled back as asked (or doomed) */
    DBS_TXN_COMMIT_FAILED /* ended: a commit was asked and failed */
} dbs_txn_state_e;

dbs_txn_state_e dbs_txn_state(const dbs_txn_t *t);
/* Whether a transaction is open (begun and not yet ended). */
int dbs_txn_is_open(const dbs_txn_t *t);
/* Whether it has ended (committed, rolled back, or a failed commit). */
int dbs_txn_ended(const dbs_txn_t *t);
/* Mark the open transaction as one that must roll back (a refused write, a
 * failed statement): dbs_store_end then rolls back whatever it is asked.
 * Cleared by the next dbs_store_begin. */
void dbs_txn_doom(dbs_txn_t *t);
int dbs_txn_doomed(const dbs_txn_t *t);
/* Whether this transaction found its session's lock held by another request
 * (SQLite: exactly; PostgreSQL and MySQL: the locking read took longer than
 * DBS_LOCK_WAIT_HINT_MSEC). For the counters. */
int dbs_txn_lock_waited(const dbs_txn_t *t);
/* The pool given to dbs_txn_make. */
apr_pool_t *dbs_txn_pool(const dbs_txn_t *t);
/* "what: the driver's message" for a failed apr_dbd call rv on the
 * transaction's connection, remembered as its error. */
const char *dbs_txn_fail(dbs_txn_t *t, int rv, const char *what);
/* Remember a failure of the caller's own (kept in the transaction's pool). */
void dbs_txn_set_error(dbs_txn_t *t, const char *error);

/* Begin the transaction. With an id_hash, also locks that session and loads
 * its row as dbs_store_load does (in the same round trip where the database
 * allows). Locks are held until dbs_store_end. On failure no transaction is
 * left open and no lock held. Rows written under a new ID are locked too,
 * so a request that presents the new cookie before the commit waits for
 * it. (How each database locks a session: its dialect file.) */
apr_status_t dbs_store_begin(dbs_txn_t *t, const char *id_hash,
                             dbs_record_t *rec, int *found);
/* Commit (unless doomed) or roll back, and release every lock. A commit
 * that fails has rolled back. */
apr_status_t dbs_store_end(dbs_txn_t *t, int commit);
/* Roll back after a failure, keeping the failure's error (not the
 * rollback's). Returns APR_EGENERAL, or APR_TIMEUP when `status` was one,
 * so that callers can "return dbs_store_abort(t, rv);". */
apr_status_t dbs_store_abort(dbs_txn_t *t, apr_status_t status);

/* SQLite: take the database write lock now (queued behind the module's
 * other writers, within the lock timeout), so that writes of other modules
 * on this connection join the transaction without SQLite's busy polling.
 * Every write of the store calls it; elsewhere a no-op. */
apr_status_t dbs_store_begin_write(dbs_txn_t *t);

/* After a failure: drop the connection's prepared statements and let the
 * driver reconnect a broken connection (libpq's reset, MySQL's reconnect),
 * so that one retry can succeed right after the database came back. */
apr_status_t dbs_store_revive(dbs_txn_t *t);

/* Load and lock the row of id_hash; *found is 0 when there is none. A row
 * another transaction is creating is waited for, so a client that got the
 * new cookie never misses it. An ID that a renewal replaced finds the row
 * that replaced it (rec->via_previous), locked under its current ID, so
 * requests with the old and the new cookie wait for each other. */
apr_status_t dbs_store_load(dbs_txn_t *t, const char *id_hash,
                            dbs_record_t *rec, int *found);
apr_status_t dbs_store_insert(dbs_txn_t *t, const char *id_hash,
                              const dbs_record_t *rec, apr_int64_t expires_at);
/* Write the whole row, possibly under a new id_hash (rotation). */
apr_status_t dbs_store_update(dbs_txn_t *t, const char *old_hash,
                              const char *new_hash, const dbs_record_t *rec,
                              apr_int64_t expires_at);
/* Only the idle extension. */
apr_status_t dbs_store_touch(dbs_txn_t *t, const char *id_hash,
                             apr_int64_t active_at, apr_int64_t expires_at);
apr_status_t dbs_store_delete(dbs_txn_t *t, const char *id_hash);
/* Delete every session of user but keep_hash (log out everywhere else);
 * *deleted says how many. */
apr_status_t dbs_store_revoke_others(dbs_txn_t *t, const char *user,
                                     const char *keep_hash, int *deleted);
/* Delete at most `limit` rows expired before now, inside the open
 * transaction; *deleted says how many. */
apr_status_t dbs_store_cleanup(dbs_txn_t *t, apr_int64_t now, int limit,
                               int *deleted);
/* The same in a transaction of its own, on a connection that has none. */
apr_status_t dbs_store_cleanup_expired(dbs_txn_t *t, apr_int64_t now, int limit,
                                       int *deleted);

#endif
