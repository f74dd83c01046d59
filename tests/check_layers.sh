#!/bin/sh
# The proof of balloc's layering. balloc's files are layered in the table of
# deps/balloc/README.md (its one source: rows from the top layer down), and
#   - every file of deps/balloc/src and deps/balloc/include is in the table,
#     and every file the table lists exists;
#   - a balloc file includes (#include "...") only files of its own row or
#     of the rows below it;
#   - nothing outside deps/balloc (the top directory's .c and .h files,
#     backends/, tests/, bench/, examples/, tools/) includes a header of
#     deps/balloc/src, by its path or by a bare name only that directory
#     holds, and no Makefile or script there adds -I.../deps/balloc/src.
# balloc's own tests (deps/balloc/tests) may include its internals.
#
#   tests/check_layers.sh              check this tree, then the self-test;
#                                      ends with "N passed, N failed"
#   tests/check_layers.sh --tree DIR   check the tree at DIR only
#
# The self-test copies balloc into a scratch tree, checks that the copy
# passes, then breaks it one way at a time and checks that each break is
# reported, naming the file and what it includes.
set -u

# ---- checking one tree ------------------------------------------------------

# check_tree ROOT: prints "ok - ..." or "FAIL ..." per check and a summary
# line; returns 1 if any check failed.
check_tree() {
    root=$1
    pass=0
    fail=0
    work=$(mktemp -d) || exit 2
    table=$work/table
    readme=$root/deps/balloc/README.md

    ok() { pass=$((pass + 1)); echo "ok - $1"; }
    bad() { fail=$((fail + 1)); echo "FAIL $1"; }
    # verdict NAME ERRS: one check, passed if ERRS (one failure a line) is empty.
    verdict() {
        if [ -z "$2" ]; then ok "$1"; else echo "$2" | sed 's/^/FAIL /'; fail=$((fail + 1)); fi
    }
    # includes FILE: the names FILE includes with #include "...".
    includes() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"; }
    # outside FIND-TESTS...: the files outside deps/balloc (the top directory
    # and the directories below) that pass find's tests, relative to root.
    outside() {
        (cd "$root" && {
            find . -maxdepth 1 -type f \( "$@" \)
            for d in backends tests bench examples tools; do
                [ -d "$d" ] && find "$d" -type f \( "$@" \)
            done
        } | sed 's|^\./||' | LC_ALL=C sort)
    }

    # "path row" for each file of the first table whose header is
    # "| file | layer |"; row 1 is the top layer.
    awk '
        /^\| *file *\| *layer *\|/ { on = 1; next }
        on && /^\| *---/ { next }
        on && /^\|/ {
            row++
            n = split($0, cell, "|")
            c = cell[2]
            while (match(c, /`[^`]+`/)) {
                print substr(c, RSTART + 1, RLENGTH - 2), row
                c = substr(c, RSTART + RLENGTH)
            }
            next
        }
        on { exit }
    ' "$readme" > "$table" 2>/dev/null
    if [ -s "$table" ]; then
        ok "layer table read from deps/balloc/README.md ($(awk 'END { print $2 }' "$table") rows)"
    else
        bad "deps/balloc/README.md: no layer table (a table headed \"| file | layer |\")"
    fi

    row_of() { awk -v p="$1" '$1 == p { print $2; exit }' "$table"; }

    # Every listed file exists.
    missing=$(while read -r p r; do [ -f "$root/deps/balloc/$p" ] || echo "$p"; done < "$table")
    if [ -z "$missing" ]; then
        ok "every file in the layer table exists"
    else
        for p in $missing; do bad "deps/balloc/README.md: lists $p, which does not exist"; done
    fi

    # balloc's files: listed, and including nothing from a higher row.
    (cd "$root/deps/balloc" && find src include -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort) > "$work/files"
    while read -r f; do
        row=$(row_of "$f")
        if [ -z "$row" ]; then
            bad "deps/balloc/$f: not in the layer table of deps/balloc/README.md"
            continue
        fi
        errs=$(includes "$root/deps/balloc/$f" |
            while read -r inc; do
                t=""
                for cand in "src/$inc" "include/$inc"; do
                    [ -z "$t" ] && [ -n "$(row_of "$cand")" ] && t=$cand
                done
                if [ -z "$t" ]; then
                    echo "deps/balloc/$f: includes \"$inc\", which is not in the layer table"
                elif [ "$(row_of "$t")" -lt "$row" ]; then
                    echo "deps/balloc/$f: includes \"$inc\" (row $(row_of "$t")), above its own row $row"
                fi
            done)
        verdict "deps/balloc/$f (row $row)" "$errs"
    done < "$work/files"

    # Outside deps/balloc: sources that reach into deps/balloc/src.
    (cd "$root/deps/balloc/src" && ls) > "$work/srcnames"
    outside -name '*.c' -o -name '*.h' > "$work/outside"
    while read -r f; do
        dir=$(dirname "$f")
        errs=$(includes "$root/$f" |
            while read -r inc; do
                case $inc in
                *balloc/src/*) echo "$f: includes \"$inc\", a header of deps/balloc/src" ;;
                */*) ;;
                *)
                    if grep -qx "$inc" "$work/srcnames" && [ ! -f "$root/$dir/$inc" ] && [ ! -f "$root/$inc" ]; then
                        echo "$f: includes \"$inc\", found only in deps/balloc/src"
                    fi ;;
                esac
            done)
        verdict "$f" "$errs"
    done < "$work/outside"

    # Outside deps/balloc: build files and scripts that add deps/balloc/src
    # to the include path.
    outside -name 'Makefile' -o -name '*.mk' -o -name '*.sh' | grep -vx 'tests/check_layers.sh' > "$work/builds"
    while read -r f; do
        errs=$(grep -n -e '-I[[:space:]]*[^[:space:]]*balloc/src' "$root/$f" |
            sed "s|^\([0-9]*\):.*|$f:\1: adds -I...deps/balloc/src to the include path|")
        verdict "$f" "$errs"
    done < "$work/builds"

    rm -rf "$work"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# ---- the self-test ------------------------------------------------------------

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
top=$(cd "$(dirname "$0")/.." && pwd)

# self_test: each case is one check; prints "ok - ..." or "FAIL ..." and
# leaves the counts in st_pass, st_fail.
self_test() {
    st_pass=0
    st_fail=0
    scratch=$(mktemp -d) || exit 2
    t=$scratch/tree

    fresh() {
        rm -rf "$t"
        mkdir -p "$t/deps/balloc" "$t/tests"
        cp -R "$top/deps/balloc/src" "$top/deps/balloc/include" "$top/deps/balloc/README.md" "$t/deps/balloc/"
    }
    # expect NAME WANT: the scratch tree passes (WANT empty) or fails with a
    # line containing WANT.
    expect() {
        out=$(sh "$self" --tree "$t" 2>&1)
        rc=$?
        if [ -z "$2" ]; then
            if [ "$rc" -eq 0 ]; then r=ok; else r=bad; fi
        elif [ "$rc" -eq 1 ] && echo "$out" | grep -F -q -- "FAIL $2"; then
            r=ok
        else
            r=bad
        fi
        if [ "$r" = ok ]; then
            st_pass=$((st_pass + 1))
            echo "ok - self-test: $1"
        else
            st_fail=$((st_fail + 1))
            echo "FAIL self-test: $1 (exit $rc, wanted ${2:-a pass})"
            echo "$out" | grep '^FAIL' | sed 's/^/    /'
        fi
    }

    fresh
    expect "balloc alone passes" ""

    fresh
    echo '#include "tcache.h"' >> "$t/deps/balloc/src/pages.c"
    expect "an include from a higher row" 'deps/balloc/src/pages.c: includes "tcache.h" (row 2), above its own row 8'

    fresh
    echo '#include "arena.h"' >> "$t/deps/balloc/src/run.h"
    expect "a header including a higher row" 'deps/balloc/src/run.h: includes "arena.h" (row 5), above its own row 7'

    fresh
    : > "$t/deps/balloc/src/new.h"
    expect "a file missing from the table" 'deps/balloc/src/new.h: not in the layer table of deps/balloc/README.md'

    fresh
    rm "$t/deps/balloc/src/bitmap.h"
    expect "a listed file that does not exist" 'deps/balloc/README.md: lists src/bitmap.h, which does not exist'

    fresh
    echo '#include "nowhere.h"' >> "$t/deps/balloc/src/sc.c"
    expect "an include of an unlisted header" 'deps/balloc/src/sc.c: includes "nowhere.h", which is not in the layer table'

    fresh
    echo '#include "../deps/balloc/src/chunk.h"' > "$t/tests/t.c"
    expect "a test including src/ by path" 'tests/t.c: includes "../deps/balloc/src/chunk.h", a header of deps/balloc/src'

    fresh
    echo '#include "pages.h"' > "$t/tests/t.c"
    expect "a test including src/ by a bare name" 'tests/t.c: includes "pages.h", found only in deps/balloc/src'

    fresh
    printf 'all:\n\tcc -I deps/balloc/include -Ideps/balloc/src x.c\n' > "$t/Makefile"
    expect "a Makefile adding src/ to the include path" 'Makefile:2: adds -I...deps/balloc/src to the include path'

    fresh
    mkdir -p "$t/tools" && printf 'cc -I"$ROOT/deps/balloc/src" x.c\n' > "$t/tools/build.sh"
    expect "a script adding src/ to the include path" 'tools/build.sh:1: adds -I...deps/balloc/src to the include path'

    rm -rf "$scratch"
}

# ---- main ---------------------------------------------------------------------

if [ "${1:-}" = --tree ]; then
    check_tree "$2"
    exit $?
fi

echo "== layering of this tree"
check_tree "$top" > "${TMPDIR:-/tmp}/check_layers.$$" 2>&1
tree_rc=$?
cat "${TMPDIR:-/tmp}/check_layers.$$"
tp=$(tail -n 1 "${TMPDIR:-/tmp}/check_layers.$$" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
tf=$(tail -n 1 "${TMPDIR:-/tmp}/check_layers.$$" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
rm -f "${TMPDIR:-/tmp}/check_layers.$$"
echo "== self-test: injected violations are caught"
self_test
pass=$((${tp:-0} + st_pass))
fail=$((${tf:-1} + st_fail))
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$tree_rc" -eq 0 ]
