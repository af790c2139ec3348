/*
 * dbs_store's MySQL/MariaDB dialect.
 *
 * A session is locked by its row (SELECT ... FOR UPDATE) in READ COMMITTED,
 * so that a lookup of a missing ID takes no gap lock that would block other
 * sessions' inserts. apr_dbd's mysql driver reconnects by itself
 * (reconnect=1) and then says nothing: the server's id of the connection
 * tells, and a transaction that lost its connection is never committed.
 */
#include "dbs_store_private.h"

#include <dlfcn.h>
#include <pthread.h>

#include <apr_strings.h>

/* What apr_dbd does not expose, from the client library apr-util's driver
 * loaded (RTLD_GLOBAL): resolved once per process, on the first connection
 * (the library is loaded by then). */
typedef unsigned long (*thread_id_fn)(void *mysql);
typedef unsigned int (*errno_fn)(void *mysql);
static thread_id_fn mysql_thread_id;
static errno_fn mysql_errno;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void resolve_client_functions(void)
{
    mysql_thread_id = (thread_id_fn)dlsym(RTLD_DEFAULT, "mysql_thread_id");
    mysql_errno = (errno_fn)dlsym(RTLD_DEFAULT, "mysql_errno");
}

/* The server's id of the connection: a new one means the prepared
 * statements and session settings are gone, and so is any transaction that
 * was open. 0 when it cannot be asked. Kept per connection (state->native)
 * and per transaction (t->native, at BEGIN). */
typedef struct {
    unsigned long id;
} server_thread_t;

static unsigned long server_thread(const dbs_txn_t *t)
{
    return mysql_thread_id ? mysql_thread_id(dbs_store_native(t)) : 0;
}

static server_thread_t *new_thread_record(apr_pool_t *pool, unsigned long id)
{
    server_thread_t *thread = apr_palloc(pool, sizeof(*thread));

    thread->id = id;
    return thread;
}

static apr_status_t mysql_connect(dbs_txn_t *t, dbs_conn_state_t *state)
{
    int rows, rv;

    pthread_once(&resolved, resolve_client_functions);
    rv = apr_dbd_query(t->driver, t->handle, &rows,
                       "SET SESSION TRANSACTION ISOLATION LEVEL "
                       "READ COMMITTED");
    if (rv != 0) {
        dbs_txn_fail(t, rv, "setting the isolation level");
        return APR_EGENERAL;
    }
    state->native = new_thread_record(t->conn_pool, server_thread(t));
    return APR_SUCCESS;
}

static int mysql_reconnected(const dbs_txn_t *t, const dbs_conn_state_t *state)
{
    return ((const server_thread_t *)state->native)->id != server_thread(t);
}

static void mysql_began(dbs_txn_t *t)
{
    t->native = new_thread_record(t->pool, server_thread(t));
}

static int mysql_txn_lost(const dbs_txn_t *t)
{
    const server_thread_t *at_begin = t->native;

    return at_begin && at_begin->id && at_begin->id != server_thread(t);
}

/* InnoDB counts whole seconds and needs at least 1; 0 reads with NOWAIT
 * instead. */
static const char *mysql_lock_timeout_sql(apr_pool_t *pool, apr_int64_t seconds)
{
    return apr_psprintf(pool,
                        "SET SESSION innodb_lock_wait_timeout = "
                        "%" APR_INT64_T_FMT,
                        seconds > 0 ? seconds : 1);
}

/* apr_dbd reports a failed prepared statement with the connection's
 * message, which is empty when the statement handle was dead on the client
 * side (prepared before a reconnect that got the same server id, as after
 * a server restart): then it never reached the server. */
static int mysql_retryable(const dbs_txn_t *t, int rv)
{
    return mysql_errno && mysql_errno(dbs_store_native(t)) == 0;
}

static void mysql_ended(dbs_txn_t *t)
{
    t->native = NULL;
}

const dbs_dialect_t dbs_dialect_mysql = {
    .name = "mysql",
    .sql =
        {
            [DBS_STMT_LOAD] = "SELECT " DBS_COLUMNS " FROM " DBS_TABLE
                              " WHERE id_hash = %s FOR UPDATE",
            /* DBSessionLockTimeout 0: InnoDB waits at least a second. */
            [DBS_STMT_LOAD_NOWAIT] = "SELECT " DBS_COLUMNS " FROM " DBS_TABLE
                                     " WHERE id_hash = %s FOR UPDATE NOWAIT",
            /* No LIMIT in a subquery of IN, but in a derived table; never
             * a session that a request holds (its row is locked): the
             * derived table skips those, and STRAIGHT_JOIN makes the
             * delete go by it (a scan of the table would wait for them). */
            [DBS_STMT_CLEANUP] =
                "DELETE s FROM (SELECT id_hash FROM " DBS_TABLE
                " WHERE expires_at < %lld LIMIT %d FOR UPDATE SKIP LOCKED) "
                "AS expired STRAIGHT_JOIN " DBS_TABLE
                " AS s ON s.id_hash = expired.id_hash",
        },
    .begin_sql = "START TRANSACTION",
    .server_locks = 1,
    .connect = mysql_connect,
    .reconnected = mysql_reconnected,
    .lock_timeout_sql = mysql_lock_timeout_sql,
    .began = mysql_began,
    .txn_lost = mysql_txn_lost,
    .retryable = mysql_retryable,
    .lock_timed_out = dbs_store_timed_out_by_clock,
    .ended = mysql_ended,
};
