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
    suite_add_tcase(s, tc);
    return s;
}
