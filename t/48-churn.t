# Children that come and go (MaxConnectionsPerChild 1: each child serves one
# connection, then a new one starts) under prefork and event: every request
# of a new child opens the database, prepares the statements and the lock
# table afresh, while other children close theirs (on SQLite the last one
# out checkpoints the WAL). None of it may turn into a 503.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 4;

for my $mpm (qw(prefork event)) {
    my $base = start_server("churn-$mpm", <<'CONF', mpm => $mpm);
StartServers 2
MaxConnectionsPerChild 1
DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
</Location>
CONF
    my $cookie = session_cookie(req(GET => "$base/cgi/echo.pl?set=n%3D0"));
    my %codes;
    # 16 clients at a time, 200 requests: new sessions, reads and writes.
    for my $round (parallel(16, sub {
        my @got;
        for my $i (1 .. 6) {
            push @got, req(GET => "$base/cgi/echo.pl?set=c%3D$i")->code;
            push @got, req(GET => "$base/cgi/echo.pl", cookie => $cookie)->code;
        }
        join ',', @got;
    })) {
        $codes{$_}++ for split /,/, $round;
    }
    is join(' ', map { "${_}x$codes{$_}" } sort keys %codes), '200x192',
        "$mpm, MaxConnectionsPerChild 1: 192 requests, all 200";
    ok $cookie, "$mpm: ...and the session of the first one";
    stop_server("churn-$mpm");
}
