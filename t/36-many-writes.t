# Many writes in one response cost linear memory and time: 20000 one-byte
# flash messages (40 KB, within DBSessionMaxSize) once took a child to
# 430 MB. The serving child's peak memory (VmHWM) must stay small; over
# DBSessionMaxSize the write is refused (500) as soon as it passes it.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use DBSTest;

plan tests => 12;

my $N = 20000;

# The peak resident memory (kB) of every httpd child, by pid.
sub peaks {
    my %hwm;
    open my $pf, '<', 't/logs/httpd.pid' or die "httpd.pid: $!";
    chomp(my $parent = <$pf>);
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        next unless $ppid == $parent;
        open my $st, '<', "/proc/$pid/status" or next;
        while (<$st>) { $hwm{$pid} = $1 if /^VmHWM:\s+(\d+)/ }
    }
    return \%hwm;
}
# How much the peak of the children grew (MB) while $code ran.
sub growth {
    my ($code) = @_;
    my $before = peaks();
    my $res = $code->();
    my $after = peaks();
    my $max = 0;
    for my $pid (keys %$after) {
        my $d = $after->{$pid} - ($before->{$pid} // 0);
        $max = $d if $d > $max;
    }
    return ($res, $max / 1024);
}

my $s = new_session('/cgi', 'a%3D1');
my ($res, $mb) = growth(sub {
    req(GET => "/cgi/flood.pl?kind=flash&n=$N", cookie => $s) });
is $res->code, 200, "$N one-byte flash messages (within DBSessionMaxSize): 200";
cmp_ok $mb, '<', 64, "...and the child's peak memory grew by < 64 MB";
my $flash = seen(req(GET => '/cgi/flood.pl', cookie => $s))->{DBSESSION_FLASH};
is scalar(split /&/, $flash // ''), $N, 'every message arrives';
is $flash, join('&', ('m') x $N), '...in order, exactly';

# Over the size: refused, nothing applied.
$s = new_session('/cgi-small', 'a%3D1');
($res, $mb) = growth(sub {
    req(GET => "/cgi-small/flood.pl?kind=flash&n=$N", cookie => $s) });
is $res->code, 500, 'over DBSessionMaxSize: 500';
cmp_ok $mb, '<', 64, "...without the child's memory blowing up";
ok !exists seen(req(GET => '/cgi-small/flood.pl', cookie => $s))->{DBSESSION_FLASH},
    '...and no message was stored';

# Set of K assignments, then Unset of the K keys.
my $K = 2000;    # every key becomes a CGI variable: mod_cgid takes some 4000
$s = new_session('/cgi', 'a%3D1');
($res, $mb) = growth(sub {
    req(GET => "/cgi/flood.pl?kind=set&n=$K", cookie => $s) });
is $res->code, 200, "X-DBSession-Set of $K assignments: 200";
cmp_ok $mb, '<', 64, "...in bounded memory";
is seen(req(GET => '/cgi/flood.pl', cookie => $s))->{KEYS}, $K, '...every key stored';
($res, $mb) = growth(sub {
    req(GET => "/cgi/flood.pl?kind=unset&n=$K", cookie => $s) });
is $res->code, 200, "X-DBSession-Unset of $K keys: 200";
is seen(req(GET => '/cgi/flood.pl', cookie => $s))->{KEYS}, 0, '...every key gone';
