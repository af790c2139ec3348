# Round trips through real handlers: a shell CGI, a Perl CGI, PHP (php-cgi).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 47;

# --- shell CGI counter: SESSION_count in, X-DBSession-Set out ---
my $rows = db_rows();
my $res = req(GET => '/cgi/counter.sh');
is $res->content, "count=1\n", 'sh: first visit counts 1';
my $cookie = session_cookie($res);
ok $cookie, 'sh: the first write creates the session and sets the cookie';
is db_rows(), $rows + 1, 'one row more';
$res = req(GET => '/cgi/counter.sh', cookie => $cookie);
is $res->content, "count=2\n", 'sh: the next request sees the stored value';
is session_cookie($res), undef, 'no new cookie for an existing session';
$res = req(GET => '/cgi/counter.sh', cookie => $cookie);
is $res->content, "count=3\n", 'sh: and again';

# --- Perl CGI: every variable, several keys, encoding ---
$res = req(GET => '/cgi/echo.pl?set=a%3D1%26b%3Dx%2By%2520z&set=c%3D%252C%2520',
           cookie => $cookie);
is $res->code, 200, 'several Set headers';
my $seen = seen(req(GET => '/cgi/echo.pl', cookie => $cookie));
is $seen->{SESSION_a}, '1', 'SESSION_a';
is $seen->{SESSION_b}, 'x y z', 'SESSION_b decoded (+ and %20)';
is $seen->{SESSION_c}, ', ', 'SESSION_c decoded (%2C)';
is $seen->{SESSION_count}, '3', 'the sh counter value is shared';
is $seen->{DBSESSION_NEW}, '0', 'DBSESSION_NEW=0 with a valid cookie';
like $seen->{DBSESSION_CREATED}, qr/^\d{10}$/, 'DBSESSION_CREATED in Unix seconds';
ok $seen->{DBSESSION_EXPIRES} > $seen->{DBSESSION_CREATED}, 'DBSESSION_EXPIRES after creation';
like $seen->{DBSESSION_CSRF}, qr/^[A-Za-z0-9_-]{43}$/, 'DBSESSION_CSRF made with the session';

$res = req(GET => '/cgi/echo.pl?unset=a%26b&user=alice%2540example.org',
           cookie => $cookie);
my $c2 = session_cookie($res);
ok $c2 && $c2 ne $cookie, 'a change of user sends a cookie for a new ID';
$res = req(GET => '/cgi/echo.pl', cookie => $cookie);
is seen($res)->{DBSESSION_NEW}, '1', 'the old ID is dead at once';
$res = req(GET => '/cgi/echo.pl', cookie => $c2);
ok !defined session_cookie($res), 'reading sets no cookie';
$seen = seen($res);
is $seen->{DBSESSION_USER}, 'alice@example.org', 'DBSESSION_USER, decoded';
is_deeply [grep { /^SESSION_/ } sort keys %$seen], [qw(SESSION_c SESSION_count)],
    'Unset removed a and b, the rest is kept';
req(GET => '/cgi/echo.pl?set=k%3Dv', cookie => $c2);

# --- the write-back headers never reach the client ---
$res = req(GET => '/cgi/echo.pl?set=z%3D1&flash=hi&header=X-DBSession-Unset%3A%20q',
           cookie => $c2);
my @leaked = grep { /^X-DBSession/i } $res->headers->header_field_names;
is "@leaked", '', 'no X-DBSession-* header in the response';
is seen(req(GET => '/cgi/echo.pl', cookie => $c2))->{DBSESSION_FLASH}, 'hi',
    'a flash message is exposed once';
ok !exists seen(req(GET => '/cgi/echo.pl', cookie => $c2))->{DBSESSION_FLASH},
    '...and consumed';

