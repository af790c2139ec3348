#!/bin/sh
# A shell CGI on the same session: SESSION_visits in, X-DBSession-Set out.
visits=$(( ${SESSION_visits:-0} + 1 ))
printf 'X-DBSession-Set: visits=%s\r\n' "$visits"
printf 'Content-Type: text/html\r\n\r\n'
printf '<p>Visits counted in your session: <b>%s</b>' "$visits"
printf '</p><p><a href="/counter.sh">again</a> &middot; <a href="/">back</a></p>\n'
