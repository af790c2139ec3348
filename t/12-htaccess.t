# Every DBSession* directive is refused in .htaccess, by design: a
# .htaccess writer (often the web application's own user) must not switch
# off DBSessionCSRFCheck, change the cookie's Secure or Path, or turn
# sessions on where the server's startup checks (mod_dbd, keys) and its
# header hygiene never looked. httpd answers 500 and logs "not allowed
# here"; the same directory with a harmless .htaccess works.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

my @refused = (
    'DBSession On',
    'DBSession Off',
    'DBSessionCSRFCheck Off',
    'DBSessionCookieSecure Off',
    'DBSessionCookiePath /',
    'DBSessionCookieName other',
    'DBSessionRequestHeaders On',
    'DBSessionIdleTimeout 99999',
    'DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
);
plan tests => 2 + 2 * @refused;

my $vars = Apache::Test::vars();
my $file = "$vars->{documentroot}/htaccess/.htaccess";
sub htaccess {
    open my $fh, '>', $file or die "$file: $!";
    print $fh "$_[0]\n";
    close $fh;
}
END { unlink $file }

# AllowOverride All: the directory's .htaccess is read (an option it may set).
htaccess('Options -Indexes');
my $res = req(GET => '/htaccess/index.html');
is $res->code, 200, 'a .htaccess without DBSession directives: 200';
htaccess('Bogus-Directive here');
is req(GET => '/htaccess/index.html')->code, 500,
    '...and .htaccess is really read there (a bad line is a 500)';

for my $line (@refused) {
    my ($name) = $line =~ /^(\S+)/;
    htaccess($line);
    my $mark = log_mark();
    is req(GET => '/htaccess/index.html')->code, 500, "$name in .htaccess: 500";
    ok logged_since($mark, qr/\Q$name\E not allowed here/),
        "$name in .htaccess: logged as \"not allowed here\"";
}
