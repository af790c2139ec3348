#!/usr/bin/php-cgi
<?php
// mod_dbsession demo: the session arrives in $_SERVER (SESSION_*, DBSESSION_*)
// and goes back in X-DBSession-* response headers; examples/php/DBSession.php
// wraps both. No session code in PHP itself.
require __DIR__ . '/../../examples/php/DBSession.php';
function h($s) { return htmlspecialchars($s, ENT_QUOTES); }
function back($flash) {
    DBSession::flash($flash);
    header('Location: /', true, 303);
    exit;
}

// DBSessionCSRFCheck is On: every POST carries the session's token. A first
// visit stores a value, so that the session (and its token) exists before
// any form is shown; "fresh" stops a loop for a browser that drops cookies.
if (DBSession::isNew() && !isset($_GET['fresh'])) {
    DBSession::set('visited', '1');
    header('Location: /?fresh=1', true, 303);
    exit;
}
function csrf_field() { return DBSession::csrfField(); }

$user = DBSession::user();
$cart = DBSession::get('cart', '') !== '' ? explode(',', DBSession::get('cart')) : array();
$action = isset($_POST['action']) ? $_POST['action'] : '';

if ($action === 'login' && trim($_POST['name']) !== '') {
    // A change of user also gives the session a new ID.
    DBSession::login(trim($_POST['name']));
    back('Welcome, ' . trim($_POST['name']) . '!');
}
if ($action === 'add' && trim($_POST['item']) !== '') {
    $cart[] = str_replace(',', ' ', trim($_POST['item']));
    DBSession::set('cart', implode(',', $cart));
    back('Added to the cart.');
}
if ($action === 'fail') {
    // The write is queued, then the request fails: the transaction rolls
    // back, so the cart is left as it was.
    DBSession::set('cart', implode(',', array_merge($cart, array('LOST ITEM'))));
    http_response_code(500);
    echo "<p>This request failed with a 500 after writing to the session.",
         " Nothing it wrote was kept: <a href=\"/\">go back</a>.</p>";
    exit;
}
if ($action === 'logout_others') {
    // Every other session of this user is deleted in this transaction.
    DBSession::revokeOthers();
    back('Logged out of your other browsers and devices.');
}
if ($action === 'logout') {
    DBSession::logout();
    header('Location: /', true, 303);
    exit;
}

header('Content-Type: text/html; charset=utf-8');
$flash = DBSession::flashes();
?>
<!doctype html>
<title>mod_dbsession demo</title>
<style>body{font:16px sans-serif;max-width:40em;margin:2em auto}
.flash{background:#efe;padding:.5em}code{background:#eee}</style>
<h1>mod_dbsession demo</h1>
<?php foreach ($flash as $m) echo '<p class="flash">', h($m), "</p>\n"; ?>
<p>Session: <?= $_SERVER['DBSESSION_NEW'] === '1' ? '<b>none yet</b> (nothing stored, no cookie, no row)' : 'created ' . date('H:i:s', $_SERVER['DBSESSION_CREATED']) . ', expires ' . date('H:i:s', $_SERVER['DBSESSION_EXPIRES']) ?></p>
<?php if (isset($_COOKIE['session'])): ?>
<p>Cookie fingerprint: <code><?= h(substr(hash('sha256', $_COOKIE['session']), 0, 8)) ?></code>.
<code>DBSessionRenewalTimeout 60</code>: reload after a minute and it changes
(a new session ID), while the session and its data stay.</p>
<?php endif; ?>
<?php if ($user === ''): ?>
<form method="post"><?= csrf_field() ?><input name="name" placeholder="your name">
<button name="action" value="login">Log in</button></form>
<?php else: ?>
<form method="post"><?= csrf_field() ?>Logged in as <b><?= h($user) ?></b>
<button name="action" value="logout">Log out</button>
<button name="action" value="logout_others">Log out other devices</button></form>
<?php endif; ?>
<h2>Cart</h2>
<ul><?php foreach ($cart as $item) echo '<li>', h($item), "</li>\n"; ?></ul>
<form method="post"><?= csrf_field() ?><input name="item" placeholder="an item">
<button name="action" value="add">Add</button>
<button name="action" value="fail">Add, then fail with a 500</button></form>
<p><a href="/counter.sh">A shell CGI counter</a> shares the same session;
<a href="/dbsession-status">the module's counters</a> show the whole server.
Every form carries the session's CSRF token (<code>DBSESSION_CSRF</code>);
a POST without it gets 403.</p>
