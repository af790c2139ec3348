/*
 * mod_dbsession: server-side sessions in SQL, one transaction per request.
 *
 * This file is the httpd glue as the life of a request, hook by hook (the
 * one list of them is dbsession_register_hooks, at the end):
 *
 *   check_config     cross-directive checks       mod_dbsession_config.c
 *   post_config      resolve configs, make stores mod_dbsession_config.c
 *   post_read_request  drop client headers that pose as the session
 *   header_parser    open: receive the request body (mod_dbsession_body.c),
 *                    take a pooled mod_dbd connection, begin the
 *                    transaction, lock and load the session, expose it
 *   check_authn      AuthType DBSession: the session's user is the user
 *   fixups           DBSessionCSRFCheck           mod_dbsession_csrf.c
 *   output filter    when the handler's first data (or the end of a
 *                    response without a body) comes, before any content
 *                    filter and before the headers go out: apply the
 *                    X-DBSession-* writes, store them, decide the cookie,
 *                    commit or roll back by the final status and give the
 *                    connection back; a subrequest's writes are applied
 *                    before that, refused (and logged) after
 *   handler          dbsession-status             mod_dbsession_status.c
 *   log_transaction  a fallback end for a response that never reached the
 *                    filter's end; the expired-row cleanup
 *
 * Beside them: lending the connection to other modules
 * (mod_dbsession_dbd.c), a connection filter for interim responses
 * (mod_dbsession_interim.c) and the C API (mod_dbsession_api.c). Everything
 * that needs no httpd (crypto, encoding, policy, SQL, cookies) is in src/. The
 * README documents the contract (directives, variables, headers,
 * guarantees) for users.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "util_filter.h"

#include "apr_atomic.h"
#include "apr_dbd.h"
#include "apr_optional.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "mod_dbd.h"
#include "mod_dbsession.h"
/* The module record is defined here (AP_DECLARE_MODULE, at the end). */
#define DBSESSION_DECLARES_MODULE
#include "mod_dbsession_private.h"

#include "dbs_codec.h"
#include "dbs_config.h"
#include "dbs_cookie.h"
#include "dbs_crypto.h"
#include "dbs_csrf.h"
#include "dbs_session.h"
#include "dbs_store.h"

#define FILTER_NAME        "DBSESSION"
#define SUBREQ_FILTER_NAME "DBSESSION_SUBREQ"
/* Our output filters come before every content filter (mod_include's,
 * mod_deflate's...): they see the handler's first data. */
#define DBSESSION_FTYPE (AP_FTYPE_RESOURCE - 1)
#define RETRY_AFTER     DBSESSION_RETRY_AFTER
#define CLEANUP_BATCH   500

/* ------------------------------------------------------------------------ */
/* The request's session                                                    */

/* The one place a transaction object is made from a mod_dbd connection. */
static dbs_txn_t *dbsession_txn(apr_pool_t *pool,
                                const dbsession_server_conf_t *sconf,
                                const ap_dbd_t *dbd, apr_int64_t lock_timeout)
{
    return dbs_txn_make(pool, sconf->store, dbd->driver, dbd->handle, dbd->pool,
                        lock_timeout);
}

request_rec *dbsession_initial_request(request_rec *r)
{
    for (;;) {
        if (r->main) {
            r = r->main;
        }
        else if (r->prev) {
            r = r->prev;
        }
        else {
            return r;
        }
    }
}

dbsession_request_t *dbsession_request(request_rec *r)
{
    return ap_get_module_config(dbsession_initial_request(r)->request_config,
                                &dbsession_module);
}

int dbsession_finished(const dbsession_request_t *rs)
{
    return rs->dbd == NULL;
}

/* End the transaction (commit or roll back) and give the connection back.
 * APR_SUCCESS unless a commit failed. */
static apr_status_t finish(dbsession_request_t *rs, int commit)
{
    const char *err = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (rs->txn && dbs_txn_is_open(rs->txn)) {
        TIMED(rs, rv = dbs_store_end(rs->txn, commit));
        err = dbs_txn_error(rs->txn);
        dbs_stats_db_time(dbsession_stats, rs->db_time);
        if (commit && rv == APR_SUCCESS) {
            COUNT(COMMITTED, 1);
        }
        else {
            COUNT(ROLLED_BACK, 1);
        }
        if (rv != APR_SUCCESS) {
            COUNT(DB_ERRORS, 1);
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, rs->initial,
                DBSLOGNO(010) "%s of the session transaction failed: %s",
                commit ? "commit" : "rollback", err);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, rs->initial,
                          DBSLOGNO(060) "session transaction %s",
                          commit ? "committed" : "rolled back");
        }
    }
    dbsession_dbd_give_back(rs);
    return commit ? rv : APR_SUCCESS;
}

/* The pooled connection must never go back to mod_dbd with an open
 * transaction, nor stay out of its pool. */
static apr_status_t rollback_if_open(void *data)
{
    finish(data, 0);
    return APR_SUCCESS;
}

