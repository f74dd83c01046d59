/* tcache — per-thread caches of small and small-large blocks (classes below
 * SC_NTCACHE, up to 32 KiB).
 *
 * Each bin is a bounded stack: the fast paths (in balloc.c) pop and push
 * without locks. An empty bin is refilled with cap/2 blocks: a small
 * class's under one arena lock (arena_fill_small), a large cached class's
 * (16 to 32 KiB) one arena_alloc_large, so one lock, per block. A full bin
 * flushes its oldest half, each block to the arena that owns it: one lock
 * for the thread's own arena, one lock-free batch per other arena
 * (tcache_bin_flush). Every TCACHE_GC_EVENTS refills/flushes a sweep runs: each bin
 * gives back 3/4 of its low-water mark (blocks that sat unused through the
 * whole period), oldest first.
 *
 * A bin's cap starts at its class's starting cap and doubles, up to the
 * class's most (both set by tcache_boot; only classes up to 256 B grow),
 * when the bin fills up after it was refilled since its last flush: the
 * thread holds more blocks of the class at once than the bin can keep (a
 * server's reply built from hundreds of small blocks and freed together),
 * so each batch would otherwise cost refills and flushes under the arena's
 * lock. A thread that only frees or only allocates a class never grows its
 * bin. A sweep that finds half a grown bin idle (its low-water mark at
 * least cap/2) halves its cap again. The whole cache is flushed, and the thread
 * unbound from its arena, at thread exit (pthread key destructor).
 *
 * Blocks in a cache count as allocated by their arena; stats subtract them.
 *
 * Counted bytes (balloc_*_counted in balloc.h): each thread that has a cache
 * owns a struct tcount, where the counted calls add the usable bytes they
 * hand out and take back. The slot is taken when the cache starts, so the
 * fast paths (which run only on an active cache) add to it with no check,
 * and given back at thread exit with its figures still in it: the next
 * thread to take it goes on from them, so the sum over all slots never loses
 * or doubles an exited thread's bytes, and slots are reused, not grown.
 * Error convention: tcache_alloc_slow returns NULL on OOM.
 */
#ifndef BALLOC_TCACHE_H
#define BALLOC_TCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "sc.h"

#define TCACHE_GC_EVENTS 64
#define TCACHE_CAP_MAX 512   /* the most blocks a bin holds, at its largest */

enum tcache_state { TCACHE_NONE = 0, TCACHE_INIT, TCACHE_ACTIVE, TCACHE_DEAD };

/* Invariant: stack[0, n) are free blocks of the bin's class, low <= n <=
 * cap; stack[n - 1] is handed out next, and top is a copy of it when n > 0
 * (so the allocation fast path gets its block with one load, not two
 * dependent ones). stack[-1] is a spare slot, so the fast path may read
 * stack[n - 2] as the next top when n == 1. low is the fewest blocks the
 * bin held since the last sweep: the allocation fast path pops only while
 * n > low, so each new low goes through tcache_alloc_slow, which lowers it.
 * cap == 0 until the cache is active, which sends both fast paths to the
 * slow path. */
struct tbin {
    void *top;
    void **stack;
    uint32_t n;
    uint32_t low;
    uint32_t cap;
    uint32_t refilled; /* refilled since the last flush (the cap's growth) */
};

/* Only the owner thread writes a bin; other threads read its n (stats,
 * tcache_holds), so every write of n is a relaxed atomic store (on x86-64
 * the same plain mov), and these three functions are the only writers.
 * The owner reads its own n with plain loads. */

/* Set n after a batch changed stack[0, n) (refill, flush), and refresh top. */
static inline void tbin_set_n(struct tbin *b, uint32_t n) {
    __atomic_store_n(&b->n, n, __ATOMIC_RELAXED);
    b->top = b->stack[(ptrdiff_t)n - 1];
}

/* Take the newest block. n is b->n as the caller read it, n > 0. */
static inline void *tbin_pop(struct tbin *b, uint32_t n) {
    void *p = b->top;
    b->top = b->stack[(ptrdiff_t)n - 2];
    __atomic_store_n(&b->n, n - 1, __ATOMIC_RELAXED);
    return p;
}

/* Add p as the newest block. n is b->n as the caller read it, n < cap. */
static inline void tbin_push(struct tbin *b, uint32_t n, void *p) {
    b->stack[n] = p;
    b->top = p;
    __atomic_store_n(&b->n, n + 1, __ATOMIC_RELAXED);
}

/* A thread's counted bytes. Only the owning thread writes allocated and
 * freed (relaxed atomic stores of its own plain loads: on x86-64 a plain
 * add); any thread reads them, without a lock, to sum them. owned passes
 * from an exiting thread (release store of 0) to a new one (acquire CAS
 * 0->1), so the new owner goes on from the last figures. Slots are never
 * freed and next never changes once linked, so readers walk the list
 * while threads come and go. Two cache lines: x86's adjacent-line
 * prefetcher pulls lines in aligned pairs, so neighbouring slots would
 * otherwise bounce between the cores that write them. */
struct tcount {
    uint64_t allocated;   /* usable bytes the counted calls handed out */
    uint64_t freed;       /* usable bytes the counted calls took back */
    int owned;            /* 1 while a living thread owns the slot */
    struct tcount *next;  /* the slot made before this one */
} __attribute__((aligned(128)));

