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
plan tests => 8;

my $cookie = new_session('/cgi', 'kept%3Dyes');

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

open my $log, '<', 't/logs/error_log' or die $!;
# DBS030 when loading fails, DBS032 when a write fails (a request without
# a cookie touches the table only to store).
my @lines = grep { /DBS03[02]: .*: 503$/ } <$log>;
ok scalar(@lines) >= 5, 'each 503 is logged with the reason';

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
