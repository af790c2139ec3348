# shellcheck shell=bash
# What t/quickstart.sh and t/package.sh share: README's configuration in a
# scratch copy of /etc/apache2 ($scratch/apache2), served by the system's
# apache2 on a free loopback port, and one session over two requests
# through a counter CGI under /app. Source it with $scratch set; each
# function fails (non-zero, with a message on stderr) rather than exits.

# Paths of the README into the scratch directory.
into_scratch() {
    sed -e "s|/etc/apache2|$scratch/apache2|g" \
        -e "s|/var/lib/apache2|$scratch/var/lib/apache2|g"
}

# scratch_site CONFIG: conf-available/dbsession-app.conf from README's
# configuration (plain http, so the cookie is not Secure, as README says
# for development) with the CGI under /app, ports.conf on a free port
# ($port). Enable it with a2enconf dbsession-app.
scratch_site() {
    mkdir -p "$scratch/cgi" "$scratch/run/socks"
    {
        printf '%s\n' "$1" | into_scratch |
            sed 's|^\( *\)DBSession On$|&\n\1DBSessionCookieSecure Off|'
        printf 'ScriptAlias /app/ %s/cgi/\n' "$scratch"
        printf '<Directory %s/cgi>\n    Require all granted\n</Directory>\n' \
            "$scratch"
    } > "$scratch/apache2/conf-available/dbsession-app.conf"
    cat > "$scratch/cgi/counter" <<'CGI'
#!/bin/sh
count=$(( ${SESSION_count:-0} + 1 ))
printf 'X-DBSession-Set: count=%s\r\nContent-Type: text/plain\r\n\r\n' "$count"
printf 'count=%s\n' "$count"
CGI
    chmod 755 "$scratch/cgi/counter"
    port=$(perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
    printf 'Listen 127.0.0.1:%s\n' "$port" > "$scratch/apache2/ports.conf"
}

# scratch_session PORT DBSESSIONCTL: apache2 -t, start it (APACHE_* from
# the caller's environment), a session over two requests, one row in the
# SQLite database of README's configuration.
scratch_session() {
    local url first cookie second rows
    apache2 -d "$scratch/apache2" -f apache2.conf -t > "$scratch/t.log" 2>&1 ||
        { cat "$scratch/t.log" >&2; echo "apache2 -t refused the configuration" >&2; return 1; }
    apache2 -d "$scratch/apache2" -f apache2.conf -k start 2> "$scratch/start.log" ||
        { cat "$scratch/start.log" >&2; echo "apache2 did not start" >&2; return 1; }
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && break
        sleep 0.1
    done
    url=http://127.0.0.1:$1/app/counter
    first=$(curl -s -D "$scratch/h1" "$url")
    [ "$first" = "count=1" ] || { echo "first request: '$first'" >&2; return 1; }
    cookie=$(sed -n 's/^Set-Cookie: \(session=[^;]*\);.*/\1/p' "$scratch/h1" | tr -d '\r')
    [ -n "$cookie" ] || { echo "no session cookie: $(cat "$scratch/h1")" >&2; return 1; }
    second=$(curl -s -H "Cookie: $cookie" "$url")
    [ "$second" = "count=2" ] ||
        { echo "the session did not come back: '$second'" >&2; return 1; }
    rows=$("$2" -d sqlite3 -p "$scratch/var/lib/apache2/dbsession/sessions.db" \
        stats | awk '/^rows/ { print $2 }')
    [ "$rows" = 1 ] || { echo "dbsessionctl stats says $rows rows, not 1" >&2; return 1; }
}

# The server started by scratch_session, stopped (at exit, in a trap).
scratch_stop() {
    local pid
    pid=$(cat "$scratch/run/apache2.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}
