/* dbs_csrf: see dbs_csrf.h. */
#include "dbs_csrf.h"
#include "dbs_codec.h"

#include <string.h>

void dbs_csrf_scan_init(dbs_csrf_scan_t *scan)
{
    memset(scan, 0, sizeof(*scan));
}

static int is_csrf_key(const dbs_csrf_scan_t *scan)
{
    return !scan->key_too_long && scan->key_len == strlen(DBS_CSRF_FIELD) &&
           memcmp(scan->key, DBS_CSRF_FIELD, scan->key_len) == 0;
}

/* The _csrf field's value is complete: decode it. */
static dbs_csrf_result_e finish_value(dbs_csrf_scan_t *scan, apr_pool_t *pool)
{
    char *decoded;

    if (scan->raw_len > DBS_CSRF_VALUE_MAX ||
        dbs_pct_decode(pool, scan->raw, scan->raw_len, &decoded) != NULL) {
        return DBS_CSRF_ABSENT;
    }
    scan->value = decoded;
    return DBS_CSRF_FOUND;
}

static void next_field(dbs_csrf_scan_t *scan)
{
    scan->key_len = 0;
    scan->key_too_long = 0;
    scan->in_value = 0;
    scan->raw_len = 0;
}

dbs_csrf_result_e dbs_csrf_scan_feed(dbs_csrf_scan_t *scan, apr_pool_t *pool,
                                     const char *data, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        char c = data[i];

        if (c == '&') {
            if (scan->in_value && is_csrf_key(scan)) {
                return finish_value(scan, pool);
            }
            next_field(scan);
        }
        else if (!scan->in_value) {
            if (c == '=') {
                scan->in_value = 1;
            }
            else if (scan->key_len < strlen(DBS_CSRF_FIELD)) {
                scan->key[scan->key_len++] = c;
            }
            else {
                scan->key_too_long = 1;
            }
        }
        else if (is_csrf_key(scan)) {
            if (scan->raw_len < DBS_CSRF_VALUE_MAX + 1) {
                scan->raw[scan->raw_len] = c;
            }
            scan->raw_len++;
        }
    }
    return DBS_CSRF_MORE;
}

dbs_csrf_result_e dbs_csrf_scan_end(dbs_csrf_scan_t *scan, apr_pool_t *pool)
{
    if (scan->in_value && is_csrf_key(scan)) {
        return finish_value(scan, pool);
    }
    return DBS_CSRF_ABSENT;
}
