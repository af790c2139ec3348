/*
 * Lending the session's mod_dbd connection to the request's other modules.
 *
 * mod_dbd keeps the connection of ap_dbd_acquire(r) in its request_config
 * (with threads as {connection, reslist}, without as the connection), and
 * registers its release only when it makes the entry itself. We make the
 * entry for the request_recs of a session, so that other modules'
 * ap_dbd_acquire() returns the session's connection (their writes join its
 * transaction), and remove it when we give the connection back at the end
 * of the transaction; a later ap_dbd_acquire() then takes a fresh one.
 *
 * The entry copies a structure private to mod_dbd: the first lending in
 * each process checks that ap_dbd_acquire() really returns the lent
 * connection. If a future httpd changes the entry, the check logs it once
 * and the module stops lending (other modules then work on connections of
 * their own, outside the session's transaction) instead of failing
 * silently.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "ap_mpm.h"
#include "apr_atomic.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"

#include "apr_dbd.h"
#include "mod_dbd.h"
#include "mod_dbsession_private.h"

#if APR_HAS_THREADS
typedef struct {
    ap_dbd_t *conn;
    void *reslist; /* NULL: mod_dbd never releases it */
} dbsession_dbd_entry_t;

static void *dbd_entry(request_rec *r, ap_dbd_t *conn)
{
    dbsession_dbd_entry_t *entry = apr_pcalloc(r->pool, sizeof(*entry));

    entry->conn = conn;
    return entry;
}
#else
static void *dbd_entry(request_rec *r, ap_dbd_t *conn)
{
    return conn;
}
#endif

/* What the self-check found in this process. */
enum { LENDING_UNCHECKED = 0, LENDING_WORKS, LENDING_BROKEN };
static volatile apr_uint32_t lending = LENDING_UNCHECKED;

/* The first lending of the process: does mod_dbd see our entry? */
static int lending_works(dbsession_request_t *rs, request_rec *r)
{
    apr_uint32_t known = apr_atomic_read32(&lending);
    ap_dbd_t *seen;

    if (known != LENDING_UNCHECKED) {
        return known == LENDING_WORKS;
    }
    seen = dbsession_mod_dbd.acquire(r);
    if (seen == rs->dbd) {
        apr_atomic_set32(&lending, LENDING_WORKS);
        return 1;
    }
    apr_atomic_set32(&lending, LENDING_BROKEN);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  DBSLOGNO(035) "mod_dbd does not return the session's "
                                "connection to other modules (its private "
                                "request entry changed in this httpd): their "
                                "ap_dbd_acquire() writes are NOT in the "
                                "session's transaction");
    return 0;
}

static apr_status_t forget_lent(void *data)
{
    request_rec *r = data;
    dbsession_request_t *rs = dbsession_request(r);
    int i;

    for (i = 0; rs && i < rs->lent->nelts; i++) {
        if (APR_ARRAY_IDX(rs->lent, i, request_rec *) == r) {
            APR_ARRAY_IDX(rs->lent, i, request_rec *) = NULL;
        }
    }
    return APR_SUCCESS;
}

void dbsession_dbd_lend(dbsession_request_t *rs, request_rec *r)
{
    void *entry;
    int i;

    if (!rs->owns_dbd || apr_atomic_read32(&lending) == LENDING_BROKEN ||
        ap_get_module_config(r->request_config, dbsession_mod_dbd.module)) {
        return;
    }
    for (i = 0; i < rs->lent->nelts; i++) {
        if (APR_ARRAY_IDX(rs->lent, i, request_rec *) == r) {
            return;
        }
    }
    entry = dbd_entry(r, rs->dbd);
    ap_set_module_config(r->request_config, dbsession_mod_dbd.module, entry);
    if (!lending_works(rs, r)) {
        /* Take ours back; an entry mod_dbd made of its own keeps its
         * connection and releases it with the request. */
        if (ap_get_module_config(r->request_config, dbsession_mod_dbd.module) ==
            entry) {
            ap_set_module_config(r->request_config, dbsession_mod_dbd.module,
                                 NULL);
        }
        return;
    }
    APR_ARRAY_PUSH(rs->lent, request_rec *) = r;
    if (r->pool != rs->initial->pool) {
        /* A subrequest can die first. */
        apr_pool_cleanup_register(r->pool, r, forget_lent,
                                  apr_pool_cleanup_null);
    }
}

