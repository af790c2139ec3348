/* dbs_admin on a real SQLite: counts, a user's live sessions, revoking by
 * user and by hash prefix (ambiguity included), finding by ID hash. */
#include "unit.h"
#include "sqlite_fixture.h"
#include "dbs_admin.h"

#include <string.h>

#define HA "aaaa001111111111111111111111111111111111111111111111111111111111"
#define HB "aaaa002222222222222222222222222222222222222222222222222222222222"
#define HC "cccc003333333333333333333333333333333333333333333333333333333333"

static dbs_store_t *store;

/* Rows: HA alice, live; HB alice, expired at 50; HC bob, live, renewed
 * from an ID whose hash starts dddd. */
static void setup(void)
{
    dbs_record_t alive = {"alice", "", "", "", 10, 20, 10, "", 0, NULL, 0};
    dbs_record_t bob = alive;
    const char *err = NULL;
    dbs_fail_e fail;

    sqlite_setup();
    store = dbs_store_make(unit_pool, "dbsession");
    bob.user = "bob";
    bob.prev_hash =
        "dddd004444444444444444444444444444444444444444444444444444444444";
    ck_assert_int_eq(dbs_store_begin(store, &unit_conn, unit_pool, 0, NULL,
                                     NULL, NULL, &fail, &err),
                     APR_SUCCESS);
    dbs_store_insert(store, &unit_conn, unit_pool, HA, &alive, 1000, &err);
    dbs_store_insert(store, &unit_conn, unit_pool, HB, &alive, 50, &err);
    dbs_store_insert(store, &unit_conn, unit_pool, HC, &bob, 1000, &err);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 1, &err),
                     APR_SUCCESS);
}

START_TEST(counts_and_list)
{
    dbs_admin_counts_t n;
    apr_array_header_t *list;
    const char *err = NULL;

    ck_assert_int_eq(dbs_admin_counts(store, &unit_conn, unit_pool, "dbsession",
                                      100, &n, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(n.rows, 3);
    ck_assert_int_eq(n.live, 2);
    ck_assert_int_eq(n.expired, 1);
    ck_assert_int_eq(n.with_user, 2);
    ck_assert_int_eq(dbs_admin_list_user(store, &unit_conn, unit_pool,
                                         "dbsession", "alice", 100, &list,
                                         &err),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1); /* HB has expired */
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, dbs_admin_session_t).hash_prefix,
                     "aaaa0011");
    ck_assert_int_eq(APR_ARRAY_IDX(list, 0, dbs_admin_session_t).expires_at,
                     1000);
    /* A user name is bound, never pasted into the SQL. */
    ck_assert_int_eq(dbs_admin_list_user(store, &unit_conn, unit_pool,
                                         "dbsession", "x' OR '1'='1", 100,
                                         &list, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    ck_assert_int_ne(
        dbs_admin_counts(store, &unit_conn, unit_pool, "nosuch", 100, &n, &err),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
}
END_TEST

START_TEST(revoke_by_prefix)
{
    const char *err = NULL;
    int matched;

    /* Too short, not hex, uppercase: refused before any SQL. */
    ck_assert_int_eq(dbs_admin_revoke_prefix(store, &unit_conn, unit_pool,
                                             "dbsession", "aaaa0", &matched,
                                             &err),
                     APR_EINVAL);
    ck_assert_int_eq(dbs_admin_revoke_prefix(store, &unit_conn, unit_pool,
                                             "dbsession", "aaaa0'", &matched,
                                             &err),
                     APR_EINVAL);
    ck_assert_int_eq(dbs_admin_revoke_prefix(store, &unit_conn, unit_pool,
                                             "dbsession", "AAAA00", &matched,
                                             &err),
                     APR_EINVAL);
    /* Two match: nothing goes. */
    ck_assert_int_eq(dbs_admin_revoke_prefix(store, &unit_conn, unit_pool,
                                             "dbsession", "aaaa00", &matched,
                                             &err),
                     APR_SUCCESS);
    ck_assert_int_eq(matched, 2);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 3);
    ck_assert_int_eq(dbs_admin_revoke_prefix(store, &unit_conn, unit_pool,
                                             "dbsession", "aaaa001", &matched,
                                             &err),
                     APR_SUCCESS);
    ck_assert_int_eq(matched, 1);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession WHERE "
                                  "id_hash = '" HA "'"),
                     0);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 2);
}
END_TEST

START_TEST(revoke_user_and_find)
{
    dbs_admin_session_t s;
    const char *err = NULL;
    int deleted, found;

    ck_assert_int_eq(dbs_admin_find(store, &unit_conn, unit_pool, "dbsession",
                                    HC, &s, &found, &err),
                     APR_SUCCESS);
    ck_assert(found);
    ck_assert(!s.via_previous);
    ck_assert_str_eq(s.user, "bob");
    /* By the ID a renewal replaced. */
    ck_assert_int_eq(
        dbs_admin_find(
            store, &unit_conn, unit_pool, "dbsession",
            "dddd004444444444444444444444444444444444444444444444444444444444",
            &s, &found, &err),
        APR_SUCCESS);
    ck_assert(found);
    ck_assert(s.via_previous);
    ck_assert_str_eq(s.hash_prefix, "cccc0033");

    ck_assert_int_eq(dbs_admin_revoke_user(store, &unit_conn, unit_pool,
                                           "dbsession", "alice", &deleted,
                                           &err),
                     APR_SUCCESS);
    ck_assert_int_eq(deleted, 2);
    ck_assert_int_eq(dbs_admin_find(store, &unit_conn, unit_pool, "dbsession",
                                    HA, &s, &found, &err),
                     APR_SUCCESS);
    ck_assert(!found);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 1);
}
END_TEST

Suite *admin_suite(void)
{
    Suite *s = suite_create("dbs_admin");
    TCase *tc = tcase_create("admin");

    tcase_add_checked_fixture(tc, setup, sqlite_teardown);
    tcase_add_test(tc, counts_and_list);
    tcase_add_test(tc, revoke_by_prefix);
    tcase_add_test(tc, revoke_user_and_find);
    suite_add_tcase(s, tc);
    return s;
}
