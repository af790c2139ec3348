/*
 * The C API of mod_dbsession.h: optional functions for other modules,
 * usable from any phase after post_read_request. Writes go through the same
 * operations as the X-DBSession-* response headers (dbs_session_apply), so
 * they are checked, ordered and rolled back alike.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_optional.h"
#include "apr_strings.h"

#include "apr_dbd.h"
#include "mod_dbd.h"
#include "mod_dbsession.h"
#include "mod_dbsession_private.h"

#include "dbs_codec.h"

/* r's session, to read: also after its transaction ended. */
static dbsession_request_t *api_session(request_rec *r)
{
    dbsession_request_t *rs = dbsession_request(r);

    return rs && !rs->failed ? rs : NULL;
}

static apr_status_t api_write(request_rec *r, dbs_op_e op, const char *value)
{
    dbsession_request_t *rs = api_session(r);
    dbs_writes_t *w;
    const char *err;

    if (!rs) {
        return APR_ENOENT;
    }
    if (rs->saved || dbsession_finished(rs)) {
        dbsession_log_late_write(r, "a write through the C API");
        return APR_EGENERAL;
    }
    /* Everything the session keeps lives in the initial request's pool:
     * a subrequest's dies before the session is stored. */
    w = dbs_writes_make(rs->initial->pool);
    APR_ARRAY_PUSH(w->values[op], const char *) =
        apr_pstrdup(rs->initial->pool, value);
    return dbs_session_apply(&rs->session, rs->initial->pool, w,
                             rs->conf.max_size, &err);
}

static apr_status_t dbsession_get(request_rec *r, const char *key,
                                  const char **value)
{
    dbsession_request_t *rs = api_session(r);

    if (!rs) {
        return APR_ENOENT;
    }
    *value = apr_table_get(rs->session.data, key);
    return APR_SUCCESS;
}

static apr_status_t dbsession_set(request_rec *r, const char *key,
                                  const char *value)
{
    if (!dbs_key_is_valid(key)) {
        return APR_EINVAL;
    }
    if (!value) {
        return api_write(r, DBS_OP_UNSET, key);
    }
    return api_write(
        r, DBS_OP_SET,
        apr_pstrcat(r->pool, key, "=", dbs_pct_encode(r->pool, value), NULL));
}

static apr_status_t dbsession_set_user(request_rec *r, const char *user)
{
    return api_write(r, DBS_OP_USER, dbs_pct_encode(r->pool, user ? user : ""));
}

static apr_status_t dbsession_regenerate(request_rec *r)
{
    return api_write(r, DBS_OP_REGENERATE, "1");
}

static apr_status_t dbsession_invalidate(request_rec *r)
{
    return api_write(r, DBS_OP_INVALIDATE, "1");
}

static apr_status_t dbsession_revoke_others(request_rec *r)
{
    return api_write(r, DBS_OP_REVOKE_OTHERS, "1");
}

/* On SQLite this takes the database write lock now, so that the caller's
 * writes join the transaction without SQLite's busy polling. */
static ap_dbd_t *dbsession_dbd(request_rec *r)
{
    dbsession_request_t *rs = api_session(r);

    if (!rs || dbsession_finished(rs)) {
        return NULL;
    }
    if (dbs_store_begin_write(rs->txn) != APR_SUCCESS) {
        COUNT(DB_ERRORS, 1);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      DBSLOGNO(034) "dbsession_dbd: %s",
                      dbs_txn_error(rs->txn));
        return NULL;
    }
    return rs->dbd;
}

void dbsession_api_register(void)
{
    APR_REGISTER_OPTIONAL_FN(dbsession_get);
    APR_REGISTER_OPTIONAL_FN(dbsession_set);
    APR_REGISTER_OPTIONAL_FN(dbsession_set_user);
    APR_REGISTER_OPTIONAL_FN(dbsession_regenerate);
    APR_REGISTER_OPTIONAL_FN(dbsession_invalidate);
    APR_REGISTER_OPTIONAL_FN(dbsession_revoke_others);
    APR_REGISTER_OPTIONAL_FN(dbsession_dbd);
}
