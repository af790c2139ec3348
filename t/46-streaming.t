# A streamed response holds nothing while a slow client reads it: the
# transaction ends when the handler's first data comes, before mod_deflate
# or any content filter sees it. Each case stalls a client that stops
# reading (its socket buffers full), then the same session writes in a
# scope that waits at most one second for a lock: a 503 there would mean
# the stalled response still held the session. No timing thresholds.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use IO::Socket::INET ();
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

my @cases = (
    ['a large file through mod_deflate', '/stream-gz/random.bin', 'gzip'],
    ['a streaming CGI through mod_deflate', '/cgi-stream-gz/stream.pl', 'gzip'],
    ['a streaming PHP page', '/php/stream.php', ''],
    ['a large file through mod_proxy_http', '/proxy-stream/random.bin', ''],
);
plan tests => 6 * @cases + 3;

# 32 MiB that no compressor shrinks: far beyond the socket buffers.
my $vars = Apache::Test::vars();
my $file = "$vars->{documentroot}/slow/random.bin";
open my $random, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
read $random, my $block, 1 << 20;
open my $fh, '>:raw', $file or die "$file: $!";
print $fh $block for 1 .. 32;
close $fh;

for my $case (@cases) {
    my ($what, $path, $encoding) = @$case;
    my $cookie = new_session('/cgi-lock', 'x%3D1');
    my $stalled = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1', PeerPort => $vars->{port}) or die "connect: $!";
    setsockopt $stalled, SOL_SOCKET, SO_RCVBUF, 4096;
    print $stalled "GET $path HTTP/1.1\r\nHost: localhost\r\n"
        . "Cookie: session=$cookie\r\nConnection: close\r\n"
        . ($encoding ? "Accept-Encoding: $encoding\r\n" : '') . "\r\n";
    my $head = '';
    sysread $stalled, $head, 1024;
    like $head, qr{^HTTP/1\.1 200}, "$what: the response started";
    like $head, qr{^Content-Encoding: gzip\r?$}mi, "...compressed"
        if $encoding;
    unlike $head, qr{^Content-Encoding}mi, "...as is" unless $encoding;
    sleep 1;    # it now blocks on the socket, unread

    is req(GET => '/cgi-lock/echo.pl?set=x%3D2', cookie => $cookie)->code, 200,
        "$what: meanwhile the same session writes";
    is seen(req(GET => '/cgi-lock/echo.pl', cookie => $cookie))->{SESSION_x},
        '2', '...and its write committed';
    is req(GET => '/cgi-nowait/echo.pl?set=z%3D1')->code, 200,
        '...an anonymous request creating a session answers';
    is open_transactions(), 0, '...and the stalled response holds no open transaction';
    close $stalled;
}

# An SSI include in the body of a response runs after the commit: it reads
# the session, and its writes are refused and logged, never lost silently.
my $cookie = new_session('/cgi', 'k%3Dkept');
my $mark = log_mark();
my $res = req(GET => '/ssi/write.shtml', cookie => $cookie);
like $res->content, qr/^SESSION_k=kept$/m, 'an SSI-included CGI reads the session';
is logged_since($mark, qr/DBS041: a subrequest's X-DBSession-\* headers came after/), 1,
    "...and its write is refused with a log line";
ok !exists seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_late},
    '...not stored';
