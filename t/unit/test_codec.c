/* dbs_codec: keys, percent-encoding, data round trip, header values. */
#include "unit.h"
#include "dbs_codec.h"

#include <string.h>

#include <apr_strings.h>

START_TEST(key_names)
{
    static const struct {
        const char *key;
        int ok;
    } cases[] = {
        {"a", 1},
        {"_", 1},
        {"cart_2", 1},
        {"A9_", 1},
        {"", 0},
        {"9a", 0},
        {"a-b", 0},
        {"a b", 0},
        {"a.b", 0},
        {"ä", 0},
        {"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", 1},
        {"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcde",
         0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(dbs_key_is_valid(cases[i].key) == cases[i].ok, "case %zu",
                      i);
    }
}
END_TEST

START_TEST(percent_round_trip)
{
    const char *samples[] = {"",        "plain",       "a b+c&d=e,f;g", "100%",
                             "ünïcödé", "line\nbreak", "~-._"};
    size_t i;

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char *enc = dbs_pct_encode(unit_pool, samples[i]), *dec;

        ck_assert_ptr_null(strpbrk(enc, "&=,+ ;\n"));
        ck_assert_ptr_null(dbs_pct_decode(unit_pool, enc, strlen(enc), &dec));
        ck_assert_str_eq(dec, samples[i]);
    }
}
END_TEST

START_TEST(percent_malformed)
{
    const char *bad[] = {"%", "%4", "%G0", "a%zz", "%00", "x%0"};
    size_t i;
    char *out;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(dbs_pct_decode(unit_pool, bad[i], strlen(bad[i]), &out) !=
                          NULL,
                      "accepted %s", bad[i]);
    }
    ck_assert_ptr_null(dbs_pct_decode(unit_pool, "a+b%2B", 6, &out));
    ck_assert_str_eq(out, "a b+");
}
END_TEST

START_TEST(data_round_trip)
{
    apr_table_t *t = apr_table_make(unit_pool, 4), *back;
    char *enc;

    apr_table_set(t, "cart", "apple, pear & plum");
    apr_table_set(t, "n", "42");
    apr_table_set(t, "empty", "");
    enc = dbs_data_encode(unit_pool, t);
    ck_assert_str_eq(enc, "cart=apple%2C%20pear%20%26%20plum&n=42&empty=");
    back = apr_table_make(unit_pool, 4);
    ck_assert_ptr_null(dbs_data_decode(unit_pool, enc, back));
    ck_assert_str_eq(apr_table_get(back, "cart"), "apple, pear & plum");
    ck_assert_str_eq(apr_table_get(back, "n"), "42");
    ck_assert_str_eq(apr_table_get(back, "empty"), "");
    ck_assert_str_eq(dbs_data_encode(unit_pool, apr_table_make(unit_pool, 1)),
                     "");
    ck_assert_ptr_null(dbs_data_decode(unit_pool, "", back));
}
END_TEST

START_TEST(data_malformed)
{
    const char *bad[] = {"novalue", "=v",    "9x=1",    "a=%zz",
                         "a=1&b",   "a-b=1", "a=1,b=2", "a=x y"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(dbs_data_decode(unit_pool, bad[i],
                                      apr_table_make(unit_pool, 2)) != NULL,
                      "accepted %s", bad[i]);
    }
}
END_TEST

START_TEST(header_values)
{
    apr_table_t *t = apr_table_make(unit_pool, 4);
    apr_array_header_t *keys = apr_array_make(unit_pool, 4, sizeof(char *));
    apr_array_header_t *items;

    /* httpd joins repeated headers with ", " */
    ck_assert_ptr_null(
        dbs_parse_assignments(unit_pool, "a=1&b=x+y, c=%2C, a=2", t));
    ck_assert_str_eq(apr_table_get(t, "a"), "2");
    ck_assert_str_eq(apr_table_get(t, "b"), "x y");
    ck_assert_str_eq(apr_table_get(t, "c"), ",");
    ck_assert_ptr_nonnull(dbs_parse_assignments(unit_pool, "a=1&bad key=2", t));
    ck_assert_ptr_nonnull(dbs_parse_assignments(unit_pool, "a", t));

    ck_assert_ptr_null(dbs_parse_keys(unit_pool, "a&b, c", keys));
    ck_assert_int_eq(keys->nelts, 3);
    ck_assert_ptr_nonnull(dbs_parse_keys(unit_pool, "a&b-c", keys));

    items = dbs_split_items(unit_pool, " x ,, &y&");
    ck_assert_int_eq(items->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(items, 0, char *), "x");
    ck_assert_str_eq(APR_ARRAY_IDX(items, 1, char *), "y");
}
END_TEST

