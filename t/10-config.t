# Every bad directive value makes "apachectl -t" fail, naming the directive
# (and its file:line). Each case is a small config checked by httpd -t.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestConfig ();
use lib 't/lib';
use DBSTest;

my $KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

my @bad = (
    # [directive line(s), what the message must say: "Directive: reason"]
    ['DBSessionIdleTimeout abc', qr/DBSessionIdleTimeout: expects a whole number of seconds/],
    ['DBSessionIdleTimeout -5', qr/DBSessionIdleTimeout: expects/],
    ['DBSessionAbsoluteTimeout 10s', qr/DBSessionAbsoluteTimeout: expects/],
    ['DBSessionExtensionDelay 1e3', qr/DBSessionExtensionDelay: expects/],
    ['DBSessionLockTimeout x', qr/DBSessionLockTimeout: expects/],
    ['DBSessionRenewalTimeout -1', qr/DBSessionRenewalTimeout: expects/],
    ['DBSessionRequestHeaders yes', qr/DBSessionRequestHeaders must be On or Off/],
    ['DBSessionWrites maybe', qr/DBSessionWrites must be On or Off/],
    ['DBSessionCookieMaxAge 99999999999', qr/DBSessionCookieMaxAge: expects/],
    ['DBSessionCleanupInterval soon', qr/DBSessionCleanupInterval: expects/],
    ['DBSessionKey c2hvcnQ=', qr/DBSessionKey: the key must decode to exactly 32 bytes/],
    ['DBSessionKey %%%notbase64', qr/DBSessionKey: the key is not valid base64/],
    ['DBSessionKeyFile /nonexistent/keys', qr/DBSessionKeyFile: cannot open/],
    ['DBSessionLoginURL http://evil.example/', qr/DBSessionLoginURL: expects a local path/],
    ['DBSessionLoginURL //evil.example/', qr/DBSessionLoginURL: expects a local path/],
    ['DBSessionKeyFile /tmp', qr/DBSessionKeyFile: \/tmp is a directory, not a key file/],
    ['DBSessionTable "sessions; DROP TABLE x"', qr/DBSessionTable: expects a table name/],
    ['DBSessionCipher aes128', qr/DBSessionCipher: expects xchacha20poly1305 or aes256gcm/],
    ['DBSessionCookieSameSite loose', qr/DBSessionCookieSameSite: expects Strict, Lax, None or Off/],
    ['DBSessionRollbackStatus 99', qr/DBSessionRollbackStatus: expects an HTTP status code/],
    ['DBSessionMaxSize 10', qr/DBSessionMaxSize: expects a number of bytes/],
    ['DBSessionCookieName "a;b"', qr/DBSessionCookieName: expects a cookie name/],
    ['DBSessionCookiePath "/a b"', qr/DBSessionCookiePath: expects printable/],
    ['DBSessionEnvPrefix 1X', qr/DBSessionEnvPrefix: expects letters/],
    ['DBSession maybe', qr/DBSession must be On or Off/],
    ['DBSessionCookieSecure maybe', qr/DBSessionCookieSecure must be On or Off/],
    ["<Location /x>\nDBSessionKey $KEY\n</Location>", qr/DBSessionKey not allowed in <Location> context/],
);
my @cross = (
    ["<Location /app>\nDBSession On\nDBSessionIdleTimeout 600\nDBSessionAbsoluteTimeout 600\n</Location>",
     qr/DBSessionAbsoluteTimeout \(600\) must be longer than DBSessionIdleTimeout \(600\).* at \S+:\d+/],
    ["<Location /app>\nDBSession On\nDBSessionCookieSameSite None\nDBSessionCookieSecure Off\n</Location>",
     qr/SameSite None requires DBSessionCookieSecure On/],
);

plan tests => 2 * @bad + @cross + 20;

my $vars = Apache::Test::vars();
my $dir = "$vars->{t_logs}/configtest";
mkdir $dir;
my $n = 0;

