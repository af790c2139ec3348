# A table made before renewal (without renewed_at, prev_id_hash,
# prev_until): the module answers 503 and says why, README's upgrade
# statements (read from README.md) add the columns, and then the same
# server works again, its stored session included. On MySQL/MariaDB,
# README's user_name statement then makes the same live table compare user
# names byte for byte.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 12;

my $table = 'dbsession_pre_renewal';
db_scalar("CREATE TABLE $table (id_hash CHAR(64) NOT NULL PRIMARY KEY, "
          . "user_name VARCHAR(255) NOT NULL DEFAULT '', session_data TEXT NOT NULL, "
          . "flash TEXT NOT NULL, csrf_token VARCHAR(64) NOT NULL DEFAULT '', "
          . "created_at BIGINT NOT NULL, active_at BIGINT NOT NULL, "
          . "expires_at BIGINT NOT NULL)");
my $base = start_server('upgrade', <<"CONF");
DBSessionKey AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
DBSessionTable $table
<Location /cgi/>
    DBSession On
    DBSessionCookieSecure Off
</Location>
CONF

my $res = req(GET => "$base/cgi/echo.pl?set=a%3D1");
is $res->code, 503, 'the old table: 503';
my $log = server_dir('upgrade') . '/error_log';
like `cat $log`, qr/DBS03[02]: .*renewed_at/, '...and the log names the missing column';

open my $readme, '<', 'README.md' or die $!;
my $text = do { local $/; <$readme> };
my ($sql) = $text =~ /\*\*Upgrading a table made before renewal\*\*.*?```sql\n(.*?)```/s
    or die 'README has no upgrade statements';
my @statements = grep { /\S/ } split /;\s*/, $sql;
is scalar(@statements), 4, "README's upgrade: four statements";
for my $statement (@statements) {
    $statement =~ s/\bdbsession\b/$table/g;
    $statement =~ s/\bdbsession_prev_id_hash\b/${table}_prev/g;
    db_scalar($statement);
}
$res = req(GET => "$base/cgi/echo.pl?set=a%3D1");
is $res->code, 200, 'after the upgrade the same server works';
my $cookie = session_cookie($res);
ok $cookie, '...creates sessions';
is seen(req(GET => "$base/cgi/echo.pl", cookie => $cookie))->{SESSION_a}, '1',
    '...and reads them';

SKIP: {
    skip 'user_name becomes VARBINARY on MySQL/MariaDB only (SQLite and '
        . 'PostgreSQL compare bytes as they are)', 6 unless $ENV{DBS_DRIVER} eq 'mysql';
    my ($bin_sql) = $text =~ /\*\*Upgrading `user_name` on MySQL\/MariaDB\*\*.*?```sql\n(.*?)```/s
        or die 'README has no user_name upgrade statement';
    my @bin = grep { /\S/ } split /;\s*/, $bin_sql;
    is scalar(@bin), 1, "README's user_name upgrade: one statement";
    sub login_as {
        my $res = req(GET => "$base/cgi/echo.pl?user=$_[0]");
        return session_cookie($res) // die "no cookie for $_[0]";
    }
    sub user_at {
        return seen(req(GET => "$base/cgi/echo.pl", cookie => $_[0]))->{DBSESSION_USER} // '';
    }
    my @alice = map { login_as('alice-u') } 1 .. 2;
    my %other = ('ALICE-U' => login_as('ALICE-U'), 'alice-u ' => login_as('alice-u%2520'));
    my $count = "SELECT count(*) FROM $table WHERE user_name = 'alice-u'";
    cmp_ok db_scalar($count), '>', 2, 'before: the collation takes lookalikes for alice-u';
    (my $statement = $bin[0]) =~ s/\bdbsession\b/$table/g;
    db_scalar($statement);
    is db_scalar($count), '2', 'after: only her two sessions';
    is req(GET => "$base/cgi/echo.pl?revoke_others=1", cookie => $alice[0])->code, 200,
        'Revoke-Others from alice-u on the upgraded table';
    is user_at($alice[1]), '', '...logs out her other session';
    is_deeply { map { $_ => user_at($other{$_}) } keys %other }, { map { $_ => $_ } keys %other },
        '...and neither ALICE-U nor "alice-u "';
}
