# Another module's writes through ap_dbd_acquire(r) or dbsession_dbd(r)
# share the session's transaction: both commit on 200, neither on 500; a
# commit that fails after the handler answers 503 without a cookie.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

# A commit fails on a deferred foreign key; InnoDB has none.
my $deferred = $ENV{DBS_DRIVER} ne 'mysql';
plan tests => 14 + ($deferred ? 5 : 0);

sub logged { db_scalar("SELECT count(*) FROM app_log WHERE note = '$_[0]'") }

my $res = req(GET => '/dbs-app?note=first&status=200&via=acquire');
is $res->code, 200, 'ap_dbd_acquire(r) is the session connection';
my $cookie = session_cookie($res);
ok $cookie, 'the session value created a session';
is logged('first'), '1', 'the app row committed with it';

$res = req(GET => '/dbs-app?note=second&status=500&via=acquire', cookie => $cookie);
is $res->code, 500, 'a failing request';
is logged('second'), '0', 'its app row rolled back';
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_note}, 'first',
    'and so did its session value';

$res = req(GET => '/dbs-app?note=third&status=200&via=api', cookie => $cookie);
is $res->code, 200, 'dbsession_dbd(r) gives the same connection';
is logged('third'), '1', 'the app row committed';
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_note}, 'third',
    'together with the session';

# A value set through a subrequest that died before the response is kept:
# the session's data lives in the initial request's pool.
$res = req(GET => '/dbs-app?note=fourth&status=200&via=subreq', cookie => $cookie);
is $res->code, 200, 'dbsession_set() on a subrequest';
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_note}, 'fourth-sub',
    'stores the value after the subrequest is destroyed';

# The default DBSessionMaxSize (65536 bytes of data) fits the shipped
# schema on every database (MySQL's TEXT would stop one byte short).
$res = req(GET => '/dbs-app?note=big&status=200&via=api&size=65536', cookie => $cookie);
is $res->code, 200, 'a session of exactly DBSessionMaxSize (65536) is stored';
is length(seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_note} // ''),
    65536 - length('note='), 'and read back whole';
is req(GET => '/dbs-app?note=big&status=200&via=api&size=65537', cookie => $cookie)->code,
    500, 'one byte more is refused';

if ($deferred) {
    my $rows = db_rows();
    $res = req(GET => '/dbs-app?note=orphan&status=200&via=api&orphan=1');
    is $res->code, 503, 'a commit that fails after the handler answers 503';
    like $res->header('Retry-After') // '', qr/^\d+$/, 'with Retry-After';
    ok !defined session_cookie($res), 'and no cookie for the session it lost';
    is logged('orphan'), '0', 'its app row is gone';
    is db_rows(), $rows, 'and no session row was made';
} else {
    diag 'no commit-failure test on MySQL: InnoDB checks constraints at once';
}
