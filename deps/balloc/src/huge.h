/* huge — blocks too big for arena chunks (> 3.5 MiB, or aligned beyond what
 * a chunk can hold): each is a page-rounded run of its own pages (at least
 * one) with a one-page header found through chunk_map:
 *   CHUNK_KIND_HUGE:      header at the base of the chunk holding the user
 *                         pointer (user = base + max(align, HUGE_HDR_OFF));
 *   CHUNK_KIND_HUGE_PREV: header HUGE_HDR_OFF before it (align >= 4 MiB,
 *                         the user pointer starts a chunk).
 * The hardened build puts a guard page between the header and the block
 * (the user pointer is at least HUGE_HDR_OFF past the header) and one after
 * the block, keeps no cache and never resizes in place.
 * A freed block's chunk is marked CHUNK_KIND_HUGE_FREED until its pages are
 * carved for a new block (or the chunk is registered again), so a second
 * free of it is reported as a double free.
 *
 * Freed blocks go to a cache of dirty ranges (still mapped, contents kept)
 * instead of munmap, so the next huge block reuses pages that are already
 * resident rather than faulting fresh ones. The cache is a short array of
 * disjoint ranges sorted by address; neighbours coalesce. A block of
 * page alignment takes the smallest range that holds it at a chunk-aligned
 * start; the rest of the range stays cached. If no range is big enough, the
 * block is gathered: a fresh chunk-aligned mapping receives, by mremap, the
 * largest range and then the next largest ones (pages keep their place in
 * RAM), and only what the whole cache lacks faults. Kernels before 6.17
 * cannot move a gathered range again as a whole (it spans several kernel
 * mappings); there it still serves blocks that fit it by carving. The cache holds at most max(HUGE_CACHE_MIN, 1/8 of
 * the bytes mapped for live huge blocks); beyond that the smallest ranges
 * are unmapped first. calloc-style (zeroed) and over-aligned requests map
 * fresh pages. huge_purge() unmaps the whole cache. Cached bytes also decay
 * like an arena's dirty pages (dirty_decay_ms, see decay.h): what the curve
 * no longer allows is unmapped, smallest ranges first; a decay time of 0
 * keeps no cache at all.
 *
 * Counters are atomic; the cache has one lock, under which no other lock is
 * taken (its rank: lockrank.h). Error convention: huge_alloc returns NULL
 * on OOM; huge_resize returns true on failure; huge_hdr_of returns NULL for
 * anything that is not a huge block's user pointer.
 */
#ifndef BALLOC_HUGE_H
#define BALLOC_HUGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "pages.h"

/* Distance from a huge block's header to its user pointer, at least. */
#define HUGE_HDR_OFF ((1u + BUILD_GUARD_PAGES) * PAGE_SIZE_B)
#define HUGE_MAGIC 0x6261686775676521ull
#define HUGE_CACHE_MIN ((size_t)64 << 20)
#define HUGE_CACHE_SLOTS 32

/* Invariants: map is page-aligned, [map, map + map_size) is mapped and holds
 * this header and [user, user + usable); usable is a page multiple. */
struct huge_hdr {
    uint64_t magic;
    char *user;
    char *map;
    size_t map_size;
    size_t usable;
};

/* Zero-filled if zero, else contents unspecified. */
void *huge_alloc(size_t size, size_t align, bool zero);
struct huge_hdr *huge_hdr_of(const void *p);
void huge_free(struct huge_hdr *h);
/* Whether p is where a freed huge block's user pointer was. */
bool huge_was_freed(const void *p);
bool huge_resize(struct huge_hdr *h, size_t size);
/* Unmap every cached range. */
void huge_purge(void);
/* Start the cache's decay clock; change its decay time later. */
void huge_boot(int64_t decay_ms);
void huge_set_decay_ms(int64_t ms);
/* Run due decay (for a background thread); returns the next deadline, or
 * DECAY_NEVER with nothing cached. */
uint64_t huge_decay(uint64_t now_ns);
/* Usable bytes of live blocks; bytes mapped for them and the cache; header
 * bytes; bytes in the cache (dirty: mapped, maybe resident, not in use). */
void huge_stats(size_t *allocated, size_t *mapped, size_t *metadata, size_t *cached);
void huge_prefork(void);
void huge_postfork_parent(void);
void huge_postfork_child(void);

#endif
