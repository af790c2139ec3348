# DBSessionWrites Off: X-DBSession-* response headers in that scope are
# removed and ignored, so that a handler there (a third-party upstream
# behind ProxyPass) cannot log visitors in as anyone; the session is still
# read there, and the C API still writes.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 12;

my $rows = db_rows();
my $res = req(GET => '/cgi-nowrite/echo.pl?user=admin&set=role%3Dadmin');
is $res->code, 200, 'a write in a DBSessionWrites Off scope is answered';
is session_cookie($res), undef, '...creates no session (no cookie)';
is db_rows(), $rows, '...and stores nothing';
ok !defined $res->header('X-DBSession-User'),
    'X-DBSession-User does not reach the client';
ok !defined $res->header('X-DBSession-Set'), 'nor X-DBSession-Set';
is db_scalar("SELECT count(*) FROM dbsession WHERE user_name = 'admin'"), '0',
    'nobody is logged in as admin';

# An existing session (cookie Path=/): read there, never written there.
my $s = new_session('/cgi', 'a%3D1');
$res = req(GET => '/cgi-nowrite/echo.pl?user=admin&set=a%3D2&invalidate=1',
           cookie => $s);
is seen($res)->{SESSION_a}, '1', 'the session is read in that scope';
is session_cookie($res), undef, '...and no write changes its cookie';
my $seen = seen(req(GET => '/cgi/echo.pl', cookie => $s));
is $seen->{SESSION_a}, '1', 'neither Set nor Invalidate was applied';
ok !exists $seen->{DBSESSION_USER}, '...nor User';

# The C API (another module's dbsession_set) still writes there.
$res = req(GET => '/dbs-app-nowrite?note=apinowrite&status=200&via=api');
my $api = session_cookie($res);
ok $api, 'the C API still writes in a DBSessionWrites Off scope';
is seen(req(GET => '/cgi/echo.pl', cookie => $api))->{SESSION_note},
    'apinowrite', '...and its value is stored';
