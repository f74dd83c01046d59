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
 * Misuse messages, each followed by abort(): "balloc: <what> of 0x...",
 * <what> being "invalid free" (not a block start, or not balloc's), "double
 * free" (the block is in a thread cache, free in its slab, or its pages are
 * free), "wrong size in sized free" (a size of another class), "realloc
 * after free", "invalid realloc", "usable size after free", "invalid
 * pointer", "resize after free", "invalid resize", and in the hardened build
 * (BALLOC_SECURE=1) "overflow past the end" (a small block's canary was
 * overwritten). A freed block is recognised while it has not been handed out
 * again and its first 8 bytes (where a key is stored) are intact.
 */
#ifndef BALLOC_H
#define BALLOC_H

#include <stddef.h>
#include <stdint.h>

#define BALLOC_VERSION "0.2.0"

/* The section of balloc's entry points and slow paths: a heap profile's
 * stacks start above the outermost frame in it (src/prof.h, whose
 * PROF_SECTION is the same name). A layer over balloc puts the functions
 * that call into balloc there too, so profiles name its callers, not it
 * (zmalloc does: backends/balloc.h). */
#define BALLOC_API_SECTION "balloc_text"

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

/* Counted variants, for a layer that counts its own blocks (zmalloc): the
 * same as the calls above, and they also add the usable size to the calling
 * thread's counted bytes (allocated, or freed), as jemalloc's
 * thread.allocated and thread.deallocated, on the same fast path. Only these
 * calls and balloc_counted_add move the counts: blocks taken with any other
 * call (balloc_malloc, the je_ API, the drop-in malloc) are not counted.
 * balloc_counted_total() is the sum over all threads of counted allocated
 * less counted freed bytes, lock-free; a thread's figures outlive it (its
 * slot passes to the next new thread, which goes on from them), so the total
 * is exact across thread exits, and blocks freed by another thread than the
 * one that allocated them cancel out in the sum. balloc_counted_slots() is
 * the number of per-thread slots ever made: the most threads with a cache
 * alive at once (plus a few), for diagnostics. */
void *balloc_malloc_counted(size_t size);   /* on failure: the hook below */
void *balloc_malloc_usable_counted(size_t size, size_t *usable);
void *balloc_calloc_usable_counted(size_t n, size_t size, size_t *usable);
size_t balloc_free_counted(void *p);          /* frees p, returns its usable size */
void balloc_free_sized_counted(void *p, size_t size);
/* What balloc_malloc_counted returns when it fails: hook(size) (errno is
 * ENOMEM when it is called), or NULL with no hook (the default). A layer
 * with an out-of-memory policy sets it, and its own malloc is then one tail
 * call. The other counted calls return NULL on failure. */
void balloc_set_counted_oom(void *(*hook)(size_t size));
/* Count bytes a counted layer moved with other calls (realloc, no_tcache). */
void balloc_counted_add(size_t allocated, size_t freed);
int64_t balloc_counted_total(void);
size_t balloc_counted_slots(void);

/* Free blocks ptrs[0, n) (NULL entries are skipped) as balloc_free would,
 * without going through the calling thread's cache, for a thread that
 * frees many blocks others allocated: in windows of a few hundred blocks,
 * grouped by arena and size class, each other arena's small blocks go back
 * as one lock-free batch per class (its own thread takes such a batch whole
 * on its next refill), and the caller's own arena's under one hold of its
 * lock; the owner's lock is not taken unless its waiting batches grow past
 * a bound. Every block is checked as balloc_free checks it, and misuse stops
 * the program with the same messages ("double free of 0x...", a block twice
 * in the batch included; "invalid free of 0x..."). The array is scratch: its
 * contents are changed. The counted form also takes the blocks' usable
 * bytes off the calling thread's counted bytes, and returns them. */
void balloc_free_batch(void **ptrs, size_t n);
size_t balloc_free_batch_counted(void **ptrs, size_t n);

size_t balloc_usable_size(const void *p);     /* 0 for NULL */
size_t balloc_good_size(size_t size);         /* usable size malloc(size) gets */

int balloc_posix_memalign(void **out, size_t align, size_t size);
void *balloc_aligned_alloc(size_t align, size_t size);  /* any power of two */
/* Usable size balloc_aligned_alloc(align, size) gets; 0 for a bad align. */
size_t balloc_good_size_aligned(size_t align, size_t size);

/* Resize without moving; returns the resulting usable size (the old one if
 * the block cannot become exactly balloc_good_size(size) in place). */
size_t balloc_resize_in_place(void *p, size_t size);

/* Defrag support. balloc_defrag_hint(p) is 1 if p lives in a slab that is
 * not full, not its bin's current slab, and uses at most the bin's average
 * over its other non-full slabs plus 1/8 — moving it (allocate with
 * balloc_malloc_usable_no_tcache, copy, free the old block with
 * balloc_free_usable_no_tcache) lets emptier slabs drain; 0 for large and
 * huge blocks, full slabs and the current slab. The no_tcache functions
 * bypass the thread cache: the allocation comes from the bin's current slab,
 * else its fullest non-full slab (per the slab policy). */
int balloc_defrag_hint(const void *p);
void *balloc_malloc_usable_no_tcache(size_t size, size_t *usable);
size_t balloc_free_usable_no_tcache(void *p);   /* frees p, returns its usable size */

