#!/bin/sh
# libballoc.a puts only balloc's API in a program's namespace: every global
# symbol it defines is balloc_*, je_* (the jemalloc-compatible API) or one
# of the exports listed here. Ends with "N passed, N failed".
lib=$1
passed=0 failed=0
defined=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }')
if [ -z "$defined" ]; then
    echo "not ok - no symbols read from $lib"
    echo "0 passed, 1 failed"
    exit 1
fi
members=$(ar t "$lib" | wc -l)
if [ "$members" -eq 1 ]; then
    echo "ok - $lib is one object"; passed=$((passed + 1))
else
    echo "not ok - $lib has $members members"; failed=$((failed + 1))
fi
stray=$(printf '%s\n' "$defined" | grep -Ev '^(balloc_|je_)' || true)
if [ -z "$stray" ]; then
    echo "ok - every global symbol is balloc_* or je_* ($(printf '%s\n' "$defined" | wc -l) symbols)"
    passed=$((passed + 1))
else
    echo "not ok - internal symbols are global:"; printf '  %s\n' $stray; failed=$((failed + 1))
fi
for s in balloc_malloc balloc_free balloc_ctl je_malloc je_mallctl je_get_defrag_hint; do
    if printf '%s\n' "$defined" | grep -qx "$s"; then passed=$((passed + 1))
    else echo "not ok - $s is not exported"; failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
