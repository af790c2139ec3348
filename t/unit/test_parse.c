/* dbs_parse: every directive value parser, good and bad. */
#include "unit.h"
#include "dbs_parse.h"
#include "dbs_crypto.h"

#include <string.h>

START_TEST(seconds)
{
    static const struct {
        const char *arg;
        int ok;
        apr_int64_t value;
    } cases[] = {
        {"0", 1, 0},
        {"60", 1, 60},
        {"315360000", 1, 315360000},
        {"315360001", 0, 0},
        {"-1", 0, 0},
        {"abc", 0, 0},
        {"10s", 0, 0},
        {"", 0, 0},
        {" 5", 0, 0},
        {"1.5", 0, 0},
        {"99999999999999999999", 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_int64_t v = -7;
        const char *err = dbs_parse_seconds(cases[i].arg, &v);

        ck_assert_msg((err == NULL) == cases[i].ok, "case %zu (%s)", i,
                      cases[i].arg);
        if (cases[i].ok) {
            ck_assert_int_eq(v, cases[i].value);
        }
        else {
            ck_assert_int_eq(v, -7);
            ck_assert_ptr_nonnull(strstr(err, "seconds"));
        }
    }
}
END_TEST

START_TEST(bytes_and_status)
{
    apr_int64_t b = 0;
    int st = 0;

    ck_assert_ptr_null(dbs_parse_bytes("65536", &b));
    ck_assert_int_eq(b, 65536);
    ck_assert_ptr_nonnull(dbs_parse_bytes("100", &b));
    ck_assert_ptr_nonnull(dbs_parse_bytes("16777217", &b));
    ck_assert_ptr_nonnull(dbs_parse_bytes("1k", &b));
    ck_assert_ptr_null(dbs_parse_status("400", &st));
    ck_assert_int_eq(st, 400);
    ck_assert_ptr_null(dbs_parse_status("500", &st));
    ck_assert_ptr_nonnull(dbs_parse_status("99", &st));
    ck_assert_ptr_nonnull(dbs_parse_status("600", &st));
    ck_assert_ptr_nonnull(strstr(dbs_parse_status("x", &st), "100 to 599"));
}
END_TEST

START_TEST(enums)
{
    int v = -1;

    ck_assert_ptr_null(dbs_parse_samesite("lax", &v));
    ck_assert_int_eq(v, DBS_SAMESITE_LAX);
    ck_assert_ptr_null(dbs_parse_samesite("Strict", &v));
    ck_assert_int_eq(v, DBS_SAMESITE_STRICT);
    ck_assert_ptr_null(dbs_parse_samesite("NONE", &v));
    ck_assert_int_eq(v, DBS_SAMESITE_NONE);
    ck_assert_ptr_null(dbs_parse_samesite("Off", &v));
    ck_assert_int_eq(v, DBS_SAMESITE_OFF);
    ck_assert_ptr_nonnull(strstr(dbs_parse_samesite("loose", &v), "Lax"));
    ck_assert_ptr_null(dbs_parse_cipher("XChaCha20Poly1305", &v));
    ck_assert_int_eq(v, DBS_CIPHER_XCHACHA20POLY1305);
    ck_assert_ptr_null(dbs_parse_cipher("aes256gcm", &v));
    ck_assert_int_eq(v, DBS_CIPHER_AES256GCM);
    ck_assert_ptr_nonnull(strstr(dbs_parse_cipher("aes128", &v), "aes256gcm"));
}
END_TEST

START_TEST(names)
{
    ck_assert_ptr_null(dbs_parse_table_name("dbsession"));
    ck_assert_ptr_null(dbs_parse_table_name("_s2"));
    ck_assert_ptr_nonnull(dbs_parse_table_name("2s"));
    ck_assert_ptr_nonnull(dbs_parse_table_name("s; DROP TABLE x"));
    ck_assert_ptr_nonnull(dbs_parse_table_name("a.b"));
    ck_assert_ptr_nonnull(dbs_parse_table_name(""));
    ck_assert_ptr_null(dbs_parse_env_prefix("SESSION_"));
    ck_assert_ptr_nonnull(dbs_parse_env_prefix("HTTP-X"));
    ck_assert_ptr_null(dbs_parse_cookie_name("__Host-sid"));
    ck_assert_ptr_nonnull(dbs_parse_cookie_name("a b"));
    ck_assert_ptr_nonnull(dbs_parse_cookie_name("a=b"));
    ck_assert_ptr_nonnull(dbs_parse_cookie_name("a;b"));
    ck_assert_ptr_nonnull(dbs_parse_cookie_name(""));
    ck_assert_ptr_null(dbs_parse_cookie_attr("/app"));
    ck_assert_ptr_null(dbs_parse_cookie_attr("example.org"));
    ck_assert_ptr_nonnull(dbs_parse_cookie_attr("/a;b"));
    ck_assert_ptr_nonnull(dbs_parse_cookie_attr("/a b"));
    ck_assert_ptr_nonnull(dbs_parse_cookie_attr(""));
}
END_TEST

/* DBSessionLoginURL is a local path: never a way to send users elsewhere. */
START_TEST(login_url)
{
    const char *good[] = {"/login", "/login?next=1", "/a/b.php"};
    const char *bad[] = {"http://evil.example/",
                         "//evil.example/",
                         "/\\evil",
                         "login",
                         "",
                         "/a b",
                         "javascript:alert(1)"};
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(dbs_parse_local_path(good[i]) == NULL, "%s", good[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(dbs_parse_local_path(bad[i]) != NULL, "%s", bad[i]);
    }
}
END_TEST

Suite *parse_suite(void)
{
    Suite *s = suite_create("dbs_parse");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, seconds);
    tcase_add_test(tc, bytes_and_status);
    tcase_add_test(tc, enums);
    tcase_add_test(tc, names);
    tcase_add_test(tc, login_url);
    suite_add_tcase(s, tc);
    return s;
}
