/* dbs_crypto: see dbs_crypto.h. */
#include "dbs_crypto.h"

#include <string.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <sodium.h>

#define TAG_BYTES     16
#define XCHACHA_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define AESGCM_NONCE  crypto_aead_aes256gcm_NPUBBYTES
#define MAX_COOKIE_BYTES                                                       \
    (DBS_KEY_ID_BYTES + XCHACHA_NONCE + DBS_ID_BYTES + TAG_BYTES)
/* Associated data is key_id || cookie name; names are short tokens. */
#define MAX_COOKIE_NAME 256

apr_status_t dbs_crypto_init(void)
{
    return sodium_init() < 0 ? APR_EGENERAL : APR_SUCCESS;
}

int dbs_cipher_available(dbs_cipher_e cipher)
{
    if (cipher == DBS_CIPHER_AES256GCM) {
        return crypto_aead_aes256gcm_is_available();
    }
    return 1;
}

static size_t nonce_bytes(dbs_cipher_e cipher)
{
    return cipher == DBS_CIPHER_AES256GCM ? AESGCM_NONCE : XCHACHA_NONCE;
}

const char *dbs_key_decode(const char *text, unsigned char out[DBS_KEY_BYTES])
{
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL,
        sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE,
        sodium_base64_VARIANT_URLSAFE_NO_PADDING,
    };
    unsigned char buf[DBS_KEY_BYTES * 2];
    size_t len = strlen(text), decoded, i;
    const char *end;
    const char *err = "the key is not valid base64";

    if (len == 0) {
        return "the key is empty";
    }
    for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        if (sodium_base642bin(buf, sizeof(buf), text, len, NULL, &decoded, &end,
                              variants[i]) != 0 ||
            end != text + len) {
            continue;
        }
        if (decoded == DBS_KEY_BYTES) {
            memcpy(out, buf, DBS_KEY_BYTES);
            err = NULL;
        }
        else {
            err = "the key must decode to exactly 32 bytes "
                  "(make one with: openssl rand -base64 32)";
        }
        break;
    }
    sodium_memzero(buf, sizeof(buf));
    return err;
}

static apr_status_t keyring_wipe(void *data)
{
    dbs_keyring_t *ring = data;

    if (ring->keys->nelts > 0) {
        sodium_memzero(ring->keys->elts,
                       (size_t)ring->keys->nelts * sizeof(dbs_key_t));
    }
    return APR_SUCCESS;
}

dbs_keyring_t *dbs_keyring_make(apr_pool_t *pool)
{
    dbs_keyring_t *ring = apr_pcalloc(pool, sizeof(*ring));

    ring->keys = apr_array_make(pool, 2, sizeof(dbs_key_t));
    apr_pool_cleanup_register(pool, ring, keyring_wipe, apr_pool_cleanup_null);
    return ring;
}

const char *dbs_keyring_add(dbs_keyring_t *ring, const char *base64_key)
{
    dbs_key_t key;
    unsigned char digest[crypto_generichash_BYTES];
    const char *err = dbs_key_decode(base64_key, key.key);

    if (err) {
        return err;
    }
    crypto_generichash(digest, sizeof(digest), key.key, DBS_KEY_BYTES, NULL, 0);
    memcpy(key.key_id, digest, DBS_KEY_ID_BYTES);
    if (ring->keys->nelts == ring->keys->nalloc) {
        /* Grow by hand: apr_array_push would leave the old copy unwiped. */
        apr_array_header_t *bigger = apr_array_make(
            ring->keys->pool, ring->keys->nalloc * 2, sizeof(dbs_key_t));

        apr_array_cat(bigger, ring->keys);
        keyring_wipe(ring);
        ring->keys = bigger;
    }
    *(dbs_key_t *)apr_array_push(ring->keys) = key;
    sodium_memzero(&key, sizeof(key));
    return NULL;
}

const char *dbs_keyfile_check(apr_pool_t *pool, const char *path,
                              apr_filetype_e type, apr_fileperms_t prot,
                              apr_uid_t owner, apr_uid_t starter)
{
    if (type == APR_DIR) {
        return apr_psprintf(pool, "%s is a directory, not a key file", path);
    }
    if (type != APR_REG) {
        return apr_psprintf(pool, "%s is not a regular file", path);
    }
    if (prot & (APR_FPROT_GREAD | APR_FPROT_WREAD)) {
        return apr_psprintf(pool,
                            "%s is readable by its group or every user: "
                            "chmod go-r it (keys must stay secret)",
                            path);
    }
    if (prot & (APR_FPROT_GWRITE | APR_FPROT_WWRITE)) {
        return apr_psprintf(pool,
                            "%s is writable by its group or others: chmod "
                            "go-w it (whoever can write it chooses the keys)",
                            path);
    }
    if (owner != 0 && owner != starter) {
        return apr_psprintf(pool,
                            "%s is owned by uid %ld, neither root nor the "
                            "user httpd starts as (uid %ld): chown root it",
                            path, (long)owner, (long)starter);
    }
    return NULL;
}

