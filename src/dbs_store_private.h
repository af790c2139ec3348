/*
 * Inside dbs_store: the table of operations each database fills (one file
 * per database: dbs_store_sqlite3.c, dbs_store_pgsql.c, dbs_store_mysql.c),
 * and what dbs_store.c shares with them. Not for the rest of the core.
 *
 * A database is a dbs_dialect_t and one line in the registry of
 * dbs_store.c. Its statements override the shared ones where they differ;
 * its operations say how it connects, locks, begins and fails. Every
 * operation marked "May be NULL" has a default in dbs_store.c that suits a
 * database that needs nothing there.
 */
#ifndef DBS_STORE_PRIVATE_H
#define DBS_STORE_PRIVATE_H

#include "dbs_store.h"

#include "dbs_lock.h"

#include <apr_time.h>

typedef enum {
    DBS_STMT_LOAD = 0,
    DBS_STMT_LOAD_NOWAIT, /* the load when no lock wait is allowed */
    DBS_STMT_LOAD_PREVIOUS,
    DBS_STMT_INSERT,
    DBS_STMT_UPDATE,
    DBS_STMT_UPDATE_NEW_ID, /* the update that moves the row to a new ID */
    DBS_STMT_TOUCH,
    DBS_STMT_DELETE,
    DBS_STMT_REVOKE_OTHERS,
    DBS_STMT_CLEANUP,
    DBS_STMT_CLAIM, /* lock a session by its key (a dialect's own) */
    DBS_STMT_BEGIN,
    DBS_STMT_COMMIT,
    DBS_STMT_ROLLBACK,
    DBS_STMT_COUNT
} dbs_stmt_e;

/* What every load reads, in the order dbs_store_read_row takes it. */
#define DBS_COLUMNS                                                            \
    "user_name, session_data, flash, csrf_token, created_at, active_at, "      \
    "renewed_at, prev_id_hash, prev_until"
#define DBS_NCOLUMNS 9
/* What every write sets besides id_hash and expires_at, in the order
 * dbs_store.c binds it. */
#define DBS_WRITTEN_COLUMNS                                                    \
    "user_name, session_data, flash, csrf_token, active_at, renewed_at, "      \
    "prev_id_hash, prev_until"
#define DBS_WRITTEN_VALUES "%s, %s, %s, %s, %lld, %lld, %s, %lld"
#define DBS_WRITTEN_SET                                                        \
    "user_name = %s, session_data = %s, flash = %s, csrf_token = %s, "         \
    "active_at = %lld, renewed_at = %lld, prev_id_hash = %s, "                 \
    "prev_until = %lld"
/* Statements name their table as this token; dbs_store_make puts the
 * configured name in (a checked identifier: letters, digits, _). */
#define DBS_TABLE "{table}"
/* A dialect's statement that the shared set has but this database must not
 * prepare. */
#define DBS_SQL_NONE ""

/* What one connection has prepared for one store, and what its dialect
 * keeps per connection. */
typedef struct {
    apr_dbd_prepared_t *stmt[DBS_STMT_COUNT];
    const char *label[DBS_STMT_COUNT]; /* apr_dbd's names (PostgreSQL's) */
    apr_int64_t lock_timeout;          /* as last set, -1 unknown */
    void *native; /* the dialect's own, made by its connect */
} dbs_conn_state_t;

/* A session this transaction has locked: `lock` is the lock table's (see
 * dbs_lock.h), or NULL where the database server holds the lock until the
 * transaction ends. */
typedef struct {
    apr_uint64_t key;
    dbs_lock_t *lock;
} dbs_held_t;

typedef struct dbs_dialect_t dbs_dialect_t;

struct dbs_txn_t {
    const dbs_store_t *store;
    const dbs_dialect_t *dialect; /* NULL: a driver no dialect speaks */
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_pool_t *conn_pool; /* lives as long as the connection */
    apr_pool_t *pool;      /* lives as long as the transaction object */
    apr_int64_t lock_timeout;
    dbs_conn_state_t *state; /* the connection's, once looked up */
    const char *error;
    dbs_txn_state_e txn_state;
    int doomed;
    int in_txn; /* the database has a transaction open (SQLite's may be
                   restarted as a writer) */
    int lock_waited;
    apr_array_header_t *held; /* of dbs_held_t */
    void *native;             /* the dialect's own, per transaction */
};

struct dbs_dialect_t {
    /* The apr_dbd driver's name (apr_dbd_name). */
    const char *name;
    /* Whole statements where this database's differ from the shared ones
     * (NULL: the shared one; DBS_SQL_NONE: none), with DBS_TABLE. */
    const char *sql[DBS_STMT_COUNT];
    /* The plain statement that begins a transaction. NULL: "BEGIN". */
    const char *begin_sql;
    /* Whether the database server holds session locks and so cannot say
     * whether one was waited for: a slow locking read counts as a wait. */
    int server_locks;
    /* Whether the session is locked and read before the transaction
     * begins (SQLite: its transactions must not read before they write). */
    int load_before_begin;

