/* dbs_lock: per-session locks shared by threads and processes, waking on
 * release, surviving a holder that dies. */
#include "unit.h"
#include "dbs_lock.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define LONG_WAIT apr_time_from_sec(10)

static char lock_path[64];

static void lock_setup(void)
{
    int fd;

    unit_pool_setup();
    snprintf(lock_path, sizeof(lock_path), "/tmp/dbs-unit-lock.XXXXXX");
    fd = mkstemp(lock_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void lock_teardown(void)
{
    unlink(lock_path);
    unit_pool_teardown();
}

static dbs_locktable_t *table(void)
{
    dbs_locktable_t *t = NULL;
    const char *err = NULL;

    ck_assert_int_eq(dbs_locktable_open(lock_path, &t, &err), APR_SUCCESS);
    return t;
}

static apr_status_t try_lock(apr_uint64_t key, dbs_lock_t **lock)
{
    return dbs_lock_session(table(), key, 0, unit_pool, lock, NULL);
}

START_TEST(one_session_excludes_itself)
{
    dbs_lock_t *a, *b;

    ck_assert_int_eq(try_lock(42, &a), APR_SUCCESS);
    ck_assert_int_eq(try_lock(42, &b), APR_TIMEUP);
    dbs_lock_release(a);
    ck_assert_int_eq(try_lock(42, &b), APR_SUCCESS);
    dbs_lock_release(b);
    dbs_lock_release(b); /* twice is harmless */
}
END_TEST

START_TEST(other_sessions_never_wait)
{
    dbs_lock_t *held[3], *other;

    /* The same home slot (key modulo the table size) and key 0. */
    ck_assert_int_eq(try_lock(7, &held[0]), APR_SUCCESS);
    ck_assert_int_eq(try_lock(7 + DBS_LOCK_SLOTS, &held[1]), APR_SUCCESS);
    ck_assert_int_eq(try_lock(7 + 2 * DBS_LOCK_SLOTS, &held[2]), APR_SUCCESS);
    ck_assert_int_eq(try_lock(8, &other), APR_SUCCESS);
    dbs_lock_release(other);
    dbs_lock_release(held[1]);
    /* A released slot is reused, and the others stay locked. */
    ck_assert_int_eq(try_lock(7, &other), APR_TIMEUP);
    ck_assert_int_eq(try_lock(7 + 2 * DBS_LOCK_SLOTS, &other), APR_TIMEUP);
    ck_assert_int_eq(try_lock(7 + DBS_LOCK_SLOTS, &other), APR_SUCCESS);
}
END_TEST

/* When every slot near a key's home is held by other sessions, the key
 * waits (here: is refused at once) instead of sharing a slot. */
START_TEST(full_neighbourhood_waits)
{
    dbs_lock_t *held[32], *extra, *again;
    apr_uint64_t k;

    for (k = 0; k < 32; k++) {
        ck_assert_int_eq(try_lock(7 + k * DBS_LOCK_SLOTS, &held[k]),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(try_lock(7 + 32 * DBS_LOCK_SLOTS, &extra), APR_TIMEUP);
    dbs_lock_release(held[0]);
    ck_assert_int_eq(try_lock(7 + 32 * DBS_LOCK_SLOTS, &extra), APR_SUCCESS);
    /* Everyone else still holds their own. */
    for (k = 1; k < 32; k++) {
        ck_assert_int_eq(try_lock(7 + k * DBS_LOCK_SLOTS, &again), APR_TIMEUP);
    }
    ck_assert_int_eq(try_lock(7 + 32 * DBS_LOCK_SLOTS, &again), APR_TIMEUP);
}
END_TEST

/* A child process that locks key (waiting up to LONG_WAIT), says so on
 * *from_child, then holds it until the parent writes to *to_child (with
 * die: exits holding it, no release, no cleanup). */
static pid_t spawn_holder(apr_uint64_t key, int die, int *from_child,
                          int *to_child)
{
    int up[2], down[2];
    pid_t pid;
    char c;

    ck_assert_int_eq(pipe(up), 0);
    ck_assert_int_eq(pipe(down), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *pool;
        dbs_lock_t *lock;

        apr_pool_create(&pool, NULL);
        if (dbs_lock_session(table(), key, apr_time_now() + LONG_WAIT, pool,
                             &lock, NULL) != APR_SUCCESS ||
            write(up[1], "h", 1) != 1) {
            _exit(1);
        }
        if (die) {
            _exit(0);
        }
        if (read(down[0], &c, 1) != 1) {
            _exit(1);
        }
        dbs_lock_release(lock);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    *from_child = up[0];
    *to_child = down[1];
    return pid;
}

static void wait_until_held(int from_child)
{
    char c;

    ck_assert_int_eq(read(from_child, &c, 1), 1);
    close(from_child);
}

/* A child that holds key by the time this returns. */
static pid_t child_holding(apr_uint64_t key, int die, int *to_child)
{
    int from_child;
    pid_t pid = spawn_holder(key, die, &from_child, to_child);

    wait_until_held(from_child);
    return pid;
}

static void reap(pid_t pid)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A session that had to wait for a slot in a full neighbourhood must still
 * have one holder at a time once other slots free up. */
START_TEST(waiting_for_a_slot_keeps_one_holder)
{
    dbs_lock_t *held[32], *lock;
    apr_uint64_t k, waiter_key = 7 + 32 * DBS_LOCK_SLOTS;
    int from_child, to_child;
    pid_t pid;

    for (k = 0; k < 32; k++) {
        ck_assert_int_eq(try_lock(7 + k * DBS_LOCK_SLOTS, &held[k]),
                         APR_SUCCESS);
    }
    pid = spawn_holder(waiter_key, 0, &from_child, &to_child);
    /* The child waits (give it time to start waiting: otherwise it would
     * merely find the freed slot); a slot frees; the child takes it. */
    apr_sleep(apr_time_from_msec(200));
    dbs_lock_release(held[0]);
    wait_until_held(from_child);
    /* Another slot frees: the waiter's session must still be held. */
    dbs_lock_release(held[5]);
    ck_assert_int_eq(try_lock(waiter_key, &lock), APR_TIMEUP);
    ck_assert_int_eq(write(to_child, "r", 1), 1);
    reap(pid);
    close(to_child);
    ck_assert_int_eq(try_lock(waiter_key, &lock), APR_SUCCESS);
}
END_TEST

START_TEST(pool_cleanup_releases)
{
    apr_pool_t *request;
    dbs_lock_t *lock;

    apr_pool_create(&request, unit_pool);
    ck_assert_int_eq(dbs_lock_session(table(), 9, 0, request, &lock, NULL),
                     APR_SUCCESS);
    apr_pool_destroy(request);
    ck_assert_int_eq(try_lock(9, &lock), APR_SUCCESS);
}
END_TEST

/* The counters' lock waits: a busy session says so, a free one does not. */
START_TEST(waiting_is_reported)
{
    dbs_lock_t *held, *other;
    int waited = 0;

    ck_assert_int_eq(
        dbs_lock_session(table(), 13, 0, unit_pool, &held, &waited),
        APR_SUCCESS);
    ck_assert_int_eq(waited, 0);
    ck_assert_int_eq(dbs_lock_session(table(), 13, apr_time_now() + 20000,
                                      unit_pool, &other, &waited),
                     APR_TIMEUP);
    ck_assert_int_eq(waited, 1);
    dbs_lock_release(held);
}
END_TEST

START_TEST(shared_between_processes)
{
    dbs_lock_t *lock;
    int to_child;
    pid_t pid = child_holding(5, 0, &to_child);

    ck_assert_int_eq(try_lock(5, &lock), APR_TIMEUP);
    ck_assert_int_eq(try_lock(6, &lock), APR_SUCCESS);
    /* The release wakes a waiter with a long deadline. */
    ck_assert_int_eq(write(to_child, "r", 1), 1);
    ck_assert_int_eq(dbs_lock_session(table(), 5, apr_time_now() + LONG_WAIT,
                                      unit_pool, &lock, NULL),
                     APR_SUCCESS);
    reap(pid);
    close(to_child);
}
END_TEST

START_TEST(dead_holder_is_replaced)
{
    dbs_lock_t *lock;
    int to_child;
    pid_t pid = child_holding(11, 1, &to_child);

    reap(pid);
    ck_assert_int_eq(dbs_lock_session(table(), 11, apr_time_now() + LONG_WAIT,
                                      unit_pool, &lock, NULL),
                     APR_SUCCESS);
    dbs_lock_release(lock);
    ck_assert_int_eq(try_lock(11, &lock), APR_SUCCESS);
    close(to_child);
}
END_TEST

START_TEST(writer_lock)
{
    dbs_lock_t *a, *b;

    ck_assert_int_eq(dbs_lock_writer(table(), 0, unit_pool, &a), APR_SUCCESS);
    ck_assert_int_eq(dbs_lock_writer(table(), 0, unit_pool, &b), APR_TIMEUP);
    /* Independent of the session locks. */
    ck_assert_int_eq(try_lock(1, &b), APR_SUCCESS);
    dbs_lock_release(a);
    ck_assert_int_eq(dbs_lock_writer(table(), 0, unit_pool, &b), APR_SUCCESS);
}
END_TEST

START_TEST(key_of_hash)
{
    ck_assert(dbs_lock_key("00000000000000ff"
                           "aa") == 0xff);
    ck_assert(dbs_lock_key("0000000000000000"
                           "ff") == 1);
    ck_assert(dbs_lock_key("ffffffffffffffff") == UINT64_C(0xffffffffffffffff));
}
END_TEST

Suite *lock_suite(void)
{
    Suite *s = suite_create("dbs_lock");
    TCase *tc = tcase_create("lock");

    tcase_add_checked_fixture(tc, lock_setup, lock_teardown);
    tcase_add_test(tc, one_session_excludes_itself);
    tcase_add_test(tc, other_sessions_never_wait);
    tcase_add_test(tc, full_neighbourhood_waits);
    tcase_add_test(tc, waiting_for_a_slot_keeps_one_holder);
    tcase_add_test(tc, pool_cleanup_releases);
    tcase_add_test(tc, waiting_is_reported);
    tcase_add_test(tc, shared_between_processes);
    tcase_add_test(tc, dead_holder_is_replaced);
    tcase_add_test(tc, writer_lock);
    tcase_add_test(tc, key_of_hash);
    suite_add_tcase(s, tc);
    return s;
}
