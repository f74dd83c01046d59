#!/usr/bin/env bash
# The test matrix behind `make test`: the zmalloc suite once per backend and
# accounting mode and under the sanitizers, then balloc's own suites. Every
# suite ends with "N passed, N failed"; balloc's runner (deps/balloc/tests/
# run.sh) adds them up and this script ends with the same line. A backend
# whose library is missing is reported as SKIPPED with the package that
# provides it.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export MSAN_OPTIONS=allocator_may_return_null=1:halt_on_error=1
export TSAN_OPTIONS=allocator_may_return_null=1:halt_on_error=1:second_deadlock_stack=1

. deps/balloc/tests/run.sh
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
    grep -vE '^ok - |^[0-9]+ passed, [0-9]+ failed$' "$log"
    suite_count "$label" "$status" "$log"
}

# balloc's fuzz targets run in fuzz-short at the end, kept inputs first.
run "balloc's own suite" balloc-test SKIP_TESTS=fuzz
run "balloc under ASan+UBSan" balloc-test-asan
run "balloc, hardened build (BALLOC_SECURE=1)" balloc-test-secure
run "bundled (balloc)" check MALLOC=bundled
run "bundled (balloc), built with clang" check MALLOC=bundled CC=clang
run "bundled (balloc, hardened build)" check MALLOC=bundled BALLOC_SECURE=1
run "libc, usable-size mode" check MALLOC=libc
run "libc, prefix-header mode" check MALLOC=libc ZMALLOC_PREFIX=yes
run "the built configuration (print-cflags, link-time check)" check-config
run "balloc's layering (tests/check_layers.sh)" check-layers
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

# CMake beside make: configure, build and ctest in build/cmake (the default
# backend); each ctest test is one suite, counted from ctest's closing line.
echo "== CMake build (bundled), ctest"
if ! command -v cmake >/dev/null; then
    skipped+=("CMake build: no cmake (Debian package cmake)")
    echo "SKIPPED: no cmake"
else
    { cmake -S . -B build/cmake && cmake --build build/cmake -j2 && ctest --test-dir build/cmake --output-on-failure; } \
        >"$log" 2>&1
    status=$?
    grep -E '^ *[0-9]+/[0-9]+ Test' "$log"
    [ "$status" -eq 0 ] || tail -n 30 "$log"
    counts=$(sed -nE 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+)$/\2 \1/p' "$log")
    if [ -n "$counts" ]; then
        read -r total f <<<"$counts"
        echo "$((total - f)) passed, $f failed" >>"$log"
    fi
    suite_count "CMake build, ctest" "$status" "$log"
fi

echo
if [ ${#skipped[@]} -gt 0 ]; then
    echo "Skipped (install with 'make deps' as root):"
    for s in "${skipped[@]}"; do echo "  $s"; done
fi
suite_total
