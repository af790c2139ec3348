# mod_dbd hands out at most DBDMax connections per child and waits for a
# free one without any deadline: a session waits for one at most
# DBSessionLockTimeout, then answers 503 with Retry-After (DBS036), and
# apachectl warns when DBDMax is below ThreadsPerChild (DBS004). A private
# server: one child, 8 threads, DBDMax 2, a lock timeout of 1 second, and
# two sessions whose CGI holds its connection for 4 seconds.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

plan tests => 6;

my $base = start_server('pool', <<'CONF');
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
DBDMax 2
DBDKeep 2
DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
    DBSessionLockTimeout 1
</Location>
CONF
my $dir = server_dir('pool');
my $httpd = Apache::Test::vars()->{httpd};
like scalar(qx{$httpd -t -f $dir/httpd.conf 2>&1}),
    qr/DBS004: DBDMax 2 is below ThreadsPerChild 8/,
    'apachectl -t warns that DBDMax is below ThreadsPerChild';

# Two sleeping requests take both connections; a third session comes.
my $pid = fork // die "fork: $!";
if (!$pid) {
    parallel(2, sub { req(GET => "$base/cgi/echo.pl?set=s%3D1&sleep=4")->code });
    require POSIX;
    POSIX::_exit(0);
}
sleep 1.5;
my $res = req(GET => "$base/cgi/echo.pl?set=t%3D1");
is $res->code, 503, 'a third session while both connections are held: 503';
like $res->header('Retry-After') // '', qr/^\d+$/, '...with Retry-After';
ok !defined session_cookie($res), '...and no cookie';
waitpid $pid, 0;
my $log = do { local (@ARGV, $/) = "$dir/error_log"; <> };
like $log, qr/DBS036: no pooled connection came free within DBSessionLockTimeout \(1s\)/,
    '...logged as such';
is req(GET => "$base/cgi/echo.pl?set=t%3D2")->code, 200,
    'once they are given back, sessions get connections again';