/* One log line per request, however many cookies were refused; a notice
 * for cookies of a key this server no longer (or never) held: dropping a
 * key too early logs users out. */
static void log_rejected_cookies(request_rec *r, const dbs_cookie_walk_t *walk)
{
    if (walk->unknown_key) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      DBSLOGNO(021) "%d cookie%s sealed with a key this "
                                    "server does not hold (a dropped or "
                                    "foreign key)",
                      walk->unknown_key, walk->unknown_key == 1 ? "" : "s");
    }
    if (walk->rejected) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      DBSLOGNO(020) "rejected %d cookie%s that did not open "
                                    "(fingerprint of the first %s)",
                      walk->rejected, walk->rejected == 1 ? "" : "s",
                      walk->first_rejected);
    }
}

static int push_header_value(void *values, const char *key, const char *value)
{
    APR_ARRAY_PUSH((apr_array_header_t *)values, const char *) = value;
    return 1;
}

/* The request's cookies of our name, walked by the core; the log and the
 * counter say what was refused. */
static void read_cookies(request_rec *r, dbsession_request_t *rs,
                         dbs_cookie_walk_t *walk)
{
    apr_array_header_t *headers =
        apr_array_make(r->pool, 1, sizeof(const char *));

    apr_table_do(push_header_value, headers, r->headers_in, "Cookie", NULL);
    dbs_cookie_walk(walk, r->pool, headers, rs->conf.cookie_name,
                    rs->sconf->resolved.keys, rs->sconf->resolved.cipher);
    log_rejected_cookies(r, walk);
    COUNT(COOKIES_REJECTED, walk->rejected);
}

/* A database failure rv (APR_TIMEUP: a lock wait ran out) answers 503. */
static int fail_unavailable(request_rec *r, dbsession_request_t *rs,
                            apr_status_t rv, const char *err)
{
    rs->failed = 1;
    apr_table_setn(r->err_headers_out, "Retry-After", RETRY_AFTER);
    if (rv == APR_TIMEUP) {
        COUNT(LOCK_TIMEOUTS, 1);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      DBSLOGNO(031) "session busy for longer than "
                                    "DBSessionLockTimeout (%" APR_INT64_T_FMT
                                    "s): 503",
                      rs->conf.lock_timeout);
    }
    else {
        COUNT(DB_ERRORS, 1);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      DBSLOGNO(030) "session database unavailable: %s: 503",
                      err ? err : "no connection from mod_dbd");
    }
    return HTTP_SERVICE_UNAVAILABLE;
}

/* Begin the transaction and load the cookie's session in it. On failure
 * nothing is left open. */
