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

#include "apr_atomic.h"

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
}
