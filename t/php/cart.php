#!/usr/bin/php-cgi
<?php
// A PHP script reading and writing the session through mod_dbsession:
// it reads $_SERVER['SESSION_*'] and writes X-DBSession-* response headers.
$cart = isset($_SERVER['SESSION_cart']) && $_SERVER['SESSION_cart'] !== ''
    ? explode(',', $_SERVER['SESSION_cart']) : array();
if (isset($_GET['add'])) {
    $cart[] = $_GET['add'];
    header('X-DBSession-Set: cart=' . rawurlencode(implode(',', $cart)));
}
if (isset($_GET['login'])) {
    header('X-DBSession-User: ' . rawurlencode($_GET['login']));
}
if (isset($_GET['logout'])) {
    header('X-DBSession-Invalidate: 1');
}
if (isset($_GET['fail'])) {
    http_response_code(500);
}
header('Content-Type: text/plain');
echo 'user=', isset($_SERVER['DBSESSION_USER']) ? $_SERVER['DBSESSION_USER'] : '', "\n";
echo 'new=', $_SERVER['DBSESSION_NEW'], "\n";
echo 'cart=', implode(',', $cart), "\n";
