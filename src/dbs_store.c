/* dbs_store: see dbs_store.h. What is the same on every database; each
 * database's own is in its dialect file (dbs_store_private.h). */
#include "dbs_store_private.h"

#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

/* The registry: every dialect the store speaks, for the lookup by driver
 * name and for the message that lists them. */
static const dbs_dialect_t *const dialects[] = {
    &dbs_dialect_sqlite3,
    &dbs_dialect_pgsql,
    &dbs_dialect_mysql,
};
#define NDIALECTS (int)(sizeof(dialects) / sizeof(dialects[0]))

/* The statements every database runs as written here (DBS_TABLE is the
 * table); a dialect overrides those that differ. NULL: none unless a
 * dialect has it. */
static const char *const shared_sql[DBS_STMT_COUNT] = {
    [DBS_STMT_LOAD] =
        "SELECT " DBS_COLUMNS " FROM " DBS_TABLE " WHERE id_hash = %s",
    /* Renewal: the row that a replaced ID now goes by. */
    [DBS_STMT_LOAD_PREVIOUS] =
        "SELECT id_hash FROM " DBS_TABLE " WHERE prev_id_hash = %s",
    [DBS_STMT_INSERT] =
        "INSERT INTO " DBS_TABLE " (id_hash, created_at, " DBS_WRITTEN_COLUMNS
        ", expires_at) SELECT %s, %lld, " DBS_WRITTEN_VALUES ", %lld",
    [DBS_STMT_UPDATE] =
        "UPDATE " DBS_TABLE " SET id_hash = %s, " DBS_WRITTEN_SET
        ", expires_at = %lld WHERE id_hash = %s",
    [DBS_STMT_UPDATE_NEW_ID] =
        "UPDATE " DBS_TABLE " SET id_hash = %s, " DBS_WRITTEN_SET
        ", expires_at = %lld WHERE id_hash = %s",
    [DBS_STMT_TOUCH] =
        "UPDATE " DBS_TABLE " SET active_at = %lld, expires_at = %lld "
        "WHERE id_hash = %s",
    [DBS_STMT_DELETE] = "DELETE FROM " DBS_TABLE " WHERE id_hash = %s",
    [DBS_STMT_REVOKE_OTHERS] =
        "DELETE FROM " DBS_TABLE " WHERE user_name = %s AND id_hash <> %s",
    /* Bounded batches keep every cleanup lock short. */
    [DBS_STMT_CLEANUP] = "DELETE FROM " DBS_TABLE
                         " WHERE id_hash IN (SELECT id_hash FROM " DBS_TABLE
                         " WHERE expires_at < %lld LIMIT %d)",
};

struct dbs_store_t {
    const char *table;
    const char *sql[NDIALECTS][DBS_STMT_COUNT];
    const char *userdata_key;
};

static int dialect_index(const char *name)
{
    int i;

    for (i = 0; name && i < NDIALECTS; i++) {
        if (strcmp(name, dialects[i]->name) == 0) {
            return i;
        }
    }
    return -1;
}

int dbs_store_driver_supported(const char *name)
{
    return dialect_index(name) >= 0;
}

const char *dbs_store_driver_names(apr_pool_t *pool)
{
    const char *names = dialects[0]->name;
    int i;

    for (i = 1; i < NDIALECTS; i++) {
        names = apr_pstrcat(pool, names, i == NDIALECTS - 1 ? " or " : ", ",
                            dialects[i]->name, NULL);
    }
    return names;
}

const char *dbs_store_with_table(apr_pool_t *pool, const char *sql,
                                 const char *table)
{
    const char *token, *out = "";
    apr_size_t token_len = strlen(DBS_TABLE);

    while ((token = strstr(sql, DBS_TABLE)) != NULL) {
        out = apr_pstrcat(pool, out, apr_pstrmemdup(pool, sql, token - sql),
                          table, NULL);
        sql = token + token_len;
    }
    return apr_pstrcat(pool, out, sql, NULL);
}

