/* The jemalloc-compatible API (include/jemalloc/jemalloc.h): every je_
 * function against balloc's own answers, and je_mallctl's names, sizes and
 * return codes as jemalloc's callers rely on them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include "jemalloc/jemalloc.h"
#include "harness.h"
#include "sc.h"

static size_t rd_size(const char *name) {
    size_t v = 0, l = sizeof(v);
    CHECK_EQ(je_mallctl(name, &v, &l, NULL, 0), 0);
    return v;
}

/* The small class a request goes to (the hardened build's canary moves
 * some requests up a class). */
static unsigned bin_of(size_t request) {
    void *p = je_malloc(request), *q = p;
    struct balloc_util u;
    size_t ul = sizeof(u);
    CHECK_EQ(balloc_ctl("utilization.query", &u, &ul, &q, sizeof(q)), 0);
    je_free(p);
    unsigned j = 0;
    while (j < SC_NSMALL - 1 && sc_size[j] != u.size) j++;
    CHECK_EQ(sc_size[j], u.size);
    return j;
}

TEST(allocation_calls) {
    unsigned char *p = je_malloc(100);
    CHECK_EQ(je_malloc_usable_size(p), balloc_good_size(100));
    CHECK_EQ(je_sallocx(p, 0), balloc_good_size(100));
    memset(p, 7, 100);
    p = je_realloc(p, 5000);
    CHECK_EQ(p[99], 7);
    CHECK_EQ(je_malloc_usable_size(p), balloc_good_size(5000));
    je_free(p);
    unsigned char *z = je_calloc(10, 30);
    size_t nz = 0;
    for (int i = 0; i < 300; i++) nz += z[i] != 0;
    CHECK_EQ(nz, 0);
    je_free(z);
    void *a = NULL;
    CHECK_EQ(je_posix_memalign(&a, 256, 1000), 0);
    CHECK_EQ((uintptr_t)a % 256, 0);
    je_free(a);
    CHECK_EQ(je_posix_memalign(&a, 3, 10), EINVAL);
    a = je_aligned_alloc(4096, 100);
    CHECK_EQ((uintptr_t)a % 4096, 0);
    je_free(a);
}

TEST(flags_calls) {
    CHECK_EQ(MALLOCX_TCACHE_NONE, 256);
    CHECK_EQ(MALLOCX_ZERO, 0x40);
    CHECK_EQ(MALLOCX_ALIGN(64), 6);
    CHECK_EQ(MALLOCX_ARENA(0), 1 << 20);
    static const size_t sizes[] = {1, 8, 100, 1000, 14336, 20000, 100000, 5u << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t s = sizes[k];
        CHECK_EQ(je_nallocx(s, 0), balloc_good_size(s));
        unsigned char *p = je_mallocx(s, MALLOCX_ZERO);
        size_t u = je_sallocx(p, 0), nz = 0;
        CHECK_EQ(u, je_nallocx(s, 0));
        for (size_t i = 0; i < u; i++) nz += p[i] != 0;
        CHECK_EQ(nz, 0);
        je_sdallocx(p, s, 0);
        for (unsigned la = 4; la <= 12; la += 4) {
            p = je_mallocx(s, MALLOCX_LG_ALIGN(la) | MALLOCX_ZERO);
            CHECK_EQ((uintptr_t)p % ((size_t)1 << la), 0);
            CHECK_EQ(je_sallocx(p, 0), je_nallocx(s, MALLOCX_LG_ALIGN(la)));
            CHECK_EQ(p[0] | p[s - 1], 0);
            je_sdallocx(p, s, MALLOCX_LG_ALIGN(la));
        }
    }
    /* Around the cache: counted in the arena at once. */
    struct balloc_stats st0, st;
    balloc_thread_flush();
    balloc_get_stats(&st0);
    void *p = je_mallocx(3000, MALLOCX_TCACHE_NONE);
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, st0.allocated + je_nallocx(3000, 0));
    je_dallocx(p, MALLOCX_TCACHE_NONE);
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, st0.allocated);
    p = je_mallocx(3000, MALLOCX_TCACHE_NONE);
    je_sdallocx(p, 3000, MALLOCX_TCACHE_NONE);
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, st0.allocated);
    /* A block freed around the cache keeps its bytes. */
    unsigned char *b = je_malloc(64);
    size_t usable = je_sallocx(b, 0);
    memset(b, 0x3c, usable);
    je_dallocx(b, MALLOCX_TCACHE_NONE);
    /* The hardened build poisons the block and writes its random free key
     * into the first 8 bytes (any of which may equal 0x3c by chance): past
     * the key no byte is kept there, every byte in the default build. */
    bool hardened = balloc_good_size(16) != 16;
    size_t kept = 0;
    for (size_t i = hardened ? 8 : 0; i < usable; i++) kept += b[i] == 0x3c;
    CHECK_EQ(kept, hardened ? (size_t)0 : usable);
    CHECK_EQ(usable, hardened ? (size_t)72 : (size_t)64);
}

