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
    apr_int64_t renewal_timeout;
} dbs_policy_t;

/* How long a renewed session's previous ID keeps working once the new one
 * came back (parallel requests, a second tab); also how long a new ID may
 * take to come back before it counts as lost. */
#define DBS_RENEWAL_GRACE 60

/* previous_until while the current ID has not come back yet: it replaced
 * the previous ID (pending), or it already replaced a new ID that never
 * came back (replaced: a new ID is replaced at most once per renewal). */
#define DBS_PREVIOUS_PENDING  0
#define DBS_PREVIOUS_REPLACED (-1)

/* Where a session's ID stands in renewal. */
typedef struct {
    apr_int64_t renewed_at; /* the current ID was issued */
    int has_previous;       /* the ID it replaced is still known */
    /* > 0: the previous ID works until then; else DBS_PREVIOUS_PENDING or
     * DBS_PREVIOUS_REPLACED, until the current ID is presented. */
    apr_int64_t previous_until;
    int presented_previous; /* the request came with the previous ID */
} dbs_renewal_state_t;

typedef enum {
    DBS_RENEWAL_KEEP = 0, /* nothing to do */
    DBS_RENEWAL_CONFIRM,  /* the new ID came back: the old one's grace starts */
    DBS_RENEWAL_ROTATE,   /* issue a new ID; the current one becomes previous */
    DBS_RENEWAL_REPLACE,  /* the new ID never came back (a lost response):
                             issue another, the previous one stays; once */
    DBS_RENEWAL_VIOLATION /* the previous ID after its grace, or asking for
                             a second replacement: unknown */
} dbs_renewal_e;

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

/* The renewal step for a request (README "Renewal"). At most one previous
 * ID is alive: a session is not renewed again while its previous ID is. */
dbs_renewal_e dbs_policy_renewal(const dbs_policy_t *p,
                                 const dbs_renewal_state_t *r, apr_int64_t now);

#endif
