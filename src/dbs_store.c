/* dbs_store: see dbs_store.h. */
#include "dbs_store.h"

#include "dbs_lock.h"

#include <dlfcn.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_time.h>

typedef enum { KIND_SQLITE3 = 0, KIND_PGSQL, KIND_MYSQL, KIND_COUNT } kind_e;

typedef enum {
    STMT_LOAD = 0,
    STMT_INSERT,
    STMT_UPDATE,
    STMT_UPDATE_NEW_ID,
    STMT_TOUCH,
    STMT_DELETE,
    STMT_CLEANUP,
    STMT_CLAIM,
    STMT_LOAD_NOWAIT,
    STMT_REVOKE_OTHERS,
    STMT_LOAD_PREVIOUS,
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_COUNT
} stmt_e;

struct dbs_store_t {
    const char *sql[KIND_COUNT][STMT_COUNT];
    const char *userdata_key;
};

/* A session this transaction has locked (lock is NULL where the database
 * holds it: PostgreSQL's advisory locks). */
typedef struct {
    apr_uint64_t key;
    dbs_lock_t *lock;
} held_session_t;

/* What one connection has prepared for one store. */
typedef struct {
    apr_dbd_prepared_t *stmt[STMT_COUNT];
    const char *label[STMT_COUNT]; /* PostgreSQL: the server-side names */
    kind_e kind;
    apr_int64_t lock_timeout;    /* as last set on the connection, -1 unknown */
    dbs_locktable_t *locks;      /* SQLite: the table beside the database */
    unsigned long server_thread; /* MySQL: the connection they belong to */
} conn_state_t;

#define COLUMNS                                                                \
    "user_name, session_data, flash, csrf_token, created_at, active_at, "      \
    "renewed_at, prev_id_hash, prev_until"
#define NCOLUMNS 9
/* What every write sets besides id_hash and expires_at, in the order
 * bind_written() binds it (a format for apr_psprintf: %% stays %). */
#define WRITTEN_COLUMNS                                                        \
    "user_name, session_data, flash, csrf_token, active_at, renewed_at, "      \
    "prev_id_hash, prev_until"
#define WRITTEN_VALUES "%%s, %%s, %%s, %%s, %%lld, %%lld, %%s, %%lld"
#define WRITTEN_SET                                                            \
    "user_name = %%s, session_data = %%s, flash = %%s, csrf_token = %%s, "     \
    "active_at = %%lld, renewed_at = %%lld, prev_id_hash = %%s, "              \
    "prev_until = %%lld"
/* PostgreSQL: take the advisory lock of a new ID before the statement that
 * follows writes it. Passed as an argument of apr_psprintf, not as format. */
#define PG_CLAIM_CTE                                                           \
    "WITH claimed AS (SELECT 1 FROM (SELECT pg_advisory_xact_lock(%lld)) AS "  \
    "l) "
/* The advisory lock key of a session: the first 60 bits of its id_hash, as
 * claim_key() computes them in C. */
#define CLAIM_KEY_SQL "('x' || substr(id_hash, 1, 15))::bit(60)::bigint"

/* Between attempts at SQLite's write lock while a writer outside the module
 * (a command-line client, another program) holds it. */
#define SQLITE_RETRY_SLEEP apr_time_from_msec(1)
/* Beside the database file, shared by every server that opens it. */
#define LOCK_FILE_SUFFIX "-dbsession-locks"
/* The longest wait for SQLite's write lock, unless DBSessionLockTimeout is
 * longer: its holders keep it only from their first write to their commit,
 * so even "do not wait for a session" (0) must queue for it. */
#define SQLITE_WRITE_WAIT_FLOOR 5
/* sqlite3_txn_state()'s answer when the transaction has written. */
#define SQLITE_TXN_WRITE 2
/* SQLite's error code for statements prepared before a schema change. */
#define SQLITE_SCHEMA 17

static int kind_of(const char *name, kind_e *kind)
{
    static const char *const names[KIND_COUNT] = {"sqlite3", "pgsql", "mysql"};
    int i;

    for (i = 0; i < KIND_COUNT; i++) {
        if (name && strcmp(name, names[i]) == 0) {
            *kind = (kind_e)i;
            return 1;
        }
    }
    return 0;
}

int dbs_store_driver_supported(const char *name)
{
    kind_e kind;

    return kind_of(name, &kind);
}

