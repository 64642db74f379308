#!/bin/sh
# Usage: check_symbols.sh libmemview.a libmemview.so memview.h
# Every global symbol the static library defines starts with mv_, and the
# shared library exports exactly the functions the public header declares.
set -eu
static=$1 shared=$2 header=$3
fail=0
bad=$(nm -g --defined-only "$static" | awk 'NF == 3 {print $3}' | grep -v '^mv_' || true)
if [ -n "$bad" ]; then
    echo "static library exports symbols without the mv_ prefix:"; echo "$bad"; fail=1
fi
exported=$(nm -D --defined-only "$shared" | awk 'NF == 3 && $2 ~ /[TDBR]/ {print $3}' | sort)
declared=$(grep -v '^#' "$header" | grep -Eo 'MV_API [^(]*\(' | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort)
if [ "$exported" != "$declared" ]; then
    echo "shared library exports differ from the header (< exported, > declared):"
    tmp=$(mktemp -d)
    echo "$exported" > "$tmp/exported"; echo "$declared" > "$tmp/declared"
    diff "$tmp/exported" "$tmp/declared" || true
    rm -rf "$tmp"
    fail=1
fi
n=$(echo "$exported" | wc -l)
if [ "$fail" = 0 ]; then echo "symbols: $n exported functions, all declared in memview.h, all mv_-prefixed"; fi
exit $fail