/* MADV_DONTNEED every dirty and muzzy free page, unmap cached huge ranges.
 * Without it, freed pages decay on their own (dirty_decay_ms,
 * muzzy_decay_ms; see README). */
void balloc_purge(void);
void balloc_thread_flush(void);   /* empty this thread's cache */

/* Version 2 appended muzzy. */
#define BALLOC_STATS_VERSION 3
struct balloc_stats {
    uint32_t version;        /* BALLOC_STATS_VERSION */
    size_t allocated;        /* usable bytes of live blocks (thread caches excluded) */
    size_t active;           /* bytes of pages in slabs and runs in use, plus huge */
    size_t resident;         /* active + dirty + muzzy + metadata (upper bound) */
    size_t mapped;           /* all address space mapped for arenas, huge (cache included), metadata */
    size_t retained;         /* free pages returned with MADV_DONTNEED or never touched */
    size_t metadata;         /* chunk headers, huge headers, internal structures */
    size_t frag_smallbins;   /* free region bytes in partly used slabs other than each
                              * bin's current one: what moving hinted blocks can win back */
    size_t dirty;            /* free pages that may still be resident (cached huge ranges included) */
    size_t huge_allocated;   /* usable bytes in huge mappings (part of allocated) */
    unsigned narenas;
    unsigned nthreads;       /* threads with a live cache */
    size_t muzzy;            /* free pages given back with MADV_FREE (may still be resident) */
    size_t prof_samples;     /* live blocks sampled for the heap profile (prof:true) */
    size_t prof_sampled_bytes; /* their usable bytes (not scaled up) */
};
/* Fills *st (a consistent snapshot when no other thread is allocating);
 * returns 0, or -1 if st is NULL. */
int balloc_get_stats(struct balloc_stats *st);

/* Control and statistics by name, like mallctl. Returns 0 or an errno value:
 * ENOENT for an unknown name (or index), EINVAL for a wrong *oldlenp or
 * newlen, a NULL where a value is needed, or a value out of range, EPERM for
 * writing a read-only name or giving an action a value, EAGAIN if the
 * background thread cannot start; a
 * failed call changes nothing. To read, pass oldp and *oldlenp == the
 * value's size; to write, newp and newlen == its size (the old value is read
 * first). Actions (purge, flush) take no value: all four NULL/0.
 *   version (const char *), epoch (uint64_t, write anything to advance)
 *   opt.<name> (bool, int64_t, or const char * for slab_policy), from the
 *     options table; opt.dirty_decay_ms, opt.muzzy_decay_ms and
 *     opt.background_thread are writable
 *   background_thread (bool, rw)
 *   stats.{allocated,active,resident,mapped,retained,metadata} (size_t)
 *   stats.arenas.<i|all>.{pdirty,pmuzzy} (size_t pages); "all" may also be
 *     spelt 4096 or the arena count, and is the mib component
 *     BALLOC_CTL_ARENAS_ALL (jemalloc's MALLCTL_ARENAS_ALL)
 *   stats.arenas.<i|all>.bins.<j>.{size (size_t), nregs (uint32_t),
 *     curregs, curslabs, nonfull_slabs (size_t), nmalloc, ndalloc (uint64_t)}
 *     — curregs counts regions handed out, thread caches included
 *   arenas.{narenas,nbins} (unsigned), arenas.{page,quantum} (size_t)
 *   arenas.bin.<j>.{size, slab_size (size_t), nregs (uint32_t)}
 *   arena.<i|all>.purge, arenas.purge, thread.tcache.flush (actions: EPERM
 *     if given a value)
 *   thread.tcache.enabled (bool, rw; off flushes and bypasses the cache)
 *   utilization.query: newp = &ptr (newlen sizeof(void *)), oldp = struct
 *     balloc_util; EINVAL if ptr is not a live block's page
 *   prof.active (bool, rw): heap-profile sampling on or off (ENOMEM if its
 *     tables cannot be had); prof.dump: write a heap profile, newp = &path
 *     (const char *; NULL, or no value at all: <prof_prefix>.<pid>.<seq>.m.heap);
 *     ENOENT while profiling is off, else the errno of creating or writing
 *     the file (which is then not left behind); EPERM if read
 *   stats.prof.{samples,sampled_bytes} (size_t): live sampled blocks, their
 *     usable bytes (as sampled, not scaled)
 * balloc_ctl_nametomib resolves a name once (*miblenp: capacity in, length
 * out; 6 is always enough) for repeated balloc_ctl_bymib calls. */
#define BALLOC_CTL_ARENAS_ALL 4096   /* the mib component of "all" arenas */
struct balloc_util {
    size_t nfree, nregs, size;   /* of the block's slab (large/huge: 0, 1, usable size) */
    size_t bin_nfree, bin_nregs; /* over all slabs of its bin, all arenas' thread caches counted as used */
    void *slabcur;               /* the bin's current slab (NULL: none, or large/huge) */
    size_t slab_size;            /* bytes of the block's slab or run (huge: usable size) */
};
int balloc_ctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int balloc_ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp);
int balloc_ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                     size_t newlen);

/* Print options, totals and per-bin figures, as text or (json != 0) one JSON
 * object, in pieces through write(arg, piece). */
void balloc_stats_print(void (*write)(void *, const char *), void *arg, int json);

#ifdef __cplusplus
}
#endif
#endif
