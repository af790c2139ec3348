/* dbs_store against a real database through apr_dbd (db_fixture.h): SQLite
 * by default, PostgreSQL or MariaDB with DBS_UNIT_DRIVER. */
#include "unit.h"
#include "db_fixture.h"
#include "dbs_store_private.h"

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static dbs_txn_t *txn;

static void setup(void)
{
    unit_db_setup();
    txn = unit_txn(&unit_conn, 1);
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
    dbs_txn_t *t = unit_txn(&unit_conn, 0);

    ck_assert_int_eq(dbs_store_begin(t, NULL, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_insert(t, id_hash, rec, 5000), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(t, 1), APR_SUCCESS);
}

START_TEST(insert_load_update_delete)
{
    dbs_record_t rec = record("a=1"), got;
    int found;

    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    ck_assert(dbs_txn_is_open(txn));
    ck_assert_int_eq(dbs_store_insert(txn, H1, &rec, 5000), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_load(txn, H1, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(got.user, "alice");
    ck_assert_str_eq(got.data, "a=1");
    ck_assert_str_eq(got.csrf, "tok");
    ck_assert_int_eq(got.created_at, 1000);
    ck_assert_int_eq(got.active_at, 1100);

    /* Rotation: the row moves to H2, H1 is gone. */
    rec.data = "a=2";
    rec.active_at = 1200;
    ck_assert_int_eq(dbs_store_update(txn, H1, H2, &rec, 6000), APR_SUCCESS);
    dbs_store_load(txn, H1, &got, &found);
    ck_assert_int_eq(found, 0);
    dbs_store_load(txn, H2, &got, &found);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(got.data, "a=2");
    ck_assert_int_eq(got.created_at, 1000);

    ck_assert_int_eq(dbs_store_touch(txn, H2, 1300, 7000), APR_SUCCESS);
    ck_assert_int_eq(unit_count("SELECT expires_at FROM dbsession"), 7000);
    ck_assert_int_eq(dbs_store_delete(txn, H2), APR_SUCCESS);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 0);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert(!dbs_txn_is_open(txn));
}
END_TEST

START_TEST(rollback_leaves_nothing)
{
    dbs_record_t rec = record("a=1");

    dbs_store_begin(txn, NULL, NULL, NULL);
    dbs_store_insert(txn, H1, &rec, 5000);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 1);
    ck_assert_int_eq(dbs_store_end(txn, 0), APR_SUCCESS);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 0);
}
END_TEST

/* dbs_store_abort rolls back and keeps the failure's own error. */
START_TEST(abort_keeps_the_error)
{
    dbs_record_t rec = record("a=1");

    dbs_store_begin(txn, NULL, NULL, NULL);
    dbs_store_insert(txn, H1, &rec, 5000);
    dbs_txn_set_error(txn, "the first failure");
    ck_assert_int_eq(dbs_store_abort(txn, APR_TIMEUP), APR_TIMEUP);
    ck_assert_str_eq(dbs_txn_error(txn), "the first failure");
    ck_assert(!dbs_txn_is_open(txn));
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 0);
    ck_assert_int_eq(dbs_store_abort(txn, APR_ENOTIMPL), APR_EGENERAL);
}
END_TEST

/* The transaction's state, and a doomed one never commits. */
START_TEST(states_and_doom)
{
    dbs_store_t *missing = dbs_store_make(unit_pool, "no_such_table");
    dbs_txn_t *bad = dbs_txn_make(unit_pool, missing, unit_conn.driver,
                                  unit_conn.handle, unit_conn.pool, 1);
    dbs_record_t rec = record("a=1");

    ck_assert_int_eq(dbs_txn_state(txn), DBS_TXN_NEW);
    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(dbs_txn_state(txn), DBS_TXN_OPEN);
    ck_assert(dbs_txn_is_open(txn) && !dbs_txn_ended(txn));
    dbs_store_insert(txn, H1, &rec, 5000);
    dbs_txn_doom(txn);
    ck_assert(dbs_txn_doomed(txn));
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert_int_eq(dbs_txn_state(txn), DBS_TXN_ROLLED_BACK);
    ck_assert(dbs_txn_ended(txn));
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 0);
    /* The next begin starts clean. */
    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    ck_assert(!dbs_txn_doomed(txn));
    dbs_store_insert(txn, H1, &rec, 5000);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert_int_eq(dbs_txn_state(txn), DBS_TXN_COMMITTED);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 1);
    /* A begin that failed began nothing. */
    ck_assert_int_eq(dbs_store_begin(bad, H1, NULL, NULL), APR_EGENERAL);
    ck_assert_int_eq(dbs_txn_state(bad), DBS_TXN_NEW);
    ck_assert_int_eq(dbs_store_end(bad, 1), APR_SUCCESS);
    ck_assert_int_eq(dbs_txn_state(bad), DBS_TXN_NEW);
}
END_TEST

