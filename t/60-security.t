# Cookie attributes, tampering, fixation, the database's view.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 4 + 31 + 7 + 2 + 6 + 2;

# --- exact attributes, secure by default ---
my $res = req(GET => '/cgi-defaults/echo.pl?set=a%3D1');
my @ours = grep { /^session=/ } set_cookies($res);
is scalar(@ours), 1, 'exactly one Set-Cookie for the session';
like $ours[0], qr/^session=[A-Za-z0-9_-]{102}; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
    'defaults: Path=/, Secure, HttpOnly, SameSite=Lax, no Max-Age';
is $res->header('Cache-Control'), 'private', 'Cache-Control: private';
my $cookie = session_cookie($res);

$res = req(GET => '/cgi-custom/echo.pl?set=a%3D1');
like scalar(set_cookies($res)),
    qr/^app_sid=[A-Za-z0-9_-]{102}; Path=\/cgi-custom\/; Max-Age=600; SameSite=Strict$/,
    'configured attributes: Path, Max-Age, SameSite=Strict, no Secure/HttpOnly';
my $custom = session_cookie($res, 'app_sid');
$res = req(GET => '/cgi-custom/echo.pl?set=a%3D2', cookie => $custom, name => 'app_sid');
is session_cookie($res, 'app_sid') ? 1 : 0, 1,
    'with Max-Age, a write that extends the idle expiry refreshes the cookie';

$res = req(GET => '/cgi/echo.pl?set=a%3D1&header=Cache-Control%3A%20no-store');
is $res->header('Cache-Control'), 'private, no-store',
    "the handler's Cache-Control is kept, made private (t/66-cache.t)";

