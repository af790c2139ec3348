# Backends that are not CGI: a Python WSGI application behind mod_proxy_http
# (examples/python/app.py with its dbsession.py helper) reads the session
# from DBSession-* request headers (DBSessionRequestHeaders On) and writes
# it back with X-DBSession-* response headers. Headers of those names that
# the client sends never reach the backend.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use IO::Socket::INET ();
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

plan tests => 29;

my $port = $ENV{DBS_BACKEND_PORT} or die 'DBS_BACKEND_PORT is not set';
my $backend = fork // die "fork: $!";
if (!$backend) {
    exec 'python3', 'examples/python/app.py', $port or die "exec: $!";
}
END { if ($backend) { local $?; kill "TERM", $backend; waitpid $backend, 0 } }
for (1 .. 100) {
    last if IO::Socket::INET->new("127.0.0.1:$port");
    sleep 0.1;
}

my @forged = (headers => ['DBSession-User' => 'mallory',
                          'DBSession-New' => '0', 'dbsession-data' => 'admin=1']);
my $res = req(GET => '/proxy/', @forged);
is $res->code, 200, 'the backend answers through mod_proxy_http';
my $saw = seen($res);
is $saw->{PY_NEW}, '1', 'no session yet: DBSession-New: 1';
is $saw->{PY_USER}, '', 'a client-sent DBSession-User never arrives';
ok !exists $saw->{PY_DATA_admin}, '...nor a client-sent DBSession-Data';
is session_cookie($res), undef, 'reading creates nothing';

# The backend writes: a value with commas, spaces and UTF-8, and a user.
$res = req(GET => '/proxy/?set=greeting%3Dhello%2C%20w%C3%B6rld&set=n%3D1');
my $cookie = session_cookie($res);
ok $cookie, 'a backend write (X-DBSession-Set) creates the session';
ok !defined $res->header('X-DBSession-Set'), '...and never reaches the client';
$res = req(GET => '/proxy/?user=J%C3%BCrgen%20K', cookie => $cookie);
$cookie = session_cookie($res) // $cookie;   # a new user: a new ID
$saw = seen(req(GET => '/proxy/?flash=Saved%2C%20thanks', cookie => $cookie));
is $saw->{PY_NEW}, '0', 'the next request has the session';
is $saw->{PY_DATA_greeting}, "hello, w\xc3\xb6rld",
    'DBSession-Data: form-urlencoded, decoded exactly';
is $saw->{PY_DATA_n}, '1', '...every key';
is $saw->{PY_USER}, "J\xc3\xbcrgen K", 'DBSession-User: percent-encoded UTF-8';
like $saw->{PY_CSRF}, qr/^[A-Za-z0-9_-]{43}$/, 'DBSession-CSRF: the token';
like $saw->{PY_RAW_HTTP_DBSESSION_CREATED}, qr/^\d+$/, 'DBSession-Created';
$saw = seen(req(GET => '/proxy/', cookie => $cookie, @forged));
is $saw->{PY_FLASH}, 'Saved, thanks', 'DBSession-Flash: the pending message';
is $saw->{PY_USER}, "J\xc3\xbcrgen K", 'a forged DBSession-User is replaced';
is $saw->{PY_RAW_HTTP_DBSESSION_DATA}, 'greeting=hello%2C%20w%C3%B6rld&n=1',
    '...and a forged DBSession-Data too';

# Without DBSessionRequestHeaders: the backend gets no session headers at
# all, forged or real.
$saw = seen(req(GET => '/proxy-plain/', cookie => $cookie, @forged));
is scalar(grep { /^PY_RAW_/ } keys %$saw), 0,
    'Off: no DBSession-* header reaches the backend';
is db_scalar("SELECT count(*) FROM dbsession WHERE user_name = 'J\xc3\xbcrgen K'"),
    '1', 'the user is stored as sent';

# The other spellings: '_' for '-' in any case (WSGI servers such as
# wsgiref map both to HTTP_DBSESSION_USER), in every scope of the server,
# session scope or not, and for an ErrorDocument a backend serves.
# (LWP sends a name with '_' as is only behind a ':'.)
my @spoof = (headers => [':DBSession_User' => 'admin', ':dbsession_csrf' => 'x',
                         ':DBSESSION_NEW' => '0', ':DbSession_Data' => 'admin=1',
                         'dBsEsSiOn-FLASH' => 'hi']);
# What came over the wire: only the names mod_dbsession itself sets.
sub wire { my ($saw) = @_; join ',', map { $saw->{$_} } sort grep { /^PY_WIRE_/ } keys %$saw }
$saw = seen(req(GET => '/proxy/', @spoof));
is wire($saw), 'DBSession-New', 'only our own DBSession-New reaches the backend';
is $saw->{PY_USER}, '', 'DBSession_User from a client is no user';
is $saw->{PY_CSRF}, '', '...nor is dbsession_csrf a token';
is $saw->{PY_NEW}, '1', '...nor DBSESSION_NEW a session';
ok !exists $saw->{PY_DATA_admin}, '...nor DbSession_Data its data';
for my $path ('/proxy-plain/', '/proxy-nosession/', '/missing-proxied/x') {
    $saw = seen(req(GET => $path, @spoof));
    ok exists $saw->{PY_NEW}, "$path: the backend answered";
    is wire($saw), '', "$path: no client header poses as the session";
}
