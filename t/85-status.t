# The status handler: server-wide counters in shared memory, as an HTML
# page, ?auto (mod_status's "Key: value") and ?metrics (Prometheus), each
# counter checked by the exact change that known traffic makes; the
# counters survive a graceful restart.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use lib 't/lib';
use DBSTest;

plan tests => 29;

sub counters {
    my $res = req(GET => '/dbsession-status?auto');
    die 'status: ' . $res->status_line unless $res->code == 200;
    return { map { /^(\w+): (\S+)$/ ? ($1 => $2) : () } split /\n/, $res->content };
}
# What changed between two readings.
sub delta {
    my ($before, $after, $key) = @_;
    return $after->{$key} - $before->{$key};
}

# The three renderings.
my $res = req(GET => '/dbsession-status');
is $res->code, 200, 'the status page answers';
like $res->header('Content-Type'), qr{^text/html}, '...in HTML by default';
like $res->content, qr{<th>SessionsLoaded</th>}, '...with the counters';
$res = req(GET => '/dbsession-status?auto');
like $res->header('Content-Type'), qr{^text/plain}, '?auto is plain text';
like $res->content, qr/^Uptime: \d+$/m, '...in "Key: value" lines';
$res = req(GET => '/dbsession-status?metrics');
like $res->header('Content-Type'), qr{^text/plain; version=0\.0\.4},
    '?metrics is the Prometheus text format';
my @lines = split /\n/, $res->content;
is scalar(grep { !/^# (HELP|TYPE) dbsession_\w+ \S/ && !/^dbsession_\w+(\{le="[^"]+"\})? [0-9.]+$/ } @lines),
    0, 'every metrics line is a HELP/TYPE comment or a dbsession_ sample';
like $res->content, qr/^# TYPE dbsession_commits_total counter$/m,
    'counters are typed counter, named _total';
like $res->content, qr/^dbsession_database_seconds_bucket\{le="\+Inf"\} \d+$/m,
    'database time is a histogram';
is req(POST => '/dbsession-status', content => 'x')->code, 405,
    'only GET (and HEAD)';

# Sessions made and loaded, served by whichever child: the counters add up
# over all of them.
my $before = counters();
my $cookie = new_session('/cgi', 'st%3D1');
my $mark = -s 't/logs/pid_log';
parallel(8, sub {
    my $r;
    $r = req(GET => '/cgi/echo.pl', cookie => $cookie) for 1 .. 3;
    return $r->code;
});
my $after = counters();
is delta($before, $after, 'SessionsCreated'), 1, 'one session created';
is delta($before, $after, 'SessionsLoaded'), 24, '24 requests loaded it';
is delta($before, $after, 'Commits'), 25, 'each request committed';
is delta($before, $after, 'DatabaseRequests'), 25,
    'each request counted its database time';
open my $pids, '<', 't/logs/pid_log' or die $!;
seek $pids, $mark, 0;
my %served_by = map { (split)[0] => 1 } grep { m{ /cgi/echo\.pl$} } <$pids>;
ok keys(%served_by) >= 2,
    'the requests were served by ' . keys(%served_by) . ' child processes';

# Rollbacks, rejected cookies, CSRF failures, renewal violations.
$before = counters();
req(GET => '/cgi/echo.pl?status=500&set=x%3D1', cookie => $cookie);
req(GET => '/cgi/echo.pl', cookie => 'AAAAgarbage');
req(POST => '/cgi-csrf/echo.pl', cookie => $cookie,
    headers => ['Content-Type' => 'application/x-www-form-urlencoded'],
    content => 'a=1');
my $old = new_session('/cgi-renew', 'tag%3Dst');
my $new = session_cookie(do {
    db_scalar("UPDATE dbsession SET renewed_at = renewed_at - 121 WHERE session_data LIKE '%tag=st%'");
    req(GET => '/cgi-renew/echo.pl', cookie => $old);
});
req(GET => '/cgi-renew/echo.pl', cookie => $new);
db_scalar('UPDATE dbsession SET prev_until = 1 WHERE session_data LIKE \'%tag=st%\'');
req(GET => '/cgi-renew/echo.pl', cookie => $old);
$after = counters();
is delta($before, $after, 'Rollbacks'), 2, 'the 500 and the 403 rolled back';
is delta($before, $after, 'CookiesRejected'), 1, 'the garbage cookie was rejected';
is delta($before, $after, 'CSRFFailures'), 1, 'the POST without a token failed the check';
is delta($before, $after, 'SessionsRenewed'), 1, 'one renewal';
is delta($before, $after, 'RenewalViolations'), 1, 'one renewal violation';

# A session busy longer than its lock timeout (1 s in /cgi-lock/): one
# request waits and times out; one waits and gets it.
my $busy = new_session('/cgi-lock', 'b%3D1');
$before = counters();
my @codes = parallel(3, sub {
    my ($i) = @_;
    select undef, undef, undef, 0.3 if $i > 1;
    return req(GET => '/cgi-lock/echo.pl?sleep=' . ($i == 1 ? 2 : 0),
               cookie => $busy)->code;
});
$after = counters();
is join(' ', sort @codes), '200 503 503', 'a 2 s holder: both waiters time out';
is delta($before, $after, 'LockTimeouts'), 2, '...counted as lock timeouts';
ok delta($before, $after, 'LockWaits') >= 2, '...after waiting';

# A database failure.
my $server = $ENV{DBS_DRIVER} ne 'sqlite3';
$before = counters();
if ($server) { db_server('stop') }
else { db_scalar('ALTER TABLE dbsession RENAME TO dbsession_away') }
is req(GET => '/cgi/echo.pl', cookie => $cookie)->code, 503,
    'the database is away: 503';
if ($server) { db_server('start') }
else { db_scalar('ALTER TABLE dbsession_away RENAME TO dbsession') }
$after = counters();
is delta($before, $after, 'DatabaseErrors'), 1, '...counted as a database error';
is req(GET => '/cgi/echo.pl', cookie => $cookie)->code, 200, 'and it is back';

# A graceful restart keeps the counters: the parent keeps the memory.
$before = counters();
ok $before->{SessionsLoaded} > 0, 'there is something to keep';
ok eval { graceful_restart('t/logs/httpd.pid', 't/logs/error_log'); 1 },
    'httpd restarted gracefully' or diag $@;
$after = counters();
is $after->{SessionsLoaded}, $before->{SessionsLoaded},
    'the counters survived the graceful restart';
