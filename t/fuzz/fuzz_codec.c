/* libFuzzer: decoding stored session data. What decodes must encode and
 * decode again to the same table. */
#include "fuzz_common.h"
#include "dbs_codec.h"

#include <apr_strings.h>
#include <apr_tables.h>

static int same_entry(void *other, const char *key, const char *value)
{
    const char *v = apr_table_get(other, key);

    if (!v || strcmp(v, value) != 0) {
        abort();
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    apr_table_t *first, *second;
    char *encoded;

    apr_pool_create(&pool, fuzz_root);
    first = apr_table_make(pool, 4);
    if (dbs_data_decode(pool, fuzz_string(pool, data, size), first) == NULL) {
        encoded = dbs_data_encode(pool, first);
        second = apr_table_make(pool, 4);
        if (dbs_data_decode(pool, encoded, second) != NULL) {
            abort();
        }
        apr_table_do(same_entry, second, first, NULL);
        apr_table_do(same_entry, first, second, NULL);
    }
    apr_pool_destroy(pool);
    return 0;
}