dbs_store_t *dbs_store_make(apr_pool_t *pool, const char *table)
{
    dbs_store_t *st = apr_pcalloc(pool, sizeof(*st));
    int d, i;

    st->table = apr_pstrdup(pool, table);
    for (d = 0; d < NDIALECTS; d++) {
        for (i = 0; i < DBS_STMT_COUNT; i++) {
            const char *sql =
                dialects[d]->sql[i] ? dialects[d]->sql[i] : shared_sql[i];

            st->sql[d][i] =
                sql && *sql ? dbs_store_with_table(pool, sql, st->table) : NULL;
        }
    }
    st->userdata_key = apr_pstrcat(pool, "dbsession-statements:", table, NULL);
    return st;
}

const dbs_dialect_t *const *dbs_store_dialects(int *count)
{
    *count = NDIALECTS;
    return dialects;
}

const char *dbs_store_statement(const dbs_store_t *st, const dbs_dialect_t *d,
                                dbs_stmt_e which)
{
    int index = dialect_index(d->name);

    return index >= 0 ? st->sql[index][which] : NULL;
}

const char *dbs_store_table(const dbs_store_t *st)
{
    return st->table;
}

/* ------------------------------------------------------------------------ */
/* The transaction object                                                   */

dbs_txn_t *dbs_txn_make(apr_pool_t *pool, const dbs_store_t *st,
                        const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                        apr_pool_t *conn_pool, apr_int64_t lock_timeout)
{
    dbs_txn_t *t = apr_pcalloc(pool, sizeof(*t));
    int d = dialect_index(apr_dbd_name(driver));

    t->store = st;
    t->dialect = d >= 0 ? dialects[d] : NULL;
    t->driver = driver;
    t->handle = handle;
    t->conn_pool = conn_pool;
    t->pool = pool;
    t->lock_timeout = lock_timeout;
    t->held = apr_array_make(pool, 2, sizeof(dbs_held_t));
    return t;
}

const char *dbs_txn_error(const dbs_txn_t *t)
{
    return t->error;
}

dbs_txn_state_e dbs_txn_state(const dbs_txn_t *t)
{
    return t->txn_state;
}

int dbs_txn_is_open(const dbs_txn_t *t)
{
    return t->txn_state == DBS_TXN_OPEN;
}

int dbs_txn_ended(const dbs_txn_t *t)
{
    return t->txn_state >= DBS_TXN_COMMITTED;
}

void dbs_txn_doom(dbs_txn_t *t)
{
    t->doomed = 1;
}

int dbs_txn_doomed(const dbs_txn_t *t)
{
    return t->doomed;
}

int dbs_txn_lock_waited(const dbs_txn_t *t)
{
    return t->lock_waited;
}

apr_pool_t *dbs_txn_pool(const dbs_txn_t *t)
{
    return t->pool;
}

const char *dbs_txn_fail(dbs_txn_t *t, int rv, const char *what)
{
    const char *msg = apr_dbd_error(t->driver, t->handle, rv);

    t->error =
        apr_psprintf(t->pool, "%s: %s", what, msg && *msg ? msg : "failed");
    return t->error;
}

void dbs_txn_set_error(dbs_txn_t *t, const char *error)
{
    t->error = apr_pstrdup(t->pool, error);
}

void *dbs_store_native(const dbs_txn_t *t)
{
    return apr_dbd_native_handle(t->driver, t->handle);
}

/* Prepared statements die with a reset connection: forget them so that the
 * next use prepares them again. */
void dbs_store_forget(dbs_txn_t *t)
{
    apr_pool_userdata_setn(NULL, t->store->userdata_key, NULL, t->conn_pool);
    t->state = NULL;
}

