# DBSessionCSRFCheck On: POST, PUT, PATCH and DELETE must carry the
# session's token in X-CSRF-Token or in the _csrf field of a form body; the
# handler still gets the body whole (large, chunked); otherwise 403, rolled
# back.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET ();
use lib 't/lib';
use DBSTest;

plan tests => 31;

my $cookie = new_session('/cgi-csrf', 'n%3D1');
my $token = seen(req(GET => '/cgi-csrf/echo.pl', cookie => $cookie))->{DBSESSION_CSRF};
ok $token, 'the session has a token';
sub n_now { seen(req(GET => '/cgi-csrf/echo.pl', cookie => $cookie))->{SESSION_n} }
my @form = (headers => ['Content-Type' => 'application/x-www-form-urlencoded']);

is req(GET => '/cgi-csrf/echo.pl?set=n%3D2', cookie => $cookie)->code, 200,
    'GET needs no token';
is req(POST => '/cgi-csrf/echo.pl?set=n%3D3', cookie => $cookie, content => 'a=1',
       @form)->code, 403, 'a POST without a token: 403';
is n_now(), '2', '...and its write rolled back';
is req(POST => '/cgi-csrf/echo.pl?set=n%3D3', content => "_csrf=$token", @form)->code,
    403, 'a POST without a session fails the check';
is req(POST => '/cgi-csrf/echo.pl?set=n%3D3', cookie => $cookie,
       headers => ['X-CSRF-Token' => 'x' . substr($token, 1)])->code, 403,
    'a wrong X-CSRF-Token: 403';
is req(POST => '/cgi-csrf/echo.pl?set=n%3D4', cookie => $cookie,
       headers => ['X-CSRF-Token' => $token])->code, 200, 'the right X-CSRF-Token: 200';
is n_now(), '4', '...and its write committed';
is req(POST => '/cgi-csrf/echo.pl', cookie => $cookie, content => "a=1&_csrf=nope",
       @form)->code, 403, 'a wrong _csrf field: 403';

# Bodies larger than one brigade, the token first and last: the CGI reads
# every byte.
my $filler = join '&', map { "f$_=" . ('x' x 1000) } 1 .. 200;    # ~200 KB
for my $case (['first', "_csrf=$token&$filler"], ['last', "$filler&_csrf=$token"]) {
    my ($where, $body) = @$case;
    my $res = req(POST => '/cgi-csrf/echo.pl?set=n%3D5', cookie => $cookie,
                  content => $body, @form);
    is $res->code, 200, "a 200 KB form with _csrf $where: 200";
    is seen($res)->{BODY_MD5}, md5_hex($body), '...and the handler got the body intact';
}

# A chunked form body (no Content-Length), token in the second chunk.
{
    my $config = Apache::Test::config();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $config->{vars}->{port}) or die $!;
    my @chunks = ('a=1&_cs', "rf=$token&b=", 'y' x 5000);
    my $body = join '', @chunks;
    print $sock "POST /cgi-csrf/echo.pl HTTP/1.1\r\nHost: localhost\r\n"
        . "Cookie: session=$cookie\r\nConnection: close\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n"
        . join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) } @chunks) . "0\r\n\r\n";
    local $/;
    my $response = <$sock> // '';
    like $response, qr{^HTTP/1\.1 200}, 'a chunked form with the token across two chunks: 200';
    like $response, qr/BODY_MD5=\Q@{[md5_hex($body)]}\E/, '...and the body intact';
}

is req(PUT => '/cgi-csrf/echo.pl', cookie => $cookie, content => 'x')->code, 403,
    'PUT without a token: 403';
{
    require HTTP::Request;
    my $url = Apache::TestRequest::resolve_url('/cgi-csrf/echo.pl');
    my $res = Apache::TestRequest::user_agent()->request(
        HTTP::Request->new(DELETE => $url, [Cookie => "session=$cookie"]));
    is $res->code, 403, 'DELETE without a token: 403';
}

# Every method but GET, HEAD, OPTIONS and TRACE needs the token: WebDAV's
# and custom ones too.
sub request_with {
    my ($method, $path, @headers) = @_;
    require HTTP::Request;
    my $url = Apache::TestRequest::resolve_url($path);
    return Apache::TestRequest::user_agent()->request(
        HTTP::Request->new($method => $url, [Cookie => "session=$cookie", @headers]));
}
my $before = n_now();
for my $method (qw(PROPFIND MKCOL COPY MOVE LOCK FROB)) {
    is request_with($method, '/cgi-csrf/echo.pl?set=n%3D66')->code, 403,
        "$method without a token: 403";
}
is n_now(), $before, '...and none of them wrote';
is request_with(FROB => '/cgi-csrf/echo.pl?set=n%3D67', 'X-CSRF-Token' => $token)->code,
    200, 'FROB with the token: 200';
is n_now(), '67', '...and its write committed';

# An internal redirect into the scope from one without the check (a
# RewriteRule of a public directory) is checked as well.
is req(POST => '/public-rw/x?set=n%3D68', cookie => $cookie, content => 'a=1',
       @form)->code, 403, 'a POST redirected into the CSRF scope without a token: 403';
is n_now(), '67', '...and its write rolled back';
my $res = req(POST => '/public-rw/x?set=n%3D69', cookie => $cookie,
              content => "a=1&_csrf=$token", @form);
is $res->code, 200, '...with _csrf in its form: 200';
is seen($res)->{BODY_MD5}, md5_hex("a=1&_csrf=$token"), '...the body intact';
is n_now(), '69', '...and its write committed';
