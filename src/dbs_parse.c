/* dbs_parse: see dbs_parse.h. */
#include "dbs_parse.h"
#include "dbs_codec.h"
#include "dbs_crypto.h"

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

static const char *parse_bounded(const char *arg, apr_int64_t max,
                                 apr_int64_t *out)
{
    char *end;
    apr_int64_t v;
    size_t i;

    if (!arg || !*arg) {
        return "empty";
    }
    for (i = 0; arg[i]; i++) {
        if (!apr_isdigit(arg[i])) {
            return "not a whole number";
        }
    }
    if (i > 12) {
        return "too large";
    }
    v = apr_strtoi64(arg, &end, 10);
    if (*end || v < 0) {
        return "not a whole number";
    }
    if (v > max) {
        return "too large";
    }
    *out = v;
    return NULL;
}

const char *dbs_parse_seconds(const char *arg, apr_int64_t *out)
{
    const char *err = parse_bounded(arg, DBS_MAX_SECONDS, out);

    return err ? "expects a whole number of seconds, 0 or more (at most "
                 "315360000)"
               : NULL;
}

const char *dbs_parse_bytes(const char *arg, apr_int64_t *out)
{
    apr_int64_t v = 0;
    const char *err = parse_bounded(arg, DBS_MAX_BYTES, &v);

    if (err || v < 256) {
        return "expects a number of bytes from 256 to 16777216";
    }
    *out = v;
    return NULL;
}

const char *dbs_parse_status(const char *arg, int *out)
{
    apr_int64_t v = 0;

    if (parse_bounded(arg, 599, &v) || v < 100) {
        return "expects an HTTP status code from 100 to 599";
    }
    *out = (int)v;
    return NULL;
}

const char *dbs_parse_samesite(const char *arg, int *out)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {{"Strict", DBS_SAMESITE_STRICT},
                 {"Lax", DBS_SAMESITE_LAX},
                 {"None", DBS_SAMESITE_NONE},
                 {"Off", DBS_SAMESITE_OFF}};
    size_t i;

    for (i = 0; arg && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(arg, names[i].name) == 0) {
            *out = names[i].value;
            return NULL;
        }
    }
    return "expects Strict, Lax, None or Off";
}

const char *dbs_parse_cipher(const char *arg, int *out)
{
    if (arg && strcasecmp(arg, "xchacha20poly1305") == 0) {
        *out = DBS_CIPHER_XCHACHA20POLY1305;
        return NULL;
    }
    if (arg && strcasecmp(arg, "aes256gcm") == 0) {
        *out = DBS_CIPHER_AES256GCM;
        return NULL;
    }
    return "expects xchacha20poly1305 or aes256gcm";
}

const char *dbs_parse_table_name(const char *arg)
{
    return dbs_identifier_valid(arg, 63)
               ? NULL
               : "expects a table name of letters, digits "
                 "and '_' (at most 63, not starting with "
                 "a digit)";
}

const char *dbs_parse_env_prefix(const char *arg)
{
    return dbs_identifier_valid(arg, 63)
               ? NULL
               : "expects letters, digits and '_' (at most "
                 "63, not starting with a digit)";
}

const char *dbs_parse_cookie_name(const char *arg)
{
    /* RFC 6265 token: CHARs except CTLs and separators. */
    static const char separators[] = "()<>@,;:\\\"/[]?={} \t";
    size_t i;

    if (!arg || !*arg || strlen(arg) > 200) {
        return "expects a cookie name (1 to 200 token characters)";
    }
    for (i = 0; arg[i]; i++) {
        unsigned char c = (unsigned char)arg[i];

        if (c <= 32 || c >= 127 || strchr(separators, c)) {
            return "expects a cookie name: no blanks, controls or any of "
                   "()<>@,;:\\\"/[]?={}";
        }
    }
    return NULL;
}

const char *dbs_parse_cookie_attr(const char *arg)
{
    size_t i;

    if (!arg || !*arg || strlen(arg) > 1024) {
        return "expects a non-empty value (at most 1024 characters)";
    }
    for (i = 0; arg[i]; i++) {
        unsigned char c = (unsigned char)arg[i];

        if (c <= 32 || c >= 127 || c == ';' || c == ',') {
            return "expects printable characters without blanks, ';' or ','";
        }
    }
    return NULL;
}

const char *dbs_parse_local_path(const char *arg)
{
    size_t i;

    if (!arg || arg[0] != '/' || arg[1] == '/' || arg[1] == '\\' ||
        strlen(arg) > 1024) {
        return "expects a local path starting with one '/' (not a URL, not "
               "//host), at most 1024 characters";
    }
    for (i = 0; arg[i]; i++) {
        unsigned char c = (unsigned char)arg[i];

        if (c <= 32 || c >= 127) {
            return "expects printable characters without blanks";
        }
    }
    return NULL;
}
