# A failing or unreachable database: 503 with Retry-After and a log line,
# never a crash, never a silent new session; recovery without a restart.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

# PostgreSQL and MariaDB: the server goes away and comes back. SQLite has no
# server: its failing statements are made by taking the table away.
my $server = $ENV{DBS_DRIVER} ne 'sqlite3';
plan tests => 12;

# 64 new sessions in parallel: they use (and fill) every pooled connection
# of every child.
sub failures_of_64_new_sessions {
    my $bad = 0;
    $bad += $_ for parallel(16, sub {
        my $failed = 0;
        for (1 .. 4) {
            my $r = req(GET => '/cgi/echo.pl?set=n%3D1');
            $failed++ unless $r->code == 200 && session_cookie($r);
        }
        $failed;
    });
    return $bad;
}

my $cookie = new_session('/cgi', 'kept%3Dyes');
is failures_of_64_new_sessions(), 0, 'before the outage: every write works';

my $outage_mark = log_mark();
if ($server) {
    db_server('stop');
} else {
    db_scalar('ALTER TABLE dbsession RENAME TO dbsession_away');
}
my @codes;
for (1 .. 4) {
    my $res = req(GET => '/cgi/echo.pl?set=x%3D1', cookie => $cookie);
    push @codes, $res->code;
    is $res->header('Retry-After'), '1', "request $_ in the outage has Retry-After" if $_ == 1;
}
is "@codes", '503 503 503 503', 'every request in the outage answers 503';
my $res = req(GET => '/cgi/echo.pl?set=x%3D1');
is $res->code, 503, 'a request without a cookie too: no silent new session';
is session_cookie($res), undef, '...and no cookie';

# DBS030 when loading fails, DBS032 when a write fails (a request without
# a cookie touches the table only to store): one line per 503.
is logged_since($outage_mark, qr/\[dbsession:error\].*DBS03[02]: .*: 503$/), 5,
    'each 503 is logged once with the reason';

if ($server) {
    db_server('start');
} else {
    db_scalar('ALTER TABLE dbsession_away RENAME TO dbsession');
}
$res = req(GET => '/cgi/echo.pl', cookie => $cookie);
is $res->code, 200, 'the first request after the database is back works';
my $seen = seen($res);
is $seen->{SESSION_kept}, 'yes', 'with the same cookie and session';
req(GET => '/cgi/echo.pl?set=after%3D1', cookie => $cookie);
ok !exists $seen->{SESSION_x}
    && seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_after} eq '1',
    'nothing from the outage was written, and writing works again';

# Once the first request succeeded again, nothing fails for a stale pooled
# connection or statement (MariaDB reconnects silently, a restarted server
# has forgotten its prepared statements).
is failures_of_64_new_sessions(), 0,
    'after the outage, 64 new sessions in parallel: every write works';
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_after}, '1',
    'and the old session still reads';

# A schema change in the same database (another table) must not fail the
# writes of statements prepared before it (SQLite: SQLITE_SCHEMA).
db_scalar('CREATE TABLE unrelated_table (x INTEGER)');
is failures_of_64_new_sessions(), 0,
    'after a schema change, 64 new sessions in parallel: every write works';
