# dbsessionctl against the suite's database while httpd serves it: every
# command, its output and exit status, and its effect on live sessions.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Temp qw(tempfile);
use MIME::Base64 qw(decode_base64);
use lib 't/lib';
use DBSTest;

plan tests => 61;

my @db = ('-d', $ENV{DBS_DRIVER}, '-p', $ENV{DBS_PARAMS});
# (exit status, stdout, stderr) of one run; ctl_in($stdin, ...) feeds it
# standard input.
sub ctl { return ctl_in('', @_) }
sub ctl_in {
    my ($input, @args) = @_;
    my ($in_fh, $in) = tempfile(UNLINK => 1);
    print $in_fh $input;
    close $in_fh;
    my ($out_fh, $out) = tempfile(UNLINK => 1);
    my ($err_fh, $err) = tempfile(UNLINK => 1);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', $in or die $!;
        open STDOUT, '>', $out or die $!;
        open STDERR, '>', $err or die $!;
        exec './dbsessionctl', @args or die "exec: $!";
    }
    waitpid $pid, 0;
    my $status = $? >> 8;
    local $/;
    return ($status, scalar(<$out_fh>) // '', scalar(<$err_fh>) // '');
}

# Usage and errors, each with its exit status and a message that says why.
my ($st, $out, $err) = ctl('--help');
is $st, 0, '--help: exit 0';
like $out, qr/revoke-id PREFIX/, '...lists the commands';
# Secrets never on the command line: --help shows them read from a file
# and from standard input.
like $out, qr/^  -p \@FILE /m, '...the parameters from a file (-p @FILE)';
like $out, qr/^  cookie -k KEYFILE \[-n NAME\] \[-c CIPHER\] -$/m,
    '...and the cookie from standard input, never as an argument';
($st, $out, $err) = ctl();
is $st, 2, 'no command: exit 2 (usage)';
($st, $out, $err) = ctl(@db, 'frobnicate');
is $st, 2, 'an unknown command: exit 2';
like $err, qr/unknown command frobnicate/, '...named';
($st, $out, $err) = ctl(@db, 'list');
is $st, 2, 'list without a user: exit 2';
($st, $out, $err) = ctl(@db, '-t', 'x;drop', 'stats');
like $err, qr/-t expects a table name/, 'a bad table name is refused';
($st, $out, $err) = ctl('-d', 'oracle', '-p', 'x', 'stats');
is $st, 2, 'an unsupported driver: exit 2';
($st, $out, $err) = ctl(@db, '-t', 'no_such_table', 'stats');
is $st, 3, 'a table that does not exist: exit 3';
like $err, qr/table no_such_table: /, '...naming the table';
my $bad_params = $ENV{DBS_DRIVER} eq 'sqlite3' ? '/nonexistent/dir/x.db'
               : $ENV{DBS_DRIVER} eq 'pgsql' ? 'host=/nonexistent dbname=x'
               : 'sock=/nonexistent/sock,user=x';
($st, $out, $err) = ctl('-d', $ENV{DBS_DRIVER}, '-p', $bad_params, 'stats');
is $st, 3, 'a database that cannot be reached: exit 3';

# keygen: a key DBSessionKey takes.
($st, $out) = ctl('keygen');
chomp $out;
is length(decode_base64($out)), 32, 'keygen prints 32 random bytes in base64';
isnt((ctl('keygen'))[1], "$out\n", '...a new one each time');

# Sessions to look at: two of carol's, one of dave's.
# A login (a new user) gives a session a new ID: its cookie from then on.
sub login {
    my ($user, $n) = @_;
    my $res = req(GET => "/cgi/echo.pl?user=$user",
                  cookie => new_session('/cgi', "n%3D$n"));
    return session_cookie($res) // die 'no cookie after the login';
}
my @carol = map { login('carol', $_) } 1 .. 2;
my $dave = login('dave', 3);
is seen(req(GET => '/cgi/echo.pl', cookie => $carol[0]))->{DBSESSION_USER}, 'carol',
    'carol is logged in';

($st, $out) = ctl(@db, 'stats');
is $st, 0, 'stats: exit 0';
my %stats = $out =~ /^(\w[\w ]*?)\s+(\d+)$/mg;
is $stats{rows}, db_rows(), 'stats counts the rows';
is $stats{'with user'},
    db_scalar("SELECT count(*) FROM dbsession WHERE user_name <> '' AND expires_at >= " . time),
    '...and the live ones with a user';

