# Private database servers for the tests, the demo and the benchmarks.
# Source it, then: db_start DRIVER DIR  (exports DBS_DRIVER, DBS_PARAMS and
# what db_sql needs), db_sql "SQL" (prints the result), db_stop.
# Each server lives in DIR, listens on a unix socket there (no TCP port), and
# is stopped by db_stop. Never run as root (the servers refuse it).

DBS_TOP=${DBS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
# The port of t/75-proxy.t's backend, which t/conf/extra.conf.in proxies to
# (free now; the test starts the backend).
if [ -z "${DBS_BACKEND_PORT:-}" ]; then
    DBS_BACKEND_PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
        Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
fi
export DBS_BACKEND_PORT
# Apache::Test's server on a free base port (its vhosts take the next
# ones), so that two runs on one machine do not take each other's. Its own
# "select" would not do: each test's client process would choose again.
if [ -z "${APACHE_TEST_PORT:-}" ]; then
    # From a place of this run's own, so that two runs starting at once
    # do not both take the first free one.
    APACHE_TEST_PORT=$(perl -MIO::Socket::INET -e '
        my $start = 8529 + 20 * ($$ % 50);
        for my $i (0 .. 49) {
            my $base = 8529 + ($start - 8529 + 20 * $i) % 1000;
            my @free = grep { IO::Socket::INET->new(Listen => 1,
                ReuseAddr => 1, LocalAddr => "127.0.0.1:$_") } $base .. $base + 19;
            if (@free == 20) { print $base; exit 0 }
        }
        exit 1') || { echo "db.sh: no free ports for Apache::Test" >&2; return 1; }
fi
export APACHE_TEST_PORT

db_start() {
    DBS_DRIVER=$1
    DBS_DB_DIR=$2
    mkdir -p "$DBS_DB_DIR"
    case $DBS_DRIVER in
    sqlite3)
        DBS_SQLITE_FILE=$DBS_DB_DIR/sessions.db
        rm -f "$DBS_SQLITE_FILE"*
        sqlite3 "$DBS_SQLITE_FILE" < "$DBS_TOP/dbd_schema.sql"
        # WAL: readers never wait for the writer, commits need no fsync each.
        sqlite3 "$DBS_SQLITE_FILE" 'PRAGMA journal_mode=WAL;' >/dev/null
        DBS_PARAMS=$DBS_SQLITE_FILE
        # Foreign keys are off by default in SQLite, per connection.
        DBS_INIT_SQL="PRAGMA foreign_keys = ON"
        export DBS_SQLITE_FILE
        ;;
    pgsql)
        DBS_PG_DATA=$DBS_DB_DIR/pgdata
        rm -rf "$DBS_PG_DATA"
        "$PG_BIN/initdb" -D "$DBS_PG_DATA" -A trust -U dbsession \
            --no-sync >"$DBS_DB_DIR/initdb.log" 2>&1 \
            || { cat "$DBS_DB_DIR/initdb.log" >&2; return 1; }
        db_server_start || { cat "$DBS_DB_DIR/postgres.log" >&2; return 1; }
        "$PG_BIN/createdb" -h "$DBS_DB_DIR" -U dbsession dbsession
        psql -q -h "$DBS_DB_DIR" -U dbsession -d dbsession -v ON_ERROR_STOP=1 \
            -f "$DBS_TOP/dbd_schema.sql" >/dev/null
        DBS_PARAMS="host=$DBS_DB_DIR user=dbsession dbname=dbsession"
        DBS_INIT_SQL="SET application_name = 'dbsession-tests'"
        export DBS_PG_DATA
        ;;
    mysql)
        DBS_MY_SOCK=$DBS_DB_DIR/mysqld.sock
        mariadb-install-db --no-defaults --datadir="$DBS_DB_DIR/mydata" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$DBS_DB_DIR/install.log" 2>&1 \
            || { cat "$DBS_DB_DIR/install.log" >&2; return 1; }
        db_server_start || { cat "$DBS_DB_DIR/mysqld.log" >&2; return 1; }
        mariadb --no-defaults -S "$DBS_MY_SOCK" -u root -e \
            "CREATE DATABASE dbsession; CREATE USER dbsession@localhost;
             GRANT ALL ON dbsession.* TO dbsession@localhost;
             GRANT PROCESS ON *.* TO dbsession@localhost;" \
            || { cat "$DBS_DB_DIR/mysqld.log" >&2; return 1; }
        mariadb --no-defaults -S "$DBS_MY_SOCK" -u dbsession dbsession \
            < "$DBS_TOP/dbd_schema.sql"
        DBS_PARAMS="sock=$DBS_MY_SOCK user=dbsession dbname=dbsession"
        # No rows: apr_dbd's mysql driver would leave a result unread.
        DBS_INIT_SQL="SET @dbsession_tests = 1"
        export DBS_MY_SOCK
        ;;
    *)
        echo "db_start: unknown driver $DBS_DRIVER (sqlite3, pgsql, mysql)" >&2
        return 1
        ;;
    esac
    export DBS_DRIVER DBS_PARAMS DBS_DB_DIR DBS_INIT_SQL
}

