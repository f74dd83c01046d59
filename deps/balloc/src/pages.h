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

/* The fault injector tests use to make these calls fail: its public face is
 * include/balloc_testing.h. */
#include "balloc_testing.h"

#endif