static apr_status_t begin_and_load(request_rec *r, dbsession_request_t *rs)
{
    dbs_cookie_walk_t walk;
    const char *retried = NULL;
    apr_status_t rv;

    read_cookies(r, rs, &walk);
    dbs_session_init(&rs->session, rs->initial->pool);
    TIMED(rs, rv = dbs_session_open(rs->txn, &rs->session, walk.ids,
                                    &rs->policy, rs->now, &retried));
    COUNT(LOCK_WAITS, dbs_txn_lock_waited(rs->txn));
    if (retried) {
        /* A pooled connection that died with a database restart, or lost
         * its prepared statements: revived, and tried once more. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      DBSLOGNO(033) "retried the session load once: %s",
                      retried);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Never clear a cookie that may be the real one among those skipped
     * (cookie tossing). */
    rs->session.cookie_invalid =
        dbs_cookie_may_clear(&walk) && !rs->session.loaded;
    COUNT(LOADED, rs->session.loaded);
    COUNT(RENEWAL_VIOLATIONS, rs->session.renewal_violations);
    if (rs->session.renewal_violations) {
        /* A replaced ID long after its replacement came back: a copy of an
         * old cookie, perhaps a stolen one. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      DBSLOGNO(022) "renewal violation: a session ID replaced "
                                    "by renewal was presented after its "
                                    "grace, treated as unknown (session %s)",
                      rs->session.violated);
    }
    if (rs->session.loaded && !rs->session.via_previous) {
        /* Key rotation: a cookie of an older key is sealed again with the
         * first one by the next committing response. */
        rs->reseal = dbs_cookie_needs_reseal(&walk, rs->session.id);
    }
    return APR_SUCCESS;
}

/* Begin the transaction and load the session: once per request, on its
 * initial request_rec, whichever of its request_recs comes first. */
static int open_session(request_rec *r, const dbs_dir_config_t *conf)
{
    request_rec *initial = dbsession_initial_request(r);
    dbsession_request_t *rs = apr_pcalloc(initial->pool, sizeof(*rs));
    apr_status_t rv;

    rs->initial = initial;
    rs->sconf =
        ap_get_module_config(r->server->module_config, &dbsession_module);
    rs->conf = *conf;
    dbs_dir_config_policy(conf, &rs->policy);
    rs->now = apr_time_sec(r->request_time);
    dbs_session_init(&rs->session, initial->pool);
    ap_set_module_config(initial->request_config, &dbsession_module, rs);

    /* Our own connection from mod_dbd's pool, unless another module took
     * the request's already (then the transaction runs on that one). */
    rs->lent = apr_array_make(initial->pool, 2, sizeof(request_rec *));
    if (!ap_get_module_config(initial->request_config,
                              dbsession_mod_dbd.module)) {
        rv = dbsession_dbd_take(rs, rs->conf.lock_timeout);
    }
    else {
        rs->dbd = dbsession_mod_dbd.acquire(initial);
        rv = rs->dbd ? APR_SUCCESS : APR_EGENERAL;
    }
    if (rv == APR_TIMEUP) {
        COUNT(LOCK_TIMEOUTS, 1);
        rs->failed = 1;
        apr_table_setn(r->err_headers_out, "Retry-After", RETRY_AFTER);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      DBSLOGNO(036) "no pooled connection came free within "
                                    "DBSessionLockTimeout (%" APR_INT64_T_FMT
                                    "s): this child's sessions hold DBDMax "
                                    "(%d) of them: 503",
                      rs->conf.lock_timeout, rs->sconf->dbd_max);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (rv != APR_SUCCESS) {
        return fail_unavailable(r, rs, APR_EGENERAL, NULL);
    }
    apr_pool_cleanup_register(initial->pool, rs, rollback_if_open,
                              apr_pool_cleanup_null);
    dbsession_dbd_lend(rs, initial);
    dbsession_interim_watch(initial);
    rs->txn =
        dbsession_txn(initial->pool, rs->sconf, rs->dbd, rs->conf.lock_timeout);
    if ((rv = begin_and_load(r, rs)) != APR_SUCCESS) {
        return fail_unavailable(r, rs, rv, dbs_txn_error(rs->txn));
    }
    rs->flash = dbs_session_take_flash(&rs->session);
    return OK;
}

/* The session as request headers (DBSessionRequestHeaders On), for
 * backends that are not CGI: mod_proxy forwards r->headers_in. */
#define REQUEST_HEADER_PREFIX "DBSession-"

/* Whether a request header could pose as the session to a backend: its
 * name, with '_' read as '-' (WSGI servers, Rack and CGI map both to the
 * same variable), starts with REQUEST_HEADER_PREFIX, in any case. */
static int poses_as_session(const char *name)
{
    const char *prefix = REQUEST_HEADER_PREFIX;

    for (; *prefix; prefix++, name++) {
        char c = *name == '_' ? '-' : *name;

        if (apr_tolower(c) != apr_tolower(*prefix)) {
            return 0;
        }
    }
    return 1;
}

/* post_read_request: before anything else happens in the request (also when
 * the database fails later, and for the ErrorDocument and internal
 * redirects that copy these headers), a client's headers that could pose
 * as the session are dropped in every server that has a session scope or
 * DBSessionRequestHeaders anywhere. */
static int dbsession_post_read_request(request_rec *r)
{
    const dbsession_server_conf_t *sconf =
        ap_get_module_config(r->server->module_config, &dbsession_module);
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_array_header_t *names = NULL;
    int i;

    if (!sconf->drops_session_headers) {
        return DECLINED;
    }
    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && poses_as_session(e[i].key)) {
            if (!names) {
                names = apr_array_make(r->pool, 2, sizeof(char *));
            }
            APR_ARRAY_PUSH(names, const char *) = e[i].key;
        }
    }
    for (i = 0; names && i < names->nelts; i++) {
        apr_table_unset(r->headers_in, APR_ARRAY_IDX(names, i, const char *));
    }
    return DECLINED;
}

/* One item of the session: an environment variable (CGI, PHP, SSI,
 * mod_rewrite, mod_headers) and, with DBSessionRequestHeaders, the request
 * header DBSession-<header> in its wire form (percent-encoded where the
 * value can be any text). */
static void publish(request_rec *r, const dbsession_request_t *rs,
                    const char *var, const char *header, const char *value,
                    const char *encoded)
{
    apr_table_setn(r->subprocess_env, var, value);
    if (rs->conf.request_headers) {
        apr_table_setn(
            r->headers_in,
            apr_pstrcat(r->pool, REQUEST_HEADER_PREFIX, header, NULL),
            encoded ? encoded : value);
    }
}

/* Environment variables, request notes (mod_log_config %{...}n, other
 * modules) and, if asked, request headers. */
