# Renewal (DBSessionRenewalTimeout): the next committing response past the
# timeout carries a new ID with the same data; the old ID works until the
# new one comes back and for 60 s after that; then it is a violation.
# Time passes by moving the row's renewed_at / prev_until back.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 27 + 14;

my $base = '/cgi-renew';
sub tagged { "WHERE session_data LIKE '%tag=$_[0]%'" }
sub row_of { 'FROM dbsession ' . tagged($_[0]) }
sub age_renewal {
    my ($tag, $seconds) = @_;
    db_scalar("UPDATE dbsession SET renewed_at = renewed_at - $seconds "
              . tagged($tag));
}
sub visit {
    my ($cookie, $query) = @_;
    return req(GET => "$base/echo.pl" . ($query ? "?$query" : ''),
               cookie => $cookie);
}

# Before the timeout: no new ID.
my $old = new_session($base, 'tag%3Dr1%26n%3D1');
my $res = visit($old);
is session_cookie($res), undef, 'no new cookie before the renewal timeout';
my $token = seen($res)->{DBSESSION_CSRF};

# Past it: a new ID, same data and CSRF token, one row.
age_renewal('r1', 121);
$res = visit($old);
my $new = session_cookie($res);
ok $new && $new ne $old, 'the next response carries a new ID';
is seen($res)->{SESSION_n}, '1', 'the data came along';
is db_scalar('SELECT count(*) ' . row_of('r1')), '1', 'still one row';
$res = visit($new);
is seen($res)->{SESSION_tag}, 'r1', 'the new ID opens the session';
is seen($res)->{DBSESSION_CSRF}, $token, 'the CSRF token is kept (open forms work)';
is session_cookie($res), undef, 'no further cookie once it came back';
ok db_scalar('SELECT prev_until ' . row_of('r1')) > time,
    'the old ID got its grace when the new one came back';

# Within the grace the old ID still works, writes included, and gets no
# cookie (it would replace the new one in the browser).
$res = visit($old, 'set=n%3D2');
is seen($res)->{DBSESSION_NEW}, '0', 'the old ID works within its grace';
is session_cookie($res), undef, '...without a cookie';
is seen(visit($new))->{SESSION_n}, '2', 'its write is the session\'s';

# After the grace: a violation, logged once as a warning; the new ID lives.
db_scalar('UPDATE dbsession SET prev_until = ' . (time - 1) . ' ' . tagged('r1'));
my $mark = log_mark();
$res = visit($old);
is seen($res)->{DBSESSION_NEW}, '1', 'after the grace the old ID is unknown';
is session_cookie($res), '', '...and its cookie is cleared';
is logged_since($mark, qr/\[dbsession:warn\].*DBS022: renewal violation/), 1,
    'the violation is logged once, as a warning';