# Returns (exit status, output) of httpd -t on a config holding $body.
sub check_config {
    my ($body, %opt) = @_;
    my $file = "$dir/case" . ++$n . '.conf';
    my $mods = $ENV{DBS_MODULES};
    open my $fh, '>', $file or die $!;
    print $fh <<"CONF";
ServerRoot "$dir"
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule authn_core_module $mods/mod_authn_core.so
@{[ $opt{no_dbd} ? '' : "LoadModule dbd_module $mods/mod_dbd.so" ]}
@{[ $opt{no_dbd} || $opt{no_driver} ? '' : "DBDriver sqlite3\nDBDParams $dir/none.db" ]}
LoadModule dbsession_module $ENV{DBS_MODULE}
ServerName localhost
Listen 127.0.0.1:1
ErrorLog $dir/error_log
PidFile $dir/httpd.pid
DefaultRuntimeDir $dir
@{[ $opt{no_key} ? '' : "DBSessionKey $KEY" ]}
$body
CONF
    close $fh;
    chmod $opt{mode}, $file if defined $opt{mode};
    my $out = `$vars->{httpd} -t -f $file 2>&1`;
    return ($? >> 8, $out, $file);
}

my ($status, $out) = check_config("<Location /app>\nDBSession On\n</Location>");
is $status, 0, 'a good configuration passes';
like $out, qr/Syntax OK/, '...with Syntax OK';

for my $case (@bad) {
    my ($body, $want) = @$case;
    my ($st, $text, $file) = check_config($body);
    isnt $st, 0, "refused: $body";
    like $text, qr/(?s)$want/, "names the directive: $body";
}
for my $case (@cross) {
    my ($body, $want) = @$case;
    my ($st, $text) = check_config($body);
    like $text, qr/$want/, 'cross-directive check: ' . (split /\n/, $body)[2];
}

($status, $out) = check_config("<Location /app>\nDBSession On\n</Location>", no_key => 1);
isnt $status, 0, 'DBSession On without a key is refused';
like $out, qr/DBSession On needs a key: set DBSessionKey or DBSessionKeyFile.* at \S+case\d+\.conf:\d+/,
    '...naming the directives and the DBSession line';

($status, $out) = check_config("<Location /app>\nDBSession On\n</Location>", no_driver => 1);
isnt $status, 0, 'DBSession On in a server without DBDriver is refused';
like $out, qr/DBSession On needs a database: set DBDriver and DBDParams.* at \S+case\d+\.conf:\d+/,
    '...naming the directives and the DBSession line';
($status, $out) = check_config("<VirtualHost 127.0.0.1:1>\nDBDriver sqlite3\nDBDParams $vars->{t_logs}/vh.db\n"
    . "<Location /app>\nDBSession On\n</Location>\n</VirtualHost>", no_driver => 1);
