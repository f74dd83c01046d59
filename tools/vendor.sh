#!/usr/bin/env bash
# tools/vendor.sh [--with=balloc] DEST
#
# Copies zmalloc's core (zmalloc.c, zmalloc.h, backends/) into DEST/src/, a
# server tree that keeps its own src/zmalloc.c (Redis- or Valkey-shaped),
# replacing the server's. The core is all such a server compiles: its
# Makefile lists its objects, and it has its own defrag.c, INFO code and
# lazyfree.c, so zmalloc_defrag.c, zmalloc_report.c and zmalloc_lazyfree.c
# (built on the core's API) are not copied. With --with=balloc it also copies deps/balloc (sources,
# include/, Makefile, README; no tests, no benchmarks, no build output) into DEST/deps/balloc
# and teaches the server's Makefiles MALLOC=balloc:
#
#   src/Makefile   an `ifeq ($(MALLOC),balloc)` block after the jemalloc one:
#                  build the balloc dependency, compile with -DUSE_BALLOC
#                  -DUSE_JEMALLOC (the server's jemalloc-only code compiles
#                  against balloc's je_ API) and link deps/balloc/build/libballoc.a
#   deps/Makefile  a `balloc` target running balloc's own Makefile with the
#                  server's CC and CFLAGS (and TSan under SANITIZER=thread),
#                  and `distclean` cleaning balloc's build
#
# The edits are made only when both Makefiles are recognised (a jemalloc block
# adding -DUSE_JEMALLOC -I../deps/jemalloc/include and linking
# ../deps/jemalloc/lib/libjemalloc.a; a deps Makefile with `jemalloc:` and
# `distclean:` targets), and are idempotent: a second run changes nothing.
# Every file copied or removed is printed, and each Makefile edit as a
# unified diff. Nothing is touched unless every check passes.
#
# Exit status: 0 done (or nothing to do), 2 bad usage or DEST is not a server
# tree this script knows, 1 a copy or write failed.
set -u
set -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=${0##*/}

usage() {
    echo "usage: $PROG [--with=balloc] DEST" >&2
    echo "  DEST: a server tree with src/zmalloc.c (Redis or Valkey)" >&2
}
die() { # die STATUS MESSAGE...
    local status=$1
    shift
    echo "$PROG: $*" >&2
    exit "$status"
}

with=
dest=
for arg in "$@"; do
    case $arg in
    --with=balloc) with=balloc ;;
    --with=*) usage; die 2 "unknown --with value '${arg#--with=}' (known: balloc)" ;;
    -h | --help) usage; exit 0 ;;
    -*) usage; die 2 "unknown option '$arg'" ;;
    *)
        [ -z "$dest" ] || { usage; die 2 "more than one DEST ('$dest', '$arg')"; }
        dest=$arg
        ;;
    esac
done
[ -n "$dest" ] || { usage; die 2 "no DEST given"; }

# ---- checks: nothing is written before all of them pass ----

[ -d "$dest" ] || die 2 "$dest: no such directory"
DEST=$(cd "$dest" && pwd)
[ "$DEST" != "$ROOT" ] || die 2 "$dest is this repository, not a server tree"
for f in src/zmalloc.c src/zmalloc.h src/Makefile; do
    [ -f "$DEST/$f" ] || die 2 "$dest is not a server tree: no $f (expected a Redis- or Valkey-shaped tree with src/zmalloc.c)"
done
for f in zmalloc.c zmalloc.h backends; do
    [ -e "$ROOT/$f" ] || die 1 "$ROOT/$f is missing"
done

SRC_MK=$DEST/src/Makefile
DEPS_MK=$DEST/deps/Makefile

# The block added to src/Makefile, right after the jemalloc block.
src_block() {
    cat <<'EOF'
# MALLOC=balloc (zmalloc's tools/vendor.sh): zmalloc's bundled allocator in deps/balloc, through its je_ API
ifeq ($(MALLOC),balloc)
	DEPENDENCY_TARGETS+= balloc
	FINAL_CFLAGS+= -DUSE_BALLOC -DUSE_JEMALLOC -I../deps/balloc/include
	FINAL_LIBS := ../deps/balloc/build/libballoc.a $(FINAL_LIBS)
endif
EOF
}

# The target appended to deps/Makefile.
deps_block() {
    cat <<'EOF'
# balloc (zmalloc's tools/vendor.sh): built by its own Makefile into balloc/build,
# with the server's CC and CFLAGS (-m32, ...), and TSan under SANITIZER=thread.
BALLOC_CFLAGS=$(CFLAGS) $(if $(filter thread,$(SANITIZER)),-fsanitize=thread)

balloc: .make-prerequisites
	@printf '%b %b\n' $(MAKECOLOR)MAKE$(ENDCOLOR) $(BINCOLOR)$@$(ENDCOLOR)
	$(MAKE) -C balloc BUILD=$(CURDIR)/balloc/build CC="$(CC)" EXTRA_CFLAGS="$(BALLOC_CFLAGS)" $(CURDIR)/balloc/build/libballoc.a

.PHONY: balloc
EOF
}

