#!/usr/bin/env bash
# deps/balloc/tests/fuzz/run.sh SECONDS TARGET:CORPUS... -- runs libFuzzer
# targets, balloc's (make fuzz, make test) and zmalloc's (its tests/fuzz/run.sh).
# Each TARGET (a built program) runs first on the kept inputs in CORPUS (every
# crash found before: regression tests), then fuzzes for SECONDS, growing a
# working corpus beside the program; SECONDS 0 runs the kept inputs only. A
# crash input is written into CORPUS, named after the target, so it is
# replayed from then on. Ends with "N passed, N failed", one per target.
set -u
seconds=$1
shift
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0
for spec in "$@"; do
    bin=${spec%%:*}
    corpus=${spec#*:}
    t=${bin##*/}
    log=$bin.log
    if [ ! -x "$bin" ]; then
        echo "not ok - $t: $bin is not built"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$corpus"
    if [ "$seconds" = 0 ]; then
        run=(-runs=0 "$corpus")
    else
        mkdir -p "$bin.corpus"
        run=(-max_total_time="$seconds" "$bin.corpus" "$corpus")
    fi
    if "$bin" "${run[@]}" -rss_limit_mb=4096 -timeout=30 -max_len=4096 \
        -artifact_prefix="$corpus/$t-" >"$log" 2>&1; then
        echo "ok - $t: $(grep -E '^Done [0-9]+ runs|INITED' "$log" | tail -n 1)"
        passed=$((passed + 1))
    else
        echo "not ok - $t (log: $log)"
        grep -E 'fuzz_(zmalloc|balloc):|ERROR|SUMMARY|artifact' "$log" | head -n 8
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
