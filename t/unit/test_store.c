/* dbs_store against a real SQLite through apr_dbd. */
#include "unit.h"
#include "sqlite_fixture.h"
#include "dbs_store.h"

#include <string.h>

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static dbs_store_t *store;

static void setup(void)
{
    sqlite_setup();
    store = dbs_store_make(unit_pool, "dbsession");
}

static dbs_record_t record(const char *data)
{
    dbs_record_t r = {"alice", data, "", "tok", 1000, 1100,
                      1000,    "",   0,  NULL,  0};

    return r;
}

/* The row of id_hash, inserted and committed. */
static void commit_row(const char *id_hash, const dbs_record_t *rec)
{
    const char *err = NULL;
    dbs_fail_e fail;

    ck_assert_int_eq(dbs_store_begin(store, &unit_conn, unit_pool, 0, NULL,
                                     NULL, NULL, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(dbs_store_insert(store, &unit_conn, unit_pool, id_hash,
                                      rec, 5000, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 1, &err),
                     APR_SUCCESS);
}

START_TEST(insert_load_update_delete)
{
    dbs_record_t rec = record("a=1"), got;
    dbs_fail_e fail;
    const char *err = NULL;
    int found;

    ck_assert_int_eq(dbs_store_begin(store, &unit_conn, unit_pool, 1, NULL,
                                     NULL, NULL, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        dbs_store_insert(store, &unit_conn, unit_pool, H1, &rec, 5000, &err),
        APR_SUCCESS);
    ck_assert_int_eq(dbs_store_load(store, &unit_conn, unit_pool, H1, &got,
                                    &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(got.user, "alice");
    ck_assert_str_eq(got.data, "a=1");
    ck_assert_str_eq(got.csrf, "tok");
    ck_assert_int_eq(got.created_at, 1000);
    ck_assert_int_eq(got.active_at, 1100);

    /* Rotation: the row moves to H2, H1 is gone. */
    rec.data = "a=2";
    rec.active_at = 1200;
    ck_assert_int_eq(dbs_store_update(store, &unit_conn, unit_pool, H1, H2,
                                      &rec, 6000, &err),
                     APR_SUCCESS);
    dbs_store_load(store, &unit_conn, unit_pool, H1, &got, &found, &fail, &err);
    ck_assert_int_eq(found, 0);
    dbs_store_load(store, &unit_conn, unit_pool, H2, &got, &found, &fail, &err);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(got.data, "a=2");
    ck_assert_int_eq(got.created_at, 1000);

    ck_assert_int_eq(
        dbs_store_touch(store, &unit_conn, unit_pool, H2, 1300, 7000, &err),
        APR_SUCCESS);
    ck_assert_int_eq(sqlite_count("SELECT expires_at FROM dbsession"), 7000);
    ck_assert_int_eq(dbs_store_delete(store, &unit_conn, unit_pool, H2, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 0);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 1, &err),
                     APR_SUCCESS);
}
END_TEST

START_TEST(rollback_leaves_nothing)
{
    dbs_record_t rec = record("a=1");
    dbs_fail_e fail;
    const char *err;

    dbs_store_begin(store, &unit_conn, unit_pool, 1, NULL, NULL, NULL, &fail,
                    &err);
    dbs_store_insert(store, &unit_conn, unit_pool, H1, &rec, 5000, &err);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 1);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 0, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 0);
}
END_TEST

START_TEST(cleanup_in_batches)
{
    dbs_record_t rec = record("");
    const char *err;
    int i, deleted = -1;
    char hash[65];

    dbs_fail_e fail;

    dbs_store_begin(store, &unit_conn, unit_pool, 1, NULL, NULL, NULL, &fail,
                    &err);
    for (i = 0; i < 5; i++) {
        memset(hash, 'a' + i, 64);
        hash[64] = '\0';
        dbs_store_insert(store, &unit_conn, unit_pool, hash, &rec,
                         i < 4 ? 100 : 900, &err);
    }
    ck_assert_int_eq(
        dbs_store_cleanup(store, &unit_conn, unit_pool, 500, 3, &deleted, &err),
        APR_SUCCESS);
    ck_assert_int_eq(deleted, 3);
    dbs_store_cleanup(store, &unit_conn, unit_pool, 500, 3, &deleted, &err);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 1, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 1);
    /* In a transaction of its own. */
    ck_assert_int_eq(dbs_store_cleanup_expired(store, &unit_conn, unit_pool,
                                               1000, 3, 1, &deleted, &fail,
                                               &err),
                     APR_SUCCESS);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 0);
}
END_TEST

