# Idle and absolute expiry (short timeouts in their own locations).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 8;

# /cgi-idle/: idle 3 s, absolute off, extension delay 0. Times are whole
# seconds, so each wait leaves a second of slack either way.
my $idle = new_session('/cgi-idle', 'a%3D1');
sleep 1;
is seen(req(GET => '/cgi-idle/echo.pl', cookie => $idle))->{SESSION_a}, '1',
    'alive within the idle timeout';
sleep 2;   # 3-4 s after creation, 2 s after the extended last activity
is seen(req(GET => '/cgi-idle/echo.pl', cookie => $idle))->{SESSION_a}, '1',
    'activity extended the idle expiry';
sleep 5;
my $res = req(GET => '/cgi-idle/echo.pl', cookie => $idle);
is seen($res)->{DBSESSION_NEW}, '1', 'expired after the idle timeout';
is session_cookie($res), '', 'and the dead cookie is cleared';

# /cgi-absolute/: absolute 3 s, idle off: activity never extends it.
my $abs = new_session('/cgi-absolute', 'a%3D1');
my $seen = seen(req(GET => '/cgi-absolute/echo.pl', cookie => $abs));
is $seen->{DBSESSION_EXPIRES} - $seen->{DBSESSION_CREATED}, 3,
    'DBSESSION_EXPIRES = created + absolute timeout';
for (1 .. 2) {
    sleep 1;
    req(GET => '/cgi-absolute/echo.pl?set=b%3D1', cookie => $abs);
}
is seen(req(GET => '/cgi-absolute/echo.pl', cookie => $abs))->{SESSION_a}, '1',
    'alive before the absolute timeout';
sleep 3;
is seen(req(GET => '/cgi-absolute/echo.pl', cookie => $abs))->{DBSESSION_NEW}, '1',
    'expired after the absolute timeout despite activity';

# Cleanup (DBSessionCleanupInterval 1 in this suite) deletes expired rows.
sleep 1;
req(GET => '/cgi/echo.pl') for 1 .. 3;
is db_scalar('SELECT count(*) FROM dbsession WHERE expires_at < '
             . (time - 1)), '0', 'the cleanup deleted the expired rows';