START_TEST(cleanup_in_batches)
{
    dbs_record_t rec = record("");
    int i, deleted = -1;
    char hash[65];

    dbs_store_begin(txn, NULL, NULL, NULL);
    for (i = 0; i < 5; i++) {
        memset(hash, 'a' + i, 64);
        hash[64] = '\0';
        dbs_store_insert(txn, hash, &rec, i < 4 ? 100 : 900);
    }
    ck_assert_int_eq(dbs_store_cleanup(txn, 500, 3, &deleted), APR_SUCCESS);
    ck_assert_int_eq(deleted, 3);
    dbs_store_cleanup(txn, 500, 3, &deleted);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 1);
    /* In a transaction of its own. */
    ck_assert_int_eq(dbs_store_cleanup_expired(txn, 1000, 3, &deleted),
                     APR_SUCCESS);
    ck_assert_int_eq(deleted, 1);
    ck_assert(!dbs_txn_is_open(txn));
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 0);
}
END_TEST

/* The cleanup never waits for a session that a request holds (PostgreSQL
 * and MariaDB skip it; SQLite's cleanup takes no session lock at all). */
START_TEST(cleanup_skips_held_sessions)
{
    unit_conn_t other;
    dbs_txn_t *holder = unit_txn(&unit_conn, 0), *cleaner;
    dbs_record_t rec = record(""), got;
    int deleted = -1, found;
    char hash[65];

    unit_connect(&other);
    cleaner = unit_txn(&other, 1);
    dbs_store_begin(txn, NULL, NULL, NULL);
    dbs_store_insert(txn, H1, &rec, 100); /* expired, and held below */
    memset(hash, 'a', 64);
    hash[64] = '\0';
    dbs_store_insert(txn, hash, &rec, 100); /* expired */
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);

    ck_assert_int_eq(dbs_store_begin(holder, H1, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert_msg(dbs_store_cleanup_expired(cleaner, 500, 10, &deleted) ==
                      APR_SUCCESS,
                  "%s", dbs_txn_error(cleaner));
    ck_assert_int_ge(deleted, 1);
    ck_assert_int_eq(dbs_store_end(holder, 0), APR_SUCCESS);
    unit_close(&other);
}
END_TEST

START_TEST(errors_are_reported_and_recovered)
{
    dbs_store_t *missing = dbs_store_make(unit_pool, "no_such_table");
    dbs_txn_t *bad = dbs_txn_make(unit_pool, missing, unit_conn.driver,
                                  unit_conn.handle, unit_conn.pool, 1);
    dbs_record_t got;
    int found;

    ck_assert_int_eq(dbs_store_begin(bad, NULL, NULL, NULL), APR_EGENERAL);
    ck_assert_ptr_nonnull(dbs_txn_error(bad));
    ck_assert_ptr_nonnull(strstr(dbs_txn_error(bad), "no_such_table"));
    ck_assert(!dbs_txn_is_open(bad));
    /* The good store still works on the same connection. */
    ck_assert_int_eq(dbs_store_load(txn, H1, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 0);
    ck_assert(dbs_store_driver_supported("sqlite3"));
    ck_assert(dbs_store_driver_supported("pgsql"));
    ck_assert(dbs_store_driver_supported("mysql"));
    ck_assert(!dbs_store_driver_supported("odbc"));
    ck_assert(!dbs_store_driver_supported(NULL));
    ck_assert_str_eq(dbs_store_driver_names(unit_pool),
                     "sqlite3, pgsql or mysql");
}
END_TEST

/* One session's requests exclude each other, other sessions' do not, and a
 * transaction that only read still writes after another session committed
 * (SQLite would refuse to upgrade its snapshot). */
START_TEST(sessions_lock_apart)
{
    unit_conn_t other;
    dbs_txn_t *mine = unit_txn(&unit_conn, 0), *theirs;
    dbs_record_t rec = record("a=1"), got;
    int found;

    unit_connect(&other);
    theirs = unit_txn(&other, 0);
    commit_row(H1, &rec);

    ck_assert_int_eq(dbs_store_begin(mine, H1, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    /* An application's read inside the transaction takes a snapshot. */
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 1);

    /* The same session, no wait allowed: busy, and nothing is left open. */
    ck_assert_int_eq(dbs_store_begin(theirs, H1, &got, &found), APR_TIMEUP);
    ck_assert(!dbs_txn_is_open(theirs));
    /* Another session creates its row and commits meanwhile. */
    ck_assert_int_eq(dbs_store_begin(theirs, H2, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(dbs_store_insert(theirs, H2, &rec, 5000), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(theirs, 1), APR_SUCCESS);

    /* The first request still writes, and commits. */
    ck_assert_int_eq(dbs_store_touch(mine, H1, 1200, 6000), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(mine, 1), APR_SUCCESS);
    ck_assert_int_eq(
        unit_count("SELECT active_at FROM dbsession WHERE id_hash = '" H1 "'"),
        1200);
    /* Released: the other connection gets the session now. */
    ck_assert_int_eq(dbs_store_begin(theirs, H1, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(theirs, 0), APR_SUCCESS);
    unit_close(&other);
}
END_TEST

/* A new ID is locked from its write to the commit: a request that presents
 * it meanwhile waits, and then sees the row. */
START_TEST(new_id_is_locked_until_commit)
{
    unit_conn_t other;
    dbs_txn_t *theirs;
    dbs_record_t rec = record("a=1"), got;
    int found;

    unit_connect(&other);
    theirs = unit_txn(&other, 0);
    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_insert(txn, H1, &rec, 5000), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_begin(theirs, H1, &got, &found), APR_TIMEUP);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_begin(theirs, H1, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(dbs_store_end(theirs, 0), APR_SUCCESS);
    unit_close(&other);
}
END_TEST

/* Renewal: an ID that a renewal replaced finds its row under the new ID,
 * and locks it under that one, so requests with the old and the new cookie
 * wait for each other. */
START_TEST(previous_id_finds_and_locks_the_renewed_row)
{
    unit_conn_t other;
    dbs_txn_t *mine = unit_txn(&unit_conn, 0), *theirs;
    dbs_record_t rec = record("a=1"), got;
    int found;

    unit_connect(&other);
    theirs = unit_txn(&other, 0);
    /* H1 renewed to H2. */
    rec.prev_hash = H1;
    rec.renewed_at = 1300;
    commit_row(H2, &rec);

    ck_assert_int_eq(dbs_store_begin(mine, H1, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert(got.via_previous);
    ck_assert_str_eq(got.id_hash, H2);
    ck_assert_str_eq(got.prev_hash, H1);
    ck_assert_int_eq(got.renewed_at, 1300);
    /* The new ID's request must wait for it. */
    ck_assert_int_eq(dbs_store_begin(theirs, H2, &got, &found), APR_TIMEUP);
    ck_assert_int_eq(dbs_store_end(mine, 1), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_begin(theirs, H2, &got, &found), APR_SUCCESS);
    ck_assert_int_eq(found, 1);
    ck_assert(!got.via_previous);
    /* ...and the other way round. */
    ck_assert_int_eq(dbs_store_begin(mine, H1, &got, &found), APR_TIMEUP);
    ck_assert_int_eq(dbs_store_end(theirs, 0), APR_SUCCESS);
    unit_close(&other);
}
END_TEST

/* SQLite: a write another module made on the connection stays in the
 * transaction: taking the write lock for the session does not restart it. */
/* Revoke-Others compares user names byte for byte: on MariaDB a collation
 * once logged ALICE, alíce and "alice " out with alice. */
START_TEST(revoke_others_compares_bytes)
{
    static const char *const users[] = {"alice", "alice", "ALICE",
                                        "al\xc3\xad"
                                        "ce",
                                        "alice "};
    dbs_record_t rec = record("");
    char hash[65];
    size_t i;
    int deleted = -1;

    for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        snprintf(hash, sizeof(hash), "%064zx", i + 1);
        rec.user = users[i];
        commit_row(hash, &rec);
    }
    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    snprintf(hash, sizeof(hash), "%064zx", (size_t)1);
    ck_assert_int_eq(dbs_store_revoke_others(txn, "alice", hash, &deleted),
                     APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 4);
}
END_TEST

START_TEST(sqlite_app_write_joins_the_transaction)
{
    dbs_record_t rec = record("a=1");

    unit_exec("CREATE TABLE app (n INTEGER)");
    dbs_store_begin(txn, NULL, NULL, NULL);
    unit_exec("INSERT INTO app VALUES (1)");
    ck_assert_int_eq(dbs_store_insert(txn, H1, &rec, 5000), APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(txn, 0), APR_SUCCESS);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM app"), 0);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 0);

    /* Through dbs_store_begin_write first, as dbsession_dbd() does. */
    dbs_store_begin(txn, NULL, NULL, NULL);
    ck_assert_int_eq(dbs_store_begin_write(txn), APR_SUCCESS);
    unit_exec("INSERT INTO app VALUES (2)");
    dbs_store_insert(txn, H1, &rec, 5000);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM app"), 1);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession"), 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Every dialect's statements take the values the store binds, in order.    */

/* The apr_dbd placeholders of sql, as "s lld d ..." (no database needed). */
static const char *placeholders(apr_pool_t *pool, const char *sql)
{
    const char *out = "";
    const char *p;

    for (p = sql; (p = strchr(p, '%')) != NULL; p++) {
        apr_size_t n = strspn(p + 1, "hl");
        const char *type = apr_pstrndup(pool, p + 1, n + 1);

        if (p[1] == '%') {
            p++;
            continue;
        }
        out = *out ? apr_pstrcat(pool, out, " ", type, NULL) : type;
        p += n + 1;
    }
    return out;
}

#define WRITTEN "s s s s lld lld s lld"

/* What dbs_store.c binds to each statement (NULL: never run with values
 * by the store, only its own prepared form). */
static const char *const binds[DBS_STMT_COUNT] = {
    [DBS_STMT_LOAD] = "s",
    [DBS_STMT_LOAD_NOWAIT] = "s",
    [DBS_STMT_LOAD_PREVIOUS] = "s",
    [DBS_STMT_INSERT] = "s lld " WRITTEN " lld",
    [DBS_STMT_UPDATE] = "s " WRITTEN " lld s",
    [DBS_STMT_UPDATE_NEW_ID] = "s " WRITTEN " lld s",
    [DBS_STMT_TOUCH] = "lld lld s",
    [DBS_STMT_DELETE] = "s",
    [DBS_STMT_REVOKE_OTHERS] = "s s",
    [DBS_STMT_CLEANUP] = "lld d",
    [DBS_STMT_CLAIM] = "lld",
    [DBS_STMT_BEGIN] = "",
    [DBS_STMT_COMMIT] = "",
    [DBS_STMT_ROLLBACK] = "",
};

START_TEST(statements_take_what_the_store_binds)
{
    dbs_store_t *st = dbs_store_make(unit_pool, "sessions_2");
    int n, d, i;
    const dbs_dialect_t *const *all = dbs_store_dialects(&n);

    ck_assert_int_eq(n, 3);
    for (d = 0; d < n; d++) {
        for (i = 0; i < DBS_STMT_COUNT; i++) {
            const char *sql = dbs_store_statement(st, all[d], (dbs_stmt_e)i);
            const char *expected = binds[i];

            if (!sql) {
                continue;
            }
            /* A new ID's lock taken by the write: its key comes first. */
            if (all[d]->lock_new_id &&
                (i == DBS_STMT_INSERT || i == DBS_STMT_UPDATE_NEW_ID)) {
                expected = apr_pstrcat(unit_pool, "lld ", expected, NULL);
            }
            ck_assert_msg(strcmp(placeholders(unit_pool, sql), expected) == 0,
                          "%s statement %d: takes \"%s\", the store binds "
                          "\"%s\": %s",
                          all[d]->name, i, placeholders(unit_pool, sql),
                          expected, sql);
            ck_assert_msg(!strstr(sql, DBS_TABLE), "%s statement %d: %s",
                          all[d]->name, i, sql);
            ck_assert_msg(!strstr(sql, "dbsession"),
                          "%s statement %d names a fixed table: %s",
                          all[d]->name, i, sql);
        }
        /* Every dialect loads and writes. */
        ck_assert_ptr_nonnull(dbs_store_statement(st, all[d], DBS_STMT_LOAD));
        ck_assert_ptr_nonnull(dbs_store_statement(st, all[d], DBS_STMT_INSERT));
        /* A dialect that locks by a claim statement has one. */
        if (all[d]->lock_session && !all[d]->load_before_begin) {
            ck_assert_ptr_nonnull(
                dbs_store_statement(st, all[d], DBS_STMT_CLAIM));
        }
    }
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("dbs_store");
    TCase *tc = tcase_create(unit_driver());
    TCase *pure = tcase_create("statements");

    tcase_add_checked_fixture(tc, setup, unit_db_teardown);
    tcase_add_test(tc, insert_load_update_delete);
    tcase_add_test(tc, rollback_leaves_nothing);
    tcase_add_test(tc, abort_keeps_the_error);
    tcase_add_test(tc, states_and_doom);
    tcase_add_test(tc, cleanup_in_batches);
    tcase_add_test(tc, cleanup_skips_held_sessions);
    tcase_add_test(tc, errors_are_reported_and_recovered);
    tcase_add_test(tc, sessions_lock_apart);
    tcase_add_test(tc, new_id_is_locked_until_commit);
    tcase_add_test(tc, previous_id_finds_and_locks_the_renewed_row);
    tcase_add_test(tc, revoke_others_compares_bytes);
    /* SQLite's own: its deferred transaction and the write lock. */
    if (unit_driver_is("sqlite3")) {
        tcase_add_test(tc, sqlite_app_write_joins_the_transaction);
    }
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(pure, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(pure, statements_take_what_the_store_binds);
    suite_add_tcase(s, pure);
    return s;
}
