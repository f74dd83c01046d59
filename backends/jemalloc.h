/* backends/jemalloc.h -- jemalloc, prefixed (je_, as servers vendor it) or
 * not: jemalloc.h maps every je_ name to the configured prefix. */

/* ---- Facts (backends/README.md) ---------------------------------------- */
#ifndef ZMALLOC_BACKEND_JEMALLOC_FACTS
#define ZMALLOC_BACKEND_JEMALLOC_FACTS
/* Keep the je_ names defined whatever prefix jemalloc was built with: the
 * unprefixed system library maps them to malloc & co., a server's vendored
 * one (--with-jemalloc-prefix=je_) has them as its real symbols. */
#ifndef JEMALLOC_NO_DEMANGLE
#define JEMALLOC_NO_DEMANGLE
#endif
#include <jemalloc/jemalloc.h>
#include "common.h"
#define ZB_NAME jemalloc
#define ZB_LIB                                                                                 \
    ("jemalloc-" ZB_XSTR(JEMALLOC_VERSION_MAJOR) "." ZB_XSTR(JEMALLOC_VERSION_MINOR) "." ZB_XSTR( \
        JEMALLOC_VERSION_BUGFIX))
#define ZB_USABLE_SIZE 1
/* Any build: the hint comes from its utilization query (below). */
#define ZB_DEFRAG 1
#endif

/* ---- Functions (zmalloc.c only) ---------------------------------------- */
#if !defined(ZB_FACTS_ONLY) && !defined(ZMALLOC_BACKEND_JEMALLOC_H)
#define ZMALLOC_BACKEND_JEMALLOC_H

#include <stdint.h>
#include <stdio.h>

#define ZB_GOOD_SIZE_EXACT 1 /* nallocx is exact: usable = f(request) */

static inline void *zb_malloc(size_t size) { return je_malloc(size); }
static inline void *zb_calloc(size_t size) { return je_calloc(1, size); }
static inline void *zb_realloc(void *p, size_t size) { return je_realloc(p, size); }
static inline void zb_free(void *p) { je_free(p); }
/* The plain free, size or not: measured, jemalloc 5.3's sdallocx is slower
 * than free (about 1.5 ns a pair, usable size or request given: it checks
 * the size it is given). */
static inline void zb_free_sized(void *p, size_t size) {
    (void)size;
    je_free(p);
}
static inline size_t zb_usable_size(void *p) { return je_malloc_usable_size(p); }
/* Many blocks (no NULLs) at once: one free each, as the allocator has no
 * batch call. The array is scratch. */
static inline void zb_free_batch(void **p, size_t n) {
    for (size_t i = 0; i < n; i++) zb_free(p[i]);
}
static inline size_t zb_good_size(size_t size) { return je_nallocx(size ? size : 1, 0); }
static inline void *zb_malloc_usable(size_t size, size_t *usable) {
    void *p = je_malloc(size);
    if (ZB_LIKELY(p != NULL)) *usable = je_malloc_usable_size(p);
    return p;
}
static inline void *zb_calloc_usable(size_t size, size_t *usable) {
    void *p = je_calloc(1, size);
    if (ZB_LIKELY(p != NULL)) *usable = je_malloc_usable_size(p);
    return p;
}

/* ---- Active defrag ---------------------------------------------------- */

static inline void *zb_malloc_no_tcache(size_t size, size_t *usable) {
    void *p = je_mallocx(size ? size : 1, MALLOCX_TCACHE_NONE);
    if (ZB_LIKELY(p != NULL)) *usable = je_malloc_usable_size(p);
    return p;
}
static inline size_t zb_free_no_tcache(void *p) {
    size_t usable = je_malloc_usable_size(p);
    je_dallocx(p, MALLOCX_TCACHE_NONE);
    return usable;
}

/* What experimental.utilization.query tells of a pointer's slab: its bin's
 * current slab, the slab's free and total regions and byte size, and the
 * free and total regions of all the bin's slabs in that arena. */
struct zb_je_util {
    void *slabcur;
    size_t nfree, nregs, size, bin_nfree, bin_nregs;
};

static inline int zb_je_util_query(const void *p, struct zb_je_util *u) {
    static size_t mib[4];
    static size_t miblen; /* 0 until the name is translated */
    size_t len = __atomic_load_n(&miblen, __ATOMIC_ACQUIRE), sz = sizeof(*u);
    if (len == 0) {
        size_t m[4], l = 4;
        if (je_mallctlnametomib("experimental.utilization.query", m, &l) != 0) return -1;
        memcpy(mib, m, sizeof(m));
        __atomic_store_n(&miblen, l, __ATOMIC_RELEASE);
        len = l;
    }
    return je_mallctlbymib(mib, len, u, &sz, &p, sizeof(p));
}

/* Moving a block helps when its slab is not the bin's current one (where new
 * blocks go), has free regions, and is used no more than the average
 * non-current slab of its bin plus an eighth: it is among the sparse slabs
 * that moves can empty. The rule is Redis's; the figures come from the
 * unpatched jemalloc's utilization query. */