TEST(resize_calls) {
    unsigned char *p = je_mallocx(100, 0);
    size_t old = je_sallocx(p, 0);
    memset(p, 9, 100);
    /* Growing with MALLOCX_ZERO zeroes what lies past the old usable size. */
    p = je_rallocx(p, 300, MALLOCX_ZERO);
    CHECK_EQ(je_sallocx(p, 0), balloc_good_size(300));
    CHECK_EQ(p[99], 9);
    CHECK_EQ(p[old] | p[299], 0);
    p = je_rallocx(p, 500, MALLOCX_LG_ALIGN(8));
    CHECK_EQ((uintptr_t)p % 256, 0);
    CHECK_EQ(p[99], 9);
    CHECK_EQ(je_sallocx(p, 0), je_nallocx(500, MALLOCX_LG_ALIGN(8)));
    /* Shrinking keeps the bytes that fit. */
    p = je_rallocx(p, 50, 0);
    CHECK_EQ(je_sallocx(p, 0), balloc_good_size(50));
    CHECK_EQ(p[0] == 9 && p[49] == 9, 1);
    je_free(p);
    /* In place: a size of the same class is kept, another is refused. */
    p = je_mallocx(100, 0);
    CHECK_EQ(je_xallocx(p, 101, 0, 0), balloc_good_size(100));
    CHECK_EQ(je_xallocx(p, 100000, 0, 0), balloc_good_size(100));
    je_free(p);
    p = je_mallocx(40000, 0);
    size_t got = je_xallocx(p, 40000, 10000, 0);
    CHECK_EQ(got, balloc_usable_size(p));
    CHECK(got >= balloc_good_size(40000));
    /* A large block shrinks in place (the hardened build never resizes in
     * place), never into a small class. */
    int hardened = balloc_good_size(16) != 16;
    size_t before = je_sallocx(p, 0);
    CHECK_EQ(je_xallocx(p, 20000, 0, 0), hardened ? before : balloc_good_size(20000));
    CHECK_EQ(je_sallocx(p, 0), hardened ? before : balloc_good_size(20000));
    before = je_sallocx(p, 0);
    CHECK_EQ(je_xallocx(p, 100, 0, 0), before);
    je_free(p);
    /* MALLOCX_ARENA and an explicit tcache id are accepted and ignored. */
    p = je_mallocx(100, MALLOCX_ARENA(0) | MALLOCX_TCACHE(0));
    CHECK_EQ(je_sallocx(p, 0), balloc_good_size(100));
    p = je_rallocx(p, 200, MALLOCX_ARENA(0));
    CHECK_EQ(je_sallocx(p, MALLOCX_ARENA(0)), balloc_good_size(200));
    je_dallocx(p, MALLOCX_ARENA(0) | MALLOCX_TCACHE(0));
}

