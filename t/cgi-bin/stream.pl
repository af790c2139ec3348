#!/usr/bin/perl
# Test CGI: streams MiB mebibytes (default 8) that no compressor can shrink,
# one MiB at a time, for clients that stop reading (t/46-streaming.t).
use strict;
use warnings;

my ($mib) = ($ENV{QUERY_STRING} // '') =~ /mib=(\d+)/;
$mib ||= 8;
open my $random, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
read $random, my $block, 1 << 20;
$| = 1;
binmode STDOUT;
print "Content-Type: application/octet-stream\r\n\r\n";
print $block for 1 .. $mib;
