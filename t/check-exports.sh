#!/bin/bash
# The module exports one symbol: its record, dbsession_module, which httpd
# looks up by name when it loads the file. The glue and the core are
# compiled with -fvisibility=hidden (Makefile); the optional functions need
# no export either, APR's registry finds them by name. A core or glue
# symbol in the dynamic table could bind to another module's symbol of the
# same name (httpd loads modules with RTLD_GLOBAL).
#   t/check-exports.sh [MODULE.so]    (default: .libs/mod_dbsession.so)
set -euo pipefail
cd "$(dirname "$0")/.."
so=${1:-.libs/mod_dbsession.so}
exported=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sort)
if [ "$exported" != dbsession_module ]; then
    others=$(grep -vx dbsession_module <<<"$exported" || true)
    grep -qx dbsession_module <<<"$exported" ||
        echo "$so does not export dbsession_module" >&2
    [ -z "$others" ] ||
        echo "$so exports $(wc -l <<<"$others") symbols besides" \
            "dbsession_module: $(paste -sd ' ' <<<"$others")" >&2
    exit 1
fi
echo "$so exports dbsession_module only"
