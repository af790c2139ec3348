/*
 * mod_dbsession: the directives and the startup checks. Values are parsed
 * by the core (src/dbs_parse.c); errors say "Directive reason" and httpd
 * adds the file and line. Cross-directive rules are checked at check_config
 * so that "apachectl -t" reports them. The request's life is in
 * mod_dbsession.c.
 */
#include "httpd.h"
#include "ap_mpm.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include "apr_optional.h"
#include "apr_strings.h"

#include "mod_dbsession_private.h"

#include "dbs_crypto.h"
#include "dbs_parse.h"

dbsession_mod_dbd_t dbsession_mod_dbd;

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */

void *dbsession_create_server_conf(apr_pool_t *pool, server_rec *s)
{
    dbsession_server_conf_t *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->core = *dbs_server_config_make(pool);
    conf->scopes = apr_array_make(pool, 4, sizeof(dbs_dir_config_t *));
    return conf;
}

void *dbsession_merge_server_conf(apr_pool_t *pool, void *basev, void *addv)
{
    dbsession_server_conf_t *base = basev, *add = addv;
    dbsession_server_conf_t *conf = apr_pcalloc(pool, sizeof(*conf));

    conf->core = *dbs_server_config_merge(pool, &base->core, &add->core);
    conf->scopes = add->scopes;
    conf->enabled_at = add->enabled_at;
    return conf;
}

void *dbsession_create_dir_conf(apr_pool_t *pool, char *dir)
{
    return dbs_dir_config_make(pool);
}

void *dbsession_merge_dir_conf(apr_pool_t *pool, void *base, void *add)
{
    return dbs_dir_config_merge(pool, base, add);
}

static const char *where(cmd_parms *cmd)
{
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                        cmd->directive->line_num);
}

/* Remember each section our directives touch, for check_config. */
static void note_scope(cmd_parms *cmd, dbs_dir_config_t *dconf)
{
    dbsession_server_conf_t *sconf =
        ap_get_module_config(cmd->server->module_config, &dbsession_module);
    int i;

    for (i = 0; i < sconf->scopes->nelts; i++) {
        if (APR_ARRAY_IDX(sconf->scopes, i, dbs_dir_config_t *) == dconf) {
            return;
        }
    }
    APR_ARRAY_PUSH(sconf->scopes, dbs_dir_config_t *) = dconf;
}

static const char *bad_value(cmd_parms *cmd, const char *err)
{
    return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
}

static const char *set_enabled(cmd_parms *cmd, void *dconf, int on)
{
    dbs_dir_config_t *c = dconf;
    dbsession_server_conf_t *sconf =
        ap_get_module_config(cmd->server->module_config, &dbsession_module);

    c->enabled = on;
    if (on) {
        c->enabled_at = where(cmd);
        if (!sconf->enabled_at) {
            sconf->enabled_at = c->enabled_at;
        }
    }
    note_scope(cmd, c);
    return NULL;
}

/* On|Off directives: the offset of the int in dbs_dir_config_t. */
static const char *set_dir_flag(cmd_parms *cmd, void *dconf, int on)
{
    *(int *)((char *)dconf + (apr_size_t)cmd->info) = on;
    note_scope(cmd, dconf);
    return NULL;
}

/* Every dir-scope setter ends here: remember the section, and name the
 * directive in the error. */
static const char *dir_done(cmd_parms *cmd, void *dconf, const char *err)
{
    note_scope(cmd, dconf);
    return err ? bad_value(cmd, err) : NULL;
}

static const char *set_dir_seconds(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_int64_t *field = (apr_int64_t *)((char *)dconf + (apr_size_t)cmd->info);

    return dir_done(cmd, dconf, dbs_parse_seconds(arg, field));
}

static const char *set_max_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    dbs_dir_config_t *c = dconf;

    return dir_done(cmd, dconf, dbs_parse_bytes(arg, &c->max_size));
}

