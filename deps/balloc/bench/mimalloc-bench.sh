#!/usr/bin/env bash
# mimalloc-bench.sh -- the peers' own benchmark programs, each allocator
# preloaded in turn: a table of times, ratios to jemalloc and to the best.
#
#   MIMALLOC_BENCH=/path/to/mimalloc-bench MIMALLOC_BENCH_BUILD=/path/to/built \
#       bench/mimalloc-bench.sh          # from deps/balloc
#
# MIMALLOC_BENCH is a snapshot of the public repository daanx/mimalloc-bench (kept outside
# this repository, never committed); MIMALLOC_BENCH_BUILD is where its
# bench/ programs (cfrac espresso larson-sized xmalloc-test mstress rptest
# glibc-simple alloc-test malloc-large) were built with CMake, as its README
# says; only those programs are needed, not its scripts that download
# allocators. Knobs: N (turns, best kept; default 1), PROCS (threads of the
# multi-threaded rows; default nproc), TESTS, ALLOCATORS ("name=lib.so ...";
# an empty lib is glibc). Arguments follow its bench.sh, shorter where it
# runs for a fixed time (larson, xmalloc-test: 2 s) or long (rptest: 100
# loops), so a run of five allocators takes about 6 minutes on 2 CPUs. A
# row's time is wall seconds, except larson, xmalloc-test and rptest, which
# report a relative time as bench.sh computes it. Writes
# RESULTS/mimalloc-bench.txt (default: the top directory's bench/results).
# A benchmark prints numbers; it passes or fails nothing.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOP=$(cd "$ROOT/../.." && pwd)
SRC=${MIMALLOC_BENCH:-}
BLD=${MIMALLOC_BENCH_BUILD:-}
if [ -z "$SRC" ] || [ -z "$BLD" ] || [ ! -x "$BLD/malloc-large" ]; then
    sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    echo "mimalloc-bench.sh: set MIMALLOC_BENCH and MIMALLOC_BENCH_BUILD (see above)" >&2
    exit 2
fi
N=${N:-1}
PROCS=${PROCS:-$(nproc)}
RESULTS=${RESULTS:-$TOP/bench/results}
LIBDIR=/usr/lib/x86_64-linux-gnu
ALLOCATORS=${ALLOCATORS:-"glibc= jemalloc=$LIBDIR/libjemalloc.so.2 tcmalloc=$LIBDIR/libtcmalloc_minimal.so.4 mimalloc=$LIBDIR/libmimalloc.so.2 balloc=$TOP/build/balloc/libballoc-malloc.so"}
TESTS=${TESTS:-"cfrac espresso larsonN-sized xmalloc-testN mstressN rptestN glibc-simple alloc-test1 malloc-large"}

cmd_of() {
    case $1 in
        cfrac) echo "./cfrac 17545186520507317056371138836327483792789528" ;;
        espresso) echo "./espresso $SRC/bench/espresso/largest.espresso" ;;
        larsonN-sized) echo "./larson-sized 2 8 1000 5000 100 4141 $PROCS" ;;
        xmalloc-testN) echo "./xmalloc-test -w $PROCS -t 2 -s 64" ;;
        mstressN) echo "./mstress $PROCS 50 25" ;;
        rptestN) echo "./rptest $PROCS 0 1 2 100 1000 100 8 16000" ;;
        glibc-simple) echo "./glibc-simple" ;;
        alloc-test1) echo "./alloc-test 1" ;;
        malloc-large) echo "./malloc-large" ;;
    esac
}

# One run: prints "seconds peak_rss_kb", or nothing if it failed.
run_one() {  # test lib
    local out=$BLD/.mb-out.$$ tm=$BLD/.mb-time.$$ t
    (cd "$BLD" && LD_PRELOAD=$2 /usr/bin/time -o "$tm" -f '%e %M' $(cmd_of "$1") >"$out" 2>&1) || return
    case $1 in
        larson*) t=$(sed -n 's/.* time: \([0-9.]*\).*/\1/p' "$out") ;;
        xmalloc*) t=$(sed -n 's/^rtime: \([0-9.]*\).*/\1/p' "$out") ;;
        rptest*) t=$(sed -n 's/.*\.\.\.\([0-9]*\) memory ops.*/\1/p' "$out" |
                     awk '$1 > 0 { printf "%.3f", 2000000 / $1 }') ;;
        *) t=$(awk '{ print $1 }' "$tm") ;;
    esac
    [ -n "$t" ] && echo "$t $(awk '{ print $2 }' "$tm")"
    rm -f "$out" "$tm"
}

names=() libs=()
for spec in $ALLOCATORS; do
    names+=("${spec%%=*}")
    libs+=("${spec#*=}")
done
ref=0
for i in "${!names[@]}"; do [ "${names[$i]}" = jemalloc ] && ref=$i; done
mkdir -p "$RESULTS"
{
    echo "mimalloc-bench programs: deps/balloc/bench/mimalloc-bench.sh"
    echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; PROCS=$PROCS; best of N=$N turns (allocators take turns); time in s (larson, xmalloc-test, rptest: relative time), peak RSS in MiB"
    echo "mimalloc-bench $(git --git-dir="$SRC/.git" rev-parse --short HEAD 2>/dev/null || echo "tree at $SRC")"
    for i in "${!names[@]}"; do echo "  ${names[$i]}: ${libs[$i]:-(none: glibc)}"; done
    printf '%-14s' test
    for n in "${names[@]}"; do printf ' %9s' "$n"; done
    for n in "${names[@]}"; do printf ' %9s' "$n/je"; done
    for n in "${names[@]}"; do printf ' %9s' "$n/best"; done
    for n in "${names[@]}"; do printf ' %9s' "$n MiB"; done
    printf '\n'
    for t in $TESTS; do
        best=() rss=()
        for ((r = 0; r < N; r++)); do
            for i in "${!names[@]}"; do
                read -r s m <<<"$(run_one "$t" "${libs[$i]}")"
                if [ -n "${s:-}" ] && { [ -z "${best[$i]:-}" ] || awk -v a="$s" -v b="${best[$i]}" 'BEGIN { exit !(a < b) }'; }; then
                    best[$i]=$s
                    rss[$i]=$m
                fi
            done
        done
        low=$(for i in "${!names[@]}"; do echo "${best[$i]:-}"; done | awk 'NF && $1 > 0 { if (m == "" || $1 < m) m = $1 } END { print m }')
        printf '%-14s' "$t"
        for i in "${!names[@]}"; do printf ' %9s' "${best[$i]:--}"; done
        for i in "${!names[@]}"; do
            printf ' %9s' "$(awk -v a="${best[$i]:-0}" -v b="${best[$ref]:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }')"
        done
        for i in "${!names[@]}"; do
            printf ' %9s' "$(awk -v a="${best[$i]:-0}" -v b="${low:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }')"
        done
        for i in "${!names[@]}"; do
            printf ' %9s' "$(awk -v k="${rss[$i]:-0}" 'BEGIN { if (k > 0) printf "%.0f", k / 1024; else printf "-" }')"
        done
        printf '\n'
    done
} | tee "$RESULTS/mimalloc-bench.txt"
