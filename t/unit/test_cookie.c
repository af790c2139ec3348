/* dbs_cookie: which cookies of our name count, and the Set-Cookie text. */
#include "unit.h"
#include "dbs_cookie.h"

#include <ctype.h>
#include <string.h>

#include <apr_strings.h>

#define KEY_FIRST   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_SECOND  "Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA="
#define KEY_FOREIGN "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define NAME        "session"
#define MAX_HEADERS 5

/* Cookie values written as placeholders, each sealed once per test so that
 * the same placeholder is the same string:
 *   $a..$z  the ID of all bytes 'a'..'z', sealed with the first key
 *   $A..$Z  the same ID, sealed with the second key (an older one)
 *   $!      sealed with a key the ring lacks
 *   $1..$9  well-formed seals of IDs '1'..'9' with a key the ring lacks
 *   $#      sealed with the first key for another cookie name */
typedef struct {
    dbs_keyring_t *ring;    /* the server's: first and second key */
    dbs_keyring_t *older;   /* seals as the second key */
    dbs_keyring_t *foreign; /* a key the server lacks */
    const char *sealed[256];
} seals_t;

static void id_of(unsigned char ch, unsigned char id[DBS_ID_BYTES])
{
    memset(id, ch, DBS_ID_BYTES);
}

static void seals_init(seals_t *s)
{
    memset(s, 0, sizeof(*s));
    s->ring = unit_keyring(KEY_FIRST, KEY_SECOND);
    s->older = unit_keyring(KEY_SECOND, NULL);
    s->foreign = unit_keyring(KEY_FOREIGN, NULL);
}

static const char *sealed(seals_t *s, unsigned char placeholder)
{
    unsigned char id[DBS_ID_BYTES];

    if (!s->sealed[placeholder]) {
        const dbs_keyring_t *ring = s->ring;
        const char *name = NAME;

        id_of((unsigned char)tolower(placeholder), id);
        if (isupper(placeholder)) {
            ring = s->older;
        }
        else if (placeholder == '!' || isdigit(placeholder)) {
            ring = s->foreign;
        }
        else if (placeholder == '#') {
            name = "other";
        }
        s->sealed[placeholder] = dbs_cookie_seal(
            unit_pool, ring, DBS_CIPHER_XCHACHA20POLY1305, id, name);
    }
    return s->sealed[placeholder];
}

static const char *expand(seals_t *s, const char *template)
{
    const char *out = "", *at;

    for (at = template; *at; at++) {
        if (at[0] == '$' && at[1]) {
            out = apr_pstrcat(unit_pool, out, sealed(s, (unsigned char)at[1]),
                              NULL);
            at++;
        }
        else {
            out = apr_psprintf(unit_pool, "%s%c", out, *at);
        }
    }
    return out;
}

static dbs_cookie_walk_t walk_of(seals_t *s, const char *const *templates)
{
    apr_array_header_t *headers =
        apr_array_make(unit_pool, 1, sizeof(const char *));
    dbs_cookie_walk_t walk;

    for (; *templates; templates++) {
        APR_ARRAY_PUSH(headers, const char *) = expand(s, *templates);
    }
    dbs_cookie_walk(&walk, unit_pool, headers, NAME, s->ring,
                    DBS_CIPHER_XCHACHA20POLY1305);
    return walk;
}

/* What a walk should find; IDs as the placeholders' letters. */
typedef struct {
    const char *ids;     /* the IDs that opened, in order */
    const char *old_key; /* per ID: '1' when the second key opened it */
    int presented, considered, rejected, unknown_key;
    const char *first_rejected; /* a template, or NULL */
} expected_walk_t;

