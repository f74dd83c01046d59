/* tcache — per-thread caches of small and small-large blocks (classes below
 * SC_NTCACHE, up to 32 KiB).
 *
 * Each bin is a bounded stack: the fast paths (in balloc.c) pop and push
 * without locks. An empty bin is refilled with cap/2 blocks under one arena
 * lock; a full bin flushes its oldest half, each block to the arena that
 * owns it. Every TCACHE_GC_EVENTS refills/flushes, bins whose count did not
 * change since the last sweep give back half of their blocks. The whole
 * cache is flushed at thread exit (pthread key destructor).
 *
 * Blocks in a cache count as allocated by their arena; stats subtract them.
 * Error convention: tcache_alloc_refill returns NULL on OOM.
 */
#ifndef BALLOC_TCACHE_H
#define BALLOC_TCACHE_H

#include <stdint.h>

#include "arena.h"
#include "sc.h"

#define TCACHE_GC_EVENTS 64

enum tcache_state { TCACHE_NONE = 0, TCACHE_INIT, TCACHE_ACTIVE, TCACHE_DEAD };

/* Invariant: stack[0, n) are free blocks of the bin's class, n <= cap;
 * stack[n - 1] is handed out next. cap == 0 until the cache is active,
 * which sends both fast paths to the slow path. */
struct tbin {
    void **stack;
    uint32_t n;
    uint32_t cap;
};

struct tcache {
    struct tbin bins[SC_NTCACHE];
    struct arena *arena;        /* this thread's arena */
    int state;                  /* enum tcache_state */
    unsigned gc_ticks;
    uint32_t gc_snap[SC_NTCACHE];
    struct tcache *prev, *next; /* registry of live caches */
    void **slots;
    size_t slots_bytes;
};

extern _Thread_local struct tcache tcache_tls __attribute__((tls_model("initial-exec")));

void tcache_boot(void);
/* Make this thread's cache active (or leave it uncached on failure). */
void tcache_init(struct tcache *tc);
/* The thread's arena, choosing one if it has none yet. */
struct arena *tcache_arena(struct tcache *tc);
void *tcache_alloc_refill(struct tcache *tc, unsigned cls);
/* Bin cls is full: flush part of it, then cache p. */
void tcache_free_flush(struct tcache *tc, unsigned cls, void *p);
void tcache_flush_all(struct tcache *tc);
/* Bytes in all live caches and their number; caller holds the registry lock. */
void tcache_registry_lock(void);
void tcache_registry_unlock(void);
size_t tcache_cached_bytes_locked(unsigned *nthreads);
void tcache_prefork(void);
void tcache_postfork_parent(void);
void tcache_postfork_child(void);

#endif
