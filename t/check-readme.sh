#!/bin/bash
# README drift: every directive mod_dbsession_config.c registers (the
# AP_INIT_* names of its command_rec table) has a row in README's directive
# reference ("## Directives"), and every log tag DBSLOGNO(nnn) of a glue or
# core .c file a row DBSnnn in its table of log messages ("## Log
# messages"); and the other way round: no row for what the code no longer
# has. Run by make unit.
set -euo pipefail
cd "$(dirname "$0")/.."

# README's lines under the heading "## $1", up to the next "## ".
section() {
    awk -v title="## $1" '$0 == title { on = 1; next } on && /^## / { exit } on' \
        README.md
}
directives_code() {
    perl -0777 -ne 'print "$1\n" while /AP_INIT_\w+\(\s*"(\w+)"/g' \
        mod_dbsession_config.c | sort -u
}
directives_readme() {
    # shellcheck disable=SC2016 # a literal backquote
    section Directives | sed -n 's/^| `\([A-Za-z]*\)[ `].*/\1/p' | sort -u
}
tags_code() {
    grep -oh 'DBSLOGNO([0-9]*)' mod_dbsession*.c src/*.c |
        sed 's/DBSLOGNO(\(.*\))/DBS\1/' | sort -u
}
tags_readme() {
    section "Log messages" | sed -n 's/^| \(DBS[0-9]*\) |.*/\1/p' | sort -u
}

status=0
words() { paste -sd ' ' <<<"$1"; }
# compare WHAT WHERE CODE_LIST README_LIST
compare() {
    local missing stale
    if [ -z "$3" ]; then
        echo "check-readme: found no $1 in the code" >&2
        status=1
        return
    fi
    missing=$(comm -23 <(echo "$3") <(echo "$4"))
    stale=$(comm -13 <(echo "$3") <(echo "$4"))
    if [ -n "$missing" ]; then
        echo "README's $2 lacks $(words "$missing")" >&2
        status=1
    fi
    if [ -n "$stale" ]; then
        echo "README's $2 lists $(words "$stale")," \
            "which the code does not have" >&2
        status=1
    fi
    [ -n "$missing$stale" ] ||
        echo "README's $2 has all $(wc -l <<<"$3") $1 and no other"
}
compare directives "directive reference" "$(directives_code)" \
    "$(directives_readme)"
compare "log tags" "table of log messages" "$(tags_code)" "$(tags_readme)"
exit $status
