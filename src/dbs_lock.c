/* dbs_lock: see dbs_lock.h.
 *
 * Each lock is three words in the shared file: the holder (pid and a tag of
 * the process's start time, 0 when free), a sequence number bumped on every
 * release, and a count of waiters. A waiter sleeps on the sequence number
 * with futex(2), so a release wakes it at once. Ownership is by process, not
 * thread: httpd may end a request on another thread than began it. A holder
 * that is no longer alive (its pid gone, or reused by a process that started
 * at another time) is replaced by the next waiter; to notice that, a waiter
 * wakes at least every DEAD_CHECK_SLICE. Linux only (futex). */
#include "dbs_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <apr_strings.h>

#define MAGIC            0x44425331u /* "DBS1" */
#define VERSION          1u
#define PROBES           32
#define DEAD_CHECK_SLICE apr_time_from_msec(250)
#define FULL_TABLE_RETRY apr_time_from_msec(1)

typedef struct {
    _Atomic uint64_t holder; /* pid << 32 | start tag; 0 = free */
    _Atomic uint32_t seq;
    _Atomic uint32_t waiters;
} shlock_t;

typedef struct {
    shlock_t lock;
    uint64_t key;  /* 0 = free; guarded by the directory lock */
    int32_t users; /* holders and waiters; guarded by the directory lock */
    char pad[64 - sizeof(shlock_t) - sizeof(uint64_t) - sizeof(int32_t)];
} slot_t;

typedef struct {
    uint32_t magic, version, nslots, slot_size;
    shlock_t directory; /* assigns slots to keys */
    shlock_t writer;
    slot_t slots[DBS_LOCK_SLOTS];
} shared_t;

struct dbs_locktable_t {
    shared_t *shm;
    char *path;
    dbs_locktable_t *next;
};

struct dbs_lock_t {
    dbs_locktable_t *table;
    shlock_t *lock;
    slot_t *slot; /* NULL for the writer */
    int held;
};

/* ---- one lock ---------------------------------------------------------- */

/* The start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat), 0 when it cannot be read. */
static uint32_t start_tag(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd, field;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces: count from its end. */
    p = strrchr(buf, ')');
    for (field = 2; p && field < 22; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p) {
        start = strtoull(p + 1, NULL, 10);
    }
    return (uint32_t)start | 1u; /* never 0: 0 means unknown */
}

static uint64_t my_identity(void)
{
    /* Cached per process: a forked child has its own pid and start time. */
    static _Atomic uint64_t identity;
    pid_t pid = getpid();
    uint64_t id = atomic_load(&identity);

    if ((pid_t)(id >> 32) != pid) {
        id = (uint64_t)(uint32_t)pid << 32 | start_tag(pid);
        atomic_store(&identity, id);
    }
    return id;
}

