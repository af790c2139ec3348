/*
 * dbsessionctl: the operator's side of mod_dbsession's session table, through
 * apr_dbd and the module's own core, so every driver behaves as in httpd.
 *
 *   dbsessionctl keygen
 *   dbsessionctl -d DRIVER -p PARAMS|@FILE [-t TABLE] stats | purge |
 *                list USER | revoke USER | revoke-id PREFIX
 *   dbsessionctl [-d DRIVER -p PARAMS|@FILE [-t TABLE]] cookie -k KEYFILE
 *                [-n COOKIE_NAME] [-c CIPHER] -     (the cookie on stdin)
 *
 * Secrets never on the command line, where every user sees them (ps,
 * /proc/PID/cmdline): -p @FILE reads the parameters (a password) from a
 * file, and the cookie is read from standard input.
 *
 * Exit status: 0 done; 1 nothing matched (no such session, a prefix of
 * several, a cookie that does not open); 2 bad usage; 3 the database or the
 * key file failed.
 */
#include "dbs_admin.h"
#include "dbs_codec.h"
#include "dbs_crypto.h"
#include "dbs_parse.h"
#include "dbs_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_dbd.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <sodium.h>

#define EXIT_NOT_FOUND 1
#define EXIT_USAGE     2
#define EXIT_FAILED    3

/* Expired rows deleted per transaction, as the module's cleanup does. */
#define PURGE_BATCH 500

static const char usage[] =
    "usage: dbsessionctl keygen\n"
    "       dbsessionctl -d DRIVER -p @FILE|PARAMS [-t TABLE] COMMAND [ARG]\n"
    "\n"
    "  -d DRIVER   apr_dbd driver, as DBDriver: sqlite3, pgsql or mysql\n"
    "  -p @FILE    its parameters, as DBDParams, from the first line of FILE\n"
    "              (not readable by every user): use it whenever they hold a\n"
    "              password, which on the command line every user can see\n"
    "  -p PARAMS   the parameters themselves, when they hold no secret (a\n"
    "              SQLite file's path)\n"
    "  -t TABLE    the session table, as DBSessionTable (default dbsession)\n"
    "\n"
    "commands:\n"
    "  keygen            print a new random key for DBSessionKey(File)\n"
    "  stats             count rows: all, live, expired, live with a user\n"
    "  purge             delete the expired rows, in batches; print how many\n"
    "  list USER         USER's live sessions: hash prefix, created, last\n"
    "                    active, expires (UTC)\n"
    "  revoke USER       delete every session of USER (log out everywhere)\n"
    "  revoke-id PREFIX  delete the one session whose ID hash starts with\n"
    "                    PREFIX (6 to 64 hex digits, as list and the DBS022\n"
    "                    log line show them)\n"
    "  cookie -k KEYFILE [-n NAME] [-c CIPHER] -\n"
    "                    whether the cookie value on standard input (its\n"
    "                    first line; NAME=VALUE too) opens with the keys of\n"
    "                    KEYFILE (as DBSessionKeyFile), with which key, and\n"
    "                    its session's row (with -d and -p). NAME is the\n"
    "                    cookie's name (default session), CIPHER as\n"
    "                    DBSessionCipher\n"
    "\n"
    "exit status: 0 done, 1 nothing matched, 2 bad usage, 3 failure\n";

/* The longest line -p @FILE and cookie - read. */
#define SECRET_LINE_MAX 4096

typedef struct {
    apr_pool_t *pool;
    const char *driver_name, *params, *table;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    dbs_txn_t *txn; /* on that one connection */
} ctl_t;