# --- the request notes reach mod_log_config ---
req(GET => '/cgi/echo.pl?notes=1', cookie => $c2);
my $line;
for (1 .. 20) {   # the log line is written just after the response went out
    open my $notes, '<', 't/logs/notes_log' or die "notes_log: $!";
    ($line) = grep { m{^/cgi/echo\.pl user=alice\@example\.org k=v$} } <$notes>;
    last if $line;
    select undef, undef, undef, 0.1;
}
is $line, "/cgi/echo.pl user=alice\@example.org k=v\n",
    'notes dbsession-user and dbsession:<key> in the access log';

# --- a client cannot fake the variables ---
$res = req(GET => '/cgi/echo.pl', cookie => $c2, headers => [
    'SESSION_k' => 'evil', 'Session-K' => 'evil', 'DBSESSION_USER' => 'root',
    'DBSession-User' => 'root', 'X-DBSession-Set' => 'k=evil',
    'X-DBSession-User' => 'root']);
$seen = seen($res);
is $seen->{SESSION_k}, 'v', 'request headers do not become SESSION_*';
is $seen->{DBSESSION_USER}, 'alice@example.org', 'nor DBSESSION_USER';
is seen(req(GET => '/cgi/echo.pl', cookie => $c2))->{SESSION_k}, 'v',
    'a request X-DBSession-Set header writes nothing';

# --- PHP ---
# The PHP helper, examples/php/DBSession.php: several writes in one
# response (each its own header) and their encodings.
$res = req(GET => '/php/helper.php?write=1');
my $helper = session_cookie($res);
ok $helper, 'php helper: its writes create the session';
my $saw = seen(req(GET => '/php/helper.php', cookie => $helper));
is $saw->{data_a}, 'one, two', 'php helper: each Set is kept, commas intact';
is $saw->{data_b}, "caf\xc3\xa9 & more=less", '...and &, = and UTF-8';
ok !exists $saw->{data_gone}, '...Unset after Set: gone';
is $saw->{flash}, 'Saved, thanks', '...the flash message';
is $saw->{csrf_field}, 'yes', '...the CSRF field';
$res = req(GET => '/php/helper.php?login=zo%C3%AB', cookie => $helper);
$saw = seen(req(GET => '/php/helper.php', cookie => session_cookie($res) // $helper));
is $saw->{user}, "zo\xc3\xab", 'php helper: login';
like req(GET => '/php/helper.php?badkey=1')->content, qr/^refused=1$/m,
    'php helper: a key the module would refuse is refused in PHP';

$res = req(GET => '/php/cart.php?add=apple');
is $res->code, 200, 'php: answers';
my $php = session_cookie($res);
ok $php, 'php: the first write sets the cookie';
$res = req(GET => '/php/cart.php?add=pear', cookie => $php);
like $res->content, qr/^cart=apple,pear$/m, 'php: reads and writes the session';
$res = req(GET => '/php/cart.php?login=carol', cookie => $php);
my $php2 = session_cookie($res);
ok $php2 && $php2 ne $php, 'php: login rotates the ID';
$res = req(GET => '/php/cart.php', cookie => $php2);
like $res->content, qr/^user=carol$/m, 'php: DBSESSION_USER';
like $res->content, qr/^cart=apple,pear$/m, 'php: data kept across login';
$res = req(GET => '/php/cart.php?logout=1', cookie => $php2);
is session_cookie($res), '', 'php: logout clears the cookie';
like $res->content, qr/^new=0$/m, 'php: the logout request still saw its session';
$res = req(GET => '/php/cart.php', cookie => $php2);
like $res->content, qr/^new=1$/m, 'php: after logout the cookie is dead';
like $res->content, qr/^cart=$/m, 'php: and the cart empty';

# --- the renamed cookie and prefix of another scope ---
$res = req(GET => '/cgi-custom/echo.pl?set=x%3D1');
my $custom = session_cookie($res, 'app_sid');
ok $custom, 'DBSessionCookieName';
is seen(req(GET => '/cgi-custom/echo.pl', cookie => $custom, name => 'app_sid'))
    ->{APP_x}, '1', 'DBSessionEnvPrefix';