dbs_store_t *dbs_store_make(apr_pool_t *pool, const char *table)
{
    dbs_store_t *st = apr_pcalloc(pool, sizeof(*st));
    int k;

    for (k = 0; k < KIND_COUNT; k++) {
        /* How a request holds its session until it ends: SQLite's
         * transaction holds the database write lock (BEGIN IMMEDIATE), MySQL
         * locks the row, PostgreSQL takes the session's advisory lock
         * (STMT_CLAIM) before it reads: a row lock there would write the
         * tuple on every read, and would not wait for a row that another
         * transaction is still inserting. */
        const char *lock = k == KIND_MYSQL ? " FOR UPDATE" : "";

        st->sql[k][STMT_LOAD] = apr_psprintf(
            pool, "SELECT " COLUMNS " FROM %s WHERE id_hash = %%s%s", table,
            lock);
        /* PostgreSQL locks a new ID in the same statement that writes it
         * (one round trip): the lock's key is the first parameter. */
        st->sql[k][STMT_INSERT] = apr_psprintf(
            pool,
            "%sINSERT INTO %s (id_hash, created_at, " WRITTEN_COLUMNS
            ", expires_at) SELECT %%s, %%lld, " WRITTEN_VALUES ", %%lld%s",
            k == KIND_PGSQL ? PG_CLAIM_CTE : "", table,
            k == KIND_PGSQL ? " FROM claimed" : "");
        st->sql[k][STMT_UPDATE] =
            apr_psprintf(pool,
                         "UPDATE %s SET id_hash = %%s, " WRITTEN_SET
                         ", expires_at = %%lld WHERE id_hash = %%s",
                         table);
        st->sql[k][STMT_UPDATE_NEW_ID] =
            k == KIND_PGSQL
                ? apr_psprintf(
                      pool,
                      "%sUPDATE %s SET id_hash = %%s, " WRITTEN_SET
                      ", expires_at = %%lld FROM claimed WHERE id_hash = %%s",
                      PG_CLAIM_CTE, table)
                : st->sql[k][STMT_UPDATE];
        st->sql[k][STMT_TOUCH] =
            apr_psprintf(pool,
                         "UPDATE %s SET active_at = %%lld, expires_at = %%lld "
                         "WHERE id_hash = %%s",
                         table);
        st->sql[k][STMT_DELETE] =
            apr_psprintf(pool, "DELETE FROM %s WHERE id_hash = %%s", table);
        /* Renewal: the row that a replaced ID now goes by. */
        st->sql[k][STMT_LOAD_PREVIOUS] = apr_psprintf(
            pool, "SELECT id_hash FROM %s WHERE prev_id_hash = %%s", table);
        st->sql[k][STMT_REVOKE_OTHERS] = apr_psprintf(
            pool, "DELETE FROM %s WHERE user_name = %%s AND id_hash <> %%s",
            table);
        /* Bounded batches keep every cleanup lock short. */
        st->sql[k][STMT_CLEANUP] =
            k == KIND_MYSQL
                ? apr_psprintf(pool,
                               "DELETE FROM %s WHERE expires_at < %%lld "
                               "LIMIT %%d",
                               table)
                : apr_psprintf(pool,
                               "DELETE FROM %s WHERE id_hash IN (SELECT "
                               "id_hash FROM %s WHERE expires_at < %%lld%s "
                               "LIMIT %%d)",
                               table, table,
                               /* never a session a request holds */
                               k == KIND_PGSQL ? " AND pg_try_advisory_xact_"
                                                 "lock(" CLAIM_KEY_SQL ")"
                                               : "");
        /* PostgreSQL: the session's lock, also taken on a new ID before it
         * is inserted, so that a request with the new cookie waits for the
         * commit and then sees the row. */
        st->sql[k][STMT_CLAIM] =
            k == KIND_PGSQL ? "SELECT pg_advisory_xact_lock(%lld)" : NULL;
        /* SQLite parses the statements of every transaction's ends anew
         * unless they are prepared (a microsecond per request). */
        if (k == KIND_SQLITE3) {
            st->sql[k][STMT_BEGIN] = "BEGIN";
            st->sql[k][STMT_COMMIT] = "COMMIT";
            st->sql[k][STMT_ROLLBACK] = "ROLLBACK";
        }
        /* MySQL, DBSessionLockTimeout 0: InnoDB waits at least a second. */
        st->sql[k][STMT_LOAD_NOWAIT] =
            k == KIND_MYSQL ? apr_psprintf(pool,
                                           "SELECT " COLUMNS " FROM %s WHERE "
                                           "id_hash = %%s FOR UPDATE NOWAIT",
                                           table)
                            : NULL;
    }
    st->userdata_key = apr_pstrcat(pool, "dbsession-statements:", table, NULL);
    return st;
}

const char *dbs_store_error(apr_pool_t *pool, const dbs_conn_t *c, int rv,
                            const char *what)
{
    const char *msg = apr_dbd_error(c->driver, c->handle, rv);

    return apr_psprintf(pool, "%s: %s", what, msg && *msg ? msg : "failed");
}

/* Prepared statements die with a reset connection: forget them so that the
 * next use prepares them again. */
static void forget_statements(const dbs_store_t *st, const dbs_conn_t *c)
{
    apr_pool_userdata_setn(NULL, st->userdata_key, NULL, c->pool);
}

/* Selects run buffered ("random access" in apr_dbd): with the sequential
 * mode, PostgreSQL's errors (a lock timeout) only show up while fetching,
 * where apr_dbd cannot tell them from the end of the rows. */
#define BUFFERED 1

/* Read to the end from row n (1-based), so that the driver releases the
 * statement. */
static void drain(const dbs_conn_t *c, apr_pool_t *pool, apr_dbd_results_t *res,
                  int n)
{
    apr_dbd_row_t *row = NULL;

    while (apr_dbd_get_row(c->driver, pool, res, &row, n++) == 0) {
    }
}

