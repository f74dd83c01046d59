#!/bin/sh
# LD_PRELOAD smoke runs: each program's output must equal its output
# without the drop-in library; then the slab policy option is checked
# through tests/policy_probe. Prints "N passed, N failed".
BUILD=${BUILD:-../../build/balloc}
LIB=$(cd "$BUILD" && pwd)/libballoc-malloc.so
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

seq 1 200000 | awk '{ print ($1 * 7919) % 100003 }' > "$TMP/nums"

run() {
    name=$1
    shift
    "$@" > "$TMP/plain" 2>&1
    LD_PRELOAD="$LIB" "$@" > "$TMP/pre" 2>&1
    if cmp -s "$TMP/plain" "$TMP/pre"; then
        pass=$((pass + 1))
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name"
        diff "$TMP/plain" "$TMP/pre" | head -5
    fi
}

run "ls -l /usr/bin" ls -l /usr/bin
run "sort -n" sort -n "$TMP/nums"
run "sort | uniq -c" sh -c "sort '$TMP/nums' | uniq -c | sort -rn | head -20"
run "python3" python3 -c "import json,collections; d=collections.Counter(str(i%97) for i in range(300000)); print(len(json.dumps(sorted(d.items()))), sum(len(str(x)*3) for x in range(100000)))"
run "gcc --version" gcc --version
run "gcc compile" sh -c "echo 'int main(void){return 0;}' | gcc -x c -O2 -c -o /dev/null - && echo compiled"
run "grep -c" grep -c 7 "$TMP/nums"
run "tar" sh -c "tar cf - -C /usr/include stdio.h stdlib.h string.h | tar tf -"
if command -v perl >/dev/null; then
    run "perl" perl -e 'my %h; $h{$_ % 1000} .= "x" for 1..200000; print scalar(keys %h), "\n"'
fi

# The slab policy option must reach the drop-in library (read at start-up,
# from the environment of a preloaded process). The probe reads the policy
# from the order of regions, which the hardened build randomizes
# (SECURE=1): there only the run without balloc is checked.
expect() {
    name=$1
    want=$2
    shift 2
    got=$("$@" 2>&1)
    if [ "$got" = "$want" ]; then
        pass=$((pass + 1))
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name: got '$got', want '$want'"
    fi
}
PROBE=$(cd "$BUILD" && pwd)/tests/policy_probe
if [ "${SECURE:-0}" != 1 ]; then
    expect "slab policy default" fullest env -u BALLOC_SLAB_POLICY LD_PRELOAD="$LIB" "$PROBE"
    expect "slab policy lowest" lowest env BALLOC_SLAB_POLICY=lowest LD_PRELOAD="$LIB" "$PROBE"
fi
expect "probe without balloc" not-balloc "$PROBE"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
