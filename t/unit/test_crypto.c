/* dbs_crypto: IDs, keys, sealing and a table of cookies that must not open. */
#include "unit.h"
#include "dbs_crypto.h"

#include <stdarg.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <sodium.h>

/* 32 bytes 0x00..0x1f in the four base64 spellings. */
#define KEY_STD     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_STD_NP  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define KEY_OTHER   "Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA="
#define KEY_URLSAFE "_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-8"

START_TEST(key_spellings)
{
    static const struct {
        const char *text;
        int ok;
    } cases[] = {
        {KEY_STD, 1},
        {KEY_STD_NP, 1},
        {KEY_URLSAFE, 1},
        {KEY_URLSAFE "=", 1},
        {"", 0},
        {"AAEC", 0},
        {"not base64 at all!!", 0},
        {KEY_STD "AAAA", 0},                                 /* 35 bytes */
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", 0}, /* 31 bytes */
    };
    unsigned char key[DBS_KEY_BYTES];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = dbs_key_decode(cases[i].text, key);

        ck_assert_msg((err == NULL) == cases[i].ok, "case %zu: %s", i,
                      err ? err : "accepted");
        if (err) {
            /* The reason never repeats the key material. */
            ck_assert_ptr_null(*cases[i].text ? strstr(err, cases[i].text)
                                              : NULL);
        }
    }
    ck_assert_ptr_null(dbs_key_decode(KEY_STD, key));
    ck_assert_int_eq(key[0], 0);
    ck_assert_int_eq(key[31], 31);
}
END_TEST

START_TEST(ids_are_random_and_hashed)
{
    unsigned char a[DBS_ID_BYTES], b[DBS_ID_BYTES];
    char ha[DBS_HASH_HEX_CHARS + 1], ha2[DBS_HASH_HEX_CHARS + 1],
        hb[DBS_HASH_HEX_CHARS + 1];

    dbs_id_generate(a);
    dbs_id_generate(b);
    ck_assert(memcmp(a, b, DBS_ID_BYTES) != 0);
    dbs_id_hash_hex(a, ha);
    dbs_id_hash_hex(a, ha2);
    dbs_id_hash_hex(b, hb);
    ck_assert_int_eq(strlen(ha), DBS_HASH_HEX_CHARS);
    ck_assert_str_eq(ha, ha2);
    ck_assert_str_ne(ha, hb);
    ck_assert_int_eq(strspn(ha, "0123456789abcdef"), DBS_HASH_HEX_CHARS);
}
END_TEST

static void round_trip(dbs_cipher_e cipher, size_t expected_len)
{
    dbs_keyring_t *ring = unit_keyring(KEY_STD, NULL);
    unsigned char id[DBS_ID_BYTES], out[DBS_ID_BYTES];
    const char *c1, *c2;

    dbs_id_generate(id);
    c1 = dbs_cookie_seal(unit_pool, ring, cipher, id, "session");
    c2 = dbs_cookie_seal(unit_pool, ring, cipher, id, "session");
    ck_assert_int_eq(strlen(c1), expected_len);
    ck_assert_str_ne(c1, c2); /* fresh nonce each time */
    ck_assert_int_eq(strspn(c1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
                                "uvwxyz0123456789-_"),
                     expected_len);
    ck_assert_int_eq(dbs_cookie_open(ring, cipher, c1, "session", out),
                     APR_SUCCESS);
    ck_assert(memcmp(id, out, DBS_ID_BYTES) == 0);
}

START_TEST(seal_open_xchacha)
{
    /* 4 + 24 + 32 + 16 = 76 bytes -> 102 base64url characters */
    round_trip(DBS_CIPHER_XCHACHA20POLY1305, 102);
}
END_TEST

START_TEST(seal_open_aesgcm)
{
    if (!dbs_cipher_available(DBS_CIPHER_AES256GCM)) {
        /* Not a silent pass: the CPU decides, and the test says so. */
        ck_abort_msg("AES-256-GCM unavailable on this CPU (no AES-NI)");
    }
    /* 4 + 12 + 32 + 16 = 64 bytes -> 86 characters */
    round_trip(DBS_CIPHER_AES256GCM, 86);
}
END_TEST