TEST(mallctl_names_and_codes) {
    const char *v = NULL;
    size_t l = sizeof(v);
    CHECK_EQ(je_mallctl("version", &v, &l, NULL, 0), 0);
    CHECK_EQ(strcmp(v, "5.3.0-0-balloc-" BALLOC_VERSION), 0);
    CHECK_EQ(rd_size("arenas.page"), 4096);
    CHECK_EQ(rd_size("arenas.quantum"), 8);
    unsigned nbins = 0, narenas = 0;
    l = sizeof(nbins);
    CHECK_EQ(je_mallctl("arenas.nbins", &nbins, &l, NULL, 0), 0);
    CHECK_EQ(nbins, SC_NSMALL);
    CHECK_EQ(je_mallctl("arenas.narenas", &narenas, &l, NULL, 0), 0);
    CHECK(narenas >= 1);
    for (unsigned j = 0; j < nbins; j++) {
        char name[64];
        snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
        size_t sz = rd_size(name);
        if (balloc_good_size(16) == 16)  /* not the hardened build (canaries) */
            CHECK_EQ(balloc_good_size(sz), sz);
        CHECK_EQ(sz, sc_size[j]);
        uint32_t nregs = 0;
        size_t nl = sizeof(nregs);
        snprintf(name, sizeof(name), "arenas.bin.%u.nregs", j);
        CHECK_EQ(je_mallctl(name, &nregs, &nl, NULL, 0), 0);
        snprintf(name, sizeof(name), "arenas.bin.%u.slab_size", j);
        CHECK_EQ(rd_size(name), (size_t)sc_slab_pages[j] * 4096);
        CHECK_EQ((size_t)nregs * sz <= rd_size(name), 1);
    }
    /* Probing sizes as DEBUG MALLCTL does: 8 bytes for a size_t works, 4
     * for a size_t or 8 for a uint32_t is EINVAL. */
    int64_t big = 0;
    int32_t small = 0;
    l = 8;
    CHECK_EQ(je_mallctl("arenas.page", &big, &l, NULL, 0), 0);
    CHECK_EQ(big, 4096);
    l = 4;
    CHECK_EQ(je_mallctl("arenas.page", &small, &l, NULL, 0), EINVAL);
    l = 8;
    CHECK_EQ(je_mallctl("arenas.bin.0.nregs", &big, &l, NULL, 0), EINVAL);
    /* Actions: reading one is EPERM (DEBUG MALLCTL-STR then writes VOID). */
    l = sizeof(v);
    CHECK_EQ(je_mallctl("thread.tcache.flush", &v, &l, NULL, 0), EPERM);
    CHECK_EQ(je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0);
    CHECK_EQ(je_mallctl("no.such.name", NULL, NULL, NULL, 0), ENOENT);
    CHECK_EQ(je_mallctl("stats.arenas.4097.pmuzzy", &big, &l, NULL, 0), ENOENT);
    CHECK_EQ(je_mallctl("prof.gdump", &big, &l, NULL, 0), ENOENT);
    /* Writing a read-only name. */
    size_t w = 1;
    CHECK_EQ(je_mallctl("stats.allocated", NULL, NULL, &w, sizeof(w)), EPERM);
    /* epoch, background_thread */
    uint64_t e0 = 0, e1 = 0, one = 1;
    l = sizeof(e0);
    CHECK_EQ(je_mallctl("epoch", &e0, &l, &one, sizeof(one)), 0);
    CHECK_EQ(je_mallctl("epoch", &e1, &l, NULL, 0), 0);
    CHECK_EQ(e1, e0 + 1);
    bool bg = true;
    l = sizeof(bg);
    CHECK_EQ(je_mallctl("background_thread", &bg, &l, NULL, 0), 0);
    CHECK_EQ(bg, false);
}

TEST(mallctl_stats) {
    balloc_thread_flush();
    size_t a0 = rd_size("stats.allocated");
    void *p = je_malloc(200000);
    CHECK_EQ(rd_size("stats.allocated"), a0 + je_malloc_usable_size(p));
    CHECK(rd_size("stats.active") >= rd_size("stats.allocated"));
    CHECK(rd_size("stats.resident") >= rd_size("stats.active"));
    CHECK(rd_size("stats.mapped") >= rd_size("stats.resident"));
    (void)rd_size("stats.retained");
    (void)rd_size("stats.metadata");
    je_free(p);
    CHECK_EQ(rd_size("stats.allocated"), a0);
    /* MALLCTL_ARENAS_ALL is "all". */
    size_t pd_all = rd_size("stats.arenas.4096.pdirty");
    CHECK_EQ(pd_all, rd_size("stats.arenas.all.pdirty"));
    CHECK_EQ(je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0), 0);
    CHECK_EQ(rd_size("stats.arenas.4096.pdirty"), 0);
    CHECK_EQ(rd_size("stats.arenas.4096.pmuzzy"), 0);
    /* Per-bin figures of jemalloc's names, for the bin 48-byte requests
     * go to (its region size read from a block). */
    unsigned j = bin_of(48);
    balloc_thread_flush();  /* what bin_of's block brought into the cache */
    char name[80];
    snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.curregs", j);
    size_t c0 = rd_size(name);
    static void *ps[1000];
    for (int i = 0; i < 1000; i++) ps[i] = je_mallocx(48, MALLOCX_TCACHE_NONE);
    CHECK_EQ(rd_size(name), c0 + 1000);
    uint64_t nm = 0;
    size_t l = sizeof(nm);
    snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.nmalloc", j);
    CHECK_EQ(je_mallctl(name, &nm, &l, NULL, 0), 0);
    CHECK(nm >= 1000);
    for (int i = 0; i < 1000; i++) je_dallocx(ps[i], MALLOCX_TCACHE_NONE);
    snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.curregs", j);
    CHECK_EQ(rd_size(name), c0);
}

/* jemalloc's utilization queries against a bin this test alone uses (1700
 * B requests: the 1792 B class, 16 regions in a 7-page slab; the hardened
 * build's canary keeps them there), filled around the cache so every figure
 * is known: three full slabs, then regions freed from the first. */
