/* decay — how many freed pages may stay in a state (dirty, muzzy, cached),
 * as a function of how long ago they entered it.
 *
 * Time is cut into DECAY_NSTEPS epochs per decay window. backlog[i] counts
 * the pages that entered the state i epochs ago; a page of age i may stay
 * with weight decay_weight[i], which falls from ~1 to 0 along smootherstep
 * (the curve jemalloc also uses over its decay window):
 *     s(x) = 6x^5 - 15x^4 + 10x^3,   decay_weight[i] = 1 - s((i + 1) / N),
 * in DECAY_FP_LG-bit fixed point, computed with exact integers by
 * decay_boot() (tests assert sample entries against independently computed
 * values). So a page is never kept beyond one window, nothing freed in the
 * last epoch is purged, and purging ramps up and down without a cliff.
 * The allowed count is rounded up, so a lone page is not purged early.
 *
 * Each epoch ends at a deadline jittered by up to one epoch, drawn from a
 * per-owner seed, so arenas freeing at the same moment do not purge in
 * lockstep; the epoch count stays exact (epochs advance in whole intervals
 * from the last epoch start).
 *
 * This module takes no locks and reads no clock: the caller holds the lock
 * of the pages it describes and passes the time (tests use a fake clock).
 * Error convention: none can fail.
 */
#ifndef BALLOC_DECAY_H
#define BALLOC_DECAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DECAY_NSTEPS 200
#define DECAY_FP_LG 24
#define DECAY_NEVER UINT64_MAX

extern uint32_t decay_weight[DECAY_NSTEPS];

/* Invariants: ms < 0 means never purge (deadline_ns == DECAY_NEVER); ms == 0
 * purge everything at once; otherwise interval_ns = ms * 1e6 / DECAY_NSTEPS
 * (>= 1), epoch_ns <= deadline_ns - interval_ns, and nlast is the page count
 * the owner reported when the last epoch closed (after purging). */
struct decay {
    int64_t ms;
    uint64_t interval_ns;
    uint64_t epoch_ns;       /* start of the current epoch */
    uint64_t deadline_ns;    /* when the current epoch ends (jittered) */
    uint64_t rng;            /* jitter state (xorshift64) */
    size_t nlast;
    size_t backlog[DECAY_NSTEPS];
};

/* Set while a background thread purges (allocating threads then leave
 * decay to it), and the hook that wakes it; owners call the hook when pages
 * are pending and the thread may be asleep (it takes the background lock,
 * so it may be called under an arena lock but not under the huge cache
 * lock: lockrank.h). */
extern int decay_background;
extern void (*decay_wake_hook)(void);

/* Fill decay_weight (idempotent; call before any decay_advance). */
void decay_boot(void);
void decay_init(struct decay *d, int64_t ms, uint64_t now_ns, uint64_t seed);
/* Change the window, keeping the backlog (ages are counted in epochs). */
void decay_set_ms(struct decay *d, int64_t ms, uint64_t now_ns);
static inline bool decay_due(const struct decay *d, uint64_t now_ns) {
    return d->ms == 0 || (d->ms > 0 && now_ns >= d->deadline_ns);
}
/* Close the epochs that ended by now_ns (only when decay_due), counting
 * npages - nlast new pages (if positive) as age 0; returns how many pages
 * may stay. The caller purges the excess, then calls decay_purged. */
size_t decay_advance(struct decay *d, uint64_t now_ns, size_t npages);
/* Record the page count left after purging. */
static inline void decay_purged(struct decay *d, size_t npages) { d->nlast = npages; }
/* Pages allowed now by the backlog alone (no epoch change). */
size_t decay_limit(const struct decay *d);

#endif
