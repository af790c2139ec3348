/*
 * dbs_lock: per-session locks outside the database, for SQLite.
 *
 * SQLite has one write lock for the whole database; holding it to serialise
 * one session would serialise every session. Instead each session is locked
 * here, in a small table of robust, process-shared mutexes kept in a file
 * mapped next to the database file: every httpd child, thread and server on
 * the host that opens the same database shares it. A waiter sleeps in the
 * kernel until the holder releases (no polling); a process that dies
 * holding a lock leaves it to the next waiter (robust mutexes).
 *
 * The table also holds one "writer" mutex that the module's own writers take
 * before SQLite's write lock, so that they queue instead of polling SQLite.
 *
 * httpd-free. Keys are 64-bit digests of a session's id hash; the table has
 * room for DBS_LOCK_SLOTS sessions held at once, each within 32 slots of its
 * home (beyond that a new session waits for a slot to free, within its
 * deadline: never two holders of one session).
 */
#ifndef DBS_LOCK_H
#define DBS_LOCK_H

#include <sys/stat.h>

#include <apr_pools.h>
#include <apr_time.h>

#define DBS_LOCK_SLOTS 4096

typedef struct dbs_locktable_t dbs_locktable_t;
typedef struct dbs_lock_t dbs_lock_t;

/* The lock table of `path`, beside the database file `db_path`, mapped once
 * per process and kept for the life of the process. The directory may be
 * writable by others (httpd's user: SQLite makes its WAL files there), so
 * `path` is never followed if it is a symbolic link, must be a regular file
 * owned by the database file's owner (dbs_lock_owner_check), and is never
 * truncated, grown or reset: one of the wrong size or without a lock
 * table's header is refused (*err names the path and why, in pool). A
 * missing one is created complete (mode 0600, owned by the database file's
 * owner: dbs_lock_creation) under a temporary name and linked into place,
 * so no process ever sees it half made. */
apr_status_t dbs_locktable_open(const char *path, const char *db_path,
                                apr_pool_t *pool, dbs_locktable_t **table,
                                const char **err);

/* Whether an existing lock table file of status `lock` may serve the
 * database file of status `db`: a regular file of the same owner. NULL or
 * the reason. */
const char *dbs_lock_owner_check(const struct stat *db,
                                 const struct stat *lock);

/* How a process of effective uid `euid` creates the lock table of the
 * database file of status `db`: as itself (*chown 0) when it owns the
 * database file; as root, handing the file to the database file's owner and
 * group (*chown 1), so that a root dbsessionctl run before httpd does not
 * leave a file httpd's user cannot open. Any other user cannot make a file
 * dbs_lock_owner_check accepts: the reason, else NULL. */
const char *dbs_lock_creation(const struct stat *db, uid_t euid, int *chown);

/* Lock `key`, waiting until `deadline` (apr_time_now() scale); a deadline in
 * the past tries once without waiting. APR_TIMEUP when it could not.
 * *waited (unless NULL) is set when another holder had it at first.
 * The lock belongs to the calling process and lives in `pool` until
 * released. */
apr_status_t dbs_lock_session(dbs_locktable_t *table, apr_uint64_t key,
                              apr_time_t deadline, apr_pool_t *pool,
                              dbs_lock_t **lock, int *waited);
/* The writer mutex, with the same rules. */
apr_status_t dbs_lock_writer(dbs_locktable_t *table, apr_time_t deadline,
                             apr_pool_t *pool, dbs_lock_t **lock);
void dbs_lock_release(dbs_lock_t *lock);

/* The key of a session's id hash (hex): its first 64 bits. */
apr_uint64_t dbs_lock_key(const char *id_hash);

#endif