static inline int zb_defrag_hint(void *p) {
    struct zb_je_util u, cur;
    if (zb_je_util_query(p, &u) != 0 || u.nregs <= 1 || u.nfree == 0) return 0;
    if ((char *)p >= (char *)u.slabcur && (char *)p < (char *)u.slabcur + u.size) return 0;
    size_t curslabs = u.bin_nregs / u.nregs, curregs = u.bin_nregs - u.bin_nfree;
    if (u.slabcur != NULL && zb_je_util_query(u.slabcur, &cur) == 0 && cur.nregs == u.nregs &&
        curslabs > 0) {
        curslabs -= 1;
        curregs -= cur.nregs - cur.nfree;
    }
    return (u.nregs - u.nfree) * curslabs <= curregs + curregs / 8;
}

static inline size_t zb_je_size(const char *name) {
    size_t v = 0, sz = sizeof(v);
    if (je_mallctl(name, &v, &sz, NULL, 0) != 0) return 0;
    return v;
}

/* Free bytes in the slabs of small bins: for each bin, the regions its slabs
 * could hold less the ones in use. The per-bin names are translated to MIBs
 * once and reused with the arena and bin indices patched in. */
static inline size_t zb_je_frag_smallbins(unsigned arena) {
    static size_t mib_curregs[6], mib_curslabs[6], mib_nregs[4], mib_size[4];
    static size_t len_curregs = 6, len_curslabs = 6, len_nregs = 4, len_size = 4;
    static int ready = 0;
    unsigned nbins = 0;
    size_t sz = sizeof(nbins), frag = 0;
    if (!ready) {
        if (je_mallctlnametomib("stats.arenas.0.bins.0.curregs", mib_curregs, &len_curregs) ||
            je_mallctlnametomib("stats.arenas.0.bins.0.curslabs", mib_curslabs, &len_curslabs) ||
            je_mallctlnametomib("arenas.bin.0.nregs", mib_nregs, &len_nregs) ||
            je_mallctlnametomib("arenas.bin.0.size", mib_size, &len_size))
            return 0;
        ready = 1;
    }
    if (je_mallctl("arenas.nbins", &nbins, &sz, NULL, 0) != 0) return 0;
    for (unsigned j = 0; j < nbins; j++) {
        size_t curregs = 0, curslabs = 0, reg_size = 0;
        uint32_t nregs = 0;
        size_t s1 = sizeof(curregs), s2 = sizeof(curslabs), s3 = sizeof(nregs), s4 = sizeof(reg_size);
        mib_curregs[2] = mib_curslabs[2] = arena;
        mib_curregs[4] = mib_curslabs[4] = j;
        mib_nregs[2] = mib_size[2] = j;
        if (je_mallctlbymib(mib_curregs, len_curregs, &curregs, &s1, NULL, 0) ||
            je_mallctlbymib(mib_curslabs, len_curslabs, &curslabs, &s2, NULL, 0) ||
            je_mallctlbymib(mib_nregs, len_nregs, &nregs, &s3, NULL, 0) ||
            je_mallctlbymib(mib_size, len_size, &reg_size, &s4, NULL, 0))
            return 0;
        frag += ((size_t)nregs * curslabs - curregs) * reg_size;
    }
    return frag;
}

static inline void zb_je_refresh(void) {
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    je_mallctl("epoch", &epoch, &sz, &epoch, sz);
}

static inline int zb_stats(int refresh, struct zb_stats *st) {
    char name[64];
    memset(st, 0, sizeof(*st));
    if (refresh) zb_je_refresh();
    st->allocated = zb_je_size("stats.allocated");
    st->active = zb_je_size("stats.active");
    st->resident = zb_je_size("stats.resident");
    st->retained = zb_je_size("stats.retained");
    snprintf(name, sizeof(name), "stats.arenas.%u.pmuzzy", (unsigned)MALLCTL_ARENAS_ALL);
    st->muzzy = zb_je_size(name) * zb_je_size("arenas.page");
    st->frag_smallbins = zb_je_frag_smallbins(MALLCTL_ARENAS_ALL);
    return st->allocated != 0 || st->resident != 0;
}

static inline int zb_stats_arena(unsigned arena, int refresh, struct zb_stats *st) {
    char name[64];
    memset(st, 0, sizeof(*st));
    if (refresh) zb_je_refresh();
    snprintf(name, sizeof(name), "stats.arenas.%u.small.allocated", arena);
    st->allocated = zb_je_size(name);
    snprintf(name, sizeof(name), "stats.arenas.%u.large.allocated", arena);
    st->allocated += zb_je_size(name);
    snprintf(name, sizeof(name), "stats.arenas.%u.pactive", arena);
    st->active = zb_je_size(name) * zb_je_size("arenas.page");
    snprintf(name, sizeof(name), "stats.arenas.%u.resident", arena);
    st->resident = zb_je_size(name);
    st->frag_smallbins = zb_je_frag_smallbins(arena);
    return 1;
}

static inline int zb_purge(void) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
    return je_mallctl(name, NULL, NULL, NULL, 0) == 0 ? 0 : -1;
}

static inline void zb_set_background_thread(int enable) {
    _Bool on = enable != 0;
    je_mallctl("background_thread", NULL, NULL, &on, sizeof(on));
}

/* Heap profiling where this jemalloc was built with it (Debian's is) and
 * started with prof:true (MALLOC_CONF): ENOENT otherwise. */
static inline int zb_heap_profile_dump(const char *path) {
    return je_mallctl("prof.dump", NULL, NULL, &path, sizeof(path));
}
static inline int zb_heap_profiling(void) {
    _Bool on = 0;
    size_t sz = sizeof(on);
    return je_mallctl("prof.active", &on, &sz, NULL, 0) == 0 && on;
}

#endif