START_TEST(which_cookies_count)
{
    static const struct {
        const char *what;
        const char *headers[MAX_HEADERS]; /* NULL-terminated */
        expected_walk_t expect;
    } cases[] = {
        {"no Cookie header", {NULL}, {"", "", 0, 0, 0, 0, NULL}},
        {"other cookies only", {"a=1; b=2"}, {"", "", 0, 0, 0, 0, NULL}},
        {"one", {NAME "=$a"}, {"a", "0", 1, 1, 0, 0, NULL}},
        {"first live order",
         {NAME "=$b; other=1; " NAME "=$a; " NAME "=$c"},
         {"bac", "000", 1, 3, 0, 0, NULL}},
        {"duplicates counted once",
         {NAME "=$a; " NAME "=$b; " NAME "=$a; " NAME "=$a"},
         {"ab", "00", 1, 2, 0, 0, NULL}},
        {"two seals of one ID: one ID, the first one's key",
         {NAME "=$A; " NAME "=$a"},
         {"a", "1", 1, 2, 0, 0, NULL}},
        {"an older key's seal after the first key's",
         {NAME "=$a; " NAME "=$A"},
         {"a", "0", 1, 2, 0, 0, NULL}},
        {"the 9th distinct value is not opened",
         {NAME "=$a; " NAME "=$b; " NAME "=$c; " NAME "=$d; " NAME "=$e; " NAME
               "=$f; " NAME "=$g; " NAME "=$h; " NAME "=$i"},
         {"abcdefgh", "00000000", 1, 8, 0, 0, NULL}},
        {"duplicates take no place among the 8",
         {NAME "=$a; " NAME "=$a; " NAME "=$a; " NAME "=$a; " NAME "=$a; " NAME
               "=$a; " NAME "=$a; " NAME "=$a; " NAME "=$b"},
         {"ab", "00", 1, 2, 0, 0, NULL}},
        {"malformed values take no place among the 8",
         {NAME "=j1; " NAME "=j2; " NAME "=j3; " NAME "=j4; " NAME "=j5; " NAME
               "=j6; " NAME "=j7; " NAME "=j8; " NAME "=$a"},
         {"a", "0", 1, 1, 8, 0, "j1"}},
        {"well-formed values that do not open take places among the 8",
         {NAME "=$1; " NAME "=$2; " NAME "=$3; " NAME "=$4; " NAME "=$5; " NAME
               "=$6; " NAME "=$7; " NAME "=$8; " NAME "=$a"},
         {"", "", 1, 8, 8, 8, "$1"}},
        {"names that merely start or end like ours",
         {NAME "x=$a; x" NAME "=$b; " NAME " =$c; Session=$d; " NAME "; " NAME
               "=$e"},
         {"e", "0", 1, 1, 0, 0, NULL}},
        {"leading spaces and tabs skipped",
         {" \t " NAME "=$a;\t" NAME "=$b;   " NAME "=$c"},
         {"abc", "000", 1, 3, 0, 0, NULL}},
        {"empty pairs skipped",
         {";;" NAME "=$a;; ;" NAME "=$b;"},
         {"ab", "00", 1, 2, 0, 0, NULL}},
        {"a trailing blank is part of the value",
         {NAME "=$a ; " NAME "=$b"},
         {"b", "0", 1, 1, 1, 0, "$a "}},
        {"several Cookie headers, in order",
         {"other=1; " NAME "=$b", NAME "=$a", "x=y", NAME "=$b; " NAME "=$c"},
         {"bac", "000", 1, 3, 0, 0, NULL}},
        {"the cap spans headers",
         {NAME "=$a; " NAME "=$b; " NAME "=$c; " NAME "=$d",
          NAME "=$e; " NAME "=$f; " NAME "=$g; " NAME "=$h", NAME "=$i"},
         {"abcdefgh", "00000000", 1, 8, 0, 0, NULL}},
        {"junk rejected with the first one's fingerprint",
         {NAME "=junk; " NAME "=$a; " NAME "=more-junk"},
         {"a", "0", 1, 1, 2, 0, "junk"}},
        {"an empty value is rejected", {NAME "="}, {"", "", 1, 0, 1, 0, ""}},
        {"a value one character short or long is malformed",
         {NAME "=x$a; " NAME "=$bx"},
         {"", "", 1, 0, 2, 0, "x$a"}},
        {"a value of a key this server lacks",
         {NAME "=$!; " NAME "=$a"},
         {"a", "0", 1, 2, 1, 1, "$!"}},
        {"a value sealed for another cookie name",
         {NAME "=$#"},
         {"", "", 1, 1, 1, 0, "$#"}},
        {"our name in another cookie's value",
         {"other=" NAME "=$a"},
         {"", "", 0, 0, 0, 0, NULL}},
    };
    seals_t s;
    size_t i;

    seals_init(&s);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const expected_walk_t *e = &cases[i].expect;
        dbs_cookie_walk_t walk = walk_of(&s, cases[i].headers);
        char fingerprint[DBS_FINGERPRINT_CHARS + 1] = "";
        size_t n = strlen(e->ids), k;

        ck_assert_msg(walk.presented == e->presented &&
                          walk.considered == e->considered &&
                          walk.rejected == e->rejected &&
                          walk.unknown_key == e->unknown_key,
                      "%s: presented %d, considered %d, rejected %d, "
                      "unknown key %d",
                      cases[i].what, walk.presented, walk.considered,
                      walk.rejected, walk.unknown_key);
        ck_assert_msg(walk.ids->nelts == (int)n &&
                          walk.old_key->nelts == (int)n,
                      "%s: %d IDs", cases[i].what, walk.ids->nelts);
        for (k = 0; k < n; k++) {
            unsigned char id[DBS_ID_BYTES];

            id_of((unsigned char)e->ids[k], id);
            ck_assert_msg(memcmp(walk.ids->elts + k * DBS_ID_BYTES, id,
                                 DBS_ID_BYTES) == 0,
                          "%s: ID %zu", cases[i].what, k);
            ck_assert_msg(APR_ARRAY_IDX(walk.old_key, k, int) ==
                              (e->old_key[k] == '1'),
                          "%s: key of ID %zu", cases[i].what, k);
        }
        if (e->first_rejected) {
            dbs_cookie_fingerprint(expand(&s, e->first_rejected), fingerprint);
        }
        ck_assert_msg(strcmp(walk.first_rejected, fingerprint) == 0,
                      "%s: fingerprint %s, not %s", cases[i].what,
                      walk.first_rejected, fingerprint);
    }
}
END_TEST