static void expose(request_rec *r, dbsession_request_t *rs)
{
    const dbs_session_t *s = &rs->session;
    const apr_array_header_t *arr = apr_table_elts(s->data);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_int64_t expires;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        apr_table_setn(
            r->subprocess_env,
            apr_pstrcat(r->pool, rs->conf.env_prefix, e[i].key, NULL),
            e[i].val);
        apr_table_setn(r->notes,
                       apr_pstrcat(r->pool, "dbsession:", e[i].key, NULL),
                       e[i].val);
    }
    if (rs->conf.request_headers && arr->nelts > 0) {
        /* All keys in one header, form-urlencoded as X-DBSession-Set. */
        apr_table_setn(r->headers_in, REQUEST_HEADER_PREFIX "Data",
                       dbs_data_encode(r->pool, s->data));
    }
    publish(r, rs, "DBSESSION_NEW", "New", s->loaded ? "0" : "1", NULL);
    if (s->loaded) {
        publish(r, rs, "DBSESSION_CREATED", "Created",
                apr_psprintf(r->pool, "%" APR_INT64_T_FMT, s->created_at),
                NULL);
        expires =
            dbs_policy_expires_at(&rs->policy, s->created_at, s->active_at);
        if (expires) {
            publish(r, rs, "DBSESSION_EXPIRES", "Expires",
                    apr_psprintf(r->pool, "%" APR_INT64_T_FMT, expires), NULL);
        }
    }
    if (*s->user) {
        publish(r, rs, "DBSESSION_USER", "User", s->user,
                dbs_pct_encode(r->pool, s->user));
        apr_table_setn(r->notes, "dbsession-user", s->user);
    }
    if (*s->csrf) {
        publish(r, rs, "DBSESSION_CSRF", "CSRF", s->csrf, NULL);
    }
    if (*rs->flash) {
        publish(r, rs, "DBSESSION_FLASH", "Flash", rs->flash, NULL);
    }
}

static dbs_writes_t *take_writes(request_rec *r);
static int apply_writes(request_rec *r, dbsession_request_t *rs,
                        dbs_writes_t *w);

/* header_parser is the first phase that knows the final per-directory
 * configuration (<Location>, <Directory>, .htaccess); authentication,
 * authorization and the handler all come after it, inside the transaction. */
