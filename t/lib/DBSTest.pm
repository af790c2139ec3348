package DBSTest;
# Helpers for the mod_dbsession suite: requests with an explicit cookie (no
# cookie jar: tests decide exactly what the client sends), the cookie a
# response sets, the session a CGI saw, and the database behind it.
use strict;
use warnings;

use Exporter 'import';
use Apache::Test ();
use Apache::TestRequest ();
use IO::Socket::INET ();
use Time::HiRes ();

# Tests look at each response as it is: redirects are not followed.
Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0,
                                keep_alive => 0);

our @EXPORT = qw(req session_cookie set_cookies seen db_scalar db_rows
                 db_server new_session parallel log_mark logged_since
                 open_transactions
                 start_server reload_server stop_server server_dir
                 graceful_restart);

# req(GET => '/cgi/echo.pl?set=a%3D1', cookie => $value, name => 'session',
#     headers => [Name => value, ...], content => $body)
sub req {
    my ($method, $path, %opt) = @_;
    my @headers = @{ $opt{headers} || [] };
    if (defined $opt{cookie}) {
        push @headers, Cookie => ($opt{name} || 'session') . "=$opt{cookie}";
    }
    push @headers, content => $opt{content} if defined $opt{content};
    no strict 'refs';
    return &{"Apache::TestRequest::$method"}($path, @headers);
}

# All Set-Cookie lines of a response.
sub set_cookies {
    my ($res) = @_;
    return $res->headers->header('Set-Cookie');
}

# The value our cookie is set to (undef: not set; '' : cleared).
sub session_cookie {
    my ($res, $name) = @_;
    $name ||= 'session';
    for my $line (set_cookies($res)) {
        return $1 if $line =~ /^\Q$name\E=([^;]*)/;
    }
    return undef;
}

# What echo.pl printed: NAME => value of the session variables it saw.
sub seen {
    my ($res) = @_;
    my %env;
    for my $line (split /\n/, $res->content // '') {
        $env{$1} = $2 if $line =~ /^([A-Za-z0-9_]+)=(.*)$/;
    }
    return \%env;
}

# One value from the test database (scripts/db.sh started it and knows how
# to reach each kind).
sub db_scalar {
    my ($sql) = @_;
    open my $fh, '-|', 'bash', '-c', 'source scripts/db.sh && db_sql "$1"',
        'db_sql', $sql or die "cannot run db_sql: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh or die "db_sql failed: $sql";
    $out =~ s/\s+\z//;
    return $out;
}

# Stop or start the database server, data kept (pgsql and mysql).
sub db_server {
    my ($what) = @_;
    system('bash', '-c', "source scripts/db.sh && db_server_$what") == 0
        or die "db_server_$what failed";
}

# Run $code in $n processes at once; returns their return values (strings).
sub parallel {
    my ($n, $code) = @_;
    my @pipes;
    for my $i (1 .. $n) {
        pipe my $r, my $w or die $!;
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $r;
            Apache::TestRequest::user_agent(reset => 1,
                requests_redirectable => 0, keep_alive => 0, timeout => 60);
            print $w $code->($i) // '';
            close $w;
            require POSIX;
            POSIX::_exit(0);
        }
        close $w;
        push @pipes, [$pid, $r];
    }
    my @out;
    for (@pipes) {
        my ($pid, $r) = @$_;
        local $/;
        push @out, scalar <$r>;
        waitpid $pid, 0;
    }
    return @out;
}

# The error log, read from a mark: log_mark() before the requests, then
# logged_since($mark, qr/DBS022/) counts the lines that match.
my $error_log = 't/logs/error_log';
sub log_mark { return -s $error_log || 0 }
sub logged_since {
    my ($mark, $pattern) = @_;
    open my $fh, '<', $error_log or die "$error_log: $!";
    seek $fh, $mark, 0 or die "seek: $!";
    my $n = grep { /$pattern/ } <$fh>;
    close $fh;
    return $n;
}

