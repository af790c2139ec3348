/* libFuzzer: the write-back header parsers (X-DBSession-Set, -Unset, the
 * items of joined headers, percent-decoding, user names). */
#include "fuzz_common.h"
#include "dbs_codec.h"

#include <apr_tables.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    char *value, *decoded;
    apr_table_t *into;
    apr_array_header_t *keys;
    int i;

    apr_pool_create(&pool, fuzz_root);
    value = fuzz_string(pool, data, size);
    into = apr_table_make(pool, 4);
    keys = apr_array_make(pool, 4, sizeof(char *));
    if (dbs_parse_assignments(pool, value, into) == NULL) {
        const apr_array_header_t *arr = apr_table_elts(into);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;

        for (i = 0; i < arr->nelts; i++) {
            if (!dbs_key_is_valid(e[i].key)) {
                abort();
            }
        }
    }
    if (dbs_parse_keys(pool, value, keys) == NULL) {
        for (i = 0; i < keys->nelts; i++) {
            if (!dbs_key_is_valid(APR_ARRAY_IDX(keys, i, char *))) {
                abort();
            }
        }
    }
    dbs_split_items(pool, value);
    if (dbs_pct_decode(pool, value, strlen(value), &decoded) == NULL) {
        dbs_user_check(decoded);
        /* Encoding then decoding gives the value back. */
        char *back;
        const char *enc = dbs_pct_encode(pool, decoded);

        if (dbs_pct_decode(pool, enc, strlen(enc), &back) != NULL ||
            strcmp(back, decoded) != 0) {
            abort();
        }
    }
    apr_pool_destroy(pool);
    return 0;
}