static int holder_alive(uint64_t holder)
{
    pid_t pid = (pid_t)(holder >> 32);
    uint32_t tag;

    if (kill(pid, 0) != 0 && errno == ESRCH) {
        return 0;
    }
    /* Alive, unless the pid now belongs to a process started later (0:
     * its start time cannot be read, so it counts as alive). */
    tag = start_tag(pid);
    return tag == (uint32_t)holder || tag == 0;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected,
                       apr_time_t wait)
{
    struct timespec ts;

    ts.tv_sec = (time_t)apr_time_sec(wait);
    ts.tv_nsec = (long)apr_time_usec(wait) * 1000;
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* APR_SUCCESS or APR_TIMEUP; *recovered is set when the lock was taken
 * over from a dead holder, *waited (if given) when it was held at first.
 * Whether the holder died is asked (a /proc read) only before giving up and
 * after each DEAD_CHECK_SLICE of waiting, never on the way in: a busy
 * session costs a futex wait, not system calls. */
static apr_status_t shlock_acquire(shlock_t *l, apr_time_t deadline,
                                   int *recovered, int *waited)
{
    uint64_t me = my_identity();
    apr_time_t dead_check = 0;

    *recovered = 0;
    for (;;) {
        uint32_t seq = atomic_load(&l->seq);
        uint64_t holder = 0;
        apr_time_t now, wait;

        if (atomic_compare_exchange_strong(&l->holder, &holder, me)) {
            return APR_SUCCESS;
        }
        if (waited) {
            *waited = 1;
        }
        now = apr_time_now();
        if (!dead_check) {
            dead_check = now + DEAD_CHECK_SLICE;
        }
        if (now >= deadline || now >= dead_check) {
            if (holder != 0 && !holder_alive(holder) &&
                atomic_compare_exchange_strong(&l->holder, &holder, me)) {
                *recovered = 1;
                return APR_SUCCESS;
            }
            if (now >= deadline) {
                return APR_TIMEUP;
            }
            dead_check = now + DEAD_CHECK_SLICE;
        }
        wait = (deadline < dead_check ? deadline : dead_check) - now;
        atomic_fetch_add(&l->waiters, 1);
        futex_wait(&l->seq, seq, wait);
        atomic_fetch_sub(&l->waiters, 1);
    }
}

static void shlock_release(shlock_t *l)
{
    atomic_store(&l->holder, 0);
    atomic_fetch_add(&l->seq, 1);
    if (atomic_load(&l->waiters) > 0) {
        futex_wake_all(&l->seq);
    }
}

/* The directory's critical sections are a few loads and stores. */
static void directory_lock(shared_t *shm)
{
    int recovered;

    shlock_acquire(&shm->directory, APR_INT64_MAX, &recovered, NULL);
}

/* ---- the table --------------------------------------------------------- */

static pthread_mutex_t tables_mutex = PTHREAD_MUTEX_INITIALIZER;
static dbs_locktable_t *tables; /* mapped in this process, never unmapped */

static int layout_matches(const shared_t *shm)
{
    return shm->magic == MAGIC && shm->version == VERSION &&
           shm->nslots == DBS_LOCK_SLOTS && shm->slot_size == sizeof(slot_t);
}

const char *dbs_lock_owner_check(const struct stat *db, const struct stat *lock)
{
    if (!S_ISREG(lock->st_mode)) {
        return "not a regular file";
    }
    if (lock->st_uid != db->st_uid) {
        return "not owned by the database file's owner";
    }
    return NULL;
}

const char *dbs_lock_creation(const struct stat *db, uid_t euid, int *chown)
{
    *chown = euid == 0 && db->st_uid != 0;
    if (euid != 0 && euid != db->st_uid) {
        return "this user does not own the database file (run as its owner "
               "or as root)";
    }
    return NULL;
}

static apr_status_t os_error(apr_pool_t *pool, const char **err,
                             const char *what, const char *path)
{
    int e = errno;

    *err = apr_psprintf(pool, "%s %s: %s", what, path, strerror(e));
    return APR_FROM_OS_ERROR(e);
}

/* Map the open lock table of fd. */
static apr_status_t map_fd(int fd, shared_t **out)
{
    shared_t *shm =
        mmap(NULL, sizeof(shared_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    if (shm == MAP_FAILED) {
        return APR_FROM_OS_ERROR(errno);
    }
    *out = shm;
    return APR_SUCCESS;
}

/* An existing lock table, checked and never changed. */
static apr_status_t map_existing(int fd, const char *path,
                                 const struct stat *db, apr_pool_t *pool,
                                 shared_t **out, const char **err)
{
    struct stat st;
    const char *why;
    shared_t *shm = NULL;

    if (fstat(fd, &st) != 0) {
        return os_error(pool, err, "cannot stat", path);
    }
    if ((why = dbs_lock_owner_check(db, &st))) {
        *err = apr_psprintf(pool,
                            "%s is %s (uid %ld; the database file's is %ld): "
                            "refused",
                            path, why, (long)st.st_uid, (long)db->st_uid);
        return APR_EACCES;
    }
    if (st.st_size != (off_t)sizeof(shared_t)) {
        *err = apr_psprintf(pool,
                            "%s is %ld bytes, not %lu: not a lock table of "
                            "this version; refused (remove it while no server "
                            "uses the database)",
                            path, (long)st.st_size,
                            (unsigned long)sizeof(shared_t));
        return APR_EGENERAL;
    }
    if (map_fd(fd, &shm) != APR_SUCCESS) {
        return os_error(pool, err, "cannot map", path);
    }
    if (!layout_matches(shm)) {
        munmap(shm, sizeof(shared_t));
        *err = apr_psprintf(pool,
                            "%s has no lock table header: refused (remove it "
                            "while no server uses the database)",
                            path);
        return APR_EGENERAL;
    }
    *out = shm;
    return APR_SUCCESS;
}

/* A new lock table: made complete under a temporary name (mkstemp: O_EXCL,
 * mode 0600) and then linked to path, which fails if anything (a link
 * included) is there by then: APR_EEXIST, and the caller opens that. */
static apr_status_t map_new(const char *path, const struct stat *db,
                            apr_pool_t *pool, shared_t **out, const char **err)
{
    char *tmp = apr_pstrcat(pool, path, ".new-XXXXXX", NULL);
    const char *why;
    shared_t *shm = NULL;
    int fd, hand_over, e;

    if ((why = dbs_lock_creation(db, geteuid(), &hand_over))) {
        *err = apr_psprintf(pool, "cannot create %s: %s", path, why);
        return APR_EACCES;
    }
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        return os_error(pool, err, "cannot create", tmp);
    }
    if (fchmod(fd, 0600) != 0 ||
        (hand_over && fchown(fd, db->st_uid, db->st_gid) != 0) ||
        ftruncate(fd, sizeof(shared_t)) != 0 || map_fd(fd, &shm) != 0) {
        e = errno;
        goto failed;
    }
    shm->version = VERSION;
    shm->nslots = DBS_LOCK_SLOTS;
    shm->slot_size = sizeof(slot_t);
    shm->magic = MAGIC;
    if (link(tmp, path) != 0) {
        e = errno;
        goto failed;
    }
    unlink(tmp);
    close(fd); /* the mapping stays */
    *out = shm;
    return APR_SUCCESS;

failed:
    if (shm) {
        munmap(shm, sizeof(shared_t));
    }
    unlink(tmp);
    close(fd);
    if (e == EEXIST) {
        return APR_EEXIST;
    }
    *err = apr_psprintf(pool, "cannot create %s: %s", path, strerror(e));
    return APR_FROM_OS_ERROR(e);
}

static apr_status_t map_table(const char *path, const char *db_path,
                              apr_pool_t *pool, shared_t **out,
                              const char **err)
{
    struct stat db;
    apr_status_t rv;
    int fd, attempt;

    if (stat(db_path, &db) != 0) {
        return os_error(pool, err, "cannot stat the database file", db_path);
    }
    /* Open what is there (never through a link, never blocking on a FIFO),
     * else make it; if another process made it meanwhile, open that. */
    for (attempt = 0; attempt < 2; attempt++) {
        fd =
            open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) {
            rv = map_existing(fd, path, &db, pool, out, err);
            close(fd); /* the mapping stays */
            return rv;
        }
        if (errno == ELOOP) {
            *err = apr_psprintf(pool, "%s is a symbolic link: refused", path);
            return APR_EACCES;
        }
        if (errno != ENOENT) {
            return os_error(pool, err, "cannot open", path);
        }
        if ((rv = map_new(path, &db, pool, out, err)) != APR_EEXIST) {
            return rv;
        }
    }
    *err =
        apr_psprintf(pool, "%s keeps appearing and vanishing: refused", path);
    return APR_EGENERAL;
}

apr_status_t dbs_locktable_open(const char *path, const char *db_path,
                                apr_pool_t *pool, dbs_locktable_t **table,
                                const char **err)
{
    dbs_locktable_t *t;
    apr_status_t rv = APR_SUCCESS;

    pthread_mutex_lock(&tables_mutex);
    for (t = tables; t && strcmp(t->path, path) != 0; t = t->next) {
    }
    if (!t) {
        shared_t *shm = NULL;

        rv = map_table(path, db_path, pool, &shm, err);
        if (rv == APR_SUCCESS && (t = calloc(1, sizeof(*t))) != NULL &&
            (t->path = strdup(path)) != NULL) {
            t->shm = shm;
            t->next = tables;
            tables = t;
        }
        else if (rv == APR_SUCCESS) {
            free(t);
            t = NULL;
            *err = "out of memory";
            rv = APR_ENOMEM;
        }
    }
    pthread_mutex_unlock(&tables_mutex);
    *table = t;
    return rv;
}

apr_uint64_t dbs_lock_key(const char *id_hash)
{
    char part[17];
    apr_uint64_t key;

    memcpy(part, id_hash, 16);
    part[16] = '\0';
    key = (apr_uint64_t)strtoull(part, NULL, 16);
    return key ? key : 1; /* 0 marks a free slot */
}

static apr_status_t release_cleanup(void *data)
{
    dbs_lock_release(data);
    return APR_SUCCESS;
}

static dbs_lock_t *held_lock(apr_pool_t *pool, dbs_locktable_t *table,
                             shlock_t *l, slot_t *slot)
{
    dbs_lock_t *lock = apr_pcalloc(pool, sizeof(*lock));

    lock->table = table;
    lock->lock = l;
    lock->slot = slot;
    lock->held = 1;
    apr_pool_cleanup_register(pool, lock, release_cleanup,
                              apr_pool_cleanup_null);
    return lock;
}

/* The slot of key: the one already assigned to it, else a free one near
 * its home; NULL when all PROBES are taken by other sessions (the caller
 * waits for one: sharing a slot between two keys could give one key two
 * slots, and so two holders, once a slot frees). */
static slot_t *claim_slot(shared_t *shm, apr_uint64_t key)
{
    apr_size_t home = (apr_size_t)(key % DBS_LOCK_SLOTS), i;
    slot_t *free_slot = NULL, *slot = NULL;

    directory_lock(shm);
    for (i = 0; i < PROBES; i++) {
        slot_t *candidate = &shm->slots[(home + i) % DBS_LOCK_SLOTS];

        if (candidate->users > 0 && candidate->key == key) {
            slot = candidate;
            break;
        }
        if (!free_slot && candidate->users <= 0) {
            free_slot = candidate;
        }
    }
    if (!slot && free_slot) {
        slot = free_slot;
        slot->key = key;
        slot->users = 0;
    }
    if (slot) {
        slot->users++;
    }
    shlock_release(&shm->directory);
    return slot;
}

static void unclaim_slot(shared_t *shm, slot_t *slot, int count)
{
    directory_lock(shm);
    slot->users -= count;
    if (slot->users <= 0) {
        slot->users = 0;
        slot->key = 0;
    }
    shlock_release(&shm->directory);
}

apr_status_t dbs_lock_session(dbs_locktable_t *table, apr_uint64_t key,
                              apr_time_t deadline, apr_pool_t *pool,
                              dbs_lock_t **lock, int *waited)
{
    slot_t *slot;
    int recovered;

    key = key ? key : 1;
    while ((slot = claim_slot(table->shm, key)) == NULL) {
        /* More sessions held near this one's home than PROBES: rare. */
        if (apr_time_now() >= deadline) {
            return APR_TIMEUP;
        }
        apr_sleep(FULL_TABLE_RETRY);
    }

    if (shlock_acquire(&slot->lock, deadline, &recovered, waited) !=
        APR_SUCCESS) {
        unclaim_slot(table->shm, slot, 1);
        return APR_TIMEUP;
    }
    if (recovered) {
        /* The dead holder never gave its place back. */
        directory_lock(table->shm);
        slot->users = slot->users > 1 ? slot->users - 1 : 1;
        shlock_release(&table->shm->directory);
    }
    *lock = held_lock(pool, table, &slot->lock, slot);
    return APR_SUCCESS;
}

apr_status_t dbs_lock_writer(dbs_locktable_t *table, apr_time_t deadline,
                             apr_pool_t *pool, dbs_lock_t **lock)
{
    int recovered;

    if (shlock_acquire(&table->shm->writer, deadline, &recovered, NULL) !=
        APR_SUCCESS) {
        return APR_TIMEUP;
    }
    *lock = held_lock(pool, table, &table->shm->writer, NULL);
    return APR_SUCCESS;
}

void dbs_lock_release(dbs_lock_t *lock)
{
    if (!lock || !lock->held) {
        return;
    }
    lock->held = 0;
    shlock_release(lock->lock);
    if (lock->slot) {
        unclaim_slot(lock->table->shm, lock->slot, 1);
    }
}
