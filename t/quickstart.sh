#!/bin/bash
# README's "Quick start", followed literally as a new user on Debian would,
# in a scratch copy of /etc/apache2 (the system apache2's configuration):
# its shell block (make install into the copy, a2enmod, the SQLite
# directory, the key) and its configuration block, then a real apache2
# from that configuration and a session through a CGI. The only changes:
# paths under /etc/apache2 and /var/lib/apache2 point into the scratch
# directory, nothing is chowned to www-data (this runs unprivileged), and
# the server listens on a free loopback port, over plain http (so the
# cookie is not Secure, as README says for development).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scratch=$(mktemp -d /tmp/dbsession-quickstart.XXXXXX)
# shellcheck source=t/lib/scratch-apache.sh
source t/lib/scratch-apache.sh
trap 'scratch_stop; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
fail() {
    echo "quickstart: $*" >&2
    [ ! -f "$scratch/log/error.log" ] || tail -n 20 "$scratch/log/error.log" >&2
    exit 1
}

cp -a /etc/apache2 "$scratch/apache2"
mkdir -p "$scratch/var/lib/apache2" "$scratch/lock" "$scratch/log" \
    "$scratch/state"
# make install and a2enmod into the copy; envvars' paths into the scratch.
export APACHE_CONFDIR=$scratch/apache2 A2_CONFDIR=$scratch/apache2
export LIBEXECDIR=$scratch/modules SBINDIR=$scratch/sbin MANDIR=$scratch/man
export PATH=$SBINDIR:$PATH:/usr/sbin
export APACHE_RUN_USER APACHE_RUN_GROUP APACHE_PID_FILE=$scratch/run/apache2.pid
APACHE_RUN_USER=$(id -un)
APACHE_RUN_GROUP=$(id -gn)
export APACHE_RUN_DIR=$scratch/run APACHE_LOCK_DIR=$scratch/lock
# a2enmod keeps what the admin enabled here (/var/lib/apache2 by default).
export APACHE_STATE_DIRECTORY=$scratch/state
export APACHE_LOG_DIR=$scratch/log

section=$(awk '/^## Quick start/ { on = 1; next } /^## / { on = 0 } on' \
    README.md)
commands=$(printf '%s\n' "$section" |
    awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on')
config=$(printf '%s\n' "$section" |
    awk '/^```apache$/ { n++; on = (n == 1); next } /^```$/ { on = 0 } on')
[ -n "$commands" ] && [ -n "$config" ] ||
    fail "README has no Quick start shell and apache blocks"

# 1. The commands, as root would run them (minus the chown to www-data).
printf '%s\n' "$commands" | into_scratch |
    sed -e 's/ -o www-data -g www-data//' -e '/^chown www-data/d' \
        > "$scratch/commands.sh"
bash -euo pipefail "$scratch/commands.sh" > "$scratch/commands.log" 2>&1 ||
    { cat "$scratch/commands.log" >&2; fail "the Quick start commands failed"; }
[ -e "$scratch/apache2/mods-enabled/dbsession.load" ] ||
    fail "a2enmod dbsession did not enable the module"
[ -e "$scratch/apache2/mods-enabled/dbd.load" ] ||
    fail "a2enmod dbsession did not enable mod_dbd (# Depends: dbd)"
grep -q "^LoadModule dbsession_module $scratch/modules/mod_dbsession.so$" \
    "$scratch/apache2/mods-available/dbsession.load" ||
    fail "dbsession.load does not name the installed module"

# make install again keeps an admin's dbsession.conf.
echo "# edited by the admin" >> "$scratch/apache2/mods-available/dbsession.conf"
make -s install > "$scratch/install2.log" 2>&1 ||
    { cat "$scratch/install2.log" >&2; fail "a second make install failed"; }
grep -q "^# edited by the admin$" "$scratch/apache2/mods-available/dbsession.conf" ||
    fail "make install overwrote an existing dbsession.conf"

# 2. The configuration, as README says, plus this test's CGI under /app.
scratch_site "$config"
a2dissite -q 000-default >/dev/null
a2enmod -q cgid >/dev/null
a2enconf -q dbsession-app >/dev/null

# 3. A real apache2 from that configuration, a session over two requests.
scratch_session "$port" dbsessionctl || fail "no session through the module"
echo "quickstart: README's Quick start works (a2enmod, SQLite, a session over 2 requests)"
