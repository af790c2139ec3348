# User names compare byte for byte on every database: X-DBSession-Revoke-Others
# from alice logs out alice's other sessions only, never those of ALICE,
# "alice " or alíce (MariaDB's collations once matched all three: case,
# accents, PAD SPACE).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 6;

# A login: a session of that user (the name percent-encoded, as
# X-DBSession-User takes it, and once more for the query string).
sub login {
    my ($encoded) = @_;
    my $res = req(GET => "/cgi/echo.pl?user=$encoded");
    return session_cookie($res) // die "no cookie for $encoded";
}
sub user_of {
    return seen(req(GET => '/cgi/echo.pl', cookie => $_[0]))->{DBSESSION_USER} // '';
}

my @alice = map { login('alice-b') } 1 .. 2;
my %lookalike = ('ALICE-B' => login('ALICE-B'), 'alice-b ' => login('alice-b%2520'),
                 "al\xc3\xadce-b" => login('al%25C3%25ADce-b'));
is user_of($lookalike{'alice-b '}), 'alice-b ', 'a trailing space is kept in the name';

my $res = req(GET => '/cgi/echo.pl?revoke_others=1', cookie => $alice[0]);
is $res->code, 200, 'Revoke-Others from alice-b';
is user_of($alice[0]), 'alice-b', '...keeps this session';
is user_of($alice[1]), '', '...logs out her other one';
is_deeply { map { $_ => user_of($lookalike{$_}) } keys %lookalike },
    { map { $_ => $_ } keys %lookalike },
    '...and none of ALICE-B, "alice-b " or alíce-b';
is db_scalar("SELECT count(*) FROM dbsession WHERE user_name = 'alice-b'"), '1',
    'the table holds one session of alice-b, compared byte for byte';
