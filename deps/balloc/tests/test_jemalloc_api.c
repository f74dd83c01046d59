/* The jemalloc-compatible API (include/jemalloc/jemalloc.h): every je_
 * function against balloc's own answers, and je_mallctl's names, sizes and
 * return codes as jemalloc's callers rely on them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
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
    memset(b, 0x3c, 64);
    je_dallocx(b, MALLOCX_TCACHE_NONE);
    size_t kept = 0;
    for (int i = 0; i < 64; i++) kept += b[i] == 0x3c;
    CHECK_EQ(kept, balloc_good_size(16) == 16 ? 64 : 0);  /* the hardened build poisons */
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
    je_free(p);
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
    CHECK_EQ(je_mallctl("prof.active", &big, &l, NULL, 0), ENOENT);
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

/* jemalloc's utilization queries against a bin we fill: the exact free and
 * total regions of the block's slab, and the slab's bytes. */
TEST(utilization_queries) {
    struct {
        void *slabcur;
        size_t nfree, nregs, size, bin_nfree, bin_nregs;
    } u;
    unsigned j = bin_of(1000);
    size_t nregs = sc_slab_nregs[j], slab = (size_t)sc_slab_pages[j] * 4096;
    static void *ps[4096];
    int n = (int)(nregs * 4);
    for (int i = 0; i < n; i++) ps[i] = je_mallocx(1000, MALLOCX_TCACHE_NONE);
    struct balloc_util bu;
    size_t bl = sizeof(bu);
    void *q = ps[0];
    CHECK_EQ(balloc_ctl("utilization.query", &bu, &bl, &q, sizeof(q)), 0);
    size_t l = sizeof(u);
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &q, sizeof(q)), 0);
    CHECK_EQ(u.nfree, bu.nfree);
    CHECK_EQ(u.nregs, nregs);
    CHECK_EQ(u.size, slab);
    CHECK_EQ(u.bin_nfree, bu.bin_nfree);
    CHECK_EQ(u.bin_nregs, bu.bin_nregs);
    CHECK(u.slabcur == bu.slabcur);
    size_t before = u.nfree;
    /* Free two more blocks of ps[0]'s slab, if they are in it. */
    int freed = 0;
    /* Free blocks until two of them were in ps[0]'s slab (its nfree rose). */
    for (int i = 1; i < n && freed < 2; i++) {
        size_t had = u.nfree;
        je_dallocx(ps[i], MALLOCX_TCACHE_NONE);
        ps[i] = NULL;
        l = sizeof(u);
        CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &q, sizeof(q)), 0);
        if (u.nfree == had + 1)
            freed++;
        else
            CHECK_EQ(u.nfree, had);
    }
    CHECK_EQ(freed, 2);
    l = sizeof(u);
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &q, sizeof(q)), 0);
    CHECK_EQ(u.nfree, before + 2);
    /* Batch: three size_t per pointer. */
    void *qs[3] = {ps[0], ps[n - 1] ? ps[n - 1] : ps[0], ps[0]};
    size_t out[9];
    l = sizeof(out);
    CHECK_EQ(je_mallctl("experimental.utilization.batch_query", out, &l, qs, sizeof(qs)), 0);
    CHECK_EQ(out[0], before + 2);
    CHECK_EQ(out[1], nregs);
    CHECK_EQ(out[2], slab);
    CHECK_EQ(out[4], nregs);
    CHECK_EQ(out[6], before + 2);
    l = sizeof(out) - 1;
    CHECK_EQ(je_mallctl("experimental.utilization.batch_query", out, &l, qs, sizeof(qs)), EINVAL);
    void *none = NULL;
    l = sizeof(u);
    CHECK_EQ(je_mallctl("experimental.utilization.query", &u, &l, &none, sizeof(none)), EINVAL);
    /* By mib, as callers that translate the name once do. */
    size_t mib[4], ml = 4;
    CHECK_EQ(je_mallctlnametomib("experimental.utilization.query", mib, &ml), 0);
    CHECK_EQ(ml, 1);
    l = sizeof(u);
    CHECK_EQ(je_mallctlbymib(mib, ml, &u, &l, &q, sizeof(q)), 0);
    CHECK_EQ(u.nfree, before + 2);
    ml = 4;
    CHECK_EQ(je_mallctlnametomib("arenas.page", mib, &ml), 0);
    size_t pg = 0;
    l = sizeof(pg);
    CHECK_EQ(je_mallctlbymib(mib, ml, &pg, &l, NULL, 0), 0);
    CHECK_EQ(pg, 4096);
    for (int i = 0; i < n; i++)
        if (ps[i]) je_dallocx(ps[i], MALLOCX_TCACHE_NONE);
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
    je_malloc_stats_print(sink_write, &j, "J");
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
    RUN(defrag_hint_agrees);
    RUN(stats_print);
    return harness_done();
}
