#!/bin/sh
# A shell CGI: count visits in the session (SESSION_count in, X-DBSession-Set out).
count=$(( ${SESSION_count:-0} + 1 ))
printf 'X-DBSession-Set: count=%s\r\n' "$count"
printf 'Content-Type: text/plain\r\n\r\n'
printf 'count=%s\n' "$count"