is $status, 0, 'a driver set in the virtual host is enough' or diag $out;
# Every directive in every documented form, in its scopes: accepted.
{
    my $keys = "$dir/every-form.keys";
    open my $kf, '>', $keys or die $!;
    print $kf "# newest first\n$KEY\n\nHx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=\n";
    close $kf;
    chmod 0600, $keys;
    my $body = <<"FORMS";
DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=
DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
DBSessionKeyFile $keys
DBSessionTable my_sessions_2
DBSessionCipher xchacha20poly1305
DBSessionCleanupInterval 0
DBSessionCleanupInterval 600
DBSession Off
DBSessionCookieName sid
DBSessionLockTimeout 0
<Location /a>
    DBSession On
    DBSessionCookieName __Host-sid
    DBSessionCookiePath /a
    DBSessionCookieSecure On
    DBSessionCookieHttpOnly On
    DBSessionCookieSameSite Strict
    DBSessionCookieMaxAge 0
    DBSessionIdleTimeout 0
    DBSessionAbsoluteTimeout 0
    DBSessionExtensionDelay 0
    DBSessionRenewalTimeout 0
    DBSessionRollbackStatus 500
    DBSessionLockTimeout 30
    DBSessionMaxSize 256
    DBSessionEnvPrefix APP_
    DBSessionCSRFCheck On
    DBSessionRequestHeaders On
    DBSessionWrites On
    AuthType DBSession
    DBSessionLoginURL /login?next=1
    Require valid-user
</Location>
<Location /b>
    DBSession On
    DBSessionCookieDomain example.org
    DBSessionCookieSecure Off
    DBSessionCookieHttpOnly Off
    DBSessionCookieSameSite Lax
    DBSessionCookieMaxAge 3600
    DBSessionIdleTimeout 600
    DBSessionAbsoluteTimeout 7200
    DBSessionRenewalTimeout 900
    DBSessionMaxSize 16777216
    DBSessionCSRFCheck Off
    DBSessionRequestHeaders Off
    DBSessionWrites Off
</Location>
<Location /c>
    DBSession On
    DBSessionCookieSameSite None
</Location>
<Location /d>
    DBSession On
    DBSessionCookieSameSite Off
</Location>
FORMS
    my ($st, $text) = check_config($body);
    is $st, 0, 'every directive in every documented form is accepted' or diag $text;
}

# libsodium is started before the check (it once said "no hardware AES" on
# every CPU).
my $aes = do { open my $c, '<', '/proc/cpuinfo'; local $/; my $t = <$c>;
               $t =~ /^flags.*\baes\b/m && $t =~ /^flags.*\bpclmulqdq\b/m };
($status, $out) = check_config("<Location /app>\nDBSession On\n</Location>\nDBSessionCipher aes256gcm");
if ($aes) {
    is $status, 0, 'DBSessionCipher aes256gcm passes on this CPU (AES-NI, PCLMUL)' or diag $out;
} else {
    like $out, qr/this CPU has no hardware AES/, 'DBSessionCipher aes256gcm is refused without AES-NI';
}
my $open_keys = "$dir/world-readable.keys";
open my $kf, '>', $open_keys or die $!;
print $kf "$KEY\n";
close $kf;
chmod 0644, $open_keys;
($status, $out) = check_config("DBSessionKeyFile $open_keys");
like $out, qr/DBSessionKeyFile: \S+ is readable by its group or every user/, 'a key file others can read is refused';
chmod 0640, $open_keys;
($status, $out) = check_config("DBSessionKeyFile $open_keys");
like $out, qr/DBSessionKeyFile: \S+ is readable by its group or every user/,
    '...and one its group can read';
# Writable by its group or by others: whoever can write it chooses the keys.
for my $mode (0620, 0602) {
    chmod $mode, $open_keys;
    ($status, $out) = check_config("DBSessionKeyFile $open_keys");
    isnt $status, 0, sprintf('a key file of mode %04o is refused', $mode);
    like $out, qr/DBSessionKeyFile: \Q$open_keys\E is writable by its group or others/,
        '...naming the directive and the file';
}
chmod 0600, $open_keys;
($status, $out) = check_config("DBSessionKeyFile $open_keys");
is $status, 0, '...and accepted once private' or diag $out;
# An inline key in a configuration file every user can read: a warning.
($status, $out) = check_config('', mode => 0644);
like $out, qr/DBS003: DBSessionKey at \S+case\d+\.conf:\d+: .*readable by every user/,
    'an inline key in a world-readable config file is a startup warning';
($status, $out) = check_config('', mode => 0600);
unlike $out, qr/DBS003/, '...not once the file is private';

($status, $out) = check_config("<Location /app>\nDBSession On\n</Location>", no_dbd => 1);
isnt $status, 0, 'DBSession On without mod_dbd is refused';
like $out, qr/DBSession On needs mod_dbd/, '...saying so';