static const char *set_rollback_status(cmd_parms *cmd, void *dconf,
                                       const char *arg)
{
    dbs_dir_config_t *c = dconf;

    return dir_done(cmd, dconf, dbs_parse_status(arg, &c->rollback_status));
}

static const char *set_samesite(cmd_parms *cmd, void *dconf, const char *arg)
{
    dbs_dir_config_t *c = dconf;

    return dir_done(cmd, dconf, dbs_parse_samesite(arg, &c->cookie_samesite));
}

/* String directives: cmd->info names the field and its validator. */
typedef struct {
    apr_size_t offset;
    const char *(*check)(const char *arg);
} string_field_t;

#define STRING_FIELD(name, field, checker)                                     \
    static string_field_t name = {APR_OFFSETOF(dbs_dir_config_t, field),       \
                                  checker}
STRING_FIELD(cookie_name_field, cookie_name, dbs_parse_cookie_name);
STRING_FIELD(cookie_path_field, cookie_path, dbs_parse_cookie_attr);
STRING_FIELD(cookie_domain_field, cookie_domain, dbs_parse_cookie_attr);
STRING_FIELD(env_prefix_field, env_prefix, dbs_parse_env_prefix);
STRING_FIELD(login_url_field, login_url, dbs_parse_local_path);

static const char *set_dir_string(cmd_parms *cmd, void *dconf, const char *arg)
{
    const string_field_t *field = cmd->info;
    const char *err = field->check(arg);

    if (!err) {
        *(const char **)((char *)dconf + field->offset) = arg;
    }
    return dir_done(cmd, dconf, err);
}

/* Server-scope directives are RSRC_CONF only: httpd refuses them in
 * <Location> and <Directory> with a message naming the directive. */
static dbsession_server_conf_t *server_conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &dbsession_module);
}

/* An inline DBSessionKey is as secret as the file that holds it: a warning
 * (once per line) when every user can read that file. */
static void warn_readable_key(cmd_parms *cmd)
{
    static const ap_directive_t *warned;
    const ap_directive_t *d = cmd->directive;
    apr_finfo_t info;

    if (d == warned || !d->filename ||
        apr_stat(&info, d->filename, APR_FINFO_PROT, cmd->temp_pool) !=
            APR_SUCCESS ||
        !(info.protection & APR_FPROT_WREAD)) {
        return;
    }
    warned = d;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, cmd->server,
                 DBSLOGNO(003) "DBSessionKey at %s:%d: %s is readable by "
                               "every user, and so is the key: move it to a "
                               "DBSessionKeyFile only root can read, or chmod "
                               "o-r the file",
                 d->filename, d->line_num, d->filename);
}

static const char *add_keys(cmd_parms *cmd, void *dconf, const char *arg)
{
    dbsession_server_conf_t *sconf = server_conf_of(cmd);
    const char *err;

    if (!sconf->core.keys) {
        sconf->core.keys = dbs_keyring_make(cmd->pool);
        sconf->core.keys_at = where(cmd);
    }
    err =
        cmd->info
            ? dbs_keyring_add_file(sconf->core.keys, cmd->temp_pool,
                                   ap_server_root_relative(cmd->temp_pool, arg))
            : dbs_keyring_add(sconf->core.keys, arg);
    if (!err && !cmd->info) {
        warn_readable_key(cmd);
    }
    /* The reason never repeats the key. */
    return err ? bad_value(cmd, err) : NULL;
}

static const char *set_table(cmd_parms *cmd, void *dconf, const char *arg)
{
    dbsession_server_conf_t *sconf = server_conf_of(cmd);
    const char *err = dbs_parse_table_name(arg);

    if (!err) {
        sconf->core.table = arg;
        return NULL;
    }
    return bad_value(cmd, err);
}

