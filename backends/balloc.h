/* backends/balloc.h -- the bundled allocator (deps/balloc). Its allocation
 * calls return the usable size and its free returns it, so zmalloc needs no
 * table and no separate look-up on either side; and it counts zmalloc's
 * bytes itself, on its own fast path (its *_counted calls), so zmalloc keeps
 * no counter of its own over it. */

/* ---- Facts (backends/README.md) ---------------------------------------- */
#ifndef ZMALLOC_BACKEND_BALLOC_FACTS
#define ZMALLOC_BACKEND_BALLOC_FACTS
/* Angle brackets: deps/balloc/include/balloc.h from the include path, never
 * this file. */
#include <balloc.h>
#include "common.h"
#if defined(USE_JEMALLOC)
/* Both: a server built for jemalloc, on balloc. Its jemalloc-only code
 * (allocator stats, MEMORY MALLOC-STATS, DEBUG MALLCTL, je_nallocx) calls
 * balloc's je_ API from the same include directory; zmalloc itself still
 * uses balloc's own calls. The name says which allocator it is. */
#include <jemalloc/jemalloc.h>
#define ZB_NAME balloc_jeapi
#define ZB_LIB                                                                                 \
    ("balloc-" BALLOC_VERSION " (jemalloc " ZB_XSTR(JEMALLOC_VERSION_MAJOR) "." ZB_XSTR(        \
        JEMALLOC_VERSION_MINOR) " API)")
#else
#define ZB_NAME balloc
#define ZB_LIB ("balloc-" BALLOC_VERSION)
#endif
#define ZB_USABLE_SIZE 1
/* It counts the bytes of the zb_*_counted calls per thread and sums them
 * (backends/README.md); zmalloc uses that in usable-size mode. */
#define ZB_COUNTS 1
/* Its own hint (Redis's rule) and cache-bypassing calls. */
#define ZB_DEFRAG 1
#endif

/* ---- Functions (zmalloc.c only) ---------------------------------------- */
#if !defined(ZB_FACTS_ONLY) && !defined(ZMALLOC_BACKEND_BALLOC_H)
#define ZMALLOC_BACKEND_BALLOC_H

static inline void *zb_malloc(size_t size) { return balloc_malloc(size); }
static inline void *zb_calloc(size_t size) { return balloc_calloc(1, size); }
static inline void *zb_realloc(void *p, size_t size) { return balloc_realloc(p, size); }
static inline void zb_free(void *p) { balloc_free(p); }
static inline void zb_free_sized(void *p, size_t size) { balloc_free_sized(p, size); }
static inline size_t zb_usable_size(void *p) { return balloc_usable_size(p); }
/* Many blocks (no NULLs) at once, grouped by arena and class
 * (balloc_free_batch). The array is scratch. */
static inline void zb_free_batch(void **p, size_t n) { balloc_free_batch(p, n); }
static inline size_t zb_good_size(size_t size) { return balloc_good_size(size); }
static inline void *zb_malloc_usable(size_t size, size_t *usable) {
    return balloc_malloc_usable(size, usable);
}
static inline void *zb_calloc_usable(size_t size, size_t *usable) {
    return balloc_calloc_usable(1, size, usable);
}

/* Counting in the allocator: the thread's counted bytes move on balloc's
 * own fast path; blocks from balloc's other calls are never counted. */
static inline void *zb_malloc_counted(size_t size, size_t *usable) {
    size_t u;
    return balloc_malloc_usable_counted(size, usable ? usable : &u);
}
/* The same, and on failure it returns oom(size), the hook set with
 * zb_set_counted_oom: zmalloc's malloc is then one tail call. */
static inline void *zb_malloc_counted_oom(size_t size) { return balloc_malloc_counted(size); }
static inline void zb_set_counted_oom(void *(*oom)(size_t)) { balloc_set_counted_oom(oom); }
static inline void *zb_calloc_counted(size_t size, size_t *usable) {
    return balloc_calloc_usable_counted(1, size, usable);
}
static inline size_t zb_free_counted(void *p) { return balloc_free_counted(p); }
static inline void zb_free_sized_counted(void *p, size_t size) {
    balloc_free_sized_counted(p, size);
}
static inline size_t zb_free_batch_counted(void **p, size_t n) {
    return balloc_free_batch_counted(p, n);
}
static inline void zb_count(int64_t delta) {
    balloc_counted_add(delta > 0 ? (size_t)delta : 0, delta < 0 ? (size_t)-delta : 0);
}
static inline int64_t zb_counted_total(void) { return balloc_counted_total(); }
static inline size_t zb_counted_slots(void) { return balloc_counted_slots(); }

/* Active defrag. */
static inline void *zb_malloc_no_tcache(size_t size, size_t *usable) {
    return balloc_malloc_usable_no_tcache(size, usable);
}
static inline size_t zb_free_no_tcache(void *p) { return balloc_free_usable_no_tcache(p); }
static inline int zb_defrag_hint(void *p) { return balloc_defrag_hint(p); }

static inline int zb_stats(int refresh, struct zb_stats *st) {
    struct balloc_stats bs;
    (void)refresh;
    memset(st, 0, sizeof(*st));
    if (balloc_get_stats(&bs) != 0) return 0;
    st->allocated = bs.allocated;
    st->active = bs.active;
    st->resident = bs.resident;
    st->retained = bs.retained;
    st->muzzy = bs.muzzy;
    st->frag_smallbins = bs.frag_smallbins;
    return 1;
}
static inline int zb_stats_arena(unsigned arena, int refresh, struct zb_stats *st) {
    (void)arena;
    return zb_stats(refresh, st);
}

static inline int zb_purge(void) {
    balloc_purge();
    return 0;
}
static inline void zb_set_background_thread(int enable) {
    _Bool on = enable != 0;
    balloc_ctl("background_thread", NULL, NULL, &on, sizeof(on));
}

/* zmalloc's functions that call into balloc go in balloc's section, so a
 * heap profile's stacks start at their callers (balloc.h); never inlined,
 * so a server built with link-time optimisation does not pull their code
 * into its own functions, out of the section. */
#define ZB_API_TEXT __attribute__((section(BALLOC_API_SECTION), noinline))

/* Heap profiling: balloc's sampler (prof:true in BALLOC_CONF, or
 * prof.active). */
static inline int zb_heap_profile_dump(const char *path) {
    return balloc_ctl("prof.dump", NULL, NULL, &path, sizeof(path));
}
static inline int zb_heap_profiling(void) {
    _Bool on = 0;
    size_t sz = sizeof(on);
    return balloc_ctl("prof.active", &on, &sz, NULL, 0) == 0 && on;
}

#endif