/* Cookie tossing: a response clears the cookie only when every well-formed
 * value was considered; one skipped may be the real cookie. */
START_TEST(skipped_values_forbid_clearing)
{
    static const struct {
        const char *what;
        const char *headers[MAX_HEADERS];
        int skipped, may_clear;
    } cases[] = {
        {"nothing of ours", {"a=1"}, 0, 0},
        {"one that does not open", {NAME "=$1"}, 0, 1},
        {"junk only", {NAME "=junk; " NAME "=; " NAME "=x"}, 0, 1},
        {"eight that do not open",
         {NAME "=$1; " NAME "=$2; " NAME "=$3; " NAME "=$4; " NAME "=$5; " NAME
               "=$6; " NAME "=$7; " NAME "=$8"},
         0,
         1},
        {"nine: the ninth is skipped",
         {NAME "=$1; " NAME "=$2; " NAME "=$3; " NAME "=$4; " NAME "=$5; " NAME
               "=$6; " NAME "=$7; " NAME "=$8; " NAME "=$a"},
         1,
         0},
        {"a repeat of a considered value is not skipped",
         {NAME "=$1; " NAME "=$2; " NAME "=$3; " NAME "=$4; " NAME "=$5; " NAME
               "=$6; " NAME "=$7; " NAME "=$8; " NAME "=$1"},
         0,
         1},
        {"junk after the eight is not skipped",
         {NAME "=$1; " NAME "=$2; " NAME "=$3; " NAME "=$4; " NAME "=$5; " NAME
               "=$6; " NAME "=$7; " NAME "=$8; " NAME "=junk"},
         0,
         1},
    };
    seals_t s;
    size_t i;

    seals_init(&s);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbs_cookie_walk_t walk = walk_of(&s, cases[i].headers);

        ck_assert_msg(walk.skipped == cases[i].skipped &&
                          dbs_cookie_may_clear(&walk) == cases[i].may_clear,
                      "%s: skipped %d, may clear %d", cases[i].what,
                      walk.skipped, dbs_cookie_may_clear(&walk));
    }
}
END_TEST

START_TEST(reseal_when_an_older_key_opened_it)
{
    static const char *const headers[] = {NAME "=$A; " NAME "=$b; " NAME "=$C",
                                          NAME "=$c", NULL};
    unsigned char a[DBS_ID_BYTES], b[DBS_ID_BYTES], c[DBS_ID_BYTES],
        absent[DBS_ID_BYTES];
    seals_t s;
    dbs_cookie_walk_t walk;

    seals_init(&s);
    walk = walk_of(&s, headers);
    id_of('a', a);
    id_of('b', b);
    id_of('c', c);
    id_of('z', absent);
    ck_assert(dbs_cookie_needs_reseal(&walk, a));
    ck_assert(!dbs_cookie_needs_reseal(&walk, b));
    ck_assert(dbs_cookie_needs_reseal(&walk, c)); /* its first cookie counts */
    ck_assert(!dbs_cookie_needs_reseal(&walk, absent));
}
END_TEST

