/* backends/libc.h -- the C library's malloc (glibc figures via mallinfo2). */

/* ---- Facts (backends/README.md) ---------------------------------------- */
#ifndef ZMALLOC_BACKEND_LIBC_FACTS
#define ZMALLOC_BACKEND_LIBC_FACTS
#include <stdlib.h> /* defines __GLIBC__ on glibc, whatever was included before */
#include "common.h"
#define ZB_NAME libc
#define ZB_LIB "libc"
#ifndef USE_LIBC
#define USE_LIBC 1
#endif
#if defined(__GLIBC__) || defined(__FreeBSD__) || defined(USE_MALLOC_USABLE_SIZE)
#define ZB_USABLE_SIZE 1
#endif
#endif

/* ---- Functions (zmalloc.c only) ---------------------------------------- */
#if !defined(ZB_FACTS_ONLY) && !defined(ZMALLOC_BACKEND_LIBC_H)
#define ZMALLOC_BACKEND_LIBC_H

#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>
#elif defined(__FreeBSD__)
#include <malloc_np.h>
#endif

static inline void *zb_malloc(size_t size) { return malloc(size); }
static inline void *zb_calloc(size_t size) { return calloc(1, size); }
static inline void *zb_realloc(void *p, size_t size) { return realloc(p, size); }
static inline void zb_free(void *p) { free(p); }
static inline void zb_free_sized(void *p, size_t size) { (void)size; free(p); }
static inline size_t zb_good_size(size_t size) { (void)size; return 0; }
/* Many blocks (no NULLs) at once: one free each, as the allocator has no
 * batch call. The array is scratch. */
static inline void zb_free_batch(void **p, size_t n) {
    for (size_t i = 0; i < n; i++) zb_free(p[i]);
}

#ifdef ZB_USABLE_SIZE
static inline size_t zb_usable_size(void *p) { return malloc_usable_size(p); }
static inline void *zb_malloc_usable(size_t size, size_t *usable) {
    void *p = malloc(size);
    if (ZB_LIKELY(p != NULL)) *usable = malloc_usable_size(p);
    return p;
}
static inline void *zb_calloc_usable(size_t size, size_t *usable) {
    void *p = calloc(1, size);
    if (ZB_LIKELY(p != NULL)) *usable = malloc_usable_size(p);
    return p;
}
#endif

/* glibc's mallinfo2 walks every arena under its lock: allocated is the bytes
 * in chunks in use (thread-cached chunks count as in use) plus mmapped
 * chunks; the free chunks in bins are the fragmentation; the top chunk is
 * free memory at the end of the heap, kept resident until trimmed. */
static inline int zb_stats(int refresh, struct zb_stats *st) {
    (void)refresh;
    memset(st, 0, sizeof(*st));
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)) &&     \
    !defined(ZB_SANITIZER_HEAP)
    struct mallinfo2 mi = mallinfo2();
    st->allocated = mi.uordblks + mi.hblkhd;
    st->frag_smallbins = mi.fordblks - mi.keepcost;
    st->active = st->allocated + st->frag_smallbins;
    st->resident = mi.arena + mi.hblkhd;
    return st->resident != 0;
#else
    return 0;
#endif
}
static inline int zb_stats_arena(unsigned arena, int refresh, struct zb_stats *st) {
    (void)arena;
    return zb_stats(refresh, st);
}

static inline int zb_purge(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
    return 0;
#else
    return -1;
#endif
}
static inline void zb_set_background_thread(int enable) { (void)enable; }

/* No heap profiles to write (zmalloc_heap_profile_dump: ENOTSUP). */
static inline int zb_heap_profile_dump(const char *path) {
    (void)path;
    return ENOTSUP;
}
static inline int zb_heap_profiling(void) { return 0; }

#endif
