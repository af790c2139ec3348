/* libFuzzer: walking the Cookie headers of a request, with both ciphers.
 * The input is header text, one Cookie header per line. Whatever the
 * client sends, at most DBS_COOKIES_CONSIDERED well-formed values are
 * looked at (more forbid clearing the cookie), every
 * ID comes once and is one that seals and opens to itself, and the counts
 * agree with each other. */
#include "fuzz_common.h"
#include "dbs_cookie.h"

#include <apr_strings.h>

#define NAME "session"

static apr_array_header_t *header_lines(apr_pool_t *pool, char *text)
{
    apr_array_header_t *headers = apr_array_make(pool, 4, sizeof(char *));
    char *line, *last;

    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        APR_ARRAY_PUSH(headers, const char *) = line;
    }
    return headers;
}

static void check_walk(apr_pool_t *pool, const dbs_cookie_walk_t *walk,
                       dbs_cipher_e cipher)
{
    int i, k;

    if (walk->considered > DBS_COOKIES_CONSIDERED ||
        walk->presented !=
            (walk->considered > 0 || walk->rejected > 0 || walk->skipped > 0) ||
        walk->ids->nelts > walk->considered ||
        (walk->skipped > 0 && walk->considered != DBS_COOKIES_CONSIDERED) ||
        dbs_cookie_may_clear(walk) != (walk->presented && !walk->skipped) ||
        walk->unknown_key > walk->rejected ||
        walk->unknown_key > walk->considered ||
        walk->old_key->nelts != walk->ids->nelts ||
        strlen(walk->first_rejected) !=
            (walk->rejected ? DBS_FINGERPRINT_CHARS : 0)) {
        abort();
    }
    for (i = 0; i < walk->ids->nelts; i++) {
        const unsigned char *id =
            (const unsigned char *)walk->ids->elts + i * DBS_ID_BYTES;
        unsigned char again[DBS_ID_BYTES];
        int key_index;

        for (k = 0; k < i; k++) {
            if (memcmp(walk->ids->elts + k * DBS_ID_BYTES, id, DBS_ID_BYTES) ==
                0) {
                abort();
            }
        }
        if (dbs_cookie_open_key(
                fuzz_keys, cipher,
                dbs_cookie_seal(pool, fuzz_keys, cipher, id, NAME), NAME, again,
                &key_index) != APR_SUCCESS ||
            key_index != 0 || memcmp(id, again, DBS_ID_BYTES) != 0 ||
            dbs_cookie_needs_reseal(walk, id) !=
                APR_ARRAY_IDX(walk->old_key, i, int)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    const char *text;
    int cipher;

    apr_pool_create(&pool, fuzz_root);
    text = fuzz_string(pool, data, size);
    for (cipher = DBS_CIPHER_XCHACHA20POLY1305; cipher <= DBS_CIPHER_AES256GCM;
         cipher++) {
        apr_array_header_t *headers =
            header_lines(pool, apr_pstrdup(pool, text));
        apr_array_header_t *before = apr_array_copy(pool, headers);
        dbs_cookie_walk_t walk;
        int i;

        if (!dbs_cipher_available((dbs_cipher_e)cipher)) {
            continue;
        }
        for (i = 0; i < before->nelts; i++) {
            APR_ARRAY_IDX(before, i, const char *) =
                apr_pstrdup(pool, APR_ARRAY_IDX(before, i, const char *));
        }
        dbs_cookie_walk(&walk, pool, headers, NAME, fuzz_keys,
                        (dbs_cipher_e)cipher);
        check_walk(pool, &walk, (dbs_cipher_e)cipher);
        /* The headers are the request's: the walk only reads them. */
        for (i = 0; i < before->nelts; i++) {
            if (strcmp(APR_ARRAY_IDX(before, i, const char *),
                       APR_ARRAY_IDX(headers, i, const char *)) != 0) {
                abort();
            }
        }
    }
    apr_pool_destroy(pool);
    return 0;
}