const char *dbs_keyring_add_file(dbs_keyring_t *ring, apr_pool_t *pool,
                                 const char *path)
{
    apr_file_t *file;
    apr_finfo_t info;
    char line[512];
    int lineno = 0, added = 0;
    const char *err;
    apr_status_t rv;

    /* Checked on what was opened (no swap between a check and the open);
     * non-blocking, so that a FIFO cannot stall the startup. */
    rv = apr_file_open(&file, path, APR_FOPEN_READ | APR_FOPEN_NONBLOCK,
                       APR_FPROT_OS_DEFAULT, pool);
    if (rv != APR_SUCCESS) {
        char buf[120];
        return apr_psprintf(pool, "cannot open %s: %s", path,
                            apr_strerror(rv, buf, sizeof(buf)));
    }
    rv = apr_file_info_get(
        &info, APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_USER, file);
    err = rv != APR_SUCCESS
              ? apr_psprintf(pool, "cannot stat %s", path)
              : dbs_keyfile_check(pool, path, info.filetype, info.protection,
                                  info.user, (apr_uid_t)geteuid());
    if (err) {
        apr_file_close(file);
        return err;
    }
    while (apr_file_gets(line, sizeof(line), file) == APR_SUCCESS) {
        char *start = line, *end;

        lineno++;
        while (*start == ' ' || *start == '\t') {
            start++;
        }
        end = start + strlen(start);
        while (end > start && (end[-1] == '\n' || end[-1] == '\r' ||
                               end[-1] == ' ' || end[-1] == '\t')) {
            *--end = '\0';
        }
        if (*start == '\0' || *start == '#') {
            continue;
        }
        err = dbs_keyring_add(ring, start);
        if (err) {
            sodium_memzero(line, sizeof(line));
            apr_file_close(file);
            return apr_psprintf(pool, "%s line %d: %s", path, lineno, err);
        }
        added++;
    }
    sodium_memzero(line, sizeof(line));
    apr_file_close(file);
    return added ? NULL : apr_psprintf(pool, "%s holds no key", path);
}

int dbs_keyring_count(const dbs_keyring_t *ring)
{
    return ring ? ring->keys->nelts : 0;
}

void dbs_id_generate(unsigned char id[DBS_ID_BYTES])
{
    randombytes_buf(id, DBS_ID_BYTES);
}

void dbs_id_hash_hex(const unsigned char id[DBS_ID_BYTES],
                     char out[DBS_HASH_HEX_CHARS + 1])
{
    unsigned char digest[DBS_HASH_HEX_CHARS / 2];

    crypto_generichash(digest, sizeof(digest), id, DBS_ID_BYTES, NULL, 0);
    sodium_bin2hex(out, DBS_HASH_HEX_CHARS + 1, digest, sizeof(digest));
}

/* AD = key_id || cookie name, so a cookie cannot be replayed under another
 * name (e.g. from a less trusted application sharing the key). */
static size_t build_ad(unsigned char *ad, const unsigned char *key_id,
                       const char *cookie_name)
{
    size_t name_len = strlen(cookie_name);

    if (name_len > MAX_COOKIE_NAME) {
        name_len = MAX_COOKIE_NAME;
    }
    memcpy(ad, key_id, DBS_KEY_ID_BYTES);
    memcpy(ad + DBS_KEY_ID_BYTES, cookie_name, name_len);
    return DBS_KEY_ID_BYTES + name_len;
}

