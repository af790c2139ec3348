/* dbs_admin: see dbs_admin.h. */
#include "dbs_admin.h"

#include <string.h>

#include <apr_strings.h>

/* An operator's command waits this long for a session a request holds. */
#define ADMIN_LOCK_TIMEOUT 10

#define SESSION_COLUMNS "id_hash, user_name, created_at, active_at, expires_at"

/* Run a statement whose %s arguments are bound (never inlined): a select
 * into *res, or a write counting *rows. */
static apr_status_t run(dbs_conn_t *c, apr_pool_t *pool, const char *sql,
                        int nargs, const char **args, apr_dbd_results_t **res,
                        int *rows, const char **err)
{
    apr_dbd_prepared_t *stmt = NULL;
    int rv = apr_dbd_prepare(c->driver, pool, c->handle, sql, NULL, &stmt);

    if (rv == 0) {
        rv = res ? apr_dbd_pselect(c->driver, pool, c->handle, res, stmt, 1,
                                   nargs, args)
                 : apr_dbd_pquery(c->driver, pool, c->handle, rows, stmt, nargs,
                                  args);
    }
    if (rv != 0) {
        *err = dbs_store_error(pool, c, rv, sql);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Entry i of a row, never NULL. */
static const char *entry(const dbs_conn_t *c, apr_pool_t *pool,
                         apr_dbd_row_t *row, int i)
{
    const char *v = apr_dbd_get_entry(c->driver, row, i);

    return apr_pstrdup(pool, v ? v : "");
}

static void read_session(const dbs_conn_t *c, apr_pool_t *pool,
                         apr_dbd_row_t *row, dbs_admin_session_t *s)
{
    memset(s, 0, sizeof(*s));
    apr_cpystrn(s->hash_prefix, entry(c, pool, row, 0), sizeof(s->hash_prefix));
    s->user = entry(c, pool, row, 1);
    s->created_at = apr_atoi64(entry(c, pool, row, 2));
    s->active_at = apr_atoi64(entry(c, pool, row, 3));
    s->expires_at = apr_atoi64(entry(c, pool, row, 4));
}

/* Begin a transaction of the store (a writer's on SQLite). */
static apr_status_t begin(const dbs_store_t *st, dbs_conn_t *c,
                          apr_pool_t *pool, int writing, const char **err)
{
    dbs_fail_e fail;

    if (dbs_store_begin(st, c, pool, ADMIN_LOCK_TIMEOUT, NULL, NULL, NULL,
                        &fail, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (writing &&
        dbs_store_begin_write(st, c, pool, &fail, err) != APR_SUCCESS) {
        const char *ignored;

        dbs_store_end(c, pool, 0, &ignored);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* End it: commit when everything went well, else roll back. */
static apr_status_t end(dbs_conn_t *c, apr_pool_t *pool, apr_status_t status,
                        const char **err)
{
    const char *ignored;

    if (status != APR_SUCCESS) {
        dbs_store_end(c, pool, 0, &ignored);
        return status;
    }
    return dbs_store_end(c, pool, 1, err);
}

apr_status_t dbs_admin_counts(const dbs_store_t *st, dbs_conn_t *c,
                              apr_pool_t *pool, const char *table,
                              apr_int64_t now, dbs_admin_counts_t *out,
                              const char **err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *sql =
        apr_psprintf(pool,
                     "SELECT count(*), "
                     "coalesce(sum(CASE WHEN expires_at >= %" APR_INT64_T_FMT
                     " THEN 1 ELSE 0 END), 0), "
                     "coalesce(sum(CASE WHEN expires_at >= %" APR_INT64_T_FMT
                     " AND user_name <> '' THEN 1 ELSE 0 END), 0) FROM %s",
                     now, now, table);
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (begin(st, c, pool, 0, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = run(c, pool, sql, 0, NULL, &res, NULL, err);
    if (rv == APR_SUCCESS &&
        apr_dbd_get_row(c->driver, pool, res, &row, 1) == 0) {
        out->rows = apr_atoi64(entry(c, pool, row, 0));
        out->live = apr_atoi64(entry(c, pool, row, 1));
        out->with_user = apr_atoi64(entry(c, pool, row, 2));
        out->expired = out->rows - out->live;
    }
    return end(c, pool, rv, err);
}

apr_status_t dbs_admin_list_user(const dbs_store_t *st, dbs_conn_t *c,
                                 apr_pool_t *pool, const char *table,
                                 const char *user, apr_int64_t now,
                                 apr_array_header_t **sessions,
                                 const char **err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *args[2];
    const char *sql = apr_psprintf(pool,
                                   "SELECT " SESSION_COLUMNS " FROM %s WHERE "
                                   "user_name = %%s AND expires_at >= %%lld "
                                   "ORDER BY created_at, id_hash",
                                   table);
    apr_status_t rv;
    int n;

    *sessions = apr_array_make(pool, 4, sizeof(dbs_admin_session_t));
    args[0] = user;
    args[1] = apr_psprintf(pool, "%" APR_INT64_T_FMT, now);
    if (begin(st, c, pool, 0, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = run(c, pool, sql, 2, args, &res, NULL, err);
    for (n = 1; rv == APR_SUCCESS &&
                apr_dbd_get_row(c->driver, pool, res, &row, n) == 0;
         n++) {
        read_session(c, pool, row, apr_array_push(*sessions));
    }
    return end(c, pool, rv, err);
}

apr_status_t dbs_admin_revoke_user(const dbs_store_t *st, dbs_conn_t *c,
                                   apr_pool_t *pool, const char *table,
                                   const char *user, int *deleted,
                                   const char **err)
{
    const char *args[1] = {user};

    *deleted = 0;
    if (begin(st, c, pool, 1, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return end(
        c, pool,
        run(c, pool,
            apr_psprintf(pool, "DELETE FROM %s WHERE user_name = %%s", table),
            1, args, NULL, deleted, err),
        err);
}

apr_status_t dbs_admin_revoke_prefix(const dbs_store_t *st, dbs_conn_t *c,
                                     apr_pool_t *pool, const char *table,
                                     const char *prefix, int *matched,
                                     const char **err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *args[1];
    size_t len = strlen(prefix);
    apr_status_t rv;
    int deleted;

    *matched = 0;
    if (len < DBS_ADMIN_MIN_PREFIX || len > 64 ||
        strspn(prefix, "0123456789abcdef") != len) {
        *err = apr_psprintf(pool,
                            "a session is named by %d to 64 lowercase hex "
                            "digits of its ID hash",
                            DBS_ADMIN_MIN_PREFIX);
        return APR_EINVAL;
    }
    if (begin(st, c, pool, 1, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* Hex digits only: safe inline, and LIKE needs them there. */
    rv = run(c, pool,
             apr_psprintf(pool,
                          "SELECT id_hash FROM %s WHERE id_hash LIKE "
                          "'%s%%'",
                          table, prefix),
             0, NULL, &res, NULL, err);
    while (rv == APR_SUCCESS &&
           apr_dbd_get_row(c->driver, pool, res, &row, *matched + 1) == 0) {
        args[0] = entry(c, pool, row, 0);
        ++*matched;
    }
    if (rv == APR_SUCCESS && *matched == 1) {
        rv =
            run(c, pool,
                apr_psprintf(pool, "DELETE FROM %s WHERE id_hash = %%s", table),
                1, args, NULL, &deleted, err);
    }
    return end(c, pool, rv, err);
}

apr_status_t dbs_admin_find(const dbs_store_t *st, dbs_conn_t *c,
                            apr_pool_t *pool, const char *table,
                            const char *id_hash, dbs_admin_session_t *session,
                            int *found, const char **err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *args[2] = {id_hash, id_hash};
    apr_status_t rv;

    *found = 0;
    if (begin(st, c, pool, 0, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = run(c, pool,
             apr_psprintf(pool,
                          "SELECT " SESSION_COLUMNS " FROM %s WHERE id_hash = "
                          "%%s OR prev_id_hash = %%s",
                          table),
             2, args, &res, NULL, err);
    if (rv == APR_SUCCESS &&
        apr_dbd_get_row(c->driver, pool, res, &row, 1) == 0) {
        int n = 2;

        read_session(c, pool, row, session);
        session->via_previous = strcmp(entry(c, pool, row, 0), id_hash) != 0;
        *found = 1;
        while (apr_dbd_get_row(c->driver, pool, res, &row, n++) == 0) {
        }
    }
    return end(c, pool, rv, err);
}
