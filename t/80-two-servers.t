# Two httpd servers on one database behave as one: a session made on one is
# used on the other, and increments split across both lose nothing.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

plan tests => 10;

my $vars = Apache::Test::vars();
my $dir = "$vars->{t_logs}/server-b";
mkdir $dir;
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')->sockport;
my $mods = $ENV{DBS_MODULES};

# Server B: its own config, the same database and keys as the suite's server.
open my $fh, '>', "$dir/httpd.conf" or die $!;
print $fh <<"CONF";
ServerRoot "$dir"
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule alias_module $mods/mod_alias.so
LoadModule cgid_module $mods/mod_cgid.so
LoadModule dbd_module $mods/mod_dbd.so
LoadModule dbsession_module $ENV{DBS_MODULE}
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
ScriptSock $dir/cgisock
DefaultRuntimeDir $dir
DBDriver $ENV{DBS_DRIVER}
DBDParams "$ENV{DBS_PARAMS}"
DBSessionKey Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA= \\
             AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
ScriptAlias /cgi/ $vars->{t_dir}/cgi-bin/
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
</Location>
CONF
close $fh;
system($vars->{httpd}, '-f', "$dir/httpd.conf", '-k', 'start') == 0
    or die "server B did not start: " . `cat $dir/error_log`;
# Server B goes with the test, whatever happens: its parent by its pid.
sub stop_server_b {
    open my $pf, '<', "$dir/httpd.pid" or return;
    chomp(my $pid = <$pf> // '');
    return unless $pid =~ /^\d+$/;
    kill 'TERM', $pid;
    for (1 .. 100) {
        last unless kill 0, $pid;
        sleep 0.1;
    }
}
END { stop_server_b() }
for (1 .. 50) {
    last if IO::Socket::INET->new("127.0.0.1:$port");
    sleep 0.1;
}
my $b = "http://127.0.0.1:$port";

# B seals with the suite's second key: key rotation across servers too.
my $cookie = new_session('/cgi', 'from%3Da');
is seen(req(GET => "$b/cgi/echo.pl", cookie => $cookie))->{SESSION_from}, 'a',
    'a session made on A is read on B';
my $res = req(GET => "$b/cgi/echo.pl?set=from%3Db");
my $on_b = session_cookie($res);
ok $on_b, 'B creates a session';
$res = req(GET => '/cgi/echo.pl', cookie => $on_b);
is seen($res)->{SESSION_from}, 'b', 'which A reads';

# Key rotation: B sealed with A's second key; A's committing response seals
# the same session again with its first key, and then leaves it alone.
my $resealed = session_cookie($res);
ok $resealed && $resealed ne $on_b, 'A seals a cookie of its second key again';
$res = req(GET => '/cgi/echo.pl', cookie => $resealed);
is seen($res)->{SESSION_from}, 'b', '...for the same session';
ok !defined session_cookie($res), '...once: a cookie of the first key is kept';
is seen(req(GET => "$b/cgi/echo.pl", cookie => $resealed))->{SESSION_from}, 'b',
    '...which B still opens';

# 100 increments split across A and B, in parallel.
my $counter = new_session('/cgi', 'count%3D0');
my @bad = parallel(10, sub {
    my ($i) = @_;
    my $base = $i % 2 ? $b : '';
    my $bad = 0;
    for (1 .. 10) {
        $bad++ unless req(GET => "$base/cgi/counter.sh", cookie => $counter)->code == 200;
    }
    $bad;
});
my $failed = 0;
$failed += $_ for @bad;
is $failed, 0, '100 increments on A and B all answered 200';
is seen(req(GET => '/cgi/echo.pl', cookie => $counter))->{SESSION_count}, '100',
    'the count is exactly 100';

stop_server_b();
open my $log, '<', "$dir/error_log" or die $!;
my @errors = grep { /\[dbsession:(error|crit)\]|segfault|exit signal/ } <$log>;
is scalar(@errors), 0, 'server B logged no error';
