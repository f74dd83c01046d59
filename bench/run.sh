#!/usr/bin/env bash
# `make bench`: the accounting overhead on every installed backend, the
# fragmentation and defrag table, lazy free (`bench/run.sh lazyfree` alone), then
# balloc's cross-allocator suite (deps/balloc/bench/run.sh). Tables go to the
# screen and to bench/results/. BENCH_SCALE (default 0.3) scales the work; BENCH_REPS
# (default 11) sets the best-of count: on a shared 2-core machine the
# 2-thread figures need many tries to find an undisturbed one. A benchmark, not a test: nothing here
# passes or fails on time.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
scale=${BENCH_SCALE:-0.3}
reps=${BENCH_REPS:-11}
mkdir -p bench/results

# Lazy free on balloc, jemalloc and glibc: the main thread's pause and its
# allocation rate while the background thread frees (`make bench-lazyfree`
# runs this part alone).
lazyfree() {
    local lout=bench/results/lazyfree.txt m
    {
        echo "# lazy free (bench/lazyfree.c): $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
        echo "# pause_us: the main thread's drop (sync: the zfree loop; lazy: queueing the job)"
        echo "# bg_ms: the background thread's free; during_M/s: the main thread's allocations,"
        echo "# millions per second, while it runs; quiet_M/s: the same on a quiet heap;"
        echo "# ratio: during/quiet; stall_us: the slowest 256 allocations during it"
    } >"$lout"
    for m in bundled jemalloc libc; do
        if ! $MAKE -s --no-print-directory check-backend MALLOC=$m >/dev/null 2>&1; then
            echo "SKIPPED MALLOC=$m" | tee -a "$lout"
            continue
        fi
        $MAKE -s --no-print-directory -j2 MALLOC=$m "build/$m/bench_lazyfree" >/dev/null || exit 1
        "build/$m/bench_lazyfree" "${BENCH_REPS_LAZYFREE:-3}" | tee -a "$lout"
    done
    echo "written: $lout"
}
if [ "${1:-}" = lazyfree ]; then
    lazyfree
    exit 0
fi

out=bench/results/overhead.txt
{
    echo "# zmalloc overhead over each backend, ns per allocate+free pair"
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, scale $scale, best of $reps"
    echo "# raw: backend malloc+free; zmalloc: zmalloc+zfree; shared: backend calls plus a"
    echo "# usable-size look-up and one shared atomic counter (how Redis's zmalloc counts)."
    echo "# over%: zmalloc over raw at 1 thread; x2: pairs/s at 2 threads over 1 thread."
} >"$out"
backends=$($MAKE -s --no-print-directory print-backends | cut -d' ' -f1)
for m in $backends; do
    if ! $MAKE -s --no-print-directory check-backend MALLOC=$m >/dev/null 2>&1; then
        echo "SKIPPED MALLOC=$m: $($MAKE -s --no-print-directory check-backend MALLOC=$m 2>&1 | tail -n 1)" | tee -a "$out"
        continue
    fi
    if [ "$m" = bundled ] && [ ! -f deps/balloc/Makefile ]; then continue; fi
    $MAKE -s --no-print-directory -j2 MALLOC=$m "build/$m/bench_overhead" >/dev/null || exit 1
    echo | tee -a "$out"
    "build/$m/bench_overhead" "$scale" "$reps" | tee -a "$out"
done
echo
grep '^summary' "$out"
echo "written: $out"

# Fragmentation, then active defrag, on the backends that have it (the
# program says so for the others: HAVE_DEFRAG decides).
dout=bench/results/defrag.txt
{
    echo "# Redis-like fragmentation (1M values of 16..128 B, free half, refill with 160..512 B),"
    echo "# then zmalloc_defrag_cycle until a pass moves nothing, then zmalloc_purge()."
    echo "# RSS/live: (RSS - RSS before the fill) / bytes requested; RSS/used: the same over"
    echo "# zmalloc_used_memory() (requested + size-class rounding); alloc_frag: allocator_frag_ratio."
} >"$dout"
for m in $backends; do
    $MAKE -s --no-print-directory check-backend MALLOC=$m >/dev/null 2>&1 || continue
    $MAKE -s --no-print-directory -j2 MALLOC=$m "build/$m/bench_defrag" >/dev/null || exit 1
    "build/$m/bench_defrag" | tee -a "$dout"
done
echo "written: $dout"
lazyfree
if [ "${BENCH_ALLOC:-1}" = 1 ]; then
    RESULTS=$PWD/bench/results bash deps/balloc/bench/run.sh
fi

# The same Valkey on balloc, its jemalloc and libc under valkey-benchmark
# (SKIPPED without the server tree); BENCH_SERVER=0 skips it.
if [ "${BENCH_SERVER:-1}" = 1 ]; then
    bash bench/server/run.sh
fi