struct je_util {
    void *slabcur;
    size_t nfree, nregs, size, bin_nfree, bin_nregs;
};

static struct je_util util_of(const void *p) {
    struct je_util u;
    memset(&u, 0xa5, sizeof(u));
    size_t l = sizeof(u);
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &p, sizeof(p)), 0);
    return u;
}

TEST(utilization_queries) {
    enum { NREGS = 16, SLAB = 7 * 4096, N = 3 * NREGS };
    static void *ps[N];
    for (int i = 0; i < N; i++) ps[i] = je_mallocx(1700, MALLOCX_TCACHE_NONE);
    struct balloc_util bu;
    size_t bl = sizeof(bu);
    CHECK_EQ(balloc_ctl("utilization.query", &bu, &bl, &ps[0], sizeof(void *)), 0);
    CHECK_EQ(bu.size, 1792);
    unsigned j = sc_index(1792);
    CHECK_EQ(sc_slab_nregs[j], NREGS);
    CHECK_EQ(sc_slab_pages[j] * 4096, SLAB);
    /* The slabs: each run of 16 blocks fills one (its lowest block is at
     * its start). */
    uintptr_t base[3];
    for (int s = 0; s < 3; s++) {
        uintptr_t lo = UINTPTR_MAX, hi = 0;
        for (int i = s * NREGS; i < (s + 1) * NREGS; i++) {
            lo = (uintptr_t)ps[i] < lo ? (uintptr_t)ps[i] : lo;
            hi = (uintptr_t)ps[i] > hi ? (uintptr_t)ps[i] : hi;
        }
        CHECK_EQ(hi - lo, (NREGS - 1) * 1792);
        base[s] = lo;
    }
    for (int i = 0; i < N; i++) {
        struct je_util u = util_of(ps[i]);
        CHECK_EQ(u.nfree, 0);
        CHECK_EQ(u.nregs, NREGS);
        CHECK_EQ(u.size, SLAB);
        CHECK_EQ(u.bin_nfree, 0);
        CHECK_EQ(u.bin_nregs, N);
    }
    /* Five regions of the first slab freed. */
    for (int i = 1; i <= 5; i++) je_dallocx(ps[i], MALLOCX_TCACHE_NONE);
    struct je_util u = util_of(ps[0]);
    CHECK_EQ(u.nfree, 5);
    CHECK_EQ(u.nregs, NREGS);
    CHECK_EQ(u.size, SLAB);
    CHECK_EQ(u.bin_nfree, 5);
    CHECK_EQ(u.bin_nregs, N);
    CHECK(u.slabcur == NULL || (uintptr_t)u.slabcur == base[0] || (uintptr_t)u.slabcur == base[1] ||
          (uintptr_t)u.slabcur == base[2]);
    u = util_of(ps[NREGS]);
    CHECK_EQ(u.nfree, 0);
    CHECK_EQ(u.bin_nfree, 5);
    /* A block in the thread cache counts as used until the cache is flushed. */
    je_dallocx(ps[NREGS + 1], 0);
    CHECK_EQ(util_of(ps[NREGS]).nfree, 0);
    balloc_thread_flush();
    CHECK_EQ(util_of(ps[NREGS]).nfree, 1);
    CHECK_EQ(util_of(ps[NREGS]).bin_nfree, 6);
    /* Large and huge blocks: one region, the run's or mapping's bytes. */
    void *big = je_malloc(100000), *huge = je_malloc(5u << 20);
    u = util_of(big);
    CHECK_EQ(u.nfree, 0);
    CHECK_EQ(u.nregs, 1);
    /* (the hardened build's run includes its guard page) */
    CHECK_EQ(u.size, je_sallocx(big, 0) + (balloc_good_size(16) == 16 ? 0 : 4096));
    CHECK(u.slabcur == NULL);
    u = util_of(huge);
    CHECK_EQ(u.nfree, 0);
    CHECK_EQ(u.nregs, 1);
    CHECK_EQ(u.size, je_sallocx(huge, 0));
    /* Batch: three size_t per pointer (nfree, nregs, bytes); a pointer
     * balloc does not know gets zeros. */
    void *qs[5] = {ps[0], ps[NREGS], ps[2 * NREGS], big, NULL};
    size_t out[15];
    memset(out, 0xa5, sizeof(out));
    size_t l = sizeof(out);
    CHECK_EQ(je_mallctl("experimental.utilization.batch_query", out, &l, qs, sizeof(qs)), 0);
    size_t want[15] = {5, NREGS, SLAB, 1, NREGS, SLAB, 0, NREGS, SLAB, 0, 1, util_of(big).size, 0, 0, 0};
    int same = 1;
    for (int i = 0; i < 15; i++) same &= out[i] == want[i];
    CHECK(same);
    l = sizeof(out) - sizeof(size_t);
    CHECK_EQ(je_mallctl("experimental.utilization.batch_query", out, &l, qs, sizeof(qs)), EINVAL);
    l = sizeof(out);
    CHECK_EQ(je_mallctl("experimental.utilization.batch_query", out, &l, qs, sizeof(qs) - 1), EINVAL);
    CHECK_EQ(je_mallctl("experimental.utilization.batch_query", out, &l, NULL, 0), EINVAL);
    /* The single query: a wrong size or no pointer is EINVAL, and so is a
     * pointer balloc did not hand out. */
    void *none = NULL, *stack = &u;
    l = sizeof(u) - 1;
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &qs[0], sizeof(void *)), EINVAL);
    l = sizeof(u);
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &none, sizeof(none)), EINVAL);
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &stack, sizeof(stack)), EINVAL);
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, NULL, 0), EINVAL);
    CHECK_EQ(je_mallctl("experimental.utilization.query", NULL, NULL, &qs[0], sizeof(void *)), EINVAL);
    /* By mib, as callers that translate the name once do. */
    size_t mib[4], ml = 4;
    CHECK_EQ(je_mallctlnametomib("experimental.utilization.query", mib, &ml), 0);
    CHECK_EQ(ml, 1);
    l = sizeof(u);
    const void *q = ps[0];
    CHECK_EQ(je_mallctlbymib(mib, ml, &u, &l, &q, sizeof(q)), 0);
    CHECK_EQ(u.nfree, 5);
    ml = 4;
    CHECK_EQ(je_mallctlnametomib("experimental.utilization.batch_query", mib, &ml), 0);
    l = 3 * sizeof(size_t);
    CHECK_EQ(je_mallctlbymib(mib, ml, out, &l, &q, sizeof(q)), 0);
    CHECK_EQ(out[0], 5);
    CHECK_EQ(out[1], NREGS);
    ml = 0;
    CHECK_EQ(je_mallctlnametomib("experimental.utilization.query", mib, &ml), EINVAL);
    je_free(big);
    je_free(huge);
    for (int i = 0; i < N; i++)
        if (i == 0 || (i > 5 && i != NREGS + 1)) je_dallocx(ps[i], MALLOCX_TCACHE_NONE);
}

