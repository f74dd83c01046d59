/* extent — the free page runs of one arena, indexed by state, size and
 * address.
 *
 * Each free run is in one page state (enum run_state: dirty, muzzy,
 * retained). Per state: one list per exact page count (a chunk has at most
 * 1024 pages) plus a bitmap of non-empty lists, so best fit is a short bit
 * scan, and a list by age (LRU) so decay purges the oldest pages first. By
 * address: the chunk's page map; a run entering a state merges with the free
 * neighbours in the same state, found through chunk->meta at the pages just
 * before and after it. Runs of different states stay apart (merging would
 * either hide resident pages or purge clean ones again); once decay has
 * turned both into retained pages they merge.
 *
 * Allocation takes the best fit among dirty runs, then muzzy, then retained,
 * so resident pages are reused before purged ones are faulted in again.
 *
 * No locks here: the caller holds the arena lock. Error convention:
 * functions returning a run return NULL when nothing fits or metadata
 * cannot be allocated; functions returning bool return true on failure.
 */
#ifndef BALLOC_EXTENT_H
#define BALLOC_EXTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitmap.h"
#include "chunk.h"
#include "run.h"

/* Invariants: every RUN_FREE run of state s is in bucket[s][npages] and on
 * lru list s; bit n of nonempty[s] is set iff bucket[s][n] != NULL;
 * npages[s] sums the pages of the runs of state s. */
struct eset {
    struct run *bucket[RUN_NSTATES][CHUNK_PAGES + 1];
    uint64_t nonempty[RUN_NSTATES][BITMAP_WORDS(CHUNK_PAGES + 1)];
    struct run *lru_head[RUN_NSTATES], *lru_tail[RUN_NSTATES];
    size_t npages[RUN_NSTATES];
};

/* Add a whole fresh chunk's usable pages as one retained free run. */
bool extent_add_chunk(struct eset *es, struct chunk *c);
/* Best fit of exactly npages (dirty, then muzzy, then retained runs),
 * removed from the set; its state field tells whether it reads as zero
 * (RUN_RETAINED). */
struct run *extent_alloc(struct eset *es, uint32_t npages);
/* Whether a free run of at least npages exists (extent_alloc returning
 * NULL with one there means its split had no metadata). */
bool extent_fits(const struct eset *es, uint32_t npages);
/* Put back a run extent_alloc returned, unused: it keeps its state and
 * merges with its neighbours again. */
void extent_unalloc(struct eset *es, struct run *r);
/* Give back an in-use run whose pages were never used: it keeps its state
 * (the page map is marked free again) and merges like extent_unalloc. */
void extent_return(struct eset *es, struct run *r);
/* Give an in-use run's pages back as dirty; merges with dirty neighbours. */
void extent_free(struct eset *es, struct run *r);
/* Keep the first `keep` pages in r; return a new run (same kind, class and
 * state) for the rest. Page map not touched. */
struct run *extent_split(struct run *r, uint32_t keep);
/* Grow an in-use run in place to npages by taking pages from the free run
 * that follows it (any state). Page map of the new pages not touched. */
bool extent_grow(struct eset *es, struct run *r, uint32_t npages);
/* Move at least `want` pages (whole runs, oldest first) from state `from`
 * to the later state `to` (MADV_FREE for muzzy, MADV_DONTNEED for
 * retained); returns the pages moved. It stops at the first run the kernel
 * refuses: that run and the rest stay in `from`, and npages says so. */
size_t extent_decay(struct eset *es, unsigned from, unsigned to, size_t want);
/* MADV_DONTNEED every dirty and muzzy run; returns the number of pages. */
size_t extent_purge(struct eset *es);

#endif
