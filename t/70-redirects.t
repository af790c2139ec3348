# Internal redirects, ErrorDocument and subrequests share the initial
# request's session and transaction.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 13;

my $cookie = new_session('/cgi', 'k%3Dkept');

# A CGI's local Location: an internal redirect to another CGI.
my $res = req(GET => '/cgi/echo.pl?set=r%3D1&location=/cgi/echo.pl%3Ffrom%3Dcgi',
              cookie => $cookie);
is $res->code, 200, 'a CGI local redirect';
my $seen = seen($res);
is $seen->{SESSION_k}, 'kept', 'the redirected request has the session';
is $seen->{SESSION_r}, '1', "and sees the first CGI's write";
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_r}, '1',
    'which is committed';

# A new session created before a local redirect: the cookie still comes.
$res = req(GET => '/cgi/echo.pl?set=n%3D1&location=/cgi/echo.pl');
my $fresh = session_cookie($res);
ok $fresh, 'a session created before a local redirect sends its cookie';
is seen(req(GET => '/cgi/echo.pl', cookie => $fresh))->{SESSION_n}, '1',
    'and holds the data';

# mod_rewrite [PT] into the scope.
is seen(req(GET => '/rw/echo.pl', cookie => $cookie))->{SESSION_k}, 'kept',
    'mod_rewrite [PT] keeps the session';

# ErrorDocument: the error page sees the session; the request rolls back
# and the user is not logged out.
$res = req(GET => '/cgi/no-such-script.pl', cookie => $cookie);
is $res->code, 404, 'a 404 with an ErrorDocument CGI';
$seen = seen($res);
is $seen->{SESSION_k}, 'kept', 'the ErrorDocument page sees the session';
is session_cookie($res), undef, 'and the cookie is left alone';

# Subrequests: SSI include, and mod_dir's index lookup.
$res = req(GET => '/ssi/page.shtml', cookie => $cookie);
like $res->content, qr/page sees k=kept/, 'SSI sees the session';
like $res->content, qr/^SESSION_k=kept$/m, 'an SSI-included CGI (subrequest) too';
$res = req(GET => '/dirapp/?set=d%3D1', cookie => $cookie);
is seen(req(GET => '/cgi/echo.pl', cookie => $cookie))->{SESSION_d}, '1',
    'a DirectoryIndex CGI reads and writes the session';
