/* run — a run of pages inside one arena chunk, and its metadata record.
 *
 * One record serves three owners, one at a time or side by side: every run
 * has a place in its chunk's page map (chunk.h); a free run is filed in its
 * arena's extent set (extent.h); a slab is a run cut into regions (slab.h).
 * Records live in base memory (never in the pages they describe) and come
 * from run_new / run_delete.
 *
 * Error convention: run_new returns NULL when base memory is refused.
 */
#ifndef BALLOC_RUN_H
#define BALLOC_RUN_H

#include <stdint.h>

#include "base.h"
#include "bitmap.h"
#include "sc.h"

enum run_kind { RUN_FREE = 0, RUN_SLAB = 1, RUN_LARGE = 2 };

/* Page states of a free run, in the order allocation prefers them. */
enum run_state {
    RUN_DIRTY = 0,     /* freed, contents kept, resident */
    RUN_MUZZY = 1,     /* given back with MADV_FREE: maybe resident, contents undefined */
    RUN_RETAINED = 2,  /* fresh or given back with MADV_DONTNEED: reads zero, not resident */
    RUN_NSTATES = 3
};

/* A slab's free bitmap holds one bit per region of the fullest slab. */
#define RUN_BITMAP_WORDS BITMAP_WORDS(SC_SLAB_MAXREGS)
#define RUN_HEAP_NONE UINT32_MAX

struct run {
    /* Every run. Invariants: base is page-aligned and [base, base + npages
     * pages) lies in the chunk's usable pages. RUN_SLAB / RUN_LARGE: every
     * page's pmap entry has cls and pgoff, chunk->meta[head] points here.
     * RUN_FREE: pages marked PMAP_CLS_FREE, chunk->meta[head] and [tail]
     * point here (chunk.c). */
    char *base;
    uint32_t npages;
    uint8_t kind;              /* enum run_kind */
    uint8_t cls;               /* size class: RUN_SLAB, RUN_LARGE */
    uint8_t state;             /* enum run_state of a free run; extent_alloc
                                * hands a run out with it (RUN_RETAINED: reads
                                * zero), its new owner then sets RUN_DIRTY */
    uint8_t pad;
    /* RUN_FREE, the extent set's (extent.c). Linked under its state by
     * npages (prev/next) and by age (lru_prev/lru_next, oldest first); two
     * touching free runs have different states. */
    struct run *prev, *next;
    struct run *lru_prev, *lru_next;
    /* RUN_SLAB, the slab's and its bin's (slab.c). nregs regions of
     * sc_size[cls]; bit i of bitmap set iff region i is free; nfree = number
     * of set bits; heap_idx is its slot in the bin's heap of non-full slabs
     * (RUN_HEAP_NONE if not there, which every new record starts with). */
    uint32_t heap_idx;
    uint16_t nfree, nregs;
    uint64_t bitmap[RUN_BITMAP_WORDS];
};

_Static_assert(RUN_BITMAP_WORDS == 8, "a slab's bitmap is 8 words, as it always was");
_Static_assert(SC_SLAB_MAXREGS <= UINT16_MAX, "nregs and nfree fit in 16 bits");

/* A zeroed record (heap_idx RUN_HEAP_NONE), or NULL. */
static inline struct run *run_new(void) {
    struct run *r = base_alloc(sizeof(struct run));
    if (r)
        r->heap_idx = RUN_HEAP_NONE;
    return r;
}

static inline void run_delete(struct run *r) { base_free(r, sizeof(struct run)); }

#endif
