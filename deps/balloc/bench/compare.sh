#!/usr/bin/env bash
# compare.sh -- a few allocators head to head, for differences of a few
# percent that the suite's medians cannot show on a shared machine: each
# workload runs N times per allocator, the allocators taking turns, and the
# best (lowest) ns per op of each is kept, since noise only ever adds time.
#
#   bench/compare.sh                            # from deps/balloc: balloc-nokey balloc balloc-secure
#   N=21 SCALE=0.5 bench/compare.sh
#   ALLOCATORS="a=/path/liba.so b=/path/libb.so" WORKLOADS="pairs churn" ...
#
# The first allocator is the base of the ratios. Builds what it needs (balloc
# in build/, build/nokey and build/secure, and bench/workloads.c); writes the
# table to RESULTS/compare.txt (default: bench/results here; the top
# directory's results are in its bench/results). A benchmark prints numbers;
# it passes or fails nothing.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-15}
SCALE=${SCALE:-0.3}
BIN=$ROOT/build/bench/workloads
RESULTS=${RESULTS:-$ROOT/bench/results}
ALLOCATORS=${ALLOCATORS:-"balloc-nokey=$ROOT/build/nokey/libballoc-malloc.so balloc=$ROOT/build/libballoc-malloc.so balloc-secure=$ROOT/build/secure/libballoc-malloc.so"}
for conf in "" BALLOC_FREE_KEY=0 BALLOC_SECURE=1; do
    make -s --no-print-directory -C "$ROOT" $conf all || exit 1
done
mkdir -p "$ROOT/build/bench" "$RESULTS"
gcc -O2 -Wall -Wextra -pthread -o "$BIN" "$ROOT/bench/workloads.c" || exit 1
WORKLOADS=${WORKLOADS:-$("$BIN" list | tr '\n' ' ')}
names=() libs=()
for spec in $ALLOCATORS; do
    names+=("${spec%%=*}")
    libs+=("${spec#*=}")
done
{
    echo "Head to head: deps/balloc/bench/compare.sh"
    echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; SCALE=$SCALE; best ns/op of N=$N turns each; ratios to ${names[0]}"
    for i in "${!names[@]}"; do echo "  ${names[$i]}: ${libs[$i]}"; done
    printf '%-9s' workload
    for n in "${names[@]}"; do printf ' %14s' "$n"; done
    for n in "${names[@]:1}"; do printf ' %14s' "$n/${names[0]}"; done
    printf '\n'
    for wl in $WORKLOADS; do
        best=()
        for ((r = 0; r < N; r++)); do
            for i in "${!names[@]}"; do
                v=$(LD_PRELOAD=${libs[$i]} "$BIN" "$wl" "$SCALE" 1 | tr ' ' '\n' | sed -n 's/^ns_per_op=//p')
                if [ -n "$v" ] && { [ -z "${best[$i]:-}" ] || awk -v a="$v" -v b="${best[$i]}" 'BEGIN { exit !(a < b) }'; }; then
                    best[$i]=$v
                fi
            done
        done
        printf '%-9s' "$wl"
        for i in "${!names[@]}"; do printf ' %14s' "${best[$i]:--}"; done
        for i in "${!names[@]}"; do
            [ "$i" = 0 ] && continue
            printf ' %14s' "$(awk -v a="${best[$i]:-0}" -v b="${best[0]:-0}" 'BEGIN { if (b > 0 && a > 0) printf "%.3f", a / b; else printf "-" }')"
        done
        printf '\n'
    done
} | tee "$RESULTS/compare.txt"