/* Valkey's DEBUG MALLCTL: read (and write val, if write) with 8 bytes,
 * then 4, 2, 1 while the answer is EINVAL; a name that is not readable but
 * writable (EPERM) is written alone. Returns the size that worked (0: none)
 * and sets *rc to the last code. */
static size_t debug_mallctl(const char *name, int write, int64_t val, int64_t *old, int *rc) {
    for (size_t sz = sizeof(*old); sz > 0; sz /= 2) {
        size_t zz = sz;
        *old = 0;
        *rc = je_mallctl(name, old, &zz, write ? &val : NULL, write ? sz : 0);
        if (*rc == EPERM && write && (*rc = je_mallctl(name, NULL, NULL, &val, sz)) == 0)
            return sz;
        if (*rc != EINVAL)
            return *rc == 0 ? sz : 0;
    }
    return 0;
}

TEST(debug_mallctl_probing) {
    int64_t v;
    int rc;
    CHECK_EQ(debug_mallctl("arenas.page", 0, 0, &v, &rc), 8);
    CHECK_EQ(v, 4096);
    CHECK_EQ(debug_mallctl("arenas.nbins", 0, 0, &v, &rc), 4);
    CHECK_EQ(v, SC_NSMALL);
    CHECK_EQ(debug_mallctl("arenas.bin.0.nregs", 0, 0, &v, &rc), 4);
    CHECK_EQ(v, sc_slab_nregs[0]);
    unsigned na = 0;
    size_t nal = sizeof(na);
    CHECK_EQ(balloc_ctl("arenas.narenas", &na, &nal, NULL, 0), 0);
    CHECK_EQ(debug_mallctl("opt.narenas", 0, 0, &v, &rc), 4);
    CHECK_EQ(v, na);
    CHECK_EQ(debug_mallctl("background_thread", 0, 0, &v, &rc), 1);
    CHECK_EQ(v, 0);
    CHECK_EQ(debug_mallctl("opt.tcache", 0, 0, &v, &rc), 1);
    CHECK_EQ(v, 1);
    CHECK_EQ(debug_mallctl("epoch", 1, 1, &v, &rc), 8);
    /* thread.tcache.enabled: a bool, read and written in one call. */
    CHECK_EQ(debug_mallctl("thread.tcache.enabled", 1, 0, &v, &rc), 1);
    CHECK_EQ(v, 1);
    CHECK_EQ(debug_mallctl("thread.tcache.enabled", 1, 1, &v, &rc), 1);
    CHECK_EQ(v, 0);
    CHECK_EQ(debug_mallctl("thread.tcache.enabled", 0, 0, &v, &rc), 1);
    CHECK_EQ(v, 1);
    /* An action is neither read nor written with a value; the name is
     * unknown; writing a read-only name. */
    CHECK_EQ(debug_mallctl("thread.tcache.flush", 0, 0, &v, &rc), 0);
    CHECK_EQ(rc, EPERM);
    CHECK_EQ(debug_mallctl("thread.tcache.flush", 1, 1, &v, &rc), 0);
    CHECK_EQ(rc, EPERM);
    CHECK_EQ(debug_mallctl("no.such.name", 0, 0, &v, &rc), 0);
    CHECK_EQ(rc, ENOENT);
    CHECK_EQ(debug_mallctl("arenas.page", 1, 8192, &v, &rc), 0);
    CHECK_EQ(rc, EPERM);
    CHECK_EQ(rd_size("arenas.page"), 4096);
}

