/*
 * dbs_csrf: finds the "_csrf" field of an application/x-www-form-urlencoded
 * body as it streams by, in chunks of any size (a field may straddle two
 * brigades), without keeping more than the field itself.
 *
 * httpd-free. The glue feeds what it reads and replays it to the handler.
 */
#ifndef DBS_CSRF_H
#define DBS_CSRF_H

#include <apr_pools.h>

#define DBS_CSRF_FIELD "_csrf"
/* A token is 43 characters; a longer value is no token. */
#define DBS_CSRF_VALUE_MAX 256

typedef enum {
    DBS_CSRF_MORE = 0, /* feed more (or the end) */
    DBS_CSRF_FOUND,    /* dbs_csrf_scan_t.value holds the decoded token */
    DBS_CSRF_ABSENT    /* the body ended without a usable _csrf field */
} dbs_csrf_result_e;

typedef struct {
    char key[sizeof(DBS_CSRF_FIELD)]; /* the current field's name so far */
    apr_size_t key_len;
    int key_too_long; /* the current field is not _csrf */
    int in_value;
    char raw[DBS_CSRF_VALUE_MAX + 1]; /* the _csrf value, still encoded */
    apr_size_t raw_len;
    const char *value; /* decoded, once found */
} dbs_csrf_scan_t;

void dbs_csrf_scan_init(dbs_csrf_scan_t *scan);
/* Feed len bytes; the first _csrf field wins. */
dbs_csrf_result_e dbs_csrf_scan_feed(dbs_csrf_scan_t *scan, apr_pool_t *pool,
                                     const char *data, apr_size_t len);
/* The body ended. */
dbs_csrf_result_e dbs_csrf_scan_end(dbs_csrf_scan_t *scan, apr_pool_t *pool);

#endif