static const char *set_cipher(cmd_parms *cmd, void *dconf, const char *arg)
{
    dbsession_server_conf_t *sconf = server_conf_of(cmd);
    const char *err = dbs_parse_cipher(arg, &sconf->core.cipher);

    if (!err) {
        sconf->core.cipher_at = where(cmd);
        return NULL;
    }
    return bad_value(cmd, err);
}

static const char *set_cleanup_interval(cmd_parms *cmd, void *dconf,
                                        const char *arg)
{
    dbsession_server_conf_t *sconf = server_conf_of(cmd);
    const char *err = dbs_parse_seconds(arg, &sconf->core.cleanup_interval);

    if (!err) {
        return NULL;
    }
    return bad_value(cmd, err);
}

#define DIR_OFFSET(field) (void *)APR_OFFSETOF(dbs_dir_config_t, field)

const command_rec dbsession_cmds[] = {
    AP_INIT_FLAG("DBSession", set_enabled, NULL, RSRC_CONF | ACCESS_CONF,
                 "On to keep sessions for this scope (default Off)"),
    AP_INIT_ITERATE("DBSessionKey", add_keys, NULL, RSRC_CONF,
                    "base64 of 32 random bytes; the first seals, all open"),
    AP_INIT_TAKE1("DBSessionKeyFile", add_keys, (void *)1, RSRC_CONF,
                  "file with one base64 key per line"),
    AP_INIT_TAKE1("DBSessionTable", set_table, NULL, RSRC_CONF,
                  "session table name (default dbsession)"),
    AP_INIT_TAKE1("DBSessionCipher", set_cipher, NULL, RSRC_CONF,
                  "xchacha20poly1305 (default) or aes256gcm"),
    AP_INIT_TAKE1("DBSessionCleanupInterval", set_cleanup_interval, NULL,
                  RSRC_CONF,
                  "seconds between deletions of expired rows, 0 off"),
    AP_INIT_TAKE1("DBSessionCookieName", set_dir_string, &cookie_name_field,
                  RSRC_CONF | ACCESS_CONF, "cookie name (default session)"),
    AP_INIT_TAKE1("DBSessionCookiePath", set_dir_string, &cookie_path_field,
                  RSRC_CONF | ACCESS_CONF, "cookie Path (default /)"),
    AP_INIT_TAKE1("DBSessionCookieDomain", set_dir_string, &cookie_domain_field,
                  RSRC_CONF | ACCESS_CONF, "cookie Domain (default none)"),
    AP_INIT_FLAG("DBSessionCookieSecure", set_dir_flag,
                 DIR_OFFSET(cookie_secure), RSRC_CONF | ACCESS_CONF,
                 "Secure attribute (default On)"),
    AP_INIT_FLAG("DBSessionCookieHttpOnly", set_dir_flag,
                 DIR_OFFSET(cookie_httponly), RSRC_CONF | ACCESS_CONF,
                 "HttpOnly attribute (default On)"),
    AP_INIT_TAKE1("DBSessionCookieSameSite", set_samesite, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "Strict, Lax (default), None or Off"),
    AP_INIT_TAKE1("DBSessionCookieMaxAge", set_dir_seconds,
                  DIR_OFFSET(cookie_max_age), RSRC_CONF | ACCESS_CONF,
                  "cookie Max-Age in seconds, 0 for a browser-session cookie"),
    AP_INIT_TAKE1("DBSessionIdleTimeout", set_dir_seconds,
                  DIR_OFFSET(idle_timeout), RSRC_CONF | ACCESS_CONF,
                  "seconds of inactivity before expiry, 0 off (default 1800)"),
    AP_INIT_TAKE1(
        "DBSessionAbsoluteTimeout", set_dir_seconds,
        DIR_OFFSET(absolute_timeout), RSRC_CONF | ACCESS_CONF,
        "seconds after creation before expiry, 0 off (default 86400)"),
    AP_INIT_TAKE1("DBSessionExtensionDelay", set_dir_seconds,
                  DIR_OFFSET(extension_delay), RSRC_CONF | ACCESS_CONF,
                  "least seconds between idle extensions (default 60)"),
    AP_INIT_TAKE1("DBSessionRenewalTimeout", set_dir_seconds,
                  DIR_OFFSET(renewal_timeout), RSRC_CONF | ACCESS_CONF,
                  "seconds after which the session ID is replaced, 0 off "
                  "(default 0)"),
    AP_INIT_TAKE1("DBSessionLockTimeout", set_dir_seconds,
                  DIR_OFFSET(lock_timeout), RSRC_CONF | ACCESS_CONF,
                  "longest wait for the session's lock, then 503 (default 10)"),
    AP_INIT_TAKE1("DBSessionRollbackStatus", set_rollback_status, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "final status from which the transaction rolls back "
                  "(default 400)"),
    AP_INIT_TAKE1("DBSessionMaxSize", set_max_size, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "largest encoded session in bytes (default 65536)"),
    AP_INIT_TAKE1("DBSessionEnvPrefix", set_dir_string, &env_prefix_field,
                  RSRC_CONF | ACCESS_CONF,
                  "prefix of the per-key variables (default SESSION_)"),
    AP_INIT_FLAG("DBSessionRequestHeaders", set_dir_flag,
                 DIR_OFFSET(request_headers), RSRC_CONF | ACCESS_CONF,
                 "On: hand the session to the handler also as DBSession-* "
                 "request headers, for proxied backends (default Off)"),
    AP_INIT_FLAG("DBSessionWrites", set_dir_flag, DIR_OFFSET(writes),
                 RSRC_CONF | ACCESS_CONF,
                 "Off: X-DBSession-* response headers here are removed and "
                 "ignored, so that a backend cannot write the session "
                 "(default On)"),
    AP_INIT_FLAG("DBSessionCSRFCheck", set_dir_flag, DIR_OFFSET(csrf_check),
                 RSRC_CONF | ACCESS_CONF,
                 "On: POST, PUT, PATCH and DELETE must carry the session's "
                 "CSRF token (X-CSRF-Token or a _csrf form field), else 403 "
                 "(default Off)"),
    AP_INIT_TAKE1("DBSessionLoginURL", set_dir_string, &login_url_field,
                  RSRC_CONF | ACCESS_CONF,
                  "AuthType DBSession: local path of the login page, which "
                  "gets the original URL in ?return= (default: answer 401)"),
    {NULL}};

