/* libFuzzer: the CSRF body scanner. The same body, split at chunk
 * boundaries chosen by the input, must give what the whole body gives in
 * one piece, and that must be what a plain parse of the whole form says
 * (the first field named exactly _csrf, its value decoded, at most
 * DBS_CSRF_VALUE_MAX bytes encoded). Input: 4 bytes seed the chunk sizes,
 * the rest is the body. */
#include "fuzz_common.h"
#include "dbs_codec.h"
#include "dbs_csrf.h"

typedef struct {
    dbs_csrf_result_e result;
    const char *value; /* FOUND only */
} outcome_t;

static outcome_t whole(apr_pool_t *pool, const char *body, size_t len)
{
    dbs_csrf_scan_t scan;
    outcome_t out;

    dbs_csrf_scan_init(&scan);
    out.result = dbs_csrf_scan_feed(&scan, pool, body, len);
    if (out.result == DBS_CSRF_MORE) {
        out.result = dbs_csrf_scan_end(&scan, pool);
    }
    out.value = out.result == DBS_CSRF_FOUND ? scan.value : NULL;
    return out;
}

static outcome_t chunked(apr_pool_t *pool, const char *body, size_t len,
                         uint32_t seed)
{
    dbs_csrf_scan_t scan;
    outcome_t out = {DBS_CSRF_MORE, NULL};
    size_t at = 0;

    dbs_csrf_scan_init(&scan);
    while (at < len && out.result == DBS_CSRF_MORE) {
        size_t n;

        seed = seed * 1103515245u + 12345u;
        /* Mostly short chunks, empty ones and a long one now and then. */
        n = (seed >> 16) % 9 == 0 ? len : (seed >> 16) % 7;
        if (n > len - at) {
            n = len - at;
        }
        out.result = dbs_csrf_scan_feed(&scan, pool, body + at, n);
        at += n;
    }
    if (out.result == DBS_CSRF_MORE) {
        out.result = dbs_csrf_scan_end(&scan, pool);
    }
    out.value = out.result == DBS_CSRF_FOUND ? scan.value : NULL;
    return out;
}

/* The form read whole, field by field. */
static outcome_t reference(apr_pool_t *pool, const char *body, size_t len)
{
    static const char key[] = DBS_CSRF_FIELD "=";
    outcome_t out = {DBS_CSRF_ABSENT, NULL};
    size_t at = 0;

    while (at <= len) {
        const char *end = memchr(body + at, '&', len - at);
        size_t field = end ? (size_t)(end - body) - at : len - at;
        char *decoded;

        if (field >= sizeof(key) - 1 &&
            memcmp(body + at, key, sizeof(key) - 1) == 0) {
            size_t raw = field - (sizeof(key) - 1);

            if (raw <= DBS_CSRF_VALUE_MAX &&
                dbs_pct_decode(pool, body + at + sizeof(key) - 1, raw,
                               &decoded) == NULL) {
                out.result = DBS_CSRF_FOUND;
                out.value = decoded;
            }
            return out;
        }
        if (!end) {
            break;
        }
        at += field + 1;
    }
    return out;
}

static void same(const outcome_t *a, const outcome_t *b)
{
    if (a->result != b->result ||
        (a->result == DBS_CSRF_FOUND && strcmp(a->value, b->value) != 0)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    uint32_t seed;
    outcome_t one, split, plain;

    if (size < 4) {
        return 0;
    }
    memcpy(&seed, data, 4);
    apr_pool_create(&pool, fuzz_root);
    one = whole(pool, (const char *)data + 4, size - 4);
    split = chunked(pool, (const char *)data + 4, size - 4, seed);
    plain = reference(pool, (const char *)data + 4, size - 4);
    same(&one, &split);
    same(&one, &plain);
    apr_pool_destroy(pool);
    return 0;
}
