/* dbs_policy: expiry and the idle extension, at their boundaries. */
#include "unit.h"
#include "dbs_policy.h"

START_TEST(expiry_boundaries)
{
    dbs_policy_t p = {100, 1000, 10};

    ck_assert(!dbs_policy_expired(&p, 0, 0, 100)); /* now == active + idle */
    ck_assert(dbs_policy_expired(&p, 0, 0, 101));
    ck_assert(!dbs_policy_expired(&p, 0, 950, 1000)); /* now == created + abs */
    ck_assert(dbs_policy_expired(&p, 0, 950, 1001));  /* activity never helps */
    ck_assert_int_eq(dbs_policy_expires_at(&p, 0, 50), 150);
    ck_assert_int_eq(dbs_policy_expires_at(&p, 0, 950), 1000);
}
END_TEST

START_TEST(timeouts_off)
{
    dbs_policy_t idle_only = {100, 0, 10}, abs_only = {0, 1000, 10},
                 none = {0, 0, 10};

    ck_assert(!dbs_policy_expired(&idle_only, 0, 5000, 5100));
    ck_assert(!dbs_policy_expired(&abs_only, 0, 0, 999));
    ck_assert(!dbs_policy_expired(&none, 0, 0, APR_INT64_C(1) << 40));
    ck_assert_int_eq(dbs_policy_expires_at(&none, 0, 0), 0);
    ck_assert_int_eq(dbs_policy_row_expiry(&none, 0, 0), DBS_NEVER_EXPIRES);
    ck_assert_int_eq(dbs_policy_row_expiry(&abs_only, 7, 500), 1007);
}
END_TEST

START_TEST(extension)
{
    dbs_policy_t p = {100, 0, 10}, no_idle = {0, 1000, 10};

    ck_assert(!dbs_policy_wants_extension(&p, 50, 59));
    ck_assert(dbs_policy_wants_extension(&p, 50, 60));
    ck_assert(!dbs_policy_wants_extension(&no_idle, 0, 500));
}
END_TEST

Suite *policy_suite(void)
{
    Suite *s = suite_create("dbs_policy");
    TCase *tc = tcase_create("policy");

    tcase_add_test(tc, expiry_boundaries);
    tcase_add_test(tc, timeouts_off);
    tcase_add_test(tc, extension);
    suite_add_tcase(s, tc);
    return s;
}
