/* chunk — the page map: from any pointer to its run's metadata in O(1).
 *
 * Arena memory comes from the OS in 4 MiB chunks aligned to 4 MiB. The first
 * CHUNK_HDR_PAGES pages of a chunk hold its header (struct chunk): one pmap
 * entry per page (class + offset from the run's head page) and one metadata
 * pointer per page (to the run's record, run.h). User blocks never share a
 * page with the header, and run records live in base memory, apart from
 * user blocks.
 *
 * chunk_map has one byte per 4 MiB of the 47-bit address space (32 MiB of
 * zero-filled bss, touched only where balloc has chunks) saying whether the
 * chunk is ours and what it is, so a foreign pointer is detected with one
 * load. Huge mappings mark only the chunk holding their user pointer.
 *
 * Error convention: lookups return NULL / CHUNK_KIND_NONE for foreign memory.
 */
#ifndef BALLOC_CHUNK_H
#define BALLOC_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "pages.h"
#include "run.h"

#define CHUNK_LG 22
#define CHUNK_SIZE ((size_t)1 << CHUNK_LG)
#define CHUNK_MASK (CHUNK_SIZE - 1)
#define CHUNK_PAGES (CHUNK_SIZE >> PAGE_LG)
#define CHUNK_ADDR_BITS 47
#define CHUNK_MAP_LEN ((size_t)1 << (CHUNK_ADDR_BITS - CHUNK_LG))

enum chunk_kind {
    CHUNK_KIND_NONE = 0,       /* not balloc's */
    CHUNK_KIND_ARENA = 1,      /* arena chunk, header at its base */
    CHUNK_KIND_HUGE = 2,       /* huge block; header at the chunk's base */
    CHUNK_KIND_HUGE_PREV = 3,  /* huge block; header in the page(s) before the chunk */
    CHUNK_KIND_HUGE_FREED = 4, /* held a huge block's user pointer, which was freed
                                * (so a second free says "double free"); cleared
                                * when its pages are handed out again */
};

#define PMAP_CLS_FREE 0xFEu   /* page of a free run */
#define PMAP_CLS_NONE 0xFFu   /* no block starts here: a header or guard page, or a
                               * page of a large run past its block */

/* One page: cls is the size class of the run it belongs to (or a PMAP_CLS_*
 * marker); pgoff is the page's distance from the run's head page. */
struct pmap_ent {
    uint8_t cls;
    uint8_t sampled;   /* live heap-profile samples starting on this page (prof.h; 255: many) */
    uint16_t pgoff;
};

struct arena;

struct chunk {
    struct pmap_ent pmap[CHUNK_PAGES];
    struct run *meta[CHUNK_PAGES];
    struct arena *arena;
    struct chunk *next;        /* the arena's chunks */
};

/* Layout: header pages, then (hardened build) a guard page, the usable
 * pages, and a guard page at the end (so the next chunk's header is guarded
 * on both sides too). Guard pages are marked PMAP_CLS_NONE, like the header. */
#define CHUNK_HDR_PAGES ((sizeof(struct chunk) + PAGE_SIZE_B - 1) >> PAGE_LG)
#define CHUNK_FIRST_PAGE (CHUNK_HDR_PAGES + BUILD_GUARD_PAGES)
#define CHUNK_USABLE_PAGES (CHUNK_PAGES - CHUNK_FIRST_PAGE - BUILD_GUARD_PAGES)

extern uint8_t chunk_map[CHUNK_MAP_LEN];

static inline unsigned chunk_kind_of(uintptr_t a) {
    if (a >> CHUNK_ADDR_BITS)
        return CHUNK_KIND_NONE;
    /* Relaxed: chunks are registered while other threads read the map. */
    return __atomic_load_n(&chunk_map[a >> CHUNK_LG], __ATOMIC_RELAXED);
}
static inline struct chunk *chunk_of(uintptr_t a) { return (struct chunk *)(a & ~(uintptr_t)CHUNK_MASK); }
static inline unsigned chunk_page_of(uintptr_t a) { return (unsigned)((a >> PAGE_LG) & (CHUNK_PAGES - 1)); }
static inline unsigned chunk_page_index(const struct chunk *c, const void *p) {
    return (unsigned)(((uintptr_t)p - (uintptr_t)c) >> PAGE_LG);
}

/* The in-use run holding address a of an arena chunk, or NULL if the page is
 * free or marked PMAP_CLS_NONE. */
static inline struct run *chunk_run_of(struct chunk *c, uintptr_t a) {
    unsigned pg = chunk_page_of(a);
    struct pmap_ent e = c->pmap[pg];
    if (e.cls >= PMAP_CLS_FREE)
        return NULL;
    return c->meta[pg - e.pgoff];
}

/* Message for a pointer whose page holds no in-use run: a page of a free run
 * was handed out before (a double free, most likely); a PMAP_CLS_NONE page
 * never starts a block. */
static inline const char *chunk_misuse_of(const struct chunk *c, uintptr_t a) {
    return c->pmap[chunk_page_of(a)].cls == PMAP_CLS_FREE ? "double free" : "invalid free";
}

void chunk_register(uintptr_t chunk_base, unsigned kind);
void chunk_unregister(uintptr_t chunk_base);
/* Map and initialise a new arena chunk (all usable pages free); NULL on OOM. */
struct chunk *chunk_new(struct arena *owner);
/* Write the pmap of an in-use run's pages and its head meta pointer. */
void chunk_mark_run(struct run *r);
/* Mark a free run's pages free and set its head/tail meta pointers. */
void chunk_mark_free(struct run *r);

#endif
