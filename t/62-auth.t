# AuthType DBSession: a session with a user authenticates as that user for
# "Require valid-user" and "Require user NAME"; otherwise 401, or a redirect
# to DBSessionLoginURL carrying the original URL (a local path) in "return".
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 15;

is req(GET => '/cgi-auth/echo.pl')->code, 401, 'no session: 401';
my $anonymous = new_session('/cgi', 'k%3Dv');
is req(GET => '/cgi-auth/echo.pl', cookie => $anonymous)->code, 401,
    'a session without a user: 401';

my $alice = session_cookie(req(GET => '/cgi/echo.pl?user=alice'));
my $res = req(GET => '/cgi-auth/echo.pl', cookie => $alice);
is $res->code, 200, 'a session with a user passes Require valid-user';
is seen($res)->{REMOTE_USER}, 'alice', '...as REMOTE_USER';
is seen($res)->{AUTH_TYPE}, 'DBSession', '...with AUTH_TYPE DBSession';
is req(GET => '/cgi-auth-bob/echo.pl', cookie => $alice)->code, 401,
    'Require user bob refuses alice';
my $bob = session_cookie(req(GET => '/cgi/echo.pl?user=bob'));
is req(GET => '/cgi-auth-bob/echo.pl', cookie => $bob)->code, 200,
    '...and admits bob';

$res = req(GET => '/cgi-auth-login/echo.pl?a=1&b=x%20y');
is $res->code, 302, 'with DBSessionLoginURL: a redirect';
is $res->header('Location'),
    '/cgi/echo.pl?page=login&return=%2Fcgi-auth-login%2Fecho.pl%3Fa%3D1%26b%3Dx%2520y',
    '...to the login page (a local path), the original path and query in return';

# "return" is the request line as sent, still percent-encoded: a %5C or
# %2F never becomes a backslash or a slash that a browser reads as a host.
$res = req(GET => '/cgi-auth-login/%5Cevil.example/?next=%2F%2Fx');
is $res->header('Location'),
    '/cgi/echo.pl?page=login&return=%2Fcgi-auth-login%2F%255Cevil.example%2F%3Fnext%3D%252F%252Fx',
    'return keeps %5C and %2F encoded';
# Leading slashes (merged by httpd to find the scope) are one in return.
$res = Apache::TestRequest::user_agent()->request(
    HTTP::Request->new(GET => Apache::TestRequest::resolve_url('/')
                              =~ s{/$}{//cgi-auth-login/echo.pl}r));
is $res->code, 302, '//path is in the scope too';
like $res->header('Location') // '', qr{&return=%2Fcgi-auth-login%2F},
    '...and its return starts with exactly one slash';
# The Host header never makes the Location.
$res = req(GET => '/cgi-auth-login/echo.pl', headers => [Host => 'evil.example']);
is $res->code, 302, 'a request with a foreign Host header is redirected';
unlike $res->header('Location') // '', qr/evil/, '...to a local path all the same';
is req(GET => '/cgi-auth-login/echo.pl', cookie => $alice)->code, 200,
    'a logged-in user is not redirected';