/* jemalloc's ways of naming all arenas: 4096 (MALLCTL_ARENAS_ALL) by name
 * or patched into a mib, and the arena count (its older spelling, which
 * Valkey's purge uses); 4097 (destroyed arenas) names nothing. */
TEST(all_arenas) {
    unsigned narenas = 0;
    size_t l = sizeof(narenas);
    CHECK_EQ(je_mallctl("arenas.narenas", &narenas, &l, NULL, 0), 0);
    char name[80];
    snprintf(name, sizeof(name), "arena.%u.purge", narenas);
    static void *ps[512];
    for (int i = 0; i < 512; i++) ps[i] = je_malloc(16384);
    for (int i = 0; i < 512; i++) je_free(ps[i]);
    balloc_thread_flush();
    CHECK(rd_size("stats.arenas.4096.pdirty") >= 512 * 4);
    snprintf(name, sizeof(name), "stats.arenas.%u.pdirty", narenas);
    CHECK_EQ(rd_size(name), rd_size("stats.arenas.4096.pdirty"));
    CHECK_EQ(rd_size("stats.arenas.all.pdirty"), rd_size("stats.arenas.4096.pdirty"));
    snprintf(name, sizeof(name), "arena.%u.purge", narenas);
    CHECK_EQ(je_mallctl(name, NULL, NULL, NULL, 0), 0);
    CHECK_EQ(rd_size("stats.arenas.4096.pdirty"), 0);
    CHECK_EQ(je_mallctl("stats.arenas.4097.pdirty", &l, &l, NULL, 0), ENOENT);
    CHECK_EQ(je_mallctl("arena.4097.purge", NULL, NULL, NULL, 0), ENOENT);
    snprintf(name, sizeof(name), "arena.%u.purge", narenas + 1);
    CHECK_EQ(je_mallctl(name, NULL, NULL, NULL, 0), ENOENT);
    /* The all-arenas mib component is 4096, and a mib patched with it (or
     * with an arena's index) reads what the name does. */
    size_t mib[6], ml = 6, mib2[6], ml2 = 6;
    CHECK_EQ(je_mallctlnametomib("stats.arenas.4096.bins.0.curregs", mib, &ml), 0);
    CHECK_EQ(ml, 6);
    CHECK_EQ(mib[2], MALLCTL_ARENAS_ALL);
    CHECK_EQ(je_mallctlnametomib("stats.arenas.all.bins.0.curregs", mib2, &ml2), 0);
    CHECK_EQ(mib2[2], MALLCTL_ARENAS_ALL);
    CHECK_EQ(je_mallctlnametomib("stats.arenas.0.bins.0.curregs", mib, &ml), 0);
    CHECK_EQ(mib[2], 0);
    unsigned j = bin_of(48);
    void *keep[100];
    for (int i = 0; i < 100; i++) keep[i] = je_mallocx(48, MALLOCX_TCACHE_NONE);
    mib[2] = MALLCTL_ARENAS_ALL;
    mib[4] = j;
    size_t c_mib = 0, cl = sizeof(c_mib);
    CHECK_EQ(je_mallctlbymib(mib, ml, &c_mib, &cl, NULL, 0), 0);
    snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.curregs", j);
    CHECK_EQ(c_mib, rd_size(name));
    CHECK(c_mib >= 100);
    mib[2] = narenas;
    CHECK_EQ(je_mallctlbymib(mib, ml, &c_mib, &cl, NULL, 0), 0);
    CHECK_EQ(c_mib, rd_size(name));
    mib[2] = MALLCTL_ARENAS_DESTROYED;
    CHECK_EQ(je_mallctlbymib(mib, ml, &c_mib, &cl, NULL, 0), ENOENT);
    /* arenas.bin.<j> patched likewise (mib[2] is the bin). */
    ml = 4;
    CHECK_EQ(je_mallctlnametomib("arenas.bin.0.size", mib, &ml), 0);
    CHECK_EQ(ml, 4);
    mib[2] = j;
    size_t sz = 0;
    l = sizeof(sz);
    CHECK_EQ(je_mallctlbymib(mib, ml, &sz, &l, NULL, 0), 0);
    CHECK_EQ(sz, sc_size[j]);
    mib[2] = SC_NSMALL;
    CHECK_EQ(je_mallctlbymib(mib, ml, &sz, &l, NULL, 0), ENOENT);
    for (int i = 0; i < 100; i++) je_dallocx(keep[i], MALLOCX_TCACHE_NONE);
}

