/*
 * What the files of the glue share. mod_dbsession.c is the request's life
 * cycle and the one list of hooks; beside it, by concern:
 *   mod_dbsession_config.c  directives and startup checks
 *   mod_dbsession_dbd.c     lending the session's mod_dbd connection
 *   mod_dbsession_csrf.c    DBSessionCSRFCheck: the token, the body replay
 *   mod_dbsession_api.c     the C API of mod_dbsession.h
 *   mod_dbsession_status.c  the counters' shared memory, dbsession-status
 *   mod_dbsession_interim.c interim responses without X-DBSession-*
 * Not installed: other modules use mod_dbsession.h.
 */
#ifndef MOD_DBSESSION_PRIVATE_H
#define MOD_DBSESSION_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_filter.h"

#include "apr_dbd.h"
#include "apr_optional.h"
#include "mod_dbd.h"

#include "dbs_config.h"
#include "dbs_policy.h"
#include "dbs_session.h"
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
    /* A session scope or DBSessionRequestHeaders On somewhere in this
     * server: client headers that pose as the session are dropped. */
    int drops_session_headers;
    /* mod_dbd's DBDMax for this server (read from the configuration), and
     * the gate that counts this child's sessions' connections against it
     * (mod_dbsession_dbd.c; NULL without threads). */
    int dbd_max;
    struct dbsession_gate_t *gate;
} dbsession_server_conf_t;

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
} dbsession_mod_dbd_t;
extern dbsession_mod_dbd_t dbsession_mod_dbd;

/* The session of one request (of its initial request_rec, shared by its
 * internal redirects and subrequests). Where its transaction stands is
 * the core's (dbs_txn_state, dbs_txn_doomed). */
typedef struct {
    request_rec *initial;
    dbsession_server_conf_t *sconf;
    dbs_dir_config_t conf; /* resolved, of the request that opened it */
    dbs_policy_t policy;
    ap_dbd_t *dbd;            /* NULL once given back (or never had) */
    int owns_dbd;             /* from mod_dbd's pool by us, given back */
    int gated;                /* it holds a place of sconf->gate */
    apr_array_header_t *lent; /* request_recs that ap_dbd_acquire() it */
    dbs_txn_t *txn;           /* the transaction on dbd */
    dbs_session_t session;
    apr_int64_t now;
    const char *flash;      /* exposed (and so consumed) by this request */
    const char *set_cookie; /* the Set-Cookie this request decided */
    int failed;             /* the database failed or was not to be had: 503 */
    int saved;              /* the writes were applied and stored */
    int reseal;             /* the cookie came sealed with an older key */
    int csrf_passed;        /* a request_rec of the chain passed the check */
    apr_bucket_brigade *body; /* the request body, received before it */
    int logout;               /* DBS_LOGOUT_* of writes that were not applied */
    apr_interval_time_t db_time; /* spent in the session's database work */
} dbsession_request_t;

/* The request_rec that a request's session belongs to: the first of its
 * internal redirects, the main request of its subrequests. */
request_rec *dbsession_initial_request(request_rec *r);
/* r's session, or NULL outside any session scope. */
dbsession_request_t *dbsession_request(request_rec *r);
/* Whether the request is done with the database: its transaction ended (or
 * never began) and the connection went back to mod_dbd. */
int dbsession_finished(const dbsession_request_t *rs);

/* A write that came after the session's transaction ended: not applied,
 * and logged (what: where it came from). */
void dbsession_log_late_write(request_rec *r, const char *what);

/* Count `which` in the server-wide counters. */
#define COUNT(which, n) dbs_stats_add(dbsession_stats, DBS_STAT_##which, (n))

/* Time a piece of the request's database work, for the counters. */
#define TIMED(rs, call)                                                        \
    do {                                                                       \
        apr_time_t timed_start_ = apr_time_now();                              \
        call;                                                                  \
        (rs)->db_time += apr_time_now() - timed_start_;                        \
    } while (0)

/* Lending the session's connection (mod_dbsession_dbd.c): other modules'
 * ap_dbd_acquire(r) on r returns it, so their writes join the session's
 * transaction, until dbsession_dbd_give_back returns it to mod_dbd. */
void dbsession_dbd_lend(dbsession_request_t *rs, request_rec *r);
void dbsession_dbd_give_back(dbsession_request_t *rs);
/* A connection of mod_dbd's pool for rs (rs->dbd, rs->owns_dbd), waiting
 * at most lock_timeout seconds when this child's sessions hold DBDMax of
 * them already (mod_dbd itself would wait without a deadline): APR_TIMEUP
 * then, APR_EGENERAL when mod_dbd has none to give. */
apr_status_t dbsession_dbd_take(dbsession_request_t *rs,
                                apr_int64_t lock_timeout);
/* child_init: each server's gate, in each child. */
void dbsession_dbd_child_init(apr_pool_t *pchild, server_rec *main_server);

/* DBSessionCSRFCheck (mod_dbsession_csrf.c): the fixups hook. */
int dbsession_csrf_fixups(request_rec *r);

/* Request bodies (mod_dbsession_body.c). dbsession_receive_body takes in
 * r's whole body before the session is opened (*body: the brigade that
 * replays it, NULL without one): OK or the HTTP status of a body that
 * could not be received. dbsession_replay_body gives an internally
 * redirected request_rec what is left of it. The input filter replays a
 * brigade read before the handler (f->ctx), the CSRF check's too. */
#define DBSESSION_BODY_FILTER "DBSESSION_BODY"
int dbsession_receive_body(request_rec *r, apr_bucket_brigade **body);
void dbsession_replay_body(request_rec *r, apr_bucket_brigade *body);
apr_status_t dbsession_body_replay(ap_filter_t *f, apr_bucket_brigade *bb,
                                   ap_input_mode_t mode, apr_read_type_e block,
                                   apr_off_t readbytes);

/* Interim responses (mod_dbsession_interim.c): httpd writes them to the
 * connection directly; a filter there drops their X-DBSession-* headers
 * for the rest of request r. */
void dbsession_interim_register(void);
void dbsession_interim_watch(request_rec *r);

/* The C API (mod_dbsession_api.c): registers the optional functions. */
void dbsession_api_register(void);

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
