#!/usr/bin/env bash
# run.sh -- run every allocator workload under every allocator and compare
# (the top directory's `make bench` runs it too, with RESULTS=bench/results).
#
#   bench/run.sh                                    # from deps/balloc
#   SCALE=0.2 bench/run.sh                          # less work (quick look)
#   ALLOCATORS="glibc jemalloc balloc" bench/run.sh
#   ALLOCATORS="jemalloc mine=/path/libfoo.so" ...  # NAME=PATH adds a library
#
# Environment:
#   SCALE       work multiplier passed to every workload (default 1)
#   ALLOCATORS  names to run (default: glibc jemalloc tcmalloc mimalloc balloc
#               balloc-lowest balloc-nokey balloc-secure balloc-prof;
#               balloc-lowest is balloc refilling slabs in jemalloc's
#               lowest-address order instead of fullest-first, balloc-nokey
#               balloc built without the free key, balloc-secure its hardened
#               build, balloc-prof balloc with heap profiling on at the
#               default rate (prof:true); also balloc-noprof, built without
#               profiling (BALLOC_PROF=0), and jemalloc-prof, jemalloc with
#               its own profiling on (MALLOC_CONF=prof:true; Debian's
#               jemalloc has it); each balloc is built here first,
#               in its configuration's directory: build/, build/secure,
#               build/nokey, build/noprof)
#   COMPARE     pairs A/B whose time and peak-RSS ratios get a table of their
#               own (default balloc/balloc-nokey balloc-secure/balloc
#               balloc-prof/balloc: the free key's cost, the hardened build's
#               and heap profiling's)
#   WORKLOADS   workloads to run (default: all, in workloads.c's order)
#   REPS        repetitions per run; each is a fresh process and the median
#               by wall time is reported (default 3)
#   BASE        allocator the ratios are taken against (default jemalloc;
#               if it did not run, the first allocator that did)
#
#   RESULTS     where the results go (default: bench/results here)
#
# Builds build/bench/workloads with gcc -O2, swaps allocators in with
# LD_PRELOAD (glibc: no preload), skips and names any allocator whose
# library is not found, and writes, under RESULTS:
#   alloc.txt   the tables printed here
#   alloc.tsv   one row per (workload, allocator) with every measured field
#   alloc.dat   the ratios to BASE, the chart's input
#   alloc.png   time and peak-RSS ratios to BASE, one bar per allocator
# A benchmark prints numbers; it passes or fails nothing.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCALE=${SCALE:-1}
REPS=${REPS:-3}
ALLOCATORS=${ALLOCATORS:-"glibc jemalloc tcmalloc mimalloc balloc balloc-lowest balloc-nokey balloc-secure balloc-prof"}
COMPARE=${COMPARE:-"balloc/balloc-nokey balloc-secure/balloc balloc-prof/balloc"}
BASE=${BASE:-jemalloc}
BIN=$ROOT/build/bench/workloads
RESULTS=${RESULTS:-$ROOT/bench/results}
START=$SECONDS

# balloc's drop-in libraries, each in its configuration's directory.
for spec in $ALLOCATORS; do
    case $spec in
    balloc | balloc-lowest | balloc-prof) make -s --no-print-directory -C "$ROOT" all || exit 1 ;;
    balloc-noprof) make -s --no-print-directory -C "$ROOT" BALLOC_PROF=0 all || exit 1 ;;
    balloc-secure) make -s --no-print-directory -C "$ROOT" BALLOC_SECURE=1 all || exit 1 ;;
    balloc-nokey) make -s --no-print-directory -C "$ROOT" BALLOC_FREE_KEY=0 all || exit 1 ;;
    esac
done

mkdir -p "$ROOT/build/bench" "$RESULTS" || exit 1
gcc -O2 -Wall -Wextra -pthread -o "$BIN" "$ROOT/bench/workloads.c" || {
    echo "run.sh: build of workloads.c failed" >&2
    exit 1
}
WORKLOADS=${WORKLOADS:-$("$BIN" list | tr '\n' ' ')}

