#!/bin/sh
# balloc's libraries put only its API in a program's namespace:
#   $1 libballoc.a: one object whose every global symbol is balloc_* or je_*
#      (the jemalloc-compatible API), internal functions made local;
#   $2 libballoc.so: exports balloc_* and je_* only;
#   $3 libballoc-malloc.so (LD_PRELOAD): balloc_* and the C library's
#      allocation names, no je_* (preloaded, it must not take over a
#      jemalloc the program loads).
# Ends with "N passed, N failed".
lib=$1 so=$2 preload=$3
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
notok() { echo "not ok - $1"; failed=$((failed + 1)); }
# Names outside the allowed pattern $2 among the defined names $1.
stray() { printf '%s\n' "$1" | grep -Ev "$2" || true; }

defined=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }')
if [ -z "$defined" ]; then
    notok "no symbols read from $lib"
    echo "$passed passed, $failed failed"
    exit 1
fi
members=$(ar t "$lib" | wc -l)
if [ "$members" -eq 1 ]; then ok "$lib is one object"; else notok "$lib has $members members"; fi
s=$(stray "$defined" '^(balloc_|je_)')
if [ -z "$s" ]; then
    ok "every global symbol of $lib is balloc_* or je_* ($(printf '%s\n' "$defined" | wc -l) symbols)"
else
    notok "internal symbols are global in $lib:"; printf '  %s\n' $s
fi
for s in balloc_malloc balloc_free balloc_ctl je_malloc je_mallctl je_get_defrag_hint; do
    if printf '%s\n' "$defined" | grep -qx "$s"; then passed=$((passed + 1))
    else notok "$s is not exported by $lib"; fi
done
# The internal functions are still there, as local symbols.
locals=$(nm --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[a-z]$/ { print $3 }')
for s in arena_choose pages_map tcache_flush_all; do
    if printf '%s\n' "$locals" | grep -qx "$s"; then passed=$((passed + 1))
    else notok "$s is not a local symbol of $lib"; fi
done

# What a shared library exports: its defined dynamic symbols that another
# module can bind to (visibility default or protected; the linker lists the
# bounds of the allocator's section there too, hidden).
exported() {
    readelf -W --dyn-syms "$1" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") &&
        ($6 == "DEFAULT" || $6 == "PROTECTED") { sub(/@.*/, "", $8); print $8 }'
}
if [ -n "$so" ]; then
    d=$(exported "$so")
    s=$(stray "$d" '^(balloc_|je_)')
    if [ -n "$d" ] && [ -z "$s" ]; then ok "$so exports balloc_* and je_* only"
    else notok "$so exports:"; printf '  %s\n' $s; fi
fi
if [ -n "$preload" ]; then
    d=$(exported "$preload")
    libc='^(malloc|calloc|realloc|reallocarray|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size)$'
    s=$(stray "$d" "^balloc_|$libc")
    if [ -n "$d" ] && [ -z "$s" ] && printf '%s\n' "$d" | grep -qx malloc; then
        ok "$preload exports balloc_* and the C library's names only"
    else
        notok "$preload exports:"; printf '  %s\n' $s
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
