#!/usr/bin/env bash
# deps/balloc/tests/run.sh -- the one runner of test suites, balloc's and
# zmalloc's: runs each suite and adds up their closing "N passed, N failed"
# lines (tests/harness.h prints them) into one of its own.
#
#   run.sh COMMAND...    each COMMAND, one argument, is a shell command line
#                        that runs one suite: its output is shown, its
#                        summary line replaced by "  COMMAND: N passed, N failed"
#
# A suite counts what its last summary line says; a suite that prints none,
# or exits non-zero with none failed, counts one failure more. Exit status 0
# when nothing failed.
#
# Sourced (`. run.sh`), it runs nothing and gives the functions to a script
# that runs its suites itself (tests/run-matrix.sh at the top):
#   suite_count LABEL STATUS FILE   add the summary in FILE, the output of a
#                                   suite that exited with STATUS
#   suite_run COMMAND               run a suite as above
#   suite_total                     print the totals; status 0 when none failed

suite_passed=0
suite_failed=0
SUITE_SUMMARY='^[0-9]+ passed, [0-9]+ failed$'

suite_count() {
    local label=$1 status=$2 summary p f
    summary=$(grep -E "$SUITE_SUMMARY" "$3" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "not ok - $label ended without its summary (exit $status)"
        suite_failed=$((suite_failed + 1))
        return 1
    fi
    p=${summary%% passed*}
    f=${summary#*, }
    f=${f%% failed}
    suite_passed=$((suite_passed + p))
    suite_failed=$((suite_failed + f))
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $label exited $status"
        suite_failed=$((suite_failed + 1))
    fi
    echo "  $label: $summary"
}

suite_run() {
    local out status
    out=$(mktemp) || return 1
    bash -c "$1" >"$out" 2>&1
    status=$?
    grep -vE "$SUITE_SUMMARY" "$out"
    suite_count "$1" "$status" "$out"
    rm -f "$out"
}

suite_total() {
    echo "$suite_passed passed, $suite_failed failed"
    [ "$suite_failed" -eq 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    for cmd in "$@"; do suite_run "$cmd"; done
    suite_total
fi