START_TEST(cookie_layout_is_documented)
{
    /* key_id is the first 4 bytes of BLAKE2b-256(key), in the clear. */
    dbs_keyring_t *ring = unit_keyring(KEY_STD, NULL);
    const dbs_key_t *key = &APR_ARRAY_IDX(ring->keys, 0, dbs_key_t);
    unsigned char id[DBS_ID_BYTES] = {0};
    const char *cookie =
        dbs_cookie_seal(unit_pool, ring, DBS_CIPHER_XCHACHA20POLY1305, id, "s");
    char head[7];
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /* First 4 base64url characters encode the first 3 bytes of key_id. */
    head[0] = b64[key->key_id[0] >> 2];
    head[1] = b64[((key->key_id[0] & 3) << 4) | (key->key_id[1] >> 4)];
    head[2] = b64[((key->key_id[1] & 15) << 2) | (key->key_id[2] >> 6)];
    head[3] = b64[key->key_id[2] & 63];
    head[4] = '\0';
    ck_assert(strncmp(cookie, head, 4) == 0);
}
END_TEST

static char *flip(const char *s, size_t pos)
{
    char *copy = apr_pstrdup(unit_pool, s);

    copy[pos] = copy[pos] == 'A' ? 'B' : 'A';
    return copy;
}

START_TEST(tampered_cookies_do_not_open)
{
    dbs_keyring_t *ring = unit_keyring(KEY_STD, NULL);
    dbs_keyring_t *other = unit_keyring(KEY_OTHER, NULL);
    unsigned char id[DBS_ID_BYTES], out[DBS_ID_BYTES];
    const char *good, *foreign;
    size_t len;

    dbs_id_generate(id);
    good = dbs_cookie_seal(unit_pool, ring, DBS_CIPHER_XCHACHA20POLY1305, id,
                           "session");
    foreign = dbs_cookie_seal(unit_pool, other, DBS_CIPHER_XCHACHA20POLY1305,
                              id, "session");
    len = strlen(good);
    {
        const char *cases[] = {
            "",
            "x",
            "garbage-garbage-garbage",
            flip(good, 0),                           /* key id */
            flip(good, 10),                          /* nonce */
            flip(good, len / 2 + 10),                /* ciphertext */
            flip(good, len - 2),                     /* tag */
            apr_pstrndup(unit_pool, good, len - 1),  /* truncated */
            apr_pstrcat(unit_pool, good, "A", NULL), /* extended */
            apr_pstrcat(unit_pool, apr_pstrndup(unit_pool, good, len - 1), "=",
                        NULL),
            foreign, /* sealed under a key we do not hold */
        };
        size_t i;

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            ck_assert_msg(dbs_cookie_open(ring, DBS_CIPHER_XCHACHA20POLY1305,
                                          cases[i], "session",
                                          out) != APR_SUCCESS,
                          "case %zu opened", i);
        }
    }
    /* Right cookie, wrong name: the name is authenticated. */
    ck_assert_int_ne(
        dbs_cookie_open(ring, DBS_CIPHER_XCHACHA20POLY1305, good, "other", out),
        APR_SUCCESS);
    /* Right cookie, other cipher configured. */
    ck_assert_int_ne(
        dbs_cookie_open(ring, DBS_CIPHER_AES256GCM, good, "session", out),
        APR_SUCCESS);
    ck_assert_int_eq(dbs_cookie_open(ring, DBS_CIPHER_XCHACHA20POLY1305, good,
                                     "session", out),
                     APR_SUCCESS);
}
END_TEST

/* One cookie string per seal: libsodium 1.0.18 decodes bytes 0x80-0xFF like
 * '_', so each '_' could be spelled 128 other ways (found by fuzzing). */
START_TEST(only_base64url_characters_open)
{
    dbs_keyring_t *ring = unit_keyring(KEY_STD, NULL);
    unsigned char id[DBS_ID_BYTES], out[DBS_ID_BYTES];
    const char *good;
    char *bad;
    size_t i;
    int replaced = 0;

    /* A cookie with at least one '_' (one in 64 characters is). */
    do {
        dbs_id_generate(id);
        good = dbs_cookie_seal(unit_pool, ring, DBS_CIPHER_XCHACHA20POLY1305,
                               id, "session");
    } while (!strchr(good, '_'));
    bad = apr_pstrdup(unit_pool, good);
    for (i = 0; bad[i]; i++) {
        if (bad[i] == '_') {
            bad[i] = (char)0xFF;
            replaced++;
        }
    }
    ck_assert_int_gt(replaced, 0);
    ck_assert_int_ne(dbs_cookie_open(ring, DBS_CIPHER_XCHACHA20POLY1305, bad,
                                     "session", out),
                     APR_SUCCESS);
    for (i = 0; good[i]; i++) {
        char *one = apr_pstrdup(unit_pool, good);

        one[i] = good[i] == '_' ? '/' : '+'; /* standard base64's letters */
        ck_assert_int_ne(dbs_cookie_open(ring, DBS_CIPHER_XCHACHA20POLY1305,
                                         one, "session", out),
                         APR_SUCCESS);
        if (i > 4) {
            break;
        }
    }
}
END_TEST