# The line added to deps/Makefile's distclean recipe.
DISTCLEAN_LINE='	-(cd balloc && $(MAKE) clean BUILD=$(CURDIR)/balloc/build) > /dev/null || true'

# edit_src_makefile IN OUT BLOCKFILE: OUT is IN with the balloc block after the
# jemalloc block (an existing balloc block is replaced in place). Exit 3 when
# IN has no recognisable jemalloc block.
edit_src_makefile() {
    awk -v blockfile="$3" '
    BEGIN { while ((getline l < blockfile) > 0) blk[++nb] = l; marker = blk[1] }
    { line[++n] = $0 }
    END {
        for (i = 1; i <= n; i++) {
            if (line[i] ~ /^ifeq[ \t]*\([ \t]*\$\(MALLOC\)[ \t]*,[ \t]*jemalloc[ \t]*\)[ \t]*$/) {
                if (js) { print "two MALLOC=jemalloc blocks" > "/dev/stderr"; exit 3 }
                js = i
                for (j = i + 1; j <= n && line[j] !~ /^endif/; j++) body = body line[j] "\n"
                je = j
            }
            if (line[i] ~ /^ifeq[ \t]*\([ \t]*\$\(MALLOC\)[ \t]*,[ \t]*balloc[ \t]*\)[ \t]*$/) {
                if (bs) { print "two MALLOC=balloc blocks" > "/dev/stderr"; exit 3 }
                bs = i
                for (j = i + 1; j <= n && line[j] !~ /^endif/; j++) ;
                be = j
                if (i > 1 && line[i - 1] == marker) bs = i - 1
            }
        }
        if (!js || je > n || index(body, "-DUSE_JEMALLOC") == 0 || index(body, "-I../deps/jemalloc/include") == 0 ||
            index(body, "../deps/jemalloc/lib/libjemalloc.a") == 0) {
            print "no MALLOC=jemalloc block adding -DUSE_JEMALLOC -I../deps/jemalloc/include and ../deps/jemalloc/lib/libjemalloc.a" > "/dev/stderr"
            exit 3
        }
        if (bs && be > n) { print "a MALLOC=balloc block without its endif" > "/dev/stderr"; exit 3 }
        for (i = 1; i <= n; i++) {
            if (bs && i == bs) { for (k = 1; k <= nb; k++) print blk[k]; i = be; continue }
            print line[i]
            if (!bs && i == je) { print ""; for (k = 1; k <= nb; k++) print blk[k] }
        }
    }' "$1" >"$2"
}

