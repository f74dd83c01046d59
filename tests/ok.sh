# tests/ok.sh -- sourced by the shell test scripts: a scratch directory
# removed at exit ($tmp), `ok NAME COMMAND...` (one "ok -" or "not ok -"
# line, counted), and `ok_summary`, the closing "N passed, N failed" line,
# whose status is the script's.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { # ok NAME COMMAND...
    local name=$1
    shift
    if "$@"; then echo "ok - $name"; passed=$((passed + 1)); else echo "not ok - $name"; failed=$((failed + 1)); fi
}
ok_summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
