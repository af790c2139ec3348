/*
 * dbs_parse: directive values. httpd-free; each parser returns NULL when the
 * value is good, or a reason naming what is accepted (the glue prefixes the
 * directive's name).
 */
#ifndef DBS_PARSE_H
#define DBS_PARSE_H

#include <apr.h>

/* Largest accepted number of seconds: ten years. */
#define DBS_MAX_SECONDS APR_INT64_C(315360000)
#define DBS_MAX_BYTES   APR_INT64_C(16777216)

typedef enum {
    DBS_SAMESITE_OFF = 0,
    DBS_SAMESITE_STRICT,
    DBS_SAMESITE_LAX,
    DBS_SAMESITE_NONE
} dbs_samesite_e;

const char *dbs_parse_seconds(const char *arg, apr_int64_t *out);
const char *dbs_parse_bytes(const char *arg, apr_int64_t *out);
/* An HTTP status 100..599 */
const char *dbs_parse_status(const char *arg, int *out);
const char *dbs_parse_samesite(const char *arg, int *out);
/* xchacha20poly1305 | aes256gcm, case-insensitive; out is a dbs_cipher_e */
const char *dbs_parse_cipher(const char *arg, int *out);
/* letters, digits and '_', starting with a letter or '_', at most 63 */
const char *dbs_parse_table_name(const char *arg);
/* an RFC 6265 token */
const char *dbs_parse_cookie_name(const char *arg);
/* a Path or Domain attribute value: printable, no ';', ',' or blanks */
const char *dbs_parse_cookie_attr(const char *arg);
/* letters, digits and '_', as an environment variable name starts */
const char *dbs_parse_env_prefix(const char *arg);
/* DBSessionLoginURL: a local path ("/login", with a query if wanted), never
 * an absolute URL nor "//host" (an open redirect). */
const char *dbs_parse_local_path(const char *arg);

#endif