# The tests' application tables (t/35-appdata.t): writes that share the
# session's transaction, and a foreign key checked at commit, to make a
# commit fail (InnoDB checks every constraint at once: none there).
db_app_tables() {
    db_sql "CREATE TABLE app_log (note VARCHAR(100) NOT NULL)"
    if [ "$DBS_DRIVER" != mysql ]; then
        db_sql "CREATE TABLE app_parent (id INTEGER PRIMARY KEY)"
        db_sql "CREATE TABLE app_child (parent INTEGER REFERENCES
                app_parent (id) DEFERRABLE INITIALLY DEFERRED)"
    fi
}

db_sql() {
    case $DBS_DRIVER in
    sqlite3) sqlite3 "$DBS_SQLITE_FILE" "$1" ;;
    pgsql) psql -qAt -h "$DBS_DB_DIR" -U dbsession -d dbsession -c "$1" ;;
    mysql) mariadb --no-defaults -N -B -S "$DBS_MY_SOCK" -u dbsession dbsession -e "$1" ;;
    esac
}

# Stop and start the server only, data kept (the outage tests). The tests
# run the servers without fsync; DBS_DURABLE=1 (make bench) as production:
# PostgreSQL fsync on, InnoDB flushing its log at every commit.
db_server_stop() {
    case $DBS_DRIVER in
    pgsql) "$PG_BIN/pg_ctl" -D "$DBS_PG_DATA" -m fast -w stop >/dev/null ;;
    mysql)
        mariadb-admin --no-defaults -S "$DBS_MY_SOCK" -u root shutdown
        ;;
    esac
}

db_server_start() {
    local fsync=off flush=2
    if [ -n "${DBS_DURABLE:-}" ]; then fsync=on; flush=1; fi
    case $DBS_DRIVER in
    pgsql)
        "$PG_BIN/pg_ctl" -D "$DBS_PG_DATA" -l "$DBS_DB_DIR/postgres.log" -w \
            -o "-c listen_addresses='' -k $DBS_DB_DIR -c fsync=$fsync \
                -c max_connections=200" start >/dev/null
        ;;
    mysql)
        mariadbd --no-defaults --datadir="$DBS_DB_DIR/mydata" \
            --socket="$DBS_MY_SOCK" --skip-networking \
            --pid-file="$DBS_DB_DIR/mysqld.pid" \
            --log-error="$DBS_DB_DIR/mysqld.log" --skip-log-bin \
            --innodb-flush-log-at-trx-commit=$flush \
            --max-connections=300 \
            </dev/null >/dev/null 2>&1 &
        local i
        for i in $(seq 100); do
            mariadb-admin --no-defaults -S "$DBS_MY_SOCK" -u root ping \
                >/dev/null 2>&1 && return 0
            sleep 0.2
        done
        return 1
        ;;
    esac
}

db_stop() {
    case ${DBS_DRIVER:-} in
    pgsql|mysql) db_server_stop >/dev/null 2>&1 || true ;;
    esac
}