/* User names: valid UTF-8 without C0 or C1 controls, DEL, the line and
 * paragraph separators or the bidi embeddings, overrides and isolates;
 * each boundary on both sides. */
START_TEST(user_names)
{
    static const struct {
        const char *user;
        int ok;
    } cases[] = {
        {"alice", 1},
        {"", 1},
        {"a\x1f", 0},     /* U+001F */
        {"a ", 1},        /* U+0020 */
        {"a~", 1},        /* U+007E */
        {"a\x7f", 0},     /* U+007F DEL */
        {"a\xc2\x80", 0}, /* U+0080, the first C1 control */
        {"a\xc2\x85", 0}, /* U+0085 NEL */
        {"a\xc2\x9f", 0}, /* U+009F, the last */
        {"a\xc2\xa0", 1}, /* U+00A0 */
        {"al\xc3\xad"
         "ce",
         1},                     /* U+00ED */
        {"a\xe2\x80\xa7", 1},    /* U+2027 */
        {"a\xe2\x80\xa8", 0},    /* U+2028 LINE SEPARATOR */
        {"a\xe2\x80\xa9", 0},    /* U+2029 PARAGRAPH SEPARATOR */
        {"a\xe2\x80\xaa", 0},    /* U+202A LRE */
        {"a\xe2\x80\xae", 0},    /* U+202E RLO */
        {"a\xe2\x80\xaf", 1},    /* U+202F */
        {"a\xe2\x81\xa5", 1},    /* U+2065 */
        {"a\xe2\x81\xa6", 0},    /* U+2066 LRI */
        {"a\xe2\x81\xa9", 0},    /* U+2069 PDI */
        {"a\xe2\x81\xaa", 1},    /* U+206A */
        {"\xf0\x9f\x98\x80", 1}, /* U+1F600 */
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = dbs_user_check(cases[i].user);

        ck_assert_msg((err == NULL) == cases[i].ok, "case %zu: %s", i,
                      err ? err : "accepted");
    }
}
END_TEST

/* What dbsessionctl prints: nothing a terminal would act on, nothing that
 * reads as another line, nothing lost (the backslash is escaped too). */
START_TEST(printable)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"alice", "alice"},
        {"al\xc3\xad"
         "ce \xe2\x9c\x93",
         "al\xc3\xad"
         "ce \xe2\x9c\x93"},
        {"a\\b", "a\\\\b"},
        {"a\x1b[2Jb", "a\\x1B[2Jb"},
        {"a\r\nb\x7f", "a\\x0D\\x0Ab\\x7F"},
        {"\xff\xc3", "\\xFF\\xC3"},
        {"a\xc2\x85"
         "b",
         "a\\u{0085}b"},
        {"a\xc2\xa0", "a\xc2\xa0"},
        {"\xe2\x80\xa8\xe2\x80\xae\xe2\x81\xa9", "\\u{2028}\\u{202E}\\u{2069}"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_str_eq(dbs_printable(unit_pool, cases[i].in), cases[i].out);
    }
}
END_TEST

Suite *codec_suite(void)
{
    Suite *s = suite_create("dbs_codec");
    TCase *tc = tcase_create("codec");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, key_names);
    tcase_add_test(tc, percent_round_trip);
    tcase_add_test(tc, percent_malformed);
    tcase_add_test(tc, data_round_trip);
    tcase_add_test(tc, data_malformed);
    tcase_add_test(tc, header_values);
    tcase_add_test(tc, user_names);
    tcase_add_test(tc, printable);
    suite_add_tcase(s, tc);
    return s;
}
