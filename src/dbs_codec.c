/* dbs_codec: see dbs_codec.h. */
#include "dbs_codec.h"

#include <stdio.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

int dbs_identifier_valid(const char *s, size_t max_chars)
{
    size_t i;

    if (!s || !(apr_isalpha(s[0]) || s[0] == '_')) {
        return 0;
    }
    for (i = 1; s[i]; i++) {
        if (i >= max_chars || !(apr_isalnum(s[i]) || s[i] == '_')) {
            return 0;
        }
    }
    return 1;
}

int dbs_key_is_valid(const char *key)
{
    return dbs_identifier_valid(key, DBS_KEY_MAX_CHARS);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

const char *dbs_pct_decode(apr_pool_t *pool, const char *in, apr_size_t len,
                           char **out)
{
    char *dst = apr_palloc(pool, len + 1);
    apr_size_t i, j = 0;

    for (i = 0; i < len; i++) {
        char c = in[i];

        if (c == '+') {
            c = ' ';
        }
        else if (c == '%') {
            int hi, lo;

            if (i + 2 >= len) {
                return "truncated %-escape";
            }
            hi = hex_value(in[i + 1]);
            lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return "invalid %-escape";
            }
            c = (char)(hi * 16 + lo);
            if (c == '\0') {
                return "%00 is not allowed";
            }
            i += 2;
        }
        dst[j++] = c;
    }
    dst[j] = '\0';
    *out = dst;
    return NULL;
}

/* RFC 3986 unreserved: never percent-encoded. */
static int unreserved(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

char *dbs_pct_encode(apr_pool_t *pool, const char *in)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t len = strlen(in), i, j = 0;
    char *out = apr_palloc(pool, len * 3 + 1);

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];

        if (unreserved(c)) {
            out[j++] = (char)c;
        }
        else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return out;
}

apr_size_t dbs_pct_encoded_len(const char *in)
{
    apr_size_t n = 0;

    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;

        n += unreserved(c) ? 1 : 3;
    }
    return n;
}

apr_array_header_t *dbs_split_items(apr_pool_t *pool, const char *value)
{
    apr_array_header_t *items = apr_array_make(pool, 4, sizeof(char *));
    const char *p = value;

    while (*p) {
        const char *start, *end;

        start = p + strspn(p, " \t");
        end = start + strcspn(start, "&,");
        p = *end ? end + 1 : end;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if (end > start) {
            APR_ARRAY_PUSH(items, char *) =
                apr_pstrmemdup(pool, start, end - start);
        }
    }
    return items;
}

/* One "key=value" item, key checked, value decoded. */
static const char *parse_pair(apr_pool_t *pool, const char *item, char **key,
                              char **val)
{
    const char *eq = strchr(item, '=');
    const char *err;

    if (!eq) {
        return apr_psprintf(pool, "item without '=' (key %s)",
                            dbs_key_is_valid(item) ? item : "not valid");
    }
    *key = apr_pstrmemdup(pool, item, eq - item);
    if (!dbs_key_is_valid(*key)) {
        return "a key is not of the form [A-Za-z_][A-Za-z0-9_]{0,63}";
    }
    err = dbs_pct_decode(pool, eq + 1, strlen(eq + 1), val);
    return err ? apr_psprintf(pool, "value of %s: %s", *key, err) : NULL;
}

const char *dbs_parse_assignments_each(apr_pool_t *pool, const char *value,
                                       dbs_assignment_fn *each, void *ctx)
{
    apr_array_header_t *items = dbs_split_items(pool, value);
    int i;

    for (i = 0; i < items->nelts; i++) {
        char *key = NULL, *val = NULL;
        const char *err =
            parse_pair(pool, APR_ARRAY_IDX(items, i, char *), &key, &val);

        if (err || (err = each(ctx, key, val))) {
            return err;
        }
    }
    return NULL;
}

static const char *set_in_table(void *table, char *key, char *val)
{
    apr_table_setn(table, key, val);
    return NULL;
}

const char *dbs_parse_assignments(apr_pool_t *pool, const char *value,
                                  apr_table_t *into)
{
    return dbs_parse_assignments_each(pool, value, set_in_table, into);
}

