/* backends/tcmalloc.h -- gperftools tcmalloc (full or minimal). */

/* ---- Facts (backends/README.md) ---------------------------------------- */
#ifndef ZMALLOC_BACKEND_TCMALLOC_FACTS
#define ZMALLOC_BACKEND_TCMALLOC_FACTS
#include <gperftools/tcmalloc.h>
#include "common.h"
#define ZB_NAME tcmalloc
#define ZB_LIB ("tcmalloc-" ZB_XSTR(TC_VERSION_MAJOR) "." ZB_XSTR(TC_VERSION_MINOR))
#define ZB_USABLE_SIZE 1
#endif

/* ---- Functions (zmalloc.c only) ---------------------------------------- */
#if !defined(ZB_FACTS_ONLY) && !defined(ZMALLOC_BACKEND_TCMALLOC_H)
#define ZMALLOC_BACKEND_TCMALLOC_H

#include <errno.h>
#include <gperftools/malloc_extension_c.h>
#include <gperftools/nallocx.h>

#define ZB_GOOD_SIZE_EXACT 1 /* tc_nallocx is exact for small classes */

static inline void *zb_malloc(size_t size) { return tc_malloc(size); }
static inline void *zb_calloc(size_t size) { return tc_calloc(1, size); }
static inline void *zb_realloc(void *p, size_t size) { return tc_realloc(p, size); }
static inline void zb_free(void *p) { tc_free(p); }
/* The plain free, size or not: measured, gperftools 2.10's tc_free_sized is
 * about 0.8 ns slower than tc_free at every size. */
static inline void zb_free_sized(void *p, size_t size) {
    (void)size;
    tc_free(p);
}
/* Many blocks (no NULLs) at once: one free each, as the allocator has no
 * batch call. The array is scratch. */
static inline void zb_free_batch(void **p, size_t n) {
    for (size_t i = 0; i < n; i++) zb_free(p[i]);
}
static inline size_t zb_usable_size(void *p) { return tc_malloc_size(p); }
static inline size_t zb_good_size(size_t size) { return tc_nallocx(size, 0); }
static inline void *zb_malloc_usable(size_t size, size_t *usable) {
    void *p = tc_malloc(size);
    if (ZB_LIKELY(p != NULL)) *usable = tc_malloc_size(p);
    return p;
}
static inline void *zb_calloc_usable(size_t size, size_t *usable) {
    void *p = tc_calloc(1, size);
    if (ZB_LIKELY(p != NULL)) *usable = tc_malloc_size(p);
    return p;
}

static inline size_t zb_tc_prop(const char *name) {
    size_t v = 0;
    if (!MallocExtension_GetNumericProperty(name, &v)) return 0;
    return v;
}

/* heap_size is all the address space tcmalloc took from the OS... */
static inline int zb_stats(int refresh, struct zb_stats *st) {
    (void)refresh;
    memset(st, 0, sizeof(*st));
    size_t heap = zb_tc_prop("generic.heap_size");
    size_t unmapped = zb_tc_prop("tcmalloc.pageheap_unmapped_bytes");
    size_t pagefree = zb_tc_prop("tcmalloc.pageheap_free_bytes");
    st->allocated = zb_tc_prop("generic.current_allocated_bytes");
    /* ...of which the unmapped part went back to the OS (kept as address
     * space), the free page-heap pages are resident but hold nothing, and
     * the rest is spans handed out: active. */
    st->retained = unmapped;
    st->resident = heap - unmapped;
    st->active = st->resident - pagefree;
    /* Free objects sitting in the caches are the small-object holes. */
    st->frag_smallbins = zb_tc_prop("tcmalloc.central_cache_free_bytes") +
                         zb_tc_prop("tcmalloc.transfer_cache_free_bytes") +
                         zb_tc_prop("tcmalloc.thread_cache_free_bytes");
    return heap != 0;
}
static inline int zb_stats_arena(unsigned arena, int refresh, struct zb_stats *st) {
    (void)arena;
    return zb_stats(refresh, st);
}

static inline int zb_purge(void) {
    MallocExtension_ReleaseFreeMemory();
    return 0;
}
static inline void zb_set_background_thread(int enable) { (void)enable; }

/* No heap profiles to write (zmalloc_heap_profile_dump: ENOTSUP). */
static inline int zb_heap_profile_dump(const char *path) {
    (void)path;
    return ENOTSUP;
}
static inline int zb_heap_profiling(void) { return 0; }

#endif
