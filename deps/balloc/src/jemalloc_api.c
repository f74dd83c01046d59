/* jemalloc_api — balloc under jemalloc's je_-prefixed API
 * (include/jemalloc/jemalloc.h), for servers whose jemalloc-only code should
 * run on balloc. Everything here goes through balloc's public API. mallctl
 * names are balloc_ctl's, which follows jemalloc's names, types, index of
 * all arenas and return codes; the few jemalloc names whose values have
 * another type or shape than balloc's (the version, opt.narenas, the
 * utilization queries) are answered here.
 *
 * Error convention: as jemalloc's (see the header).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jemalloc/jemalloc.h"
#include "prof.h"

/* In the allocator's section, as balloc.c's exports (prof.h). */
#define BALLOC_EXPORT __attribute__((visibility("default"))) PROF_TEXT

/* The parts of a flags word (jemalloc's layout). */
#define JE_LG_ALIGN(flags) ((unsigned)(flags) & 0x3fu)
#define JE_TCACHE_BITS(flags) (((unsigned)(flags) >> 8) & 0xfffu)
#define JE_NO_TCACHE(flags) (JE_TCACHE_BITS(flags) == 1u)

/* ---- allocation ---------------------------------------------------------- */

BALLOC_EXPORT void *je_malloc(size_t size) { return balloc_malloc(size); }
BALLOC_EXPORT void *je_calloc(size_t num, size_t size) { return balloc_calloc(num, size); }
BALLOC_EXPORT void *je_realloc(void *ptr, size_t size) { return balloc_realloc(ptr, size); }
BALLOC_EXPORT void je_free(void *ptr) { balloc_free(ptr); }
BALLOC_EXPORT int je_posix_memalign(void **memptr, size_t alignment, size_t size) {
    return balloc_posix_memalign(memptr, alignment, size);
}
BALLOC_EXPORT void *je_aligned_alloc(size_t alignment, size_t size) {
    return balloc_aligned_alloc(alignment, size);
}
BALLOC_EXPORT size_t je_malloc_usable_size(const void *ptr) { return balloc_usable_size(ptr); }

/* MALLOCX_ZERO zeroes the whole usable size, as jemalloc does. */
BALLOC_EXPORT void *je_mallocx(size_t size, int flags) {
    unsigned la = JE_LG_ALIGN(flags);
    size_t u = 0;
    void *p;
    if (la)
        p = balloc_aligned_alloc((size_t)1 << la, size), u = p ? balloc_usable_size(p) : 0;
    else if (JE_NO_TCACHE(flags))
        p = balloc_malloc_usable_no_tcache(size, &u);
    else
        p = balloc_malloc_usable(size, &u);
    if (p && (flags & MALLOCX_ZERO))
        memset(p, 0, u);
    return p;
}

BALLOC_EXPORT void je_dallocx(void *ptr, int flags) {
    if (JE_NO_TCACHE(flags))
        (void)balloc_free_usable_no_tcache(ptr);
    else
        balloc_free(ptr);
}

/* A sized free of an aligned block may name the request, which can be of
 * another class than the aligned block's: those go through the lookup. */
BALLOC_EXPORT void je_sdallocx(void *ptr, size_t size, int flags) {
    if (JE_NO_TCACHE(flags))
        (void)balloc_free_usable_no_tcache(ptr);
    else if (JE_LG_ALIGN(flags))
        balloc_free(ptr);
    else
        balloc_free_sized(ptr, size);
}

BALLOC_EXPORT size_t je_nallocx(size_t size, int flags) {
    unsigned la = JE_LG_ALIGN(flags);
    return la ? balloc_good_size_aligned((size_t)1 << la, size) : balloc_good_size(size);
}

BALLOC_EXPORT size_t je_sallocx(const void *ptr, int flags) {
    (void)flags;
    return balloc_usable_size(ptr);
}

