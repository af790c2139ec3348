/*
 * dbs_session: one request's view of its session, the write-back operations
 * a response asks for, and what to store and which cookie to send.
 *
 * httpd-free: the glue hands in the header values and a database connection;
 * this file decides (README "Writing: response headers", Guarantee 7).
 */
#ifndef DBS_SESSION_H
#define DBS_SESSION_H

#include "dbs_crypto.h"
#include "dbs_policy.h"
#include "dbs_store.h"

/* Write-back operations of one response, in their order of application.
 * Each array holds the raw header values (char *), possibly several. */
typedef enum {
    DBS_OP_INVALIDATE = 0,
    DBS_OP_CLEAR,
    DBS_OP_UNSET,
    DBS_OP_SET,
    DBS_OP_USER,
    DBS_OP_REGENERATE,
    DBS_OP_REVOKE_OTHERS,
    DBS_OP_FLASH,
    DBS_OP_COUNT
} dbs_op_e;

/* Response header names, indexed by dbs_op_e. */
extern const char *const dbs_op_headers[DBS_OP_COUNT];

typedef struct {
    apr_array_header_t *values[DBS_OP_COUNT];
} dbs_writes_t;

typedef enum {
    DBS_COOKIE_NONE = 0, /* leave the client's cookie alone */
    DBS_COOKIE_SET,      /* send a cookie for id */
    DBS_COOKIE_CLEAR     /* expire the client's cookie */
} dbs_cookie_action_e;

typedef struct {
    int loaded;         /* a live row was found for id */
    int cookie_invalid; /* a cookie came but did not lead to a live row */
    unsigned char id[DBS_ID_BYTES];
    char id_hash[DBS_HASH_HEX_CHARS + 1];
    apr_table_t *data;
    const char *user;  /* "" = none */
    const char *flash; /* stored form: %-encoded messages joined by & */
    const char *csrf;  /* "" = none yet */
    apr_int64_t created_at;
    apr_int64_t active_at;
    /* Renewal (see dbs_policy_renewal). With via_previous the request came
     * with the ID a renewal replaced: id is that old ID, id_hash the
     * session's current one, and no cookie can be sent for it. */
    apr_int64_t renewed_at;
    const char *prev_hash;
    apr_int64_t prev_until;
    int via_previous;
    /* Replaced IDs presented after their grace, and the current ID hash
     * prefix of the (last) session they belonged to, for the log. */
    int renewal_violations;
    char violated[DBS_FINGERPRINT_CHARS + 1];
    /* What this request changed. */
    int changed;       /* data, user or flash */
    int rotate;        /* a new ID: Regenerate or a change of user */
    int deleted;       /* Invalidate: the loaded row goes */
    int revoke_others; /* the user's other sessions go */
    int end_grace;     /* a renewed-away ID dies now (Revoke-Others) */
    int logout;        /* DBS_LOGOUT_* bits this request asked for */
    int revoked;       /* how many did, once saved */
    int renewed;       /* the save issued a new ID for renewal */
    int created;       /* the save stored a new session */
} dbs_session_t;

void dbs_session_init(dbs_session_t *s, apr_pool_t *pool);

/* Look the cookie's ID up in the open transaction t (id NULL: no usable
 * cookie). Expired rows, and IDs a renewal replaced once their grace is
 * over, are treated as absent. A database error is the store's (see
 * dbs_store.h: APR_TIMEUP for a lock wait that ran out). */
apr_status_t dbs_session_load(dbs_txn_t *t, dbs_session_t *s,
                              const unsigned char *id, const dbs_policy_t *p,
                              apr_int64_t now);

/* Begin t's transaction and load (and lock) the session of the first ID in
 * ids (an array of DBS_ID_BYTES-byte elements, the IDs of the cookies that
 * opened, in order) that has a live row. cookie_invalid is set when IDs
 * came but none was live.
 *
 * A pooled connection can have died with a database restart, or lost its
 * prepared statements: on a database error the connection is revived and
 * the open tried once more (*retried then holds the first error, for the
 * log). On failure no transaction is left open. */
apr_status_t dbs_session_open(dbs_txn_t *t, dbs_session_t *s,
                              const apr_array_header_t *ids,
                              const dbs_policy_t *p, apr_int64_t now,
                              const char **retried);

/* Hand out the pending flash messages and drop them from the session. */
const char *dbs_session_take_flash(dbs_session_t *s);

dbs_writes_t *dbs_writes_make(apr_pool_t *pool);
int dbs_writes_empty(const dbs_writes_t *w);

/* Logouts and revocations, which must never fail silently: when the
 * request rolls back the glue says so (s->logout: applied; of writes never
 * applied, dbs_writes_logout). */
#define DBS_LOGOUT_INVALIDATE    1
#define DBS_LOGOUT_REVOKE_OTHERS 2
int dbs_writes_logout(const dbs_writes_t *w);

/* Apply all writes of one response, or none: on a bad value or when the data
 * would exceed max_size, s is untouched and *err says why. */
apr_status_t dbs_session_apply(dbs_session_t *s, apr_pool_t *pool,
                               const dbs_writes_t *w, apr_int64_t max_size,
                               const char **err);

/* Store what the request changed (inside the caller's transaction) and say
 * what the cookie should do. Renewal happens here: a committing response
 * past DBSessionRenewalTimeout gets a new ID (s->renewed). Revoke-Others
 * deletes the user's other sessions in the same transaction (s->revoked counts
 * them). With a cookie Max-Age, every write that extends the idle expiry also
 * re-sends the cookie so that both move together. */
apr_status_t dbs_session_save(dbs_txn_t *t, dbs_session_t *s,
                              const dbs_policy_t *p, apr_int64_t now,
                              apr_int64_t cookie_max_age,
                              dbs_cookie_action_e *cookie);

#endif