/* ------------------------------------------------------------------------ */
/* Startup                                                                  */

/* Looked up at check_config: the optional_fn_retrieve hook would come too
 * late for "apachectl -t" to report a missing mod_dbd. */
static void retrieve_dbd(void)
{
    dbsession_mod_dbd.acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbsession_mod_dbd.open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbsession_mod_dbd.close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    dbsession_mod_dbd.module = ap_find_linked_module("mod_dbd.c");
}

static int startup_error(server_rec *s, const char *at, const char *msg)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                 DBSLOGNO(001) "mod_dbsession: %s%s%s", msg, at ? " at " : "",
                 at ? at : "");
    return !OK;
}

/* The last `name` line in the tree below `first`, outside any
 * <VirtualHost> (containers such as <IfModule> count), or NULL. */
static const ap_directive_t *find_directive(const ap_directive_t *first,
                                            const char *name)
{
    const ap_directive_t *d, *found = NULL, *inner;

    for (d = first; d; d = d->next) {
        if (strcasecmp(d->directive, name) == 0) {
            found = d;
        }
        if (d->first_child && strcasecmp(d->directive, "<VirtualHost") != 0 &&
            (inner = find_directive(d->first_child, name))) {
            found = inner;
        }
    }
    return found;
}

/* mod_dbd's configuration is private: read the config tree instead. A
 * virtual host has a directive of its own or the main server's. */
