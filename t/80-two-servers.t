# Two httpd servers on one database behave as one: a session made on one is
# used on the other, and increments split across both lose nothing.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use lib 't/lib';
use DBSTest;

plan tests => 10;

# Server B: the same database and keys as the suite's server.
my $b = start_server('server-b', <<'CONF');
DBSessionKey Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA= \
             AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
</Location>
CONF
my $dir = server_dir('server-b');

# B seals with the suite's second key: key rotation across servers too.
my $cookie = new_session('/cgi', 'from%3Da');
is seen(req(GET => "$b/cgi/echo.pl", cookie => $cookie))->{SESSION_from}, 'a',
    'a session made on A is read on B';
my $res = req(GET => "$b/cgi/echo.pl?set=from%3Db");
my $on_b = session_cookie($res);
ok $on_b, 'B creates a session';
$res = req(GET => '/cgi/echo.pl', cookie => $on_b);
is seen($res)->{SESSION_from}, 'b', 'which A reads';

# Key rotation: B sealed with A's second key; A's committing response seals
# the same session again with its first key, and then leaves it alone.
my $resealed = session_cookie($res);
ok $resealed && $resealed ne $on_b, 'A seals a cookie of its second key again';
$res = req(GET => '/cgi/echo.pl', cookie => $resealed);
is seen($res)->{SESSION_from}, 'b', '...for the same session';
ok !defined session_cookie($res), '...once: a cookie of the first key is kept';
is seen(req(GET => "$b/cgi/echo.pl", cookie => $resealed))->{SESSION_from}, 'b',
    '...which B still opens';

# 100 increments split across A and B, in parallel.
my $counter = new_session('/cgi', 'count%3D0');
my @bad = parallel(10, sub {
    my ($i) = @_;
    my $base = $i % 2 ? $b : '';
    my $bad = 0;
    for (1 .. 10) {
        $bad++ unless req(GET => "$base/cgi/counter.sh", cookie => $counter)->code == 200;
    }
    $bad;
});
my $failed = 0;
$failed += $_ for @bad;
is $failed, 0, '100 increments on A and B all answered 200';
is seen(req(GET => '/cgi/echo.pl', cookie => $counter))->{SESSION_count}, '100',
    'the count is exactly 100';

stop_server('server-b');
open my $log, '<', "$dir/error_log" or die $!;
my @errors = grep { /\[dbsession:(error|crit)\]|segfault|exit signal/ } <$log>;
is scalar(@errors), 0, 'server B logged no error';
