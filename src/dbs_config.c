/* dbs_config: see dbs_config.h. */
#include "dbs_config.h"

#include <string.h>

#include <apr_strings.h>

/* The one merge rule: the more specific value wins when it is set. */
#define MERGE_INT(field)                                                       \
    out->field = add->field != DBS_UNSET ? add->field : base->field
#define MERGE_PTR(field) out->field = add->field ? add->field : base->field
#define DEFAULT_INT(field, value)                                              \
    out->field = in->field != DBS_UNSET ? in->field : (value)
#define DEFAULT_PTR(field, value) out->field = in->field ? in->field : (value)

dbs_dir_config_t *dbs_dir_config_make(apr_pool_t *pool)
{
    dbs_dir_config_t *c = apr_pcalloc(pool, sizeof(*c));

    c->enabled = c->cookie_secure = c->cookie_httponly = DBS_UNSET;
    c->csrf_check = c->request_headers = c->writes = DBS_UNSET;
    c->cookie_samesite = c->rollback_status = DBS_UNSET;
    c->cookie_max_age = c->idle_timeout = c->absolute_timeout = DBS_UNSET;
    c->extension_delay = c->renewal_timeout = DBS_UNSET;
    c->lock_timeout = c->max_size = DBS_UNSET;
    return c;
}

dbs_dir_config_t *dbs_dir_config_merge(apr_pool_t *pool,
                                       const dbs_dir_config_t *base,
                                       const dbs_dir_config_t *add)
{
    dbs_dir_config_t *out = apr_pcalloc(pool, sizeof(*out));

    MERGE_INT(enabled);
    MERGE_INT(cookie_secure);
    MERGE_INT(cookie_httponly);
    MERGE_INT(csrf_check);
    MERGE_INT(request_headers);
    MERGE_INT(writes);
    MERGE_INT(cookie_samesite);
    MERGE_INT(rollback_status);
    MERGE_INT(cookie_max_age);
    MERGE_INT(idle_timeout);
    MERGE_INT(absolute_timeout);
    MERGE_INT(extension_delay);
    MERGE_INT(renewal_timeout);
    MERGE_INT(lock_timeout);
    MERGE_INT(max_size);
    MERGE_PTR(cookie_name);
    MERGE_PTR(cookie_path);
    MERGE_PTR(cookie_domain);
    MERGE_PTR(env_prefix);
    MERGE_PTR(login_url);
    MERGE_PTR(enabled_at);
    return out;
}

int dbs_dir_config_enabled(const dbs_dir_config_t *c)
{
    return c->enabled == DBS_UNSET ? DBS_DEFAULT_ENABLED : c->enabled;
}

int dbs_dir_config_csrf_check(const dbs_dir_config_t *c)
{
    return c->csrf_check == DBS_UNSET ? DBS_DEFAULT_CSRF_CHECK : c->csrf_check;
}

int dbs_dir_config_writes(const dbs_dir_config_t *c)
{
    return c->writes == DBS_UNSET ? DBS_DEFAULT_WRITES : c->writes;
}