struct tcache {
    struct tbin bins[SC_NTCACHE];
    struct tcount *count;       /* counted bytes; set before the cache is active */
    int64_t prof_left;          /* bytes until the next heap-profile sample (prof.h) */
    unsigned prof_epoch;        /* prof_epoch when prof_left was drawn */
    struct arena *arena;        /* this thread's arena */
    int state;                  /* enum tcache_state */
    unsigned gc_ticks;
    int disabled;               /* turned off with tcache_set_enabled */
    int hooked;                 /* the exit hook (pthread key) is set */
    struct tcache *prev, *next; /* registry of live caches */
    void **slots;
    size_t slots_bytes;
};

extern _Thread_local struct tcache tcache_tls __attribute__((tls_model("initial-exec")));

/* This thread's bin of class cls, for the fast paths. The empty asm makes
 * the address an opaque value computed once: without it gcc computes the
 * thread-local address a second time for tbin_pop's and tbin_push's atomic
 * store. */
static inline struct tbin *tcache_bin(unsigned cls) {
    struct tbin *b = &tcache_tls.bins[cls];
    __asm__("" : "+r"(b));
    return b;
}

/* Profiling was switched or its interval changed (prof.h): this thread
 * draws its next interval at its next allocation, not at its next slow
 * path (other threads do at theirs). */
static inline void tcache_prof_redraw(struct tcache *tc) {
    tc->prof_epoch = 0;  /* prof_epoch starts at 1 */
    tc->prof_left = 0;   /* sends the next allocation to the slow path */
}

/* The fast paths' counting: the cache is active, so tc->count is set. */
static inline void tcount_add_allocated(struct tcache *tc, size_t bytes) {
    struct tcount *c = tc->count;
    __atomic_store_n(&c->allocated, c->allocated + bytes, __ATOMIC_RELAXED);
}
static inline void tcount_add_freed(struct tcache *tc, size_t bytes) {
    struct tcount *c = tc->count;
    __atomic_store_n(&c->freed, c->freed + bytes, __ATOMIC_RELAXED);
}
/* Counting anywhere else: takes a slot if the thread has none; a thread
 * whose cache was torn down (a thread-exit destructor still allocating)
 * counts into one shared atomic figure instead. */
void tcount_add(struct tcache *tc, size_t allocated, size_t freed);
/* Every slot's allocated less freed, plus the shared figure; lock-free. */
int64_t tcount_total(void);
size_t tcount_slots(void);   /* slots ever made */

/* The most blocks of class cls one remote batch should hold: what a refill
 * of a bin at its starting cap asks for, so the owner's next refill takes
 * the batch whole (arena_fill_small); 1 for a class not cached. */
uint32_t tcache_remote_batch_max(unsigned cls);
/* Blocks items[0, n) of small class cls, all of arena a (not the caller's):
 * onto a's remote stack in batches of tcache_remote_batch_max (a grown bin
 * flushes more than that at once); a batch that cannot be had goes back
 * under a's lock. */
void tcache_free_remote(struct arena *a, unsigned cls, void *const *items, uint32_t n);
/* Caps per class; classes above max_size (all, with 0) are not cached. */
void tcache_boot(size_t max_size);
/* Make this thread's cache active (or leave it uncached on failure). */
void tcache_init(struct tcache *tc);
/* The thread's arena, choosing one if it has none yet (starting the cache
 * first if the thread has none, so the binding is undone at exit). */
struct arena *tcache_arena(struct tcache *tc);
/* Allocation when the fast path declined: n == low (pop and lower the
 * low-water mark) or the bin is empty (refill). NULL on OOM. */
void *tcache_alloc_slow(struct tcache *tc, unsigned cls);
/* Bin cls is full: flush part of it, then cache p. */
void tcache_free_flush(struct tcache *tc, unsigned cls, void *p);
void tcache_flush_all(struct tcache *tc);
/* An allocation or free that went around the cache (the defrag path) counts
 * toward the next sweep like a refill or flush: a thread that only moves
 * blocks still gives back what its cache holds idle, which would otherwise
 * keep alive the sparse slabs its moves are emptying. */
void tcache_note_bypass(struct tcache *tc);
/* Whether p is in bin cls of any live cache (misuse checks; only a block
 * holding the free key gets here). It takes the registry lock and reads
 * other threads' bins without their owners' cooperation: a bin's n is read
 * atomically and a block leaves a bin's stack[0, n) before it goes back to
 * its arena, so a block the caller holds (it was handed out again) is never
 * found; the reads of stack entries race with their owners' plain writes by
 * design, on this path alone. */
bool tcache_holds(const void *p, unsigned cls);
/* Turn this thread's cache on or off (off: flushed, every bin's cap 0, so
 * both fast paths fall to the slow path, which goes to the arena). */
void tcache_set_enabled(struct tcache *tc, bool on);
bool tcache_enabled(const struct tcache *tc);
/* Take and drop the lock of the registry of live caches. */
void tcache_registry_lock(void);
void tcache_registry_unlock(void);
size_t tcache_cached_bytes_locked(unsigned *nthreads);
void tcache_prefork(void);
void tcache_postfork_parent(void);
void tcache_postfork_child(void);

#endif
/* Bytes in all live caches and their number; caller holds the registry lock. */
