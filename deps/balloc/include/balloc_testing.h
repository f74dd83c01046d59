/* balloc_testing.h -- balloc's fault injector, for tests only: every OS call
 * balloc makes goes through its pages layer (src/pages.c), and a test can
 * make chosen kinds of call fail there.
 *
 * The functions are internal symbols: a test links libballoc-internal.a (or
 * balloc's objects), not libballoc.a, whose only globals are the API.
 */
#ifndef BALLOC_TESTING_H
#define BALLOC_TESTING_H

#include <stdbool.h>
#include <stdint.h>

/* The kinds of call that can be made to fail, one bit each in an `ops`
 * mask. Each OS call is one call of its kind: pages_map_aligned makes one
 * or two maps and up to three unmaps; pages_resize_inplace is a resize when
 * it grows and an unmap when it shrinks. An injected failure makes no
 * system call and reports the error the kernel would (src/pages.h says
 * which, call by call).
 *
 * While armed, every call of every kind is counted, and the calls of the
 * kinds in `ops` are numbered 1, 2, ... from the arming on: a test runs a
 * workload once with n = 0 to learn how many calls it makes, then sweeps n
 * over that range. Arming again resets the counts; pages_inject_off stops
 * failing and counting and keeps the counts for pages_inject_read. When
 * off, a call costs one relaxed load. Thread-safe; the numbering follows
 * the order in which threads reach the calls. */
enum pages_op {
    PAGES_OP_MAP = 0,      /* mmap */
    PAGES_OP_UNMAP,        /* munmap */
    PAGES_OP_PURGE,        /* madvise(MADV_DONTNEED) */
    PAGES_OP_PURGE_LAZY,   /* madvise(MADV_FREE) */
    PAGES_OP_RESIZE,       /* mremap: in-place growth and moves */
    PAGES_OP_GUARD,        /* mprotect: guards and unguards */
    PAGES_NOPS
};
#define PAGES_OPS_ALL ((1u << PAGES_NOPS) - 1)

struct pages_inject_counts {
    uint64_t calls[PAGES_NOPS];    /* calls of each kind since armed */
    uint64_t failed[PAGES_NOPS];   /* of those, failed by injection */
    uint64_t selected;             /* calls of the kinds in ops (what n counts) */
};

/* The n-th call (1 = the next) of the kinds in ops fails; with and_after,
 * every later one of those kinds fails too. n = 0: nothing fails, calls are
 * only counted. */
void pages_inject_nth(unsigned ops, uint64_t n, bool and_after);
/* Each call of the kinds in ops fails with probability k / 65536 (k <=
 * 65536), drawn from a generator seeded with seed: the same seed and the
 * same sequence of calls fail the same calls. */
void pages_inject_random(unsigned ops, uint32_t k, uint64_t seed);
void pages_inject_off(void);
void pages_inject_read(struct pages_inject_counts *out);

#endif