# edit_deps_makefile IN OUT BLOCKFILE: OUT is IN with the balloc target at
# the end (an existing one replaced in place) and distclean cleaning balloc.
# Exit 3 when IN has no jemalloc: or distclean: target.
edit_deps_makefile() {
    awk -v blockfile="$3" -v dline="$DISTCLEAN_LINE" '
    BEGIN { while ((getline l < blockfile) > 0) blk[++nb] = l; marker = blk[1] }
    { line[++n] = $0 }
    END {
        for (i = 1; i <= n; i++) {
            if (line[i] ~ /^jemalloc[ \t]*:/) hasje = 1
            if (line[i] ~ /^distclean[ \t]*:/) ds = i
            if (line[i] == marker) bs = i
            if (bs && !be && line[i] ~ /^\.PHONY:[ \t]*balloc[ \t]*$/) be = i
        }
        if (!hasje || !ds) { print "no jemalloc: and distclean: targets" > "/dev/stderr"; exit 3 }
        if (bs && !be) { print "a balloc target without its .PHONY line" > "/dev/stderr"; exit 3 }
        # distclean: its recipe is the tab-led lines after it; ours goes after
        # the jemalloc line (or first), unless a line naming balloc is there.
        for (j = ds + 1; j <= n && line[j] ~ /^\t/; j++) {
            if (line[j] ~ /balloc/) dl = j
            if (line[j] ~ /jemalloc/) dj = j
        }
        dend = j - 1
        if (!dl) dafter = dj ? dj : ds
        for (i = 1; i <= n; i++) {
            if (bs && i == bs) { for (k = 1; k <= nb; k++) print blk[k]; i = be; continue }
            if (dl && i == dl) { print dline; continue }
            print line[i]
            if (!dl && i == dafter) print dline
        }
        if (!bs) {
            if (n && line[n] != "") print ""
            for (k = 1; k <= nb; k++) print blk[k]
        }
    }' "$1" >"$2"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

shape=
if [ "$with" = balloc ]; then
    [ -f "$DEPS_MK" ] || die 2 "$dest: no deps/Makefile: not a Redis- or Valkey-shaped tree, cannot add MALLOC=balloc (copy without --with=balloc and build balloc by hand, see README)"
    src_block >"$tmp/src_block"
    deps_block >"$tmp/deps_block"
    if ! edit_src_makefile "$SRC_MK" "$tmp/src.Makefile" "$tmp/src_block" 2>"$tmp/err"; then
        die 2 "$dest/src/Makefile: $(cat "$tmp/err"): not a Redis- or Valkey-shaped Makefile, nothing changed"
    fi
    if ! edit_deps_makefile "$DEPS_MK" "$tmp/deps.Makefile" "$tmp/deps_block" 2>"$tmp/err"; then
        die 2 "$dest/deps/Makefile: $(cat "$tmp/err"): not a Redis- or Valkey-shaped deps Makefile, nothing changed"
    fi
    [ -f "$ROOT/deps/balloc/Makefile" ] || die 1 "$ROOT/deps/balloc is missing"
    shape=" (Redis/Valkey-shaped Makefiles: adding MALLOC=balloc)"
fi

# ---- copies ----

copied=0 unchanged=0 removed=0 edited=0

# put SRC REL: copy SRC to DEST/REL unless it is already identical.
put() {
    local src=$1 rel=$2
    if [ -f "$DEST/$rel" ] && cmp -s "$src" "$DEST/$rel"; then
        unchanged=$((unchanged + 1))
        return
    fi
    mkdir -p "$(dirname "$DEST/$rel")" && cp "$src" "$DEST/$rel" || die 1 "cannot write $DEST/$rel"
    echo "  copied   $rel"
    copied=$((copied + 1))
}

# prune DIR KEEPLIST [SKIP]: remove files under DEST/DIR not in KEEPLIST
# (relative paths, one a line), except under DEST/DIR/SKIP.
prune() {
    local dir=$1 keep=$2 skip=${3:-} f rel
    [ -d "$DEST/$dir" ] || return 0
    while IFS= read -r f; do
        rel=${f#"$DEST"/}
        if [ -n "$skip" ] && [[ $rel == "$dir/$skip/"* ]]; then continue; fi
        if ! grep -qxF "$rel" "$keep"; then
            rm -f "$f" || die 1 "cannot remove $f"
            echo "  removed  $rel"
            removed=$((removed + 1))
        fi
    done < <(find "$DEST/$dir" -type f | sort)
    find "$DEST/$dir" -mindepth 1 -type d -empty -delete 2>/dev/null
    return 0
}

echo "vendor: zmalloc into $DEST$shape"
: >"$tmp/keep"
put "$ROOT/zmalloc.c" src/zmalloc.c
put "$ROOT/zmalloc.h" src/zmalloc.h
while IFS= read -r f; do
    put "$ROOT/backends/$f" "src/backends/$f"
    echo "src/backends/$f" >>"$tmp/keep"
done < <(cd "$ROOT/backends" && find . -type f | sed 's|^\./||' | sort)
prune src/backends "$tmp/keep"

if [ "$with" = balloc ]; then
    : >"$tmp/keep"
    while IFS= read -r f; do
        put "$ROOT/deps/balloc/$f" "deps/balloc/$f"
        echo "deps/balloc/$f" >>"$tmp/keep"
    done < <(cd "$ROOT/deps/balloc" && find . -type d \( -name tests -o -name bench -o -name 'build*' -o -name obj \) -prune -o -type f \
        ! -name '*.[oad]' ! -name '*.so' ! -name '*.so.*' ! -name '*~' ! -name '.*' -print | sed 's|^\./||' | sort)
    prune deps/balloc "$tmp/keep" build

    # ---- Makefile edits, each shown as a diff ----
    for mk in src deps; do
        if cmp -s "$DEST/$mk/Makefile" "$tmp/$mk.Makefile"; then
            echo "  unchanged $mk/Makefile (already has MALLOC=balloc)"
            continue
        fi
        echo "  edited   $mk/Makefile"
        diff -u --label "a/$mk/Makefile" --label "b/$mk/Makefile" "$DEST/$mk/Makefile" "$tmp/$mk.Makefile" | sed 's/^/    /'
        cat "$tmp/$mk.Makefile" >"$DEST/$mk/Makefile" || die 1 "cannot write $DEST/$mk/Makefile"
        edited=$((edited + 1))
    done
fi

echo "vendor: $copied copied, $unchanged unchanged, $removed removed, $edited Makefiles edited"
if [ "$with" = balloc ]; then
    echo "next: make -C $DEST MALLOC=balloc   (or MALLOC=libc|jemalloc: zmalloc over the server's own choices)"
else
    echo "next: make -C $DEST   (the server's MALLOC=libc|jemalloc|tcmalloc, now through zmalloc)"
fi
