/* bench/defrag.c -- fragmentation, then active defrag, through zmalloc.
 *
 * Built once per backend that has HAVE_DEFRAG. The workload is the allocator
 * suite's Redis-like one: fill with 1M values of 16..128 B, free a random
 * half, refill with 160..512 B values until the live bytes are back; then
 * the defrag driver runs (100 ms budgets at full effort, until a pass moves
 * nothing), then zmalloc_purge(). Prints one table row per stage: RSS (less
 * the RSS before the fill, as deps/balloc/bench does) over the bytes requested
 * (live) and over zmalloc_used_memory() (used: live plus size-class
 * rounding, which no move can win back), and allocator_frag_ratio. A
 * benchmark: nothing here passes or fails. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zmalloc.h"

#ifndef HAVE_DEFRAG
int main(void) {
    printf("%s: no active defrag on this backend\n", ZMALLOC_LIB);
    return 0;
}
#else
static unsigned char **vals;
static size_t *lens;
static size_t nvals, live;

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned long scan(void *privdata, unsigned long cursor) {
    (void)privdata;
    for (int k = 0; k < 256 && cursor < nvals; k++, cursor++) {
        unsigned char *np = vals[cursor] ? zmalloc_defrag_alloc(vals[cursor]) : NULL;
        if (np) vals[cursor] = np;
    }
    return cursor >= nvals ? 0 : cursor;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t rss0;
static void row(const char *stage, double secs) {
    struct zmalloc_report r;
    zmalloc_get_memory_report(&r);
    double rss = (double)(r.rss - rss0);
    printf("%-15s %-21s %9.1f %9.1f %9.3f %9.3f %10.2f %8.2f\n", ZMALLOC_LIB, stage,
           (double)live / 1048576.0, (double)r.used / 1048576.0, rss / (double)live,
           rss / (double)r.used, r.allocator_frag_ratio, secs);
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    vals = calloc(2 * n, sizeof(*vals));
    lens = calloc(2 * n, sizeof(*lens));
    if (!vals || !lens) return 1;
    /* The program's own arrays are made resident before the baseline
     * (through volatile stores: the compiler drops a memset of calloc'ed
     * memory). */
    for (size_t i = 0; i < 2 * n; i += 512) {
        ((void *volatile *)vals)[i] = NULL;
        ((volatile size_t *)lens)[i] = 0;
    }
    rss0 = zmalloc_get_rss();
    printf("%-15s %-21s %9s %9s %9s %9s %10s %8s\n", "backend", "stage", "live MiB", "used MiB",
           "RSS/live", "RSS/used", "alloc_frag", "seconds");
    double t = now();
    for (size_t i = 0; i < n; i++) {
        lens[i] = 16 + next() % 113;
        vals[i] = zmalloc(lens[i]);
        memset(vals[i], (int)i, lens[i]);
        live += lens[i];
    }
    nvals = n;
    size_t target = live;
    for (size_t i = 0; i < n; i++)
        if (next() & 1) {
            zfree(vals[i]);
            live -= lens[i];
            vals[i] = NULL;
        }
    while (live < target && nvals < 2 * n) {
        lens[nvals] = 160 + next() % 353;
        vals[nvals] = zmalloc(lens[nvals]);
        memset(vals[nvals], 7, lens[nvals]);
        live += lens[nvals++];
    }
    row("fragmented", now() - t);

    struct zmalloc_defrag_policy policy = {0, 2, 50, 100, 100};
    struct zmalloc_defrag_result res;
    unsigned long cursor = 0;
    size_t pass_moved = 0;
    t = now();
    for (int calls = 0; calls < 100000; calls++) {
        pass_moved += zmalloc_defrag_cycle(&policy, 100000, scan, NULL, &cursor, &res);
        if (!res.ran) break;
        if (res.pass_done) {
            if (pass_moved == 0) break;
            pass_moved = 0;
        }
    }
    row("after defrag", now() - t);
    t = now();
    zmalloc_purge();
    row("after defrag + purge", now() - t);
    for (size_t i = 0; i < nvals; i++) zfree(vals[i]);
    return 0;
}
#endif
