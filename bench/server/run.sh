#!/usr/bin/env bash
# bench/server/run.sh (make bench-server, and the end of make bench): the
# Valkey tree in ../shared/servers, vendored with tools/vendor.sh, built on
# balloc, on its own jemalloc and on libc, each driven by its own
# valkey-benchmark on loopback; then a fragmentation scenario with active
# defrag. A benchmark: it prints tables and passes or fails nothing.
#
# Throughput runs (each allocator's server started fresh for each run, all
# three alive at once; the allocators take turns, REPS turns, so a noisy
# neighbour costs a turn, not a column; the table gives each allocator's best
# and median turn, the chart the median):
#   setget   SET then GET, 64 B values, 1M random keys of 1M
#   list     LPUSH then LRANGE_100 on one list
#   mixed    SET with 16 B, 256 B, 1 KiB and 4 KiB values over one key
#            space, in turn: one value's size changes on each overwrite
# valkey-benchmark runs with -P 16 and --seed 1; the server is pinned to
# CPU 0 and the client to CPU 1 when taskset exists. Each run reports ops/s
# (requests over the whole run's time) and the server's peak RSS (VmHWM).
#
# Fragmentation (demo's proportions): FRAG_KEYS keys with values of
# 16..128 B, a random half deleted, then keys of 160..512 B added until the
# values' bytes are back; INFO memory then, after CONFIG SET activedefrag
# yes has run until active_defrag_running stays 0 (and RSS settles), and
# after MEMORY PURGE. libc has no active defrag: its row stops at the first
# stage.
#
# Environment: REPS (default 5), SCALE (default 1: request counts and keys),
# SERVER_ALLOCATORS (default "balloc jemalloc libc"), SERVERS_DIR (the tree's
# folder), REPORT_ONLY=1 (only the tables and chart again, from the last
# run's server.tsv and server-frag.tsv). Results in bench/results/:
# server.txt (the tables), server.tsv (every turn), server-frag.tsv,
# server.dat and server.png (ratios to jemalloc).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$ROOT/build/server-bench
RESULTS=$ROOT/bench/results
. "$ROOT/tests/server/lib.sh"

REPS=${REPS:-5}
SCALE=${SCALE:-1}
ALLOCS=${SERVER_ALLOCATORS:-"balloc jemalloc libc"}
BASE_PORT=${BASE_PORT:-21611}
FRAG_KEYS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 2000000 * s }')
START=$SECONDS

if [ -z "$(server_tarball)" ]; then
    echo "SKIPPED: bench-server: no server tree in $SERVERS_DIR"
    exit 0
fi
n_of() { awk -v n="$1" -v s="$SCALE" 'BEGIN { printf "%d", n * s }'; }
pin_server=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
fi

