#!/usr/bin/env bash
# tools/vendor.sh on small synthetic trees shaped like Redis's and Valkey's:
# the files it copies, the exact Makefile edits, a second run changing
# nothing, and the refusals (not a server tree, unknown --with) touching
# nothing. Ends with "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V=$ROOT/tools/vendor.sh
# shellcheck source=../ok.sh
. "$ROOT/tests/ok.sh"

# A Redis-shaped tree: src/zmalloc.[ch], src/Makefile with a jemalloc
# block, deps/Makefile with jemalloc: and distclean:.
make_tree() {
    local t=$1
    mkdir -p "$t/src" "$t/deps"
    echo '/* the server own zmalloc */' >"$t/src/zmalloc.c"
    echo '/* the server own zmalloc.h */' >"$t/src/zmalloc.h"
    cat >"$t/src/Makefile" <<'MK'
MALLOC=libc
ifeq ($(MALLOC),tcmalloc)
	FINAL_CFLAGS+= -DUSE_TCMALLOC
endif

ifeq ($(MALLOC),jemalloc)
	DEPENDENCY_TARGETS+= jemalloc
	FINAL_CFLAGS+= -DUSE_JEMALLOC -I../deps/jemalloc/include
	FINAL_LIBS := ../deps/jemalloc/lib/libjemalloc.a $(FINAL_LIBS)
endif

all: server
MK
    cat >"$t/deps/Makefile" <<'MK'
distclean:
	-(cd hiredis && $(MAKE) clean) > /dev/null || true
	-(cd jemalloc && [ -f Makefile ] && $(MAKE) distclean) > /dev/null || true

jemalloc: .make-prerequisites
	cd jemalloc && $(MAKE)
MK
}

t=$tmp/redis
make_tree "$t"
cp -r "$t" "$tmp/orig"
bash "$V" --with=balloc "$t" >"$tmp/out1" 2>&1
ok "first run succeeds" test $? -eq 0
ok "zmalloc.c replaced" cmp -s "$ROOT/zmalloc.c" "$t/src/zmalloc.c"
ok "zmalloc.h replaced" cmp -s "$ROOT/zmalloc.h" "$t/src/zmalloc.h"
ok "backends copied" diff -rq "$ROOT/backends" "$t/src/backends"
ok "only the core: no defrag driver, no report, no lazy free" \
    test ! -e "$t/src/zmalloc_defrag.c" -a ! -e "$t/src/zmalloc_report.c" -a ! -e "$t/src/zmalloc_lazyfree.c"
ok "balloc's sources copied" diff -rq "$ROOT/deps/balloc/src" "$t/deps/balloc/src"
ok "balloc's headers copied" diff -rq "$ROOT/deps/balloc/include" "$t/deps/balloc/include"
ok "balloc's tests left out" test ! -e "$t/deps/balloc/tests"
# The src/Makefile edit: exactly the balloc block after the jemalloc block.
cat >"$tmp/want_src" <<'MK'
MALLOC=libc
ifeq ($(MALLOC),tcmalloc)
	FINAL_CFLAGS+= -DUSE_TCMALLOC
endif

ifeq ($(MALLOC),jemalloc)
	DEPENDENCY_TARGETS+= jemalloc
	FINAL_CFLAGS+= -DUSE_JEMALLOC -I../deps/jemalloc/include
	FINAL_LIBS := ../deps/jemalloc/lib/libjemalloc.a $(FINAL_LIBS)
endif

# MALLOC=balloc (zmalloc's tools/vendor.sh): zmalloc's bundled allocator in deps/balloc, through its je_ API
ifeq ($(MALLOC),balloc)
	DEPENDENCY_TARGETS+= balloc
	FINAL_CFLAGS+= -DUSE_BALLOC -DUSE_JEMALLOC -I../deps/balloc/include
	FINAL_LIBS := ../deps/balloc/build/libballoc.a $(FINAL_LIBS)
endif

all: server
MK
ok "src/Makefile gains the MALLOC=balloc block" cmp -s "$tmp/want_src" "$t/src/Makefile"
ok "deps/Makefile gains a balloc target" grep -q '^balloc: .make-prerequisites$' "$t/deps/Makefile"
ok "balloc is built by its own Makefile" grep -qF '$(MAKE) -C balloc BUILD=$(CURDIR)/balloc/build' "$t/deps/Makefile"
ok "distclean cleans balloc, after jemalloc" \
    test "$(sed -n 4p "$t/deps/Makefile")" = '	-(cd balloc && $(MAKE) clean BUILD=$(CURDIR)/balloc/build) > /dev/null || true'
ok "the edits are printed as diffs" grep -q '^    +ifeq ($(MALLOC),balloc)' "$tmp/out1"
cp -r "$t" "$tmp/after1"
bash "$V" --with=balloc "$t" >"$tmp/out2" 2>&1
ok "second run succeeds" test $? -eq 0
ok "second run changes nothing" diff -r "$tmp/after1" "$t"
ok "second run says so" grep -q ' 0 copied, .* 0 Makefiles edited' "$tmp/out2"

# Core only: the Makefiles stay the server's.
c=$tmp/core
make_tree "$c"
bash "$V" "$c" >/dev/null 2>&1
ok "core only: zmalloc copied" cmp -s "$ROOT/zmalloc.c" "$c/src/zmalloc.c"
ok "core only: Makefiles untouched" diff -q "$tmp/orig/src/Makefile" "$c/src/Makefile"
ok "core only: no balloc" test ! -e "$c/deps/balloc"

# Refusals change nothing and exit 2.
mkdir -p "$tmp/notserver"
bash "$V" --with=balloc "$tmp/notserver" >/dev/null 2>"$tmp/err"
ok "not a server tree: exit 2" test $? -eq 2
ok "not a server tree: says why" grep -q 'is not a server tree' "$tmp/err"
ok "not a server tree: nothing written" test -z "$(ls -A "$tmp/notserver")"
u=$tmp/unknown
make_tree "$u"
bash "$V" --with=tcmalloc "$u" >/dev/null 2>&1
ok "unknown --with: exit 2" test $? -eq 2
ok "unknown --with: nothing written" diff -r "$tmp/orig" "$u"
s=$tmp/shape
make_tree "$s"
printf 'all:\n\tcc -o server *.c\n' >"$s/src/Makefile"
bash "$V" --with=balloc "$s" >/dev/null 2>"$tmp/err"
ok "unknown Makefile shape: exit 2" test $? -eq 2
ok "unknown Makefile shape: zmalloc not copied either" cmp -s "$tmp/orig/src/zmalloc.c" "$s/src/zmalloc.c"

ok_summary
