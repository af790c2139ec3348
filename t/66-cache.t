# Shared caches never serve one visitor's page or session cookie to another:
# mod_cache (CacheEnable disk) in front of a session scope. Every response
# there varies by Cookie, a live session's page is private unless the
# handler chose its Cache-Control, and one that sets or clears the cookie
# is private whatever the handler said.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Date qw(time2str);
use lib 't/lib';
use DBSTest;

plan tests => 22;

# mod_cache_disk makes what is below its CacheRoot, not the root itself.
my $root = Apache::Test::vars('t_logs') . '/cache';
-d $root or mkdir $root or die "mkdir $root: $!";

my $n = 0;
# A URL of its own for each case, so that no case sees another's entry.
sub url { my ($query) = @_; $n++; "/cached/echo.pl?case=$n&$query" }
sub hdr { my ($h) = @_; $h =~ s/([^A-Za-z0-9])/sprintf '%%%02X', ord $1/ge; "header=$h" }
my $expires = hdr('Expires: ' . time2str(time + 120));
sub cached { ($_[0]->header('X-Cache') // '') =~ /HIT/ }

# A login on a response the handler calls public: never stored.
my $login = url('user=alice&' . hdr('Cache-Control: public, max-age=60, s-maxage=60'));
my $res = req(GET => $login);
my $alice = session_cookie($res);
ok $alice, 'alice logs in';
is $res->header('Cache-Control'), 'private, max-age=60',
    'a response with the session cookie is private: public and s-maxage go';
like $res->header('Vary') // '', qr/\bCookie\b/, '...and varies by Cookie';
$res = req(GET => $login);
ok !cached($res), 'the next visitor of that URL is not served the cached login';
isnt session_cookie($res) // '', $alice, "...and never gets alice's cookie";

my $bob = session_cookie(req(GET => '/cached/echo.pl?user=bob'));
ok $bob, 'bob logs in';

# A page of a live session that the handler lets expire later, and says
# nothing else about caching.
my $page = url($expires);
$res = req(GET => $page, cookie => $alice);
like $res->content, qr/^DBSESSION_USER=alice$/m, "alice sees her page";
like $res->header('Cache-Control') // '', qr/^private$/, 'it is private';
like $res->header('Vary') // '', qr/\bCookie\b/, '...and varies by Cookie';
$res = req(GET => $page, cookie => $bob);
like $res->content, qr/^DBSESSION_USER=bob$/m, 'bob sees his own, not alice\'s';
ok !cached($res), '...not from the cache';
$res = req(GET => $page);
unlike $res->content, qr/DBSESSION_USER/, 'an anonymous visitor sees no user';
ok !cached($res), '...not from the cache';

# The handler chose Cache-Control itself: kept, and still keyed by Cookie.
my $public = url(hdr('Cache-Control: public, max-age=60'));
$res = req(GET => $public, cookie => $alice);
is $res->header('Cache-Control'), 'public, max-age=60',
    "the handler's own Cache-Control stands when the cookie does not change";
like $res->header('Vary') // '', qr/\bCookie\b/, '...with Vary: Cookie';
$res = req(GET => $public, cookie => $bob);
like $res->content, qr/^DBSESSION_USER=bob$/m, 'bob still gets his own page';
$res = req(GET => $public);
unlike $res->content, qr/DBSESSION_USER=alice/, '...and a visitor without a cookie not alice\'s';

# Anonymous pages: they vary by Cookie too, and stay cacheable.
my $anon = url($expires);
$res = req(GET => $anon);
like $res->header('Vary') // '', qr/\bCookie\b/, 'an anonymous page varies by Cookie';
ok !defined $res->header('Cache-Control'), '...and is not made private';
ok cached(req(GET => $anon)), '...so mod_cache serves the next anonymous visitor';

# Logging out clears the cookie: private, whatever the handler said.
$res = req(GET => url('invalidate=1&' . hdr('Cache-Control: public, max-age=60')),
           cookie => $alice);
like join(' ', $res->header('Set-Cookie')), qr/Max-Age=0/, 'a logout clears the cookie';
is $res->header('Cache-Control'), 'private, max-age=60', '...on a private response';
