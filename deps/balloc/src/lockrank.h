/* lockrank — the one order in which balloc's locks are taken, and the
 * check of it in debug builds (BALLOC_DEBUG, build.h).
 *
 * A thread holding a lock takes only locks of a higher rank:
 *
 *   rank  lock                      file          what it guards
 *   1     tcache registry           tcache.c      the list of live thread caches
 *   2     arena list                arena.c       creating arenas, binding threads
 *   3     arena i                   arena.c       one arena's bins and free extents;
 *                                                 several at once only in index order
 *   4     background                background.c  the purging thread's state (a free
 *                                                 wakes it under an arena lock)
 *   5     huge cache                huge.c        the cache of freed huge ranges
 *   6     base                      base.c        metadata memory (allocated under
 *                                                 any of the above)
 *   7     heap profile              prof.c        the samples and their stacks (taken
 *                                                 with no other lock held)
 *
 * Nothing is taken under the huge cache, base or heap profile lock, and no path
 * but the fork handlers holds two arena locks. The fork handlers take every
 * lock in this order and release them in reverse (balloc.c). One acquisition
 * runs against it: background_start creates the thread under the background
 * lock, and pthread_create may allocate — from balloc under LD_PRELOAD,
 * which may take arena and base locks (background.c says why a free does not
 * wait for that lock then).
 *
 * Locks are taken and released through lockrank_lock / lockrank_unlock
 * (arena locks through arena_lock / arena_unlock, which pass the index); a
 * fork child re-initialises them with lockrank_reinit. With BALLOC_DEBUG
 * each thread records the ranks it holds, and an acquisition that breaks the
 * order writes "balloc: lock order: <lock> taken while holding <lock>" to
 * stderr and aborts, before it could deadlock. Without it these are
 * pthread_mutex_lock / pthread_mutex_unlock / pthread_mutex_init and nothing
 * else.
 *
 * Error convention: none; a broken order aborts (debug builds).
 */
#ifndef BALLOC_LOCKRANK_H
#define BALLOC_LOCKRANK_H

#include <pthread.h>

#include "build.h"

enum lockrank {
    LOCKRANK_NONE = 0,   /* held by a thread that holds nothing */
    LOCKRANK_TCACHE_REGISTRY = 1,
    LOCKRANK_ARENA_LIST = 2,
    LOCKRANK_ARENA = 3,
    LOCKRANK_BACKGROUND = 4,
    LOCKRANK_HUGE = 5,
    LOCKRANK_BASE = 6,
    LOCKRANK_PROF = 7,
    LOCKRANK_COUNT = 8
};

/* The record of the calling thread: about to take the lock of this rank
 * (index: an arena's; 0 for the others), or has released one. Called only
 * in debug builds (and by the test of the check). */
void lockrank_enter(enum lockrank rank, unsigned index);
void lockrank_leave(enum lockrank rank);

static inline void lockrank_lock_at(pthread_mutex_t *m, enum lockrank rank, unsigned index) {
    if (BALLOC_DEBUG)
        lockrank_enter(rank, index);
    pthread_mutex_lock(m);
}
static inline void lockrank_lock(pthread_mutex_t *m, enum lockrank rank) { lockrank_lock_at(m, rank, 0); }
static inline void lockrank_unlock(pthread_mutex_t *m, enum lockrank rank) {
    pthread_mutex_unlock(m);
    if (BALLOC_DEBUG)
        lockrank_leave(rank);
}
/* In a fork child: the lock as new; the forking thread no longer holds it. */
static inline void lockrank_reinit(pthread_mutex_t *m, enum lockrank rank) {
    pthread_mutex_init(m, NULL);
    if (BALLOC_DEBUG)
        lockrank_leave(rank);
}

#endif
