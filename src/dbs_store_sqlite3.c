/*
 * dbs_store's SQLite dialect.
 *
 * SQLite has one write lock for the whole database: holding it to serialise
 * one session would serialise every session. So a session is locked in
 * dbs_lock's table in a file beside the database (shared by every process
 * that opens it) and read BEFORE the transaction begins; the transaction is
 * deferred and takes the database write lock only at its first write, after
 * queueing for the lock table's writer mutex (no busy polling of SQLite).
 */
#include "dbs_store_private.h"

#include <dlfcn.h>
#include <pthread.h>

#include <apr_strings.h>

/* Beside the database file, shared by every server that opens it. */
#define LOCK_FILE_SUFFIX "-dbsession-locks"
/* The longest wait for SQLite's write lock, unless DBSessionLockTimeout is
 * longer: its holders keep it only from their first write to their commit,
 * so even "do not wait for a session" (0) must queue for it. */
#define WRITE_WAIT_FLOOR 5
/* Between attempts at SQLite's write lock while a writer outside the module
 * (a command-line client, another program) holds it. */
#define RETRY_SLEEP apr_time_from_msec(1)
/* SQLite's result codes and sqlite3_txn_state()'s answer once written. */
#define SQLITE_BUSY      5
#define SQLITE_SCHEMA    17
#define SQLITE_TXN_WRITE 2

/* What apr_dbd does not expose, from the library apr-util's driver loaded
 * (RTLD_GLOBAL): resolved once per process, on the first connection (the
 * library is loaded by then). */
typedef int (*errcode_fn)(void *db);
typedef int (*txn_state_fn)(void *db, const char *schema);
static errcode_fn sqlite_errcode;
static txn_state_fn sqlite_txn_state;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void resolve_client_functions(void)
{
    sqlite_errcode = (errcode_fn)dlsym(RTLD_DEFAULT, "sqlite3_errcode");
    sqlite_txn_state = (txn_state_fn)dlsym(RTLD_DEFAULT, "sqlite3_txn_state");
}

/* Per transaction: whether it holds the database write lock, and the lock
 * table's writer mutex it queued on. */
typedef struct {
    int writing;
    dbs_lock_t *writer;
} sqlite_txn_t;

static sqlite_txn_t *txn_of(dbs_txn_t *t)
{
    if (!t->native) {
        t->native = apr_pcalloc(t->pool, sizeof(sqlite_txn_t));
    }
    return t->native;
}

/* The lock table beside the database file of this connection. */
static apr_status_t sqlite_connect(dbs_txn_t *t, dbs_conn_state_t *state)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *file = NULL, *lock_err = NULL;
    dbs_locktable_t *locks;

    pthread_once(&resolved, resolve_client_functions);
    if (apr_dbd_select(t->driver, t->pool, t->handle, &res,
                       "SELECT file FROM pragma_database_list "
                       "WHERE name = 'main'",
                       DBS_BUFFERED) != 0) {
        dbs_txn_fail(t, 1, "finding the database file");
        return APR_EGENERAL;
    }
    if (apr_dbd_get_row(t->driver, t->pool, res, &row, 1) == 0) {
        file = apr_pstrdup(t->pool, apr_dbd_get_entry(t->driver, row, 0));
        dbs_store_drain(t, res, 2);
    }
    if (!file || !*file) {
        t->error = "the sqlite3 database must be a file (DBDParams names its "
                   "path), not in memory";
        return APR_EGENERAL;
    }
    /* The database file's owner owns the lock table too. */
    if (dbs_locktable_open(apr_pstrcat(t->pool, file, LOCK_FILE_SUFFIX, NULL),
                           file, t->pool, &locks, &lock_err) != APR_SUCCESS) {
        t->error = apr_pstrcat(t->pool, "the lock table: ", lock_err, NULL);
        return APR_EGENERAL;
    }
    state->native = locks;
    return APR_SUCCESS;
}

static apr_status_t sqlite_lock_session(dbs_txn_t *t, const char *id_hash)
{
    apr_uint64_t key = dbs_lock_key(id_hash);
    dbs_lock_t *lock;

    if (dbs_lock_session(t->state->native, key, dbs_store_lock_deadline(t),
                         t->pool, &lock, &t->lock_waited) != APR_SUCCESS) {
        t->error = "waiting for the session";
        return APR_TIMEUP;
    }
    dbs_store_hold(t, key, lock);
    return APR_SUCCESS;
}

/* The database write lock for this transaction; see dbs_store_begin_write. */
static apr_status_t sqlite_begin_write(dbs_txn_t *t)
{
    sqlite_txn_t *st = txn_of(t);
    apr_time_t deadline =
        apr_time_now() + apr_time_from_sec(t->lock_timeout > WRITE_WAIT_FLOOR
                                               ? t->lock_timeout
                                               : WRITE_WAIT_FLOOR);
    int rows, rv;

    if (st->writing) {
        return APR_SUCCESS;
    }
    /* Another module wrote on the connection already: SQLite gave it the
     * write lock, which the transaction keeps. */
    if (sqlite_txn_state &&
        sqlite_txn_state(dbs_store_native(t), NULL) == SQLITE_TXN_WRITE) {
        st->writing = 1;
        return APR_SUCCESS;
    }
    if (dbs_lock_writer(t->state->native, deadline, t->pool, &st->writer) !=
        APR_SUCCESS) {
        t->error = "waiting for the database write lock";
        return APR_TIMEUP;
    }
    /* Until now the transaction only read (its snapshot may be older than
     * another session's commit, and SQLite would refuse to upgrade it): start
     * it again as a writer. Nothing was written, so nothing is lost. */
    if (t->in_txn) {
        apr_dbd_query(t->driver, t->handle, &rows, "ROLLBACK");
        t->in_txn = 0;
    }
    while ((rv = apr_dbd_query(t->driver, t->handle, &rows,
                               "BEGIN IMMEDIATE")) != 0) {
        dbs_txn_fail(t, rv, "beginning the write");
        /* A writer outside the module holds the lock. */
        if (rv != SQLITE_BUSY) {
            return APR_EGENERAL;
        }
        if (apr_time_now() >= deadline) {
            return APR_TIMEUP;
        }
        apr_sleep(RETRY_SLEEP);
    }
    t->in_txn = 1;
    st->writing = 1;
    return APR_SUCCESS;
}

/* A statement prepared before the schema changed (another table was made)
 * never ran: apr_dbd's driver reports it as plain SQLITE_ERROR, so ask
 * SQLite itself. */
static int sqlite_retryable(const dbs_txn_t *t, int rv)
{
    return rv == SQLITE_SCHEMA ||
           (sqlite_errcode &&
            sqlite_errcode(dbs_store_native(t)) == SQLITE_SCHEMA);
}

static void sqlite_ended(dbs_txn_t *t)
{
    sqlite_txn_t *st = txn_of(t);

    dbs_lock_release(st->writer);
    st->writer = NULL;
    st->writing = 0;
}

const dbs_dialect_t dbs_dialect_sqlite3 = {
    .name = "sqlite3",
    .sql =
        {
            /* SQLite parses the statements of every transaction's ends anew
             * unless they are prepared (a microsecond per request). */
            [DBS_STMT_BEGIN] = "BEGIN",
            [DBS_STMT_COMMIT] = "COMMIT",
            [DBS_STMT_ROLLBACK] = "ROLLBACK",
        },
    .load_before_begin = 1,
    .connect = sqlite_connect,
    .lock_session = sqlite_lock_session,
    .begin_write = sqlite_begin_write,
    .retryable = sqlite_retryable,
    .ended = sqlite_ended,
};
