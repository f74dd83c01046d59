/* arena — the bins and free extents of one arena, under the arena's lock.
 *
 * A thread is bound to the arena with the fewest bound threads (lowest
 * index on a tie) and unbound when its cache is torn down at exit, so
 * short-lived threads keep reusing the same few arenas and their partly used
 * chunks instead of spreading over all narenas. Every function takes
 * the arena lock itself except those named *_locked. Lock order: tcache
 * registry lock, then the arena list lock (binding, creation), then arena
 * locks (by index), then the base lock.
 *
 * Error convention: allocation functions return NULL (0 blocks) when the OS
 * refuses memory; misuse (invalid or double free) aborts with a message.
 */
#ifndef BALLOC_ARENA_H
#define BALLOC_ARENA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "extent.h"
#include "sc.h"
#include "slab.h"

#define ARENA_MAX 256

/* Invariants (under lock): allocated is the sum of usable sizes of blocks
 * handed out (to users or thread caches); npages_active counts the pages of
 * slab and large runs; per chunk, header + active + free pages = 1024. */
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
};

struct arena_stats {
    size_t allocated, active, dirty, retained, mapped, metadata, frag_smallbins;
};

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

static inline struct arena *arena_of_ptr(const void *p) {
    return chunk_of((uintptr_t)p)->arena;
}

/* Fill out[0, n) with regions of small class cls; out[got-1] is the lowest
 * address handed out. Returns the number filled (0 on OOM). */
unsigned arena_fill_small(struct arena *a, unsigned cls, void **out, unsigned n);
/* A large run of class cls aligned to align (a power of two); *zeroed tells
 * whether its pages are known zero. */
void *arena_alloc_large(struct arena *a, unsigned cls, size_t align, bool *zeroed);
/* Free block p of this arena (the caller holds a->lock). */
void arena_free_locked(struct arena *a, void *p);
void arena_free(void *p);
/* Resize the large run holding p in place to class cls; true on failure. */
bool arena_resize_large(void *p, unsigned cls);
void arena_purge_all(void);
void arena_stats_read(struct arena_stats *st);
void arena_prefork(void);
void arena_postfork_parent(void);
void arena_postfork_child(void);

#endif