const char *dbs_cookie_seal(apr_pool_t *pool, const dbs_keyring_t *ring,
                            dbs_cipher_e cipher,
                            const unsigned char id[DBS_ID_BYTES],
                            const char *cookie_name)
{
    const dbs_key_t *key = &APR_ARRAY_IDX(ring->keys, 0, dbs_key_t);
    unsigned char raw[MAX_COOKIE_BYTES];
    unsigned char ad[DBS_KEY_ID_BYTES + MAX_COOKIE_NAME];
    size_t nlen = nonce_bytes(cipher);
    size_t total = DBS_KEY_ID_BYTES + nlen + DBS_ID_BYTES + TAG_BYTES;
    size_t ad_len = build_ad(ad, key->key_id, cookie_name);
    unsigned char *nonce = raw + DBS_KEY_ID_BYTES, *sealed = nonce + nlen;
    size_t b64_len = sodium_base64_ENCODED_LEN(
        total, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = apr_palloc(pool, b64_len);

    memcpy(raw, key->key_id, DBS_KEY_ID_BYTES);
    randombytes_buf(nonce, nlen);
    if (cipher == DBS_CIPHER_AES256GCM) {
        crypto_aead_aes256gcm_encrypt(sealed, NULL, id, DBS_ID_BYTES, ad,
                                      ad_len, NULL, nonce, key->key);
    }
    else {
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            sealed, NULL, id, DBS_ID_BYTES, ad, ad_len, NULL, nonce, key->key);
    }
    sodium_bin2base64(out, b64_len, raw, total,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

apr_status_t dbs_cookie_open(const dbs_keyring_t *ring, dbs_cipher_e cipher,
                             const char *value, const char *cookie_name,
                             unsigned char id_out[DBS_ID_BYTES])
{
    int key_index;

    return dbs_cookie_open_key(ring, cipher, value, cookie_name, id_out,
                               &key_index) == APR_SUCCESS
               ? APR_SUCCESS
               : APR_EGENERAL;
}

apr_status_t dbs_cookie_open_key(const dbs_keyring_t *ring, dbs_cipher_e cipher,
                                 const char *value, const char *cookie_name,
                                 unsigned char id_out[DBS_ID_BYTES],
                                 int *key_index)
{
    unsigned char raw[MAX_COOKIE_BYTES];
    unsigned char ad[DBS_KEY_ID_BYTES + MAX_COOKIE_NAME];
    size_t nlen = nonce_bytes(cipher);
    size_t expected = DBS_KEY_ID_BYTES + nlen + DBS_ID_BYTES + TAG_BYTES;
    size_t raw_len, ad_len;
    const char *end;
    const unsigned char *nonce = raw + DBS_KEY_ID_BYTES, *sealed = nonce + nlen;
    int i, known_id = 0;

    *key_index = -1;
    /* One session, one cookie string per seal: libsodium's decoder would
     * take other bytes (0x80-0xFF) as if they were '_'. */
    if (value[strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                            "vwxyz0123456789-_")] != '\0') {
        return APR_EGENERAL;
    }
    if (!ring || strlen(value) !=
                     sodium_base64_ENCODED_LEN(
                         expected, sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
                         1) {
        return APR_EGENERAL;
    }
    if (sodium_base642bin(raw, sizeof(raw), value, strlen(value), NULL,
                          &raw_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        *end != '\0' || raw_len != expected) {
        return APR_EGENERAL;
    }
    for (i = 0; i < ring->keys->nelts; i++) {
        const dbs_key_t *key = &APR_ARRAY_IDX(ring->keys, i, dbs_key_t);
        int rc;

        /* key_id is public (it is in the cookie): a plain compare is fine. */
        if (memcmp(raw, key->key_id, DBS_KEY_ID_BYTES) != 0) {
            continue;
        }
        known_id = 1;
        ad_len = build_ad(ad, key->key_id, cookie_name);
        if (cipher == DBS_CIPHER_AES256GCM) {
            rc = crypto_aead_aes256gcm_decrypt(id_out, NULL, NULL, sealed,
                                               DBS_ID_BYTES + TAG_BYTES, ad,
                                               ad_len, nonce, key->key);
        }
        else {
            rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
                id_out, NULL, NULL, sealed, DBS_ID_BYTES + TAG_BYTES, ad,
                ad_len, nonce, key->key);
        }
        if (rc == 0) {
            *key_index = i;
            return APR_SUCCESS;
        }
    }
    sodium_memzero(id_out, DBS_ID_BYTES);
    return known_id ? APR_EGENERAL : APR_ENOENT;
}

void dbs_cookie_fingerprint(const char *value,
                            char out[DBS_FINGERPRINT_CHARS + 1])
{
    unsigned char digest[crypto_generichash_BYTES];

    crypto_generichash(digest, sizeof(digest), (const unsigned char *)value,
                       strlen(value), NULL, 0);
    sodium_bin2hex(out, DBS_FINGERPRINT_CHARS + 1, digest,
                   DBS_FINGERPRINT_CHARS / 2);
}

/* 32 random bytes in base64 of the given variant. */
static const char *random_base64(apr_pool_t *pool, int variant)
{
    unsigned char raw[32];
    size_t len = sodium_base64_ENCODED_LEN(sizeof(raw), variant);
    char *out = apr_palloc(pool, len);

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, len, raw, sizeof(raw), variant);
    sodium_memzero(raw, sizeof(raw));
    return out;
}

const char *dbs_token_generate(apr_pool_t *pool)
{
    return random_base64(pool, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

const char *dbs_key_generate(apr_pool_t *pool)
{
    return random_base64(pool, sodium_base64_VARIANT_ORIGINAL);
}

int dbs_token_matches(const char *expected, const char *presented)
{
    size_t len = strlen(expected);

    return len > 0 && presented && strlen(presented) == len &&
           sodium_memcmp(expected, presented, len) == 0;
}
