/* bench/lazyfree.c -- what lazy free saves the main thread.
 *
 * Built once per backend. The main thread builds a linked list of N blocks
 * of 16..64 B (N = 10k, 100k, 1M) and drops it three ways:
 *   sync        a zfree loop on the main thread
 *   lazy        zmalloc_lazyfree_job with a destructor that zfrees each block
 *               on the background thread
 *   lazy-batch  the same destructor collecting 512 pointers at a time for
 *               zfree_batch (over balloc: sorted, each arena's share under
 *               one lock; elsewhere the same per-block frees)
 * and prints per row: the main thread's pause for the drop (sync: the whole
 * loop; lazy: the call that queues the job), the background thread's time,
 * and the main thread's allocation rate (it builds a new list of the same
 * blocks) while the background free runs, against its rate on a quiet heap
 * with the same free memory, and the slowest 256 allocations while it runs
 * ("-" where every run's free was over before the first allocation).
 * Each figure is the best of several runs. A benchmark, not a test: nothing
 * passes or fails on time. Usage: bench_lazyfree [reps] [max_n]. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zmalloc.h"

struct node {
    struct node *next;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t rng = 12345;
static size_t block_size(void) {
    rng = rng * 1103515245u + 12345u;
    return 16 + (rng >> 16) % 49;
}

static struct node *list_build(size_t n, struct node *head) {
    for (size_t i = 0; i < n; i++) {
        struct node *e = zmalloc(block_size());
        e->next = head;
        head = e;
    }
    return head;
}

static void list_free(void *arg) {
    for (struct node *e = arg, *next; e; e = next) {
        next = e->next;
        zfree(e);
    }
}

#define BATCH 512
static void list_free_batch(void *arg) {
    void *ptrs[BATCH];
    size_t k = 0;
    for (struct node *e = arg, *next; e; e = next) {
        next = e->next;
        ptrs[k++] = e;
        if (k == BATCH) {
            zfree_batch(ptrs, k);
            k = 0;
        }
    }
    zfree_batch(ptrs, k);
}

/* The background thread's time: from the queueing to the job's end. */
static _Atomic uint64_t job_end_ns;
struct job {
    void (*fn)(void *);
    struct node *list;
};
static void timed_job(void *arg) {
    struct job *j = arg;
    j->fn(j->list);
    atomic_store(&job_end_ns, now_ns());
}

/* Allocates in chunks of 256 blocks onto *list until `until` says stop (or
 * `count` blocks, if until is NULL); returns the blocks allocated, the time
 * and the slowest chunk. */
#define CHUNK 256
struct alloc_run {
    size_t blocks;
    uint64_t ns, worst_ns;
};
static int bg_busy(void) { return zmalloc_lazyfree_pending_objects() != 0; }
static struct alloc_run alloc_while(struct node **list, int (*until)(void), size_t count) {
    struct alloc_run r = {0, 0, 0};
    uint64_t start = now_ns();
    while (until ? until() : r.blocks < count) {
        uint64_t t = now_ns();
        *list = list_build(CHUNK, *list);
        uint64_t d = now_ns() - t;
        if (d > r.worst_ns) r.worst_ns = d;
        r.blocks += CHUNK;
    }
    r.ns = now_ns() - start;
    return r;
}

enum mode { SYNC, LAZY, LAZY_BATCH, NMODES };
static const char *mode_name[NMODES] = {"sync", "lazy", "lazy-batch"};

struct row {
    double pause_us, bg_ms, during, quiet, stall_us;
};

static struct row run_once(size_t n, enum mode m) {
    struct row row = {0, 0, 0, 0, 0};
    struct node *list = list_build(n, NULL);
    /* The quiet rate first: as many blocks, then freed, so the drop below
     * starts with the same free memory. */
    struct node *fresh = NULL;
    struct alloc_run quiet = alloc_while(&fresh, NULL, n);
    list_free(fresh);
    fresh = NULL;
    row.quiet = (double)quiet.blocks / ((double)quiet.ns / 1e3);
    if (m == SYNC) {
        uint64_t t = now_ns();
        list_free(list);
        row.pause_us = (double)(now_ns() - t) / 1e3;
        return row;
    }
    struct job j = {m == LAZY ? list_free : list_free_batch, list};
    uint64_t t = now_ns();
    zmalloc_lazyfree_job(timed_job, &j, 0, n);
    row.pause_us = (double)(now_ns() - t) / 1e3;
    struct alloc_run during = alloc_while(&fresh, bg_busy, 0);
    zmalloc_lazyfree_wait(-1);
    row.bg_ms = (double)(atomic_load(&job_end_ns) - t) / 1e6;
    /* -1: the free was over before the first allocation (no figure). */
    row.during = during.blocks ? (double)during.blocks / ((double)during.ns / 1e3) : -1;
    row.stall_us = during.blocks ? (double)during.worst_ns / 1e3 : -1;
    list_free(fresh);
    return row;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    size_t max_n = argc > 2 ? (size_t)atoll(argv[2]) : 1000000;
    if (reps < 1) reps = 1;
    if (zmalloc_lazyfree_start(NULL) != 0) {
        perror("zmalloc_lazyfree_start");
        return 1;
    }
    printf("# %s: drop a list of N blocks of 16..64 B; best of %d\n", ZMALLOC_LIB, reps);
    printf("%-26s %8s %-10s %10s %8s %11s %10s %6s %9s\n", "backend", "N", "mode", "pause_us",
           "bg_ms", "during_M/s", "quiet_M/s", "ratio", "stall_us");
    for (size_t n = 10000; n <= max_n; n *= 10) {
        (void)run_once(n, LAZY); /* warm the heap to this size */
        for (int m = 0; m < NMODES; m++) {
            struct row best = {1e30, 1e30, 0, 0, 1e30};
            for (int r = 0; r < reps; r++) {
                struct row x = run_once(n, (enum mode)m);
                if (x.pause_us < best.pause_us) best.pause_us = x.pause_us;
                if (x.bg_ms < best.bg_ms) best.bg_ms = x.bg_ms;
                if (x.during > best.during) best.during = x.during;
                if (x.quiet > best.quiet) best.quiet = x.quiet;
                if (x.stall_us >= 0 && x.stall_us < best.stall_us) best.stall_us = x.stall_us;
            }
            if (m == SYNC)
                printf("%-26s %8zu %-10s %10.1f %8s %11s %10.1f %6s %9s\n", ZMALLOC_LIB, n,
                       mode_name[m], best.pause_us, "-", "-", best.quiet, "-", "-");
            else if (best.during <= 0) /* every run's free was over at once */
                printf("%-26s %8zu %-10s %10.1f %8.2f %11s %10.1f %6s %9s\n", ZMALLOC_LIB, n,
                       mode_name[m], best.pause_us, best.bg_ms, "-", best.quiet, "-", "-");
            else
                printf("%-26s %8zu %-10s %10.1f %8.2f %11.1f %10.1f %6.2f %9.1f\n", ZMALLOC_LIB,
                       n, mode_name[m], best.pause_us, best.bg_ms, best.during, best.quiet,
                       best.during / best.quiet, best.stall_us);
            fflush(stdout);
        }
    }
    zmalloc_lazyfree_stop();
    return 0;
}
