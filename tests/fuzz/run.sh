#!/usr/bin/env bash
# Runs every fuzz target: first the kept inputs (tests/fuzz/corpus, and any
# crash found before, as regression tests), then SECONDS of fuzzing each,
# growing a working corpus in build/fuzz. A crash input is written to
# tests/fuzz/corpus/ so it is replayed from then on. Ends with
# "N passed, N failed" (one per target).
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-60}
MAKE=${MAKE:-make}
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0 failed=0
targets=(fuzz_balloc fuzz_balloc-secure)
for m in $($MAKE -s --no-print-directory print-backends | cut -d' ' -f1); do
    if $MAKE -s --no-print-directory check-backend MALLOC=$m >/dev/null 2>&1; then
        targets+=("fuzz_zmalloc-$m")
    else
        echo "SKIPPED fuzz_zmalloc-$m: $($MAKE -s --no-print-directory check-backend MALLOC=$m 2>&1 | tail -n 1)"
    fi
done
for t in "${targets[@]}"; do
    bin=build/fuzz/$t
    work=build/fuzz/corpus-$t
    mkdir -p "$work"
    if ! $MAKE -s --no-print-directory "$bin" >/dev/null; then
        echo "not ok - $t: build failed"
        failed=$((failed + 1))
        continue
    fi
    log=build/fuzz/$t.log
    if "$bin" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 -max_len=4096 \
        -artifact_prefix=tests/fuzz/corpus/"$t"- "$work" tests/fuzz/corpus >"$log" 2>&1; then
        echo "ok - $t: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)"
        passed=$((passed + 1))
    else
        echo "not ok - $t (log: $log)"
        grep -E 'fuzz_(zmalloc|balloc):|ERROR|SUMMARY|artifact' "$log" | head -n 8
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
