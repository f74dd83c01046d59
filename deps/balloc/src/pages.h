/* pages — every OS call balloc makes (mmap, munmap, madvise, mremap,
 * mprotect, getrandom, the clock), and the fault injector tests use to make
 * those calls fail.
 *
 * Error convention: mapping functions return NULL on failure; the others
 * return true on error, and then the pages are as they were (exceptions:
 * pages_unmap_or_leak and pages_move, below). Every failure, real or
 * injected, sets errno: ENOMEM for mmap, munmap, mremap and mprotect (what
 * the kernel says when it has no memory or hits vm.max_map_count), EAGAIN
 * for madvise, EINVAL for an madvise advice the kernel does not know.
 *
 * A failed munmap leaves the range mapped. Callers keep such a range in
 * their books where it has a place (the huge cache keeps it cached); a
 * range with no place goes through pages_unmap_or_leak, which counts it in
 * pages_leaked(): it stays mapped and unused, and balloc's `mapped` figure
 * includes it.
 */
#ifndef BALLOC_PAGES_H
#define BALLOC_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_LG 12
#define PAGE_SIZE_B ((size_t)1 << PAGE_LG)
#define PAGE_MASK_B (PAGE_SIZE_B - 1)

void *pages_map(size_t size);
/* size and align are page multiples; align a power of two. The over-mapped
 * lead and trail are unmapped with pages_unmap_or_leak. */
void *pages_map_aligned(size_t size, size_t align);
/* True on error: the range is still mapped and still the caller's. */
bool pages_unmap(void *p, size_t size);
/* For a range the caller cannot keep: unmapped, or if the kernel refuses,
 * left mapped, never touched again, and counted in pages_leaked(). */
void pages_unmap_or_leak(void *p, size_t size);
/* Bytes left mapped by failures of pages_unmap_or_leak (and pages_move). */
size_t pages_leaked(void);
/* Give the pages back (MADV_DONTNEED); they read as zero afterwards. */
bool pages_purge(void *p, size_t size);
/* Let the kernel reclaim the pages when it needs memory (MADV_FREE): they
 * read as before or as zero until written. errno EINVAL: the kernel has no
 * MADV_FREE (before 4.5); any other error is transient. */
bool pages_purge_lazy(void *p, size_t size);
/* CLOCK_MONOTONIC in nanoseconds (for decay). */
uint64_t pages_clock_ns(void);
/* Grow or shrink a mapping without moving it. */
bool pages_resize_inplace(void *p, size_t old_size, size_t new_size);
/* Move the pages of [p, p + old_size) to target (which must be mapped
 * readable and writable, new_size long; it is replaced) and extend them to
 * new_size with zero pages: the old pages keep their contents and stay
 * resident. On failure [p, p + old_size) is unchanged and target is no
 * longer the caller's: some kernels unmap it before checks that fail, and
 * another thread may map there at once, so pages_move unmaps it only if it
 * finds its own mark there (else it is not ours any more), and counts it in
 * pages_leaked() if it cannot tell. */
bool pages_move(void *p, size_t old_size, void *target, size_t new_size);
/* Make [p, p + size) inaccessible (a guard) or readable and writable again;
 * page-aligned. True on error (the protection is then unchanged); callers
 * treat a failed guard like a failed map. */
bool pages_guard(void *p, size_t size);
bool pages_unguard(void *p, size_t size);
/* Fill buf with len random bytes from the kernel (getrandom); false if it
 * cannot, and then buf holds bytes mixed from the clock and addresses. */
bool pages_entropy(void *buf, size_t len);
/* The system page size (checked against PAGE_SIZE_B at start-up). */
size_t pages_os_page_size(void);

/* ---- Fault injection (for tests) --------------------------------------
 *
 * The kinds of call that can be made to fail, one bit each in an `ops`
 * mask. Each OS call is one call of its kind: pages_map_aligned makes one
 * or two maps and up to three unmaps; pages_resize_inplace is a resize when
 * it grows and an unmap when it shrinks. An injected failure makes no
 * system call and reports the error the kernel would (see the top).
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