const char *dbs_parse_keys(apr_pool_t *pool, const char *value,
                           apr_array_header_t *into)
{
    apr_array_header_t *items = dbs_split_items(pool, value);
    int i;

    for (i = 0; i < items->nelts; i++) {
        char *key = APR_ARRAY_IDX(items, i, char *);

        if (!dbs_key_is_valid(key)) {
            return "a key is not of the form [A-Za-z_][A-Za-z0-9_]{0,63}";
        }
        APR_ARRAY_PUSH(into, char *) = key;
    }
    return NULL;
}

const char *dbs_data_decode(apr_pool_t *pool, const char *encoded,
                            apr_table_t *into)
{
    /* Stored data is always '&'-joined; commas are encoded, so the header
     * parser (which also splits on ',') reads it exactly. */
    if (strchr(encoded, ',') || strchr(encoded, ' ')) {
        return "stored data holds a raw ',' or ' '";
    }
    return dbs_parse_assignments(pool, encoded, into);
}

char *dbs_data_encode(apr_pool_t *pool, const apr_table_t *data)
{
    const apr_array_header_t *arr = apr_table_elts(data);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    struct iovec *vec;
    int i, n = 0;

    if (arr->nelts == 0) {
        return "";
    }
    vec = apr_palloc(pool, sizeof(*vec) * (apr_size_t)arr->nelts * 4);
    for (i = 0; i < arr->nelts; i++) {
        if (!e[i].key) {
            continue;
        }
        if (n > 0) {
            vec[n].iov_base = "&";
            vec[n++].iov_len = 1;
        }
        vec[n].iov_base = e[i].key;
        vec[n++].iov_len = strlen(e[i].key);
        vec[n].iov_base = "=";
        vec[n++].iov_len = 1;
        vec[n].iov_base = dbs_pct_encode(pool, e[i].val);
        vec[n].iov_len = strlen(vec[n].iov_base);
        n++;
    }
    return apr_pstrcatv(pool, vec, (apr_size_t)n, NULL);
}

/* The length of the UTF-8 sequence at s (shortest form, no surrogates, at
 * most U+10FFFF), 0 when it is not one; *code_point its code point. */
static apr_size_t utf8_sequence(const unsigned char *s,
                                unsigned long *code_point)
{
    apr_size_t len, i;
    unsigned long cp;

    if (s[0] < 0x80) {
        *code_point = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2, cp = s[0] & 0x1F;
    }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3, cp = s[0] & 0x0F;
    }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4, cp = s[0] & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        return 0;
    }
    *code_point = cp;
    return len;
}

/* Whether code point cp would let a name forge or hide what an operator
 * reads in a log or a listing: the C0 controls and DEL, the C1 controls
 * U+0080-U+009F, the line and paragraph separators U+2028 and U+2029, the
 * bidi embeddings and overrides U+202A-U+202E and the bidi isolates
 * U+2066-U+2069. */
static int forbidden_in_user(unsigned long cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

const char *dbs_user_check(const char *user)
{
    const unsigned char *p = (const unsigned char *)user;

    if (strlen(user) > DBS_USER_MAX_BYTES) {
        return "the user name is longer than 255 bytes";
    }
    while (*p) {
        unsigned long cp;
        apr_size_t len = utf8_sequence(p, &cp);

        if (len == 0) {
            return "the user name is not valid UTF-8";
        }
        if (forbidden_in_user(cp)) {
            return "the user name holds a control character (C0, C1, a line "
                   "separator or a bidi control)";
        }
        p += len;
    }
    return NULL;
}

const char *dbs_printable(apr_pool_t *pool, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    /* At most 4 bytes out per byte in: "\xHH", or "\u{XXXX}" for 2 or 3. */
    char *out = apr_palloc(pool, strlen(text) * 4 + 1), *o = out;

    while (*p) {
        unsigned long cp;
        apr_size_t len = utf8_sequence(p, &cp);

        if (len == 0 || (len == 1 && forbidden_in_user(cp))) {
            o += sprintf(o, "\\x%02X", *p++);
        }
        else if (forbidden_in_user(cp)) {
            o += sprintf(o, "\\u{%04lX}", cp);
            p += len;
        }
        else {
            if (*p == '\\') {
                *o++ = '\\';
            }
            memcpy(o, p, len);
            o += len;
            p += len;
        }
    }
    *o = '\0';
    return out;
}