/* opt.* in jemalloc's types, where balloc has the option. */
TEST(options) {
    unsigned n = 0, na = 0;
    size_t l = sizeof(n);
    CHECK_EQ(je_mallctl("opt.narenas", &n, &l, NULL, 0), 0);
    CHECK_EQ(je_mallctl("arenas.narenas", &na, &l, NULL, 0), 0);
    CHECK_EQ(n, na);
    CHECK(n >= 1);
    CHECK_EQ(je_mallctl("opt.narenas", NULL, NULL, &n, sizeof(n)), EPERM);
    l = sizeof(size_t);
    CHECK_EQ(je_mallctl("opt.narenas", &n, &l, NULL, 0), EINVAL);
    ssize_t dirty = 0, muzzy = 0;
    int64_t bd = 0, bm = 0;
    l = sizeof(dirty);
    CHECK_EQ(je_mallctl("opt.dirty_decay_ms", &dirty, &l, NULL, 0), 0);
    CHECK_EQ(je_mallctl("opt.muzzy_decay_ms", &muzzy, &l, NULL, 0), 0);
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", &bd, &l, NULL, 0), 0);
    CHECK_EQ(balloc_ctl("opt.muzzy_decay_ms", &bm, &l, NULL, 0), 0);
    CHECK_EQ(dirty, bd);
    CHECK_EQ(muzzy, bm);
    CHECK_EQ(dirty, 10000);
    size_t tmax = 0;
    l = sizeof(tmax);
    CHECK_EQ(je_mallctl("opt.tcache_max", &tmax, &l, NULL, 0), 0);
    CHECK_EQ(tmax, 32768);
    bool b = false;
    l = sizeof(b);
    CHECK_EQ(je_mallctl("opt.tcache", &b, &l, NULL, 0), 0);
    CHECK_EQ(b, true);
    CHECK_EQ(je_mallctl("opt.background_thread", &b, &l, NULL, 0), 0);
    CHECK_EQ(b, false);
    /* jemalloc options balloc does not have. */
    CHECK_EQ(je_mallctl("opt.junk", &b, &l, NULL, 0), ENOENT);
    CHECK_EQ(je_mallctl("opt.prof_accum", &b, &l, NULL, 0), ENOENT);
}

/* Names jemalloc has and balloc cannot answer truthfully: ENOENT. */
TEST(names_balloc_lacks) {
    static const char *const names[] = {
        "stats.arenas.0.small.allocated", "stats.arenas.0.large.allocated", "stats.arenas.0.pactive",
        "stats.arenas.4096.resident", "stats.zero_reallocs", "stats.background_thread.num_threads",
        "prof.gdump", "prof.reset", "arenas.lextent.0.size", "arenas.nlextents", "arenas.tcache_max",
        "arenas.create", "arena.0.reset", "arena.0.destroy", "arena.0.dirty_decay_ms",
        "thread.arena", "thread.allocated", "tcache.create", "config.debug",
        "experimental.hooks.install", "experimental.utilization", "max_background_threads",
        /* and indices past balloc's bins */
        "stats.arenas.0.bins.43.curregs", "arenas.bin.43.size"};
    int all = 1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t v[8], l = sizeof(size_t), mib[8], ml = 8;
        int rc = je_mallctl(names[i], v, &l, NULL, 0), rc2 = je_mallctlnametomib(names[i], mib, &ml);
        if (rc != ENOENT || rc2 != ENOENT) {
            printf("  %s: %d %d\n", names[i], rc, rc2);
            all = 0;
        }
    }
    CHECK(all);
    size_t bad[2] = {(size_t)1 << 20 | 7, 0};
    size_t v = 0, l = sizeof(v);
    CHECK_EQ(je_mallctlbymib(bad, 1, &v, &l, NULL, 0), ENOENT);
    CHECK_EQ(je_mallctlbymib(bad, 0, &v, &l, NULL, 0), ENOENT);
    /* version is read-only. */
    const char *ver = "x";
    CHECK_EQ(je_mallctl("version", NULL, NULL, &ver, sizeof(ver)), EPERM);
    l = 4;
    CHECK_EQ(je_mallctl("version", &ver, &l, NULL, 0), EINVAL);
    CHECK_EQ(strcmp(ver, "x"), 0);
}

