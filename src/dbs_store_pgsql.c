/*
 * dbs_store's PostgreSQL dialect.
 *
 * A session is locked by a transaction-level advisory lock on its ID (the
 * first 60 bits of its hash), taken before its row is read: a row lock
 * would write the tuple on every read, and would not wait for a row that
 * another transaction is still inserting. A new ID is locked by the very
 * statement that writes it, and a locked read is one round trip with BEGIN.
 */
#include "dbs_store_private.h"

#include <apr_strings.h>

/* Take the advisory lock of a new ID before the statement that follows
 * writes it (one round trip): the lock's key is the first parameter. */
#define CLAIM_CTE                                                              \
    "WITH claimed AS (SELECT 1 FROM (SELECT pg_advisory_xact_lock(%lld)) AS "  \
    "l) "
/* The advisory lock key of a session, as claim_key() computes it in C. */
#define CLAIM_KEY_SQL "('x' || substr(id_hash, 1, 15))::bit(60)::bigint"

/* The advisory key of an ID hash: its first 60 bits, positive. */
static const char *claim_key(apr_pool_t *pool, const char *id_hash)
{
    return apr_psprintf(
        pool, "%" APR_INT64_T_FMT,
        apr_strtoi64(apr_pstrndup(pool, id_hash, 15), NULL, 16));
}

/* The server's 0 means "forever": "do not wait" is 1 ms. */
static const char *pgsql_lock_timeout_sql(apr_pool_t *pool, apr_int64_t seconds)
{
    return apr_psprintf(pool, "SET lock_timeout = %" APR_INT64_T_FMT,
                        seconds > 0 ? seconds * 1000 : 1);
}

static apr_status_t pgsql_lock_session(dbs_txn_t *t, const char *id_hash)
{
    apr_time_t start = apr_time_now();
    apr_dbd_results_t *res = NULL;
    const char *values[1];
    int rv;

    values[0] = claim_key(t->pool, id_hash);
    rv = apr_dbd_pselect(t->driver, t->pool, t->handle, &res,
                         t->state->stmt[DBS_STMT_CLAIM], DBS_BUFFERED, 1,
                         values);
    if (rv != 0) {
        int timed_out;

        dbs_txn_fail(t, rv, "waiting for the session");
        timed_out = dbs_store_timed_out_by_clock(t, start);
        dbs_store_forget(t);
        return timed_out ? APR_TIMEUP : APR_EGENERAL;
    }
    dbs_store_drain(t, res, 1);
    dbs_store_hold(t, dbs_lock_key(id_hash), NULL);
    return APR_SUCCESS;
}

static apr_status_t pgsql_lock_new_id(dbs_txn_t *t, const char *id_hash,
                                      const char **claim)
{
    *claim = claim_key(t->pool, id_hash);
    dbs_store_hold(t, dbs_lock_key(id_hash), NULL);
    return APR_SUCCESS;
}

static apr_status_t pgsql_begin_and_load(dbs_txn_t *t, const char *id_hash,
                                         dbs_record_t *rec, int *found)
{
    /* One round trip: BEGIN and the two prepared statements (apr_dbd names
     * them on the server after their labels), planned once per connection.
     * id_hash is our own hex digest: safe to quote inline. The lock comes
     * before the SELECT, whose snapshot then sees the last holder's commit
     * (READ COMMITTED takes one per statement). */
    const char *sql =
        apr_pstrcat(t->pool, "BEGIN; EXECUTE ", t->state->label[DBS_STMT_CLAIM],
                    "(", claim_key(t->pool, id_hash), "); EXECUTE ",
                    t->state->label[DBS_STMT_LOAD], "('", id_hash, "')", NULL);
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    t->in_txn = 1; /* if BEGIN went through, ROLLBACK ends it */
    rv = dbs_store_select_row(t, id_hash, sql, rec, found);
    dbs_store_note_lock_wait(t, start);
    if (rv != APR_SUCCESS) {
        return dbs_store_abort(t, rv);
    }
    dbs_store_hold(t, dbs_lock_key(id_hash), NULL);
    if (!*found &&
        (rv = dbs_store_load_renewed(t, id_hash, rec, found)) != APR_SUCCESS) {
        return dbs_store_abort(t, rv);
    }
    return APR_SUCCESS;
}

const dbs_dialect_t dbs_dialect_pgsql = {
    .name = "pgsql",
    .sql =
        {
            [DBS_STMT_CLAIM] = "SELECT pg_advisory_xact_lock(%lld)",
            [DBS_STMT_INSERT] =
                CLAIM_CTE "INSERT INTO " DBS_TABLE
                          " (id_hash, created_at, " DBS_WRITTEN_COLUMNS
                          ", expires_at) SELECT %s, %lld, " DBS_WRITTEN_VALUES
                          ", %lld FROM claimed",
            [DBS_STMT_UPDATE_NEW_ID] = CLAIM_CTE
            "UPDATE " DBS_TABLE " SET id_hash = %s, " DBS_WRITTEN_SET
            ", expires_at = %lld FROM claimed WHERE id_hash = %s",
            /* Never a session that a request holds. */
            [DBS_STMT_CLEANUP] =
                "DELETE FROM " DBS_TABLE " WHERE id_hash IN (SELECT id_hash "
                "FROM " DBS_TABLE " WHERE expires_at < %lld AND "
                "pg_try_advisory_xact_lock(" CLAIM_KEY_SQL ") LIMIT %d)",
        },
    .server_locks = 1,
    .lock_timeout_sql = pgsql_lock_timeout_sql,
    .begin_and_load = pgsql_begin_and_load,
    .lock_session = pgsql_lock_session,
    .lock_new_id = pgsql_lock_new_id,
    .lock_timed_out = dbs_store_timed_out_by_clock,
};