static int dbsession_header_parser(request_rec *r)
{
    const dbs_dir_config_t *raw =
        ap_get_module_config(r->per_dir_config, &dbsession_module);
    dbsession_request_t *rs = dbsession_request(r);
    dbs_dir_config_t conf;

    if (!rs) {
        apr_bucket_brigade *body;
        int status;

        if (!dbs_dir_config_enabled(raw)) {
            return DECLINED;
        }
        /* A slow upload must hold nothing: the body first, then the
         * session. */
        if ((status = dbsession_receive_body(r, &body)) != OK) {
            return status;
        }
        dbs_dir_config_resolve(raw, &conf);
        if (open_session(r, &conf) != OK) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        rs = dbsession_request(r);
        rs->body = body;
    }
    else if (r->prev) {
        dbsession_replay_body(r, rs->body);
    }
    if (rs->failed || (!dbsession_finished(rs) && dbs_txn_doomed(rs->txn))) {
        return DECLINED;
    }
    if (!dbsession_finished(rs)) {
        /* Subrequests and internal redirects share the connection. */
        dbsession_dbd_lend(rs, r);
        /* A handler that redirected internally (a CGI's local Location)
         * wrote its headers on the previous request_rec: they count. */
        if (r->prev && !rs->saved &&
            r->prev->status < rs->conf.rollback_status &&
            apply_writes(r, rs, take_writes(r->prev)) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    /* After the commit (a subrequest of SSI in the body, say) the session
     * is still there to read. */
    expose(r, rs);
    return DECLINED;
}

/* ------------------------------------------------------------------------ */
/* AuthType DBSession                                                       */

#define AUTH_TYPE "DBSession"

/* Where a login page may send the user back: the path and query of the
 * request line as the client sent it (still percent-encoded: httpd decodes
 * r->uri and r->parsed_uri.path in place, and a decoded %5C or %2F would
 * make a backslash or a slash), with exactly one leading '/' that no '/' or
 * backslash follows, so that no browser reads it as another host. */
static const char *return_path(request_rec *r)
{
    const char *target = dbsession_initial_request(r)->unparsed_uri;
    const char *path = "", *query = NULL;
    apr_uri_t sent;

    if (*target == '/') { /* origin-form (which "//x" is too, for httpd) */
        const char *mark = strchr(target, '?');

        path = mark ? apr_pstrmemdup(r->pool, target, mark - target) : target;
        query = mark ? mark + 1 : NULL;
    }
    else if (apr_uri_parse(r->pool, target, &sent) == APR_SUCCESS) {
        path = sent.path ? sent.path : ""; /* absolute-form */
        query = sent.query;
    }
    path += strspn(path, "/\\");
    return apr_pstrcat(r->pool, "/", path, query ? "?" : "", query ? query : "",
                       NULL);
}

/* check_authn runs after header_parser, so the session is open: a session
 * with a user authenticates as that user (REMOTE_USER, %u in the access
 * log) for "Require valid-user" and "Require user NAME". Otherwise 401, or
 * with DBSessionLoginURL a redirect there with the original path and query
 * in "return" (always a local path: a login page may go back to it). */
static int dbsession_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const dbs_dir_config_t *raw;
    dbsession_request_t *rs;
    const char *original, *login;

    if (!type || strcasecmp(type, AUTH_TYPE) != 0) {
        return DECLINED;
    }
    rs = dbsession_request(r);
    if (rs && !rs->failed && *rs->session.user) {
        r->user = apr_pstrdup(r->pool, rs->session.user);
        r->ap_auth_type = (char *)AUTH_TYPE;
        return OK;
    }
    raw = ap_get_module_config(r->per_dir_config, &dbsession_module);
    if (!raw->login_url || r->main) {
        return HTTP_UNAUTHORIZED;
    }
    original = return_path(r);
    login = apr_pstrcat(r->pool, raw->login_url,
                        strchr(raw->login_url, '?') ? "&" : "?",
                        "return=", dbs_pct_encode(r->pool, original), NULL);
    /* A local path: nothing of it comes from the Host header. */
    apr_table_setn(r->headers_out, "Location", login);
    return HTTP_MOVED_TEMPORARILY;
}

/* ------------------------------------------------------------------------ */
/* Before the headers go out                                                */

/* Take the X-DBSession-* headers out of both tables: they must never reach
 * the client, whatever happens next. Where DBSessionWrites is Off they are
 * taken and ignored: whoever answers there cannot write the session. */
static dbs_writes_t *take_writes(request_rec *r)
{
    dbs_writes_t *w = dbs_writes_make(r->pool);
    int ignore = !dbs_dir_config_writes(
        ap_get_module_config(r->per_dir_config, &dbsession_module));
    apr_table_t *tables[2];
    int op, t;

    tables[0] = r->headers_out;
    tables[1] = r->err_headers_out;
    for (op = 0; op < DBS_OP_COUNT; op++) {
        for (t = 0; t < 2; t++) {
            const apr_array_header_t *arr = apr_table_elts(tables[t]);
            const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
            int i;

            for (i = 0; i < arr->nelts; i++) {
                if (!ignore && e[i].key &&
                    strcasecmp(e[i].key, dbs_op_headers[op]) == 0) {
                    APR_ARRAY_PUSH(w->values[op], const char *) = e[i].val;
                }
            }
            apr_table_unset(tables[t], dbs_op_headers[op]);
        }
    }
    return w;
}

static const char *cookie_header(request_rec *r, dbsession_request_t *rs,
                                 dbs_cookie_action_e action)
{
    dbs_cookie_attrs_t attrs;

    dbs_cookie_attrs_of(&rs->conf, &attrs);
    if (action != DBS_COOKIE_SET) {
        return dbs_cookie_clear_header(r->pool, &attrs);
    }
    return dbs_cookie_set_header(
        r->pool, &attrs,
        dbs_cookie_seal(r->pool, rs->sconf->resolved.keys,
                        rs->sconf->resolved.cipher, rs->session.id,
                        rs->conf.cookie_name));
}

static int is_our_cookie(void *data, const char *key, const char *value)
{
    return strcmp(value, data) != 0;
}

/* A response that will roll back must not carry the cookie we decided. */
static void withdraw_cookie(request_rec *r, dbsession_request_t *rs)
{
    apr_table_t *tables[2];
    int t;

    if (!rs->set_cookie) {
        return;
    }
    tables[0] = r->headers_out;
    tables[1] = r->err_headers_out;
    for (t = 0; t < 2; t++) {
        if (!apr_table_do(is_our_cookie, (void *)rs->set_cookie, tables[t],
                          "Set-Cookie", NULL)) {
            /* Rebuild the Set-Cookie list without ours. */
            const apr_array_header_t *arr = apr_table_elts(tables[t]);
            const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
            apr_array_header_t *keep =
                apr_array_make(r->pool, 2, sizeof(char *));
            int i;

            for (i = 0; i < arr->nelts; i++) {
                if (e[i].key && strcasecmp(e[i].key, "Set-Cookie") == 0 &&
                    strcmp(e[i].val, rs->set_cookie) != 0) {
                    APR_ARRAY_PUSH(keep, const char *) = e[i].val;
                }
            }
            apr_table_unset(tables[t], "Set-Cookie");
            for (i = 0; i < keep->nelts; i++) {
                apr_table_addn(tables[t], "Set-Cookie",
                               APR_ARRAY_IDX(keep, i, const char *));
            }
        }
    }
    rs->set_cookie = NULL;
}

static void send_cookie(request_rec *r, dbsession_request_t *rs,
                        dbs_cookie_action_e action)
{
    if (action == DBS_COOKIE_NONE) {
        return;
    }
    rs->set_cookie = cookie_header(r, rs, action);
    apr_table_addn(r->headers_out, "Set-Cookie", rs->set_cookie);
}

/* A response header as it will go out: its values in both tables, joined
 * (NULL: none). */
static const char *outgoing(request_rec *r, const char *name)
{
    const char *a = apr_table_get(r->headers_out, name);
    const char *b = apr_table_get(r->err_headers_out, name);

    return a && b ? apr_pstrcat(r->pool, a, ", ", b, NULL) : a ? a : b;
}

/* Shared caches (mod_cache in this server, a proxy or CDN in front) must
 * never hand one visitor's page, or session cookie, to another: every
 * response in a session scope varies by Cookie; a response of a live
 * session is private unless the handler chose its Cache-Control; and one
 * that sets or clears the cookie is private whatever the handler said. */
static void keep_out_of_shared_caches(request_rec *r, dbsession_request_t *rs)
{
    const char *cache_control = outgoing(r, "Cache-Control");

    if (!dbs_vary_has_cookie(r->pool, outgoing(r, "Vary"))) {
        apr_table_mergen(r->headers_out, "Vary", "Cookie");
    }
    if (rs->set_cookie) {
        apr_table_unset(r->err_headers_out, "Cache-Control");
        apr_table_setn(r->headers_out, "Cache-Control",
                       dbs_cache_control_private(r->pool, cache_control));
    }
    else if (!cache_control && rs->session.loaded) {
        apr_table_setn(r->headers_out, "Cache-Control", "private");
    }
}

void dbsession_log_late_write(request_rec *r, const char *what)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  DBSLOGNO(041) "%s came after the session's transaction "
                                "ended (the response had started): not "
                                "applied",
                  what);
}

