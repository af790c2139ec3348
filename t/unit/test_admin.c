/* dbs_admin on a real database (db_fixture.h): counts, a user's live sessions,
 * revoking by user and by hash prefix (ambiguity included), finding by ID hash.
 */
#include "unit.h"
#include "db_fixture.h"
#include "dbs_admin.h"

#include <stdio.h>
#include <string.h>

#define HA "aaaa001111111111111111111111111111111111111111111111111111111111"
#define HB "aaaa002222222222222222222222222222222222222222222222222222222222"
#define HC "cccc003333333333333333333333333333333333333333333333333333333333"

static dbs_txn_t *txn;

/* Rows: HA alice, live; HB alice, expired at 50; HC bob, live, renewed
 * from an ID whose hash starts dddd. */
static void setup(void)
{
    dbs_record_t alive = {"alice", "", "", "", 10, 20, 10, "", 0, NULL, 0};
    dbs_record_t bob = alive;

    unit_db_setup();
    txn = unit_txn(&unit_conn, DBS_ADMIN_LOCK_TIMEOUT);
    bob.user = "bob";
    bob.prev_hash =
        "dddd004444444444444444444444444444444444444444444444444444444444";
    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    dbs_store_insert(txn, HA, &alive, 1000);
    dbs_store_insert(txn, HB, &alive, 50);
    dbs_store_insert(txn, HC, &bob, 1000);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
}

START_TEST(counts_and_list)
{
    dbs_admin_counts_t n;
    apr_array_header_t *list;
    dbs_txn_t *missing;

    ck_assert_int_eq(dbs_admin_counts(txn, 100, &n), APR_SUCCESS);
    ck_assert_int_eq(n.rows, 3);
    ck_assert_int_eq(n.live, 2);
    ck_assert_int_eq(n.expired, 1);
    ck_assert_int_eq(n.with_user, 2);
    ck_assert_int_eq(dbs_admin_list_user(txn, "alice", 100, &list),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1); /* HB has expired */
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, dbs_admin_session_t).hash_prefix,
                     "aaaa0011");
    ck_assert_int_eq(APR_ARRAY_IDX(list, 0, dbs_admin_session_t).expires_at,
                     1000);
    /* A user name is bound, never pasted into the SQL. */
    ck_assert_int_eq(dbs_admin_list_user(txn, "x' OR '1'='1", 100, &list),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    missing =
        dbs_txn_make(unit_pool, dbs_store_make(unit_pool, "nosuch"),
                     unit_conn.driver, unit_conn.handle, unit_conn.pool, 1);
    ck_assert_int_ne(dbs_admin_counts(missing, 100, &n), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(dbs_txn_error(missing), "nosuch"));
}
END_TEST

START_TEST(revoke_by_prefix)
{
    int matched;

    /* Too short, not hex, uppercase: refused before any SQL. */
    ck_assert_int_eq(dbs_admin_revoke_prefix(txn, "aaaa0", &matched),
                     APR_EINVAL);
    ck_assert_int_eq(dbs_admin_revoke_prefix(txn, "aaaa0'", &matched),
                     APR_EINVAL);
    ck_assert_int_eq(dbs_admin_revoke_prefix(txn, "AAAA00", &matched),
                     APR_EINVAL);
    /* Two match: nothing goes. */
    ck_assert_int_eq(dbs_admin_revoke_prefix(txn, "aaaa00", &matched),
                     APR_SUCCESS);
    ck_assert_int_eq(matched, 2);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 3);
    ck_assert_int_eq(dbs_admin_revoke_prefix(txn, "aaaa001", &matched),
                     APR_SUCCESS);
    ck_assert_int_eq(matched, 1);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession WHERE "
                                "id_hash = '" HA "'"),
                     0);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 2);
}
END_TEST

START_TEST(revoke_user_and_find)
{
    dbs_admin_session_t s;
    int deleted, found;

    ck_assert_int_eq(dbs_admin_find(txn, HC, &s, &found), APR_SUCCESS);
    ck_assert(found);
    ck_assert(!s.via_previous);
    ck_assert_str_eq(s.user, "bob");
    /* By the ID a renewal replaced. */
    ck_assert_int_eq(
        dbs_admin_find(
            txn,
            "dddd004444444444444444444444444444444444444444444444444444444444",
            &s, &found),
        APR_SUCCESS);
    ck_assert(found);
    ck_assert(s.via_previous);
    ck_assert_str_eq(s.hash_prefix, "cccc0033");

    ck_assert_int_eq(dbs_admin_revoke_user(txn, "alice", &deleted),
                     APR_SUCCESS);
    ck_assert_int_eq(deleted, 2);
    ck_assert_int_eq(dbs_admin_find(txn, HA, &s, &found), APR_SUCCESS);
    ck_assert(!found);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 1);
}
END_TEST

/* User names compare byte for byte on every database: MariaDB's default
 * collations would match ALICE, alíce and "alice " to alice (case, accents
 * and PAD SPACE). */
START_TEST(user_names_compare_bytes)
{
    static const char *const lookalikes[] = {"ALICE",
                                             "al\xc3\xad"
                                             "ce",
                                             "alice ", " alice"};
    dbs_record_t rec = {"", "", "", "", 10, 20, 10, "", 0, NULL, 0};
    apr_array_header_t *list;
    char hash[65];
    size_t i;
    int deleted;

    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    for (i = 0; i < sizeof(lookalikes) / sizeof(lookalikes[0]); i++) {
        snprintf(hash, sizeof(hash), "%064zx", i + 0xe0);
        rec.user = lookalikes[i];
        dbs_store_insert(txn, hash, &rec, 1000);
    }
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert_int_eq(dbs_admin_list_user(txn, "alice", 100, &list),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1); /* HA only (HB has expired) */
    ck_assert_int_eq(dbs_admin_list_user(txn, "ALICE", 100, &list),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_int_eq(dbs_admin_revoke_user(txn, "alice", &deleted),
                     APR_SUCCESS);
    ck_assert_int_eq(deleted, 2); /* HA and HB */
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 5);
}
END_TEST

Suite *admin_suite(void)
{
    Suite *s = suite_create("dbs_admin");
    TCase *tc = tcase_create(unit_driver());

    tcase_add_checked_fixture(tc, setup, unit_db_teardown);
    tcase_add_test(tc, counts_and_list);
    tcase_add_test(tc, revoke_by_prefix);
    tcase_add_test(tc, revoke_user_and_find);
    tcase_add_test(tc, user_names_compare_bytes);
    suite_add_tcase(s, tc);
    return s;
}
