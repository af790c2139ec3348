/* libFuzzer: opening a cookie value, with both ciphers. Whatever opens must
 * be a base64url string that seals back to the same ID. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    unsigned char id[DBS_ID_BYTES], again[DBS_ID_BYTES];
    const char *value;
    int cipher;

    apr_pool_create(&pool, fuzz_root);
    value = fuzz_string(pool, data, size);
    for (cipher = DBS_CIPHER_XCHACHA20POLY1305; cipher <= DBS_CIPHER_AES256GCM;
         cipher++) {
        if (!dbs_cipher_available((dbs_cipher_e)cipher) ||
            dbs_cookie_open(fuzz_keys, (dbs_cipher_e)cipher, value, "session",
                            id) != APR_SUCCESS) {
            continue;
        }
        if (value[strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                                "tuvwxyz0123456789-_")] != '\0' ||
            dbs_cookie_open(fuzz_keys, (dbs_cipher_e)cipher,
                            dbs_cookie_seal(pool, fuzz_keys,
                                            (dbs_cipher_e)cipher, id,
                                            "session"),
                            "session", again) != APR_SUCCESS ||
            memcmp(id, again, DBS_ID_BYTES) != 0) {
            abort();
        }
    }
    apr_pool_destroy(pool);
    return 0;
}