/* SQLite: the lock table beside the database file of this connection. */
static apr_status_t open_sqlite_locks(const dbs_conn_t *c, apr_pool_t *pool,
                                      conn_state_t *state, const char **err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *file = NULL, *lock_err = NULL;

    if (apr_dbd_select(c->driver, pool, c->handle, &res,
                       "SELECT file FROM pragma_database_list "
                       "WHERE name = 'main'",
                       BUFFERED) != 0) {
        *err = dbs_store_error(pool, c, 1, "finding the database file");
        return APR_EGENERAL;
    }
    if (apr_dbd_get_row(c->driver, pool, res, &row, 1) == 0) {
        file = apr_pstrdup(pool, apr_dbd_get_entry(c->driver, row, 0));
        drain(c, pool, res, 2);
    }
    if (!file || !*file) {
        *err = "the sqlite3 database must be a file (DBDParams names its "
               "path), not in memory";
        return APR_EGENERAL;
    }
    if (dbs_locktable_open(apr_pstrcat(pool, file, LOCK_FILE_SUFFIX, NULL),
                           &state->locks, &lock_err) != APR_SUCCESS) {
        *err = apr_psprintf(pool, "opening %s%s: %s", file, LOCK_FILE_SUFFIX,
                            lock_err);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* What apr_dbd does not expose: a function of the client library that
 * apr-util's driver loaded (RTLD_GLOBAL), looked up on its first use on a
 * connection of that driver (so the library is loaded by then; looked up
 * again while missing). Threads racing here store the same value. */
typedef unsigned long (*mysql_thread_id_fn)(void *mysql);
typedef unsigned int (*mysql_errno_fn)(void *mysql);
typedef int (*sqlite3_errcode_fn)(void *db);
typedef int (*sqlite3_txn_state_fn)(void *db, const char *schema);
#define CLIENT_FUNCTION(type, var, name)                                       \
    static type var;                                                           \
    if (!var) {                                                                \
        var = (type)dlsym(RTLD_DEFAULT, name);                                 \
    }

static void *native(const dbs_conn_t *c)
{
    return apr_dbd_native_handle(c->driver, c->handle);
}

/* MySQL: the server's id of the connection. apr_dbd's mysql driver
 * reconnects by itself (reconnect=1) and then says nothing: a new id means
 * the prepared statements and session settings are gone, and so is any
 * transaction that was open. 0 when it cannot be asked. */
static unsigned long mysql_server_thread(const dbs_conn_t *c)
{
    CLIENT_FUNCTION(mysql_thread_id_fn, thread_id, "mysql_thread_id")
    return thread_id ? thread_id(native(c)) : 0;
}

/* MySQL: whether the connection itself holds an error. apr_dbd reports a
 * failed prepared statement with the connection's message, which is empty
 * when the statement handle was dead on the client side (prepared before a
 * reconnect that got the same server id, as after a server restart). */
static int mysql_connection_has_error(const dbs_conn_t *c)
{
    CLIENT_FUNCTION(mysql_errno_fn, error_number, "mysql_errno")
    return !error_number || error_number(native(c)) != 0;
}

static apr_status_t get_state(const dbs_store_t *st, const dbs_conn_t *c,
                              conn_state_t **out, const char **err,
                              apr_pool_t *pool)
{
    static apr_uint32_t generation;
    conn_state_t *state = NULL;
    kind_e kind;
    int i;

    apr_pool_userdata_get((void **)&state, st->userdata_key, c->pool);
    if (state && state->kind == KIND_MYSQL &&
        state->server_thread != mysql_server_thread(c)) {
        state = NULL; /* reconnected: prepare again, set again */
    }
    if (state) {
        *out = state;
        return APR_SUCCESS;
    }
    if (!kind_of(apr_dbd_name(c->driver), &kind)) {
        *err = apr_psprintf(pool,
                            "apr_dbd driver %s is not supported "
                            "(use sqlite3, pgsql or mysql)",
                            apr_dbd_name(c->driver));
        return APR_ENOTIMPL;
    }
    state = apr_pcalloc(c->pool, sizeof(*state));
    state->kind = kind;
    state->lock_timeout = -1;
    for (i = 0; i < STMT_COUNT; i++) {
        /* A fresh label each time: re-preparing on a connection that still
         * has the old statement must not collide with it. */
        const char *label;
        int rv;

        if (!st->sql[kind][i]) {
            continue;
        }
        label = apr_psprintf(c->pool, "dbsession_%d_%u", i,
                             apr_atomic_inc32(&generation));
        state->label[i] = label;
        rv = apr_dbd_prepare(c->driver, c->pool, c->handle, st->sql[kind][i],
                             label, &state->stmt[i]);
        if (rv != 0) {
            *err = dbs_store_error(pool, c, rv, "preparing statements");
            return APR_EGENERAL;
        }
    }
    if (kind == KIND_MYSQL) {
        /* No gap locks: a lookup of a missing ID must not block other
         * sessions' inserts. */
        int rows;
        int rv = apr_dbd_query(c->driver, c->handle, &rows,
                               "SET SESSION TRANSACTION ISOLATION LEVEL "
                               "READ COMMITTED");
        if (rv != 0) {
            *err = dbs_store_error(pool, c, rv, "setting the isolation level");
            return APR_EGENERAL;
        }
        state->server_thread = mysql_server_thread(c);
    }
    if (kind == KIND_SQLITE3 &&
        open_sqlite_locks(c, pool, state, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    apr_pool_userdata_setn(state, st->userdata_key, NULL, c->pool);
    *out = state;
    return APR_SUCCESS;
}

static apr_time_t lock_deadline(const dbs_conn_t *c)
{
    return c->lock_timeout > 0
               ? apr_time_now() + apr_time_from_sec(c->lock_timeout)
               : 0;
}

static void release_locks(dbs_conn_t *c)
{
    while (c->locked && c->locked->nelts > 0) {
        dbs_lock_release(((held_session_t *)apr_array_pop(c->locked))->lock);
    }
    dbs_lock_release(c->writer);
    c->writer = NULL;
}

static int holds_session(const dbs_conn_t *c, apr_uint64_t key)
{
    int i;

    for (i = 0; i < c->locked->nelts; i++) {
        if (APR_ARRAY_IDX(c->locked, i, held_session_t).key == key) {
            return 1;
        }
    }
    return 0;
}

/* The sessions's lock: an advisory lock on PostgreSQL, dbs_lock's on
 * SQLite; MySQL locks the row itself. */
static apr_status_t lock_session(const dbs_store_t *st, dbs_conn_t *c,
                                 apr_pool_t *pool, conn_state_t *state,
                                 const char *id_hash, dbs_fail_e *fail,
                                 const char **err);

/* SQLite's own error code of the connection's last statement: apr_dbd's
 * driver reports some failures (a changed schema) as plain SQLITE_ERROR. */
static int sqlite_errcode(const dbs_conn_t *c)
{
    CLIENT_FUNCTION(sqlite3_errcode_fn, errcode, "sqlite3_errcode")
    return errcode ? errcode(native(c)) : 0;
}

/* SQLite's write lock for this transaction; see dbs_store_begin_write. */
static apr_status_t begin_sqlite_write(dbs_conn_t *c, apr_pool_t *pool,
                                       conn_state_t *state, dbs_fail_e *fail,
                                       const char **err)
{
    CLIENT_FUNCTION(sqlite3_txn_state_fn, txn_state, "sqlite3_txn_state")
    apr_time_t deadline =
        apr_time_now() +
        apr_time_from_sec(c->lock_timeout > SQLITE_WRITE_WAIT_FLOOR
                              ? c->lock_timeout
                              : SQLITE_WRITE_WAIT_FLOOR);
    int rows, rv;

    *fail = DBS_FAIL_DATABASE;
    if (c->writing) {
        return APR_SUCCESS;
    }
    /* Another module wrote on the connection already: SQLite gave it the
     * write lock, which the transaction keeps. */
    if (txn_state && txn_state(native(c), NULL) == SQLITE_TXN_WRITE) {
        c->writing = 1;
        return APR_SUCCESS;
    }
    if (dbs_lock_writer(state->locks, deadline, c->txn_pool, &c->writer) !=
        APR_SUCCESS) {
        *fail = DBS_FAIL_LOCK_TIMEOUT;
        *err = "waiting for the database write lock";
        return APR_TIMEUP;
    }
    /* Until now the transaction only read (its snapshot may be older than
     * another session's commit, and SQLite would refuse to upgrade it): start
     * it again as a writer. Nothing was written, so nothing is lost. */
    if (c->in_txn) {
        apr_dbd_query(c->driver, c->handle, &rows, "ROLLBACK");
        c->in_txn = 0;
    }
    while ((rv = apr_dbd_query(c->driver, c->handle, &rows,
                               "BEGIN IMMEDIATE")) != 0) {
        *err = dbs_store_error(pool, c, rv, "beginning the write");
        /* SQLITE_BUSY: a writer outside the module holds the lock. */
        if (rv != 5) {
            return APR_EGENERAL;
        }
        if (apr_time_now() >= deadline) {
            *fail = DBS_FAIL_LOCK_TIMEOUT;
            return APR_TIMEUP;
        }
        apr_sleep(SQLITE_RETRY_SLEEP);
    }
    c->in_txn = 1;
    c->writing = 1;
    *fail = DBS_FAIL_NONE;
    return APR_SUCCESS;
}

apr_status_t dbs_store_begin_write(const dbs_store_t *st, dbs_conn_t *c,
                                   apr_pool_t *pool, dbs_fail_e *fail,
                                   const char **err)
{
    conn_state_t *state;

    *fail = DBS_FAIL_DATABASE;
    if (!c->in_txn) {
        *err = "no transaction is open";
        return APR_EGENERAL;
    }
    if (get_state(st, c, &state, err, pool) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (state->kind != KIND_SQLITE3) {
        *fail = DBS_FAIL_NONE;
        return APR_SUCCESS;
    }
    return begin_sqlite_write(c, pool, state, fail, err);
}

/* MySQL: whether the transaction still runs on the connection it began on
 * (after a silent reconnect, statements would run outside it, one by one). */
static apr_status_t same_mysql_connection(const dbs_conn_t *c,
                                          conn_state_t *state, apr_pool_t *pool,
                                          const char **err)
{
    if (state->kind == KIND_MYSQL && c->in_txn &&
        mysql_server_thread(c) != c->server_thread) {
        *err = "the connection to MySQL was re-established: the "
               "transaction is lost";
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t run_query(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, stmt_e which,
                              const char **values, int nvalues, int *nrows,
                              const char **err)
{
    conn_state_t *state;
    dbs_fail_e fail;
    int rv, rows = 0, attempt;

    for (attempt = 0;; attempt++) {
        if (get_state(st, c, &state, err, pool) != APR_SUCCESS ||
            same_mysql_connection(c, state, pool, err) != APR_SUCCESS ||
            (state->kind == KIND_SQLITE3 &&
             begin_sqlite_write(c, pool, state, &fail, err) != APR_SUCCESS)) {
            return APR_EGENERAL;
        }
        rv = apr_dbd_pquery(c->driver, pool, c->handle, &rows,
                            state->stmt[which], nvalues, values);
        if (rv == 0) {
            break;
        }
        *err = dbs_store_error(pool, c, rv, "writing the session");
        forget_statements(st, c);
        /* Prepare anew and try once more where the statement never reached
         * the server, so the transaction goes on: SQLite's schema changed
         * (another table was made) since it was prepared; MySQL's statement
         * handle died with a reconnect. Any other failure ends the
         * transaction. */
        if (attempt > 0 ||
            !((state->kind == KIND_SQLITE3 &&
               (rv == SQLITE_SCHEMA || sqlite_errcode(c) == SQLITE_SCHEMA)) ||
              (state->kind == KIND_MYSQL && !mysql_connection_has_error(c)))) {
            return APR_EGENERAL;
        }
    }
    if (nrows) {
        *nrows = rows;
    }
    return APR_SUCCESS;
}

static const char *i64(apr_pool_t *pool, apr_int64_t v)
{
    return apr_psprintf(pool, "%" APR_INT64_T_FMT, v);
}

/* Session-level lock wait, set only when it changes (one round trip saved
 * per request). 0 means "do not wait": the servers' own 0 means "forever". */
static apr_status_t set_lock_timeout(const dbs_conn_t *c, apr_pool_t *pool,
                                     conn_state_t *state, apr_int64_t seconds,
                                     const char **err)
{
    const char *sql;
    int rows, rv;

    if (state->kind == KIND_SQLITE3 || state->lock_timeout == seconds) {
        return APR_SUCCESS;
    }
    if (state->kind == KIND_PGSQL) {
        sql = apr_psprintf(pool, "SET lock_timeout = %" APR_INT64_T_FMT,
                           seconds > 0 ? seconds * 1000 : 1);
    }
    else {
        /* InnoDB counts whole seconds and needs at least 1; 0 reads with
         * NOWAIT instead. */
        sql = apr_psprintf(
            pool, "SET SESSION innodb_lock_wait_timeout = %" APR_INT64_T_FMT,
            seconds > 0 ? seconds : 1);
    }
    rv = apr_dbd_query(c->driver, c->handle, &rows, sql);
    if (rv != 0) {
        *err = dbs_store_error(pool, c, rv, "setting the lock timeout");
        return APR_EGENERAL;
    }
    state->lock_timeout = seconds;
    return APR_SUCCESS;
}

/* The advisory key of an ID hash: its first 60 bits, positive. */
static const char *claim_key(apr_pool_t *pool, const char *id_hash)
{
    return apr_psprintf(
        pool, "%" APR_INT64_T_FMT,
        apr_strtoi64(apr_pstrndup(pool, id_hash, 15), NULL, 16));
}

/* Whether a failed statement was a lock wait that ran out: the server's
 * error text is localised, the clock is not. With no wait allowed, the
 * text is all there is. */
static int lock_wait_ran_out(const dbs_conn_t *c, apr_time_t start,
                             const char *err)
{
    if (c->lock_timeout > 0) {
        return apr_time_now() - start >=
               apr_time_from_sec(c->lock_timeout) - apr_time_from_msec(100);
    }
    return err && (strstr(err, "lock") || strstr(err, "Lock"));
}

static apr_status_t lock_session(const dbs_store_t *st, dbs_conn_t *c,
                                 apr_pool_t *pool, conn_state_t *state,
                                 const char *id_hash, dbs_fail_e *fail,
                                 const char **err)
{
    apr_time_t start = apr_time_now();
    apr_dbd_results_t *res = NULL;
    apr_uint64_t key = dbs_lock_key(id_hash);
    held_session_t held = {key, NULL};
    const char *values[1];
    int rv;

    *fail = DBS_FAIL_NONE;
    if (state->kind == KIND_MYSQL || holds_session(c, key)) {
        return APR_SUCCESS;
    }
    *fail = DBS_FAIL_DATABASE;
    if (state->kind == KIND_SQLITE3) {
        if (dbs_lock_session(state->locks, key, lock_deadline(c), c->txn_pool,
                             &held.lock, &c->lock_waited) != APR_SUCCESS) {
            *fail = DBS_FAIL_LOCK_TIMEOUT;
            *err = "waiting for the session";
            return APR_TIMEUP;
        }
        APR_ARRAY_PUSH(c->locked, held_session_t) = held;
        *fail = DBS_FAIL_NONE;
        return APR_SUCCESS;
    }
    values[0] = claim_key(pool, id_hash);
    rv = apr_dbd_pselect(c->driver, pool, c->handle, &res,
                         state->stmt[STMT_CLAIM], BUFFERED, 1, values);
    if (rv != 0) {
        *err = dbs_store_error(pool, c, rv, "waiting for the session");
        if (lock_wait_ran_out(c, start, *err)) {
            *fail = DBS_FAIL_LOCK_TIMEOUT;
        }
        forget_statements(st, c);
        return APR_EGENERAL;
    }
    drain(c, pool, res, 1);
    APR_ARRAY_PUSH(c->locked, held_session_t) = held;
    *fail = DBS_FAIL_NONE;
    return APR_SUCCESS;
}

/* SQLite: a session found dead needs no lock (and holding it could make two
 * requests with the same dead cookies in opposite orders wait for each
 * other). PostgreSQL's advisory locks last until the transaction ends. */
static void unlock_session(dbs_conn_t *c, conn_state_t *state,
                           const char *id_hash)
{
    apr_uint64_t key = dbs_lock_key(id_hash);
    held_session_t *held = (held_session_t *)c->locked->elts;
    int i;

    if (state->kind != KIND_SQLITE3) {
        return;
    }
    for (i = 0; i < c->locked->nelts; i++) {
        if (held[i].key == key) {
            dbs_lock_release(held[i].lock);
            held[i] = held[--c->locked->nelts];
            return;
        }
    }
}

/* The row of id_hash, through the prepared statement or, when inline_sql is
 * given, that simple query (which must select the same columns). */
static apr_status_t select_row(const dbs_store_t *st, dbs_conn_t *c,
                               apr_pool_t *pool, conn_state_t *state,
                               const char *id_hash, const char *inline_sql,
                               dbs_record_t *rec, int *found, dbs_fail_e *fail,
                               const char **err)
{
    apr_time_t start = apr_time_now();
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *values[1];
    stmt_e load = state->kind == KIND_MYSQL && c->lock_timeout <= 0
                      ? STMT_LOAD_NOWAIT
                      : STMT_LOAD;
    int rv;

    *found = 0;
    *fail = DBS_FAIL_DATABASE;
    values[0] = id_hash;
    rv = inline_sql ? apr_dbd_select(c->driver, pool, c->handle, &res,
                                     inline_sql, BUFFERED)
                    : apr_dbd_pselect(c->driver, pool, c->handle, &res,
                                      state->stmt[load], BUFFERED, 1, values);
    if (rv != 0) {
        *err = dbs_store_error(pool, c, rv, "loading the session");
        if (state->kind != KIND_SQLITE3 && lock_wait_ran_out(c, start, *err)) {
            *fail = DBS_FAIL_LOCK_TIMEOUT;
        }
        forget_statements(st, c);
        return APR_EGENERAL;
    }
    /* id_hash is the primary key: one row at most. */
    if (apr_dbd_get_row(c->driver, pool, res, &row, 1) == 0) {
        const char *v[NCOLUMNS];
        int i;

        for (i = 0; i < NCOLUMNS; i++) {
            v[i] = apr_dbd_get_entry(c->driver, row, i);
            v[i] = apr_pstrdup(pool, v[i] ? v[i] : "");
        }
        rec->user = v[0];
        rec->data = v[1];
        rec->flash = v[2];
        rec->csrf = v[3];
        rec->created_at = apr_atoi64(v[4]);
        rec->active_at = apr_atoi64(v[5]);
        rec->renewed_at = apr_atoi64(v[6]);
        /* A CHAR column comes back blank-padded from PostgreSQL. */
        rec->prev_hash = v[7][0] == ' ' ? "" : v[7];
        rec->prev_until = apr_atoi64(v[8]);
        rec->id_hash = apr_pstrdup(pool, id_hash);
        rec->via_previous = 0;
        *found = 1;
        drain(c, pool, res, 2);
    }
    *fail = DBS_FAIL_NONE;
    return APR_SUCCESS;
}

/* PostgreSQL and MySQL: a locking read that took long was a lock wait. */
static void note_lock_wait(dbs_conn_t *c, const conn_state_t *state,
                           apr_time_t start)
{
    if (state->kind != KIND_SQLITE3 &&
        apr_time_now() - start > apr_time_from_msec(DBS_LOCK_WAIT_HINT_MSEC)) {
        c->lock_waited = 1;
    }
}

/* Lock the session, then read its row (a lock taken after the read could
 * let the read miss the previous holder's commit). */
static apr_status_t lock_and_load(const dbs_store_t *st, dbs_conn_t *c,
                                  apr_pool_t *pool, conn_state_t *state,
                                  const char *id_hash, dbs_record_t *rec,
                                  int *found, dbs_fail_e *fail,
                                  const char **err)
{
    apr_time_t start = apr_time_now();
    int failed =
        lock_session(st, c, pool, state, id_hash, fail, err) != APR_SUCCESS ||
        select_row(st, c, pool, state, id_hash, NULL, rec, found, fail, err) !=
            APR_SUCCESS;

    note_lock_wait(c, state, start); /* also one that ran out */
    if (failed) {
        return APR_EGENERAL;
    }
    if (!*found) {
        unlock_session(c, state, id_hash);
    }
    return APR_SUCCESS;
}

/* Renewal: the current id_hash of the row whose previous ID is
 * previous_hash, or NULL. */
static apr_status_t select_renewed(const dbs_store_t *st, dbs_conn_t *c,
                                   apr_pool_t *pool, conn_state_t *state,
                                   const char *previous_hash,
                                   const char **current, const char **err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *values[1];
    int rv;

    *current = NULL;
    values[0] = previous_hash;
    rv = apr_dbd_pselect(c->driver, pool, c->handle, &res,
                         state->stmt[STMT_LOAD_PREVIOUS], BUFFERED, 1, values);
    if (rv != 0) {
        *err = dbs_store_error(pool, c, rv, "loading the session");
        forget_statements(st, c);
        return APR_EGENERAL;
    }
    if (apr_dbd_get_row(c->driver, pool, res, &row, 1) == 0) {
        const char *v = apr_dbd_get_entry(c->driver, row, 0);

        *current = v ? apr_pstrdup(pool, v) : NULL;
        drain(c, pool, res, 2);
    }
    return APR_SUCCESS;
}

/* A row can be renewed again while a request with its previous ID waits
 * for it: then look once more. */
#define RENEWED_LOOKUPS 3

/* An ID a renewal replaced: lock the session under the ID it goes by now
 * and read the row again (it may have changed while this request waited). */
static apr_status_t load_renewed(const dbs_store_t *st, dbs_conn_t *c,
                                 apr_pool_t *pool, conn_state_t *state,
                                 const char *id_hash, dbs_record_t *rec,
                                 int *found, dbs_fail_e *fail, const char **err)
{
    const char *current;
    int i;

    *fail = DBS_FAIL_DATABASE;
    for (i = 0; i < RENEWED_LOOKUPS; i++) {
        if (select_renewed(st, c, pool, state, id_hash, &current, err) !=
            APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (!current) {
            break;
        }
        if (lock_and_load(st, c, pool, state, current, rec, found, fail, err) !=
            APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (*found && strcmp(rec->prev_hash, id_hash) == 0) {
            rec->via_previous = 1;
            return APR_SUCCESS;
        }
        if (*found) {
            unlock_session(c, state, current);
        }
    }
    *found = 0;
    *fail = DBS_FAIL_NONE;
    return APR_SUCCESS;
}

/* The live row of an ID, current or previous. */
static apr_status_t load_session(const dbs_store_t *st, dbs_conn_t *c,
                                 apr_pool_t *pool, conn_state_t *state,
                                 const char *id_hash, dbs_record_t *rec,
                                 int *found, dbs_fail_e *fail, const char **err)
{
    if (lock_and_load(st, c, pool, state, id_hash, rec, found, fail, err) !=
        APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return *found ? APR_SUCCESS
                  : load_renewed(st, c, pool, state, id_hash, rec, found, fail,
                                 err);
}

/* BEGIN, COMMIT or ROLLBACK: prepared where the store prepared it, else as
 * a plain statement (also when the prepared one fails: prepared before a
 * schema change, it never ran; a real failure fails again). */
static int run_control(const dbs_conn_t *c, apr_pool_t *pool,
                       const conn_state_t *state, stmt_e which, const char *sql)
{
    int rows;

    if (state && state->stmt[which] &&
        apr_dbd_pquery(c->driver, pool, c->handle, &rows, state->stmt[which], 0,
                       NULL) == 0) {
        return 0;
    }
    return apr_dbd_query(c->driver, c->handle, &rows, sql);
}

/* The transaction is driven with plain statements, not
 * apr_dbd_transaction_start/end: apr-util's pgsql driver dereferences a NULL
 * transaction when BEGIN fails on a broken connection (a crash after a
 * database restart), and its sqlite3 driver retries a busy BEGIN on its own
 * schedule. The other modules' statements on the connection run inside it
 * all the same: the transaction is the server's, not apr_dbd's. SQLite's is
 * deferred: it takes no lock until the first write. */
static const char *const begin_sql[KIND_COUNT] = {"BEGIN", "BEGIN",
                                                  "START TRANSACTION"};

static apr_status_t begin_pgsql_with_load(const dbs_store_t *st, dbs_conn_t *c,
                                          apr_pool_t *pool, conn_state_t *state,
                                          const char *id_hash,
                                          dbs_record_t *rec, int *found,
                                          dbs_fail_e *fail, const char **err)
{
    /* One round trip: BEGIN and the two prepared statements (apr_dbd names
     * them on the server after their labels), planned once per connection.
     * id_hash is our own hex digest: safe to quote inline. The lock comes
     * before the SELECT, whose snapshot then sees the last holder's commit
     * (READ COMMITTED takes one per statement). */
    const char *sql =
        apr_pstrcat(pool, "BEGIN; EXECUTE ", state->label[STMT_CLAIM], "(",
                    claim_key(pool, id_hash), "); EXECUTE ",
                    state->label[STMT_LOAD], "('", id_hash, "')", NULL);
    const char *ignored;
    apr_time_t start = apr_time_now();
    held_session_t held = {dbs_lock_key(id_hash), NULL};

    int failed;

    c->in_txn = 1; /* if BEGIN went through, ROLLBACK ends it */
    failed = select_row(st, c, pool, state, id_hash, sql, rec, found, fail,
                        err) != APR_SUCCESS;
    note_lock_wait(c, state, start);
    if (failed) {
        dbs_store_end(c, pool, 0, &ignored);
        return APR_EGENERAL;
    }
    APR_ARRAY_PUSH(c->locked, held_session_t) = held;
    if (!*found && load_renewed(st, c, pool, state, id_hash, rec, found, fail,
                                err) != APR_SUCCESS) {
        dbs_store_end(c, pool, 0, &ignored);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t dbs_store_begin(const dbs_store_t *st, dbs_conn_t *c,
                             apr_pool_t *pool, apr_int64_t lock_timeout,
                             const char *id_hash, dbs_record_t *rec, int *found,
                             dbs_fail_e *fail, const char **err)
{
    conn_state_t *state;
    const char *ignored;
    int rv;

    *fail = DBS_FAIL_DATABASE;
    if (found) {
        *found = 0;
    }
    c->txn_pool = pool;
    c->lock_timeout = lock_timeout;
    c->in_txn = c->writing = c->lock_waited = 0;
    c->locked = apr_array_make(pool, 2, sizeof(held_session_t));
    c->writer = NULL;
    c->statements = NULL;
    if (get_state(st, c, &state, err, pool) != APR_SUCCESS ||
        set_lock_timeout(c, pool, state, lock_timeout, err) != APR_SUCCESS) {
        forget_statements(st, c);
        return APR_EGENERAL;
    }
    c->statements = state;
    if (id_hash && state->kind == KIND_PGSQL) {
        return begin_pgsql_with_load(st, c, pool, state, id_hash, rec, found,
                                     fail, err);
    }
    /* SQLite reads the session before its (deferred) transaction begins:
     * the session's lock keeps the row still, and a transaction that read
     * first could not write later once another session has committed. */
    if (id_hash && state->kind == KIND_SQLITE3 &&
        load_session(st, c, pool, state, id_hash, rec, found, fail, err) !=
            APR_SUCCESS) {
        release_locks(c);
        return APR_EGENERAL;
    }
    rv = run_control(c, pool, state, STMT_BEGIN, begin_sql[state->kind]);
    if (rv != 0) {
        *err = dbs_store_error(pool, c, rv, "beginning the transaction");
        forget_statements(st, c);
        release_locks(c);
        return APR_EGENERAL;
    }
    c->in_txn = 1;
    if (state->kind == KIND_MYSQL) {
        /* BEGIN may have reconnected: then prepare again on the new one. */
        c->server_thread = mysql_server_thread(c);
        if (get_state(st, c, &state, err, pool) != APR_SUCCESS ||
            (id_hash && load_session(st, c, pool, state, id_hash, rec, found,
                                     fail, err) != APR_SUCCESS)) {
            dbs_store_end(c, pool, 0, &ignored);
            return APR_EGENERAL;
        }
        if (same_mysql_connection(c, state, pool, err) != APR_SUCCESS) {
            *fail = DBS_FAIL_DATABASE;
            dbs_store_end(c, pool, 0, &ignored);
            return APR_EGENERAL;
        }
    }
    *fail = DBS_FAIL_NONE;
    return APR_SUCCESS;
}

apr_status_t dbs_store_end(dbs_conn_t *c, apr_pool_t *pool, int commit,
                           const char **err)
{
    apr_status_t status = APR_SUCCESS;
    int rows, rv;

    if (c->in_txn && commit && c->server_thread &&
        c->server_thread != mysql_server_thread(c)) {
        *err = "commit: the connection to MySQL was re-established: the "
               "transaction is lost";
        c->in_txn = c->writing = 0;
        release_locks(c);
        return APR_EGENERAL;
    }
    if (c->in_txn) {
        rv = run_control(c, pool, c->statements,
                         commit ? STMT_COMMIT : STMT_ROLLBACK,
                         commit ? "COMMIT" : "ROLLBACK");
        if (rv != 0) {
            *err = dbs_store_error(pool, c, rv, commit ? "commit" : "rollback");
            status = APR_EGENERAL;
            if (commit) {
                /* SQLite keeps a transaction open after some failed
                 * commits (SQLITE_BUSY): it must not survive. */
                apr_dbd_query(c->driver, c->handle, &rows, "ROLLBACK");
            }
        }
    }
    c->in_txn = c->writing = 0;
    release_locks(c);
    return status;
}

apr_status_t dbs_store_revive(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool)
{
    forget_statements(st, c);
    return apr_dbd_check_conn(c->driver, pool, c->handle) == APR_SUCCESS
               ? APR_SUCCESS
               : APR_EGENERAL;
}

apr_status_t dbs_store_load(const dbs_store_t *st, dbs_conn_t *c,
                            apr_pool_t *pool, const char *id_hash,
                            dbs_record_t *rec, int *found, dbs_fail_e *fail,
                            const char **err)
{
    conn_state_t *state;

    *fail = DBS_FAIL_DATABASE;
    if (get_state(st, c, &state, err, pool) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return load_session(st, c, pool, state, id_hash, rec, found, fail, err);
}

/* A new ID is locked before its row exists, so that a request presenting
 * it before the commit waits and then sees the row. On PostgreSQL the write
 * statement itself takes the lock: *claim_first is set and the key is its
 * first parameter. */
static apr_status_t lock_new_id(const dbs_store_t *st, dbs_conn_t *c,
                                apr_pool_t *pool, const char *id_hash,
                                const char **claim_first, const char **err)
{
    conn_state_t *state;
    dbs_fail_e fail;

    *claim_first = NULL;
    if (get_state(st, c, &state, err, pool) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (state->kind == KIND_PGSQL) {
        held_session_t held = {dbs_lock_key(id_hash), NULL};

        *claim_first = claim_key(pool, id_hash);
        APR_ARRAY_PUSH(c->locked, held_session_t) = held;
        return APR_SUCCESS;
    }
    return lock_session(st, c, pool, state, id_hash, &fail, err);
}

/* The WRITTEN_COLUMNS of rec into row; returns what follows them. */
static const char **bind_written(apr_pool_t *pool, const char **row,
                                 const dbs_record_t *rec)
{
    row[0] = rec->user;
    row[1] = rec->data;
    row[2] = rec->flash;
    row[3] = rec->csrf;
    row[4] = i64(pool, rec->active_at);
    row[5] = i64(pool, rec->renewed_at);
    row[6] = rec->prev_hash;
    row[7] = i64(pool, rec->prev_until);
    return row + 8;
}

/* Parameters of a write: PostgreSQL's claim of a new ID first, if any. */
#define WRITE_PARAMS 12

apr_status_t dbs_store_insert(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, const char *id_hash,
                              const dbs_record_t *rec, apr_int64_t expires_at,
                              const char **err)
{
    const char *values[WRITE_PARAMS], **row = values, *claim;

    if (lock_new_id(st, c, pool, id_hash, &claim, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (claim) {
        *row++ = claim;
    }
    *row++ = id_hash;
    *row++ = i64(pool, rec->created_at);
    row = bind_written(pool, row, rec);
    *row++ = i64(pool, expires_at);
    return run_query(st, c, pool, STMT_INSERT, values, (int)(row - values),
                     NULL, err);
}

apr_status_t dbs_store_update(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, const char *old_hash,
                              const char *new_hash, const dbs_record_t *rec,
                              apr_int64_t expires_at, const char **err)
{
    const char *values[WRITE_PARAMS], **row = values, *claim = NULL;
    int new_id = strcmp(old_hash, new_hash) != 0;

    if (new_id &&
        lock_new_id(st, c, pool, new_hash, &claim, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (claim) {
        *row++ = claim;
    }
    *row++ = new_hash;
    row = bind_written(pool, row, rec);
    *row++ = i64(pool, expires_at);
    *row++ = old_hash;
    return run_query(st, c, pool, new_id ? STMT_UPDATE_NEW_ID : STMT_UPDATE,
                     values, (int)(row - values), NULL, err);
}

apr_status_t dbs_store_touch(const dbs_store_t *st, dbs_conn_t *c,
                             apr_pool_t *pool, const char *id_hash,
                             apr_int64_t active_at, apr_int64_t expires_at,
                             const char **err)
{
    const char *values[3];

    values[0] = i64(pool, active_at);
    values[1] = i64(pool, expires_at);
    values[2] = id_hash;
    return run_query(st, c, pool, STMT_TOUCH, values, 3, NULL, err);
}

apr_status_t dbs_store_delete(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, const char *id_hash,
                              const char **err)
{
    const char *values[1];

    values[0] = id_hash;
    return run_query(st, c, pool, STMT_DELETE, values, 1, NULL, err);
}

apr_status_t dbs_store_revoke_others(const dbs_store_t *st, dbs_conn_t *c,
                                     apr_pool_t *pool, const char *user,
                                     const char *keep_hash, int *deleted,
                                     const char **err)
{
    const char *values[2];

    values[0] = user;
    values[1] = keep_hash;
    return run_query(st, c, pool, STMT_REVOKE_OTHERS, values, 2, deleted, err);
}

apr_status_t dbs_store_cleanup(const dbs_store_t *st, dbs_conn_t *c,
                               apr_pool_t *pool, apr_int64_t now, int limit,
                               int *deleted, const char **err)
{
    const char *values[2];

    values[0] = i64(pool, now);
    values[1] = apr_itoa(pool, limit);
    return run_query(st, c, pool, STMT_CLEANUP, values, 2, deleted, err);
}

apr_status_t dbs_store_cleanup_expired(const dbs_store_t *st, dbs_conn_t *c,
                                       apr_pool_t *pool, apr_int64_t now,
                                       int limit, apr_int64_t lock_timeout,
                                       int *deleted, dbs_fail_e *fail,
                                       const char **err)
{
    const char *ignored;
    apr_status_t rv;

    *deleted = 0;
    if (dbs_store_begin(st, c, pool, lock_timeout, NULL, NULL, NULL, fail,
                        err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = dbs_store_cleanup(st, c, pool, now, limit, deleted, err);
    if (rv != APR_SUCCESS) {
        dbs_store_end(c, pool, 0, &ignored);
        return rv;
    }
    return dbs_store_end(c, pool, 1, err);
}
