#!/usr/bin/perl
# Test CGI: writes back what the query asks, then prints the session it saw.
#   set=a%3D1  unset=a  clear=1  user=u  regenerate=1  invalidate=1  revoke_others=1
#   flash=msg  status=NNN  location=/path  header=Name%3A%20value  sleep=S
use strict;
use warnings;

my (@headers, $status);
for my $pair (split /&/, $ENV{QUERY_STRING} // '') {
    my ($name, $value) = split /=/, $pair, 2;
    $value //= '';
    $value =~ tr/+/ /;
    $value =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    my %header_of = (set => 'Set', unset => 'Unset', clear => 'Clear',
                     user => 'User', regenerate => 'Regenerate',
                     invalidate => 'Invalidate', flash => 'Flash',
                     revoke_others => 'Revoke-Others');
    if ($header_of{$name}) { push @headers, "X-DBSession-$header_of{$name}: $value" }
    elsif ($name eq 'status')   { $status = $value }
    elsif ($name eq 'location') { push @headers, "Location: $value" }
    elsif ($name eq 'header')   { push @headers, $value }
    elsif ($name eq 'sleep')    { sleep $value }
}
# The request body as the CGI got it (t/65-csrf.t: passed through intact).
my $body = '';
if (($ENV{CONTENT_LENGTH} // '') ne '' || ($ENV{REQUEST_METHOD} // '') eq 'POST') {
    local $/;
    binmode STDIN;
    $body = <STDIN> // '';
}
require Digest::MD5;
print "Status: $status\r\n" if $status;
print "$_\r\n" for @headers;
print "Content-Type: text/plain\r\n\r\n";
print "BODY_LENGTH=", length($body), "\nBODY_MD5=", Digest::MD5::md5_hex($body), "\n";
for my $name (sort keys %ENV) {
    print "$name=$ENV{$name}\n"
        if $name =~ /^(SESSION_|DBSESSION_|APP_|HTTP_SESSION|HTTP_DBSESSION|HTTP_X_DBSESSION|REDIRECT_|REMOTE_USER$|AUTH_TYPE$)/;
}
