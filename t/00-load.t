# The module loads, and a request in scope runs with a new, empty session.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 5;

my $res = req(GET => '/cgi/echo.pl');
is $res->code, 200, 'a CGI in a DBSession scope answers';
is seen($res)->{DBSESSION_NEW}, '1', 'it sees a new session';
is session_cookie($res), undef, 'no cookie while nothing is stored';

$res = req(GET => '/plain/echo.pl');
is $res->code, 200, 'a CGI outside any scope answers';
ok !exists seen($res)->{DBSESSION_NEW}, 'and sees no session variables';