/* Apply write-back operations to the request's session (not stored yet). */
static int apply_writes(request_rec *r, dbsession_request_t *rs,
                        dbs_writes_t *w)
{
    const char *err = NULL;

    if (dbs_writes_empty(w) ||
        dbs_session_apply(&rs->session, r->pool, w, rs->conf.max_size, &err) ==
            APR_SUCCESS) {
        return OK;
    }
    dbs_txn_doom(rs->txn); /* 500, rolled back */
    ap_log_rerror(
        APLOG_MARK, APLOG_ERR, 0, r,
        DBSLOGNO(040) "session write refused, request rolled back: %s", err);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* Apply and store this response's writes; an HTTP status on failure. */
static int save_session(request_rec *r, dbsession_request_t *rs,
                        dbs_writes_t *w)
{
    dbs_cookie_action_e cookie;
    int status = apply_writes(r, rs, w);
    apr_status_t rv;

    if (status != OK) {
        return status;
    }
    TIMED(rs, rv = dbs_session_save(rs->txn, &rs->session, &rs->policy, rs->now,
                                    rs->conf.cookie_max_age, &cookie));
    COUNT(CREATED, rs->session.created);
    COUNT(RENEWED, rs->session.renewed);
    if (rv != APR_SUCCESS) {
        COUNT(DB_ERRORS, 1);
        rs->failed = 1;
        apr_table_setn(r->err_headers_out, "Retry-After", RETRY_AFTER);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      DBSLOGNO(032) "storing the session failed: %s: 503",
                      dbs_txn_error(rs->txn));
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (cookie == DBS_COOKIE_NONE && rs->reseal && rs->session.loaded) {
        cookie = DBS_COOKIE_SET; /* the same ID, under the first key */
    }
    rs->reseal = 0;
    if (rs->session.revoked > 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      DBSLOGNO(070) "logged the user out of %d other session%s "
                                    "(X-DBSession-Revoke-Others)",
                      rs->session.revoked, rs->session.revoked == 1 ? "" : "s");
    }
    send_cookie(r, rs, cookie);
    return OK;
}

/* A logout or revocation that rolls back with its request leaves the
 * sessions as they were: never silently (README "Renewal"). */
static void note_rolled_back_logout(request_rec *r, dbsession_request_t *rs)
{
    int logout = rs->logout | rs->session.logout;

    if (!logout) {
        return;
    }
    rs->logout = rs->session.logout = 0;
    ap_log_rerror(
        APLOG_MARK, APLOG_NOTICE, 0, r,
        DBSLOGNO(071) "%s%s%s in a response that rolled back "
                      "(status %d): rolled back too, the sessions "
                      "stay as they were",
        logout & DBS_LOGOUT_INVALIDATE ? "X-DBSession-Invalidate" : "",
        logout == (DBS_LOGOUT_INVALIDATE | DBS_LOGOUT_REVOKE_OTHERS) ? " and "
                                                                     : "",
        logout & DBS_LOGOUT_REVOKE_OTHERS ? "X-DBSession-Revoke-Others" : "",
        r->status);
}

static int rolls_back(request_rec *r, dbsession_request_t *rs)
{
    return rs->failed || dbs_txn_doomed(rs->txn) ||
           r->status >= rs->conf.rollback_status;
}

typedef enum {
    FILTER_FIRST = 0,
    FILTER_PASS,
    FILTER_DISCARD
} dbsession_filter_state_e;

