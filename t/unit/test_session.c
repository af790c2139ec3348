/* dbs_session: write-back operations in their documented order, all-or-nothing,
 * and what gets stored and which cookie is sent, on a real database
 * (db_fixture.h). */
#include "unit.h"
#include "db_fixture.h"
#include "dbs_session.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_allocator.h>
#include <apr_strings.h>

/* The test's transaction on unit_conn. */
static dbs_txn_t *txn;
static const dbs_policy_t policy = {100, 1000, 10, 0};
/* What load and save use: a test of renewal swaps it. */
static const dbs_policy_t *in_use;

static void setup(void)
{
    unit_db_setup();
    txn = unit_txn(&unit_conn, 0);
    in_use = &policy;
}

static dbs_writes_t *writes(dbs_op_e op, const char *value)
{
    dbs_writes_t *w = dbs_writes_make(unit_pool);

    APR_ARRAY_PUSH(w->values[op], const char *) = value;
    return w;
}

static void add(dbs_writes_t *w, dbs_op_e op, const char *value)
{
    APR_ARRAY_PUSH(w->values[op], const char *) = value;
}

static dbs_cookie_action_e save(dbs_session_t *s, apr_int64_t now)
{
    dbs_cookie_action_e cookie;

    ck_assert_int_eq(dbs_session_save(txn, s, in_use, now, 0, &cookie),
                     APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);
    return cookie;
}

static void load(dbs_session_t *s, const unsigned char *id, apr_int64_t now)
{
    /* Each load opens a transaction; save commits it. */
    dbs_store_end(txn, 1);
    ck_assert_int_eq(dbs_store_begin(txn, NULL, NULL, NULL), APR_SUCCESS);
    dbs_session_init(s, unit_pool);
    ck_assert_int_eq(dbs_session_load(txn, s, id, in_use, now), APR_SUCCESS);
}

/* Apply writes that must be accepted. */
static void apply(dbs_session_t *s, dbs_writes_t *w)
{
    const char *err = NULL;

    ck_assert_msg(dbs_session_apply(s, unit_pool, w, 65536, &err) ==
                      APR_SUCCESS,
                  "refused: %s", err);
}

/* A new stored session made by one write at `now`; its ID goes to id. */
static void create(dbs_op_e op, const char *value, apr_int64_t now,
                   unsigned char *id)
{
    dbs_session_t s;

    load(&s, NULL, now);
    apply(&s, writes(op, value));
    ck_assert_int_eq(save(&s, now), DBS_COOKIE_SET);
    memcpy(id, s.id, DBS_ID_BYTES);
}

static long long rows(void)
{
    return unit_count("SELECT count(*) FROM dbsession");
}

START_TEST(lazy_no_row_without_data)
{
    dbs_session_t s;

    load(&s, NULL, 1000);
    ck_assert_int_eq(save(&s, 1000), DBS_COOKIE_NONE);
    ck_assert_int_eq(rows(), 0);
    /* Clearing an empty session stores nothing either. */
    ck_assert_int_eq(dbs_session_apply(&s, unit_pool, writes(DBS_OP_CLEAR, "1"),
                                       65536, &(const char *){NULL}),
                     APR_SUCCESS);
    ck_assert_int_eq(save(&s, 1000), DBS_COOKIE_NONE);
    ck_assert_int_eq(rows(), 0);
}
END_TEST

