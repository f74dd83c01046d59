#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS each (make fuzz; make test's
# fuzz-short runs 5): balloc's own (deps/balloc/tests/fuzz, kept inputs in
# its corpus/), then fuzz_zmalloc over each installed backend (kept inputs in
# tests/fuzz/corpus). balloc's runner, deps/balloc/tests/fuzz/run.sh, runs
# them all: kept inputs first, then fuzzing, a crash kept in the target's
# corpus. Ends with "N passed, N failed" (one per target).
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-60}
MAKE=${MAKE:-make}
BALLOC_BUILD=$PWD/build/balloc
# A target that does not build is handed over missing: the runner counts it.
targets=()
$MAKE -s --no-print-directory -C deps/balloc BUILD="$BALLOC_BUILD" fuzz-targets >/dev/null ||
    rm -f "$BALLOC_BUILD"/fuzz/fuzz_balloc*
for t in fuzz_balloc fuzz_balloc-secure; do
    targets+=("$BALLOC_BUILD/fuzz/$t:deps/balloc/tests/fuzz/corpus")
done
for m in $($MAKE -s --no-print-directory print-backends | cut -d" " -f1); do
    if ! $MAKE -s --no-print-directory check-backend MALLOC=$m >/dev/null 2>&1; then
        echo "SKIPPED fuzz_zmalloc-$m: $($MAKE -s --no-print-directory check-backend MALLOC=$m 2>&1 | tail -n 1)"
        continue
    fi
    $MAKE -s --no-print-directory "build/fuzz/fuzz_zmalloc-$m" >/dev/null || rm -f "build/fuzz/fuzz_zmalloc-$m"
    targets+=("build/fuzz/fuzz_zmalloc-$m:tests/fuzz/corpus")
done
exec bash deps/balloc/tests/fuzz/run.sh "$seconds" "${targets[@]}"
