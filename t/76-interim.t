# Interim (1xx) responses never carry X-DBSession-* headers to the client:
# mod_proxy_http forwards a backend's 103 Early Hints with its headers
# (ap_send_interim_response writes r->headers_out straight to the
# connection). A raw-socket backend sends a 103 with X-DBSession-User and a
# Link, then a 200; the raw response the client reads (LWP hides 1xx) has
# the Link but no X-DBSession-* header.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep);
use lib 't/lib';
use DBSTest;

plan tests => 5;

# t/75-proxy.t's port: the files run one after the other.
my $port = $ENV{DBS_BACKEND_PORT} or die 'DBS_BACKEND_PORT is not set';
my $listen = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port", Listen => 8,
                                   ReuseAddr => 1) or die "listen: $!";
my $backend = fork // die "fork: $!";
if (!$backend) {
    while (my $c = $listen->accept) {
        local $/ = "\r\n\r\n";
        my $request = <$c>;
        print $c "HTTP/1.1 103 Early Hints\r\n",
                 "Link: </style.css>; rel=preload; as=style\r\n",
                 "X-DBSession-User: x\r\n",
                 "x-dbsession-set: admin=1\r\n\r\n",
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
                 "Content-Length: 3\r\nConnection: close\r\n\r\nok\n";
        close $c;
    }
    exit 0;
}
close $listen;
END { if ($backend) { local $?; kill 'TERM', $backend; waitpid $backend, 0 } }

my $hostport = Apache::TestRequest::hostport();
my $sock = IO::Socket::INET->new($hostport) or die "connect $hostport: $!";
print $sock "GET /proxy-hints/ HTTP/1.1\r\nHost: $hostport\r\nConnection: close\r\n\r\n";
my $raw = do { local $/; <$sock> } // '';
close $sock;

my ($interim) = $raw =~ /^(HTTP\/1\.1 103 [^\r\n]*\r\n.*?\r\n\r\n)/s;
ok $interim, 'the client gets the backend\'s 103 Early Hints'
    or diag $raw;
like $interim // '', qr/^Link: <\/style\.css>/m, '...with its Link header';
unlike $interim // '', qr/^x-dbsession-/mi, '...but no X-DBSession-* header';
like $raw, qr/HTTP\/1\.1 200 OK.*\r\n\r\nok\n\z/s, 'then the final 200';
unlike $raw, qr/^x-dbsession-/mi, 'no X-DBSession-* header anywhere';
