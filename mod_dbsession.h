/*
 * mod_dbsession.h: the C API of mod_dbsession for other httpd modules.
 *
 * Every function is an optional function: retrieve it once, in your
 * module's optional_fn_retrieve hook, with APR_RETRIEVE_OPTIONAL_FN(name);
 * it is NULL when mod_dbsession is not loaded.
 *
 * All of them take any request_rec of the request (internal redirects and
 * subrequests share the initial request's session) and work from
 * header_parser on, in a location where "DBSession On" applies. Outside such
 * a location they return APR_ENOENT (dbsession_dbd returns NULL).
 *
 * Changes made through this API are stored like those of the X-DBSession-*
 * response headers: before the response headers go out, and committed or
 * rolled back with the request's transaction by the final status. A change
 * asked for after the headers went out is refused with APR_EGENERAL; one
 * that would exceed DBSessionMaxSize with APR_EINVAL. Nothing is changed
 * then.
 */
#ifndef MOD_DBSESSION_H
#define MOD_DBSESSION_H

#include "httpd.h"
#include "apr_dbd.h"
#include "apr_optional.h"
#include "mod_dbd.h"

/* *value is the decoded value of key, or NULL when the key is not set. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, dbsession_get,
                        (request_rec * r, const char *key, const char **value));

/* Set key (a value of NULL unsets it). APR_EINVAL for a key that is not of
 * the form [A-Za-z_][A-Za-z0-9_]{0,63}; nothing is changed then. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, dbsession_set,
                        (request_rec * r, const char *key, const char *value));

/* Set the session's user; NULL or "" clears it. A change of user also
 * gives the session a new ID (session fixation defence). */
APR_DECLARE_OPTIONAL_FN(apr_status_t, dbsession_set_user,
                        (request_rec * r, const char *user));

/* A new session ID, data kept; the old ID stops working. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, dbsession_regenerate, (request_rec * r));

/* Delete the session and expire the cookie; values set afterwards in the
 * same request start a fresh session. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, dbsession_invalidate, (request_rec * r));

/* Delete every other session of this session's user ("log out everywhere
 * else", after a password change), in this request's transaction: rolled
 * back with it. Applied after a change of user or a new ID in the same
 * request, so the current session is kept under its new ID. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, dbsession_revoke_others,
                        (request_rec * r));

/* The request's mod_dbd connection, inside the session's transaction: what
 * a module writes through it commits or rolls back with the session. It is
 * the connection ap_dbd_acquire(r) returns; never close it. */
APR_DECLARE_OPTIONAL_FN(ap_dbd_t *, dbsession_dbd, (request_rec * r));

#endif
