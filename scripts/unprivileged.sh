# shellcheck shell=bash
# Source from a script under scripts/: as root, copy the tree to a scratch
# directory owned by the unprivileged user "dbsession" (created if needed) and
# run the same script there as that user. httpd, Apache::Test, PostgreSQL
# and MariaDB all refuse to run as root. Does nothing for other users.
rerun_unprivileged() {
    [ "$(id -u)" -eq 0 ] || return 0
    local script=$1 top work status=0
    shift
    top=$(cd "$(dirname "$script")/.." && pwd)
    id dbsession >/dev/null 2>&1 || useradd --create-home --shell /bin/bash dbsession
    work=$(mktemp -d /tmp/dbsession-run.XXXXXX)
    # The copy goes however the run ends, Ctrl-C included.
    trap 'rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
    (cd "$top" && tar --exclude=./t/logs --exclude=./.git -cf - .) | tar -C "$work" -xf -
    chown -R dbsession: "$work"
    echo "running as dbsession in $work"
    runuser -u dbsession -- "$work/scripts/$(basename "$script")" "$@" || status=$?
    exit $status
}
