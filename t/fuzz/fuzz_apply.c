/* libFuzzer: dbs_session_apply with every operation. Each input line is one
 * header: its first byte picks the operation, the rest is the value. A write
 * that succeeds keeps the session within its size limit; one that fails
 * leaves the session as it was. */
#include "fuzz_common.h"
#include "dbs_codec.h"
#include "dbs_session.h"

#include <apr_strings.h>

#define MAX_SIZE 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    dbs_session_t s;
    dbs_writes_t *w;
    char *input, *line, *last;
    const char *err = NULL, *before;

    apr_pool_create(&pool, fuzz_root);
    dbs_session_init(&s, pool);
    s.loaded = 1;
    apr_table_set(s.data, "a", "1");
    s.user = "alice";
    s.csrf = "token";
    w = dbs_writes_make(pool);
    input = fuzz_string(pool, data, size);
    for (line = apr_strtok(input, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        dbs_op_e op = (dbs_op_e)((unsigned char)line[0] % DBS_OP_COUNT);

        APR_ARRAY_PUSH(w->values[op], const char *) = line + 1;
    }
    before = dbs_data_encode(pool, s.data);
    if (dbs_session_apply(&s, pool, w, MAX_SIZE, &err) == APR_SUCCESS) {
        if (strlen(dbs_data_encode(pool, s.data)) + strlen(s.flash) +
                strlen(s.user) >
            MAX_SIZE) {
            abort();
        }
        if (dbs_user_check(s.user) != NULL) {
            abort();
        }
    }
    else if (!err || strcmp(before, dbs_data_encode(pool, s.data)) != 0 ||
             strcmp(s.user, "alice") != 0) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
