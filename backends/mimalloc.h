/* backends/mimalloc.h -- mimalloc. */

/* ---- Facts (backends/README.md) ---------------------------------------- */
#ifndef ZMALLOC_BACKEND_MIMALLOC_FACTS
#define ZMALLOC_BACKEND_MIMALLOC_FACTS
#include <mimalloc.h>
#include "common.h"
#define ZB_NAME mimalloc
/* MI_MALLOC_VERSION is major * 100 + minor * 10 + patch (209 is 2.0.9). The
 * preprocessor can compute a digit but not spell it in a string literal, so
 * the name is a constant array with the digits computed into it: usable
 * wherever a const char * is, though not in literal concatenation. */
#define ZB_MI_DIGIT(place) ((char)('0' + MI_MALLOC_VERSION / (place) % 10))
__attribute__((unused)) static const char zb_mimalloc_lib[] = {
    'm', 'i', 'm', 'a', 'l', 'l', 'o', 'c', '-', ZB_MI_DIGIT(100), '.', ZB_MI_DIGIT(10), '.',
    ZB_MI_DIGIT(1), '\0'};
#define ZB_LIB zb_mimalloc_lib
#define ZB_USABLE_SIZE 1
#endif

/* ---- Functions (zmalloc.c only) ---------------------------------------- */
#if !defined(ZB_FACTS_ONLY) && !defined(ZMALLOC_BACKEND_MIMALLOC_H)
#define ZMALLOC_BACKEND_MIMALLOC_H

#include <errno.h>
#include <stdbool.h>

size_t zmalloc_get_rss(void);

/* mi_good_size equals the usable size for small and medium blocks; huge
 * blocks get more, so zmalloc's table stops well below them. */
#define ZB_GOOD_SIZE_EXACT 1

static inline void *zb_malloc(size_t size) { return mi_malloc(size); }
static inline void *zb_calloc(size_t size) { return mi_zalloc(size); }
static inline void *zb_realloc(void *p, size_t size) { return mi_realloc(p, size); }
static inline void zb_free(void *p) { mi_free(p); }
static inline void zb_free_sized(void *p, size_t size) { (void)size; mi_free(p); }
/* Many blocks (no NULLs) at once: one free each, as the allocator has no
 * batch call. The array is scratch. */
static inline void zb_free_batch(void **p, size_t n) {
    for (size_t i = 0; i < n; i++) zb_free(p[i]);
}
static inline size_t zb_usable_size(void *p) { return mi_usable_size(p); }
static inline size_t zb_good_size(size_t size) { return mi_good_size(size); }
static inline void *zb_malloc_usable(size_t size, size_t *usable) {
    void *p = mi_malloc(size);
    if (ZB_LIKELY(p != NULL)) *usable = mi_usable_size(p);
    return p;
}
static inline void *zb_calloc_usable(size_t size, size_t *usable) {
    void *p = mi_zalloc(size);
    if (ZB_LIKELY(p != NULL)) *usable = mi_usable_size(p);
    return p;
}

struct zb_mi_walk {
    size_t used, committed;
};
static inline bool zb_mi_visit(const mi_heap_t *heap, const mi_heap_area_t *area, void *block,
                               size_t block_size, void *arg) {
    struct zb_mi_walk *w = (struct zb_mi_walk *)arg;
    (void)heap, (void)block, (void)block_size;
    if (area != NULL) {
        w->used += area->used * area->block_size;
        w->committed += area->committed;
    }
    return true;
}

/* A release build of mimalloc keeps no process-wide allocation counters:
 * allocated and active come from walking the calling thread's heap (blocks
 * in use, pages committed to them) and miss other threads' heaps; resident
 * is the process's committed memory from mi_process_info, capped by the
 * RSS: committed pages nobody touched yet are not resident. */
static inline int zb_stats(int refresh, struct zb_stats *st) {
    size_t elapsed, utime, stime, rss, peak_rss, commit, peak_commit, faults;
    struct zb_mi_walk w = {0, 0};
    (void)refresh;
    memset(st, 0, sizeof(*st));
    mi_process_info(&elapsed, &utime, &stime, &rss, &peak_rss, &commit, &peak_commit, &faults);
    mi_heap_visit_blocks(mi_heap_get_default(), false, zb_mi_visit, &w);
    st->allocated = w.used;
    st->active = w.committed;
    st->frag_smallbins = w.committed - w.used;
    size_t process_rss = zmalloc_get_rss();
    st->resident = process_rss && process_rss < commit ? process_rss : commit;
    return commit != 0;
}
static inline int zb_stats_arena(unsigned arena, int refresh, struct zb_stats *st) {
    (void)arena;
    return zb_stats(refresh, st);
}

static inline int zb_purge(void) {
    mi_collect(true);
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