# Prints the path of a shared library by soname: the multiarch directory
# first, then the loader cache.
find_soname() {
    local dir
    for dir in "/usr/lib/$(gcc -print-multiarch 2>/dev/null)" /usr/lib64 /usr/lib \
        /usr/local/lib; do
        if [ -e "$dir/$1" ]; then
            echo "$dir/$1"
            return 0
        fi
    done
    /sbin/ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; exit }'
}

# Prints the library to preload for an allocator name ("" for glibc);
# fails if it is not installed or built.
allocator_lib() {
    local path
    case $1 in
    glibc) return 0 ;;
    jemalloc | jemalloc-prof) path=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
        [ -e "$path" ] || path=$(find_soname libjemalloc.so.2) ;;
    tcmalloc) path=$(find_soname libtcmalloc_minimal.so.4) ;;
    mimalloc) path=$(find_soname libmimalloc.so.2) ;;
    balloc) path=$ROOT/build/libballoc-malloc.so ;;
    balloc-lowest) path=$ROOT/build/libballoc-malloc.so ;; # jemalloc's slab order
    balloc-prof) path=$ROOT/build/libballoc-malloc.so ;;   # prof:true
    balloc-noprof) path=$ROOT/build/noprof/libballoc-malloc.so ;;
    balloc-secure) path=$ROOT/build/secure/libballoc-malloc.so ;;
    balloc-nokey) path=$ROOT/build/nokey/libballoc-malloc.so ;;
    *=*) path=${1#*=} ;;
    *) path= ;;
    esac
    [ -n "$path" ] && [ -e "$path" ] || return 1
    echo "$path"
}

names=()
libs=()
skipped=()
for spec in $ALLOCATORS; do
    if lib=$(allocator_lib "$spec"); then
        names+=("${spec%%=*}")
        libs+=("$lib")
    else
        skipped+=("$spec")
    fi
