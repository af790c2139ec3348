# One transaction per request, decided by the final status.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 30;

my $cookie = new_session('/cgi', 'n%3D1');
sub n_of { seen(req(GET => '/cgi/echo.pl', cookie => $_[0]))->{SESSION_n} }

# Commit on 200 and 302.
req(GET => '/cgi/echo.pl?set=n%3D2', cookie => $cookie);
is n_of($cookie), '2', '200 commits';
my $res = req(GET => '/cgi/echo.pl?set=n%3D3&status=302&location=http://example.org/',
              cookie => $cookie);
is $res->code, 302, 'an external redirect';
is n_of($cookie), '3', '302 commits';

# Roll back on 404 and 500 (DBSessionRollbackStatus 400).
$res = req(GET => '/cgi/echo.pl?set=n%3D4&status=404', cookie => $cookie);
is $res->code, 404, 'a 404 from the handler';
is n_of($cookie), '3', '404 rolls back';
$res = req(GET => '/cgi/echo.pl?set=n%3D5&status=500', cookie => $cookie);
is $res->code, 500, 'a 500 from the handler';
is n_of($cookie), '3', '500 rolls back';
my @leaked = grep { /^X-DBSession/i } $res->headers->header_field_names;
is "@leaked", '', 'write-back headers are removed from error responses too';

# Nothing is created by a response that rolls back: no row, no cookie.
my $rows = db_rows();
$res = req(GET => '/cgi/echo.pl?set=n%3D1&status=500');
is session_cookie($res), undef, 'a rolled-back creation sends no Set-Cookie';
is db_rows(), $rows, 'and leaves no row';
$res = req(GET => '/cgi/echo.pl?set=n%3D1&user=mallory&status=403', cookie => $cookie);
is session_cookie($res), undef, 'a rolled-back user change sends no cookie';
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{DBSESSION_NEW}, '0',
    'and the old ID still works';

# DBSessionRollbackStatus 500: a 404 commits there.
my $custom = session_cookie(req(GET => '/cgi-custom/echo.pl?set=x%3D1'), 'app_sid');
req(GET => '/cgi-custom/echo.pl?set=x%3D2&status=404', cookie => $custom, name => 'app_sid');
is seen(req(GET => '/cgi-custom/echo.pl', cookie => $custom, name => 'app_sid'))->{APP_x},
    '2', 'with DBSessionRollbackStatus 500, a 404 commits';

# Malformed writes: 500, nothing applied, nothing stored.
my $refused_mark = log_mark();
for my $bad ('set=bad-key%3D1', 'set=k%3D%25zz', 'set=novalue', 'unset=a-b',
             'clear=yes') {
    $res = req(GET => "/cgi/echo.pl?set=n%3D9&$bad", cookie => $cookie);
    is $res->code, 500, "malformed write ($bad) answers 500";
}
is n_of($cookie), '3', 'and none of them stored anything';
like $res->content, qr/Internal Server Error/, 'the handler output was replaced';

# Oversized: DBSessionMaxSize 256 in /cgi-small/.
my $small = new_session('/cgi-small', 'a%3D1');
$res = req(GET => '/cgi-small/echo.pl?set=b%3D' . ('x' x 300), cookie => $small);
is $res->code, 500, 'a write over DBSessionMaxSize answers 500';
is seen(req(GET => '/cgi-small/echo.pl', cookie => $small))->{SESSION_b}, undef,
    'and stores nothing';
$res = req(GET => '/cgi-small/echo.pl?set=b%3D' . ('x' x 100), cookie => $small);
is $res->code, 200, 'a write under the limit is fine';

# The error log says why, once per refused write, without the value.
is logged_since($refused_mark, qr/\[dbsession:error\].*DBS040: session write refused/),
    6, 'each refused write is logged once';
is logged_since($refused_mark, qr/DBS040: .*x{300}/), 0, '...without the value';

# X-DBSession-Revoke-Others: the user's other sessions are logged out in
# the same transaction (rolled back with it), this one and other users'
# are kept.
{
    my @alice = map { session_cookie(req(GET => '/cgi/echo.pl?user=alice-rv')) } 1 .. 3;
    my $bob = session_cookie(req(GET => '/cgi/echo.pl?user=bob-rv'));
    my $res = req(GET => '/cgi/echo.pl?revoke_others=1&status=500', cookie => $alice[0]);
    is $res->code, 500, 'Revoke-Others in a failing request';
    is scalar(grep { (seen(req(GET => '/cgi/echo.pl', cookie => $_))->{DBSESSION_USER} // '')
                     eq 'alice-rv' } @alice), 3, 'rolls back: all three sessions live';
    $res = req(GET => '/cgi/echo.pl?revoke_others=1', cookie => $alice[0]);
    is $res->code, 200, 'Revoke-Others';
    ok !exists $res->headers->{'x-dbsession-revoke-others'}, 'the header never reaches the client';
    my @live = grep { (seen(req(GET => '/cgi/echo.pl', cookie => $_))->{DBSESSION_USER} // '')
                      eq 'alice-rv' } @alice;
    ok @live == 1 && $live[0] eq $alice[0]
        && seen(req(GET => '/cgi/echo.pl', cookie => $bob))->{DBSESSION_USER} eq 'bob-rv',
        'logs out the other two, keeps this one and the other user';
}
