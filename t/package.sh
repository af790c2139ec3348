#!/bin/bash
# README's "Install the Debian package", followed literally as root on
# Debian 12, the way t/quickstart.sh follows the Quick start:
#   1. its first shell block (scripts/deps package, dpkg-buildpackage, apt
#      install) in a scratch copy of the clone; the build must change no
#      tracked file and leave nothing git does not ignore; lintian on the
#      .changes must print no error and no warning;
#   2. the package's files, the module enabled by its postinst (Debian's
#      convention), "a2enmod dbsession && apache2ctl -t" on the system's
#      configuration, the man page renders without warnings;
#   3. the second shell block (SQLite directory, schema from the package's
#      docs, key) and the Quick start's configuration in a scratch copy of
#      /etc/apache2, the system apache2 on a free loopback port run by the
#      unprivileged user "dbsession", one session over two requests;
#   4. apt-get remove: the module disabled, nothing of ours left in
#      /etc/apache2/mods-enabled; purge: nothing left at all, and
#      mods-enabled exactly as before (mod_dbd, which a2dismod leaves
#      enabled as it does every dependency, disabled again if the package
#      enabled it).
# Needs root (it installs a package on this machine) and a machine where
# libapache2-mod-dbsession is not installed; .ci/run runs it. It never
# skips: anything missing fails it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fail() {
    echo "package: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run it as root: it installs and removes a package"
scripts/deps --check package || fail "missing build dependencies (scripts/deps package)"
command -v git >/dev/null || fail "git is missing"
[ -d .git ] || [ -f .git ] || fail "not a git clone: the build's leftovers cannot be checked"
pkg=libapache2-mod-dbsession
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
    fail "$pkg is already installed here: remove it first"
fi
for f in /etc/apache2/mods-available/dbsession.load \
         /etc/apache2/mods-available/dbsession.conf \
         /usr/lib/apache2/modules/mod_dbsession.so; do
    [ ! -e "$f" ] || fail "$f exists (a make install?): remove it first"
done
id dbsession >/dev/null 2>&1 || useradd --create-home --shell /bin/bash dbsession