($st, $out) = ctl(@db, 'list', 'carol');
is $st, 0, 'list carol: exit 0';
my @prefixes = $out =~ /^([0-9a-f]{8})  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/mg;
is scalar(@prefixes), 2, '...her two sessions, with UTC times';
($st) = ctl(@db, 'list', 'nobody');
is $st, 1, 'list of a user without sessions: exit 1';

# cookie: which key opens it, and its row.
my ($kfh, $keyfile) = tempfile(UNLINK => 1);
print $kfh "# the suite's keys\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
         . "Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=\n";
close $kfh;
chmod 0600, $keyfile;
($st, $out) = ctl(@db, 'cookie', '-k', $keyfile, $carol[0]);
is $st, 0, 'cookie: exit 0';
like $out, qr/^opens with key 1 of 2 \(key id [0-9a-f]{8}\)$/m, '...with the first key';
my ($hash) = $out =~ /^session ID hash ([0-9a-f]{8})$/m;
ok defined $hash && grep({ $_ eq $hash } @prefixes), '...the session list shows';
like $out, qr/^user carol, created .* expires /m, '...and its row';
# The same without a secret on the command line: the parameters from a
# private file, the cookie from standard input.
my ($pfh, $params_file) = tempfile(UNLINK => 1);
print $pfh "$ENV{DBS_PARAMS}\n";
close $pfh;
chmod 0600, $params_file;
my @db_file = ('-d', $ENV{DBS_DRIVER}, '-p', "\@$params_file");
my ($st2, $out2) = ctl_in("$carol[0]\n", @db_file, 'cookie', '-k', $keyfile, '-');
is $st2, 0, 'cookie -k KEYFILE - with -p @FILE: exit 0';
is $out2, $out, '...the same answer, row included';
($st2, $out2) = ctl_in("session=$carol[0]\r\n", 'cookie', '-k', $keyfile, '-');
like $out2, qr/^opens with key 1 of 2/m, '..."name=value" and a CR LF line end on standard input too';
($st2, $out2, $err) = ctl_in('', 'cookie', '-k', $keyfile, '-');
is $st2, 3, 'empty standard input: exit 3';
($st2, $out2) = ctl(@db_file, 'stats');
is $st2, 0, 'stats with -p @FILE: exit 0';
like $out2, qr/^rows\s+\d+$/m, '...counts';
chmod 0644, $params_file;
($st2, $out2, $err) = ctl(@db_file, 'stats');
is $st2, 3, 'a parameters file every user can read: exit 3';
like $err, qr/-p \@\Q$params_file\E is readable by every user/, '...saying so';
($st2, $out2, $err) = ctl('-d', $ENV{DBS_DRIVER}, '-p', '@/nonexistent/params', 'stats');
is $st2, 3, 'a parameters file that cannot be read: exit 3';
like $err, qr{-p \@/nonexistent/params: cannot open it}, '...naming it';
($st, $out) = ctl(@db, 'cookie', '-k', $keyfile, "session=$carol[0]");
is $st, 0, 'cookie takes "name=value" too';
($st, $out) = ctl('cookie', '-k', $keyfile, $carol[0]);
like $out, qr/not looked up/, 'without a database it only opens it';
($st, $out, $err) = ctl('cookie', '-k', $keyfile, 'garbage');
is $st, 1, 'a cookie that does not open: exit 1';
($st) = ctl('cookie', '-k', $keyfile, '-n', 'other', $carol[0]);
is $st, 1, '...nor under another cookie name (it is bound to the name)';
($st, $out, $err) = ctl('cookie', '-k', '/nonexistent/keys', $carol[0]);
is $st, 3, 'a key file that cannot be read: exit 3';

# revoke-id logs one session out; revoke the user's others.
($st, $out) = ctl(@db, 'revoke-id', $hash);
is $st, 0, 'revoke-id: exit 0';
is seen(req(GET => '/cgi/echo.pl', cookie => $carol[0]))->{DBSESSION_NEW}, '1',
    '...that session is gone';
is seen(req(GET => '/cgi/echo.pl', cookie => $carol[1]))->{DBSESSION_USER}, 'carol',
    '...her other one is not';
($st) = ctl(@db, 'revoke-id', $hash);
is $st, 1, 'revoke-id of a gone session: exit 1';
($st, $out) = ctl(@db, 'revoke', 'carol');
is $out, "revoked 1 session of carol\n", 'revoke carol: her last session';
is seen(req(GET => '/cgi/echo.pl', cookie => $carol[1]))->{DBSESSION_NEW}, '1',
    '...logged out';
is seen(req(GET => '/cgi/echo.pl', cookie => $dave))->{DBSESSION_USER}, 'dave',
    'dave is not';

