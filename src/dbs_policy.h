/*
 * dbs_policy: when a session is expired, when it expires, and when a
 * read-only request should write the idle extension. httpd-free, all times
 * in Unix seconds, a timeout of 0 means "off".
 */
#ifndef DBS_POLICY_H
#define DBS_POLICY_H

#include <apr.h>

/* Stored in expires_at when no timeout is on, so cleanup never takes it. */
#define DBS_NEVER_EXPIRES APR_INT64_C(253402300799) /* 9999-12-31 */

typedef struct {
    apr_int64_t idle_timeout;
    apr_int64_t absolute_timeout;
    apr_int64_t extension_delay;
} dbs_policy_t;

/* Expired when now > last activity + idle, or now > created + absolute. */
int dbs_policy_expired(const dbs_policy_t *p, apr_int64_t created_at,
                       apr_int64_t active_at, apr_int64_t now);

/* The earlier of the idle and absolute expiry; 0 when neither is on. */
apr_int64_t dbs_policy_expires_at(const dbs_policy_t *p, apr_int64_t created_at,
                                  apr_int64_t active_at);

/* What the database stores for cleanup (DBS_NEVER_EXPIRES when none on). */
apr_int64_t dbs_policy_row_expiry(const dbs_policy_t *p, apr_int64_t created_at,
                                  apr_int64_t active_at);

/* A request that changes nothing writes the idle extension only when idle
 * expiry is on and the last write is at least extension_delay old. */
int dbs_policy_wants_extension(const dbs_policy_t *p, apr_int64_t active_at,
                               apr_int64_t now);

#endif
