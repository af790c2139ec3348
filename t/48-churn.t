# Children that come and go (MaxConnectionsPerChild 1: each child serves one
# connection, then a new one starts) under prefork: every request
# of a new child opens the database, prepares the statements and the lock
# table afresh, while other children close theirs (on SQLite the last one
# out checkpoints the WAL). None of it may turn into a 503.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 2;

# Requests give up after 30 s: a server that stops answering fails the test
# rather than hanging it.
Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0,
                                keep_alive => 0, timeout => 30);

my %mpm_conf = (prefork => "StartServers 2\n");
# (Not yet under event: in this suite, event's children that reached
# MaxConnectionsPerChild lingered with one thread waiting on a pipe until
# the scoreboard was full and requests waited; not understood yet.)
for my $mpm (qw(prefork)) {
    my $base = start_server("churn-$mpm", $mpm_conf{$mpm} . <<'CONF', mpm => $mpm);
MaxConnectionsPerChild 1
DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
</Location>
CONF
    my $cookie = session_cookie(req(GET => "$base/cgi/echo.pl?set=n%3D0"));
    my %codes;
    # 8 clients at a time, 192 requests: new sessions, reads and writes.
    for my $round (parallel(8, sub {
        my @got;
        for my $i (1 .. 12) {
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