/* The response is decided (its first data or its end leaves the handler):
 * commit or roll back now, so that a slow client holds neither a lock nor
 * a connection, nor a transaction. An HTTP status when the commit failed:
 * the headers are still to go out. */
static int end_of_response(request_rec *r, dbsession_request_t *rs)
{
    int commit = !rolls_back(r, rs);
    apr_status_t rv = finish(rs, commit);

    if (!commit || rv != APR_SUCCESS) {
        note_rolled_back_logout(r, rs);
    }
    if (rv == APR_SUCCESS) {
        return OK;
    }
    /* Never tell the client that a write succeeded when it did not. */
    withdraw_cookie(r, rs);
    rs->failed = 1;
    apr_table_setn(r->err_headers_out, "Retry-After", RETRY_AFTER);
    return HTTP_SERVICE_UNAVAILABLE;
}

/* Replace the response: the handler's output is dropped. */
static apr_status_t replace_response(ap_filter_t *f, apr_bucket_brigade *bb,
                                     int status)
{
    *(dbsession_filter_state_e *)f->ctx = FILTER_DISCARD;
    apr_brigade_cleanup(bb);
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(status, NULL, f->r->pool,
                                                       f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    return ap_pass_brigade(f->next, bb);
}

static apr_status_t dbsession_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    dbsession_request_t *rs = dbsession_request(r);
    dbsession_filter_state_e *state = f->ctx;
    int status = OK;

    if (!state) {
        state = f->ctx = apr_pcalloc(r->pool, sizeof(*state));
    }
    if (*state == FILTER_DISCARD) {
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    if (!rs) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    if (*state == FILTER_FIRST) {
        /* The headers go out with this brigade. */
        dbs_writes_t *w = take_writes(r);

        *state = FILTER_PASS;
        if (rolls_back(r, rs)) {
            withdraw_cookie(r, rs);
            rs->logout |= dbs_writes_logout(w);
        }
        else if (!rs->saved && !dbsession_finished(rs)) {
            rs->saved = 1;
            status = save_session(r, rs, w);
        }
        keep_out_of_shared_caches(r, rs);
        if (status != OK) {
            return replace_response(f, bb, status);
        }
    }
    /* The status and headers are final: the transaction ends now, before
     * any content filter (mod_deflate, mod_include...) sees the body and
     * long before a slow client has it. */
    if (!dbsession_finished(rs)) {
        status = end_of_response(r, rs);
        if (status != OK) {
            return replace_response(f, bb, status);
        }
    }
    if (dbsession_finished(rs)) {
        ap_remove_output_filter(f);
    }
    return ap_pass_brigade(f->next, bb);
}

/* A subrequest's X-DBSession-* headers (an SSI-included CGI, say) never
 * reach the client: they are applied to the session while its transaction
 * is open, and refused with a log line once it has ended. */
static apr_status_t dbsession_subreq_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    dbsession_request_t *rs = dbsession_request(r);
    dbs_writes_t *w = take_writes(r);

    ap_remove_output_filter(f);
    if (!rs || rs->failed || dbs_writes_empty(w)) {
        return ap_pass_brigade(f->next, bb);
    }
    if (rs->saved || dbsession_finished(rs)) {
        dbsession_log_late_write(r, "a subrequest's X-DBSession-* headers");
    }
    else if (!dbs_txn_doomed(rs->txn)) {
        apply_writes(r, rs, w); /* a refused write dooms the transaction */
    }
    return ap_pass_brigade(f->next, bb);
}

static void dbsession_insert_filter(request_rec *r)
{
    if (!dbsession_request(r)) {
        return;
    }
    /* Only the main request (and its internal redirects) decides the
     * response; a subrequest may only write before that. */
    ap_add_output_filter(r->main ? SUBREQ_FILTER_NAME : FILTER_NAME, NULL, r,
                         r->connection);
}

/* httpd answers the error our filter raised on the same request_rec: the
 * filter that dropped the handler's output lets that answer through. */
static void dbsession_insert_error_filter(request_rec *r)
{
    dbsession_request_t *rs = dbsession_request(r);
    ap_filter_t *f;

    if (rs && rs->failed) {
        /* httpd rebuilt the response's header tables for the error page. */
        apr_table_setn(r->err_headers_out, "Retry-After", RETRY_AFTER);
    }
    for (f = r->output_filters; f; f = f->next) {
        if (f->r == r && strcasecmp(f->frec->name, FILTER_NAME) == 0 &&
            f->ctx && *(dbsession_filter_state_e *)f->ctx == FILTER_DISCARD) {
            *(dbsession_filter_state_e *)f->ctx = FILTER_PASS;
            return;
        }
    }
    dbsession_insert_filter(r);
}

/* ------------------------------------------------------------------------ */
/* After the response: commit or roll back                                  */

/* Expired rows go in small batches, at most once per interval per child,
 * in a transaction of their own after the request's has ended, on the
 * connection ap_dbd_acquire() gives now. */