/* Growing the ring keeps every key (and wipes the old copy). */
START_TEST(many_keys)
{
    dbs_keyring_t *ring = dbs_keyring_make(unit_pool);
    unsigned char raw[DBS_KEY_BYTES], id[DBS_ID_BYTES], out[DBS_ID_BYTES];
    char b64[64];
    const char *first = NULL, *cookie;
    int i;

    for (i = 0; i < 9; i++) {
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
                          sodium_base64_VARIANT_ORIGINAL);
        ck_assert_ptr_null(dbs_keyring_add(ring, b64));
        if (i == 0) {
            first = apr_pstrdup(unit_pool, b64);
        }
    }
    ck_assert_int_eq(dbs_keyring_count(ring), 9);
    dbs_id_generate(id);
    cookie = dbs_cookie_seal(unit_pool, unit_keyring(first, NULL),
                             DBS_CIPHER_XCHACHA20POLY1305, id, "session");
    ck_assert_int_eq(dbs_cookie_open(ring, DBS_CIPHER_XCHACHA20POLY1305, cookie,
                                     "session", out),
                     APR_SUCCESS);
}
END_TEST

START_TEST(key_rotation)
{
    dbs_keyring_t *old_ring = unit_keyring(KEY_OTHER, NULL);
    dbs_keyring_t *new_ring = unit_keyring(KEY_STD, KEY_OTHER);
    unsigned char id[DBS_ID_BYTES], out[DBS_ID_BYTES];
    const char *old_cookie, *new_cookie;

    dbs_id_generate(id);
    old_cookie = dbs_cookie_seal(unit_pool, old_ring,
                                 DBS_CIPHER_XCHACHA20POLY1305, id, "session");
    new_cookie = dbs_cookie_seal(unit_pool, new_ring,
                                 DBS_CIPHER_XCHACHA20POLY1305, id, "session");
    /* The second key still opens old cookies... */
    ck_assert_int_eq(dbs_cookie_open(new_ring, DBS_CIPHER_XCHACHA20POLY1305,
                                     old_cookie, "session", out),
                     APR_SUCCESS);
    ck_assert(memcmp(id, out, DBS_ID_BYTES) == 0);
    /* ...and the first seals new ones, which the old ring cannot open. */
    ck_assert_int_ne(dbs_cookie_open(old_ring, DBS_CIPHER_XCHACHA20POLY1305,
                                     new_cookie, "session", out),
                     APR_SUCCESS);
    /* Which key opened: the old cookie wants sealing again; an unknown key
     * id is told from a forgery. */
    {
        int index;

        ck_assert_int_eq(
            dbs_cookie_open_key(new_ring, DBS_CIPHER_XCHACHA20POLY1305,
                                old_cookie, "session", out, &index),
            APR_SUCCESS);
        ck_assert_int_eq(index, 1);
        ck_assert_int_eq(
            dbs_cookie_open_key(new_ring, DBS_CIPHER_XCHACHA20POLY1305,
                                new_cookie, "session", out, &index),
            APR_SUCCESS);
        ck_assert_int_eq(index, 0);
        ck_assert_int_eq(
            dbs_cookie_open_key(old_ring, DBS_CIPHER_XCHACHA20POLY1305,
                                new_cookie, "session", out, &index),
            APR_ENOENT);
        ck_assert_int_eq(dbs_cookie_open_key(new_ring,
                                             DBS_CIPHER_XCHACHA20POLY1305,
                                             new_cookie, "other", out, &index),
                         APR_EGENERAL);
    }
}
END_TEST

/* Replace the key file's content. */
static void rewrite(const char *path, const char *format, ...)
{
    apr_file_t *f;
    va_list ap;

    ck_assert_int_eq(apr_file_open(&f, path,
                                   APR_FOPEN_WRITE | APR_FOPEN_TRUNCATE,
                                   APR_FPROT_OS_DEFAULT, unit_pool),
                     APR_SUCCESS);
    va_start(ap, format);
    apr_file_puts(apr_pvsprintf(unit_pool, format, ap), f);
    va_end(ap);
    apr_file_close(f);
}