START_TEST(opens_with_the_configured_cipher)
{
    apr_array_header_t *headers =
        apr_array_make(unit_pool, 1, sizeof(const char *));
    dbs_keyring_t *ring = unit_keyring(KEY_FIRST, NULL);
    unsigned char id[DBS_ID_BYTES];
    dbs_cookie_walk_t walk;

    if (!dbs_cipher_available(DBS_CIPHER_AES256GCM)) {
        return; /* no AES-NI here */
    }
    id_of('a', id);
    APR_ARRAY_PUSH(headers, const char *) = apr_pstrcat(
        unit_pool, NAME "=junk; " NAME "=",
        dbs_cookie_seal(unit_pool, ring, DBS_CIPHER_AES256GCM, id, NAME), NULL);
    dbs_cookie_walk(&walk, unit_pool, headers, NAME, ring,
                    DBS_CIPHER_AES256GCM);
    ck_assert_int_eq(walk.ids->nelts, 1);
    ck_assert_mem_eq(walk.ids->elts, id, DBS_ID_BYTES);
    ck_assert_int_eq(walk.rejected, 1);
    /* Under the other cipher the same seal is no cookie of ours. */
    dbs_cookie_walk(&walk, unit_pool, headers, NAME, ring,
                    DBS_CIPHER_XCHACHA20POLY1305);
    ck_assert_int_eq(walk.ids->nelts, 0);
    ck_assert_int_eq(walk.rejected, 2);
}
END_TEST