BALLOC_EXPORT void *je_rallocx(void *ptr, size_t size, int flags) {
    unsigned la = JE_LG_ALIGN(flags);
    size_t align = (size_t)1 << la, old = balloc_usable_size(ptr);
    void *q;
    if (size == 0)
        size = 1;  /* jemalloc leaves 0 undefined; never free here */
    if (la == 0) {
        q = balloc_realloc(ptr, size);
    } else if (((uintptr_t)ptr & (align - 1)) == 0 &&
               balloc_resize_in_place(ptr, size) == balloc_good_size_aligned(align, size)) {
        q = ptr;
    } else {
        if ((q = balloc_aligned_alloc(align, size)) == NULL)
            return NULL;
        memcpy(q, ptr, old < size ? old : size);
        balloc_free(ptr);
    }
    if (q && (flags & MALLOCX_ZERO)) {
        size_t now = balloc_usable_size(q);
        if (now > old)
            memset((char *)q + old, 0, now - old);
    }
    return q;
}

BALLOC_EXPORT size_t je_xallocx(void *ptr, size_t size, size_t extra, int flags) {
    size_t old = balloc_usable_size(ptr);
    size_t want = size + extra < size ? SIZE_MAX / 2 : size + extra;
    size_t now = balloc_resize_in_place(ptr, want);
    if (now < size)
        now = balloc_resize_in_place(ptr, size);
    if ((flags & MALLOCX_ZERO) && now > old)
        memset((char *)ptr + old, 0, now - old);
    return now;
}

BALLOC_EXPORT int je_get_defrag_hint(void *ptr) { return balloc_defrag_hint(ptr); }

static void je_write_stderr(void *arg, const char *s) {
    (void)arg;
    fputs(s, stderr);
}

BALLOC_EXPORT void je_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                                         const char *opts) {
    bool json = opts != NULL && strchr(opts, 'J') != NULL;
    /* jemalloc writes to stderr without a callback. */
    balloc_stats_print(write_cb ? write_cb : je_write_stderr, cbopaque, json);
}

/* ---- mallctl ------------------------------------------------------------- */

/* Every other name is balloc_ctl's own, which already spells all arenas as
 * jemalloc does (index and mib component 4096, or the arena count). */
_Static_assert(MALLCTL_ARENAS_ALL == BALLOC_CTL_ARENAS_ALL, "one index for all arenas");

/* Names answered here rather than by balloc_ctl, because jemalloc's value
 * has another type or shape than balloc's. Their mibs are one component,
 * JE_MIB_BASE + the name's index, above anything balloc_ctl's tree uses at
 * its first level. */
enum { JE_VERSION, JE_OPT_NARENAS, JE_UTIL_QUERY, JE_UTIL_BATCH, JE_NLOCAL };
static const char *const je_local_names[JE_NLOCAL] = {
    "version", "opt.narenas", "experimental.utilization.query",
    "experimental.utilization.batch_query"};
#define JE_MIB_BASE ((size_t)1 << 20)

/* jemalloc's version string for balloc: the API's version, then balloc's. */
static const char *const je_version = JEMALLOC_VERSION;

/* jemalloc's experimental.utilization.query answer (its documented layout). */
struct je_util_verbose {
    void *slabcur;
    size_t nfree, nregs, size, bin_nfree, bin_nregs;
};

/* balloc's utilization.query, resolved once: defragmenters ask per block. */
static size_t je_util_mib[2], je_util_miblen = 2;
static pthread_once_t je_util_once = PTHREAD_ONCE_INIT;

static void je_util_resolve(void) {
    if (balloc_ctl_nametomib("utilization.query", je_util_mib, &je_util_miblen) != 0)
        je_util_miblen = 0;  /* every query then fails (ENOENT) */
}

static int je_util_one(const void *p, struct balloc_util *u) {
    size_t ul = sizeof(*u);
    pthread_once(&je_util_once, je_util_resolve);
    return balloc_ctl_bymib(je_util_mib, je_util_miblen, u, &ul, &p, sizeof(p));
}

