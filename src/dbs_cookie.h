/*
 * dbs_cookie: which of the request's cookies of our name count, and the
 * Set-Cookie text the response sends.
 *
 * httpd-free. The glue hands over the raw Cookie request headers and logs
 * what the walk counted; sealing and opening are dbs_crypto's.
 */
#ifndef DBS_COOKIE_H
#define DBS_COOKIE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "dbs_config.h"
#include "dbs_crypto.h"
#include "dbs_parse.h"

/* A client may send many cookies of our name (cookie tossing): identical
 * values count once, and only the first this many distinct well-formed
 * values (base64url of exactly the sealed length of the cipher) are looked
 * at. Malformed values are refused without taking a place, so junk cannot
 * push the real cookie out. */
#define DBS_COOKIES_CONSIDERED 8

/* What a walk over the Cookie headers found. Arrays live in the walk's
 * pool. */
typedef struct {
    /* The IDs that opened, in the order their cookies came, each once
     * (of DBS_ID_BYTES-byte elements): the first live one wins, so a tossed
     * cookie cannot push a valid session out. */
    apr_array_header_t *ids;
    apr_array_header_t *old_key; /* int per ID: opened by a key but the first */
    int presented; /* a cookie of our name came (considered or not) */
    /* Distinct well-formed values looked at: DBS_COOKIES_CONSIDERED at most. */
    int considered;
    /* Well-formed values that came after the considered ones were full:
     * the real cookie may be among them. */
    int skipped;
    int rejected;    /* considered ones that did not open, and malformed ones */
    int unknown_key; /* of those, well-formed ones of a key id the ring lacks */
    /* Safe to log; "" when none was rejected. */
    char first_rejected[DBS_FINGERPRINT_CHARS + 1];
} dbs_cookie_walk_t;

/* Walk the values of the request's Cookie headers (headers: const char *,
 * in the order they came), taking every "name=value" pair of cookie_name
 * (pairs split on ';', leading blanks and tabs skipped) and opening its
 * value with the ring. */
void dbs_cookie_walk(dbs_cookie_walk_t *walk, apr_pool_t *pool,
                     const apr_array_header_t *headers, const char *cookie_name,
                     const dbs_keyring_t *ring, dbs_cipher_e cipher);

/* Whether a response may clear the client's cookie when the walk led to no
 * live session: a cookie of our name came, and every well-formed value was
 * considered (else the real one may be among those skipped, and clearing
 * would delete it). */
int dbs_cookie_may_clear(const dbs_cookie_walk_t *walk);

/* Whether the cookie that gave id was opened by a key but the first, so
 * that it should be sealed again with the first (key rotation). 0 for an ID
 * the walk did not find. */
int dbs_cookie_needs_reseal(const dbs_cookie_walk_t *walk,
                            const unsigned char id[DBS_ID_BYTES]);

/* The attributes of the Set-Cookie we send. */
typedef struct {
    const char *name;
    const char *path;
    const char *domain; /* NULL: no Domain attribute (host-only) */
    int secure;
    int httponly;
    dbs_samesite_e samesite; /* DBS_SAMESITE_OFF: no SameSite attribute */
    apr_int64_t max_age;     /* > 0: Max-Age; else until the browser closes */
} dbs_cookie_attrs_t;

/* The attributes a resolved directory configuration asks for. */
void dbs_cookie_attrs_of(const dbs_dir_config_t *c, dbs_cookie_attrs_t *out);

/* The Set-Cookie value that gives the client sealed_value (a
 * dbs_cookie_seal result), allocated in pool. */
const char *dbs_cookie_set_header(apr_pool_t *pool,
                                  const dbs_cookie_attrs_t *attrs,
                                  const char *sealed_value);

/* The Set-Cookie value that makes the client drop the cookie: Max-Age=0,
 * and an Expires in the past for clients that ignore Max-Age. */
const char *dbs_cookie_clear_header(apr_pool_t *pool,
                                    const dbs_cookie_attrs_t *attrs);

/* Shared caches must never store a response that sets or clears the
 * session cookie: the Cache-Control of such a response is the handler's
 * (value, NULL for none) without public, s-maxage and a qualified
 * private="...", with private. */
const char *dbs_cache_control_private(apr_pool_t *pool, const char *value);
/* Whether a Vary value already covers the Cookie header ("Cookie", "*"). */
int dbs_vary_has_cookie(apr_pool_t *pool, const char *value);

#endif