done
if [ ${#skipped[@]} -gt 0 ]; then
    echo "skipped (library not found): ${skipped[*]}" >&2
fi
if [ ${#names[@]} -eq 0 ]; then
    echo "run.sh: no allocator to run" >&2
    exit 1
fi

# Workload-major order: the rows of one table run close together in time,
# so drift in a shared machine's load spreads over tables, not rows.
TSV=$RESULTS/alloc.tsv
ERRS=$(mktemp)
trap 'rm -f "$ERRS" "$ERRS.one"' EXIT
printf 'workload\tallocator\twall_s\tcpu_s\tsys_s\tpeak_rss_kb\tns_per_op\trss_per_live\txfree\tstatus\n' >"$TSV"
for wl in $WORKLOADS; do
    for i in "${!names[@]}"; do
        name=${names[$i]}
        lib=${libs[$i]}
        policy= conf= jeconf=
        [ "$name" = balloc-lowest ] && policy=lowest
        [ "$name" = balloc-prof ] && conf=prof:true
        [ "$name" = jemalloc-prof ] && jeconf=prof:true
        if line=$(BALLOC_SLAB_POLICY=$policy BALLOC_CONF=$conf MALLOC_CONF=$jeconf LD_PRELOAD=$lib \
            "$BIN" "$wl" "$SCALE" "$REPS" 2>"$ERRS.one"); then
            declare -A f=()
            for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\tok\n' "$wl" "$name" "${f[wall_s]}" \
                "${f[cpu_s]}" "${f[sys_s]}" "${f[peak_rss_kb]}" "${f[ns_per_op]}" \
                "${f[rss_per_live]}" "${f[xfree]}" >>"$TSV"
            printf '%-8s %-9s %8.3f s\n' "$wl" "$name" "${f[wall_s]}" >&2
            unset f
        else
            msg=$(tr '\n' ' ' <"$ERRS.one" | cut -c1-120)
            printf '%s\t%s\t-\t-\t-\t-\t-\t-\t-\tfailed\n' "$wl" "$name" >>"$TSV"
            echo "$wl under $name: ${msg:-no message}" | tee -a "$ERRS" >&2
        fi
    done
done

base=$BASE
if ! awk -F'\t' -v b="$base" '$2 == b && $10 == "ok" { found = 1 } END { exit !found }' "$TSV"; then
    base=${names[0]}
    echo "note: $BASE has no results; ratios are to $base" >&2
fi

# Tables (stdout of awk) and the chart's matrix (alloc.dat): rows are
# workloads, columns allocators; block 0 holds time ratios, block 1 peak-RSS
# ratios, "-" where a run failed.
report() {
    awk -F'\t' -v base="$base" -v allocs="${names[*]}" -v dat="$RESULTS/alloc.dat" -v compare="$COMPARE" '
    function ratio(x, y) { return (x == "-" || y == "-" || y + 0 == 0) ? "-" : sprintf("%.2f", x / y) }
    function per_op(ns) {
        if (ns >= 1e6) return sprintf("%.2f ms", ns / 1e6)
        if (ns >= 1e3) return sprintf("%.2f us", ns / 1e3)
        return sprintf("%.1f ns", ns)
    }
    NR == 1 { next }
    {
        w = $1; a = $2
        if (!(w in seen)) { seen[w] = 1; order[++nw] = w }
        wall[w, a] = $3; cpu[w, a] = $4; sys[w, a] = $5; peak[w, a] = $6
        nsop[w, a] = $7; rpl[w, a] = $8; xf[w, a] = $9; st[w, a] = $10
    }
    END {
        na = split(allocs, al, " ")
        desc["pairs"] = "malloc+free of 8..1024 B, one block live; op = pair"
        desc["held64"] = "64 blocks of 256 B..1 KiB live, replaced in rotation; op = free+malloc"
        desc["reply"] = "64..512 blocks of one size (8..256 B) allocated, then freed in order; op = malloc"
        desc["churn"] = "100k live blocks of 16 B..16 KiB, random replacement; op = malloc"
        desc["churnread"] = "churn, each block read before it is freed (as a server frees an object); op = malloc"
        desc["larson2"] = "2 threads, blocks freed by the next thread, 40 thread generations; op = malloc"
        desc["larson4"] = "4 threads, as larson2; op = malloc"
        desc["realloc"] = "16 interleaved strings grown 16 B -> 1 MiB by 8..256 B appends; op = realloc"
        desc["frag"] = "1M values of 16..128 B, free half, refill with 160..512 B; op = malloc"
        desc["large"] = "5..25 MiB blocks allocated, every page written, freed; op = block"
        desc["skewchurn"] = "200k live blocks, 3/4 of 8..128 B and 1/4 of 8 B..4 KiB, random replacement; op = malloc"
        desc["prodcons"] = "one thread allocates 8 B..1 KiB (3/4 up to 128 B), a second frees them through a ring; op = block"
        for (i = 1; i <= nw; i++) {
            w = order[i]
            extra = w == "frag" ? "RSS/live" : w == "large" ? "sys s" : w ~ /^larson/ ? "xfree" : ""
            printf "%s: %s\n", w, desc[w]
            row = sprintf("%-10s %8s %10s %8s %13s %14s %13s %9s", "allocator", "time s", "per op",
                "cpu s", "peak RSS MiB", "time/" base, "RSS/" base, extra)
            sub(/ +$/, "", row)
            print row
            for (j = 1; j <= na; j++) {
                a = al[j]
                if (st[w, a] != "ok") { printf "%-10s   failed\n", a; continue }
                x = w == "frag" ? rpl[w, a] : w == "large" ? sprintf("%.3f", sys[w, a]) : \
                    w ~ /^larson/ ? xf[w, a] : ""
                row = sprintf("%-10s %8.3f %10s %8.3f %13.1f %14s %13s %9s", a, wall[w, a],
                    per_op(nsop[w, a]), cpu[w, a], peak[w, a] / 1024, ratio(wall[w, a], wall[w, base]),
                    ratio(peak[w, a], peak[w, base]), x)
                sub(/ +$/, "", row)
                print row
            }
            printf "\n"
        }
        nc = split(compare, cp, " ")
        for (k = 1; k <= nc; k++) {
            if (split(cp[k], ab, "/") != 2) continue
            have = 0
            for (j = 1; j <= na; j++) have += al[j] == ab[1] || al[j] == ab[2]
            if (have < 2) continue
            printf "%s over %s\n%-10s %8s %13s\n", ab[1], ab[2], "workload", "time", "peak RSS"
            for (i = 1; i <= nw; i++) {
                w = order[i]
                if (st[w, ab[1]] != "ok" || st[w, ab[2]] != "ok") { printf "%-10s   failed\n", w; continue }
                printf "%-10s %8s %13s\n", w, ratio(wall[w, ab[1]], wall[w, ab[2]]),
                    ratio(peak[w, ab[1]], peak[w, ab[2]])
            }
            printf "\n"
        }
        for (blk = 0; blk < 2; blk++) {
            what = blk ? "peak RSS" : "time"
            printf "# %s ratio to %s\nworkload", what, base > dat
            for (j = 1; j <= na; j++) printf " %s", al[j] > dat
            printf "\n" > dat
            for (i = 1; i <= nw; i++) {
                w = order[i]
                printf "%s", w > dat
                for (j = 1; j <= na; j++) {
                    a = al[j]
                    if (st[w, a] != "ok") { printf " -" > dat; continue }
                    r = blk ? ratio(peak[w, a], peak[w, base]) : ratio(wall[w, a], wall[w, base])
                    printf " %s", r > dat
                }
                printf "\n" > dat
            }
            printf "\n\n" > dat
        }
    }' "$TSV"
}

{
    echo "Allocator comparison: deps/balloc/bench/run.sh"
    echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); kernel $(uname -r)"
    echo "SCALE=$SCALE; time = median wall of REPS=$REPS runs, each a fresh process; peak RSS = largest VmHWM of them"
    echo "ratios are to $base (lower is better); RSS/live = (RSS at end - RSS before fill) / bytes still held"
    for i in "${!names[@]}"; do echo "  ${names[$i]}: ${libs[$i]:-(no preload)}"; done
    [ ${#skipped[@]} -gt 0 ] && echo "skipped (library not found): ${skipped[*]}"
    [ -s "$ERRS" ] && sed 's/^/failed: /' "$ERRS"
    echo
    report
} | tee "$RESULTS/alloc.txt"

if command -v gnuplot >/dev/null; then
    ncols=$((${#names[@]} + 1))
    # Power-of-two y range covering every ratio (at least 1/4..2), with one
    # power to spare below so the shortest bar still shows, and one labelled
    # tic per power of two.
    read -r ylo yhi < <(awk '!/^#/ && !/^workload/ && NF > 1 {
            for (i = 2; i <= NF; i++) if ($i != "-" && $i > 0) { if (!n++ || $i < lo) lo = $i; if ($i > hi) hi = $i }
        } END {
            l = -1; while (2 ^ l > lo && l > -12) l--
            h = 1; while (2 ^ h < hi && h < 12) h++
            print l - 1, h
        }' "$RESULTS/alloc.dat")
    ytics=
    for ((e = ylo; e <= yhi; e++)); do
        if [ "$e" -lt 0 ]; then label="1/$((1 << -e))"; else label=$((1 << e)); fi
        ytics+="${ytics:+, }\"$label\" 2.0**($e)"
    done
    gnuplot <<EOF || echo "run.sh: gnuplot failed; no chart" >&2
set terminal pngcairo size 1200,900 font "Sans,10"
set output "$RESULTS/alloc.png"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [2.0**($ylo):2.0**($yhi)]
set ytics ($ytics)
set grid ytics
set key outside right top
set multiplot layout 2,1 title "Allocators relative to $base (log scale, lower is better; SCALE=$SCALE)"
set title "time / $base"
plot for [c=2:$ncols] "$RESULTS/alloc.dat" index 0 using c:xtic(1) title columnheader(c), 1 with lines lc rgb "black" notitle
set title "peak RSS / $base"
plot for [c=2:$ncols] "$RESULTS/alloc.dat" index 1 using c:xtic(1) title columnheader(c), 1 with lines lc rgb "black" notitle
unset multiplot
EOF
else
    echo "run.sh: gnuplot not installed; no chart" >&2
fi
echo "results: $RESULTS/alloc.txt alloc.tsv alloc.dat alloc.png; total $((SECONDS - START)) s" >&2

# ---- decay: RSS after freeing 1 GiB, with no further calls ----
# DECAY_MIB (default 1024) and DECAY_SECONDS (default 12); DECAY=0 skips it.
if [ "${DECAY:-1}" = 1 ]; then
    DECAY_BIN=$ROOT/build/bench/decay
    gcc -O2 -Wall -Wextra -o "$DECAY_BIN" "$ROOT/bench/decay.c" || exit 1
    DDAT=$RESULTS/decay.dat
    : >"$DDAT"
    for i in "${!names[@]}"; do
        name=${names[$i]}
        [ "$name" = balloc-lowest ] && continue # the slab order does not matter here
        [ "$name" = balloc-secure ] && continue # huge blocks are unmapped at free
        [ "$name" = balloc-nokey ] && continue # the same pages as balloc
        confs=("")
        # balloc purges from allocating threads by default (none here) and
        # from a background thread when asked: show both.
        [ "$name" = balloc ] && confs+=("background_thread:true")
        for conf in "${confs[@]}"; do
            label=$name${conf:+-bg}
            echo "decay    ${label}" >&2
            printf '%s %s\n' "$label" "$label" >>"$DDAT"
            BALLOC_CONF=$conf LD_PRELOAD=${libs[$i]} "$DECAY_BIN" "${DECAY_MIB:-1024}" "${DECAY_SECONDS:-12}" |
                grep -v '^#' >>"$DDAT"
            printf '\n\n' >>"$DDAT"
        done
    done
    {
        echo "decay: RSS in MiB after freeing ${DECAY_MIB:-1024} MiB, with no further calls"
        awk '
            $1 !~ /^[0-9]/ && NF == 2 { name = $1; order[++n] = name; next }
            NF == 2 { t = $1 / 1000
                for (k = 0; k < nm; k++) if (!((name, k) in v) && t >= marks[k]) v[name, k] = $2 / 1024 }
            BEGIN { nm = split("0 0.5 1 2 3 5 8 11", m, " "); for (k = 0; k < nm; k++) marks[k] = m[k + 1] }
            END {
                printf "%-10s", "seconds"; for (k = 0; k < nm; k++) printf " %7s", marks[k]; printf "\n"
                for (i = 1; i <= n; i++) {
                    printf "%-10s", order[i]
                    for (k = 0; k < nm; k++) printf " %7s", ((order[i], k) in v) ? sprintf("%.0f", v[order[i], k]) : "-"
                    printf "\n"
                }
            }' "$DDAT"
    } | tee "$RESULTS/decay.txt"
    if command -v gnuplot >/dev/null; then
        ndec=$(grep -c '^[a-z]' "$DDAT")
        gnuplot <<EOF || echo "run.sh: gnuplot failed; no decay chart" >&2
set terminal pngcairo size 1000,600 font "Sans,10"
set output "$RESULTS/decay.png"
set title "RSS after freeing ${DECAY_MIB:-1024} MiB, no further calls"
set xlabel "seconds after the frees"
set ylabel "RSS (MiB)"
set grid
set key outside right top
plot for [i=0:$((ndec - 1))] "$DDAT" index i using (\$1/1000):(\$2/1024) with lines lw 2 title columnheader(1)
EOF
    fi
fi