START_TEST(key_file)
{
    char path[] = "/tmp/dbs_unit_keysXXXXXX";
    apr_file_t *f;
    dbs_keyring_t *ring = dbs_keyring_make(unit_pool);
    const char *err;

    ck_assert_int_eq(
        apr_file_mktemp(&f, path,
                        APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                        unit_pool),
        APR_SUCCESS);
    apr_file_printf(f, "# rotation: newest first\n\n  %s  \n%s\r\n", KEY_STD,
                    KEY_OTHER);
    apr_file_close(f);
    err = dbs_keyring_add_file(ring, unit_pool, path);
    ck_assert_msg(err == NULL, "%s", err);
    ck_assert_int_eq(dbs_keyring_count(ring), 2);

    rewrite(path, "%s\nshort\n", KEY_STD);
    err = dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "line 2"));
    ck_assert_ptr_null(strstr(err, "short"));

    rewrite(path, "# nothing\n");
    ck_assert_ptr_nonnull(strstr(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path),
        "no key"));
    /* Readable by every user (0644) or by its group (0440): refused; 0400
     * is fine. */
    rewrite(path, "%s\n", KEY_STD);
    apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_UWRITE |
                                 APR_FPROT_GREAD | APR_FPROT_WREAD);
    ck_assert_ptr_nonnull(strstr(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path),
        "readable by its group or every user"));
    apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_GREAD);
    ck_assert_ptr_nonnull(strstr(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path),
        "readable by its group or every user"));
    apr_file_perms_set(path, APR_FPROT_UREAD);
    ck_assert_ptr_null(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path));
    /* Writable by its group (0620) or by others (0602): refused; 0600 is
     * fine. */
    apr_file_perms_set(path,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GWRITE);
    ck_assert_ptr_nonnull(strstr(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path),
        "writable by its group or others"));
    apr_file_perms_set(path,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_WWRITE);
    ck_assert_ptr_nonnull(strstr(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path),
        "writable by its group or others"));
    apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_UWRITE);
    ck_assert_ptr_null(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, path));
    apr_file_remove(path, unit_pool);
    ck_assert_ptr_nonnull(
        dbs_keyring_add_file(ring, unit_pool, "/nonexistent/keys"));
    ck_assert_ptr_nonnull(strstr(
        dbs_keyring_add_file(dbs_keyring_make(unit_pool), unit_pool, "/tmp"),
        "is a directory"));
}
END_TEST

/* Who may own a key file, with made-up users (the real ones need root):
 * root or the user httpd starts as; never another (httpd's own user, say,
 * when httpd starts as root). */
START_TEST(key_file_owner)
{
    static const struct {
        apr_uid_t owner, starter;
        int ok;
    } cases[] = {
        {0, 0, 1},       /* root's, httpd started by root */
        {0, 1000, 1},    /* root's, httpd started by a user */
        {1000, 1000, 1}, /* that user's own */
        {33, 0, 0},      /* www-data's 0600 file, httpd started by root */
        {1001, 1000, 0}, /* another user's */
    };
    const apr_fileperms_t private = APR_FPROT_UREAD | APR_FPROT_UWRITE;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = dbs_keyfile_check(unit_pool, "/k", APR_REG, private,
                                            cases[i].owner, cases[i].starter);

        ck_assert_msg((err == NULL) == cases[i].ok, "case %zu: %s", i,
                      err ? err : "accepted");
        ck_assert(!err || strstr(err, "/k is owned by uid"));
    }
    ck_assert_ptr_nonnull(
        strstr(dbs_keyfile_check(unit_pool, "/k", APR_PIPE, private, 0, 0),
               "not a regular file"));
}
END_TEST

START_TEST(fingerprint_and_token)
{
    char fp[DBS_FINGERPRINT_CHARS + 1];
    const char *t1 = dbs_token_generate(unit_pool);
    const char *t2 = dbs_token_generate(unit_pool);

    dbs_cookie_fingerprint("some cookie value", fp);
    ck_assert_int_eq(strlen(fp), DBS_FINGERPRINT_CHARS);
    ck_assert_ptr_null(strstr("some cookie value", fp));
    ck_assert_int_eq(strlen(t1), 43);
    ck_assert_str_ne(t1, t2);
}
END_TEST

Suite *crypto_suite(void)
{
    Suite *s = suite_create("dbs_crypto");
    TCase *tc = tcase_create("crypto");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, key_spellings);
    tcase_add_test(tc, ids_are_random_and_hashed);
    tcase_add_test(tc, seal_open_xchacha);
    tcase_add_test(tc, seal_open_aesgcm);
    tcase_add_test(tc, cookie_layout_is_documented);
    tcase_add_test(tc, tampered_cookies_do_not_open);
    tcase_add_test(tc, key_rotation);
    tcase_add_test(tc, only_base64url_characters_open);
    tcase_add_test(tc, many_keys);
    tcase_add_test(tc, key_file);
    tcase_add_test(tc, key_file_owner);
    tcase_add_test(tc, fingerprint_and_token);
    suite_add_tcase(s, tc);
    return s;
}