START_TEST(set_cookie_exact_strings)
{
    static const struct {
        dbs_cookie_attrs_t attrs;
        const char *value; /* NULL: clear */
        const char *expected;
    } cases[] = {
        {{"session", "/", NULL, 1, 1, DBS_SAMESITE_LAX, 0},
         "V",
         "session=V; Path=/; Secure; HttpOnly; SameSite=Lax"},
        {{"session", "/", NULL, 1, 1, DBS_SAMESITE_LAX, 0},
         NULL,
         "session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
         "Secure; HttpOnly; SameSite=Lax"},
        {{"s", "/app", "example.org", 0, 0, DBS_SAMESITE_OFF, 0},
         "V",
         "s=V; Path=/app; Domain=example.org"},
        {{"__Host-s", "/", NULL, 1, 0, DBS_SAMESITE_STRICT, 3600},
         "V",
         "__Host-s=V; Path=/; Max-Age=3600; Secure; SameSite=Strict"},
        {{"s", "/", "example.org", 1, 1, DBS_SAMESITE_NONE, 3600},
         NULL,
         "s=; Path=/; Domain=example.org; Max-Age=0; Expires=Thu, 01 Jan 1970 "
         "00:00:00 GMT; Secure; HttpOnly; SameSite=None"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got =
            cases[i].value
                ? dbs_cookie_set_header(unit_pool, &cases[i].attrs,
                                        cases[i].value)
                : dbs_cookie_clear_header(unit_pool, &cases[i].attrs);

        ck_assert_str_eq(got, cases[i].expected);
    }
}
END_TEST

/* Every combination of the attributes, each attribute spelled out on its
 * own: the order and the spelling are what clients have always received. */
START_TEST(set_cookie_every_combination)
{
    static const char *const domains[] = {NULL, "example.org"};
    static const char *const samesite[] = {"", "; SameSite=Strict",
                                           "; SameSite=Lax", "; SameSite=None"};
    static const apr_int64_t ages[] = {0, -1, 3600};
    static const char *const age_attr[] = {"", "", "; Max-Age=3600"};
    int n;

    for (n = 0; n < 2 * 2 * 2 * 4 * 3 * 2; n++) {
        int clear = n % 2, age = n / 2 % 3, ss = n / 6 % 4;
        int httponly = n / 24 % 2, secure = n / 48 % 2, d = n / 96;
        dbs_cookie_attrs_t a = {"sid",    "/p",     domains[d],
                                secure,   httponly, (dbs_samesite_e)ss,
                                ages[age]};
        const char *expected = apr_pstrcat(
            unit_pool, "sid=", clear ? "" : "VALUE", "; Path=/p",
            domains[d] ? "; Domain=" : "", domains[d] ? domains[d] : "",
            clear ? "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
                  : age_attr[age],
            secure ? "; Secure" : "", httponly ? "; HttpOnly" : "",
            samesite[ss], NULL);
        const char *got = clear ? dbs_cookie_clear_header(unit_pool, &a)
                                : dbs_cookie_set_header(unit_pool, &a, "VALUE");

        ck_assert_msg(strcmp(got, expected) == 0, "%d: %s", n, got);
    }
}
END_TEST

START_TEST(attributes_of_a_configuration)
{
    dbs_dir_config_t *c = dbs_dir_config_make(unit_pool), r;
    dbs_cookie_attrs_t a;

    dbs_dir_config_resolve(c, &r);
    dbs_cookie_attrs_of(&r, &a);
    ck_assert_str_eq(dbs_cookie_set_header(unit_pool, &a, "V"),
                     "session=V; Path=/; Secure; HttpOnly; SameSite=Lax");

    c->cookie_name = "app";
    c->cookie_path = "/app";
    c->cookie_domain = "example.org";
    c->cookie_secure = 0;
    c->cookie_httponly = 0;
    c->cookie_samesite = DBS_SAMESITE_STRICT;
    c->cookie_max_age = 60;
    dbs_dir_config_resolve(c, &r);
    dbs_cookie_attrs_of(&r, &a);
    ck_assert_str_eq(dbs_cookie_set_header(unit_pool, &a, "V"),
                     "app=V; Path=/app; Domain=example.org; Max-Age=60; "
                     "SameSite=Strict");
}
END_TEST

/* What a response that sets the cookie says to caches, from what the
 * handler said. */
START_TEST(cache_control_of_a_cookie_response)
{
    static const struct {
        const char *handler, *sent;
    } cases[] = {
        {NULL, "private"},
        {"", "private"},
        {"max-age=60", "private, max-age=60"},
        {"public, max-age=60", "private, max-age=60"},
        {"PUBLIC,s-maxage=600 , max-age=60", "private, max-age=60"},
        {"s-maxage", "private"},
        {"private", "private"},
        {"no-cache, Private", "no-cache, Private"},
        {"private=\"Set-Cookie\", max-age=60", "private, max-age=60"},
        {"no-cache=\"Set-Cookie, X-A\", public",
         "private, no-cache=\"Set-Cookie, X-A\""},
        {"no-store", "private, no-store"},
        {"publicity=1", "private, publicity=1"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_str_eq(dbs_cache_control_private(unit_pool, cases[i].handler),
                         cases[i].sent);
    }
}
END_TEST

START_TEST(vary_covers_the_cookie)
{
    ck_assert(!dbs_vary_has_cookie(unit_pool, NULL));
    ck_assert(!dbs_vary_has_cookie(unit_pool, ""));
    ck_assert(!dbs_vary_has_cookie(unit_pool, "Accept-Encoding"));
    ck_assert(!dbs_vary_has_cookie(unit_pool, "Cookie2"));
    ck_assert(dbs_vary_has_cookie(unit_pool, "Cookie"));
    ck_assert(dbs_vary_has_cookie(unit_pool, "accept-encoding, cookie"));
    ck_assert(dbs_vary_has_cookie(unit_pool, "*"));
}
END_TEST

Suite *cookie_suite(void)
{
    Suite *s = suite_create("dbs_cookie");
    TCase *tc = tcase_create("cookie");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, which_cookies_count);
    tcase_add_test(tc, skipped_values_forbid_clearing);
    tcase_add_test(tc, reseal_when_an_older_key_opened_it);
    tcase_add_test(tc, opens_with_the_configured_cipher);
    tcase_add_test(tc, set_cookie_exact_strings);
    tcase_add_test(tc, set_cookie_every_combination);
    tcase_add_test(tc, attributes_of_a_configuration);
    tcase_add_test(tc, cache_control_of_a_cookie_response);
    tcase_add_test(tc, vary_covers_the_cookie);
    suite_add_tcase(s, tc);
    return s;
}
