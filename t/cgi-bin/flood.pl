#!/usr/bin/perl
# Test CGI: many writes in one response (t/36-many-writes.t).
#   n=N  kind=flash (N one-byte X-DBSession-Flash headers)
#        | set (X-DBSession-Set: N assignments, 500 a header)
#        | unset (X-DBSession-Unset: N keys, 500 a header)
use strict;
use warnings;

my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') }
    split /&/, $ENV{QUERY_STRING} // '';
my $n = $q{n} || 1;
my $kind = $q{kind} || 'flash';
my $out = '';
if ($kind eq 'flash') {
    $out .= "X-DBSession-Flash: m\r\n" for 1 .. $n;
} else {
    # Header lines of 500 items each (a CGI header line has at most 8 KB).
    my $header = $kind eq 'set' ? 'X-DBSession-Set' : 'X-DBSession-Unset';
    for (my $i = 1; $i <= $n; $i += 500) {
        my $last = $i + 499 > $n ? $n : $i + 499;
        $out .= "$header: "
            . join('&', map { $kind eq 'set' ? "k$_=v" : "k$_" } $i .. $last)
            . "\r\n";
    }
}
print $out, "Content-Type: text/plain\r\n\r\n";
for my $name (sort keys %ENV) {
    next unless $name =~ /^(DBSESSION_FLASH|SESSION_k1)$/;
    print "$name=$ENV{$name}\n";
}
print "KEYS=", scalar(grep { /^SESSION_k\d+$/ } keys %ENV), "\n";
