# README's key rotation procedure, followed step by step on a server of its
# own (DBSessionKeyFile, graceful restarts): add the new key second, reload;
# move it first, reload (cookies of the old key are sealed again with the
# new one); wait; drop the old key, reload. Nobody who came back in between
# is logged out; a cookie still of the dropped key opens nothing and is
# logged once at notice level (DBS021).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 16;

my $OLD = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
my $NEW = 'ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=';
my $keys;
sub write_keys {
    open my $fh, '>', $keys or die "$keys: $!";
    print $fh "# rotation test\n", map { "$_\n" } @_;
    close $fh;
    chmod 0600, $keys;
}
# Which of the key file's keys opens a cookie (dbsessionctl cookie).
sub opened_by {
    my ($cookie) = @_;
    my $out = `./dbsessionctl cookie -k $keys '$cookie' 2>&1`;
    return $out =~ /^opens with key (\d) of (\d)/m ? "$1 of $2" : 'none';
}

$keys = Apache::Test::vars()->{t_logs} . '/rotation.keys';
write_keys($OLD);
my $base = start_server('rotation', <<"CONF");
DBSessionKeyFile $keys
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
</Location>
CONF
my $url = "$base/cgi/echo.pl";
my $comes_back = new_session("$base/cgi", 'who%3Dback');
my $stays_away = new_session("$base/cgi", 'who%3Daway');
is opened_by($comes_back), '1 of 1', 'before: cookies of the old key';

# 1. The new key second, reload: both open, the old one still seals.
write_keys($OLD, $NEW);
reload_server('rotation');
my $res = req(GET => $url, cookie => $comes_back);
is seen($res)->{SESSION_who}, 'back', 'step 1: old cookies still open';
is session_cookie($res), undef, '...and are left alone (the old key is first)';
my $made_in_1 = new_session("$base/cgi", 'who%3Dstep1');
is opened_by($made_in_1), '1 of 2', '...new sessions are still sealed with it';

# 2. The new key first, reload: the next committing response of each
# returning session seals its cookie again with the new key.
write_keys($NEW, $OLD);
reload_server('rotation');
$res = req(GET => $url, cookie => $comes_back);
is seen($res)->{SESSION_who}, 'back', 'step 2: an old cookie opens';
my $resealed = session_cookie($res);
ok $resealed && $resealed ne $comes_back, '...and comes back sealed again';
is opened_by($resealed), '1 of 2', '...with the new key';
is opened_by($comes_back), '2 of 2', '(the old value was of the old key)';
$res = req(GET => $url, cookie => $resealed);
is seen($res)->{SESSION_who}, 'back', '...the same session';
is session_cookie($res), undef, '...sealed once: then left alone';
my $made_in_2 = session_cookie(req(GET => "$url?set=who%3Dstep2"));
is opened_by($made_in_2), '1 of 2', 'new sessions get the new key';

# 3. (After the wait) drop the old key, reload.
write_keys($NEW);
reload_server('rotation');
is seen(req(GET => $url, cookie => $resealed))->{SESSION_who}, 'back',
    'step 3: who came back is still logged in';
is seen(req(GET => $url, cookie => $made_in_2))->{SESSION_who}, 'step2',
    '...and so is every session made since step 2';
my $log = server_dir('rotation') . '/error_log';
my $mark = -s $log;
$res = req(GET => $url, cookie => $stays_away);
is seen($res)->{DBSESSION_NEW}, '1',
    'a cookie still of the dropped key opens nothing';
open my $fh, '<', $log or die $!;
seek $fh, $mark, 0;
my @notices = grep { /\[dbsession:notice\].*DBS021: 1 cookie sealed with a key this server does not hold/ } <$fh>;
is scalar(@notices), 1, '...logged once, at notice level (DBS021)';
is session_cookie($res), '', '...and its cookie is cleared';