mkdir -p "$WORK" "$RESULTS" || exit 1
names=($ALLOCS)
declare -A tree
for a in "${names[@]}"; do tree[$a]=$WORK/$a/valkey; done
TSV=$RESULTS/server.tsv
FTSV=$RESULTS/server-frag.tsv
if [ "${REPORT_ONLY:-0}" != 1 ]; then
    pids=()
    trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

    # ---- build, one tree per allocator ----
    for a in $ALLOCS; do
        echo "build: Valkey on $a" >&2
        t=$(server_prepare "$a") || { echo "bench-server: cannot prepare the tree for $a" >&2; exit 1; }
        if ! server_build "$t" MALLOC=$a; then
            echo "bench-server: the build on $a failed; the end of its log:" >&2
            tail -n 20 "$t/../build.log" >&2
            exit 1
        fi
    done
    BENCH=${tree[${names[0]}]}/src/valkey-benchmark
    CLI=${tree[${names[0]}]}/src/valkey-cli

    # ---- servers ----
    declare -A port pid
    # start_server ALLOC: a fresh server on its own port, no persistence.
    start_server() {
        local a=$1 i
        for i in "${!names[@]}"; do [ "${names[$i]}" = "$a" ] && port[$a]=$((BASE_PORT + i)); done
        rm -f "$WORK/$a/dump.rdb"
        (cd "$WORK/$a" && exec "${pin_server[@]}" "${tree[$a]}/src/valkey-server" --port "${port[$a]}" \
            --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --logfile "$WORK/$a/server.log") &
        pid[$a]=$!
        pids+=("${pid[$a]}")
        for i in $(seq 100); do
            "$CLI" -p "${port[$a]}" ping 2>/dev/null | grep -q PONG && return 0
            sleep 0.1
        done
        echo "bench-server: the server on $a did not start; its log:" >&2
        tail -n 20 "$WORK/$a/server.log" >&2
        exit 1
    }
    stop_server() {
        "$CLI" -p "${port[$1]}" shutdown nosave >/dev/null 2>&1
        wait "${pid[$1]}" 2>/dev/null
    }
    cli() { "$CLI" -p "${port[$1]}" "${@:2}"; }
    # info ALLOC FIELD: one field of INFO.
    info() { cli "$1" info all | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2; exit }'; }

    # ---- throughput ----
    printf 'run\tallocator\tturn\tops_per_s\tpeak_rss_kb\n' >"$TSV"
    # one_turn RUN PORT: the run's requests; prints requests and seconds.
    one_turn() {
        local run=$1 p=$2 n t0 t1 total=0 sz
        local common=(-p "$p" -P 16 -c 50 --seed 1 -q)
        t0=$(date +%s.%N)
        case $run in
        setget)
            n=$(n_of 1000000)
            "${pin_client[@]}" "$BENCH" "${common[@]}" -t set,get -n "$n" -r 1000000 -d 64 >/dev/null || return 1
            total=$((2 * n)) ;;
        list)
            n=$(n_of 400000)
            "${pin_client[@]}" "$BENCH" "${common[@]}" -t lpush -n "$n" -d 16 >/dev/null || return 1
            "${pin_client[@]}" "$BENCH" "${common[@]}" -t lrange_100 -n "$((n / 4))" >/dev/null || return 1
            total=$((n + n / 4)) ;;
        mixed)
            n=$(n_of 250000)
            for sz in 16 256 1024 4096; do
                "${pin_client[@]}" "$BENCH" "${common[@]}" -n "$n" -r 200000 \
                    set "mix:__rand_int__" "$(head -c "$sz" /dev/zero | tr '\0' v)" >/dev/null || return 1
                total=$((total + n))
            done ;;
        esac
        t1=$(date +%s.%N)
        echo "$total $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
    }

    for run in setget list mixed; do
        for a in "${names[@]}"; do start_server "$a"; done
        turns=$(mktemp)
        for ((r = 1; r <= REPS; r++)); do
            for a in "${names[@]}"; do
                cli "$a" flushall >/dev/null
                if ! res=$(one_turn "$run" "${port[$a]}"); then
                    echo "bench-server: $run on $a failed" >&2
                    continue
                fi
                ops=$(awk -v t="$res" 'BEGIN { split(t, f, " "); printf "%.0f", f[1] / f[2] }')
                printf '%-7s %-9s turn %d: %9d ops/s\n' "$run" "$a" "$r" "$ops" >&2
                printf '%s\t%s\t%s\t%s\n' "$run" "$a" "$r" "$ops" >>"$turns"
            done
        done
        # The server's peak RSS goes on each of its turns' rows.
        for a in "${names[@]}"; do
            peak=$(server_rss_peak "${pid[$a]}")
            stop_server "$a"
            awk -F'\t' -v OFS='\t' -v a="$a" -v p="${peak:--}" '$2 == a { print $0, p }' "$turns" >>"$TSV"
        done
        rm -f "$turns"
    done

    # ---- fragmentation and active defrag ----
    printf 'allocator\tstage\tused_memory\tused_memory_rss\tmem_fragmentation_ratio\tallocator_frag_ratio\tseconds\n' >"$FTSV"
    frag_row() {
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(info "$1" used_memory)" \
            "$(info "$1" used_memory_rss)" "$(info "$1" mem_fragmentation_ratio)" \
            "$(info "$1" allocator_frag_ratio)" "$3" >>"$FTSV"
    }
    # RESP for SET prefix:i <n bytes> over the keys awk chooses; seeded, so every
    # allocator gets the same keys and sizes.
    gen_fill() {
        awk -v n="$FRAG_KEYS" 'BEGIN {
            srand(1); v = "v"; while (length(v) < 4096) v = v v
            for (i = 0; i < n; i++) {
                len = 16 + int(rand() * 113); k = "small:" i
                printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, len, substr(v, 1, len)
            }
        }'
    }
    gen_delete() {
        awk -v n="$FRAG_KEYS" 'BEGIN {
            srand(1); for (i = 0; i < n; i++) { len[i] = 16 + int(rand() * 113) }
            srand(2); v = "v"; while (length(v) < 4096) v = v v
            freed = 0
            for (i = 0; i < n; i++) if (rand() < 0.5) {
                k = "small:" i; freed += len[i]
                printf "*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n", length(k), k
            }
            for (i = 0; freed > 0; i++) {
                l = 160 + int(rand() * 353); k = "large:" i; freed -= l
                printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, l, substr(v, 1, l)
            }
        }'
    }
    gen_fill >"$WORK/fill.resp"
    gen_delete >"$WORK/refill.resp"
    for a in "${names[@]}"; do
        echo "frag: Valkey on $a" >&2
        start_server "$a"
        t0=$SECONDS
        cli "$a" --pipe <"$WORK/fill.resp" >/dev/null && cli "$a" --pipe <"$WORK/refill.resp" >/dev/null || {
            echo "bench-server: the fill on $a failed" >&2
            stop_server "$a"
            continue
        }
        sleep 2 # serverCron refreshes the allocator figures
        frag_row "$a" fragmented $((SECONDS - t0))
        t0=$SECONDS
        if cli "$a" config set active-defrag-ignore-bytes 1mb >/dev/null &&
            [ "$(cli "$a" config set activedefrag yes | tr -d '\r')" = OK ]; then
            # Until no cycle has run for 5 s in a row (or 300 s), then until RSS
            # stays put for 3 s (or 30 s more): decay returns pages on a timer.
            quiet=0 rss_prev=0 still=0
            while [ $((SECONDS - t0)) -lt 300 ] && [ "$quiet" -lt 5 ]; do
                sleep 1
                if [ "$(info "$a" active_defrag_running)" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
            done
            secs=$((SECONDS - t0 - 5))
            [ "$quiet" -lt 5 ] && echo "bench-server: defrag on $a was still running after 300 s" >&2
            for i in $(seq 30); do
                rss=$(info "$a" used_memory_rss)
                if [ "$rss" = "$rss_prev" ]; then still=$((still + 1)); else still=0; fi
                [ "$still" -ge 3 ] && break
                rss_prev=$rss
                sleep 1
            done
            frag_row "$a" "after defrag" "$secs"
            cli "$a" memory purge >/dev/null
            sleep 2
            frag_row "$a" "after defrag + purge" 0
        fi
        stop_server "$a"
    done

fi

# ---- tables and chart ----
base=jemalloc
{
    echo "Valkey under valkey-benchmark: bench/server/run.sh"
    echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "SCALE=$SCALE; ops/s: best and median of REPS=$REPS turns (allocators in turn); peak RSS: server VmHWM over the run"
    [ ${#pin_server[@]} -gt 0 ] && echo "server pinned to CPU 0, valkey-benchmark to CPU 1; -P 16 -c 50 --seed 1, loopback"
    for a in "${names[@]}"; do
        [ -x "${tree[$a]}/src/valkey-server" ] && echo "  $a: $("${tree[$a]}/src/valkey-server" --version | head -n 1)"
    done
    echo
    echo "setget: SET+GET, 64 B values, 1M keys; list: LPUSH 16 B, then LRANGE_100;"
    echo "mixed: SET of 16 B, 256 B, 1 KiB, 4 KiB values in turn over 200k keys"
    awk -F'\t' -v base="$base" -v dat="$RESULTS/server.dat" -v allocs="${names[*]}" '
    function ratio(x, y) { return (x == "" || y == "" || x == "-" || y == "-" || y + 0 == 0) ? "-" : sprintf("%.2f", x / y) }
    NR == 1 { next }
    {
        if (!($1 in seen)) { seen[$1] = 1; order[++nr] = $1 }
        k = $1 SUBSEP $2; v[k, ++n[k]] = $4 + 0; rss[k] = $5
        if ($4 + 0 > best[k]) best[k] = $4 + 0
    }
    END {
        # median of each (run, allocator): insertion sort of its turns
        for (k in n) {
            for (i = 2; i <= n[k]; i++) for (j = i; j > 1 && v[k, j - 1] > v[k, j]; j--) {
                t = v[k, j]; v[k, j] = v[k, j - 1]; v[k, j - 1] = t
            }
            m = n[k]; med[k] = m % 2 ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
        }
        na = split(allocs, al, " ")
        printf "%-7s %-9s %10s %10s %13s %11s %11s %10s\n", "run", "allocator", "best ops/s", "median", \
            "peak RSS MiB", "best/" base, "median/" base, "RSS/" base
        for (i = 1; i <= nr; i++) for (j = 1; j <= na; j++) {
            r = order[i]; a = al[j]; k = r SUBSEP a; kb = r SUBSEP base
            printf "%-7s %-9s %10s %10s %13s %11s %11s %10s\n", r, a, best[k], med[k],
                rss[k] == "-" || rss[k] == "" ? "-" : sprintf("%.1f", rss[k] / 1024), ratio(best[k], best[kb]),
                ratio(med[k], med[kb]), ratio(rss[k], rss[kb])
        }
        for (blk = 0; blk < 2; blk++) {
            printf "# %s ratio to %s\nrun", blk ? "peak RSS" : "median ops/s", base > dat
            for (j = 1; j <= na; j++) printf " %s", al[j] > dat
            printf "\n" > dat
            for (i = 1; i <= nr; i++) {
                printf "%s", order[i] > dat
                for (j = 1; j <= na; j++) {
                    k = order[i] SUBSEP al[j]; kb = order[i] SUBSEP base
                    printf " %s", blk ? ratio(rss[k], rss[kb]) : ratio(med[k], med[kb]) > dat
                }
                printf "\n" > dat
            }
            printf "\n\n" > dat
        }
    }' "$TSV"
    echo
    echo "Fragmentation: $FRAG_KEYS keys of 16..128 B, a random half deleted, keys of 160..512 B added"
    echo "until the values' bytes are back; then activedefrag yes (ignore-bytes 1mb, other settings"
    echo "Valkey's defaults) until no cycle runs for 5 s and RSS settles; then MEMORY PURGE."
    awk -F'\t' 'NR == 1 { printf "%-9s %-21s %9s %9s %9s %11s %8s\n", "allocator", "stage", "used MiB", "RSS MiB", "mem_frag", "alloc_frag", "seconds"; next }
        { printf "%-9s %-21s %9.1f %9.1f %9s %11s %8s\n", $1, $2, $3 / 1048576, $4 / 1048576, $5, $6, $7 }' "$FTSV"
} | tee "$RESULTS/server.txt"

if command -v gnuplot >/dev/null; then
    ncols=$((${#names[@]} + 1))
    gnuplot <<EOF || echo "bench-server: gnuplot failed; no chart" >&2
set terminal pngcairo size 1000,700 font "Sans,10"
set output "$RESULTS/server.png"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set key outside right top
set multiplot layout 2,1 title "Valkey on each allocator, relative to $base"
set title "median ops/s / $base (higher is better)"
plot for [c=2:$ncols] "$RESULTS/server.dat" index 0 using c:xtic(1) title columnheader(c), 1 with lines lc rgb "black" notitle
set title "peak RSS / $base (lower is better)"
plot for [c=2:$ncols] "$RESULTS/server.dat" index 1 using c:xtic(1) title columnheader(c), 1 with lines lc rgb "black" notitle
unset multiplot
EOF
fi
echo "results: $RESULTS/server.txt server.tsv server-frag.tsv server.dat server.png; total $((SECONDS - START)) s" >&2