static int fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...)
{
    va_list ap;

    fputs("dbsessionctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

/* A database error, with the table it concerns. */
static int db_failed(const ctl_t *ctl)
{
    return fail(EXIT_FAILED, "table %s: %s", ctl->table,
                dbs_txn_error(ctl->txn));
}

static const char *utc(apr_pool_t *pool, apr_int64_t seconds)
{
    apr_time_exp_t t;
    char buf[32];
    apr_size_t len;

    apr_time_exp_gmt(&t, apr_time_from_sec(seconds));
    apr_strftime(buf, &len, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t);
    return apr_pstrdup(pool, buf);
}

/* The first line of file (its line end dropped) in *line; what names it in
 * errors. 0 or the exit status. */
static int read_line(ctl_t *ctl, apr_file_t *file, const char *what,
                     char **line)
{
    char buf[SECRET_LINE_MAX + 2];
    apr_size_t len;

    buf[0] = '\0';
    if (apr_file_gets(buf, sizeof(buf), file) != APR_SUCCESS && !*buf) {
        return fail(EXIT_FAILED, "%s is empty", what);
    }
    len = strlen(buf);
    if (len > SECRET_LINE_MAX) {
        sodium_memzero(buf, sizeof(buf));
        return fail(EXIT_FAILED, "%s: the line is longer than %d bytes", what,
                    SECRET_LINE_MAX);
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        buf[--len] = '\0';
    }
    *line = apr_pstrmemdup(ctl->pool, buf, len);
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

/* -p @FILE: the parameters from the first line of FILE, which every user
 * must not be able to read (they hold the database password). */
static int read_params_file(ctl_t *ctl, const char *path)
{
    apr_file_t *file;
    apr_finfo_t info;
    char buf[120], *params = NULL;
    apr_status_t rv;
    int status;

    rv = apr_file_open(&file, path, APR_FOPEN_READ | APR_FOPEN_NONBLOCK,
                       APR_FPROT_OS_DEFAULT, ctl->pool);
    if (rv != APR_SUCCESS) {
        return fail(EXIT_FAILED, "-p @%s: cannot open it: %s", path,
                    apr_strerror(rv, buf, sizeof(buf)));
    }
    if (apr_file_info_get(&info, APR_FINFO_TYPE | APR_FINFO_PROT, file) !=
            APR_SUCCESS ||
        info.filetype != APR_REG) {
        apr_file_close(file);
        return fail(EXIT_FAILED, "-p @%s: not a regular file", path);
    }
    if (info.protection & APR_FPROT_WREAD) {
        apr_file_close(file);
        return fail(EXIT_FAILED,
                    "-p @%s is readable by every user: chmod o-r it (it "
                    "holds the database's password)",
                    path);
    }
    status = read_line(ctl, file, apr_pstrcat(ctl->pool, "-p @", path, NULL),
                       &params);
    apr_file_close(file);
    ctl->params = params;
    return status;
}

static int connect_db(ctl_t *ctl)
{
    const char *err = NULL;
    apr_status_t rv;
    int status;

    if (!ctl->driver_name || !ctl->params) {
        return fail(EXIT_USAGE, "%s",
                    "this command needs -d DRIVER and "
                    "-p @FILE or -p PARAMS (see --help)");
    }
    if (ctl->params[0] == '@' &&
        (status = read_params_file(ctl, ctl->params + 1)) != 0) {
        return status;
    }
    if (!dbs_store_driver_supported(ctl->driver_name)) {
        return fail(EXIT_USAGE, "driver %s is not supported (%s)",
                    ctl->driver_name, dbs_store_driver_names(ctl->pool));
    }
    rv = apr_dbd_get_driver(ctl->pool, ctl->driver_name, &ctl->driver);
    if (rv != APR_SUCCESS) {
        return fail(EXIT_FAILED,
                    "cannot load apr_dbd driver %s (is libaprutil1-dbd-... "
                    "installed?)",
                    ctl->driver_name);
    }
    rv = apr_dbd_open_ex(ctl->driver, ctl->pool, ctl->params, &ctl->handle,
                         &err);
    if (rv != APR_SUCCESS) {
        return fail(EXIT_FAILED, "cannot connect with these -p parameters: %s",
                    err ? err : "the driver gave no reason");
    }
    ctl->txn = dbs_txn_make(ctl->pool, dbs_store_make(ctl->pool, ctl->table),
                            ctl->driver, ctl->handle, ctl->pool,
                            DBS_ADMIN_LOCK_TIMEOUT);
    return 0;
}

/* What the table (or an argument) holds, safe to print: controls, bidi
 * controls and bytes that are not UTF-8 escaped (dbs_printable). */
static const char *shown(const ctl_t *ctl, const char *text)
{
    return dbs_printable(ctl->pool, text);
}

static int cmd_keygen(apr_pool_t *pool)
{
    puts(dbs_key_generate(pool));
    return 0;
}

static int cmd_stats(ctl_t *ctl, apr_int64_t now)
{
    dbs_admin_counts_t n;

    if (dbs_admin_counts(ctl->txn, now, &n) != APR_SUCCESS) {
        return db_failed(ctl);
    }
    printf("rows       %" APR_INT64_T_FMT "\n"
           "live       %" APR_INT64_T_FMT "\n"
           "expired    %" APR_INT64_T_FMT "\n"
           "with user  %" APR_INT64_T_FMT "\n",
           n.rows, n.live, n.expired, n.with_user);
    return 0;
}

static int cmd_purge(ctl_t *ctl, apr_int64_t now)
{
    long total = 0;
    int deleted;

    do {
        if (dbs_store_cleanup_expired(ctl->txn, now, PURGE_BATCH, &deleted) !=
            APR_SUCCESS) {
            printf("deleted %ld expired sessions before the failure\n", total);
            return db_failed(ctl);
        }
        total += deleted;
    } while (deleted == PURGE_BATCH);
    printf("deleted %ld expired session%s\n", total, total == 1 ? "" : "s");
    return 0;
}

static int cmd_list(ctl_t *ctl, const char *user, apr_int64_t now)
{
    apr_array_header_t *sessions;
    int i;

    if (dbs_admin_list_user(ctl->txn, user, now, &sessions) != APR_SUCCESS) {
        return db_failed(ctl);
    }
    if (sessions->nelts == 0) {
        return fail(EXIT_NOT_FOUND, "no live session of user %s",
                    shown(ctl, user));
    }
    printf("%-8s  %-20s  %-20s  %s\n", "hash", "created", "last active",
           "expires");
    for (i = 0; i < sessions->nelts; i++) {
        const dbs_admin_session_t *s =
            &APR_ARRAY_IDX(sessions, i, dbs_admin_session_t);

        printf("%-8s  %-20s  %-20s  %s\n", shown(ctl, s->hash_prefix),
               utc(ctl->pool, s->created_at), utc(ctl->pool, s->active_at),
               utc(ctl->pool, s->expires_at));
    }
    return 0;
}

static int cmd_revoke(ctl_t *ctl, const char *user)
{
    int deleted;

    if (dbs_admin_revoke_user(ctl->txn, user, &deleted) != APR_SUCCESS) {
        return db_failed(ctl);
    }
    if (deleted == 0) {
        return fail(EXIT_NOT_FOUND, "user %s has no session", shown(ctl, user));
    }
    printf("revoked %d session%s of %s\n", deleted, deleted == 1 ? "" : "s",
           shown(ctl, user));
    return 0;
}

static int cmd_revoke_id(ctl_t *ctl, const char *prefix)
{
    int matched;
    apr_status_t rv = dbs_admin_revoke_prefix(ctl->txn, prefix, &matched);

    if (rv == APR_EINVAL) {
        return fail(EXIT_USAGE, "%s", dbs_txn_error(ctl->txn));
    }
    if (rv != APR_SUCCESS) {
        return db_failed(ctl);
    }
    if (matched == 0) {
        return fail(EXIT_NOT_FOUND, "no session's ID hash starts with %s",
                    shown(ctl, prefix));
    }
    if (matched > 1) {
        return fail(EXIT_NOT_FOUND,
                    "%d sessions match %s: give more digits; none revoked",
                    matched, shown(ctl, prefix));
    }
    printf("revoked 1 session\n");
    return 0;
}

typedef struct {
    const char *keyfile, *name, *cipher, *value;
} cookie_args_t;

static int cmd_cookie(ctl_t *ctl, const cookie_args_t *a, apr_int64_t now)
{
    dbs_keyring_t *ring = dbs_keyring_make(ctl->pool);
    unsigned char id[DBS_ID_BYTES];
    char hash[DBS_HASH_HEX_CHARS + 1];
    const char *err, *value = a->value;
    size_t name_len = strlen(a->name);
    int cipher = DBS_CIPHER_XCHACHA20POLY1305, key_index, found, status;
    dbs_admin_session_t s;
    const dbs_key_t *key;

    if ((err = dbs_keyring_add_file(ring, ctl->pool, a->keyfile))) {
        return fail(EXIT_FAILED, "%s", err);
    }
    /* "-": the value from standard input, never the command line. */
    if (strcmp(value, "-") == 0) {
        apr_file_t *in;
        char *line;

        if (apr_file_open_stdin(&in, ctl->pool) != APR_SUCCESS) {
            return fail(EXIT_FAILED, "%s", "cannot read standard input");
        }
        if ((status = read_line(ctl, in, "standard input", &line))) {
            return status;
        }
        value = line;
    }
    if (a->cipher && (err = dbs_parse_cipher(a->cipher, &cipher))) {
        return fail(EXIT_USAGE, "-c %s", err);
    }
    /* "name=value", as a Cookie header or a browser shows it, or the value. */
    if (strncmp(value, a->name, name_len) == 0 && value[name_len] == '=') {
        value += name_len + 1;
    }
    if (dbs_cookie_open_key(ring, (dbs_cipher_e)cipher, value, a->name, id,
                            &key_index) != APR_SUCCESS) {
        return fail(EXIT_NOT_FOUND,
                    "the cookie does not open with these keys (another key, "
                    "cookie name %s, or damaged)",
                    a->name);
    }
    key = &APR_ARRAY_IDX(ring->keys, key_index, dbs_key_t);
    printf("opens with key %d of %d (key id %02x%02x%02x%02x)%s\n",
           key_index + 1, dbs_keyring_count(ring), key->key_id[0],
           key->key_id[1], key->key_id[2], key->key_id[3],
           key_index > 0 ? ": the module seals it again with the first" : "");
    dbs_id_hash_hex(id, hash);
    printf("session ID hash %.8s\n", hash);
    if (!ctl->driver_name) {
        printf("no -d/-p given: the row was not looked up\n");
        return 0;
    }
    if ((status = connect_db(ctl)) != 0) {
        return status;
    }
    if (dbs_admin_find(ctl->txn, hash, &s, &found) != APR_SUCCESS) {
        return db_failed(ctl);
    }
    if (!found) {
        return fail(EXIT_NOT_FOUND, "%s",
                    "no row: the session ended (logged out, revoked, "
                    "expired and deleted) or never was stored");
    }
    if (s.via_previous) {
        printf("an ID that renewal replaced: the session now goes by %s\n",
               shown(ctl, s.hash_prefix));
    }
    printf("user %s, created %s, last active %s, %s %s\n",
           *s.user ? shown(ctl, s.user) : "(none)",
           utc(ctl->pool, s.created_at), utc(ctl->pool, s.active_at),
           s.expires_at >= now ? "expires" : "EXPIRED",
           utc(ctl->pool, s.expires_at));
    return 0;
}

/* Options before the command (-d -p -t), and the cookie command's own. */
static int parse_options(int argc, const char *const *argv, int *i, ctl_t *ctl,
                         cookie_args_t *cookie)
{
    /* "-" alone is an argument: standard input. */
    for (; *i < argc && argv[*i][0] == '-' && argv[*i][1] != '\0'; (*i)++) {
        const char *opt = argv[*i];
        const char **target = NULL;

        if (strcmp(opt, "-d") == 0) {
            target = &ctl->driver_name;
        }
        else if (strcmp(opt, "-p") == 0) {
            target = &ctl->params;
        }
        else if (strcmp(opt, "-t") == 0) {
            target = &ctl->table;
        }
        else if (cookie && strcmp(opt, "-k") == 0) {
            target = &cookie->keyfile;
        }
        else if (cookie && strcmp(opt, "-n") == 0) {
            target = &cookie->name;
        }
        else if (cookie && strcmp(opt, "-c") == 0) {
            target = &cookie->cipher;
        }
        else {
            return fail(EXIT_USAGE, "unknown option %s (see --help)",
                        shown(ctl, opt));
        }
        if (++*i >= argc) {
            return fail(EXIT_USAGE, "%s needs a value", opt);
        }
        *target = argv[*i];
    }
    return 0;
}

static int run(ctl_t *ctl, int argc, const char *const *argv)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    cookie_args_t cookie = {NULL, "session", NULL, NULL};
    const char *command, *arg = NULL, *err;
    int i = 1, status, takes_arg;

    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if ((status = parse_options(argc, argv, &i, ctl, NULL)) != 0) {
        return status;
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    command = argv[i++];
    if ((err = dbs_parse_table_name(ctl->table))) {
        return fail(EXIT_USAGE, "-t %s", err);
    }
    if (strcmp(command, "cookie") == 0) {
        if ((status = parse_options(argc, argv, &i, ctl, &cookie)) != 0) {
            return status;
        }
        if (!cookie.keyfile || i != argc - 1) {
            return fail(EXIT_USAGE, "%s",
                        "usage: cookie -k KEYFILE [-n NAME] [-c CIPHER] - "
                        "(the cookie on standard input)");
        }
        cookie.value = argv[i];
        return cmd_cookie(ctl, &cookie, now);
    }
    takes_arg = strcmp(command, "list") == 0 ||
                strcmp(command, "revoke") == 0 ||
                strcmp(command, "revoke-id") == 0;
    if (argc - i != takes_arg) {
        return fail(EXIT_USAGE,
                    takes_arg ? "%s takes one argument"
                              : "%s takes no argument",
                    command);
    }
    arg = takes_arg ? argv[i] : NULL;
    if (strcmp(command, "keygen") == 0) {
        return cmd_keygen(ctl->pool);
    }
    if (strcmp(command, "stats") != 0 && strcmp(command, "purge") != 0 &&
        !takes_arg) {
        return fail(EXIT_USAGE, "unknown command %s (see --help)",
                    shown(ctl, command));
    }
    if ((status = connect_db(ctl)) != 0) {
        return status;
    }
    if (strcmp(command, "stats") == 0) {
        return cmd_stats(ctl, now);
    }
    if (strcmp(command, "purge") == 0) {
        return cmd_purge(ctl, now);
    }
    if (strcmp(command, "list") == 0) {
        return cmd_list(ctl, arg, now);
    }
    if (strcmp(command, "revoke") == 0) {
        return cmd_revoke(ctl, arg);
    }
    return cmd_revoke_id(ctl, arg);
}

int main(int argc, const char *const *argv)
{
    ctl_t ctl = {0};
    int status;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS ||
        apr_pool_create(&ctl.pool, NULL) != APR_SUCCESS ||
        apr_dbd_init(ctl.pool) != APR_SUCCESS ||
        dbs_crypto_init() != APR_SUCCESS) {
        fputs("dbsessionctl: cannot initialise APR or libsodium\n", stderr);
        return EXIT_FAILED;
    }
    ctl.table = "dbsession";
    status = run(&ctl, argc, argv);
    if (ctl.handle) {
        apr_dbd_close(ctl.driver, ctl.handle);
    }
    apr_pool_destroy(ctl.pool);
    apr_terminate();
    return status;
}
