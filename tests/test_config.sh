#!/usr/bin/env bash
# A built library carries its configuration: a program compiled with the
# flags `make print-cflags` prints for a build links against that build's
# library (`make print-libs`) and sees its ZMALLOC_LIB, HAVE_MALLOC_SIZE and
# HAVE_DEFRAG; compiled with another configuration's flags it fails to link,
# naming the configuration it was compiled for. Checked on balloc, on libc
# and on libc in prefix-header mode. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
CC=${CC:-cc}
# shellcheck source=ok.sh
. tests/ok.sh

cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include "zmalloc.h"
int main(void) {
    void *p = zmalloc(100);
    int exact = zmalloc_used_memory() == zmalloc_size(p);
    zfree(p);
    printf("%s%s%s %s\n", ZMALLOC_LIB,
#ifdef HAVE_MALLOC_SIZE
           " usable",
#else
           "",
#endif
#ifdef HAVE_DEFRAG
           " defrag",
#else
           "",
#endif
           exact && zmalloc_used_memory() == 0 ? "exact" : "MISCOUNTED");
    return 0;
}
C

version=$(sed -n 's/^#define BALLOC_VERSION "\(.*\)"$/\1/p' deps/balloc/include/balloc.h)
# config NAME MAKE-ARGS...: builds that configuration's library; its flags
# go to $tmp/NAME.cflags, its link line to $tmp/NAME.libs.
config() {
    local name=$1
    shift
    $MAKE -s --no-print-directory lib "$@" >"$tmp/$name.build" 2>&1 || { cat "$tmp/$name.build"; return 1; }
    $MAKE -s --no-print-directory print-cflags "$@" >"$tmp/$name.cflags" &&
        $MAKE -s --no-print-directory print-libs "$@" >"$tmp/$name.libs"
}
# build CFLAGS-OF LIBS-OF: compiles prog.c with one configuration's flags and
# links it with another's library; the linker's words go to $tmp/err.
build() {
    # shellcheck disable=SC2046
    $CC -std=c11 $(cat "$tmp/$1.cflags") "$tmp/prog.c" $(cat "$tmp/$2.libs") -o "$tmp/prog" 2>"$tmp/err"
}
runs() { # runs EXPECTED-OUTPUT
    [ "$("$tmp/prog")" = "$1" ]
}
# refused CFLAGS-OF LIBS-OF SYMBOL WHAT: the link fails, naming SYMBOL.
refused() {
    build "$1" "$2"
    ok "$4: no link" test $? -ne 0
    ok "$4: names $3" grep -qF "undefined reference to \`$3'" "$tmp/err"
}

ok "balloc library builds" config bundled MALLOC=bundled
ok "libc library builds" config libc MALLOC=libc
ok "libc prefix-header library builds" config prefix MALLOC=libc ZMALLOC_PREFIX=yes
ok "print-cflags for balloc" test "$(cat "$tmp/bundled.cflags")" = "-I$PWD -DUSE_BALLOC -I$PWD/deps/balloc/include"
ok "print-cflags for libc" test "$(cat "$tmp/libc.cflags")" = "-I$PWD"
ok "print-cflags for libc, prefix-header mode" test "$(cat "$tmp/prefix.cflags")" = "-I$PWD -DNO_MALLOC_USABLE_SIZE"

for c in bundled libc prefix; do
    build "$c" "$c"
    ok "$c: links with its own flags" test $? -eq 0
done
build bundled bundled && ok "balloc: its configuration" runs "balloc-$version usable defrag exact"
build libc libc && ok "libc: its configuration" runs "libc usable exact"
build prefix prefix && ok "libc prefix-header: its configuration" runs "libc exact"

refused libc bundled zmalloc_config_libc_usable "libc flags, balloc library"
refused bundled libc zmalloc_config_balloc_usable "balloc flags, libc library"
refused libc prefix zmalloc_config_libc_usable "usable-size flags, prefix-header library"
refused prefix libc zmalloc_config_libc_prefix "prefix-header flags, usable-size library"

# The check is data, not code: one read-only pointer per object file.
echo '#include "zmalloc.h"' >"$tmp/empty.c"
# shellcheck disable=SC2046
$CC -std=c11 -O2 $(cat "$tmp/libc.cflags") -c "$tmp/empty.c" -o "$tmp/empty.o"
ok "an object including zmalloc.h has no code" test -z "$(nm "$tmp/empty.o" | grep -E ' [Tt] ')"
ok "and references its configuration" test "$(nm "$tmp/empty.o" | grep -c ' U zmalloc_config_libc_usable$')" -eq 1

ok_summary