static const ap_directive_t *server_directive(server_rec *s, const char *name)
{
    const ap_directive_t *d;

    for (d = ap_conftree; s->is_virtual && d; d = d->next) {
        if (strcasecmp(d->directive, "<VirtualHost") == 0 &&
            (unsigned)d->line_num == s->defn_line_number && s->defn_name &&
            strcmp(d->filename, s->defn_name) == 0) {
            const ap_directive_t *own = find_directive(d->first_child, name);

            if (own) {
                return own;
            }
            break;
        }
    }
    return find_directive(ap_conftree, name);
}

static int server_has_dbdriver(server_rec *s)
{
    return server_directive(s, "DBDriver") != NULL;
}

/* mod_dbd's DBDMax for s (its default where none is set). */
#define DBD_DEFAULT_MAX 10
static int server_dbd_max(server_rec *s)
{
    const ap_directive_t *d = server_directive(s, "DBDMax");

    return d && d->args ? atoi(d->args) : DBD_DEFAULT_MAX;
}

/* A child's sessions beyond DBDMax wait for a connection (at most
 * DBSessionLockTimeout): say so at startup when the MPM can run more. */
static void check_dbd_max(server_rec *s, const dbsession_server_conf_t *sconf)
{
    int threads = 0, dbd_max = server_dbd_max(s);

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) == APR_SUCCESS &&
        threads > 1 && dbd_max < threads) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     DBSLOGNO(004) "DBDMax %d is below ThreadsPerChild %d: "
                                   "a child's sessions beyond %d wait for a "
                                   "pooled connection (at most "
                                   "DBSessionLockTimeout, then 503)%s%s",
                     dbd_max, threads, dbd_max,
                     sconf->enabled_at ? "; DBSession On at " : "",
                     sconf->enabled_at ? sconf->enabled_at : "");
    }
}

/* What both startup hooks need first: mod_dbd's functions, and libsodium
 * (which answers whether the CPU has AES-GCM only once started). */
static int find_dbd_and_start_sodium(server_rec *main_server)
{
    retrieve_dbd();
    if (dbs_crypto_init() != APR_SUCCESS) {
        return startup_error(main_server, NULL, "libsodium failed to start");
    }
    return OK;
}

/* Cross-directive checks. They run here, not in post_config, so that
 * "apachectl -t" reports them. */
int dbsession_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *main_server)
{
    server_rec *s;

    if (find_dbd_and_start_sodium(main_server) != OK) {
        return !OK;
    }
    for (s = main_server; s; s = s->next) {
        dbsession_server_conf_t *sconf =
            ap_get_module_config(s->module_config, &dbsession_module);
        const dbs_dir_config_t *server_dir =
            ap_get_module_config(s->lookup_defaults, &dbsession_module);
        dbs_server_config_t resolved;
        int i;

        dbs_server_config_resolve(&sconf->core, &resolved);
        if (resolved.cipher == DBS_CIPHER_AES256GCM &&
            !dbs_cipher_available(DBS_CIPHER_AES256GCM)) {
            return startup_error(s, resolved.cipher_at,
                                 "DBSessionCipher aes256gcm: this CPU has no "
                                 "hardware AES; use xchacha20poly1305");
        }
        for (i = 0; i < sconf->scopes->nelts; i++) {
            dbs_dir_config_t effective;
            const char *err;

            dbs_dir_config_resolve(
                dbs_dir_config_merge(
                    ptemp, server_dir,
                    APR_ARRAY_IDX(sconf->scopes, i, dbs_dir_config_t *)),
                &effective);
            if ((err = dbs_dir_config_check(ptemp, &effective))) {
                return startup_error(s, effective.enabled_at, err);
            }
        }
        if (!sconf->enabled_at) {
            continue;
        }
        if (!dbsession_mod_dbd.acquire || !dbsession_mod_dbd.open ||
            !dbsession_mod_dbd.close || !dbsession_mod_dbd.module) {
            return startup_error(s, sconf->enabled_at,
                                 "DBSession On needs mod_dbd: load it "
                                 "(LoadModule dbd_module) and set DBDriver "
                                 "and DBDParams");
        }
        if (!server_has_dbdriver(s)) {
            return startup_error(s, sconf->enabled_at,
                                 "DBSession On needs a database: set DBDriver "
                                 "and DBDParams (mod_dbd) for this server");
        }
        check_dbd_max(s, sconf);
        if (dbs_keyring_count(resolved.keys) == 0) {
            return startup_error(s, sconf->enabled_at,
                                 "DBSession On needs a key: set DBSessionKey "
                                 "or DBSessionKeyFile in the server or "
                                 "virtual host");
        }
    }
    return OK;
}

