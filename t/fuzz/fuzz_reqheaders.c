/* libFuzzer: the values the glue sends as DBSession-* request headers
 * (expose() and publish() in mod_dbsession.c): DBSession-Data is the data
 * encoded as stored, DBSession-User the user percent-encoded,
 * DBSession-Flash the stored queue of messages a handler sent. Whatever
 * the session holds, each must be header-safe (only the bytes of a
 * percent-encoding and its separators: no blank, comma, control or 8-bit
 * byte) and decode to exactly what was encoded.
 * Input: NUL-separated parts; the first is the user, the second's first
 * byte tells how many of the rest are data (key, value pairs), the others
 * are flash messages. */
#include "fuzz_common.h"
#include "dbs_codec.h"
#include "dbs_session.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

/* What may appear in the header's value. */
static void header_safe(const char *value, const char *separators)
{
    for (; *value; value++) {
        unsigned char c = (unsigned char)*value;

        if (!(apr_isalnum(c) || strchr("-._~%", c) ||
              (c && strchr(separators, c)))) {
            abort();
        }
    }
}

static int same_entry(void *other, const char *key, const char *value)
{
    const char *v = apr_table_get(other, key);

    if (!v || strcmp(v, value) != 0) {
        abort();
    }
    return 1;
}

/* A valid key made of any bytes. */
static const char *key_of(apr_pool_t *pool, const char *raw)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";
    size_t len = strlen(raw), i;
    char *key;

    if (len == 0 || len > 64) {
        len = len == 0 ? 1 : 64;
    }
    key = apr_palloc(pool, len + 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];

        /* The first one a letter or '_'. */
        key[i] = alphabet[c % (i == 0 ? 53 : sizeof(alphabet) - 1)];
    }
    key[len] = '\0';
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    apr_array_header_t *parts;
    apr_table_t *table, *decoded;
    dbs_session_t s;
    dbs_writes_t *w;
    const char *err, *user, *encoded, *flash;
    char *back, *copy, *last, *item;
    int i, n_data, next_message;

    apr_pool_create(&pool, fuzz_root);
    parts = apr_array_make(pool, 8, sizeof(char *));
    for (i = 0; (size_t)i <= size;) {
        const uint8_t *end = memchr(data + i, 0, size - (size_t)i);
        size_t len = end ? (size_t)(end - data) - (size_t)i : size - (size_t)i;

        APR_ARRAY_PUSH(parts, char *) =
            apr_pstrmemdup(pool, (const char *)data + i, len);
        i += (int)len + 1;
    }

    /* DBSession-User. */
    user = APR_ARRAY_IDX(parts, 0, char *);
    encoded = dbs_pct_encode(pool, user);
    header_safe(encoded, "");
    if (dbs_pct_decode(pool, encoded, strlen(encoded), &back) != NULL ||
        strcmp(back, user) != 0) {
        abort();
    }

    /* DBSession-Data. */
    n_data = parts->nelts > 1 ? 2 * (*APR_ARRAY_IDX(parts, 1, char *) & 7) : 0;
    table = apr_table_make(pool, 4);
    for (i = 2; i + 1 < parts->nelts && i < 2 + n_data; i += 2) {
        apr_table_setn(table, key_of(pool, APR_ARRAY_IDX(parts, i, char *)),
                       APR_ARRAY_IDX(parts, i + 1, char *));
    }
    next_message = i;
    encoded = dbs_data_encode(pool, table);
    header_safe(encoded, "=&");
    decoded = apr_table_make(pool, 4);
    if (dbs_data_decode(pool, encoded, decoded) != NULL) {
        abort();
    }
    apr_table_do(same_entry, decoded, table, NULL);
    apr_table_do(same_entry, table, decoded, NULL);

    /* DBSession-Flash: the messages as a handler sends them (each
     * percent-encoded, empty ones are no message), stored, then handed
     * out. */
    dbs_session_init(&s, pool);
    w = dbs_writes_make(pool);
    for (i = next_message; i < parts->nelts; i++) {
        APR_ARRAY_PUSH(w->values[DBS_OP_FLASH], const char *) =
            dbs_pct_encode(pool, APR_ARRAY_IDX(parts, i, char *));
    }
    if (dbs_session_apply(&s, pool, w, 1 << 24, &err) != APR_SUCCESS) {
        abort();
    }
    flash = dbs_session_take_flash(&s);
    header_safe(flash, "&");
    copy = apr_pstrdup(pool, flash);
    item = apr_strtok(copy, "&", &last);
    for (i = next_message; i < parts->nelts; i++) {
        const char *message = APR_ARRAY_IDX(parts, i, char *);

        if (!*message) {
            continue;
        }
        if (!item || dbs_pct_decode(pool, item, strlen(item), &back) != NULL ||
            strcmp(back, message) != 0) {
            abort();
        }
        item = apr_strtok(NULL, "&", &last);
    }
    if (item) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
