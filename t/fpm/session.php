<?php
// Behind php-fpm through mod_proxy_fcgi (t/77-php-fpm.t): the session as
// the FastCGI parameters mod_dbsession sets, and header() writes back.
require __DIR__ . '/../../examples/php/DBSession.php';

if (isset($_GET['set'])) {
    header('X-DBSession-Set: ' . $_GET['set']);
}
if (isset($_GET['set2'])) {
    header('X-DBSession-Set: ' . $_GET['set2'], false);
}
if (isset($_GET['login'])) {
    DBSession::login($_GET['login']);
}
header('Content-Type: text/plain; charset=utf-8');
echo 'sapi=', PHP_SAPI, "\n";
ksort($_SERVER);
foreach ($_SERVER as $name => $value) {
    if (preg_match('/^(SESSION_|DBSESSION_|HTTP_DBSESSION)/', $name)) {
        echo "$name=$value\n";
    }
}
echo 'getenv_user=', getenv('DBSESSION_USER'), "\n";
echo 'helper_user=', DBSession::user(), "\n";
