/* dbs_csrf: the _csrf field of a form body, fed in chunks of every size. */
#include "unit.h"
#include "dbs_crypto.h"
#include "dbs_csrf.h"

#include <string.h>

/* Feed body in pieces of `step` bytes; the token found, or NULL. */
static const char *scan_in_steps(const char *body, apr_size_t step)
{
    dbs_csrf_scan_t scan;
    apr_size_t len = strlen(body), at;
    dbs_csrf_result_e r = DBS_CSRF_MORE;

    dbs_csrf_scan_init(&scan);
    for (at = 0; at < len && r == DBS_CSRF_MORE; at += step) {
        r = dbs_csrf_scan_feed(&scan, unit_pool, body + at,
                               len - at < step ? len - at : step);
    }
    if (r == DBS_CSRF_MORE) {
        r = dbs_csrf_scan_end(&scan, unit_pool);
    }
    return r == DBS_CSRF_FOUND ? scan.value : NULL;
}

START_TEST(found_across_any_boundary)
{
    const char *cases[][2] = {
        {"_csrf=abc", "abc"},
        {"a=1&_csrf=abc&b=2", "abc"},
        {"a=1&b=2&_csrf=a%2Bb%20c", "a+b c"},
        {"x_csrf=no&_csrf=yes", "yes"},
        {"_csrfx=no&_csrf=yes", "yes"},
        {"_csrf=first&_csrf=second", "first"},
    };
    size_t i, step;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (step = 1; step <= strlen(cases[i][0]); step++) {
            const char *got = scan_in_steps(cases[i][0], step);

            ck_assert_msg(got && strcmp(got, cases[i][1]) == 0,
                          "%s in steps of %zu: %s", cases[i][0], step,
                          got ? got : "(none)");
        }
    }
}
END_TEST

START_TEST(absent_or_unusable)
{
    const char *cases[] = {"",          "a=1&b=2",   "_csrf",
                           "a=_csrf=x", "_csrf=%zz", "csrf=x"};
    char big[600] = "_csrf=";
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(scan_in_steps(cases[i], 3) == NULL, "%s", cases[i]);
    }
    memset(big + 6, 'x', 400);
    big[406] = '\0';
    ck_assert_ptr_null(scan_in_steps(big, 7)); /* too long for a token */
}
END_TEST

START_TEST(token_comparison)
{
    ck_assert(dbs_token_matches("abc", "abc"));
    ck_assert(!dbs_token_matches("abc", "abd"));
    ck_assert(!dbs_token_matches("abc", "ab"));
    ck_assert(!dbs_token_matches("abc", NULL));
    ck_assert(!dbs_token_matches("", ""));
}
END_TEST

Suite *csrf_suite(void)
{
    Suite *s = suite_create("dbs_csrf");
    TCase *tc = tcase_create("csrf");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, found_across_any_boundary);
    tcase_add_test(tc, absent_or_unusable);
    tcase_add_test(tc, token_comparison);
    suite_add_tcase(s, tc);
    return s;
}