START_TEST(create_then_load)
{
    dbs_session_t s, again;
    const char *err;
    unsigned char id[DBS_ID_BYTES];

    load(&s, NULL, 1000);
    ck_assert_int_eq(dbs_session_apply(&s, unit_pool,
                                       writes(DBS_OP_SET, "cart=apple%2C+pear"),
                                       65536, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(save(&s, 1000), DBS_COOKIE_SET);
    ck_assert_int_eq(rows(), 1);
    ck_assert_int_eq(strlen(s.csrf), 43);
    memcpy(id, s.id, DBS_ID_BYTES);

    load(&again, id, 1050);
    ck_assert(again.loaded);
    ck_assert_str_eq(apr_table_get(again.data, "cart"), "apple, pear");
    ck_assert_str_eq(again.csrf, s.csrf);
    /* Read-only within the extension delay: nothing written, no cookie. */
    ck_assert_int_eq(save(&again, 1005), DBS_COOKIE_NONE);
    ck_assert_int_eq(unit_count("SELECT active_at FROM dbsession"), 1000);
    /* After the delay the idle extension is written. */
    load(&again, id, 1050);
    ck_assert_int_eq(save(&again, 1050), DBS_COOKIE_NONE);
    ck_assert_int_eq(unit_count("SELECT active_at FROM dbsession"), 1050);
    ck_assert_int_eq(unit_count("SELECT expires_at FROM dbsession"), 1150);
}
END_TEST

START_TEST(expired_and_unknown_are_not_adopted)
{
    dbs_session_t s;
    unsigned char id[DBS_ID_BYTES], unknown[DBS_ID_BYTES];

    create(DBS_OP_SET, "a=1", 1000, id);

    load(&s, id, 1101); /* idle 100 passed */
    ck_assert(!s.loaded);
    ck_assert(s.cookie_invalid);
    ck_assert(apr_is_empty_table(s.data));
    ck_assert_int_eq(save(&s, 1101), DBS_COOKIE_CLEAR);

    dbs_id_generate(unknown);
    load(&s, unknown, 1000);
    ck_assert(!s.loaded);
    ck_assert(s.cookie_invalid);
}
END_TEST

START_TEST(order_and_atomicity)
{
    dbs_session_t s;
    dbs_writes_t *w = dbs_writes_make(unit_pool);
    const char *err = NULL;

    load(&s, NULL, 1000);
    dbs_session_apply(&s, unit_pool, writes(DBS_OP_SET, "a=1&b=2&c=3"), 65536,
                      &err);
    /* Clear runs before Set, Unset before Set: whatever the header order. */
    add(w, DBS_OP_SET, "d=4");
    add(w, DBS_OP_UNSET, "d");
    add(w, DBS_OP_CLEAR, "1");
    ck_assert_int_eq(dbs_session_apply(&s, unit_pool, w, 65536, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(apr_table_get(s.data, "a"));
    ck_assert_str_eq(apr_table_get(s.data, "d"), "4");

    /* One bad item: nothing at all is applied. */
    w = dbs_writes_make(unit_pool);
    add(w, DBS_OP_SET, "e=5");
    add(w, DBS_OP_UNSET, "d");
    add(w, DBS_OP_SET, "bad-key=1");
    ck_assert_int_eq(dbs_session_apply(&s, unit_pool, w, 65536, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "X-DBSession-Set"));
    ck_assert_str_eq(apr_table_get(s.data, "d"), "4");
    ck_assert_ptr_null(apr_table_get(s.data, "e"));

    ck_assert_int_eq(dbs_session_apply(&s, unit_pool,
                                       writes(DBS_OP_CLEAR, "yes"), 65536,
                                       &err),
                     APR_EINVAL);
    ck_assert_int_eq(dbs_session_apply(&s, unit_pool,
                                       writes(DBS_OP_SET, "x=%zz"), 65536,
                                       &err),
                     APR_EINVAL);
    ck_assert_str_eq(apr_table_get(s.data, "d"), "4");
}
END_TEST

START_TEST(max_size)
{
    dbs_session_t s;
    const char *err = NULL;
    char *big = apr_pstrcat(unit_pool,
                            "a=", apr_psprintf(unit_pool, "%0300d", 7), NULL);

    load(&s, NULL, 1000);
    ck_assert_int_eq(
        dbs_session_apply(&s, unit_pool, writes(DBS_OP_SET, big), 256, &err),
        APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "DBSessionMaxSize"));
    ck_assert(apr_is_empty_table(s.data));
    ck_assert_int_eq(
        dbs_session_apply(&s, unit_pool, writes(DBS_OP_SET, big), 400, &err),
        APR_SUCCESS);
}
END_TEST

START_TEST(user_change_and_regenerate_rotate)
{
    dbs_session_t s;
    const char *err;
    unsigned char first[DBS_ID_BYTES], second[DBS_ID_BYTES];
    const char *token;

    create(DBS_OP_SET, "a=1", 1000, first);
    load(&s, first, 1001);
    token = s.csrf;
    ck_assert_int_gt(strlen(token), 0);

    dbs_session_apply(&s, unit_pool, writes(DBS_OP_USER, "alice%40example"),
                      65536, &err);
    ck_assert_int_eq(save(&s, 1001), DBS_COOKIE_SET);
    ck_assert(memcmp(first, s.id, DBS_ID_BYTES) != 0);
    memcpy(second, s.id, DBS_ID_BYTES);

    load(&s, first, 1002);
    ck_assert(!s.loaded); /* the old ID died at once */
    load(&s, second, 1002);
    ck_assert(s.loaded);
    ck_assert_str_eq(s.user, "alice@example");
    ck_assert_str_eq(apr_table_get(s.data, "a"), "1");
    /* A planted pre-login token does not survive the login. */
    ck_assert_str_ne(s.csrf, token);
    token = s.csrf;

    /* The same user again is no change: no rotation. */
    dbs_session_apply(&s, unit_pool, writes(DBS_OP_USER, "alice%40example"),
                      65536, &err);
    ck_assert(!s.rotate);

    dbs_session_apply(&s, unit_pool, writes(DBS_OP_REGENERATE, "1"), 65536,
                      &err);
    ck_assert_int_eq(save(&s, 1003), DBS_COOKIE_SET);
    memcpy(first, s.id, DBS_ID_BYTES);
    load(&s, second, 1003);
    ck_assert(!s.loaded);
    ck_assert_int_eq(rows(), 1);
    load(&s, first, 1003);
    ck_assert(s.loaded);
    ck_assert_str_ne(s.csrf, token); /* Regenerate replaces it too */
}
END_TEST

/* A user name must be valid UTF-8 without control characters, at most 255
 * bytes; anything else is a malformed write that changes nothing. */
START_TEST(bad_user_names_are_refused)
{
    dbs_session_t s;
    const char *err = NULL;
    const char *bad[] = {
        "eve%0D%0ASet-Cookie%3A%20x", /* CR LF */
        "eve%09",                     /* a tab */
        "%FF%FEeve",                  /* not UTF-8 */
        "%C0%AF",                     /* overlong '/' */
        "%ED%A0%80",                  /* a surrogate */
        "%7F",                        /* DEL */
    };
    size_t i;
    char *long_name = apr_palloc(unit_pool, 257);

    load(&s, NULL, 1000);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(dbs_session_apply(&s, unit_pool,
                                        writes(DBS_OP_USER, bad[i]), 65536,
                                        &err) != APR_SUCCESS,
                      "user %s accepted", bad[i]);
        ck_assert_str_eq(s.user, "");
    }
    memset(long_name, 'a', 256);
    long_name[256] = '\0';
    ck_assert_int_ne(dbs_session_apply(&s, unit_pool,
                                       writes(DBS_OP_USER, long_name), 65536,
                                       &err),
                     APR_SUCCESS);
    long_name[255] = '\0';
    ck_assert_int_eq(dbs_session_apply(&s, unit_pool,
                                       writes(DBS_OP_USER, long_name), 65536,
                                       &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        dbs_session_apply(&s, unit_pool,
                          writes(DBS_OP_USER, "J%C3%BCrgen%20%E2%9C%93"), 65536,
                          &err),
        APR_SUCCESS);
    ck_assert_str_eq(s.user, "J\xc3\xbcrgen \xe2\x9c\x93");
}
END_TEST

/* Revoke-Others deletes the user's other sessions, keeps this one (under
 * its new ID when it rotated), and leaves other users alone. */
START_TEST(revoke_others)
{
    dbs_session_t s;
    const char *err;
    unsigned char mine[DBS_ID_BYTES], other[DBS_ID_BYTES],
        stranger[DBS_ID_BYTES];
    unsigned char *ids[3] = {mine, other, stranger};
    const char *users[3] = {"alice", "alice", "bob"};
    int i;

    for (i = 0; i < 3; i++) {
        create(DBS_OP_USER, users[i], 1000, ids[i]);
    }
    ck_assert_int_eq(rows(), 3);

    /* Without a user there is nobody to log out. */
    load(&s, NULL, 1001);
    dbs_session_apply(&s, unit_pool, writes(DBS_OP_SET, "a=1"), 65536, &err);
    ck_assert_int_eq(dbs_session_apply(&s, unit_pool,
                                       writes(DBS_OP_REVOKE_OTHERS, "1"), 65536,
                                       &err),
                     APR_SUCCESS);
    save(&s, 1001);
    ck_assert_int_eq(rows(), 4);

    load(&s, mine, 1002);
    {
        dbs_writes_t *w = writes(DBS_OP_REVOKE_OTHERS, "1");

        add(w, DBS_OP_REGENERATE, "1");
        ck_assert_int_eq(dbs_session_apply(&s, unit_pool, w, 65536, &err),
                         APR_SUCCESS);
    }
    save(&s, 1002);
    ck_assert_int_eq(s.revoked, 1);
    ck_assert_int_eq(rows(), 3);
    memcpy(mine, s.id, DBS_ID_BYTES);
    load(&s, other, 1003);
    ck_assert(!s.loaded);
    load(&s, stranger, 1003);
    ck_assert(s.loaded);
    load(&s, mine, 1003);
    ck_assert(s.loaded);
    ck_assert_int_ne(dbs_session_apply(&s, unit_pool,
                                       writes(DBS_OP_REVOKE_OTHERS, "yes"),
                                       65536, &err),
                     APR_SUCCESS);
}
END_TEST

START_TEST(invalidate)
{
    dbs_session_t s;
    const char *err;
    unsigned char id[DBS_ID_BYTES];
    dbs_writes_t *w;

    create(DBS_OP_SET, "a=1", 1000, id);

    load(&s, id, 1001);
    dbs_session_apply(&s, unit_pool, writes(DBS_OP_INVALIDATE, "1"), 65536,
                      &err);
    ck_assert_int_eq(save(&s, 1001), DBS_COOKIE_CLEAR);
    ck_assert_int_eq(rows(), 0);

    /* Invalidate + Set in one response: a fresh session. */
    create(DBS_OP_SET, "a=1", 1000, id);
    load(&s, id, 1001);
    w = writes(DBS_OP_SET, "b=2");
    add(w, DBS_OP_INVALIDATE, "1");
    dbs_session_apply(&s, unit_pool, w, 65536, &err);
    ck_assert_int_eq(save(&s, 1001), DBS_COOKIE_SET);
    ck_assert(memcmp(id, s.id, DBS_ID_BYTES) != 0);
    ck_assert_int_eq(rows(), 1);
    memcpy(id, s.id, DBS_ID_BYTES);
    load(&s, id, 1002);
    ck_assert_ptr_null(apr_table_get(s.data, "a"));
    ck_assert_str_eq(apr_table_get(s.data, "b"), "2");
}
END_TEST

START_TEST(flash_is_consumed)
{
    dbs_session_t s;
    const char *err;
    unsigned char id[DBS_ID_BYTES];
    dbs_writes_t *w;

    load(&s, NULL, 1000);
    w = writes(DBS_OP_FLASH, "Saved%2C%20thanks");
    add(w, DBS_OP_FLASH, "two, three");
    dbs_session_apply(&s, unit_pool, w, 65536, &err);
    save(&s, 1000);
    memcpy(id, s.id, DBS_ID_BYTES);

    load(&s, id, 1001);
    ck_assert_str_eq(dbs_session_take_flash(&s), "Saved%2C%20thanks&two&three");
    ck_assert_str_eq(dbs_session_take_flash(&s), "");
    save(&s, 1001);
    load(&s, id, 1002);
    ck_assert_str_eq(s.flash, "");
}
END_TEST

START_TEST(open_takes_the_first_live_id)
{
    dbs_session_t s;
    unsigned char live[DBS_ID_BYTES], unknown[DBS_ID_BYTES];
    apr_array_header_t *ids = apr_array_make(unit_pool, 2, DBS_ID_BYTES);
    const char *retried;

    create(DBS_OP_SET, "a=live", 1000, live);
    dbs_id_generate(unknown);

    /* A tossed unknown cookie first, the live one second. */
    memcpy(apr_array_push(ids), unknown, DBS_ID_BYTES);
    memcpy(apr_array_push(ids), live, DBS_ID_BYTES);
    dbs_session_init(&s, unit_pool);
    ck_assert_int_eq(dbs_session_open(txn, &s, ids, &policy, 1001, &retried),
                     APR_SUCCESS);
    ck_assert(s.loaded);
    ck_assert(!s.cookie_invalid);
    ck_assert_str_eq(apr_table_get(s.data, "a"), "live");
    ck_assert_int_eq(dbs_store_end(txn, 1), APR_SUCCESS);

    /* Only unknown IDs: a transaction, no session, the cookie is invalid. */
    apr_array_clear(ids);
    memcpy(apr_array_push(ids), unknown, DBS_ID_BYTES);
    dbs_session_init(&s, unit_pool);
    ck_assert_int_eq(dbs_session_open(txn, &s, ids, &policy, 1001, &retried),
                     APR_SUCCESS);
    ck_assert(!s.loaded);
    ck_assert(s.cookie_invalid);
    ck_assert_int_eq(dbs_store_end(txn, 0), APR_SUCCESS);
}
END_TEST

/* Renewal: the next committing response past the renewal timeout gets a
 * new ID with the same data and token; the old one works until the new one
 * came back, then for DBS_RENEWAL_GRACE seconds, then never. */
START_TEST(renewal_keeps_the_old_id_through_its_grace)
{
    static const dbs_policy_t renewing = {0, 0, 10, 300};
    dbs_session_t s;
    unsigned char old[DBS_ID_BYTES], renewed[DBS_ID_BYTES], third[DBS_ID_BYTES];
    const char *token;

    in_use = &renewing;
    create(DBS_OP_SET, "a=1", 1000, old);
    load(&s, old, 1299);
    token = apr_pstrdup(unit_pool, s.csrf);
    ck_assert_int_eq(save(&s, 1299), DBS_COOKIE_NONE);
    load(&s, old, 1300);
    ck_assert_int_eq(save(&s, 1300), DBS_COOKIE_SET);
    ck_assert(s.renewed);
    ck_assert(memcmp(s.id, old, DBS_ID_BYTES) != 0);
    memcpy(renewed, s.id, DBS_ID_BYTES);
    ck_assert_int_eq(rows(), 1);

    /* A parallel request with the old cookie: the same session, its write
     * kept, no cookie (it would replace the new one), no second renewal. */
    load(&s, old, 1310);
    ck_assert(s.loaded);
    ck_assert(s.via_previous);
    apply(&s, writes(DBS_OP_SET, "b=2"));
    ck_assert_int_eq(save(&s, 1310), DBS_COOKIE_NONE);
    ck_assert(!s.renewed);

    /* The new ID comes back: same data and token; the old one's grace
     * starts, written without a cookie. */
    load(&s, renewed, 1320);
    ck_assert(s.loaded);
    ck_assert(!s.via_previous);
    ck_assert_str_eq(apr_table_get(s.data, "a"), "1");
    ck_assert_str_eq(apr_table_get(s.data, "b"), "2");
    ck_assert_str_eq(s.csrf, token);
    ck_assert_int_eq(save(&s, 1320), DBS_COOKIE_NONE);
    ck_assert_int_eq(unit_count("SELECT prev_until FROM dbsession"),
                     1320 + DBS_RENEWAL_GRACE);

    load(&s, old, 1320 + DBS_RENEWAL_GRACE);
    ck_assert(s.loaded);
    ck_assert_int_eq(s.renewal_violations, 0);
    load(&s, old, 1321 + DBS_RENEWAL_GRACE);
    ck_assert(!s.loaded);
    ck_assert(s.cookie_invalid);
    ck_assert_int_eq(s.renewal_violations, 1);
    ck_assert_int_eq(save(&s, 1321 + DBS_RENEWAL_GRACE), DBS_COOKIE_CLEAR);

    /* The next renewal comes after the timeout, counted from the last. */
    load(&s, renewed, 1599);
    ck_assert_int_eq(save(&s, 1599), DBS_COOKIE_NONE);
    load(&s, renewed, 1600);
    ck_assert_int_eq(save(&s, 1600), DBS_COOKIE_SET);
    memcpy(third, s.id, DBS_ID_BYTES);
    load(&s, third, 1601);
    ck_assert(s.loaded);
    ck_assert_str_eq(apr_table_get(s.data, "b"), "2");
    /* Two generations back is dead (and no longer known at all). */
    load(&s, old, 1601);
    ck_assert(!s.loaded);
    ck_assert_int_eq(s.renewal_violations, 0);
}
END_TEST

/* A response with the new ID that never arrived: after the grace the old
 * ID gets another new one; the lost one dies. */
START_TEST(renewal_replaces_a_lost_new_id)
{
    static const dbs_policy_t renewing = {0, 0, 10, 300};
    dbs_session_t s;
    unsigned char old[DBS_ID_BYTES], lost[DBS_ID_BYTES], next[DBS_ID_BYTES];

    in_use = &renewing;
    create(DBS_OP_SET, "a=1", 1000, old);
    load(&s, old, 1300);
    ck_assert_int_eq(save(&s, 1300), DBS_COOKIE_SET);
    memcpy(lost, s.id, DBS_ID_BYTES);
    load(&s, old, 1300 + DBS_RENEWAL_GRACE - 1);
    ck_assert_int_eq(save(&s, 1300 + DBS_RENEWAL_GRACE - 1), DBS_COOKIE_NONE);
    load(&s, old, 1300 + DBS_RENEWAL_GRACE);
    ck_assert(s.via_previous);
    ck_assert_int_eq(save(&s, 1300 + DBS_RENEWAL_GRACE), DBS_COOKIE_SET);
    ck_assert(s.renewed);
    memcpy(next, s.id, DBS_ID_BYTES);
    load(&s, lost, 1400);
    ck_assert(!s.loaded);
    load(&s, next, 1400);
    ck_assert(s.loaded);
    ck_assert_int_eq(save(&s, 1400), DBS_COOKIE_NONE);
    load(&s, old, 1400);
    ck_assert(s.loaded); /* its grace runs until 1460 */
    ck_assert_int_eq(rows(), 1);
}
END_TEST

/* The lost new ID is replaced once; the old ID asking for another
 * replacement is a violation, and the replacement keeps working. */
START_TEST(renewal_replaces_a_lost_id_once)
{
    static const dbs_policy_t renewing = {0, 0, 10, 300};
    dbs_session_t s;
    unsigned char old[DBS_ID_BYTES], next[DBS_ID_BYTES];
    apr_int64_t t = 1300 + DBS_RENEWAL_GRACE;

    in_use = &renewing;
    create(DBS_OP_SET, "a=1", 1000, old);
    load(&s, old, 1300);
    ck_assert_int_eq(save(&s, 1300), DBS_COOKIE_SET);
    load(&s, old, t);
    ck_assert_int_eq(save(&s, t), DBS_COOKIE_SET); /* the one replacement */
    memcpy(next, s.id, DBS_ID_BYTES);
    load(&s, old, t + 10);
    ck_assert(s.loaded); /* within the replacement's wait: still works */
    ck_assert_int_eq(save(&s, t + 10), DBS_COOKIE_NONE);
    load(&s, old, t + DBS_RENEWAL_GRACE);
    ck_assert(!s.loaded);
    ck_assert_int_eq(s.renewal_violations, 1);
    ck_assert_int_eq(save(&s, t + DBS_RENEWAL_GRACE), DBS_COOKIE_CLEAR);
    load(&s, next, t + DBS_RENEWAL_GRACE);
    ck_assert(s.loaded);
    ck_assert_str_eq(apr_table_get(s.data, "a"), "1");
}
END_TEST

/* Revoke-Others ("log out everywhere else") ends a renewed-away ID's grace
 * at once; a request that came with that ID gets a new one. */
START_TEST(revoke_others_ends_the_grace)
{
    static const dbs_policy_t renewing = {0, 0, 10, 300};
    dbs_session_t s;
    unsigned char old[DBS_ID_BYTES], renewed[DBS_ID_BYTES], third[DBS_ID_BYTES];

    in_use = &renewing;
    create(DBS_OP_USER, "alice", 1000, old);
    load(&s, old, 1300);
    ck_assert_int_eq(save(&s, 1300), DBS_COOKIE_SET);
    memcpy(renewed, s.id, DBS_ID_BYTES);
    load(&s, renewed, 1301);
    ck_assert_int_eq(save(&s, 1301), DBS_COOKIE_NONE); /* grace starts */
    load(&s, renewed, 1302);
    apply(&s, writes(DBS_OP_REVOKE_OTHERS, "1"));
    ck_assert_int_eq(save(&s, 1302), DBS_COOKIE_NONE);
    load(&s, old, 1303);
    ck_assert(!s.loaded);
    ck_assert_int_eq(s.renewal_violations, 0);
    load(&s, renewed, 1303);
    ck_assert(s.loaded);

    /* Again, now asked by a request with the renewed-away ID. */
    load(&s, renewed, 1700);
    ck_assert_int_eq(save(&s, 1700), DBS_COOKIE_SET);
    memcpy(third, s.id, DBS_ID_BYTES);
    load(&s, renewed, 1701);
    ck_assert(s.via_previous);
    apply(&s, writes(DBS_OP_REVOKE_OTHERS, "1"));
    ck_assert_int_eq(save(&s, 1701), DBS_COOKIE_SET);
    ck_assert(memcmp(s.id, renewed, DBS_ID_BYTES) != 0);
    ck_assert(memcmp(s.id, third, DBS_ID_BYTES) != 0);
    memcpy(old, s.id, DBS_ID_BYTES);
    load(&s, renewed, 1702);
    ck_assert(!s.loaded);
    load(&s, third, 1702);
    ck_assert(!s.loaded);
    load(&s, old, 1702);
    ck_assert(s.loaded);
    ck_assert_str_eq(s.user, "alice");
}
END_TEST

/* Regenerate (and a new user) kill a renewed session's old ID at once,
 * even in its grace; so does a rollback leave everything as it was. */
START_TEST(regenerate_ends_the_grace)
{
    static const dbs_policy_t renewing = {0, 0, 10, 300};
    dbs_session_t s;
    unsigned char old[DBS_ID_BYTES], renewed[DBS_ID_BYTES];

    in_use = &renewing;
    create(DBS_OP_SET, "a=1", 1000, old);
    load(&s, old, 1300);
    ck_assert_int_eq(
        dbs_session_save(txn, &s, in_use, 1300, 0, &(dbs_cookie_action_e){0}),
        APR_SUCCESS);
    ck_assert_int_eq(dbs_store_end(txn, 0), APR_SUCCESS);
    load(&s, old, 1301); /* the renewal rolled back: old is current */
    ck_assert(s.loaded);
    ck_assert(!s.via_previous);
    ck_assert_int_eq(save(&s, 1301), DBS_COOKIE_SET);
    memcpy(renewed, s.id, DBS_ID_BYTES);

    load(&s, old, 1302);
    ck_assert(s.via_previous);
    apply(&s, writes(DBS_OP_REGENERATE, "1"));
    ck_assert_int_eq(save(&s, 1302), DBS_COOKIE_SET);
    ck_assert(memcmp(s.id, renewed, DBS_ID_BYTES) != 0);
    load(&s, old, 1303);
    ck_assert(!s.loaded);
    ck_assert_int_eq(s.renewal_violations, 0);
    load(&s, renewed, 1303);
    ck_assert(!s.loaded);
    ck_assert_int_eq(unit_count("SELECT count(*) FROM dbsession WHERE "
                                "prev_id_hash = ''"),
                     1);
}
END_TEST

/* The process's data memory (VmData: heap and private mappings, where
 * apr's allocator may take its nodes), in bytes. */
static apr_size_t data_in_use(void)
{
    unsigned long size, resident, shared, text, lib, data = 0;
    FILE *statm = fopen("/proc/self/statm", "r");

    ck_assert_ptr_nonnull(statm);
    ck_assert_int_eq(fscanf(statm, "%lu %lu %lu %lu %lu %lu", &size, &resident,
                            &shared, &text, &lib, &data),
                     6);
    fclose(statm);
    return (apr_size_t)data * (apr_size_t)sysconf(_SC_PAGESIZE);
}

/* Apply w to s in a pool of its own; *bytes is how much the process's data
 * memory grew meanwhile (its pool's). The caller destroys *pool. */
static apr_status_t apply_measured(dbs_session_t *s, const dbs_writes_t *w,
                                   apr_int64_t limit, apr_pool_t **pool,
                                   apr_size_t *bytes, const char **err)
{
    apr_allocator_t *allocator;
    apr_size_t before;
    apr_status_t rv;

    ck_assert_int_eq(apr_allocator_create(&allocator), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create_ex(pool, NULL, NULL, allocator),
                     APR_SUCCESS);
    apr_allocator_owner_set(allocator, *pool);
    before = data_in_use();
    rv = dbs_session_apply(s, *pool, w, limit, err);
    *bytes = data_in_use() - before;
    return rv;
}

/* Every write kind is linear in memory: 20000 one-byte flash messages (40
 * KB, within the size limit) once made a quadratic 400 MB. The bound is
 * per item, far below any quadratic cost and above the linear one. */
#define MANY           20000
#define BYTES_PER_ITEM 1024

START_TEST(many_writes_cost_linear_memory)
{
    dbs_writes_t *w = dbs_writes_make(unit_pool);
    dbs_session_t s;
    apr_pool_t *pool;
    apr_size_t bytes;
    const char *err = NULL;
    char *expected = apr_palloc(unit_pool, 2 * MANY), *assign, *keys, *at;
    int i;

    dbs_session_init(&s, unit_pool);
    for (i = 0; i < MANY; i++) {
        add(w, DBS_OP_FLASH, "x");
        expected[2 * i] = 'x';
        expected[2 * i + 1] = i + 1 < MANY ? '&' : '\0';
    }
    ck_assert_int_eq(apply_measured(&s, w, 65536, &pool, &bytes, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(s.flash, expected);
    ck_assert_msg(bytes < (apr_size_t)MANY * BYTES_PER_ITEM,
                  "%d flash messages took %zu bytes", MANY, (size_t)bytes);
    apr_pool_destroy(pool);

    /* One Set of MANY assignments, then one Unset of all their keys. */
    dbs_session_init(&s, unit_pool);
    at = assign = apr_palloc(unit_pool, (apr_size_t)MANY * 12);
    for (i = 0; i < MANY; i++) {
        at += sprintf(at, "%sk%d=v", i ? "&" : "", i);
    }
    ck_assert_int_eq(apply_measured(&s, writes(DBS_OP_SET, assign), 1 << 24,
                                    &pool, &bytes, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(s.data)->nelts, MANY);
    ck_assert_str_eq(apr_table_get(s.data, "k0"), "v");
    ck_assert_str_eq(apr_table_get(s.data, "k19999"), "v");
    ck_assert_msg(bytes < (apr_size_t)MANY * BYTES_PER_ITEM,
                  "%d assignments took %zu bytes", MANY, (size_t)bytes);
    at = keys = apr_palloc(unit_pool, (apr_size_t)MANY * 8);
    for (i = 0; i < MANY; i++) {
        at += sprintf(at, "%sk%d", i ? "&" : "", i);
    }
    {
        apr_pool_t *unset_pool;

        ck_assert_int_eq(apply_measured(&s, writes(DBS_OP_UNSET, keys), 1 << 24,
                                        &unset_pool, &bytes, &err),
                         APR_SUCCESS);
        ck_assert(apr_is_empty_table(s.data));
        ck_assert_msg(bytes < (apr_size_t)MANY * BYTES_PER_ITEM,
                      "unsetting %d keys took %zu bytes", MANY, (size_t)bytes);
        apr_pool_destroy(unset_pool);
    }
    apr_pool_destroy(pool);

    /* Over the limit: refused as soon as it is passed, nothing applied. */
    dbs_session_init(&s, unit_pool);
    ck_assert_int_eq(apply_measured(&s, w, 256, &pool, &bytes, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "DBSessionMaxSize"));
    ck_assert_str_eq(s.flash, "");
    apr_pool_destroy(pool);
}
END_TEST

Suite *session_suite(void)
{
    Suite *s = suite_create("dbs_session");
    TCase *tc = tcase_create(unit_driver());

    tcase_add_checked_fixture(tc, setup, unit_db_teardown);
    tcase_add_test(tc, lazy_no_row_without_data);
    tcase_add_test(tc, create_then_load);
    tcase_add_test(tc, expired_and_unknown_are_not_adopted);
    tcase_add_test(tc, order_and_atomicity);
    tcase_add_test(tc, max_size);
    tcase_add_test(tc, user_change_and_regenerate_rotate);
    tcase_add_test(tc, invalidate);
    tcase_add_test(tc, revoke_others);
    tcase_add_test(tc, bad_user_names_are_refused);
    tcase_add_test(tc, flash_is_consumed);
    tcase_add_test(tc, open_takes_the_first_live_id);
    tcase_add_test(tc, renewal_keeps_the_old_id_through_its_grace);
    tcase_add_test(tc, renewal_replaces_a_lost_new_id);
    tcase_add_test(tc, regenerate_ends_the_grace);
    tcase_add_test(tc, renewal_replaces_a_lost_id_once);
    tcase_add_test(tc, revoke_others_ends_the_grace);
    tcase_add_test(tc, many_writes_cost_linear_memory);
    suite_add_tcase(s, tc);
    return s;
}
