/* pages — every OS call balloc makes (mmap, munmap, madvise, mremap, the clock).
 *
 * Error convention: mapping functions return NULL on failure; the others
 * return true on error. Tests inject failures with pages_fail_after().
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
/* size and align are page multiples; align a power of two. */
void *pages_map_aligned(size_t size, size_t align);
void pages_unmap(void *p, size_t size);
/* Give the pages back (MADV_DONTNEED); they read as zero afterwards. */
bool pages_purge(void *p, size_t size);
/* Let the kernel reclaim the pages when it needs memory (MADV_FREE): they
 * read as before or as zero until written. */
bool pages_purge_lazy(void *p, size_t size);
/* CLOCK_MONOTONIC in nanoseconds (for decay). */
uint64_t pages_clock_ns(void);
/* Grow or shrink a mapping without moving it. */
bool pages_resize_inplace(void *p, size_t old_size, size_t new_size);
/* Move the pages of [p, p + old_size) to target (which must be mapped,
 * new_size long; it is replaced) and extend them to new_size with zero
 * pages: the old pages keep their contents and stay resident. */
bool pages_move(void *p, size_t old_size, void *target, size_t new_size);
/* Make [p, p + size) inaccessible (a guard) or readable and writable again;
 * page-aligned. True on error (the protection is then unchanged). */
bool pages_guard(void *p, size_t size);
bool pages_unguard(void *p, size_t size);
/* Fill buf with len random bytes from the kernel (getrandom); false if it
 * cannot, and then buf holds bytes mixed from the clock and addresses. */
bool pages_entropy(void *buf, size_t len);
/* Fault injection: the next n maps succeed, then all fail; n < 0 disables. */
void pages_fail_after(long n);
/* The system page size (checked against PAGE_SIZE_B at start-up). */
size_t pages_os_page_size(void);

#endif