static void cleanup_expired(request_rec *r, dbsession_request_t *rs)
{
    static volatile apr_uint64_t next_cleanup; /* per process, all threads */
    apr_uint64_t due = apr_atomic_read64(&next_cleanup);
    apr_int64_t interval = rs->sconf->resolved.cleanup_interval;
    dbs_txn_t *txn;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int deleted = 0;

    if (interval <= 0 || (apr_uint64_t)r->request_time < due) {
        return;
    }
    /* One thread of the process wins the turn. */
    if (apr_atomic_cas64(
            &next_cleanup,
            (apr_uint64_t)(r->request_time + apr_time_from_sec(interval)),
            due) != due) {
        return;
    }
    if (!(dbd = dbsession_mod_dbd.acquire(r))) {
        return;
    }
    txn = dbsession_txn(r->pool, rs->sconf, dbd, rs->conf.lock_timeout);
    rv = dbs_store_cleanup_expired(txn, rs->now, CLEANUP_BATCH, &deleted);
    if (rv != APR_SUCCESS) {
        /* A busy database is no news: the next interval tries again. */
        COUNT(DB_ERRORS, rv != APR_TIMEUP);
        ap_log_rerror(APLOG_MARK,
                      rv == APR_TIMEUP ? APLOG_DEBUG : APLOG_WARNING, 0, r,
                      DBSLOGNO(050) "deleting expired sessions failed: %s",
                      dbs_txn_error(txn));
    }
    else if (deleted > 0) {
        COUNT(ROWS_CLEANED, (apr_uint64_t)deleted);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      DBSLOGNO(051) "deleted %d expired sessions", deleted);
    }
}

/* log_transaction runs once per request, after the response went out, on
 * the initial request_rec. The transaction normally ended in the filter;
 * a response that never reached its end (an aborted handler) ends here,
 * by the status of the last redirect. */
static int dbsession_log_transaction(request_rec *r)
{
    dbsession_request_t *rs = dbsession_request(r);
    request_rec *last = r;

    if (!rs) {
        return DECLINED;
    }
    while (last->next) {
        last = last->next;
    }
    if (!dbsession_finished(rs)) {
        int commit = !rolls_back(last, rs);

        if (finish(rs, commit) != APR_SUCCESS || !commit) {
            note_rolled_back_logout(last, rs);
        }
    }
    if (!rolls_back(last, rs) && dbs_txn_state(rs->txn) == DBS_TXN_COMMITTED) {
        cleanup_expired(r, rs);
    }
    return DECLINED;
}

/* ------------------------------------------------------------------------ */

static void dbsession_register_hooks(apr_pool_t *pool)
{
    static const char *const after_dbd[] = {"mod_dbd.c", NULL};

    /* So that "apachectl -t" reports what post_config would refuse. */
    ap_hook_check_config(dbsession_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* After mod_dbd's: its pool and optional functions exist by then. */
    ap_hook_post_config(dbsession_post_config, after_dbd, NULL,
                        APR_HOOK_MIDDLE);
    /* Each child's count of the connections its sessions hold. */
    ap_hook_child_init(dbsession_dbd_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* First of all: a client's headers that pose as the session go. */
    ap_hook_post_read_request(dbsession_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    /* First, so that other header parsers (mod_setenvif...) see the session. */
    ap_hook_header_parser(dbsession_header_parser, NULL, NULL,
                          APR_HOOK_REALLY_FIRST);
    /* After header_parser: the session is open. */
    ap_hook_check_authn(dbsession_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    /* Last: after other fixups, just before the handler. */
    ap_hook_fixups(dbsession_csrf_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_register_input_filter(DBSESSION_BODY_FILTER, dbsession_body_replay, NULL,
                             AP_FTYPE_RESOURCE);
    /* The output filter, on the response and on an error response. */
    ap_hook_insert_filter(dbsession_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(dbsession_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    /* Before the HTTP header filter writes the headers. */
    ap_register_output_filter(FILTER_NAME, dbsession_out_filter, NULL,
                              DBSESSION_FTYPE);
    ap_register_output_filter(SUBREQ_FILTER_NAME, dbsession_subreq_filter, NULL,
                              DBSESSION_FTYPE);
    /* On the connection: interim responses bypass the request's filters. */
    dbsession_interim_register();
    /* SetHandler dbsession-status. */
    ap_hook_handler(dbsession_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* First, so that mod_log_config and others see the outcome. */
    ap_hook_log_transaction(dbsession_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);

    /* The C API (mod_dbsession.h). */
    dbsession_api_register();
}

AP_DECLARE_MODULE(dbsession) = {
    STANDARD20_MODULE_STUFF,
    dbsession_create_dir_conf,    /* create dir conf */
    dbsession_merge_dir_conf,     /* merge dir conf */
    dbsession_create_server_conf, /* create server conf */
    dbsession_merge_server_conf,  /* merge server conf */
    dbsession_cmds,               /* commands */
    dbsession_register_hooks,     /* register hooks */
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE /* flags */
#endif
};