/* stats.allocated moves by exactly the usable sizes of the blocks, cached
 * or not. */
TEST(allocated_exact) {
    static const size_t sizes[] = {1, 8, 24, 100, 1000, 3000, 14000, 20000, 200000, 5u << 20};
    enum { K = sizeof(sizes) / sizeof(sizes[0]) };
    void *a[K], *b[K];
    balloc_thread_flush();
    size_t a0 = rd_size("stats.allocated"), sum = 0;
    for (int i = 0; i < K; i++) {
        a[i] = je_malloc(sizes[i]);
        b[i] = je_mallocx(sizes[i], MALLOCX_TCACHE_NONE);
        sum += je_malloc_usable_size(a[i]) + je_sallocx(b[i], 0);
        CHECK_EQ(je_malloc_usable_size(a[i]), je_nallocx(sizes[i], 0));
        CHECK_EQ(je_sallocx(b[i], 0), je_nallocx(sizes[i], 0));
    }
    CHECK_EQ(rd_size("stats.allocated"), a0 + sum);
    for (int i = 0; i < K; i++) {
        sum -= je_sallocx(a[i], 0);
        je_sdallocx(a[i], sizes[i], 0);
        CHECK_EQ(rd_size("stats.allocated"), a0 + sum);
    }
    for (int i = 0; i < K; i++) je_sdallocx(b[i], sizes[i], MALLOCX_TCACHE_NONE);
    CHECK_EQ(rd_size("stats.allocated"), a0);
}

TEST(defrag_hint_agrees) {
    static void *ps[3000];
    for (int i = 0; i < 3000; i++) ps[i] = je_malloc(80);
    for (int i = 0; i < 3000; i += 3) {
        je_free(ps[i]);
        ps[i] = NULL;
    }
    balloc_thread_flush();
    int agree = 1, hinted = 0;
    for (int i = 0; i < 3000; i++) {
        if (!ps[i]) continue;
        int h = je_get_defrag_hint(ps[i]);
        agree &= h == balloc_defrag_hint(ps[i]);
        hinted += h;
    }
    CHECK(agree);
    CHECK(hinted > 0);
    for (int i = 0; i < 3000; i++) je_free(ps[i]);
}

struct sink {
    char buf[1 << 16];
    size_t n;
};
static void sink_write(void *arg, const char *s) {
    struct sink *k = arg;
    size_t len = strlen(s);
    if (k->n + len < sizeof(k->buf)) {
        memcpy(k->buf + k->n, s, len + 1);
        k->n += len;
    }
}

TEST(stats_print) {
    static struct sink t, j;
    je_malloc_stats_print(sink_write, &t, NULL);
    CHECK(strncmp(t.buf, "balloc " BALLOC_VERSION, strlen("balloc " BALLOC_VERSION)) == 0);
    CHECK(strstr(t.buf, "\n  allocated ") != NULL);
    je_malloc_stats_print(sink_write, &j, "J");
    CHECK(strstr(j.buf, "\"stats\": {\"allocated\": ") != NULL);
    CHECK(strncmp(j.buf, "{\"balloc\": {\"version\": \"" BALLOC_VERSION "\"",
                  strlen("{\"balloc\": {\"version\": \"" BALLOC_VERSION "\"")) == 0);
    CHECK(j.n > 0 && j.buf[j.n - 1] == '\n' ? j.buf[j.n - 2] == '}' : j.buf[j.n - 1] == '}');
}

int main(void) {
    RUN(allocation_calls);
    RUN(flags_calls);
    RUN(resize_calls);
    RUN(mallctl_names_and_codes);
    RUN(mallctl_stats);
    RUN(utilization_queries);
    RUN(debug_mallctl_probing);
    RUN(all_arenas);
    RUN(options);
    RUN(names_balloc_lacks);
    RUN(allocated_exact);
    RUN(defrag_hint_agrees);
    RUN(stats_print);
    return harness_done();
}
