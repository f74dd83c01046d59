#!/usr/bin/env bash
# The test matrix behind `make test`: the zmalloc suite once per backend and
# accounting mode and under the sanitizers, then balloc's own suites. Every
# suite ends with "N passed, N failed"; this script adds them up and ends with
# the same line. A backend whose library is missing is reported as SKIPPED
# with the package that provides it.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export MSAN_OPTIONS=allocator_may_return_null=1:halt_on_error=1
export TSAN_OPTIONS=allocator_may_return_null=1:halt_on_error=1:second_deadlock_stack=1

passed=0 failed=0
skipped=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run LABEL TARGET MAKE-ARGS...: one suite, its counts added to the totals.
run() {
    local label=$1 target=$2
    shift 2
    echo "== $label"
    if ! $MAKE -s --no-print-directory check-backend "$@" >"$log" 2>&1; then
        skipped+=("$label: $(tail -n 1 "$log")")
        echo "SKIPPED: $(tail -n 1 "$log")"
        return
    fi
    $MAKE -s --no-print-directory -j2 "$target" "$@" >"$log" 2>&1
    local status=$?
    grep -v '^ok - ' "$log"
    local summary
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "FAILED: $label did not run to its summary (exit $status)"
        failed=$((failed + 1))
        return
    fi
    local p f
    p=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAILED: $label exited $status"
        failed=$((failed + 1))
    fi
}

run "balloc's own suite" balloc-test
run "balloc under ASan+UBSan" balloc-test-asan
run "balloc, hardened build (BALLOC_SECURE=1)" balloc-test-secure
run "bundled (balloc)" check MALLOC=bundled
run "bundled (balloc), built with clang" check MALLOC=bundled CC=clang
run "bundled (balloc, hardened build)" check MALLOC=bundled BALLOC_SECURE=1
run "libc, usable-size mode" check MALLOC=libc
run "libc, prefix-header mode" check MALLOC=libc ZMALLOC_PREFIX=yes
run "the built configuration (print-cflags, link-time check)" check-config
# The optional backends: those with a package (make print-backends).
while read -r m pkg; do
    [ "$pkg" = - ] || run "$m" check MALLOC=$m
done < <($MAKE -s --no-print-directory print-backends)
run "jemalloc, prefix-header mode" check MALLOC=jemalloc ZMALLOC_PREFIX=yes
run "ASan+UBSan (libc)" check SANITIZER=address
run "ASan+UBSan (libc), prefix-header mode" check SANITIZER=address ZMALLOC_PREFIX=yes
run "MSan (libc, clang)" check SANITIZER=memory
run "TSan (libc)" check MALLOC=libc SANITIZER=thread
run "TSan (bundled: balloc built with TSan too)" check MALLOC=bundled SANITIZER=thread
run "TSan (bundled, hardened build)" check MALLOC=bundled BALLOC_SECURE=1 SANITIZER=thread
run "Valgrind memcheck (libc)" check-valgrind MALLOC=libc
run "fuzzing: kept inputs, then 5 s per target" fuzz-short

echo
if [ ${#skipped[@]} -gt 0 ]; then
    echo "Skipped (install with 'make deps' as root):"
    for s in "${skipped[@]}"; do echo "  $s"; done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
