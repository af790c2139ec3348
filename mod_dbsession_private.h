/*
 * What the two halves of the glue share: mod_dbsession_config.c (directives,
 * startup checks) and mod_dbsession.c (the request's life cycle). Not
 * installed: other modules use mod_dbsession.h.
 */
#ifndef MOD_DBSESSION_PRIVATE_H
#define MOD_DBSESSION_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_dbd.h"
#include "apr_optional.h"
#include "mod_dbd.h"

#include "dbs_config.h"
#include "dbs_stats.h"
#include "dbs_store.h"

/* The one symbol the module exports, the record httpd looks up by name:
 * glue and core are compiled with -fvisibility=hidden (Makefile, checked by
 * t/check-exports.sh), and AP_MODULE_DECLARE_DATA is empty on Unix. */
extern module AP_MODULE_DECLARE_DATA dbsession_module
    __attribute__((visibility("default")));

/* The module's log index in every glue file, so that "LogLevel
 * dbsession:debug" applies to all of them. mod_dbsession.c defines the
 * module record with AP_DECLARE_MODULE, which declares the index itself:
 * it defines DBSESSION_DECLARES_MODULE first (the index defined twice is an
 * error). */
#ifndef DBSESSION_DECLARES_MODULE
APLOG_USE_MODULE(dbsession);
#endif

/* The tag of each log message, as httpd's APLOGNO: "DBSnnn: ". The README
 * lists them all. */
#define DBSLOGNO(n) "DBS" #n ": "

/* Seconds a client is told to wait after a 503. */
#define DBSESSION_RETRY_AFTER "1"

typedef struct {
    dbs_server_config_t core;
    /* Directory configs that this server's sections set, for the checks. */
    apr_array_header_t *scopes;
    const char *enabled_at; /* first "DBSession On" of this server */
    /* Made in post_config from the merged, resolved config. */
    dbs_server_config_t resolved;
    dbs_store_t *store;
} server_conf_t;

typedef APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) dbd_acquire_fn;
typedef APR_OPTIONAL_FN_TYPE(ap_dbd_open) dbd_open_fn;
typedef APR_OPTIONAL_FN_TYPE(ap_dbd_close) dbd_close_fn;

/* mod_dbd's optional functions and module record, found at check_config
 * (NULL without mod_dbd). */
typedef struct {
    dbd_acquire_fn *acquire;
    dbd_open_fn *open;
    dbd_close_fn *close;
    module *module;
} mod_dbd_t;
extern mod_dbd_t dbsession_mod_dbd;

/* Configuration (mod_dbsession_config.c). */
void *dbsession_create_server_conf(apr_pool_t *pool, server_rec *s);
void *dbsession_merge_server_conf(apr_pool_t *pool, void *basev, void *addv);
void *dbsession_create_dir_conf(apr_pool_t *pool, char *dir);
void *dbsession_merge_dir_conf(apr_pool_t *pool, void *base, void *add);
extern const command_rec dbsession_cmds[];

/* check_config: cross-directive checks, so that "apachectl -t" reports
 * them; post_config: resolve each server's configuration, make its store. */
int dbsession_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *main_server);
int dbsession_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *main_server);

/* The server-wide counters and their handler (mod_dbsession_status.c).
 * dbsession_stats is NULL without shared memory; dbs_stats_add takes
 * that. Attached in post_config, in the parent. */
extern dbs_stats_t *dbsession_stats;
void dbsession_stats_attach(server_rec *main_server);
int dbsession_status_handler(request_rec *r);

#endif
