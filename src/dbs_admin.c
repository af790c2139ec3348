/* dbs_admin: see dbs_admin.h. Its statements are the operator's, not the
 * request path's: prepared per command, on the connection of the store's
 * transaction object (dbs_store_private.h). */
#include "dbs_admin.h"
#include "dbs_store_private.h"

#include <string.h>

#include <apr_strings.h>

#define SESSION_COLUMNS "id_hash, user_name, created_at, active_at, expires_at"

/* Run a statement whose %s arguments are bound (never inlined): a select
 * into *res, or a write counting *rows. DBS_TABLE names the table. */
static apr_status_t run(dbs_txn_t *t, const char *sql, int nargs,
                        const char **args, apr_dbd_results_t **res, int *rows)
{
    apr_dbd_prepared_t *stmt = NULL;
    const char *text =
        dbs_store_with_table(t->pool, sql, dbs_store_table(t->store));
    int rv = apr_dbd_prepare(t->driver, t->pool, t->handle, text, NULL, &stmt);

    if (rv == 0) {
        rv = res ? apr_dbd_pselect(t->driver, t->pool, t->handle, res, stmt, 1,
                                   nargs, args)
                 : apr_dbd_pquery(t->driver, t->pool, t->handle, rows, stmt,
                                  nargs, args);
    }
    if (rv != 0) {
        dbs_txn_fail(t, rv, text);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Entry i of a row, never NULL. */
static const char *entry(const dbs_txn_t *t, apr_dbd_row_t *row, int i)
{
    const char *v = apr_dbd_get_entry(t->driver, row, i);

    return apr_pstrdup(t->pool, v ? v : "");
}

static void read_session(const dbs_txn_t *t, apr_dbd_row_t *row,
                         dbs_admin_session_t *s)
{
    memset(s, 0, sizeof(*s));
    apr_cpystrn(s->hash_prefix, entry(t, row, 0), sizeof(s->hash_prefix));
    s->user = entry(t, row, 1);
    s->created_at = apr_atoi64(entry(t, row, 2));
    s->active_at = apr_atoi64(entry(t, row, 3));
    s->expires_at = apr_atoi64(entry(t, row, 4));
}

/* Begin a transaction of the store (a writer's on SQLite). */
static apr_status_t begin(dbs_txn_t *t, int writing)
{
    apr_status_t rv = dbs_store_begin(t, NULL, NULL, NULL);

    if (rv == APR_SUCCESS && writing &&
        (rv = dbs_store_begin_write(t)) != APR_SUCCESS) {
        return dbs_store_abort(t, rv);
    }
    return rv;
}

/* End it: commit when everything went well, else roll back. */
static apr_status_t end(dbs_txn_t *t, apr_status_t status)
{
    return status == APR_SUCCESS ? dbs_store_end(t, 1)
                                 : dbs_store_abort(t, status);
}

apr_status_t dbs_admin_counts(dbs_txn_t *t, apr_int64_t now,
                              dbs_admin_counts_t *out)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *sql = apr_psprintf(
        t->pool,
        "SELECT count(*), "
        "coalesce(sum(CASE WHEN expires_at >= %" APR_INT64_T_FMT
        " THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN expires_at >= %" APR_INT64_T_FMT
        " AND user_name <> '' THEN 1 ELSE 0 END), 0) FROM " DBS_TABLE,
        now, now);
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if ((rv = begin(t, 0)) != APR_SUCCESS) {
        return rv;
    }
    rv = run(t, sql, 0, NULL, &res, NULL);
    if (rv == APR_SUCCESS &&
        apr_dbd_get_row(t->driver, t->pool, res, &row, 1) == 0) {
        out->rows = apr_atoi64(entry(t, row, 0));
        out->live = apr_atoi64(entry(t, row, 1));
        out->with_user = apr_atoi64(entry(t, row, 2));
        out->expired = out->rows - out->live;
    }
    return end(t, rv);
}

apr_status_t dbs_admin_list_user(dbs_txn_t *t, const char *user,
                                 apr_int64_t now, apr_array_header_t **sessions)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *args[2];
    apr_status_t rv;
    int n;

    *sessions = apr_array_make(t->pool, 4, sizeof(dbs_admin_session_t));
    args[0] = user;
    args[1] = apr_psprintf(t->pool, "%" APR_INT64_T_FMT, now);
    if ((rv = begin(t, 0)) != APR_SUCCESS) {
        return rv;
    }
    rv = run(t,
             "SELECT " SESSION_COLUMNS " FROM " DBS_TABLE " WHERE "
             "user_name = %s AND expires_at >= %lld "
             "ORDER BY created_at, id_hash",
             2, args, &res, NULL);
    for (n = 1; rv == APR_SUCCESS &&
                apr_dbd_get_row(t->driver, t->pool, res, &row, n) == 0;
         n++) {
        read_session(t, row, apr_array_push(*sessions));
    }
    return end(t, rv);
}

apr_status_t dbs_admin_revoke_user(dbs_txn_t *t, const char *user, int *deleted)
{
    const char *args[1] = {user};
    apr_status_t rv;

    *deleted = 0;
    if ((rv = begin(t, 1)) != APR_SUCCESS) {
        return rv;
    }
    return end(t, run(t, "DELETE FROM " DBS_TABLE " WHERE user_name = %s", 1,
                      args, NULL, deleted));
}

apr_status_t dbs_admin_revoke_prefix(dbs_txn_t *t, const char *prefix,
                                     int *matched)
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
        t->error = apr_psprintf(t->pool,
                                "a session is named by %d to 64 lowercase hex "
                                "digits of its ID hash",
                                DBS_ADMIN_MIN_PREFIX);
        return APR_EINVAL;
    }
    if ((rv = begin(t, 1)) != APR_SUCCESS) {
        return rv;
    }
    /* Hex digits only: safe inline, and LIKE needs them there. */
    rv = run(t,
             apr_pstrcat(t->pool,
                         "SELECT id_hash FROM " DBS_TABLE " WHERE id_hash LIKE "
                         "'",
                         prefix, "%'", NULL),
             0, NULL, &res, NULL);
    while (rv == APR_SUCCESS &&
           apr_dbd_get_row(t->driver, t->pool, res, &row, *matched + 1) == 0) {
        args[0] = entry(t, row, 0);
        ++*matched;
    }
    if (rv == APR_SUCCESS && *matched == 1) {
        rv = run(t, "DELETE FROM " DBS_TABLE " WHERE id_hash = %s", 1, args,
                 NULL, &deleted);
    }
    return end(t, rv);
}

apr_status_t dbs_admin_find(dbs_txn_t *t, const char *id_hash,
                            dbs_admin_session_t *session, int *found)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *args[2] = {id_hash, id_hash};
    apr_status_t rv;

    *found = 0;
    if ((rv = begin(t, 0)) != APR_SUCCESS) {
        return rv;
    }
    rv = run(t,
             "SELECT " SESSION_COLUMNS " FROM " DBS_TABLE " WHERE id_hash = "
             "%s OR prev_id_hash = %s",
             2, args, &res, NULL);
    if (rv == APR_SUCCESS &&
        apr_dbd_get_row(t->driver, t->pool, res, &row, 1) == 0) {
        read_session(t, row, session);
        session->via_previous = strcmp(entry(t, row, 0), id_hash) != 0;
        *found = 1;
        dbs_store_drain(t, res, 2);
    }
    return end(t, rv);
}
