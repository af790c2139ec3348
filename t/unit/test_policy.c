/* dbs_policy: expiry, the idle extension and renewal, at their boundaries. */
#include "unit.h"
#include "dbs_policy.h"

START_TEST(expiry_boundaries)
{
    dbs_policy_t p = {100, 1000, 10, 0};

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
    dbs_policy_t idle_only = {100, 0, 10, 0}, abs_only = {0, 1000, 10, 0},
                 none = {0, 0, 10, 0};

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
    dbs_policy_t p = {100, 0, 10, 0}, no_idle = {0, 1000, 10, 0};

    ck_assert(!dbs_policy_wants_extension(&p, 50, 59));
    ck_assert(dbs_policy_wants_extension(&p, 50, 60));
    ck_assert(!dbs_policy_wants_extension(&no_idle, 0, 500));
}
END_TEST

/* The renewal state machine: every state, at its boundaries. */
START_TEST(renewal)
{
    dbs_policy_t on = {0, 0, 10, 300}, off = {0, 0, 10, 0};
    /* Issued at 1000, no previous ID. */
    dbs_renewal_state_t fresh = {1000, 0, 0, 0};
    /* Renewed at 1000; the new ID not back yet / back, grace until 1060. */
    dbs_renewal_state_t pending = {1000, 1, 0, 0},
                        confirmed = {1000, 1, 1060, 0};
    dbs_renewal_state_t old_pending = {1000, 1, 0, 1},
                        old_in_grace = {1000, 1, 1060, 1};

    ck_assert_int_eq(dbs_policy_renewal(&on, &fresh, 1299), DBS_RENEWAL_KEEP);
    ck_assert_int_eq(dbs_policy_renewal(&on, &fresh, 1300), DBS_RENEWAL_ROTATE);
    ck_assert_int_eq(dbs_policy_renewal(&off, &fresh, 99999), DBS_RENEWAL_KEEP);

    /* The new ID comes back: the old one's grace starts, also with renewal
     * off by now, and even when renewal is due again. */
    ck_assert_int_eq(dbs_policy_renewal(&on, &pending, 1001),
                     DBS_RENEWAL_CONFIRM);
    ck_assert_int_eq(dbs_policy_renewal(&off, &pending, 1001),
                     DBS_RENEWAL_CONFIRM);
    ck_assert_int_eq(dbs_policy_renewal(&on, &pending, 5000),
                     DBS_RENEWAL_CONFIRM);
    /* No renewal while the previous ID still works. */
    confirmed.renewed_at = 0;
    ck_assert_int_eq(dbs_policy_renewal(&on, &confirmed, 1060),
                     DBS_RENEWAL_KEEP);
    ck_assert_int_eq(dbs_policy_renewal(&on, &confirmed, 1061),
                     DBS_RENEWAL_ROTATE);

    /* The old ID before the new one came back: it works; after the grace
     * without the new one, that one counts as lost and is replaced. */
    ck_assert_int_eq(dbs_policy_renewal(&on, &old_pending, 1059),
                     DBS_RENEWAL_KEEP);
    ck_assert_int_eq(
        dbs_policy_renewal(&on, &old_pending, 1000 + DBS_RENEWAL_GRACE),
        DBS_RENEWAL_REPLACE);
    ck_assert_int_eq(dbs_policy_renewal(&off, &old_pending, 5000),
                     DBS_RENEWAL_KEEP);
    /* The old ID after the new one came back: until the grace ends. */
    ck_assert_int_eq(dbs_policy_renewal(&on, &old_in_grace, 1060),
                     DBS_RENEWAL_KEEP);
    ck_assert_int_eq(dbs_policy_renewal(&on, &old_in_grace, 1061),
                     DBS_RENEWAL_VIOLATION);
    ck_assert_int_eq(dbs_policy_renewal(&off, &old_in_grace, 1061),
                     DBS_RENEWAL_VIOLATION);
}
END_TEST

/* A new ID that never came back is replaced once per renewal: asking for a
 * second replacement is a violation (a stolen pre-renewal cookie replayed
 * later cannot take the session over); the replacement coming back
 * confirms as usual. */
START_TEST(renewal_replaces_once)
{
    dbs_policy_t on = {0, 0, 10, 300};
    dbs_renewal_state_t old_replaced = {1000, 1, DBS_PREVIOUS_REPLACED, 1},
                        replaced = {1000, 1, DBS_PREVIOUS_REPLACED, 0};

    ck_assert_int_eq(dbs_policy_renewal(&on, &old_replaced, 1059),
                     DBS_RENEWAL_KEEP);
    ck_assert_int_eq(
        dbs_policy_renewal(&on, &old_replaced, 1000 + DBS_RENEWAL_GRACE),
        DBS_RENEWAL_VIOLATION);
    ck_assert_int_eq(dbs_policy_renewal(&on, &old_replaced, 99999),
                     DBS_RENEWAL_VIOLATION);
    ck_assert_int_eq(dbs_policy_renewal(&on, &replaced, 1001),
                     DBS_RENEWAL_CONFIRM);
    ck_assert_int_eq(dbs_policy_renewal(&on, &replaced, 5000),
                     DBS_RENEWAL_CONFIRM);
}
END_TEST

Suite *policy_suite(void)
{
    Suite *s = suite_create("dbs_policy");
    TCase *tc = tcase_create("policy");

    tcase_add_test(tc, expiry_boundaries);
    tcase_add_test(tc, timeouts_off);
    tcase_add_test(tc, extension);
    tcase_add_test(tc, renewal);
    tcase_add_test(tc, renewal_replaces_once);
    suite_add_tcase(s, tc);
    return s;
}