void dbs_store_drain(const dbs_txn_t *t, apr_dbd_results_t *res, int n)
{
    apr_dbd_row_t *row = NULL;

    while (apr_dbd_get_row(t->driver, t->pool, res, &row, n++) == 0) {
    }
}

/* The connection's prepared statements for this store, prepared on its
 * first use (again after a failure or a silent reconnect). */
static apr_status_t connection_state(dbs_txn_t *t)
{
    static apr_uint32_t generation;
    const dbs_dialect_t *d = t->dialect;
    dbs_conn_state_t *state = NULL;
    int i, index;

    if (!d) {
        t->error = apr_psprintf(
            t->pool, "apr_dbd driver %s is not supported (use %s)",
            apr_dbd_name(t->driver), dbs_store_driver_names(t->pool));
        return APR_ENOTIMPL;
    }
    apr_pool_userdata_get((void **)&state, t->store->userdata_key,
                          t->conn_pool);
    if (state && d->reconnected && d->reconnected(t, state)) {
        state = NULL; /* prepare again, set again */
    }
    if (state) {
        t->state = state;
        return APR_SUCCESS;
    }
    index = dialect_index(d->name);
    state = apr_pcalloc(t->conn_pool, sizeof(*state));
    state->lock_timeout = -1;
    for (i = 0; i < DBS_STMT_COUNT; i++) {
        const char *sql = t->store->sql[index][i];
        int rv;

        if (!sql) {
            continue;
        }
        /* A fresh label each time: re-preparing on a connection that still
         * has the old statement must not collide with it. */
        state->label[i] = apr_psprintf(t->conn_pool, "dbsession_%d_%u", i,
                                       apr_atomic_inc32(&generation));
        rv = apr_dbd_prepare(t->driver, t->conn_pool, t->handle, sql,
                             state->label[i], &state->stmt[i]);
        if (rv != 0) {
            dbs_txn_fail(t, rv, "preparing statements");
            return APR_EGENERAL;
        }
    }
    if (d->connect && d->connect(t, state) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    apr_pool_userdata_setn(state, t->store->userdata_key, NULL, t->conn_pool);
    t->state = state;
    return APR_SUCCESS;
}

/* Session-level lock wait, set only when it changes (one round trip saved
 * per request). */
static apr_status_t set_lock_timeout(dbs_txn_t *t)
{
    int rows, rv;

    if (!t->dialect->lock_timeout_sql ||
        t->state->lock_timeout == t->lock_timeout) {
        return APR_SUCCESS;
    }
    rv = apr_dbd_query(t->driver, t->handle, &rows,
                       t->dialect->lock_timeout_sql(t->pool, t->lock_timeout));
    if (rv != 0) {
        dbs_txn_fail(t, rv, "setting the lock timeout");
        return APR_EGENERAL;
    }
    t->state->lock_timeout = t->lock_timeout;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Session locks                                                            */

apr_time_t dbs_store_lock_deadline(const dbs_txn_t *t)
{
    return t->lock_timeout > 0
               ? apr_time_now() + apr_time_from_sec(t->lock_timeout)
               : 0;
}

int dbs_store_timed_out_by_clock(const dbs_txn_t *t, apr_time_t start)
{
    if (t->lock_timeout > 0) {
        return apr_time_now() - start >=
               apr_time_from_sec(t->lock_timeout) - apr_time_from_msec(100);
    }
    return t->error && (strstr(t->error, "lock") || strstr(t->error, "Lock"));
}

int dbs_store_holds(const dbs_txn_t *t, apr_uint64_t key)
{
    int i;

    for (i = 0; i < t->held->nelts; i++) {
        if (APR_ARRAY_IDX(t->held, i, dbs_held_t).key == key) {
            return 1;
        }
    }
    return 0;
}

void dbs_store_hold(dbs_txn_t *t, apr_uint64_t key, dbs_lock_t *lock)
{
    dbs_held_t held = {key, lock};

    APR_ARRAY_PUSH(t->held, dbs_held_t) = held;
}

static apr_status_t lock_session(dbs_txn_t *t, const char *id_hash)
{
    if (!t->dialect->lock_session ||
        dbs_store_holds(t, dbs_lock_key(id_hash))) {
        return APR_SUCCESS;
    }
    return t->dialect->lock_session(t, id_hash);
}

/* A session found dead needs no lock (and holding it could make two
 * requests with the same dead cookies in opposite orders wait for each
 * other). Locks the server holds last until the transaction ends. */
static void unlock_session(dbs_txn_t *t, const char *id_hash)
{
    apr_uint64_t key = dbs_lock_key(id_hash);
    dbs_held_t *held = (dbs_held_t *)t->held->elts;
    int i;

    for (i = 0; i < t->held->nelts; i++) {
        if (held[i].key == key && held[i].lock) {
            dbs_lock_release(held[i].lock);
            held[i] = held[--t->held->nelts];
            return;
        }
    }
}

static void release_locks(dbs_txn_t *t)
{
    while (t->held->nelts > 0) {
        dbs_lock_release(((dbs_held_t *)apr_array_pop(t->held))->lock);
    }
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/* DBS_COLUMNS of a row into rec. */
static void read_record(const dbs_txn_t *t, apr_dbd_row_t *row,
                        const char *id_hash, dbs_record_t *rec)
{
    const char *v[DBS_NCOLUMNS];
    int i;

    for (i = 0; i < DBS_NCOLUMNS; i++) {
        v[i] = apr_dbd_get_entry(t->driver, row, i);
        v[i] = apr_pstrdup(t->pool, v[i] ? v[i] : "");
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
    rec->id_hash = apr_pstrdup(t->pool, id_hash);
    rec->via_previous = 0;
}

apr_status_t dbs_store_select_row(dbs_txn_t *t, const char *id_hash,
                                  const char *inline_sql, dbs_record_t *rec,
                                  int *found)
{
    apr_time_t start = apr_time_now();
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *values[1];
    /* No wait allowed: where the database has a load that does not wait. */
    dbs_stmt_e load =
        t->lock_timeout <= 0 && t->state->stmt[DBS_STMT_LOAD_NOWAIT]
            ? DBS_STMT_LOAD_NOWAIT
            : DBS_STMT_LOAD;
    int rv;

    *found = 0;
    values[0] = id_hash;
    rv = inline_sql
             ? apr_dbd_select(t->driver, t->pool, t->handle, &res, inline_sql,
                              DBS_BUFFERED)
             : apr_dbd_pselect(t->driver, t->pool, t->handle, &res,
                               t->state->stmt[load], DBS_BUFFERED, 1, values);
    if (rv != 0) {
        int timed_out;

        dbs_txn_fail(t, rv, "loading the session");
        timed_out =
            t->dialect->lock_timed_out && t->dialect->lock_timed_out(t, start);
        dbs_store_forget(t);
        return timed_out ? APR_TIMEUP : APR_EGENERAL;
    }
    /* id_hash is the primary key: one row at most. */
    if (apr_dbd_get_row(t->driver, t->pool, res, &row, 1) == 0) {
        read_record(t, row, id_hash, rec);
        *found = 1;
        dbs_store_drain(t, res, 2);
    }
    return APR_SUCCESS;
}

void dbs_store_note_lock_wait(dbs_txn_t *t, apr_time_t start)
{
    if (t->dialect->server_locks &&
        apr_time_now() - start > apr_time_from_msec(DBS_LOCK_WAIT_HINT_MSEC)) {
        t->lock_waited = 1;
    }
}

/* Lock the session, then read its row (a lock taken after the read could
 * let the read miss the previous holder's commit). */
static apr_status_t lock_and_load(dbs_txn_t *t, const char *id_hash,
                                  dbs_record_t *rec, int *found)
{
    apr_time_t start = apr_time_now();
    apr_status_t rv = lock_session(t, id_hash);

    if (rv == APR_SUCCESS) {
        rv = dbs_store_select_row(t, id_hash, NULL, rec, found);
    }
    dbs_store_note_lock_wait(t, start); /* also one that ran out */
    if (rv == APR_SUCCESS && !*found) {
        unlock_session(t, id_hash);
    }
    return rv;
}

/* Renewal: the current id_hash of the row whose previous ID is
 * previous_hash, or NULL. */
static apr_status_t select_renewed(dbs_txn_t *t, const char *previous_hash,
                                   const char **current)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *values[1];
    int rv;

    *current = NULL;
    values[0] = previous_hash;
    rv = apr_dbd_pselect(t->driver, t->pool, t->handle, &res,
                         t->state->stmt[DBS_STMT_LOAD_PREVIOUS], DBS_BUFFERED,
                         1, values);
    if (rv != 0) {
        dbs_txn_fail(t, rv, "loading the session");
        dbs_store_forget(t);
        return APR_EGENERAL;
    }
    if (apr_dbd_get_row(t->driver, t->pool, res, &row, 1) == 0) {
        const char *v = apr_dbd_get_entry(t->driver, row, 0);

        *current = v ? apr_pstrdup(t->pool, v) : NULL;
        dbs_store_drain(t, res, 2);
    }
    return APR_SUCCESS;
}

/* A row can be renewed again while a request with its previous ID waits
 * for it: then look once more. */
#define RENEWED_LOOKUPS 3

apr_status_t dbs_store_load_renewed(dbs_txn_t *t, const char *id_hash,
                                    dbs_record_t *rec, int *found)
{
    const char *current;
    apr_status_t rv;
    int i;

    for (i = 0; i < RENEWED_LOOKUPS; i++) {
        if ((rv = select_renewed(t, id_hash, &current)) != APR_SUCCESS) {
            return rv;
        }
        if (!current) {
            break;
        }
        if ((rv = lock_and_load(t, current, rec, found)) != APR_SUCCESS) {
            return rv;
        }
        if (*found && strcmp(rec->prev_hash, id_hash) == 0) {
            rec->via_previous = 1;
            return APR_SUCCESS;
        }
        if (*found) {
            unlock_session(t, current);
        }
    }
    *found = 0;
    return APR_SUCCESS;
}

/* The live row of an ID, current or previous. */
static apr_status_t load_session(dbs_txn_t *t, const char *id_hash,
                                 dbs_record_t *rec, int *found)
{
    apr_status_t rv = lock_and_load(t, id_hash, rec, found);

    if (rv != APR_SUCCESS || *found) {
        return rv;
    }
    return dbs_store_load_renewed(t, id_hash, rec, found);
}

apr_status_t dbs_store_load(dbs_txn_t *t, const char *id_hash,
                            dbs_record_t *rec, int *found)
{
    apr_status_t rv = connection_state(t);

    *found = 0;
    return rv == APR_SUCCESS ? load_session(t, id_hash, rec, found) : rv;
}

/* ------------------------------------------------------------------------ */
/* Beginning and ending                                                     */

/* BEGIN, COMMIT or ROLLBACK: prepared where the dialect prepares it, else as
 * a plain statement (also when the prepared one fails: prepared before a
 * schema change, it never ran; a real failure fails again). On failure
 * t's error says what failed, first of all (a full disk, not the plain
 * retry's "no transaction is active"). */
static int run_control(dbs_txn_t *t, dbs_stmt_e which, const char *sql,
                       const char *what)
{
    const char *prepared_error = NULL;
    int rows, rv;

    if (t->state && t->state->stmt[which]) {
        rv = apr_dbd_pquery(t->driver, t->pool, t->handle, &rows,
                            t->state->stmt[which], 0, NULL);
        if (rv == 0) {
            return 0;
        }
        prepared_error = dbs_txn_fail(t, rv, what);
    }
    rv = apr_dbd_query(t->driver, t->handle, &rows, sql);
    if (rv != 0) {
        dbs_txn_fail(t, rv, what);
        if (prepared_error) {
            t->error = apr_pstrcat(t->pool, prepared_error,
                                   " (then as a plain statement: ",
                                   t->error + strlen(what) + 2, ")", NULL);
        }
    }
    return rv;
}

/* The transaction is over (state: how), or its begin failed (NEW). */
static void ended(dbs_txn_t *t, dbs_txn_state_e state)
{
    t->in_txn = 0;
    t->txn_state = state;
    release_locks(t);
    if (t->dialect && t->dialect->ended) {
        t->dialect->ended(t);
    }
}

apr_status_t dbs_store_abort(dbs_txn_t *t, apr_status_t status)
{
    const char *error = t->error;

    dbs_store_end(t, 0);
    t->error = error;
    return status == APR_TIMEUP ? APR_TIMEUP : APR_EGENERAL;
}

static apr_status_t txn_still_there(dbs_txn_t *t)
{
    if (t->in_txn && t->dialect->txn_lost && t->dialect->txn_lost(t)) {
        t->error = apr_psprintf(t->pool,
                                "the connection to %s was re-established: "
                                "the transaction is lost",
                                t->dialect->name);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The transaction is driven with plain statements, not
 * apr_dbd_transaction_start/end: apr-util's pgsql driver dereferences a NULL
 * transaction when BEGIN fails on a broken connection (a crash after a
 * database restart), and its sqlite3 driver retries a busy BEGIN on its own
 * schedule. The other modules' statements on the connection run inside it
 * all the same: the transaction is the server's, not apr_dbd's. */
apr_status_t dbs_store_begin(dbs_txn_t *t, const char *id_hash,
                             dbs_record_t *rec, int *found)
{
    const dbs_dialect_t *d = t->dialect;
    int ignored, *loaded = found ? found : &ignored;
    apr_status_t rv;

    *loaded = 0;
    t->in_txn = t->lock_waited = t->doomed = 0;
    t->txn_state = DBS_TXN_NEW;
    t->error = NULL;
    apr_array_clear(t->held);
    if ((rv = connection_state(t)) != APR_SUCCESS ||
        (rv = set_lock_timeout(t)) != APR_SUCCESS) {
        dbs_store_forget(t);
        return rv;
    }
    if (id_hash && d->begin_and_load) {
        rv = d->begin_and_load(t, id_hash, rec, loaded);
        t->txn_state = rv == APR_SUCCESS ? DBS_TXN_OPEN : DBS_TXN_NEW;
        return rv;
    }
    if (id_hash && d->load_before_begin &&
        (rv = load_session(t, id_hash, rec, loaded)) != APR_SUCCESS) {
        ended(t, DBS_TXN_NEW);
        return rv;
    }
    rv = run_control(t, DBS_STMT_BEGIN, d->begin_sql ? d->begin_sql : "BEGIN",
                     "beginning the transaction");
    if (rv != 0) {
        dbs_store_forget(t);
        ended(t, DBS_TXN_NEW);
        return APR_EGENERAL;
    }
    t->in_txn = 1;
    if (d->began) {
        d->began(t);
    }
    /* BEGIN may have reconnected: then prepare again on the new one. */
    if ((rv = connection_state(t)) != APR_SUCCESS ||
        (id_hash && !d->load_before_begin &&
         (rv = load_session(t, id_hash, rec, loaded)) != APR_SUCCESS) ||
        (rv = txn_still_there(t)) != APR_SUCCESS) {
        rv = dbs_store_abort(t, rv);
        t->txn_state = DBS_TXN_NEW; /* it never began, for the caller */
        return rv;
    }
    t->txn_state = DBS_TXN_OPEN;
    return APR_SUCCESS;
}

apr_status_t dbs_store_end(dbs_txn_t *t, int commit)
{
    /* Nothing began (a failed begin): nothing ends but the locks. */
    int began = t->txn_state == DBS_TXN_OPEN || t->in_txn;
    apr_status_t status = APR_SUCCESS;
    int rows, rv;

    commit = commit && !t->doomed;
    if (commit && txn_still_there(t) != APR_SUCCESS) {
        t->error = apr_pstrcat(t->pool, "commit: ", t->error, NULL);
        ended(t, DBS_TXN_COMMIT_FAILED);
        return APR_EGENERAL;
    }
    if (t->in_txn) {
        rv = run_control(t, commit ? DBS_STMT_COMMIT : DBS_STMT_ROLLBACK,
                         commit ? "COMMIT" : "ROLLBACK",
                         commit ? "commit" : "rollback");
        if (rv != 0) {
            status = APR_EGENERAL;
            if (commit) {
                /* SQLite keeps a transaction open after some failed
                 * commits (SQLITE_BUSY): it must not survive. */
                apr_dbd_query(t->driver, t->handle, &rows, "ROLLBACK");
            }
        }
    }
    ended(t, !began                  ? DBS_TXN_NEW
             : !commit               ? DBS_TXN_ROLLED_BACK
             : status == APR_SUCCESS ? DBS_TXN_COMMITTED
                                     : DBS_TXN_COMMIT_FAILED);
    return status;
}

apr_status_t dbs_store_begin_write(dbs_txn_t *t)
{
    apr_status_t rv;

    if (t->txn_state != DBS_TXN_OPEN || !t->in_txn) {
        t->error = "no transaction is open";
        return APR_EGENERAL;
    }
    if ((rv = connection_state(t)) != APR_SUCCESS) {
        return rv;
    }
    return t->dialect->begin_write ? t->dialect->begin_write(t) : APR_SUCCESS;
}

apr_status_t dbs_store_revive(dbs_txn_t *t)
{
    dbs_store_forget(t);
    return apr_dbd_check_conn(t->driver, t->pool, t->handle) == APR_SUCCESS
               ? APR_SUCCESS
               : APR_EGENERAL;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

/* What each write is doing, for its error. */
static const char *const write_what[DBS_STMT_COUNT] = {
    [DBS_STMT_INSERT] = "storing a new session",
    [DBS_STMT_UPDATE] = "storing the session",
    [DBS_STMT_UPDATE_NEW_ID] = "storing the session under a new ID",
    [DBS_STMT_TOUCH] = "extending the session",
    [DBS_STMT_DELETE] = "deleting the session",
    [DBS_STMT_REVOKE_OTHERS] = "deleting the user's other sessions",
    [DBS_STMT_CLEANUP] = "deleting expired sessions",
};

static apr_status_t run_write(dbs_txn_t *t, dbs_stmt_e which,
                              const char **values, int nvalues, int *nrows)
{
    const dbs_dialect_t *d = t->dialect;
    int rv, rows = 0, attempt;
    apr_status_t status;

    for (attempt = 0;; attempt++) {
        if ((status = connection_state(t)) != APR_SUCCESS ||
            (status = txn_still_there(t)) != APR_SUCCESS ||
            (d->begin_write && (status = d->begin_write(t)) != APR_SUCCESS)) {
            return status;
        }
        rv = apr_dbd_pquery(t->driver, t->pool, t->handle, &rows,
                            t->state->stmt[which], nvalues, values);
        if (rv == 0) {
            break;
        }
        dbs_txn_fail(t, rv, write_what[which]);
        dbs_store_forget(t);
        /* Prepare anew and try once more where the statement never reached
         * the server, so the transaction goes on. Any other failure ends
         * the transaction. */
        if (attempt > 0 || !d->retryable || !d->retryable(t, rv)) {
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

/* A new ID is locked before its row exists, so that a request presenting
 * it before the commit waits and then sees the row. Where the write
 * statement takes the lock itself, *claim is its first parameter. */
static apr_status_t lock_new_id(dbs_txn_t *t, const char *id_hash,
                                const char **claim)
{
    apr_status_t rv = connection_state(t);

    *claim = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return t->dialect->lock_new_id ? t->dialect->lock_new_id(t, id_hash, claim)
                                   : lock_session(t, id_hash);
}

/* The DBS_WRITTEN_COLUMNS of rec into row; returns what follows them. */
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

/* Parameters of a write: a claim of a new ID first, if any. */
#define WRITE_PARAMS 12

apr_status_t dbs_store_insert(dbs_txn_t *t, const char *id_hash,
                              const dbs_record_t *rec, apr_int64_t expires_at)
{
    const char *values[WRITE_PARAMS], **row = values, *claim;
    apr_status_t rv = lock_new_id(t, id_hash, &claim);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (claim) {
        *row++ = claim;
    }
    *row++ = id_hash;
    *row++ = i64(t->pool, rec->created_at);
    row = bind_written(t->pool, row, rec);
    *row++ = i64(t->pool, expires_at);
    return run_write(t, DBS_STMT_INSERT, values, (int)(row - values), NULL);
}

apr_status_t dbs_store_update(dbs_txn_t *t, const char *old_hash,
                              const char *new_hash, const dbs_record_t *rec,
                              apr_int64_t expires_at)
{
    const char *values[WRITE_PARAMS], **row = values, *claim = NULL;
    int new_id = strcmp(old_hash, new_hash) != 0;
    apr_status_t rv;

    if (new_id && (rv = lock_new_id(t, new_hash, &claim)) != APR_SUCCESS) {
        return rv;
    }
    if (claim) {
        *row++ = claim;
    }
    *row++ = new_hash;
    row = bind_written(t->pool, row, rec);
    *row++ = i64(t->pool, expires_at);
    *row++ = old_hash;
    return run_write(t, new_id ? DBS_STMT_UPDATE_NEW_ID : DBS_STMT_UPDATE,
                     values, (int)(row - values), NULL);
}

apr_status_t dbs_store_touch(dbs_txn_t *t, const char *id_hash,
                             apr_int64_t active_at, apr_int64_t expires_at)
{
    const char *values[3];

    values[0] = i64(t->pool, active_at);
    values[1] = i64(t->pool, expires_at);
    values[2] = id_hash;
    return run_write(t, DBS_STMT_TOUCH, values, 3, NULL);
}

apr_status_t dbs_store_delete(dbs_txn_t *t, const char *id_hash)
{
    const char *values[1];

    values[0] = id_hash;
    return run_write(t, DBS_STMT_DELETE, values, 1, NULL);
}

apr_status_t dbs_store_revoke_others(dbs_txn_t *t, const char *user,
                                     const char *keep_hash, int *deleted)
{
    const char *values[2];

    values[0] = user;
    values[1] = keep_hash;
    return run_write(t, DBS_STMT_REVOKE_OTHERS, values, 2, deleted);
}

apr_status_t dbs_store_cleanup(dbs_txn_t *t, apr_int64_t now, int limit,
                               int *deleted)
{
    const char *values[2];

    values[0] = i64(t->pool, now);
    values[1] = apr_itoa(t->pool, limit);
    return run_write(t, DBS_STMT_CLEANUP, values, 2, deleted);
}

apr_status_t dbs_store_cleanup_expired(dbs_txn_t *t, apr_int64_t now, int limit,
                                       int *deleted)
{
    apr_status_t rv;

    *deleted = 0;
    if ((rv = dbs_store_begin(t, NULL, NULL, NULL)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = dbs_store_cleanup(t, now, limit, deleted)) != APR_SUCCESS) {
        return dbs_store_abort(t, rv);
    }
    return dbs_store_end(t, 1);
}