is logged_since($mark, qr/\[dbsession:.*(?:\Q$old\E|\Q$new\E)/), 0,
    'our log lines carry no cookie value';
is seen(visit($new))->{SESSION_tag}, 'r1', 'the new ID still works';

# 16 parallel requests with the old cookie past the timeout: one new ID,
# no lost update, nobody logged out.
my $par = new_session("$base", 'tag%3Dr2');
age_renewal('r2', 121);
my @out = parallel(16, sub {
    my $r = req(GET => "$base/counter.sh", cookie => $par);
    return join ' ', $r->code, session_cookie($r) // '-';
});
is scalar(grep { /^200 / } @out), 16, '16 parallel requests past renewal: all 200';
my %issued = map { (split ' ')[1] => 1 } grep { !/ -$/ } @out;
is scalar(keys %issued), 1, 'exactly one new ID was issued';
my ($par_new) = keys %issued;
is seen(visit($par_new))->{SESSION_count}, '16', 'no update was lost';
is seen(visit($par))->{SESSION_tag}, 'r2', 'the old cookie still works';

# A response that rolls back renews nothing.
my $rb = new_session($base, 'tag%3Dr3');
age_renewal('r3', 121);
$res = visit($rb, 'status=500');
is session_cookie($res), undef, 'a rolled-back response carries no new ID';
$res = visit($rb);
ok session_cookie($res) && session_cookie($res) ne $rb,
    'the next committing one does';

# A lost response: after 60 s without the new ID coming back, the old one
# gets another; the lost one dies.
my $lost_old = new_session($base, 'tag%3Dr4');
age_renewal('r4', 121);
my $lost = session_cookie(visit($lost_old));
age_renewal('r4', 61);
$res = visit($lost_old);
my $again = session_cookie($res);
ok $again && $again ne $lost && $again ne $lost_old,
    'the old ID gets a fresh one when the first never came back';
is seen(visit($lost))->{DBSESSION_NEW}, '1', 'the lost one is dead';
is seen(visit($again))->{SESSION_tag}, 'r4', 'the fresh one works';

# Regenerate kills the old ID at once, grace or not, and that is no
# violation.
my $rg = new_session($base, 'tag%3Dr5');
age_renewal('r5', 121);
my $rg_new = session_cookie(visit($rg));
visit($rg_new, 'regenerate=1');
$mark = log_mark();
is seen(visit($rg))->{DBSESSION_NEW}, '1', 'Regenerate ended the old ID\'s grace';
is logged_since($mark, qr/DBS022/), 0, '...which is no violation';

# A session with a user, renewed, the new ID back: the old one is in its
# grace. Returns (old, new).
sub renewed_with_user {
    my ($tag) = @_;
    my $login = session_cookie(req(GET => "$base/echo.pl?set=tag%3D$tag&user=u$tag"));
    age_renewal($tag, 121);
    my $renewed = session_cookie(visit($login));
    visit($renewed);    # it came back: the old ID's grace starts
    return ($login, $renewed);
}

# Revoke-Others, Invalidate and a change of user end the grace at once.
{
    my ($o, $n) = renewed_with_user('r6');
    is seen(visit($o))->{DBSESSION_NEW}, '0', 'in its grace the old ID works';
    visit($n, 'revoke_others=1');
    $mark = log_mark();
    is seen(visit($o))->{DBSESSION_NEW}, '1', 'Revoke-Others ended the old ID\'s grace';
    is seen(visit($n))->{SESSION_tag}, 'r6', '...the current ID still works';
    is logged_since($mark, qr/DBS022/), 0, '...and that is no violation';

    ($o, $n) = renewed_with_user('r7');
    my $after = session_cookie(visit($n, 'user=someone_else'));
    is seen(visit($o))->{DBSESSION_NEW}, '1', 'a change of user ended it';
    is seen(visit($after))->{DBSESSION_USER}, 'someone_else', '...the new login works';

    ($o, $n) = renewed_with_user('r8');
    visit($n, 'invalidate=1');
    is seen(visit($o))->{DBSESSION_NEW}, '1', 'Invalidate ended it';
}

# A new ID that never came back is replaced once; the renewed-away ID
# presented again after that is a violation, not another new session (a
# stolen pre-renewal cookie replayed later cannot take the session over).
{
    my $first = new_session($base, 'tag%3Dr9');
    age_renewal('r9', 121);
    my $lost1 = session_cookie(visit($first));
    age_renewal('r9', 61);
    my $lost2 = session_cookie(visit($first));
    ok $lost2 && $lost2 ne $lost1, 'a lost new ID is replaced once';
    age_renewal('r9', 61);
    $mark = log_mark();
    $res = visit($first);
    is seen($res)->{DBSESSION_NEW}, '1', 'a second replacement is refused';
    ok !session_cookie($res), '...no new ID for it';
    is logged_since($mark, qr/\[dbsession:warn\].*DBS022: renewal violation/), 1,
        '...logged as a renewal violation';
}

# A logout in a response that rolls back is rolled back too, and says so.
{
    my $s = new_session($base, 'tag%3Dr10');
    $mark = log_mark();
    visit($s, 'invalidate=1&status=500');
    visit($s, 'revoke_others=1&status=503');
    is seen(visit($s))->{SESSION_tag}, 'r10', 'a rolled-back Invalidate leaves the session';
    is logged_since($mark, qr/\[dbsession:notice\].*DBS071: .*X-DBSession-Invalidate.*rolled back/),
        1, '...and a notice says the logout was rolled back';
    is logged_since($mark, qr/\[dbsession:notice\].*DBS071: .*X-DBSession-Revoke-Others.*rolled back/),
        1, '...and so for a rolled-back Revoke-Others';
}
