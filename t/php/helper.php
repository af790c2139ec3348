#!/usr/bin/php-cgi
<?php
// examples/php/DBSession.php at work: several writes in one response,
// values PHP's header() would mangle if joined, a login, a flash.
require __DIR__ . '/../../examples/php/DBSession.php';

if (isset($_GET['write'])) {
    DBSession::set('a', 'one, two');
    DBSession::set('b', "caf\xc3\xa9 & more=less");
    DBSession::set('gone', 'x');
    DBSession::unset('gone');
    DBSession::flash('Saved, thanks');
}
if (isset($_GET['login'])) {
    DBSession::login($_GET['login']);
}
if (isset($_GET['badkey'])) {
    try {
        DBSession::set('no-dashes', 'x');
    } catch (InvalidArgumentException $e) {
        echo "refused=1\n";
    }
}
header('Content-Type: text/plain; charset=utf-8');
echo 'new=', DBSession::isNew() ? '1' : '0', "\n";
echo 'user=', DBSession::user(), "\n";
foreach (DBSession::all() as $k => $v) {
    echo "data_$k=$v\n";
}
foreach (DBSession::flashes() as $m) {
    echo "flash=$m\n";
}
echo 'csrf_field=', DBSession::csrfField() === '' ? '' : 'yes', "\n";
