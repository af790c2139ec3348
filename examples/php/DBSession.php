<?php
// DBSession: the mod_dbsession session in PHP (php-cgi, php-fpm through
// mod_proxy_fcgi, mod_php). Reads come from $_SERVER (SESSION_*, DBSESSION_*
// as mod_dbsession sets them); writes are X-DBSession-* response headers,
// which the module applies in the request's transaction and removes before
// the response leaves httpd. Each write is a header of its own
// (header(..., false)): PHP's header() would otherwise replace the previous
// one of the same name, and only the last Set would be stored. The data
// writes are sent just before the headers go out, net of each other, so
// they take effect in the order of the calls (the module itself applies
// Clear, then Unset, then Set, whatever the order of the headers).
//
//   require 'DBSession.php';
//   $cart = DBSession::get('cart', '');
//   DBSession::set('cart', $cart . ',apple');
//   DBSession::login('alice');          // also a new session ID and token
//   echo '<form method="post">', DBSession::csrfField(), ...;
//
// Nothing is stored unless the response commits (a status below
// DBSessionRollbackStatus, 400 by default).
final class DBSession
{
    /** DBSessionEnvPrefix, if the server changed it. */
    public static $prefix = 'SESSION_';

    /** Whether the request came without a live session. */
    public static function isNew()
    {
        return self::server('DBSESSION_NEW', '1') !== '0';
    }

    public static function get($key, $default = null)
    {
        return self::server(self::$prefix . $key, $default);
    }

    /** Every key and value of the session. */
    public static function all()
    {
        $all = array();
        $n = strlen(self::$prefix);
        foreach ($_SERVER as $name => $value) {
            if (strncmp($name, self::$prefix, $n) === 0) {
                $all[substr($name, $n)] = $value;
            }
        }
        return $all;
    }

    /** The session's user, '' for none. */
    public static function user()
    {
        return self::server('DBSESSION_USER', '');
    }

    /** The session's CSRF token, '' before the session exists. */
    public static function csrf()
    {
        return self::server('DBSESSION_CSRF', '');
    }

    /** A hidden form field with the token, for DBSessionCSRFCheck On. */
    public static function csrfField()
    {
        return '<input type="hidden" name="_csrf" value="'
            . htmlspecialchars(self::csrf(), ENT_QUOTES) . '">';
    }

    /** The pending flash messages (taken: gone once this request commits). */
    public static function flashes()
    {
        $raw = self::server('DBSESSION_FLASH', '');
        return $raw === '' ? array() : array_map('rawurldecode', explode('&', $raw));
    }

    public static function set($key, $value)
    {
        self::data(self::key($key), array('Set', (string) $value));
    }

    public static function unset($key)
    {
        self::data(self::key($key), array('Unset'));
    }

    public static function clear()
    {
        self::data(null, null);
        self::$cleared = true;
    }

    /** Set the user ('' logs out the user but keeps the session). */
    public static function login($user)
    {
        self::write('User', rawurlencode($user));
    }

    /** Delete the session and expire its cookie; data written before in
     * this request goes with it, data written after starts a new one. */
    public static function logout()
    {
        self::data(null, null);
        self::$cleared = false;
        self::write('Invalidate', '1');
    }

    public static function regenerate()
    {
        self::write('Regenerate', '1');
    }

    /** Log this user out of every other session. */
    public static function revokeOthers()
    {
        self::write('Revoke-Others', '1');
    }

    public static function flash($message)
    {
        self::write('Flash', rawurlencode($message));
    }

    private static function server($name, $default)
    {
        return isset($_SERVER[$name]) ? $_SERVER[$name] : $default;
    }

    private static function key($key)
    {
        if (!preg_match('/^[A-Za-z_][A-Za-z0-9_]{0,63}$/', $key)) {
            throw new InvalidArgumentException("not a session key: $key");
        }
        return $key;
    }

    private static function write($op, $value)
    {
        header("X-DBSession-$op: $value", false);
    }

    /** The data writes of this response: key => array('Set', value) or
     * array('Unset'), the last call per key; cleared: Clear came first. */
    private static $pending = array();
    private static $cleared = false;
    private static $registered = false;

    private static function data($key, $op)
    {
        if ($key === null) {
            self::$pending = array();
        } else {
            unset(self::$pending[$key]); // the last call goes last
            self::$pending[$key] = $op;
        }
        if (!self::$registered) {
            self::$registered = header_register_callback(array(__CLASS__, 'send'));
        }
    }

    /** @internal header_register_callback: the net data writes. */
    public static function send()
    {
        if (self::$cleared) {
            self::write('Clear', '1');
        }
        foreach (self::$pending as $key => $op) {
            self::write($op[0], $op[0] === 'Set' ? $key . '=' . rawurlencode($op[1]) : $key);
        }
        self::$pending = array();
        self::$cleared = false;
    }
}