# purge deletes what has expired.
db_scalar("INSERT INTO dbsession (id_hash, user_name, session_data, flash, "
          . "csrf_token, created_at, active_at, expires_at) VALUES ('"
          . ('e' x 64) . "', '', '', '', '', 1, 1, 2)");
($st, $out) = ctl(@db, 'purge');
like $out, qr/^deleted [1-9]\d* expired sessions?$/, 'purge says how many it deleted';
is db_scalar("SELECT count(*) FROM dbsession WHERE expires_at < " . time), '0',
    '...and none is left';

# What it prints from the table is escaped: a user name stored with a
# terminal escape, a backslash and a bidi override (the module refuses
# such names; the table may hold anything) cannot repaint the operator's
# terminal or pose as another line.
{
    my $evil = "ev\\e\e[2J\xe2\x80\xae\r\nrevoked 9 sessions of root";
    (my $sql_evil = $evil) =~ s/'/''/g;
    $sql_evil =~ s/\\/\\\\/g if $ENV{DBS_DRIVER} eq 'mysql';    # its escapes
    db_scalar("INSERT INTO dbsession (id_hash, user_name, session_data, flash, "
              . "csrf_token, created_at, active_at, expires_at) VALUES ('"
              . ('f' x 64) . "', '$sql_evil', '', '', '', 1, 1, " . (time + 3600) . ")");
    my $shown = 'ev\\\\e\\x1B[2J\\u{202E}\\x0D\\x0Arevoked 9 sessions of root';
    ($st, $out) = ctl(@db, 'list', $evil);
    is $st, 0, 'list of a user with control characters: exit 0';
    ($st, $out) = ctl(@db, 'revoke', $evil);
    is $out, "revoked 1 session of $shown\n", '...revoke prints the name escaped';
    ($st, $out, $err) = ctl(@db, 'revoke', $evil);
    is $err, "dbsessionctl: user $shown has no session\n", '...and so does its error';
}

# SQLite's lock table beside the database: a link planted at its path (the
# directory is httpd's user's, so any CGI could) is refused, naming the
# path, and what it points at is left as it was (a root dbsessionctl once
# truncated and overwrote it).
SKIP: {
    skip 'the lock table file is SQLite\'s', 4 unless $ENV{DBS_DRIVER} eq 'sqlite3';
    require File::Temp;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $db = "$dir/sessions.db";
    system('sh', '-c', 'sqlite3 "$1" < dbd_schema.sql', 'sh', $db) == 0 or die 'sqlite3';
    my $victim = "$dir/victim";
    my $precious = "root:x:0:0:root:/root:/bin/bash\n" x 3;
    open my $vf, '>', $victim or die $!;
    print $vf $precious;
    close $vf;
    symlink $victim, "$db-dbsession-locks" or die "symlink: $!";
    ($st, $out, $err) = ctl('-d', 'sqlite3', '-p', $db, 'purge');
    is $st, 3, 'a link at the lock table\'s path: exit 3';
    like $err, qr/\Q$db-dbsession-locks\E is a symbolic link: refused/, '...naming it';
    my $now = do { open my $f, '<', $victim or die $!; local $/; <$f> };
    is $now, $precious, '...and the file it points at is unchanged';
    unlink "$db-dbsession-locks";
    ($st, $out) = ctl('-d', 'sqlite3', '-p', $db, 'purge');
    is $st, 0, 'without it, the tool makes its own and works';
}

# list and revoke match the user name byte for byte: ALICE, "alice " and
# alíce are other users (MariaDB's collations once matched them).
{
    my @names = ('alice-c', 'ALICE-C', 'alice-c ', "al\xc3\xadce-c");
    my $n = 0;
    for my $name (@names) {
        db_scalar("INSERT INTO dbsession (id_hash, user_name, session_data, flash, "
                  . "csrf_token, created_at, active_at, expires_at) VALUES ('"
                  . sprintf('%064x', 0xc0 + $n++) . "', '$name', '', '', '', 1, 1, "
                  . (time + 3600) . ")");
    }
    ($st, $out) = ctl(@db, 'list', 'alice-c');
    is scalar(() = $out =~ /^[0-9a-f]{8}  /mg), 1, 'list alice-c: her one session, no lookalike';
    ($st, $out) = ctl(@db, 'revoke', 'alice-c');
    is $out, "revoked 1 session of alice-c\n", 'revoke alice-c: one session';
    is db_scalar("SELECT count(*) FROM dbsession WHERE id_hash LIKE '000000%' "
                 . "AND user_name <> ''"), '3', '...the lookalikes are kept';
    ($st) = ctl(@db, 'list', 'alice-c');
    is $st, 1, '...and alice-c has none left';
}
