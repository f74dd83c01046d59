/* balloc — a general-purpose memory allocator.
 *
 * Error convention: functions returning a pointer return NULL on failure and
 * set errno to ENOMEM (EINVAL for a bad alignment); balloc_posix_memalign
 * returns the error number instead, as POSIX says. Sizes of PTRDIFF_MAX and
 * above always fail. A pointer balloc did not hand out, or a double free
 * detected, stops the program with a message on stderr and abort().
 *
 * Usable sizes: every block has a usable size >= the request; it equals
 * balloc_good_size(request) for blocks from malloc/calloc/realloc and their
 * _usable variants. balloc_free_sized(p, size) accepts any size between the
 * request and the usable size of such a block; blocks from the aligned
 * functions must be freed with balloc_free (or sized with their usable size).
 *
 * Misuse messages: "balloc: invalid free of 0x..." (not a block start, or
 * not balloc's), "balloc: double free of 0x..." (region already free in its
 * slab, or its pages already returned to the arena). Thread-cache caveat: a
 * block sitting in a thread cache is not yet marked free in its slab, so a
 * second free of it is caught only when the cache is flushed back (thread
 * exit, balloc_thread_flush, a full bin, or the low-water sweep). A double free of
 * a huge block (its header is cleared) reports "invalid free", unless its
 * pages were reused for a new huge block at the same address meanwhile.
 */
#ifndef BALLOC_H
#define BALLOC_H

#include <stddef.h>
#include <stdint.h>

#define BALLOC_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

void *balloc_malloc(size_t size);
void *balloc_calloc(size_t n, size_t size);
void *balloc_realloc(void *p, size_t size);   /* size 0 frees p, returns NULL */
void balloc_free(void *p);
void balloc_free_sized(void *p, size_t size);

/* Variants that also report the usable size (no extra lookup). */
void *balloc_malloc_usable(size_t size, size_t *usable);
void *balloc_calloc_usable(size_t n, size_t size, size_t *usable);
void *balloc_realloc_usable(void *p, size_t size, size_t *usable);
size_t balloc_free_usable(void *p);           /* frees p, returns its usable size */

size_t balloc_usable_size(const void *p);     /* 0 for NULL */
size_t balloc_good_size(size_t size);         /* usable size malloc(size) gets */

int balloc_posix_memalign(void **out, size_t align, size_t size);
void *balloc_aligned_alloc(size_t align, size_t size);  /* any power of two */

/* Resize without moving; returns the resulting usable size (the old one if
 * the block cannot become exactly balloc_good_size(size) in place). */
size_t balloc_resize_in_place(void *p, size_t size);

void balloc_purge(void);          /* MADV_DONTNEED every free page, unmap cached huge ranges */
void balloc_thread_flush(void);   /* empty this thread's cache */

#define BALLOC_STATS_VERSION 1
struct balloc_stats {
    uint32_t version;        /* BALLOC_STATS_VERSION */
    size_t allocated;        /* usable bytes of live blocks (thread caches excluded) */
    size_t active;           /* bytes of pages in slabs and runs in use, plus huge */
    size_t resident;         /* active + dirty free pages + metadata (upper bound) */
    size_t mapped;           /* all address space mapped for arenas, huge (cache included), metadata */
    size_t retained;         /* free pages returned with MADV_DONTNEED or never touched */
    size_t metadata;         /* chunk headers, huge headers, internal structures */
    size_t frag_smallbins;   /* free region bytes in partly used slabs (current slabs included) */
    size_t dirty;            /* free pages that may still be resident (cached huge ranges included) */
    size_t huge_allocated;   /* usable bytes in huge mappings (part of allocated) */
    unsigned narenas;
    unsigned nthreads;       /* threads with a live cache */
};
/* Fills *st (a consistent snapshot when no other thread is allocating);
 * returns 0, or -1 if st is NULL. */
int balloc_get_stats(struct balloc_stats *st);

#ifdef __cplusplus
}
#endif
#endif