START_TEST(errors_are_reported_and_recovered)
{
    dbs_store_t *missing = dbs_store_make(unit_pool, "no_such_table");
    dbs_record_t got;
    const char *err = NULL;
    int found;
    dbs_fail_e fail = DBS_FAIL_NONE;

    ck_assert_int_ne(dbs_store_begin(missing, &unit_conn, unit_pool, 1, NULL,
                                     NULL, NULL, &fail, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(fail, DBS_FAIL_DATABASE);
    ck_assert_ptr_nonnull(strstr(err, "no_such_table"));
    /* The good store still works on the same connection. */
    ck_assert_int_eq(dbs_store_load(store, &unit_conn, unit_pool, H1, &got,
                                    &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(found, 0);
    ck_assert(dbs_store_driver_supported("pgsql"));
    ck_assert(dbs_store_driver_supported("mysql"));
    ck_assert(!dbs_store_driver_supported("odbc"));
}
END_TEST

/* SQLite: one session's requests exclude each other, other sessions' do
 * not, and a transaction that only read takes the write lock later even
 * after another session committed (SQLite would refuse to upgrade it). */
START_TEST(sqlite_sessions_lock_apart)
{
    dbs_conn_t other;
    dbs_record_t rec = record("a=1"), got;
    dbs_fail_e fail;
    const char *err = NULL;
    int found;

    sqlite_connect(&other);
    commit_row(H1, &rec);

    ck_assert_int_eq(dbs_store_begin(store, &unit_conn, unit_pool, 0, H1, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    /* An application's read inside the transaction takes a snapshot. */
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 1);

    /* The same session, no wait allowed: busy. */
    ck_assert_int_ne(dbs_store_begin(store, &other, unit_pool, 0, H1, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fail, DBS_FAIL_LOCK_TIMEOUT);
    /* Another session creates its row and commits meanwhile. */
    ck_assert_int_eq(dbs_store_begin(store, &other, unit_pool, 0, H2, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(
        dbs_store_insert(store, &other, unit_pool, H2, &rec, 5000, &err),
        APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(&other, unit_pool, 1, &err), APR_SUCCESS);

    /* The first request still writes, and commits. */
    ck_assert_int_eq(
        dbs_store_touch(store, &unit_conn, unit_pool, H1, 1200, 6000, &err),
        APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 1, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        sqlite_count("SELECT active_at FROM dbsession WHERE id_hash = '" H1
                     "'"),
        1200);
    /* Released: the other connection gets the session now. */
    ck_assert_int_eq(dbs_store_begin(store, &other, unit_pool, 0, H1, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(&other, unit_pool, 0, &err), APR_SUCCESS);
    apr_dbd_close(other.driver, other.handle);
}
END_TEST

/* Renewal: an ID that a renewal replaced finds its row under the new ID,
 * and locks it under that one, so requests with the old and the new cookie
 * wait for each other. */
START_TEST(previous_id_finds_and_locks_the_renewed_row)
{
    dbs_conn_t other;
    dbs_record_t rec = record("a=1"), got;
    dbs_fail_e fail;
    const char *err = NULL;
    int found;

    sqlite_connect(&other);
    /* H1 renewed to H2. */
    rec.prev_hash = H1;
    rec.renewed_at = 1300;
    commit_row(H2, &rec);

    ck_assert_int_eq(dbs_store_begin(store, &unit_conn, unit_pool, 0, H1, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert(got.via_previous);
    ck_assert_str_eq(got.id_hash, H2);
    ck_assert_str_eq(got.prev_hash, H1);
    ck_assert_int_eq(got.renewed_at, 1300);
    /* The new ID's request must wait for it. */
    ck_assert_int_ne(dbs_store_begin(store, &other, unit_pool, 0, H2, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fail, DBS_FAIL_LOCK_TIMEOUT);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 1, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(dbs_store_begin(store, &other, unit_pool, 0, H2, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert(!got.via_previous);
    /* ...and the other way round. */
    ck_assert_int_ne(dbs_store_begin(store, &unit_conn, unit_pool, 0, H1, &got,
                                     &found, &fail, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fail, DBS_FAIL_LOCK_TIMEOUT);
    ck_assert_int_eq(dbs_store_end(&other, unit_pool, 0, &err), APR_SUCCESS);
    apr_dbd_close(other.driver, other.handle);
}
END_TEST

/* A write another module made on the connection stays in the transaction:
 * taking the write lock for the session does not restart it. */
START_TEST(sqlite_app_write_joins_the_transaction)
{
    dbs_record_t rec = record("a=1");
    dbs_fail_e fail;
    const char *err = NULL;
    int rows;

    ck_assert_int_eq(apr_dbd_query(unit_conn.driver, unit_conn.handle, &rows,
                                   "CREATE TABLE app (n INTEGER)"),
                     0);
    dbs_store_begin(store, &unit_conn, unit_pool, 0, NULL, NULL, NULL, &fail,
                    &err);
    ck_assert_int_eq(apr_dbd_query(unit_conn.driver, unit_conn.handle, &rows,
                                   "INSERT INTO app VALUES (1)"),
                     0);
    ck_assert_int_eq(
        dbs_store_insert(store, &unit_conn, unit_pool, H1, &rec, 5000, &err),
        APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 0, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM app"), 0);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 0);

    /* Through dbs_store_begin_write first, as dbsession_dbd() does. */
    dbs_store_begin(store, &unit_conn, unit_pool, 0, NULL, NULL, NULL, &fail,
                    &err);
    ck_assert_int_eq(
        dbs_store_begin_write(store, &unit_conn, unit_pool, &fail, &err),
        APR_SUCCESS);
    apr_dbd_query(unit_conn.driver, unit_conn.handle, &rows,
                  "INSERT INTO app VALUES (2)");
    dbs_store_insert(store, &unit_conn, unit_pool, H1, &rec, 5000, &err);
    ck_assert_int_eq(dbs_store_end(&unit_conn, unit_pool, 1, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM app"), 1);
    ck_assert_int_eq(sqlite_count("SELECT count(*) FROM dbsession"), 1);
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("dbs_store");
    TCase *tc = tcase_create("sqlite3");

    tcase_add_checked_fixture(tc, setup, sqlite_teardown);
    tcase_add_test(tc, insert_load_update_delete);
    tcase_add_test(tc, rollback_leaves_nothing);
    tcase_add_test(tc, cleanup_in_batches);
    tcase_add_test(tc, errors_are_reported_and_recovered);
    tcase_add_test(tc, sqlite_sessions_lock_apart);
    tcase_add_test(tc, previous_id_finds_and_locks_the_renewed_row);
    tcase_add_test(tc, sqlite_app_write_joins_the_transaction);
    suite_add_tcase(s, tc);
    return s;
}
