/* extent — the free page runs of one arena, indexed by size and address.
 *
 * By size: one list per exact page count (a chunk has at most 1024 pages)
 * plus a bitmap of non-empty lists, so best fit is a short bit scan. By
 * address: the chunk's page map; a freed run merges with free neighbours
 * found through chunk->meta at the pages just before and after it.
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

/* Invariants: every RUN_FREE run of the arena is in bucket[npages];
 * bit n of nonempty is set iff bucket[n] != NULL; npages_dirty and
 * npages_clean sum the pages of free runs by their clean flag. */
struct eset {
    struct run *bucket[CHUNK_PAGES + 1];
    uint64_t nonempty[BITMAP_WORDS(CHUNK_PAGES + 1)];
    size_t npages_dirty, npages_clean;
};

struct run *run_new(void);
void run_delete(struct run *r);

/* Add a whole fresh chunk's usable pages as one clean free run. */
bool extent_add_chunk(struct eset *es, struct chunk *c);
/* Best fit of exactly npages, removed from the set (kind still RUN_FREE). */
struct run *extent_alloc(struct eset *es, uint32_t npages);
/* Give an in-use run's pages back; merges with free neighbours. */
void extent_free(struct eset *es, struct run *r);
/* Keep the first `keep` pages in r; return a new run (same kind, class and
 * clean flag) for the rest. Page map not touched. */
struct run *extent_split(struct run *r, uint32_t keep);
/* Grow an in-use run in place to npages by taking pages from the free run
 * that follows it. Page map of the new pages not touched. */
bool extent_grow(struct eset *es, struct run *r, uint32_t npages);
/* MADV_DONTNEED every dirty free run; returns the number of pages purged. */
size_t extent_purge(struct eset *es);

#endif
