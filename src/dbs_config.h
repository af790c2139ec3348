/*
 * dbs_config: the module's configuration records, their defaults and the one
 * merge rule. httpd-free so that merging and the cross-directive checks are
 * unit-tested.
 *
 * Every field starts "unset" (DBS_UNSET, or NULL for strings and the key
 * ring); a merge takes the more specific value when it is set. Readers use a
 * resolved copy (dbs_dir_config_resolve), which has no unset fields left.
 */
#ifndef DBS_CONFIG_H
#define DBS_CONFIG_H

#include "dbs_crypto.h"
#include "dbs_parse.h"
#include "dbs_policy.h"

#define DBS_UNSET (-1)

#define DBS_DEFAULT_ENABLED          0
#define DBS_DEFAULT_TABLE            "dbsession"
#define DBS_DEFAULT_CIPHER           DBS_CIPHER_XCHACHA20POLY1305
#define DBS_DEFAULT_CLEANUP_INTERVAL 300
#define DBS_DEFAULT_COOKIE_NAME      "session"
#define DBS_DEFAULT_COOKIE_PATH      "/"
#define DBS_DEFAULT_COOKIE_SECURE    1
#define DBS_DEFAULT_COOKIE_HTTPONLY  1
#define DBS_DEFAULT_CSRF_CHECK       0
#define DBS_DEFAULT_REQUEST_HEADERS  0
#define DBS_DEFAULT_WRITES           1
#define DBS_DEFAULT_COOKIE_SAMESITE  DBS_SAMESITE_LAX
#define DBS_DEFAULT_COOKIE_MAX_AGE   0
#define DBS_DEFAULT_IDLE_TIMEOUT     1800
#define DBS_DEFAULT_ABSOLUTE_TIMEOUT 86400
#define DBS_DEFAULT_EXTENSION_DELAY  60
#define DBS_DEFAULT_RENEWAL_TIMEOUT  0
#define DBS_DEFAULT_ROLLBACK_STATUS  400
#define DBS_DEFAULT_LOCK_TIMEOUT     10
#define DBS_DEFAULT_MAX_SIZE         65536
#define DBS_DEFAULT_ENV_PREFIX       "SESSION_"
#define DBS_HOST_PREFIX              "__Host-"

typedef struct {
    int enabled;
    int cookie_secure;
    int cookie_httponly;
    int csrf_check;      /* POST, PUT, PATCH, DELETE must carry the token */
    int request_headers; /* the session as DBSession-* request headers */
    int writes;          /* X-DBSession-* response headers are applied */
    int cookie_samesite; /* dbs_samesite_e */
    int rollback_status;
    apr_int64_t cookie_max_age;
    apr_int64_t idle_timeout;
    apr_int64_t absolute_timeout;
    apr_int64_t extension_delay;
    apr_int64_t renewal_timeout;
    apr_int64_t lock_timeout;
    apr_int64_t max_size;
    const char *cookie_name;
    const char *cookie_path;
    const char *cookie_domain;
    const char *env_prefix;
    const char *login_url; /* AuthType DBSession: where to send the anonymous */
    /* "file:line" of the DBSession directive, for startup errors. */
    const char *enabled_at;
} dbs_dir_config_t;

typedef struct {
    dbs_keyring_t *keys;
    const char *keys_at; /* "file:line" of the first key directive */
    const char *table;
    int cipher;
    const char *cipher_at;
    apr_int64_t cleanup_interval;
} dbs_server_config_t;

dbs_dir_config_t *dbs_dir_config_make(apr_pool_t *pool);
dbs_dir_config_t *dbs_dir_config_merge(apr_pool_t *pool,
                                       const dbs_dir_config_t *base,
                                       const dbs_dir_config_t *add);
/* Fill every unset field with its default (a __Host- name also forces
 * Secure, Path=/ and no Domain). */
void dbs_dir_config_resolve(const dbs_dir_config_t *in, dbs_dir_config_t *out);
/* Cross-directive checks on a resolved config: NULL or a reason that names
 * the directives. */
const char *dbs_dir_config_check(apr_pool_t *pool, const dbs_dir_config_t *c);
void dbs_dir_config_policy(const dbs_dir_config_t *c, dbs_policy_t *out);
/* What the glue reads before it resolves a config: the value, or the
 * default where unset. */
int dbs_dir_config_enabled(const dbs_dir_config_t *c);
int dbs_dir_config_csrf_check(const dbs_dir_config_t *c);
int dbs_dir_config_writes(const dbs_dir_config_t *c);

dbs_server_config_t *dbs_server_config_make(apr_pool_t *pool);
dbs_server_config_t *dbs_server_config_merge(apr_pool_t *pool,
                                             const dbs_server_config_t *base,
                                             const dbs_server_config_t *add);
void dbs_server_config_resolve(const dbs_server_config_t *in,
                               dbs_server_config_t *out);

#endif
