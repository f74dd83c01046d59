#!/usr/bin/env bash
# The Makefile keeps each configuration in its own directory and rebuilds
# when the flags change: on a copy of balloc's Makefile, src/ and include/
# (built at -O0, to be quick), a plain make, then BALLOC_SECURE=1, then
# BALLOC_FREE_KEY=0, then a plain make again, each checked for where it built,
# with which flags, and what it left alone; then BUILD=dir (how the top
# Makefile and servers' vendored builds call it). Ends with
# "N passed, N failed".
set -u
# Run from make test, the environment holds the calling make's variables and
# MAKEFLAGS: the makes below must see none of them.
unset MAKEFLAGS MFLAGS MAKELEVEL BUILD EXTRA_CFLAGS BALLOC_SECURE BALLOC_FREE_KEY SANITIZER OPT \
    RUN_TESTS SKIP_TESTS
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/Makefile" "$src/src" "$src/include" "$tmp/" || exit 1
passed=0 failed=0
check() { # check NAME COMMAND...: passes when COMMAND succeeds
    if "${@:2}"; then
        echo "ok - $1"
        passed=$((passed + 1))
    else
        echo "not ok - $1"
        [ "$2" = m ] && tail -n 5 "$tmp/log"
        failed=$((failed + 1))
    fi
}
# m ARGS...: make in the copy; its output goes to $tmp/log.
m() { make --no-print-directory -C "$tmp" CC="${CC:-cc}" OPT=-O0 "$@" >"$tmp/log" 2>&1; }
stamp() { stat -c %y "$tmp/$1"; }
has() { grep -q -e "$2" "$tmp/$1"; }
hasnt() { ! grep -q -e "$2" "$tmp/$1"; }

check "plain make builds" m
check "into build/" test -f "$tmp/build/libballoc.a" -a -f "$tmp/build/libballoc-malloc.so"
check "with the default flags" hasnt build/.flags BALLOC_SECURE
plain=$(stamp build/libballoc.a)

check "make BALLOC_SECURE=1 after a plain make builds" m BALLOC_SECURE=1
check "the hardened library into build/secure/" test -f "$tmp/build/secure/libballoc.a" -a \
    -f "$tmp/build/secure/libballoc.so" -a -f "$tmp/build/secure/libballoc-malloc.so"
check "with -DBALLOC_SECURE=1" has build/secure/.flags -DBALLOC_SECURE=1
check "leaving the plain build alone" test "$(stamp build/libballoc.a)" = "$plain"

check "make BALLOC_FREE_KEY=0 builds" m BALLOC_FREE_KEY=0 build/nokey/libballoc.a
check "into build/nokey/ with -DBALLOC_FREE_KEY=0" has build/nokey/.flags -DBALLOC_FREE_KEY=0

secure=$(stamp build/secure/libballoc.a)
check "a plain make again" m
check "rebuilds nothing" test "$(stamp build/libballoc.a)" = "$plain" -a \
    "$(grep -c -e '-c src/' "$tmp/log")" = 0
check "make BALLOC_SECURE=1 again rebuilds nothing" m BALLOC_SECURE=1
check "in build/secure/" test "$(stamp build/secure/libballoc.a)" = "$secure" -a \
    "$(grep -c -e '-c src/' "$tmp/log")" = 0

check "the sanitizer builds' directories" m -n SANITIZER=address BALLOC_SECURE=1 all
check "are nested (build/secure/asan)" has log 'build/secure/asan/obj/pages.o'

check "BUILD=dir builds" m BUILD="$tmp/vendored" "$tmp/vendored/libballoc.a"
check "libballoc.a in dir itself" test -f "$tmp/vendored/libballoc.a"
vendored=$(stamp vendored/libballoc.a)
check "BUILD=dir with other flags builds" m BUILD="$tmp/vendored" EXTRA_CFLAGS=-DBALLOC_SECURE=1 \
    "$tmp/vendored/libballoc.a"
check "rebuilt in dir with them" test "$(stamp vendored/libballoc.a)" != "$vendored"
check "and its flags file says so" has vendored/.flags -DBALLOC_SECURE=1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
