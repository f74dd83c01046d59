/* arena — the bins and free extents of one arena, under the arena's lock.
 *
 * A thread is bound to the arena with the fewest bound threads (lowest
 * index on a tie) and unbound when its cache is torn down at exit, so
 * short-lived threads keep reusing the same few arenas and their partly used
 * chunks instead of spreading over all narenas. Every function takes
 * the arena lock itself except those named *_locked and arena_free_remote
 * (which takes none, unless too much waits). The arena list lock
 * and the arena locks have their place in the one lock order, lockrank.h.
 *
 * Error convention: allocation functions return NULL (0 blocks) when the OS
 * refuses memory; misuse (invalid or double free) aborts with a message.
 */
#ifndef BALLOC_ARENA_H
#define BALLOC_ARENA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "decay.h"
#include "extent.h"
#include "lockrank.h"
#include "sc.h"
#include "slab.h"

#define ARENA_MAX 256

/* Invariants (under lock): allocated is the sum of usable sizes of blocks
 * handed out (to users or thread caches); npages_active counts the pages of
 * slab and large runs (a hardened large run's guard page included); per
 * chunk, its CHUNK_USABLE_PAGES (CHUNK_PAGES less the header and, in the
 * hardened build, its two guard pages) are each in a slab, a large run or a
 * free run. */
struct arena {
    pthread_mutex_t lock;
    unsigned index;
    struct bin bins[SC_NSMALL];
    struct eset eset;
    struct chunk *chunks;
    size_t nchunks;
    size_t allocated;
    size_t npages_active;
    unsigned nthreads;          /* threads bound to it; under arenas_lock */
    struct decay decay[2];      /* [0]: dirty pages, [1]: muzzy pages */
    unsigned decay_ticks;       /* slow-path events since the clock was last read */
    size_t bg_seen;             /* dirty pages when the background thread was last woken */
    uint64_t rng;               /* hardened build: random region choice (under lock) */
    /* Small blocks other arenas' threads freed (arena_free_remote): per
     * class, a stack of batches, pushed with a compare-and-swap by any
     * thread, popped or taken whole only by a holder of the lock (so a batch
     * cannot leave and come back under a popper: no ABA). On lines of their
     * own: the freeing threads write them while the owner works under its
     * lock. */
    _Alignas(64) struct arena_remote *remote[SC_NSMALL];
    size_t remote_bytes;        /* usable bytes in them: added before a push,
                                 * taken off after a pop; 0 when all are empty */
};

/* A batch of small blocks of one class and arena, freed by a thread of
 * another arena. Its blocks still count as allocated, in the arena and in
 * their bin's nmalloc - ndalloc, as blocks in a thread cache do: a refill
 * of the class takes a whole batch into the refilling thread's cache, and
 * nothing changes but where the blocks are; anything else drains batches
 * into their slabs (arena_free_locked: a double free among them aborts
 * there). Every reader of figures drains first. Lives in base memory. */
struct arena_remote {
    struct arena_remote *next;
    size_t n;
    void *items[];
};
/* A freeing thread that finds this many bytes waiting in an arena's batches
 * drains them itself, under the lock: an arena whose threads stopped
 * allocating those classes still gets its memory back. */
#define ARENA_REMOTE_MAX_BYTES ((size_t)4 << 20)

/* mapped: the arenas' chunks plus pages_leaked() (ranges whose munmap
 * failed, wherever they came from). */
struct arena_stats {
    size_t allocated, active, dirty, muzzy, retained, mapped, metadata, frag_smallbins;
};

/* Per-bin figures summed over the arenas asked for. curregs counts regions
 * handed out, thread caches included. nonfull_slabs: heap slabs plus the
 * current slab if it has room. */
struct arena_bin_stats {
    size_t curregs, curslabs, nonfull_slabs;
    uint64_t nmalloc, ndalloc;
};

/* Decay: every ARENA_DECAY_TICKS slow-path events (bin refills, frees to the
 * arena, large allocations) a thread reads the clock and, if an epoch has
 * ended, purges what the curve no longer allows: dirty pages become muzzy
 * (MADV_FREE) or, with muzzy_decay_ms 0, retained (MADV_DONTNEED); muzzy
 * pages become retained. While a background thread runs, it does this
 * instead. A decay time of 0 purges each run as it is freed. */
#define ARENA_DECAY_TICKS 32
/* Wake a background thread once this many more pages are dirty. */
#define ARENA_BG_WAKE_PAGES 1024