/* mod_dbd keeps at most DBDMax connections per child and waits for a free
 * one without any deadline. The gate counts the connections this child's
 * sessions hold, so that a session waits for one of them within
 * DBSessionLockTimeout and then answers 503, instead of hanging (other
 * modules' own connections from the same pool are not counted). */
typedef struct dbsession_gate_t {
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *freed;
    int in_use;
    int max;
} dbsession_gate_t;

void dbsession_dbd_child_init(apr_pool_t *pchild, server_rec *main_server)
{
#if APR_HAS_THREADS
    server_rec *s;
    int threaded = 0;

    if (ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) != APR_SUCCESS ||
        threaded == AP_MPMQ_NOT_SUPPORTED) {
        return;
    }
    for (s = main_server; s; s = s->next) {
        dbsession_server_conf_t *sconf =
            ap_get_module_config(s->module_config, &dbsession_module);
        dbsession_gate_t *gate;

        if (!sconf->enabled_at || sconf->dbd_max <= 0 || sconf->gate) {
            continue;
        }
        gate = apr_pcalloc(pchild, sizeof(*gate));
        gate->max = sconf->dbd_max;
        if (apr_thread_mutex_create(&gate->mutex, APR_THREAD_MUTEX_DEFAULT,
                                    pchild) != APR_SUCCESS ||
            apr_thread_cond_create(&gate->freed, pchild) != APR_SUCCESS) {
            continue; /* then mod_dbd's own wait, as without the gate */
        }
        sconf->gate = gate;
    }
#endif
}

/* A place among the gate's max, waiting until deadline (0: not at all). */
static apr_status_t gate_enter(dbsession_gate_t *gate, apr_time_t deadline)
{
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(gate->mutex);
    while (gate->in_use >= gate->max && rv == APR_SUCCESS) {
        apr_time_t left = deadline - apr_time_now();

        rv = left > 0
                 ? apr_thread_cond_timedwait(gate->freed, gate->mutex, left)
                 : APR_TIMEUP;
        if (rv == APR_TIMEUP && gate->in_use < gate->max) {
            rv = APR_SUCCESS; /* freed just as the wait ran out */
        }
    }
    if (rv == APR_SUCCESS) {
        gate->in_use++;
    }
    apr_thread_mutex_unlock(gate->mutex);
    return rv == APR_SUCCESS ? APR_SUCCESS : APR_TIMEUP;
}

static void gate_leave(dbsession_gate_t *gate)
{
    apr_thread_mutex_lock(gate->mutex);
    gate->in_use--;
    apr_thread_cond_signal(gate->freed);
    apr_thread_mutex_unlock(gate->mutex);
}

apr_status_t dbsession_dbd_take(dbsession_request_t *rs,
                                apr_int64_t lock_timeout)
{
    dbsession_gate_t *gate = rs->sconf->gate;
    apr_time_t deadline =
        lock_timeout > 0 ? apr_time_now() + apr_time_from_sec(lock_timeout) : 0;

    if (gate && gate_enter(gate, deadline) != APR_SUCCESS) {
        return APR_TIMEUP;
    }
    rs->dbd = dbsession_mod_dbd.open(rs->initial->pool, rs->initial->server);
    rs->owns_dbd = rs->dbd != NULL;
    rs->gated = gate && rs->dbd;
    if (gate && !rs->dbd) {
        gate_leave(gate);
    }
    return rs->dbd ? APR_SUCCESS : APR_EGENERAL;
}

void dbsession_dbd_give_back(dbsession_request_t *rs)
{
    int i;

    if (!rs->owns_dbd || !rs->dbd) {
        rs->dbd = NULL;
        return;
    }
    for (i = 0; i < rs->lent->nelts; i++) {
        request_rec *r = APR_ARRAY_IDX(rs->lent, i, request_rec *);

        if (r) {
            ap_set_module_config(r->request_config, dbsession_mod_dbd.module,
                                 NULL);
        }
    }
    apr_array_clear(rs->lent);
    dbsession_mod_dbd.close(rs->initial->server, rs->dbd);
    rs->dbd = NULL;
    rs->owns_dbd = 0;
    if (rs->gated) {
        rs->gated = 0;
        gate_leave(rs->sconf->gate);
    }
}
