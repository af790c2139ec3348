#!/usr/bin/env python3
"""A WSGI application behind mod_proxy_http that uses the session
(t/75-proxy.t runs it as the backend; see README "Proxied backends").

    python3 examples/python/app.py PORT

    <Location /app/>
        DBSession On
        DBSessionRequestHeaders On
        ProxyPass http://127.0.0.1:PORT/
    </Location>

GET ?set=key%3Dvalue, ?user=NAME, ?flash=MSG, ?logout=1 change the session;
every response lists what the application saw, one NAME=value per line.
"""
import os
import sys
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, make_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dbsession import Session  # noqa: E402


def application(environ, start_response):
    # Reachable only from the httpd that proxies to it, on loopback: the
    # DBSession-* request headers come from mod_dbsession.
    session = Session(environ, trust_headers=True)
    for name, value in parse_qsl(environ.get('QUERY_STRING', '')):
        if name == 'set':
            key, _, val = value.partition('=')
            session.set(key, val)
        elif name == 'user':
            session.login(value)
        elif name == 'flash':
            session.add_flash(value)
        elif name == 'logout':
            session.logout()
    lines = ['PY_NEW=%d' % session.new, 'PY_USER=' + session.user,
             'PY_CSRF=' + session.csrf]
    lines += ['PY_DATA_%s=%s' % kv for kv in sorted(session.data.items())]
    lines += ['PY_FLASH=' + m for m in session.flash]
    # Every DBSession-* header as it arrived, for the tests; and every
    # header name that could pose as one, as it came over the wire (wsgiref
    # leaves names with '_' out of the environ; other servers do not).
    lines += ['PY_RAW_%s=%s' % kv for kv in sorted(environ.items())
              if kv[0].startswith('HTTP_DBSESSION')]
    wire = [name for name in environ.get('app.header_names', [])
            if name.replace('_', '-').lower().startswith('dbsession-')]
    lines += ['PY_WIRE_%d=%s' % item for item in enumerate(wire)]
    body = ('\n'.join(lines) + '\n').encode('utf-8')
    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8'),
                              ('Content-Length', str(len(body)))]
                   + session.headers())
    return [body]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass

    def get_environ(self):
        environ = super().get_environ()
        environ['app.header_names'] = list(self.headers.keys())
        return environ


if __name__ == '__main__':
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    make_server('127.0.0.1', port, application,
                handler_class=QuietHandler).serve_forever()
