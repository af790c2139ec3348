# Concurrent requests of one session are serialised: no lost update, read
# your writes, and a lock wait that runs out answers 503.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use DBSTest;

plan tests => 8;

# --- 200 increments from 16 parallel clients on one session ---
my $cookie = new_session('/cgi', 'count%3D0');
my @done = parallel(16, sub {
    my ($i) = @_;
    my ($ok, $bad) = (0, 0);
    for (1 .. ($i <= 8 ? 13 : 12)) {     # 8 x 13 + 8 x 12 = 200
        my $res = req(GET => '/cgi/counter.sh', cookie => $cookie);
        $res->code == 200 ? $ok++ : $bad++;
    }
    "$ok $bad";
});
my ($ok, $bad) = (0, 0);
for (@done) { my ($o, $b) = split; $ok += $o; $bad += $b }
is $ok, 200, '200 increments answered 200';
is $bad, 0, 'none failed';
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_count}, '200',
    'the counter is exactly 200: no lost update';

# --- read your writes: 300 write-then-read pairs on fresh connections,
# creating a session in every third pair ---
my @misses = parallel(6, sub {
    my ($w) = @_;
    my ($misses, $mine) = (0, undef);
    for my $n (1 .. 50) {
        my $res;
        if ($n % 3 == 1 || !$mine) {
            $res = req(GET => "/cgi/echo.pl?set=v%3D$w-$n");
            $mine = session_cookie($res);
        } else {
            $res = req(GET => "/cgi/echo.pl?set=v%3D$w-$n", cookie => $mine);
        }
        my $seen = seen(req(GET => '/cgi/echo.pl', cookie => $mine));
        $misses++ unless $res->code == 200 && ($seen->{SESSION_v} // '') eq "$w-$n";
    }
    $misses;
});
my $missed = 0;
$missed += $_ for @misses;
is $missed, 0, '300 write-then-read pairs: every read saw the write';

# --- DBSessionLockTimeout 1 in /cgi-lock/: a request of a session held by a
# slow request gets 503 + Retry-After and writes nothing ---
my $held = new_session('/cgi-lock', 'x%3D1');
my $other = new_session('/cgi-lock', 'y%3D1');
my %r = map { split /=/, $_, 2 } parallel(3, sub {
    my ($i) = @_;
    if ($i == 1) {
        my $res = req(GET => '/cgi-lock/echo.pl?sleep=3', cookie => $held);
        return "holder=" . $res->code . ' ' . time;
    }
    sleep 0.7;
    if ($i == 2) {
        my $res = req(GET => '/cgi-lock/echo.pl?set=x%3D2', cookie => $held);
        return "waiter=" . $res->code . ' ' . ($res->header('Retry-After') // '-');
    }
    my $res = req(GET => '/cgi-lock/echo.pl', cookie => $other);
    return "other=" . $res->code . ' ' . time;
});
my ($waiter_code, $retry) = split / /, $r{waiter};
is $waiter_code, 503, 'the waiting request of the same session gets 503';
like $retry, qr/^\d+$/, 'with Retry-After';
is seen(req(GET => '/cgi-lock/echo.pl', cookie => $held))->{SESSION_x}, '1',
    'and wrote nothing';
my (undef, $holder_end) = split / /, $r{holder};
my ($other_code, $other_end) = split / /, $r{other};
ok $other_code == 200 && $other_end < $holder_end,
    'a request of another session did not wait for the held one';