void dbs_dir_config_resolve(const dbs_dir_config_t *in, dbs_dir_config_t *out)
{
    DEFAULT_INT(enabled, DBS_DEFAULT_ENABLED);
    DEFAULT_INT(cookie_secure, DBS_DEFAULT_COOKIE_SECURE);
    DEFAULT_INT(cookie_httponly, DBS_DEFAULT_COOKIE_HTTPONLY);
    DEFAULT_INT(csrf_check, DBS_DEFAULT_CSRF_CHECK);
    DEFAULT_INT(request_headers, DBS_DEFAULT_REQUEST_HEADERS);
    DEFAULT_INT(writes, DBS_DEFAULT_WRITES);
    DEFAULT_INT(cookie_samesite, DBS_DEFAULT_COOKIE_SAMESITE);
    DEFAULT_INT(rollback_status, DBS_DEFAULT_ROLLBACK_STATUS);
    DEFAULT_INT(cookie_max_age, DBS_DEFAULT_COOKIE_MAX_AGE);
    DEFAULT_INT(idle_timeout, DBS_DEFAULT_IDLE_TIMEOUT);
    DEFAULT_INT(absolute_timeout, DBS_DEFAULT_ABSOLUTE_TIMEOUT);
    DEFAULT_INT(extension_delay, DBS_DEFAULT_EXTENSION_DELAY);
    DEFAULT_INT(renewal_timeout, DBS_DEFAULT_RENEWAL_TIMEOUT);
    DEFAULT_INT(lock_timeout, DBS_DEFAULT_LOCK_TIMEOUT);
    DEFAULT_INT(max_size, DBS_DEFAULT_MAX_SIZE);
    DEFAULT_PTR(cookie_name, DBS_DEFAULT_COOKIE_NAME);
    DEFAULT_PTR(cookie_path, DBS_DEFAULT_COOKIE_PATH);
    DEFAULT_PTR(cookie_domain, NULL);
    DEFAULT_PTR(env_prefix, DBS_DEFAULT_ENV_PREFIX);
    DEFAULT_PTR(login_url, NULL);
    DEFAULT_PTR(enabled_at, NULL);
    if (strncmp(out->cookie_name, DBS_HOST_PREFIX, strlen(DBS_HOST_PREFIX)) ==
        0) {
        out->cookie_secure = 1;
        out->cookie_path = "/";
        out->cookie_domain = NULL;
    }
}

const char *dbs_dir_config_check(apr_pool_t *pool, const dbs_dir_config_t *c)
{
    if (c->idle_timeout > 0 && c->absolute_timeout > 0 &&
        c->absolute_timeout <= c->idle_timeout) {
        return apr_psprintf(
            pool,
            "DBSessionAbsoluteTimeout (%" APR_INT64_T_FMT
            ") must be longer than DBSessionIdleTimeout (%" APR_INT64_T_FMT
            ") when both are on",
            c->absolute_timeout, c->idle_timeout);
    }
    if (c->cookie_samesite == DBS_SAMESITE_NONE && !c->cookie_secure) {
        return "DBSessionCookieSameSite None requires DBSessionCookieSecure On "
               "(browsers drop SameSite=None cookies that are not Secure)";
    }
    return NULL;
}

void dbs_dir_config_policy(const dbs_dir_config_t *c, dbs_policy_t *out)
{
    out->idle_timeout = c->idle_timeout;
    out->absolute_timeout = c->absolute_timeout;
    out->extension_delay = c->extension_delay;
    out->renewal_timeout = c->renewal_timeout;
}

dbs_server_config_t *dbs_server_config_make(apr_pool_t *pool)
{
    dbs_server_config_t *c = apr_pcalloc(pool, sizeof(*c));

    c->cipher = DBS_UNSET;
    c->cleanup_interval = DBS_UNSET;
    return c;
}

dbs_server_config_t *dbs_server_config_merge(apr_pool_t *pool,
                                             const dbs_server_config_t *base,
                                             const dbs_server_config_t *add)
{
    dbs_server_config_t *out = apr_pcalloc(pool, sizeof(*out));

    MERGE_PTR(keys);
    MERGE_PTR(keys_at);
    MERGE_PTR(table);
    MERGE_INT(cipher);
    MERGE_PTR(cipher_at);
    MERGE_INT(cleanup_interval);
    return out;
}

void dbs_server_config_resolve(const dbs_server_config_t *in,
                               dbs_server_config_t *out)
{
    DEFAULT_PTR(keys, NULL);
    DEFAULT_PTR(keys_at, NULL);
    DEFAULT_PTR(table, DBS_DEFAULT_TABLE);
    DEFAULT_INT(cipher, DBS_DEFAULT_CIPHER);
    DEFAULT_PTR(cipher_at, NULL);
    DEFAULT_INT(cleanup_interval, DBS_DEFAULT_CLEANUP_INTERVAL);
}
