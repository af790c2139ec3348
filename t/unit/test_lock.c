/* dbs_lock: per-session locks shared by threads and processes, waking on
 * release, surviving a holder that dies. */
#include "unit.h"
#include "dbs_lock.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LONG_WAIT apr_time_from_sec(10)

/* A directory per test holding a database file and beside it the lock
 * table's path (not made yet). */
static char dir[64], db_path[96], lock_path[128];

static void lock_setup(void)
{
    FILE *db;

    unit_pool_setup();
    snprintf(dir, sizeof(dir), "/tmp/dbs-unit-lock.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db_path, sizeof(db_path), "%s/sessions.db", dir);
    snprintf(lock_path, sizeof(lock_path), "%s-dbsession-locks", db_path);
    ck_assert_ptr_nonnull(db = fopen(db_path, "w"));
    fclose(db);
}

static void lock_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    unit_pool_teardown();
}

static apr_status_t open_table(dbs_locktable_t **t, const char **err)
{
    *err = NULL;
    return dbs_locktable_open(lock_path, db_path, unit_pool, t, err);
}

static dbs_locktable_t *table(void)
{
    dbs_locktable_t *t = NULL;
    const char *err = NULL;

    ck_assert_msg(open_table(&t, &err) == APR_SUCCESS, "%s", err);
    return t;
}

/* The whole content of path (NULL if it cannot be read), its size in *len. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    buf = apr_palloc(unit_pool, *len + 1);
    ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *data, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

/* Opening lock_path fails, naming it and saying why. */
static void refused(const char *why)
{
    dbs_locktable_t *t = NULL;
    const char *err;

    ck_assert_int_ne(open_table(&t, &err), APR_SUCCESS);
    ck_assert_ptr_null(t);
    ck_assert_msg(err && strstr(err, lock_path) && strstr(err, why),
                  "error \"%s\" does not name %s and say \"%s\"", err,
                  lock_path, why);
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

/* A link planted at the path (the directory is httpd's user's: any CGI
 * could) must not let a root dbsessionctl write where it points. */
START_TEST(symlink_is_never_followed)
{
    static const char precious[] = "root:x:0:0:root:/root:/bin/bash\n";
    char victim[160], *after;
    size_t len;

    snprintf(victim, sizeof(victim), "%s/victim", dir);
    spit(victim, precious, sizeof(precious) - 1, 0644);
    ck_assert_int_eq(symlink(victim, lock_path), 0);
    refused("symbolic link");
    after = slurp(victim, &len);
    ck_assert_uint_eq(len, sizeof(precious) - 1);
    ck_assert(memcmp(after, precious, len) == 0);
    /* A dangling link is not followed to create its target either. */
    ck_assert_int_eq(unlink(victim), 0);
    refused("symbolic link");
    ck_assert_int_ne(access(victim, F_OK), 0);
}
END_TEST

START_TEST(only_a_regular_file)
{
    ck_assert_int_eq(mkfifo(lock_path, 0600), 0);
    refused("not a regular file"); /* and it did not block on the FIFO */
    ck_assert_int_eq(unlink(lock_path), 0);
    ck_assert_int_eq(mkdir(lock_path, 0700), 0);
    refused(lock_path);
}
END_TEST

/* An existing file that is not a lock table of this version: refused and
 * left as it is, whatever its size. */
START_TEST(foreign_content_is_refused_and_kept)
{
    char fresh[160], *garbage, *after;
    struct stat st;
    size_t len, size;

    /* The size of a real lock table, from one made elsewhere. */
    snprintf(fresh, sizeof(fresh), "%s/fresh.db-dbsession-locks", dir);
    ck_assert_int_eq(dbs_locktable_open(fresh, db_path, unit_pool,
                                        &(dbs_locktable_t *){NULL},
                                        &(const char *){NULL}),
                     APR_SUCCESS);
    ck_assert_int_eq(stat(fresh, &st), 0);
    size = (size_t)st.st_size;
    garbage = apr_palloc(unit_pool, size);
    memset(garbage, 0xA5, size);

    spit(lock_path, garbage, 100, 0600);
    refused("not a lock table");
    after = slurp(lock_path, &len);
    ck_assert(len == 100 && memcmp(after, garbage, len) == 0);

    spit(lock_path, garbage, size, 0600);
    refused("no lock table header");
    after = slurp(lock_path, &len);
    ck_assert(len == size && memcmp(after, garbage, len) == 0);

    spit(lock_path, "", 0, 0600); /* empty: not grown */
    refused("not a lock table");
    ck_assert_int_eq(stat(lock_path, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
}
END_TEST

START_TEST(new_table_is_private)
{
    struct stat st;
    dbs_lock_t *lock;

    ck_assert_int_eq(access(lock_path, F_OK), -1);
    ck_assert_int_eq(try_lock(3, &lock), APR_SUCCESS);
    ck_assert_int_eq(lstat(lock_path, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    ck_assert_uint_eq(st.st_uid, geteuid());
    ck_assert_uint_eq(st.st_nlink, 1); /* the temporary name is gone */
}
END_TEST

START_TEST(without_a_database_file)
{
    dbs_locktable_t *t;
    const char *err;

    ck_assert_int_eq(unlink(db_path), 0);
    ck_assert_int_ne(open_table(&t, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err, db_path));
    ck_assert_int_ne(access(lock_path, F_OK), 0);
}
END_TEST

/* The owner rules, with made-up users: the real ones need root. */
START_TEST(owner_decisions)
{
    struct stat db = {0}, lock = {0};
    int hand_over = -1;

    db.st_mode = lock.st_mode = S_IFREG | 0600;
    db.st_uid = lock.st_uid = 33;
    ck_assert_ptr_null(dbs_lock_owner_check(&db, &lock));
    lock.st_uid = 0; /* made by root before the fix: refused */
    ck_assert_ptr_nonnull(dbs_lock_owner_check(&db, &lock));
    lock.st_uid = 1000;
    ck_assert_ptr_nonnull(dbs_lock_owner_check(&db, &lock));
    lock.st_uid = 33;
    lock.st_mode = S_IFIFO | 0600;
    ck_assert_ptr_nonnull(dbs_lock_owner_check(&db, &lock));

    /* The owner creates as itself; root hands the file over. */
    ck_assert_ptr_null(dbs_lock_creation(&db, 33, &hand_over));
    ck_assert_int_eq(hand_over, 0);
    ck_assert_ptr_null(dbs_lock_creation(&db, 0, &hand_over));
    ck_assert_int_eq(hand_over, 1);
    ck_assert_ptr_nonnull(dbs_lock_creation(&db, 1000, &hand_over));
    db.st_uid = 0; /* a root-owned database: root keeps it */
    ck_assert_ptr_null(dbs_lock_creation(&db, 0, &hand_over));
    ck_assert_int_eq(hand_over, 0);
    ck_assert_ptr_nonnull(dbs_lock_creation(&db, 33, &hand_over));
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
    tcase_add_test(tc, symlink_is_never_followed);
    tcase_add_test(tc, only_a_regular_file);
    tcase_add_test(tc, foreign_content_is_refused_and_kept);
    tcase_add_test(tc, new_table_is_private);
    tcase_add_test(tc, without_a_database_file);
    tcase_add_test(tc, owner_decisions);
    suite_add_tcase(s, tc);
    return s;
}
