# PHP behind php-fpm through mod_proxy_fcgi (SetHandler "proxy:unix:...|
# fcgi://localhost"), as Debian's php8.2-fpm is deployed: this test starts
# its own php-fpm, unprivileged, in the foreground, with a private
# configuration and a unix socket under t/logs. The session reaches PHP
# as FastCGI parameters ($_SERVER, getenv: SESSION_*, DBSESSION_*),
# header() writes it back (stored, never sent to the client), and with
# DBSessionRequestHeaders Off no DBSession-* request header arrives.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

plan tests => 16;

my $fpm = '/usr/sbin/php-fpm8.2';
-x $fpm or die "$fpm is missing (scripts/deps test installs php8.2-fpm)";
my $vars = Apache::Test::vars();
my $dir = "$vars->{t_logs}/fpm";
my $sock = "$vars->{t_logs}/php-fpm.sock";
mkdir $dir;
unlink $sock;
open my $fh, '>', "$dir/php-fpm.conf" or die "$dir/php-fpm.conf: $!";
print $fh <<"CONF";
[global]
pid = $dir/php-fpm.pid
error_log = $dir/php-fpm.log
daemonize = no

[dbsession]
listen = $sock
pm = static
pm.max_children = 2
catch_workers_output = yes
CONF
close $fh;
my $pid = fork // die "fork: $!";
if (!$pid) {
    open STDOUT, '>>', "$dir/php-fpm.log";
    open STDERR, '>&', \*STDOUT;
    exec $fpm, '-F', '-y', "$dir/php-fpm.conf" or die "exec $fpm: $!";
}
END { if ($pid) { local $?; kill 'QUIT', $pid; waitpid $pid, 0 } }
for (1 .. 100) {
    last if -S $sock;
    sleep 0.1;
}
-S $sock or die "php-fpm did not make $sock: " . `cat $dir/php-fpm.log`;

my $res = req(GET => '/fpm/session.php');
is $res->code, 200, 'php-fpm answers through mod_proxy_fcgi';
my $saw = seen($res);
is $saw->{sapi}, 'fpm-fcgi', '...it is php-fpm that answers';
is $saw->{DBSESSION_NEW}, '1', 'DBSESSION_NEW reaches PHP: no session yet';
is session_cookie($res), undef, 'reading creates nothing';

# header() writes: two values (the second with header()'s $replace false).
$res = req(GET => '/fpm/session.php?set=cart%3Dapple&set2=n%3D1');
my $cookie = session_cookie($res);
ok $cookie, 'an X-DBSession-Set from header() creates the session';
ok !defined $res->header('X-DBSession-Set'), '...and never reaches the client';

$saw = seen(req(GET => '/fpm/session.php', cookie => $cookie,
                headers => ['DBSession-User' => 'mallory', 'DBSession-Data' => 'x=1']));
is $saw->{SESSION_cart}, 'apple', 'SESSION_cart reaches PHP';
is $saw->{SESSION_n}, '1', '...and SESSION_n: both header() writes were stored';
is $saw->{DBSESSION_NEW}, '0', 'DBSESSION_NEW: 0 with the cookie';
like $saw->{DBSESSION_CSRF}, qr/^[A-Za-z0-9_-]{43}$/, 'DBSESSION_CSRF reaches PHP';
like $saw->{DBSESSION_CREATED}, qr/^\d+$/, 'DBSESSION_CREATED too';
is scalar(grep { /^HTTP_DBSESSION/ } keys %$saw), 0,
    'DBSessionRequestHeaders Off: no DBSession-* request header, forged or real';

# The helper's login (X-DBSession-User from PHP): a new ID, the user stored.
$res = req(GET => '/fpm/session.php?login=fpm_alice', cookie => $cookie);
my $new = session_cookie($res);
ok $new && $new ne $cookie, 'a login through php-fpm rotates the ID';
$saw = seen(req(GET => '/fpm/session.php', cookie => $new));
is $saw->{DBSESSION_USER}, 'fpm_alice', 'DBSESSION_USER in $_SERVER';
is $saw->{getenv_user}, 'fpm_alice', '...and through getenv()';
is db_scalar("SELECT count(*) FROM dbsession WHERE user_name = 'fpm_alice'"), '1',
    'the user is stored';