    /* Once per connection, after its statements are prepared: session
     * settings, native state (state->native). May be NULL. */
    apr_status_t (*connect)(dbs_txn_t *t, dbs_conn_state_t *state);
    /* Whether the connection was silently re-established since connect
     * (its statements and settings are gone). May be NULL: never. */
    int (*reconnected)(const dbs_txn_t *t, const dbs_conn_state_t *state);
    /* The statement that sets the connection's lock wait, in seconds (0:
     * do not wait). May be NULL: the lock table's deadline is the wait. */
    const char *(*lock_timeout_sql)(apr_pool_t *pool, apr_int64_t seconds);
    /* Begin and lock-then-load id_hash in one go (fewer round trips).
     * May be NULL: BEGIN, then dbs_store_load. */
    apr_status_t (*begin_and_load)(dbs_txn_t *t, const char *id_hash,
                                   dbs_record_t *rec, int *found);
    /* Right after BEGIN went through. May be NULL. */
    void (*began)(dbs_txn_t *t);
    /* Whether the open transaction was lost to a silent reconnect (its
     * statements would run outside it, one by one). May be NULL: never. */
    int (*txn_lost)(const dbs_txn_t *t);
    /* Lock an existing session before its row is read. May be NULL: the
     * load statement locks the row. */
    apr_status_t (*lock_session)(dbs_txn_t *t, const char *id_hash);
    /* Lock a new ID before its row exists. *claim is set when the write
     * statement takes the lock itself: its first parameter. May be NULL:
     * lock_session. */
    apr_status_t (*lock_new_id)(dbs_txn_t *t, const char *id_hash,
                                const char **claim);
    /* Before every write of the store. May be NULL. */
    apr_status_t (*begin_write)(dbs_txn_t *t);
    /* Whether a statement that failed with rv never reached the server, so
     * that preparing it again and running it once more is safe. May be
     * NULL: never. */
    int (*retryable)(const dbs_txn_t *t, int rv);
    /* Whether a failed locking statement was a lock wait that ran out.
     * May be NULL: never (the lock table says so itself). */
    int (*lock_timed_out)(const dbs_txn_t *t, apr_time_t start);
    /* After COMMIT or ROLLBACK, and after a begin that failed. May be
     * NULL. */
    void (*ended)(dbs_txn_t *t);
};

/* The registry's dialects (one line each in dbs_store.c). */
extern const dbs_dialect_t dbs_dialect_sqlite3;
extern const dbs_dialect_t dbs_dialect_pgsql;
extern const dbs_dialect_t dbs_dialect_mysql;

/* The registry, and a store's statement of a dialect (NULL: none), for the
 * unit tests. */
const dbs_dialect_t *const *dbs_store_dialects(int *count);
const char *dbs_store_statement(const dbs_store_t *st, const dbs_dialect_t *d,
                                dbs_stmt_e which);

/* Selects run buffered ("random access" in apr_dbd): with the sequential
 * mode, PostgreSQL's errors (a lock timeout) only show up while fetching,
 * where apr_dbd cannot tell them from the end of the rows. */
#define DBS_BUFFERED 1

/* What dbs_store.c lends its dialects (and dbs_admin). */

/* sql with every DBS_TABLE replaced by table. */
const char *dbs_store_with_table(apr_pool_t *pool, const char *sql,
                                 const char *table);

/* The connection's native handle (apr_dbd_native_handle). */
void *dbs_store_native(const dbs_txn_t *t);
/* Forget the connection's prepared statements (after a failure). */
void dbs_store_forget(dbs_txn_t *t);
/* Read to the end from row n (1-based), so that the driver releases the
 * statement. */
void dbs_store_drain(const dbs_txn_t *t, apr_dbd_results_t *res, int n);
/* The row of id_hash through the prepared load or, when inline_sql is
 * given, that plain query (which must select DBS_COLUMNS). */
apr_status_t dbs_store_select_row(dbs_txn_t *t, const char *id_hash,
                                  const char *inline_sql, dbs_record_t *rec,
                                  int *found);
/* An ID a renewal replaced: lock its session under the ID it goes by now
 * and read the row (*found 0 if there is none). */
apr_status_t dbs_store_load_renewed(dbs_txn_t *t, const char *id_hash,
                                    dbs_record_t *rec, int *found);
/* Whether this transaction holds the session of key, and note that it does
 * (lock NULL: the server holds it). */
int dbs_store_holds(const dbs_txn_t *t, apr_uint64_t key);
void dbs_store_hold(dbs_txn_t *t, apr_uint64_t key, dbs_lock_t *lock);
/* Where the server holds the locks: a locking read since start that took
 * long was a lock wait (dbs_txn_lock_waited). */
void dbs_store_note_lock_wait(dbs_txn_t *t, apr_time_t start);
/* The deadline of a session lock wait (0: do not wait). */
apr_time_t dbs_store_lock_deadline(const dbs_txn_t *t);
/* A server-side lock wait that failed ran out: by the clock when a wait was
 * allowed (the server's error text is localised), else by the text. */
int dbs_store_timed_out_by_clock(const dbs_txn_t *t, apr_time_t start);

#endif
