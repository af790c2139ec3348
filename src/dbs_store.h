/*
 * dbs_store: the session table through apr_dbd, one SQL dialect per driver
 * (sqlite3, pgsql, mysql). httpd-free: it takes a connection, not a request.
 *
 * Statements are prepared once per database connection, on its first use,
 * and kept in the connection's pool. After any failed statement they are
 * forgotten and prepared again on the next use: a PostgreSQL connection that
 * libpq reset behind mod_dbd's back has lost its server-side statements.
 */
#ifndef DBS_STORE_H
#define DBS_STORE_H

#include <apr_dbd.h>
#include <apr_pools.h>
#include <apr_tables.h>

typedef struct dbs_store_t dbs_store_t;

struct dbs_lock_t;

/* One pooled database connection (mod_dbd's ap_dbd_t, seen from the core),
 * and the state of the one transaction a request runs on it. */
typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_pool_t *pool; /* lives as long as the connection */
    /* Set by dbs_store_begin, cleared by dbs_store_end. */
    apr_pool_t *txn_pool;
    apr_int64_t lock_timeout;
    int in_txn;
    int writing; /* SQLite: this transaction holds the database write lock */
    unsigned long server_thread; /* MySQL: the connection's id at BEGIN */
    /* The session's lock was held by another request when this one came
     * (SQLite: exactly; PostgreSQL and MySQL: the locking read took longer
     * than DBS_LOCK_WAIT_HINT). For the counters. */
    int lock_waited;
    void *statements; /* the store's prepared statements, for the end */
    struct dbs_lock_t *writer;
    apr_array_header_t *locked; /* of held_session_t, see dbs_store.c */
} dbs_conn_t;

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

/* How a begin failed: the caller answers 503 either way, Retry-After and
 * the log line differ. */
typedef enum {
    DBS_FAIL_NONE = 0,
    DBS_FAIL_DATABASE,
    DBS_FAIL_LOCK_TIMEOUT
} dbs_fail_e;

/* PostgreSQL and MySQL do not say whether a lock was waited for: a locking
 * read slower than this counts as a wait. */
#define DBS_LOCK_WAIT_HINT_MSEC 5

dbs_store_t *dbs_store_make(apr_pool_t *pool, const char *table);

/* "what: the driver's message" for a failed apr_dbd call rv on c. */
const char *dbs_store_error(apr_pool_t *pool, const dbs_conn_t *c, int rv,
                            const char *what);

/* Whether apr_dbd driver `name` is one we speak. */
int dbs_store_driver_supported(const char *name);

/* Begin the request's transaction. With an id_hash, also locks that session
 * and loads its row as dbs_store_load does (on PostgreSQL in the same round
 * trip). A session lock waits at most lock_timeout seconds (0: not at all).
 *
 * How a session is locked, per driver: PostgreSQL takes a transaction
 * advisory lock on the ID, MySQL locks the row (SELECT ... FOR UPDATE),
 * SQLite takes the ID's lock in dbs_lock's table beside the database file
 * and reads the row outside the transaction; its transaction is deferred
 * and takes SQLite's database-wide write lock only at the first write (see
 * dbs_store_begin_write). Locks are held until dbs_store_end. On failure no
 * transaction is left open and no lock held. Rows written under a new ID
 * are locked too, so a request that presents the new cookie before the
 * commit waits for it. */
apr_status_t dbs_store_begin(const dbs_store_t *st, dbs_conn_t *c,
                             apr_pool_t *pool, apr_int64_t lock_timeout,
                             const char *id_hash, dbs_record_t *rec, int *found,
                             dbs_fail_e *fail, const char **err);
/* Commit or roll back, and release every lock. A commit that fails has
 * rolled back. */
apr_status_t dbs_store_end(dbs_conn_t *c, apr_pool_t *pool, int commit,
                           const char **err);

/* SQLite: take the database write lock now (queued behind the module's
 * other writers, within the lock timeout), so that writes of other modules
 * on this connection join the transaction without SQLite's busy polling.
 * Every write of the store calls it; elsewhere a no-op. */
apr_status_t dbs_store_begin_write(const dbs_store_t *st, dbs_conn_t *c,
                                   apr_pool_t *pool, dbs_fail_e *fail,
                                   const char **err);

/* After a failure: drop the connection's prepared statements and let the
 * driver reconnect a broken connection (libpq's reset, MySQL's reconnect),
 * so that one retry can succeed right after the database came back. */
apr_status_t dbs_store_revive(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool);

/* Load and lock the row of id_hash; *found is 0 when there is none. A row
 * another transaction is creating is waited for, so a client that got the
 * new cookie never misses it. An ID that a renewal replaced finds the row
 * that replaced it (rec->via_previous), locked under its current ID, so
 * requests with the old and the new cookie wait for each other. On failure
 * *fail tells a lock wait that ran out from any other database error. */
apr_status_t dbs_store_load(const dbs_store_t *st, dbs_conn_t *c,
                            apr_pool_t *pool, const char *id_hash,
                            dbs_record_t *rec, int *found, dbs_fail_e *fail,
                            const char **err);
apr_status_t dbs_store_insert(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, const char *id_hash,
                              const dbs_record_t *rec, apr_int64_t expires_at,
                              const char **err);
/* Write the whole row, possibly under a new id_hash (rotation). */
apr_status_t dbs_store_update(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, const char *old_hash,
                              const char *new_hash, const dbs_record_t *rec,
                              apr_int64_t expires_at, const char **err);
/* Only the idle extension. */
apr_status_t dbs_store_touch(const dbs_store_t *st, dbs_conn_t *c,
                             apr_pool_t *pool, const char *id_hash,
                             apr_int64_t active_at, apr_int64_t expires_at,
                             const char **err);
apr_status_t dbs_store_delete(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, const char *id_hash,
                              const char **err);
/* Delete every session of user but keep_hash (log out everywhere else);
 * *deleted says how many. */
apr_status_t dbs_store_revoke_others(const dbs_store_t *st, dbs_conn_t *c,
                                     apr_pool_t *pool, const char *user,
                                     const char *keep_hash, int *deleted,
                                     const char **err);
/* Delete at most `limit` rows expired before now, inside the caller's
 * transaction; *deleted says how many. */
apr_status_t dbs_store_cleanup(const dbs_store_t *st, dbs_conn_t *c,
                               apr_pool_t *pool, apr_int64_t now, int limit,
                               int *deleted, const char **err);
/* The same in a transaction of its own, on a connection that has none. */
apr_status_t dbs_store_cleanup_expired(const dbs_store_t *st, dbs_conn_t *c,
                                       apr_pool_t *pool, apr_int64_t now,
                                       int limit, apr_int64_t lock_timeout,
                                       int *deleted, dbs_fail_e *fail,
                                       const char **err);

#endif
