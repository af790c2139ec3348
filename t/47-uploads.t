# A request body is received in full before the session is opened: clients
# that trickle their uploads hold no lock, no pooled connection (the suite
# has DBDMax 16: 20 stalled uploads would take them all) and no open
# transaction. Large bodies go through a temporary file to the handler
# intact; LimitRequestBody still applies. The checks made meanwhile give up
# after 20 seconds (a client-side timeout, not a measurement): a request
# that waits for a connection that never comes fails instead of hanging.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET ();
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

my $STALLED = 20;
plan tests => 16;

my $vars = Apache::Test::vars();
# A POST that sends its headers and the first half of its body, then stops.
my @form = ('Content-Type' => 'application/x-www-form-urlencoded');
my (@stalled, @cookies);
for my $i (1 .. $STALLED) {
    my $cookie = new_session('/cgi-lock', 'n%3D0');
    my $body = "a=" . ('x' x 998);
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $vars->{port}) or die $!;
    print $sock "POST /cgi-lock/echo.pl?set=n%3D$i HTTP/1.1\r\nHost: localhost\r\n"
        . "Cookie: session=$cookie\r\nConnection: close\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n" . substr($body, 0, 500);
    push @stalled, [$sock, substr($body, 500)];
    push @cookies, $cookie;
}
sleep 1;

Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0,
                                keep_alive => 0, timeout => 20);
my $other = new_session('/cgi-lock', 'y%3D1');
is req(GET => '/cgi-lock/echo.pl?set=y%3D2', cookie => $other)->code, 200,
    "while $STALLED uploads trickle, another session writes";
is req(GET => '/cgi-nowait/echo.pl?set=z%3D1')->code, 200,
    '...an anonymous request creates a session';
is req(GET => '/cgi-lock/echo.pl?set=n%3D99', cookie => $cookies[0])->code, 200,
    "...and the trickling client's own session answers";
is open_transactions(), 0, '...and no upload holds an open transaction';

# The uploads finish: each is answered, and its write committed.
my $answered = 0;
for my $s (@stalled) {
    my ($sock, $rest) = @$s;
    print $sock $rest;
    local $/;
    my $response = <$sock> // '';
    $answered++ if $response =~ m{^HTTP/1\.1 200} && $response =~ /^BODY_LENGTH=1000$/m;
}
is $answered, $STALLED, 'every trickled upload is answered with its whole body';
is seen(req(GET => '/cgi-lock/echo.pl', cookie => $cookies[-1]))->{SESSION_n},
    $STALLED, '...and its write committed';

# A body larger than what stays in memory: through a temporary file.
my $big = join '&', map { "f$_=" . ('y' x 1000) } 1 .. 3000;    # ~3 MB
my $res = req(POST => '/cgi-lock/echo.pl?set=big%3D1', cookie => $other,
              content => $big, headers => \@form);
is $res->code, 200, 'a 3 MB body is received before the session';
is seen($res)->{BODY_MD5}, md5_hex($big), '...and the handler gets it intact';
is seen(req(GET => '/cgi-lock/echo.pl', cookie => $other))->{SESSION_big}, '1',
    '...and the write committed';

# LimitRequestBody applies: 413, and no session is made.
$res = req(POST => '/cgi-small-body/echo.pl?set=over413%3D1', content => 'x' x 2000,
           headers => \@form);
is $res->code, 413, 'a body over LimitRequestBody: 413';
ok !defined session_cookie($res), '...no cookie';
is db_scalar("SELECT count(*) FROM dbsession WHERE session_data = 'over413=1' AND created_at >= "
             . (time - 60)), '0', '...and no session stored';

# One child with DBDMax 4: 24 trickling uploads would take every pooled
# connection four times over if they held one.
my $one = start_server('one-child', <<'CONF');
StartServers 1
ServerLimit 1
ThreadsPerChild 40
MaxRequestWorkers 40
DBDMax 4
DBDKeep 2
DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
    DBSessionLockTimeout 1
</Location>
CONF
my ($port) = $one =~ /:(\d+)$/;
my @trickling;
for my $i (1 .. 24) {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die $!;
    print $sock "POST /cgi/echo.pl?set=t%3D$i HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: 20\r\n\r\na=123456";
    push @trickling, $sock;
}
sleep 1;
$res = req(GET => "$one/cgi/echo.pl?set=u%3D1");
is $res->code, 200, 'one child, DBDMax 4, 24 trickling uploads: a new session is made';
my $u = session_cookie($res);
is seen(req(GET => "$one/cgi/echo.pl", cookie => $u))->{SESSION_u}, '1',
    '...and read back';
$answered = 0;
for my $sock (@trickling) {
    print $sock '7890123456789';
    local $/;
    $answered++ if (<$sock> // '') =~ m{^HTTP/1\.1 200};
}
is $answered, 24, '...and the 24 uploads are answered once their bodies arrive';
is db_scalar("SELECT count(*) FROM dbsession WHERE session_data LIKE 't=%' AND created_at >= "
             . (time - 60)), '24', '...each with its session stored';
