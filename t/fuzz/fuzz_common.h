/* Shared by the libFuzzer harnesses: APR, libsodium and a pool per input. */
#ifndef DBS_FUZZ_COMMON_H
#define DBS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "dbs_crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Two keys, so that a cookie of a key but the first is opened too. */
#define FUZZ_KEY_FIRST  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define FUZZ_KEY_SECOND "Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA="

static apr_pool_t *fuzz_root;
static dbs_keyring_t *fuzz_keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&fuzz_root, NULL);
    fuzz_keys = dbs_keyring_make(fuzz_root);
    if (dbs_crypto_init() != APR_SUCCESS ||
        dbs_keyring_add(fuzz_keys, FUZZ_KEY_FIRST) ||
        dbs_keyring_add(fuzz_keys, FUZZ_KEY_SECOND)) {
        abort();
    }
    return 0;
}

/* The input as a C string (cut at its first NUL, as headers are). */
static char *fuzz_string(apr_pool_t *pool, const uint8_t *data, size_t size)
{
    char *s = apr_palloc(pool, size + 1);

    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
