package DBSTest;
# Helpers for the mod_dbsession suite: requests with an explicit cookie (no
# cookie jar: tests decide exactly what the client sends), the cookie a
# response sets, the session a CGI saw, and the database behind it.
use strict;
use warnings;

use Exporter 'import';
use Apache::TestRequest ();

# Tests look at each response as it is: redirects are not followed.
Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0,
                                keep_alive => 0);

our @EXPORT = qw(req session_cookie set_cookies seen db_scalar db_rows
                 db_server new_session parallel log_mark logged_since);

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
                requests_redirectable => 0, keep_alive => 0);
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

sub db_rows { db_scalar('SELECT count(*) FROM dbsession') }

# A fresh session holding key=value; returns its cookie.
sub new_session {
    my ($base, $kv) = @_;
    my $res = req(GET => "$base/echo.pl?set=" . ($kv || 'k%3Dv'));
    my $cookie = session_cookie($res);
    die "no session cookie: " . $res->status_line unless $cookie;
    return $cookie;
}

1;