# A private httpd besides the suite's (t/80, t/82): the suite's database,
# the suite's CGIs under /cgi/, and $conf after that. Returns its base URL;
# it is stopped when the test ends, however it ends. mpm => "prefork" runs
# it with the prefork MPM (and mod_cgi) instead of event.
my %server_dirs;
sub server_dir { return $server_dirs{$_[0]} }
sub start_server {
    my ($name, $conf, %opt) = @_;
    my $mpm = $opt{mpm} || 'event';
    my $cgi = $mpm eq 'prefork' ? "cgi_module $ENV{DBS_MODULES}/mod_cgi.so"
                                : "cgid_module $ENV{DBS_MODULES}/mod_cgid.so";
    my $vars = Apache::Test::vars();
    my $dir = "$vars->{t_logs}/$name";
    my $mods = $ENV{DBS_MODULES};
    my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
        ->sockport;
    mkdir $dir;
    open my $fh, '>', "$dir/httpd.conf" or die "$dir/httpd.conf: $!";
    print $fh <<"CONF", $conf;
ServerRoot "$dir"
LoadModule mpm_${mpm}_module $mods/mod_mpm_${mpm}.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule alias_module $mods/mod_alias.so
LoadModule $cgi
LoadModule dbd_module $mods/mod_dbd.so
LoadModule dbsession_module $ENV{DBS_MODULE}
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
LogLevel notice dbsession:info
<IfModule mod_cgid.c>
    ScriptSock $dir/cgisock
</IfModule>
DefaultRuntimeDir $dir
DBDriver $ENV{DBS_DRIVER}
DBDParams "$ENV{DBS_PARAMS}"
ScriptAlias /cgi/ $vars->{t_dir}/cgi-bin/
CONF
    close $fh;
    system($vars->{httpd}, '-f', "$dir/httpd.conf", '-k', 'start') == 0
        or die "server $name did not start: " . `cat $dir/error_log`;
    $server_dirs{$name} = $dir;
    for (1 .. 50) {
        last if IO::Socket::INET->new("127.0.0.1:$port");
        Time::HiRes::sleep(0.1);
    }
    return "http://127.0.0.1:$port";
}

sub server_pid {
    open my $pf, '<', "$server_dirs{$_[0]}/httpd.pid" or return;
    chomp(my $pid = <$pf> // '');
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# A graceful restart (apachectl graceful) of the httpd whose parent's pid
# is in $pidfile: returns once the new generation serves (AH00489,
# "resuming normal operations", in $log).
sub graceful_restart {
    my ($pidfile, $log) = @_;
    open my $pf, '<', $pidfile or die "$pidfile: $!";
    chomp(my $pid = <$pf> // '');
    my $mark = -s $log || 0;
    kill 'USR1', $pid or die "cannot signal httpd $pid";
    for (1 .. 100) {
        Time::HiRes::sleep(0.1);
        open my $fh, '<', $log or next;
        seek $fh, $mark, 0;
        return if grep { /AH00489/ } <$fh>;
    }
    die "httpd $pid did not restart: " . `tail -n 5 $log`;
}

sub reload_server {
    my ($name) = @_;
    my $dir = $server_dirs{$name};
    graceful_restart("$dir/httpd.pid", "$dir/error_log");
}

sub stop_server {
    my ($name) = @_;
    my $pid = server_pid($name) or return;
    kill 'TERM', $pid;
    for (1 .. 100) {
        last unless kill 0, $pid;
        Time::HiRes::sleep(0.1);
    }
    delete $server_dirs{$name};
}
END { stop_server($_) for keys %server_dirs }

sub db_rows { db_scalar('SELECT count(*) FROM dbsession') }

# Transactions left open on the database server (none on SQLite's: its
# transactions live in httpd, and a held one shows as a 503 instead).
sub open_transactions {
    my $driver = $ENV{DBS_DRIVER};
    return 0 if $driver eq 'sqlite3';
    return db_scalar($driver eq 'pgsql'
        ? "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
        : 'SELECT count(*) FROM information_schema.innodb_trx');
}

# A fresh session holding key=value; returns its cookie.
sub new_session {
    my ($base, $kv) = @_;
    my $res = req(GET => "$base/echo.pl?set=" . ($kv || 'k%3Dv'));
    my $cookie = session_cookie($res);
    die "no session cookie: " . $res->status_line unless $cookie;
    return $cookie;
}

1;
