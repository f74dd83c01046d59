#!/usr/bin/env bash
# Runs test programs one after another and adds up their closing
# "N passed, N failed" lines into one of its own.
set -u
passed=0 failed=0
for t in "$@"; do
    out=$("$t" 2>&1)
    status=$?
    printf '%s\n' "$out" | sed '$d'
    summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$summary" ]; then
        echo "not ok - $t ended without its summary (exit $status)"
        failed=$((failed + 1))
        continue
    fi
    echo "  $t: $summary"
    passed=$((passed + ${summary%% passed*}))
    f=${summary#*, }
    failed=$((failed + ${f%% failed*}))
    [ "$status" -ne 0 ] && [ "${f%% failed*}" -eq 0 ] && failed=$((failed + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
