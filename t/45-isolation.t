# Requests of different sessions, and anonymous requests, never wait for
# each other, on every backend (SQLite included); a slow client holds no
# lock and no connection; a dead cookie in front cannot skip the lock.
# No timing thresholds: a wait shows as a 503 in scopes that allow none
# (DBSessionLockTimeout 0) or one second (1).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

plan tests => 14;

# --- a client that stops reading a large response ---
my $vars = Apache::Test::vars();
my $big = "$vars->{documentroot}/slow/big.bin";
open my $fh, '>', $big or die "$big: $!";
print $fh 'x' x (1 << 20) for 1 .. 48;    # 48 MiB: far beyond socket buffers
close $fh;

my $slow_cookie = new_session('/cgi-lock', 'x%3D1');
my $config = Apache::Test::config();
my $stalled = IO::Socket::INET->new(
    PeerAddr => '127.0.0.1', PeerPort => $config->{vars}->{port})
    or die "connect: $!";
print $stalled "GET /slow/big.bin HTTP/1.1\r\nHost: localhost\r\n"
    . "Cookie: session=$slow_cookie\r\nConnection: close\r\n\r\n";
my $head;
sysread $stalled, $head, 64;
like $head // '', qr{^HTTP/1\.1 200}, 'the large response started';
sleep 1;    # it now blocks on the socket, unread

is req(GET => '/cgi-lock/echo.pl?set=x%3D2', cookie => $slow_cookie)->code,
    200, 'while a client stalls, its own session still answers';
is seen(req(GET => '/cgi-lock/echo.pl', cookie => $slow_cookie))->{SESSION_x},
    '2', 'and its write committed';
my $other = new_session('/cgi-lock', 'y%3D1');
is req(GET => '/cgi-lock/echo.pl?set=y%3D2', cookie => $other)->code, 200,
    'another session answers';
is req(GET => '/cgi-nowait/echo.pl?set=z%3D1')->code, 200,
    'an anonymous request creating a session answers at once';
is open_transactions(), 0, 'the stalled response holds no open transaction';
close $stalled;

# --- 16 sessions of a sleeping CGI run side by side; with no wait allowed,
# any serialisation between them would answer 503 ---
my @cookies = map { new_session('/cgi-nowait', "n%3D$_") } 1 .. 16;
my @codes = parallel(16, sub {
    my ($i) = @_;
    req(GET => '/cgi-nowait/echo.pl?sleep=2&set=n%3Ddone',
        cookie => $cookies[$i - 1])->code;
});
is join(',', grep { $_ != 200 } @codes), '', '16 sessions in parallel: all 200';
is scalar(grep { (seen(req(GET => '/cgi-nowait/echo.pl', cookie => $_))
                   ->{SESSION_n} // '') eq 'done' } @cookies),
    16, 'and all 16 writes committed';
@codes = parallel(16, sub {
    req(GET => '/cgi-nowait/echo.pl?sleep=2&set=a%3D1')->code;
});
is join(',', grep { $_ != 200 } @codes), '',
    '16 anonymous requests creating sessions in parallel: all 200';

# --- DBSessionLockTimeout 0: a busy session answers 503 at once ---
my $held = new_session('/cgi-nowait', 'h%3D1');
my %r = map { split /=/, $_, 2 } parallel(2, sub {
    my ($i) = @_;
    if ($i == 1) {
        return 'holder=' . req(GET => '/cgi-nowait/echo.pl?sleep=2',
                               cookie => $held)->code;
    }
    sleep 0.7;
    my $res = req(GET => '/cgi-nowait/echo.pl?set=h%3D2', cookie => $held);
    return 'waiter=' . $res->code . ' ' . ($res->header('Retry-After') // '-');
});
is $r{holder}, 200, 'the holder of a session finishes';
like $r{waiter}, qr/^503 \d+$/,
    'with DBSessionLockTimeout 0 the same session gets 503 + Retry-After';
is seen(req(GET => '/cgi-nowait/echo.pl', cookie => $held))->{SESSION_h}, '1',
    'and wrote nothing';

# --- a dead cookie in front of the live one still takes the lock ---
my $dead = new_session('/cgi', 'd%3D1');
req(GET => '/cgi/echo.pl?invalidate=1', cookie => $dead);
my $live = new_session('/cgi', 'count%3D0');
my @done = parallel(8, sub {
    my $bad = 0;
    for (1 .. 15) {
        my $res = req(GET => '/cgi/counter.sh',
                      cookie => "$dead; session=$live");
        $bad++ unless $res->code == 200;
    }
    $bad;
});
my $bad = 0;
$bad += $_ for @done;
is $bad, 0, '120 increments behind a dead cookie answered 200';
is seen(req(GET => '/cgi/echo.pl', cookie => $live))->{SESSION_count}, '120',
    'none was lost';

unlink $big;
