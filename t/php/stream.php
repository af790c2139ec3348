#!/usr/bin/php-cgi
<?php
// Streams 8 MiB that no compressor can shrink, flushing each MiB, for
// clients that stop reading (t/46-streaming.t).
header('Content-Type: application/octet-stream');
while (ob_get_level()) {
    ob_end_flush();
}
$block = random_bytes(1 << 20);
for ($i = 0; $i < 8; $i++) {
    echo $block;
    flush();
}
