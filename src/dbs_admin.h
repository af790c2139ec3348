/*
 * dbs_admin: what an operator asks of the session table (dbsessionctl):
 * counts, a user's live sessions, revoking them, finding the row of an ID.
 *
 * httpd-free, on a dbs_txn_t of the store, each command in a transaction
 * of its own (dbs_store_begin / dbs_store_end), so SQLite's writes queue
 * behind the module's writers like theirs do. On failure dbs_txn_error()
 * says why. Sessions are shown and revoked by the
 * first hex digits of their ID hash (what DBS022 logs); the ID itself is
 * never stored, so it cannot be shown.
 */
#ifndef DBS_ADMIN_H
#define DBS_ADMIN_H

#include "dbs_store.h"

/* Digits of the ID hash shown for a session. */
#define DBS_ADMIN_PREFIX_CHARS 8
/* The least a revoke-id prefix may give: fewer would match by accident. */
#define DBS_ADMIN_MIN_PREFIX 6
/* How long a command waits for a session a request holds (the lock timeout
 * of its dbs_txn_t). */
#define DBS_ADMIN_LOCK_TIMEOUT 10

typedef struct {
    apr_int64_t rows, live, expired, with_user;
} dbs_admin_counts_t;

typedef struct {
    char hash_prefix[DBS_ADMIN_PREFIX_CHARS + 1]; /* of the current ID */
    const char *user;
    apr_int64_t created_at, active_at, expires_at;
    int via_previous; /* found by the ID a renewal replaced */
} dbs_admin_session_t;

/* Rows in all; live (expires_at >= now) and expired; live with a user. */
apr_status_t dbs_admin_counts(dbs_txn_t *t, apr_int64_t now,
                              dbs_admin_counts_t *out);

/* The live sessions of user, oldest first (dbs_admin_session_t). */
apr_status_t dbs_admin_list_user(dbs_txn_t *t, const char *user,
                                 apr_int64_t now,
                                 apr_array_header_t **sessions);

/* Delete every session of user (log out everywhere). */
apr_status_t dbs_admin_revoke_user(dbs_txn_t *t, const char *user,
                                   int *deleted);

/* Delete the one session whose ID hash starts with prefix (lowercase hex,
 * at least DBS_ADMIN_MIN_PREFIX digits). *matched says how many did: with
 * more than one nothing is deleted (APR_EINVAL for a bad prefix). */
apr_status_t dbs_admin_revoke_prefix(dbs_txn_t *t, const char *prefix,
                                     int *matched);

/* The row of an ID hash, current or previous (renewal); *found 0 if none. */
apr_status_t dbs_admin_find(dbs_txn_t *t, const char *id_hash,
                            dbs_admin_session_t *session, int *found);

#endif
