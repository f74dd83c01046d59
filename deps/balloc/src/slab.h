/* slab + bin — regions of one size class cut from a run of pages, and the
 * per-class bin that chooses which slab serves the next allocation.
 *
 * A bin has a current slab and a heap of non-full, non-empty slabs; when
 * the current slab fills up it is dropped (full slabs are found again from
 * the page map when one of their regions is freed) and the next one is
 * popped from the heap. The heap's order is the slab policy:
 *   SLAB_POLICY_FULLEST (default): fewest free regions first, then lowest
 *     address — holes gather in few slabs, so empty ones go back sooner;
 *   SLAB_POLICY_LOWEST: lowest address first (env BALLOC_SLAB_POLICY=lowest).
 *
 * No locks here: the caller holds the arena lock. Error convention: bool
 * functions return true on failure; slab_give returns a SLAB_GIVE_* code.
 */
#ifndef BALLOC_SLAB_H
#define BALLOC_SLAB_H

#include <stdbool.h>
#include <stdint.h>

#include "run.h"

enum slab_policy { SLAB_POLICY_FULLEST = 0, SLAB_POLICY_LOWEST = 1 };
extern int slab_policy;

/* Invariants: cur is NULL or a slab of this class with cur->heap_idx ==
 * RUN_HEAP_NONE; heap[0, nheap) are the other slabs with 0 < nfree < nregs
 * (a slab whose heap insert failed for lack of metadata may be missing),
 * heap[i]->heap_idx == i, ordered by slab_policy. */
struct bin {
    struct run *cur;
    struct run **heap;
    uint32_t nheap, capheap;
    size_t heap_used;  /* sum of nregs - nfree over heap[0, nheap): kept by insert and
                        * remove; the caller lowers it when it frees a region of a
                        * slab that stays in the heap */
    /* Statistics (under the arena lock): regions handed out (to users or
     * thread caches) and returned, and slabs of this class in use. */
    uint64_t nmalloc, ndalloc;
    size_t curslabs;
};

enum { SLAB_GIVE_OK = 0, SLAB_GIVE_DOUBLE = 1, SLAB_GIVE_INVALID = 2 };

void slab_init(struct run *s, unsigned cls);
/* Take up to n free regions in address order; returns how many. */
unsigned slab_take(struct run *s, void **out, unsigned n);
/* Take up to n free regions chosen at random (the hardened build); *rng is
 * a nonzero xorshift state. Returns how many. */
unsigned slab_take_random(struct run *s, void **out, unsigned n, uint64_t *rng);
/* Mark region p free. */
int slab_give(struct run *s, void *p);
/* Index of region p if p starts a region, else -1. */
int slab_region_index(const struct run *s, const void *p);
/* Whether p starts a region that is free. */
bool slab_region_free(const struct run *s, const void *p);

/* Defrag rule (as Redis uses with jemalloc): a block is worth moving if its
 * slab is in the heap (non-full, not current) and uses no more regions than
 * the heap's average plus 1/8; moved blocks then gather in fuller slabs. */
static inline bool bin_defrag_hint(const struct bin *b, const struct run *s) {
    if (s == b->cur || s->heap_idx == RUN_HEAP_NONE)
        return false;
    size_t used = (size_t)(s->nregs - s->nfree);
    return used * b->nheap <= b->heap_used + b->heap_used / 8;
}

bool bin_heap_insert(struct bin *b, struct run *s);
void bin_heap_remove(struct bin *b, struct run *s);
void bin_heap_update(struct bin *b, struct run *s);  /* s's nfree grew */
struct run *bin_heap_pop(struct bin *b);
void bin_heap_release(struct bin *b);                /* free the heap array */

#endif