static int je_local(size_t id, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    struct balloc_util u;
    int rc;
    switch (id) {
    case JE_VERSION:
        if (newp != NULL || newlen != 0)
            return EPERM;
        if (oldp == NULL || oldlenp == NULL || *oldlenp != sizeof(je_version))
            return EINVAL;
        memcpy(oldp, &je_version, sizeof(je_version));
        return 0;
    case JE_OPT_NARENAS: {
        /* jemalloc's is an unsigned holding the count it settled on (its
         * 0, one per CPU, resolved): balloc's arenas.narenas. */
        unsigned n = 0;
        size_t nl = sizeof(n);
        if (newp != NULL || newlen != 0)
            return EPERM;
        if (oldp == NULL || oldlenp == NULL || *oldlenp != sizeof(n))
            return EINVAL;
        if ((rc = balloc_ctl("arenas.narenas", &n, &nl, NULL, 0)) != 0)
            return rc;
        memcpy(oldp, &n, sizeof(n));
        return 0;
    }
    case JE_UTIL_QUERY: {
        /* newp: the pointer; oldp: the answer. */
        struct je_util_verbose v;
        const void *q;
        if (newp == NULL || newlen != sizeof(q) || oldp == NULL || oldlenp == NULL ||
            *oldlenp != sizeof(v))
            return EINVAL;
        memcpy(&q, newp, sizeof(q));
        if (q == NULL || (rc = je_util_one(q, &u)) != 0)
            return EINVAL;
        v.slabcur = u.slabcur;
        v.nfree = u.nfree;
        v.nregs = u.nregs;
        v.size = u.slab_size;
        v.bin_nfree = u.bin_nfree;
        v.bin_nregs = u.bin_nregs;
        memcpy(oldp, &v, sizeof(v));
        return 0;
    }
    case JE_UTIL_BATCH: {
        /* newp: n pointers; oldp: n triples (nfree, nregs, slab bytes). */
        size_t n = newlen / sizeof(void *);
        if (newp == NULL || n == 0 || newlen % sizeof(void *) != 0 || oldp == NULL ||
            oldlenp == NULL || *oldlenp != n * 3 * sizeof(size_t))
            return EINVAL;
        for (size_t i = 0; i < n; i++) {
            const void *q;
            memcpy(&q, (const char *)newp + i * sizeof(q), sizeof(q));
            size_t t[3] = {0, 0, 0};
            if (q != NULL && je_util_one(q, &u) == 0) {
                t[0] = u.nfree;
                t[1] = u.nregs;
                t[2] = u.slab_size;
            }
            memcpy((char *)oldp + i * sizeof(t), t, sizeof(t));
        }
        return 0;
    }
    default:
        return ENOENT;
    }
}

BALLOC_EXPORT int je_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) {
    if (name == NULL || mibp == NULL || miblenp == NULL)
        return EINVAL;
    for (size_t i = 0; i < JE_NLOCAL; i++) {
        if (strcmp(name, je_local_names[i]) == 0) {
            if (*miblenp < 1)
                return EINVAL;
            mibp[0] = JE_MIB_BASE + i;
            *miblenp = 1;
            return 0;
        }
    }
    return balloc_ctl_nametomib(name, mibp, miblenp);
}

BALLOC_EXPORT int je_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                                  void *newp, size_t newlen) {
    if (mib == NULL || miblen == 0)
        return ENOENT;
    if (mib[0] >= JE_MIB_BASE)
        return miblen == 1 ? je_local(mib[0] - JE_MIB_BASE, oldp, oldlenp, newp, newlen) : ENOENT;
    return balloc_ctl_bymib(mib, miblen, oldp, oldlenp, newp, newlen);
}

BALLOC_EXPORT int je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
                             size_t newlen) {
    size_t mib[8], len = 8;
    int rc = je_mallctlnametomib(name, mib, &len);
    return rc ? rc : je_mallctlbymib(mib, len, oldp, oldlenp, newp, newlen);
}
