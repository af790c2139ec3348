/*
 * dbs_crypto: session IDs, their stored hash, and the sealed cookie.
 *
 * httpd-free. The cookie format is part of the contract (README "The cookie"):
 *   base64url-nopad( key_id[4] || nonce || AEAD(session_id[32]) || tag[16] )
 *   key_id = first 4 bytes of BLAKE2b-256(key); AD = key_id || cookie name.
 */
#ifndef DBS_CRYPTO_H
#define DBS_CRYPTO_H

#include <apr_file_info.h>
#include <apr_pools.h>
#include <apr_tables.h>

#define DBS_ID_BYTES       32
#define DBS_KEY_BYTES      32
#define DBS_KEY_ID_BYTES   4
#define DBS_HASH_HEX_CHARS 64
/* Short, non-reversible tag of a rejected cookie: safe to log. */
#define DBS_FINGERPRINT_CHARS 8

typedef enum {
    DBS_CIPHER_XCHACHA20POLY1305 = 0,
    DBS_CIPHER_AES256GCM = 1
} dbs_cipher_e;

typedef struct {
    unsigned char key[DBS_KEY_BYTES];
    unsigned char key_id[DBS_KEY_ID_BYTES];
} dbs_key_t;

/* The configured keys: the first seals, every one opens. */
typedef struct {
    apr_array_header_t *keys; /* of dbs_key_t */
} dbs_keyring_t;

/* Once per process, before any other call. */
apr_status_t dbs_crypto_init(void);

/* Whether this CPU can run the cipher (AES-256-GCM needs AES-NI). */
int dbs_cipher_available(dbs_cipher_e cipher);

/* Decode one base64 key (standard or url-safe, padding optional) that must
 * hold exactly 32 bytes. Returns NULL or a reason that never echoes the key. */
const char *dbs_key_decode(const char *text, unsigned char out[DBS_KEY_BYTES]);

dbs_keyring_t *dbs_keyring_make(apr_pool_t *pool);
const char *dbs_keyring_add(dbs_keyring_t *ring, const char *base64_key);
/* One key per line; '#' comments and blank lines ignored. The file must
 * pass dbs_keyfile_check, with the effective uid of the caller as the user
 * that starts httpd (the module reads it while httpd reads its
 * configuration, before it switches user). */
const char *dbs_keyring_add_file(dbs_keyring_t *ring, apr_pool_t *pool,
                                 const char *path);
int dbs_keyring_count(const dbs_keyring_t *ring);

void dbs_id_generate(unsigned char id[DBS_ID_BYTES]);

/* Lower-case hex of BLAKE2b-256(id): the only form the database sees. */
void dbs_id_hash_hex(const unsigned char id[DBS_ID_BYTES],
                     char out[DBS_HASH_HEX_CHARS + 1]);

/* Seal an ID into a cookie value under the ring's first key. */
const char *dbs_cookie_seal(apr_pool_t *pool, const dbs_keyring_t *ring,
                            dbs_cipher_e cipher,
                            const unsigned char id[DBS_ID_BYTES],
                            const char *cookie_name);

/* Open a cookie value; APR_SUCCESS and the ID, or APR_EGENERAL for anything
 * that is not a cookie we sealed for this name (the caller treats it as
 * absent). */
apr_status_t dbs_cookie_open(const dbs_keyring_t *ring, dbs_cipher_e cipher,
                             const char *value, const char *cookie_name,
                             unsigned char id_out[DBS_ID_BYTES]);
/* The same, and *key_index tells which key of the ring opened it (0 is the
 * sealing key; more means the cookie should be sealed again). A well-formed
 * cookie of a key id the ring does not hold gives APR_ENOENT (a retired or
 * foreign key). */
apr_status_t dbs_cookie_open_key(const dbs_keyring_t *ring, dbs_cipher_e cipher,
                                 const char *value, const char *cookie_name,
                                 unsigned char id_out[DBS_ID_BYTES],
                                 int *key_index);

void dbs_cookie_fingerprint(const char *value,
                            char out[DBS_FINGERPRINT_CHARS + 1]);

/* A fresh random token (CSRF): 32 bytes, base64url without padding. */
const char *dbs_token_generate(apr_pool_t *pool);

/* A new random key, in the base64 that DBSessionKey takes (dbsessionctl
 * keygen). */
const char *dbs_key_generate(apr_pool_t *pool);

/* Whether a presented token is the session's, in constant time (for equal
 * lengths). An empty session token matches nothing. */
int dbs_token_matches(const char *expected, const char *presented);

/* Whether a key file of this type, permissions and owner may be used, when
 * `starter` is the user httpd starts as: a regular file that no other user
 * can read and neither its group nor others can write (whoever can write it
 * chooses the keys), owned by root or `starter`. NULL or the reason,
 * naming path. */
const char *dbs_keyfile_check(apr_pool_t *pool, const char *path,
                              apr_filetype_e type, apr_fileperms_t prot,
                              apr_uid_t owner, apr_uid_t starter);

#endif