scratch=$(mktemp -d /tmp/dbsession-package.XXXXXX)
chmod 755 "$scratch"
# shellcheck source=t/lib/scratch-apache.sh
source t/lib/scratch-apache.sh
installed=""
mods_before=$(ls /etc/apache2/mods-enabled)
cleanup() {
    scratch_stop
    if [ -n "$installed" ]; then
        apt-get purge -y -qq "$pkg" >/dev/null 2>&1 || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section=$(awk '/^## Install the Debian package/ { on = 1; next } /^## / { on = 0 } on' \
    README.md)
block() {   # block sh|apache N SECTION: the Nth fenced block of that kind
    printf '%s\n' "$3" |
        awk -v kind="$1" -v want="$2" \
            '$0 == "```" kind { n++; on = (n == want); next } /^```$/ { on = 0 } on'
}
build=$(block sh 1 "$section")
setup=$(block sh 2 "$section")
quickstart=$(awk '/^## Quick start/ { on = 1; next } /^## / { on = 0 } on' README.md)
config=$(block apache 1 "$quickstart")
[ -n "$build" ] && [ -n "$setup" ] && [ -n "$config" ] ||
    fail "README has no package section with two shell blocks, or no Quick start configuration"
grep -q 'dpkg-buildpackage' <<<"$build" || fail "the first block builds no package"

# 1. Build and install, in a scratch copy of the clone (with .git, for the
# check of what the build leaves). apt's interactive "apt install" becomes
# apt-get -y, the only change.
mkdir "$scratch/src"
tar --exclude=./t/logs -cf - . | tar -C "$scratch/src" -xf -
(cd "$scratch/src" && git --no-optional-locks status --porcelain) > "$scratch/status.before"
printf '%s\n' "$build" | sed 's/^apt install /apt-get install -y /' \
    > "$scratch/build.sh"
installed=1
(cd "$scratch/src" && bash -euo pipefail "$scratch/build.sh") \
    > "$scratch/build.log" 2>&1 ||
    { tail -n 40 "$scratch/build.log" >&2; fail "building or installing the package failed"; }
(cd "$scratch/src" && git --no-optional-locks status --porcelain) > "$scratch/status.after"
diff -u "$scratch/status.before" "$scratch/status.after" >&2 ||
    fail "the build changed tracked files or left files git does not ignore"
changes=$(ls "$scratch"/${pkg}_*.changes)
chmod -R a+rX "$scratch"
# lintian warns when run as root: it reads the package as anyone would.
runuser -u dbsession -- lintian --fail-on error,warning "$changes" \
    > "$scratch/lintian.log" 2>&1 ||
    { cat "$scratch/lintian.log" >&2; fail "lintian: errors or warnings"; }
[ ! -s "$scratch/lintian.log" ] ||
    { cat "$scratch/lintian.log" >&2; fail "lintian has something to say"; }
echo "package: built, lintian clean, installed"

# 2. What it installed, enabled as Debian enables module packages.
for f in /usr/lib/apache2/modules/mod_dbsession.so /usr/sbin/dbsessionctl \
         /usr/share/man/man8/dbsessionctl.8.gz \
         /etc/apache2/mods-available/dbsession.load \
         /etc/apache2/mods-available/dbsession.conf \
         /usr/share/doc/$pkg/dbd_schema.sql /usr/share/doc/$pkg/README.md.gz; do
    [ -e "$f" ] || fail "$f is not installed"
done
grep -qx '# Depends: dbd' /etc/apache2/mods-available/dbsession.load ||
    fail "dbsession.load has no '# Depends: dbd'"
grep -qx 'LoadModule dbsession_module /usr/lib/apache2/modules/mod_dbsession.so' \
    /etc/apache2/mods-available/dbsession.load ||
    fail "dbsession.load does not load the installed module"
[ -e /etc/apache2/mods-enabled/dbsession.load ] ||
    fail "the package did not enable the module (apache2_invoke enmod)"
[ -e /etc/apache2/mods-enabled/dbd.load ] || fail "mod_dbd is not enabled with it"
a2enmod dbsession > "$scratch/a2enmod.log" 2>&1 && apache2ctl -t > "$scratch/t.log" 2>&1 ||
    { cat "$scratch/a2enmod.log" "$scratch/t.log" >&2; fail "a2enmod dbsession && apache2ctl -t failed"; }
[ "$(man -w dbsessionctl)" = /usr/share/man/man8/dbsessionctl.8.gz ] ||
    fail "man does not find dbsessionctl(8)"
warnings=$(zcat /usr/share/man/man8/dbsessionctl.8.gz | groff -man -ww -z 2>&1)
[ -z "$warnings" ] || fail "the man page renders with warnings: $warnings"
/usr/sbin/dbsessionctl --help | grep -q '^usage: dbsessionctl keygen' ||
    fail "dbsessionctl --help"

# 3. The setup and the configuration in a scratch copy of /etc/apache2,
# the way t/quickstart.sh does it (paths into the scratch, no chown to
# www-data), then a session, all as the unprivileged user.
cp -a /etc/apache2 "$scratch/apache2"
mkdir -p "$scratch/var/lib/apache2" "$scratch/lock" "$scratch/log"
printf '%s\n' "$setup" | into_scratch |
    sed -e 's/ -o www-data -g www-data//' -e '/^chown www-data/d' \
        > "$scratch/setup.sh"
scratch_site "$config"
mkdir -p "$scratch/state"
# a2enmod and friends on the copy only (apt's maintainer scripts, later,
# must see the real /etc/apache2).
(
    export APACHE_CONFDIR=$scratch/apache2 APACHE_STATE_DIRECTORY=$scratch/state
    a2dissite -q 000-default >/dev/null
    a2enmod -q cgid >/dev/null
    a2enconf -q dbsession-app >/dev/null
)
chown -R dbsession: "$scratch"
cp t/lib/scratch-apache.sh "$scratch/"
cat > "$scratch/session.sh" <<SESSION
set -euo pipefail
scratch=$scratch
source "$scratch/scratch-apache.sh"
bash -euo pipefail "$scratch/setup.sh"
export APACHE_RUN_USER=dbsession APACHE_RUN_GROUP=\$(id -gn)
export APACHE_PID_FILE=$scratch/run/apache2.pid APACHE_RUN_DIR=$scratch/run
export APACHE_LOCK_DIR=$scratch/lock APACHE_LOG_DIR=$scratch/log
scratch_session $port /usr/sbin/dbsessionctl
SESSION
runuser -u dbsession -- bash "$scratch/session.sh" > "$scratch/session.log" 2>&1 ||
    { cat "$scratch/session.log" >&2; tail -n 20 "$scratch/log/error.log" >&2 || true
      fail "no session through the packaged module"; }
scratch_stop
echo "package: a session over two requests through the packaged module"

# 4. Remove, then purge: disabled, nothing left enabled, nothing left.
apt-get remove -y -qq "$pkg" > "$scratch/remove.log" 2>&1 ||
    { cat "$scratch/remove.log" >&2; fail "apt-get remove failed"; }
[ ! -e /usr/lib/apache2/modules/mod_dbsession.so ] || fail "the module is still there"
ls /etc/apache2/mods-enabled/dbsession.* >/dev/null 2>&1 &&
    fail "removing the package left dbsession enabled"
! a2query -q -m dbsession || fail "a2query still finds dbsession enabled"
apache2ctl -t > "$scratch/t2.log" 2>&1 ||
    { cat "$scratch/t2.log" >&2; fail "apache2ctl -t fails after the removal"; }
apt-get purge -y -qq "$pkg" > "$scratch/purge.log" 2>&1 ||
    { cat "$scratch/purge.log" >&2; fail "apt-get purge failed"; }
installed=""
ls /etc/apache2/mods-available/dbsession.* >/dev/null 2>&1 &&
    fail "purging the package left files in mods-available"
if ! grep -qx dbd.load <<<"$mods_before"; then
    a2dismod -q dbd >/dev/null
fi
mods_after=$(ls /etc/apache2/mods-enabled)
[ "$mods_before" = "$mods_after" ] ||
    fail "mods-enabled differs from before: $(diff <(echo "$mods_before") <(echo "$mods_after") | tr '\n' ' ')"
echo "package: README's package path works (build, lintian, apt, a2enmod, a session, removal)"