/* Set the number of arenas (call once, single-threaded, at start-up). */
void arena_boot(unsigned narenas);
unsigned arena_count(void);
/* Arena i, created on first use; NULL if its metadata cannot be mapped. */
struct arena *arena_get(unsigned i);
/* Bind the calling thread to the arena with the fewest bound threads (the
 * lowest index among equals); NULL if no arena can be created. */
struct arena *arena_choose(void);
/* Undo one arena_choose (the thread no longer allocates from a). */
void arena_unbind(struct arena *a);
/* In a fork child: only the forking thread is left, bound to self (or NULL). */
void arena_threads_reset_child(struct arena *self);

/* Take and drop arena a's lock (rank LOCKRANK_ARENA, by index). */
static inline void arena_lock(struct arena *a) { lockrank_lock_at(&a->lock, LOCKRANK_ARENA, a->index); }
static inline void arena_unlock(struct arena *a) { lockrank_unlock(&a->lock, LOCKRANK_ARENA); }

static inline struct arena *arena_of_ptr(const void *p) {
    return chunk_of((uintptr_t)p)->arena;
}

/* Fill out[0, n) with regions of small class cls: whole remote batches of
 * the class, newest first, as many as wait and fit together (each in the
 * order it was freed; a bin grown past its starting cap asks for more than
 * one batch holds), else regions from slabs, out[got-1] the lowest address
 * handed out. Returns the number filled (0 on OOM). */
unsigned arena_fill_small(struct arena *a, unsigned cls, void **out, unsigned n);
/* A large run of class cls aligned to align (a power of two); *zeroed tells
 * whether its pages are known zero. */
void *arena_alloc_large(struct arena *a, unsigned cls, size_t align, bool *zeroed);
/* Free block p of this arena (the caller holds a->lock). */
void arena_free_locked(struct arena *a, void *p);
void arena_free(void *p);
/* Free blocks items[0, n) of arena a under one lock. */
void arena_free_batch(struct arena *a, void *const *items, uint32_t n);
/* Hand small blocks items[0, n) of class cls and arena a (n >= 1) back
 * without a's lock: pushed as one batch on a->remote[cls] (see struct
 * arena_remote). Returns true, having done nothing, when no batch record
 * can be had. */
bool arena_free_remote(struct arena *a, unsigned cls, void *const *items, uint32_t n);
/* Whether block p of an arena chunk is free in its arena: its page is in a
 * free run, or its region is free in its slab (misuse checks). */
bool arena_block_free(const void *p);
/* Resize the large run holding p in place to class cls; true on failure. */
bool arena_resize_large(void *p, unsigned cls);
/* Whether the small block p (in an arena chunk) is worth moving: see
 * bin_defrag_hint. */
bool arena_defrag_hint(const void *p);
void arena_purge_all(void);
void arena_purge_one(unsigned i);
/* Add arena i's (ARENA_MAX: all arenas') figures: bin cls (if >= 0) to *bs,
 * dirty and muzzy page counts to *pdirty, *pmuzzy (if not NULL). */
void arena_stats_one(unsigned i, int cls, struct arena_bin_stats *bs, size_t *pdirty,
                     size_t *pmuzzy);
/* What arena_util_query says of one block (a large block: nfree 0, nregs 1,
 * bin_nfree and bin_nregs 0, slabcur NULL). */
struct arena_util {
    size_t nfree, nregs, size;   /* its slab's free and total regions, region size */
    size_t bin_nfree, bin_nregs; /* its bin's over all slabs, thread-cached blocks as used */
    void *slabcur;               /* its bin's current slab (NULL: none) */
    size_t slab_size;            /* bytes of its slab or run */
};
/* Fill *u for the block p of an arena chunk; false (*u untouched) if p's
 * page holds no block. */
bool arena_util_query(const void *p, struct arena_util *u);
/* Decay times for arenas created from now on and, with arena_set_decay_ms,
 * for every existing arena (which: 0 dirty, 1 muzzy). */
void arena_decay_boot(int64_t dirty_ms, int64_t muzzy_ms);
void arena_set_decay_ms(unsigned which, int64_t ms);
/* Run due decay in every arena; returns the next deadline (DECAY_NEVER if
 * nothing is pending). */
uint64_t arena_decay_all(uint64_t now_ns);
void arena_stats_read(struct arena_stats *st);
void arena_prefork(void);
void arena_postfork_parent(void);
void arena_postfork_child(void);

#endif