/* Whether server s has a session scope, or hands the session to backends
 * as request headers, anywhere (the server's own config included). */
static int poses_as_session_anywhere(server_rec *s,
                                     const dbsession_server_conf_t *sconf)
{
    const dbs_dir_config_t *server_dir =
        ap_get_module_config(s->lookup_defaults, &dbsession_module);
    int i;

    if (sconf->enabled_at || server_dir->enabled == 1 ||
        server_dir->request_headers == 1) {
        return 1;
    }
    for (i = 0; i < sconf->scopes->nelts; i++) {
        const dbs_dir_config_t *scope =
            APR_ARRAY_IDX(sconf->scopes, i, dbs_dir_config_t *);

        if (scope->enabled == 1 || scope->request_headers == 1) {
            return 1;
        }
    }
    return 0;
}

/* A Secure cookie without the __Host- prefix can be overwritten by a
 * sibling subdomain or a plain-http page of the same host (cookie tossing):
 * say so once per scope, at startup (not in the first, trial pass of the
 * configuration). */
static void note_cookie_names(server_rec *s, apr_pool_t *ptemp)
{
    dbsession_server_conf_t *sconf =
        ap_get_module_config(s->module_config, &dbsession_module);
    const dbs_dir_config_t *server_dir =
        ap_get_module_config(s->lookup_defaults, &dbsession_module);
    int i;

    for (i = 0; i < sconf->scopes->nelts; i++) {
        dbs_dir_config_t c;

        dbs_dir_config_resolve(
            dbs_dir_config_merge(
                ptemp, server_dir,
                APR_ARRAY_IDX(sconf->scopes, i, dbs_dir_config_t *)),
            &c);
        if (c.enabled && c.cookie_secure &&
            strncmp(c.cookie_name, DBS_HOST_PREFIX, strlen(DBS_HOST_PREFIX)) !=
                0) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                         DBSLOGNO(005) "DBSessionCookieName %s has no __Host- "
                                       "prefix: a subdomain or a plain-http "
                                       "page can set a cookie of that name "
                                       "(consider __Host-%s)%s%s",
                         c.cookie_name, c.cookie_name,
                         c.enabled_at ? " at " : "",
                         c.enabled_at ? c.enabled_at : "");
        }
    }
}

int dbsession_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *main_server)
{
    int trial = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    server_rec *s;

    if (find_dbd_and_start_sodium(main_server) != OK) {
        return !OK;
    }
    for (s = main_server; s; s = s->next) {
        dbsession_server_conf_t *sconf =
            ap_get_module_config(s->module_config, &dbsession_module);

        dbs_server_config_resolve(&sconf->core, &sconf->resolved);
        sconf->store = dbs_store_make(pconf, sconf->resolved.table);
        sconf->dbd_max = server_dbd_max(s);
        /* The main server's sections apply to every virtual host. */
        sconf->drops_session_headers =
            poses_as_session_anywhere(s, sconf) ||
            (s != main_server &&
             ((dbsession_server_conf_t *)ap_get_module_config(
                  main_server->module_config, &dbsession_module))
                 ->drops_session_headers);
        if (!trial) {
            note_cookie_names(s, ptemp);
        }
    }
    dbsession_stats_attach(main_server);
    return OK;
}
