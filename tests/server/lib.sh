# tests/server/lib.sh -- what the server drop-in tests (tests/server/run.sh)
# and the server benchmark (bench/server/run.sh) share: finding the Valkey
# tree, unpacking and vendoring it, building it on one allocator.
# Sourced, not run. Callers set ROOT (the repository) and WORK (a scratch
# directory under build/).

SERVERS_DIR=${SERVERS_DIR:-$ROOT/../shared/servers}

# server_tarball: prints the Valkey snapshot's path, or nothing.
server_tarball() {
    ls "$SERVERS_DIR"/valkey-*.tar.gz 2>/dev/null | head -n 1
}

# server_prepare NAME [core]: a fresh tree in $WORK/NAME/valkey with zmalloc
# vendored in by tools/vendor.sh, and balloc with it unless "core" is given
# (then only what a server that keeps its own Makefile copies: zmalloc and
# backends/, no Makefile touched); prints its path. Nothing is reused from an
# earlier run.
server_prepare() {
    local dir=$WORK/$1 with=--with=balloc
    [ "${2:-}" = core ] && with=
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    tar xzf "$(server_tarball)" -C "$dir" || return 1
    bash "$ROOT/tools/vendor.sh" $with "$dir/valkey" >"$dir/vendor.log" 2>&1 || {
        cat "$dir/vendor.log" >&2
        return 1
    }
    echo "$dir/valkey"
}

# server_build TREE MAKE-ARGS...: one make of the whole tree (a single goal:
# the server's top Makefile runs one sub-make per goal, and several goals
# under -j race). The log goes to TREE/../build.log.
server_build() {
    local tree=$1
    shift
    make -C "$tree" -j2 "$@" >"$tree/../build.log" 2>&1
}

# server_rss_peak PID: the process's peak resident set (VmHWM) in KiB.
server_rss_peak() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
