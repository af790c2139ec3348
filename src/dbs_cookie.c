/* dbs_cookie: see dbs_cookie.h. */
#include "dbs_cookie.h"

#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <sodium.h>

/* The walk in progress: what it fills, and what it needs to open values. */
typedef struct {
    dbs_cookie_walk_t *walk;
    apr_array_header_t *values; /* the distinct values seen (char *) */
    const char *cookie_name;
    const dbs_keyring_t *ring;
    dbs_cipher_e cipher;
    apr_size_t sealed_chars; /* the length of a well-formed value */
} walker_t;

#define BASE64URL                                                              \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* The length of a seal in its cookie form (README "The cookie"): base64url
 * without padding of key_id || nonce || sealed ID || tag. */
static apr_size_t sealed_chars(dbs_cipher_e cipher)
{
    apr_size_t nonce = cipher == DBS_CIPHER_AES256GCM
                           ? crypto_aead_aes256gcm_NPUBBYTES
                           : crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

    return sodium_base64_ENCODED_LEN(
               DBS_KEY_ID_BYTES + nonce + DBS_ID_BYTES +
                   crypto_aead_xchacha20poly1305_ietf_ABYTES,
               sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
           1;
}

/* Whether a value could be a seal at all; only those take a place. */
static int well_formed(const walker_t *w, const char *value)
{
    apr_size_t len = strspn(value, BASE64URL);

    return value[len] == '\0' && len == w->sealed_chars;
}

static void reject(dbs_cookie_walk_t *walk, const char *value)
{
    if (walk->rejected++ == 0) {
        dbs_cookie_fingerprint(value, walk->first_rejected);
    }
}

static int seen_before(const apr_array_header_t *values, const char *value)
{
    int i;

    for (i = 0; i < values->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(values, i, const char *), value) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The position of id in ids, or -1. */
static int id_index(const apr_array_header_t *ids, const unsigned char *id)
{
    int i;

    for (i = 0; i < ids->nelts; i++) {
        if (memcmp(ids->elts + (apr_size_t)i * DBS_ID_BYTES, id,
                   DBS_ID_BYTES) == 0) {
            return i;
        }
    }
    return -1;
}

static void consider_value(walker_t *w, const char *value)
{
    dbs_cookie_walk_t *walk = w->walk;
    unsigned char id[DBS_ID_BYTES];
    apr_status_t rv;
    int key_index;

    walk->presented = 1;
    if (!well_formed(w, value)) {
        reject(walk, value);
        return;
    }
    if (seen_before(w->values, value)) {
        return;
    }
    if (w->values->nelts >= DBS_COOKIES_CONSIDERED) {
        walk->skipped++;
        return;
    }
    APR_ARRAY_PUSH(w->values, const char *) = value;
    walk->considered = w->values->nelts;
    rv = dbs_cookie_open_key(w->ring, w->cipher, value, w->cookie_name, id,
                             &key_index);
    if (rv != APR_SUCCESS) {
        walk->unknown_key += rv == APR_ENOENT;
        reject(walk, value);
        return;
    }
    if (id_index(walk->ids, id) < 0) {
        memcpy(apr_array_push(walk->ids), id, DBS_ID_BYTES);
        APR_ARRAY_PUSH(walk->old_key, int) = key_index > 0;
    }
}

static void walk_header(walker_t *w, apr_pool_t *pool, const char *header)
{
    apr_size_t name_len = strlen(w->cookie_name);
    char *copy = apr_pstrdup(pool, header), *last, *pair;

    for (pair = apr_strtok(copy, ";", &last); pair;
         pair = apr_strtok(NULL, ";", &last)) {
        pair += strspn(pair, " \t");
        if (strncmp(pair, w->cookie_name, name_len) == 0 &&
            pair[name_len] == '=') {
            consider_value(w, pair + name_len + 1);
        }
    }
}

void dbs_cookie_walk(dbs_cookie_walk_t *walk, apr_pool_t *pool,
                     const apr_array_header_t *headers, const char *cookie_name,
                     const dbs_keyring_t *ring, dbs_cipher_e cipher)
{
    walker_t w;
    int i;

    memset(walk, 0, sizeof(*walk));
    walk->ids = apr_array_make(pool, 1, DBS_ID_BYTES);
    walk->old_key = apr_array_make(pool, 1, sizeof(int));
    w.walk = walk;
    w.values = apr_array_make(pool, 1, sizeof(const char *));
    w.cookie_name = cookie_name;
    w.ring = ring;
    w.cipher = cipher;
    w.sealed_chars = sealed_chars(cipher);
    for (i = 0; i < headers->nelts; i++) {
        walk_header(&w, pool, APR_ARRAY_IDX(headers, i, const char *));
    }
}

int dbs_cookie_may_clear(const dbs_cookie_walk_t *walk)
{
    return walk->presented && !walk->skipped;
}

int dbs_cookie_needs_reseal(const dbs_cookie_walk_t *walk,
                            const unsigned char id[DBS_ID_BYTES])
{
    int i = id_index(walk->ids, id);

    return i >= 0 && APR_ARRAY_IDX(walk->old_key, i, int);
}

void dbs_cookie_attrs_of(const dbs_dir_config_t *c, dbs_cookie_attrs_t *out)
{
    out->name = c->cookie_name;
    out->path = c->cookie_path;
    out->domain = c->cookie_domain;
    out->secure = c->cookie_secure;
    out->httponly = c->cookie_httponly;
    out->samesite = (dbs_samesite_e)c->cookie_samesite;
    out->max_age = c->cookie_max_age;
}

static const char *samesite_attr(dbs_samesite_e samesite)
{
    switch (samesite) {
    case DBS_SAMESITE_STRICT:
        return "; SameSite=Strict";
    case DBS_SAMESITE_LAX:
        return "; SameSite=Lax";
    case DBS_SAMESITE_NONE:
        return "; SameSite=None";
    default:
        return "";
    }
}

/* The attributes in the order clients have always seen them; age is the
 * Max-Age (and Expires) part, "" for none. */
static const char *cookie_header(apr_pool_t *pool, const dbs_cookie_attrs_t *a,
                                 const char *value, const char *age)
{
    return apr_pstrcat(pool, a->name, "=", value, "; Path=", a->path,
                       a->domain ? "; Domain=" : "", a->domain ? a->domain : "",
                       age, a->secure ? "; Secure" : "",
                       a->httponly ? "; HttpOnly" : "",
                       samesite_attr(a->samesite), NULL);
}

const char *dbs_cookie_set_header(apr_pool_t *pool,
                                  const dbs_cookie_attrs_t *attrs,
                                  const char *sealed_value)
{
    const char *age = "";

    if (attrs->max_age > 0) {
        age = apr_psprintf(pool, "; Max-Age=%" APR_INT64_T_FMT, attrs->max_age);
    }
    return cookie_header(pool, attrs, sealed_value, age);
}

const char *dbs_cookie_clear_header(apr_pool_t *pool,
                                    const dbs_cookie_attrs_t *attrs)
{
    return cookie_header(pool, attrs, "",
                         "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
}

/* The directives of a Cache-Control value, split on the commas outside
 * quoted strings, each trimmed. */
static apr_array_header_t *directives(apr_pool_t *pool, const char *value)
{
    apr_array_header_t *out = apr_array_make(pool, 4, sizeof(const char *));
    const char *start = value, *p;
    int quoted = 0;

    for (p = value;; p++) {
        if (*p == '"') {
            quoted = !quoted;
        }
        else if (*p == '\\' && quoted && p[1]) {
            p++;
        }
        else if ((*p == ',' && !quoted) || !*p) {
            const char *end = p;

            start += strspn(start, " \t");
            while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }
            if (end > start) {
                APR_ARRAY_PUSH(out, const char *) =
                    apr_pstrmemdup(pool, start, (apr_size_t)(end - start));
            }
            if (!*p) {
                return out;
            }
            start = p + 1;
        }
    }
}

/* Whether directive d is name, alone or with "=value". */
static int is_directive(const char *d, const char *name)
{
    apr_size_t len = strlen(name);

    return strncasecmp(d, name, len) == 0 &&
           (d[len] == '\0' || d[len] == '=' || d[len] == ' ');
}

const char *dbs_cache_control_private(apr_pool_t *pool, const char *value)
{
    apr_array_header_t *kept;
    const char *out = "";
    int i, private_seen = 0;

    if (!value || !*value) {
        return "private";
    }
    kept = directives(pool, value);
    for (i = 0; i < kept->nelts; i++) {
        const char *d = APR_ARRAY_IDX(kept, i, const char *);

        /* A shared cache may store what says public or s-maxage, and all
         * but the fields named by a qualified private="...". */
        if (is_directive(d, "public") || is_directive(d, "s-maxage") ||
            (is_directive(d, "private") && strcasecmp(d, "private") != 0)) {
            continue;
        }
        private_seen = private_seen || strcasecmp(d, "private") == 0;
        out = *out ? apr_pstrcat(pool, out, ", ", d, NULL) : d;
    }
    if (private_seen) {
        return out;
    }
    return *out ? apr_pstrcat(pool, "private, ", out, NULL) : "private";
}

int dbs_vary_has_cookie(apr_pool_t *pool, const char *value)
{
    apr_array_header_t *fields;
    int i;

    if (!value) {
        return 0;
    }
    fields = directives(pool, value);
    for (i = 0; i < fields->nelts; i++) {
        const char *f = APR_ARRAY_IDX(fields, i, const char *);

        if (strcasecmp(f, "cookie") == 0 || strcmp(f, "*") == 0) {
            return 1;
        }
    }
    return 0;
}
