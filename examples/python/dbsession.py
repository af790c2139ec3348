"""The mod_dbsession session in a Python web application.

Behind mod_proxy_http with ``DBSessionRequestHeaders On`` the session
arrives as DBSession-* request headers (HTTP_DBSESSION_* in a WSGI environ):
pass ``trust_headers=True`` only there, in a backend that nobody but that
httpd can reach (mod_dbsession drops any such header a client sends, in
either spelling: WSGI servers map ``DBSession_User`` and ``DBSession-User``
to the same HTTP_DBSESSION_USER). Under mod_wsgi or as a CGI the session
arrives as DBSESSION_* / SESSION_* variables, the default.
Changes go back as X-DBSession-* response headers, which mod_dbsession
applies in the request's transaction and removes before the response
leaves httpd. Standard library only.

    session = Session(environ)                      # CGI, mod_wsgi
    session = Session(environ, trust_headers=True)  # behind mod_proxy
    session.get('cart'); session.user; session.csrf
    session.set('cart', 'apple, pear'); session.login('alice')
    start_response('200 OK', headers + session.headers())
"""
from urllib.parse import parse_qsl, quote, unquote, urlencode

__all__ = ['Session']


class Session:
    def __init__(self, environ, env_prefix='SESSION_', trust_headers=False):
        def header(name):
            return environ.get('HTTP_DBSESSION_' + name)

        if trust_headers:  # DBSessionRequestHeaders On, behind mod_proxy
            self.new = header('NEW') != '0'
            self.user = unquote(header('USER') or '')
            self.csrf = header('CSRF') or ''
            self.data = dict(parse_qsl(header('DATA') or '',
                                       keep_blank_values=True))
            flash = header('FLASH') or ''
        else:  # CGI, mod_wsgi: the environment
            self.new = environ.get('DBSESSION_NEW', '1') != '0'
            self.user = environ.get('DBSESSION_USER', '')
            self.csrf = environ.get('DBSESSION_CSRF', '')
            self.data = {k[len(env_prefix):]: v for k, v in environ.items()
                         if k.startswith(env_prefix)}
            flash = environ.get('DBSESSION_FLASH', '')
        # Pending messages, already taken out of the session (gone once
        # this request commits).
        self.flash = [unquote(m) for m in flash.split('&') if m]
        self._writes = []

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value):
        """Store a value (keys: [A-Za-z_][A-Za-z0-9_]{0,63})."""
        self.data[key] = value
        self._writes.append(('X-DBSession-Set',
                             urlencode({key: value}, quote_via=quote)))

    def unset(self, key):
        self.data.pop(key, None)
        self._writes.append(('X-DBSession-Unset', key))

    def clear(self):
        self.data.clear()
        self._writes.append(('X-DBSession-Clear', '1'))

    def login(self, user):
        """Set the user: the session also gets a new ID and CSRF token."""
        self.user = user
        self._writes.append(('X-DBSession-User', quote(user, safe='')))

    def logout(self):
        """Delete the session and expire its cookie."""
        self._writes.append(('X-DBSession-Invalidate', '1'))

    def regenerate(self):
        self._writes.append(('X-DBSession-Regenerate', '1'))

    def revoke_others(self):
        """Log this user out of every other session."""
        self._writes.append(('X-DBSession-Revoke-Others', '1'))

    def add_flash(self, message):
        self._writes.append(('X-DBSession-Flash', quote(message, safe='')))

    def headers(self):
        """The response headers that carry this request's changes."""
        return list(self._writes)