# --- cookies that do not open are absent, and cleared ---
my $valid = new_session('/cgi', 'secret%3Dyes');
(my $flipped = $valid) =~ s/^(.{50})(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
for my $case (['tampered', $flipped], ['garbage', 'garbage'],
              ['truncated', substr($valid, 0, 60)], ['empty', '']) {
    my ($what, $value) = @$case;
    my $rows = db_rows();
    $res = req(GET => '/cgi/echo.pl', cookie => $value);
    my $seen = seen($res);
    ok !exists $seen->{SESSION_secret} && $seen->{DBSESSION_NEW} eq '1',
        "$what cookie: treated as absent";
    is db_rows(), $rows, "$what cookie: no row created";
}
$res = req(GET => '/cgi/echo.pl', cookie => $flipped);
like scalar(set_cookies($res)), qr/^session=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970/,
    'a cookie that does not open is cleared';

# A cookie sealed for another name does not open under this one.
is seen(req(GET => '/cgi/echo.pl', cookie => $custom))->{DBSESSION_NEW}, '1',
    'the cookie name is authenticated';

# Cookie tossing: the first cookie that opens to a live session wins.
$res = req(GET => '/cgi/echo.pl',
           headers => [Cookie => "session=garbage; other=1; session=$valid"]);
is seen($res)->{SESSION_secret}, 'yes', 'a tossed garbage cookie cannot push out the valid one';

# Many cookies of our name: malformed values are refused without being
# looked up, and one log line tells how many were refused.
my $mark = log_mark();
my @junk = map { "session=junk$_" } 1 .. 12;
$res = req(GET => '/cgi/echo.pl',
           headers => [Cookie => join('; ', ("session=garbage") x 40, @junk)]);
is $res->code, 200, 'a request with 52 bad cookies of our name is answered';
is logged_since($mark, qr/\[dbsession:.*DBS020:/), 1, '...and logged once';
is logged_since($mark, qr/DBS020: rejected 52 cookies that did not open/), 1,
    '...counting every malformed one';

# Cookie tossing: junk values take no place among the 8 considered, so they
# cannot push the real cookie out...
$res = req(GET => '/cgi/echo.pl',
           headers => [Cookie => join('; ', (map { "session=junk$_" } 1 .. 8),
                                      "session=$valid")]);
is seen($res)->{SESSION_secret}, 'yes',
    '8 junk cookies before the real one: the session still loads';
is session_cookie($res), undef, '...and the cookie is left alone';
# ...and when well-formed values beyond the 8 were not looked at, the
# response never clears the cookie (the real one may be among them).
{
    require MIME::Base64;
    my @seals = map {
        my $raw = join '', map { chr int rand 256 } 1 .. 76;
        'session=' . MIME::Base64::encode_base64url($raw)
    } 1 .. 9;
    $res = req(GET => '/cgi/echo.pl',
               headers => [Cookie => join('; ', @seals, "session=$valid")]);
    is $res->code, 200, '9 well-formed unknown seals before the real one: answered';
    ok !grep({ /^session=;/ } set_cookies($res)),
        '...with no Set-Cookie that clears the real cookie';
    is seen(req(GET => '/cgi/echo.pl', cookie => $valid))->{SESSION_secret}, 'yes',
        '...which still opens its session';
    $res = req(GET => '/cgi/echo.pl',
               headers => [Cookie => join('; ', @seals[0 .. 7])]);
    is session_cookie($res), '', '8 unknown seals (all considered) are cleared';
}
$res = req(GET => '/cgi/echo.pl',
           headers => [Cookie => join('; ', ("session=$valid") x 30)]);
is seen($res)->{SESSION_secret}, 'yes', '30 copies of the valid cookie open it once';

# One spelling per seal: a byte outside base64url (libsodium 1.0.18 would
# read 0xFF as '_') makes the cookie one that does not open.
{
    my $one_underscore;
    for (1 .. 50) {
        my $c = new_session('/cgi', 'secret%3Dyes');
        if ($c =~ /_/) { $one_underscore = $c; last }
    }
    (my $high = $one_underscore) =~ s/_/\xff/g;
    is seen(req(GET => '/cgi/echo.pl', cookie => $high))->{DBSESSION_NEW}, '1',
        'a cookie with 0xFF for "_" does not open the session';
}

# --- the CSRF token does not survive a login nor Regenerate ---
{
    my $planted = new_session('/cgi', 'cart%3D1');
    my $before = seen(req(GET => '/cgi/echo.pl', cookie => $planted))->{DBSESSION_CSRF};
    $res = req(GET => '/cgi/echo.pl?user=victim', cookie => $planted);
    my $after_login = session_cookie($res);
    my $token = seen(req(GET => '/cgi/echo.pl', cookie => $after_login))->{DBSESSION_CSRF};
    ok $before && $token && $token ne $before, 'a login replaces the CSRF token';
    $res = req(GET => '/cgi/echo.pl?regenerate=1', cookie => $after_login);
    my $regen_token = seen(req(GET => '/cgi/echo.pl', cookie => session_cookie($res)))
        ->{DBSESSION_CSRF};
    ok $regen_token && $regen_token ne $token, 'Regenerate replaces it too';
}

# --- user names: UTF-8, no C0/C1 controls, line separators or bidi controls, at most 255 bytes ---
{
    my $s = new_session('/cgi', 'u%3D1');
    my $rows = db_rows();
    is req(GET => '/cgi/echo.pl?user=eve%250D%250ASet-Cookie%253A%2520x', cookie => $s)->code,
        500, 'a user name with CR LF is a malformed write: 500';
    is req(GET => '/cgi/echo.pl?user=' . ('a' x 256), cookie => $s)->code, 500,
        'a user name of 256 bytes too';
    is req(GET => '/cgi/echo.pl?user=%25FF%25FE', cookie => $s)->code, 500,
        'and one that is not UTF-8';
    is req(GET => '/cgi/echo.pl?user=eve%25C2%2585', cookie => $s)->code, 500,
        'and one with a C1 control (U+0085)';
    is req(GET => '/cgi/echo.pl?user=eve%25E2%2580%25AEnimda', cookie => $s)->code, 500,
        'and one with a bidi override (U+202E)';
    is req(GET => '/cgi/echo.pl?user=eve%25E2%2580%25A8', cookie => $s)->code, 500,
        'and one with a line separator (U+2028)';
    ok !exists seen(req(GET => '/cgi/echo.pl', cookie => $s))->{DBSESSION_USER}
        && db_rows() == $rows, 'nothing was stored';
}

# A cookie of a key id this server does not hold (a dropped key): refused,
# and told apart from garbage in one notice.
{
    require MIME::Base64;
    my $raw = MIME::Base64::decode_base64url($valid);
    substr($raw, 0, 4) = "\x00\x00\x00\x00";    # a key id of no key we hold
    my $retired = MIME::Base64::encode_base64url($raw);
    my $mark_notices = log_mark();
    is seen(req(GET => '/cgi/echo.pl', cookie => $retired))->{DBSESSION_NEW}, '1',
        'a cookie of an unknown key id opens no session';
    is logged_since($mark_notices, qr/\[dbsession:notice\].*DBS021: 1 cookie sealed with a key this server does not hold/),
        1, '...and is logged once at notice level';
}

# --- fixation: Regenerate and a change of user kill the old ID ---
$res = req(GET => '/cgi/echo.pl?regenerate=1', cookie => $valid);
my $regen = session_cookie($res);
ok $regen && $regen ne $valid, 'Regenerate sends a cookie for a new ID';
is seen(req(GET => '/cgi/echo.pl', cookie => $valid))->{DBSESSION_NEW}, '1',
    'the old ID stops working';
is seen(req(GET => '/cgi/echo.pl', cookie => $regen))->{SESSION_secret}, 'yes',
    'the data is kept';

# --- Invalidate ---
my $rows = db_rows();
$res = req(GET => '/cgi/echo.pl?invalidate=1', cookie => $regen);
is session_cookie($res), '', 'Invalidate clears the cookie';
is db_rows(), $rows - 1, 'and deletes the row';
$res = req(GET => '/cgi/echo.pl?invalidate=1&set=fresh%3D1', cookie => $cookie);
my $fresh = session_cookie($res);
ok $fresh && $fresh ne $cookie, 'Invalidate + Set starts a fresh session';
my $seen = seen(req(GET => '/cgi/echo.pl', cookie => $fresh));
ok $seen->{SESSION_fresh} && !exists $seen->{SESSION_a}, 'holding only the new data';

# --- the database holds hashes, never IDs or cookies ---
my $hashes = db_scalar("SELECT id_hash FROM dbsession");
unlike $hashes, qr/\Q$fresh\E/, 'the cookie value is not stored';
is db_scalar("SELECT count(*) FROM dbsession WHERE length(id_hash) <> 64"), '0',
    'every row is keyed by a 64-hex-digit hash';

# A Secure cookie without a __Host- name: one notice per scope at startup
# (/cgi-defaults/ is the suite's only Secure scope).
{
    open my $fh, '<', 't/logs/error_log' or die $!;
    my @startup;
    while (<$fh>) {
        last if /resuming normal operations/;
        push @startup, $_ if /DBS005/;
    }
    is scalar(grep { /\[dbsession:notice\].*DBS005: DBSessionCookieName session has no __Host- prefix.*extra\.conf:\d+/ } @startup),
        1, 'a Secure cookie without __Host-: one startup notice naming the scope';
    is scalar(grep { /__Host-sid has/ } @startup), 0, '...and none for a __Host- name';
}

# --- our log lines never carry a cookie value (httpd's own trace levels
# dump headers, so only mod_dbsession's lines are looked at) ---
open my $log, '<', 't/logs/error_log' or die $!;
my $text = join '', grep { /\[dbsession:/ } <$log>;
like $text, qr/DBS020: rejected 1 cookie that did not open \(fingerprint of the first [0-9a-f]{8}\)/,
    'rejected cookies are logged by fingerprint';
ok index($text, $valid) < 0 && index($text, $flipped) < 0 && index($text, $fresh) < 0,
    'no cookie value in the error log';
