/* balloc_ctl: exact stats by name, cached ids, runtime options and what
 * each writable one's change does, actions, the utilization query, the
 * stats printer, and every misuse case returning its code without changing
 * anything. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "balloc.h"
#include "harness.h"

static size_t rd_size(const char *name) {
    size_t v = (size_t)-1, len = sizeof(v);
    int rc = balloc_ctl(name, &v, &len, NULL, 0);
    CHECK_EQ(rc, 0);
    return v;
}

static unsigned bin_of(size_t size) {
    char name[64];
    for (unsigned j = 0;; j++) {
        snprintf(name, sizeof(name), "stats.arenas.all.bins.%u.size", j);
        if (rd_size(name) >= size)
            return j;
    }
}

TEST(allocated_is_sum_of_usable) {
    static void *ps[5000];
    size_t a0 = rd_size("stats.allocated"), sum = 0;
    for (int i = 0; i < 5000; i++) {
        size_t u;
        ps[i] = balloc_malloc_usable((size_t)(i * 131) % (i % 50 == 0 ? 5000000 : 40000), &u);
        sum += u;
    }
    CHECK_EQ(rd_size("stats.allocated"), a0 + sum);
    for (int i = 0; i < 5000; i++)
        balloc_free(ps[i]);
    CHECK_EQ(rd_size("stats.allocated"), a0);
    CHECK(rd_size("stats.active") >= rd_size("stats.allocated"));
    CHECK(rd_size("stats.mapped") >= rd_size("stats.resident"));
}

TEST(curregs_is_live_count_and_mib_cache) {
    unsigned j = bin_of(48);
    size_t mib[6], len = 6;
    CHECK_EQ(balloc_ctl_nametomib("stats.arenas.all.bins.0.curregs", mib, &len), 0);
    CHECK_EQ(len, 6);
    mib[4] = j;
    balloc_thread_flush();
    size_t c0, n = sizeof(c0);
    CHECK_EQ(balloc_ctl_bymib(mib, len, &c0, &n, NULL, 0), 0);
    static void *ps[3000];
    for (int i = 0; i < 3000; i++)
        ps[i] = balloc_malloc(48);
    balloc_thread_flush();
    size_t c1;
    CHECK_EQ(balloc_ctl_bymib(mib, len, &c1, &n, NULL, 0), 0);
    CHECK_EQ(c1, c0 + 3000);
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.all.bins.%u.curregs", j);
    CHECK_EQ(rd_size(name), c1);
    uint32_t nregs;
    size_t nl = sizeof(nregs);
    snprintf(name, sizeof(name), "stats.arenas.all.bins.%u.nregs", j);
    CHECK_EQ(balloc_ctl(name, &nregs, &nl, NULL, 0), 0);
    struct balloc_util u;
    size_t ul = sizeof(u);
    void *q = ps[10];
    CHECK_EQ(balloc_ctl("utilization.query", &u, &ul, &q, sizeof(q)), 0);
    CHECK_EQ(u.nregs, nregs);
    CHECK_EQ(u.size, 48);
    CHECK(u.nfree < u.nregs && u.bin_nregs >= u.nregs && u.bin_nfree < u.bin_nregs);
    for (int i = 0; i < 3000; i++)
        balloc_free(ps[i]);
    balloc_thread_flush();
    CHECK_EQ(balloc_ctl_bymib(mib, len, &c1, &n, NULL, 0), 0);
    CHECK_EQ(c1, c0);
}

TEST(options_and_actions) {
    int64_t old = 0, zero = 0;
    size_t l = sizeof(old);
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", &old, &l, &zero, sizeof(zero)), 0);
    CHECK_EQ(old, 10000);
    void *p = balloc_malloc(1 << 20);
    memset(p, 1, 1 << 20);
    balloc_free(p);
    CHECK_EQ(rd_size("stats.arenas.all.pdirty"), 0);  /* a zero decay time purges at once */
    int64_t back = 10000;
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", &old, &l, &back, sizeof(back)), 0);
    CHECK_EQ(old, 0);
    p = balloc_malloc(1 << 20);
    memset(p, 1, 1 << 20);
    balloc_free(p);
    CHECK(rd_size("stats.arenas.all.pdirty") >= 256);
    CHECK_EQ(balloc_ctl("arena.0.purge", NULL, NULL, NULL, 0), 0);
    CHECK_EQ(rd_size("stats.arenas.0.pdirty"), 0);
    CHECK_EQ(balloc_ctl("arenas.purge", NULL, NULL, NULL, 0), 0);
    CHECK_EQ(balloc_ctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0);
    /* thread cache off: a free goes straight back */
    bool on = true, off = false, was;
    size_t bl = sizeof(bool);
    CHECK_EQ(balloc_ctl("thread.tcache.enabled", &was, &bl, &off, sizeof(off)), 0);
    CHECK(was);
    size_t a0 = rd_size("stats.allocated");
    struct balloc_stats st;
    void *s = balloc_malloc(64);
    balloc_free(s);
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, a0);
    CHECK_EQ(balloc_ctl("thread.tcache.enabled", &was, &bl, &on, sizeof(on)), 0);
    CHECK(!was);
    /* background thread on and off */
    CHECK_EQ(balloc_ctl("background_thread", &was, &bl, &on, sizeof(on)), 0);
    CHECK(!was);
    CHECK_EQ(balloc_ctl("background_thread", &was, &bl, &off, sizeof(off)), 0);
    CHECK(was);
    CHECK_EQ(balloc_ctl("opt.background_thread", &was, &bl, NULL, 0), 0);
    CHECK(!was);
    const char *str;
    size_t sl = sizeof(str);
    CHECK_EQ(balloc_ctl("version", &str, &sl, NULL, 0), 0);
    CHECK(strcmp(str, BALLOC_VERSION) == 0);
    CHECK_EQ(balloc_ctl("opt.slab_policy", &str, &sl, NULL, 0), 0);
    CHECK(strcmp(str, "fullest") == 0);
    uint64_t e0, e1;
    size_t el = sizeof(e0);
    CHECK_EQ(balloc_ctl("epoch", &e0, &el, &e0, sizeof(e0)), 0);
    CHECK_EQ(balloc_ctl("epoch", &e1, &el, NULL, 0), 0);
    CHECK_EQ(e1, e0 + 1);
}

TEST(misuse_returns_code_and_changes_nothing) {
    size_t v = 12345, l = sizeof(v);
    const char *unknown[] = {"nope", "stats", "stats.nope", "stats.allocated.x", "opt.nope",
                             "stats.arenas.999.pdirty", "stats.arenas.0.bins.43.size",
                             "stats.arenas.x.pdirty", "arena.all.nope", "", "stats..allocated"};
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        CHECK_EQ(balloc_ctl(unknown[i], &v, &l, NULL, 0), ENOENT);
        CHECK_EQ(v, 12345);
        CHECK_EQ(l, sizeof(v));
    }
    /* wrong sizes and missing pointers */
    uint32_t small = 7;
    size_t sl = sizeof(small);
    CHECK_EQ(balloc_ctl("stats.allocated", &small, &sl, NULL, 0), EINVAL);
    CHECK_EQ(small, 7);
    CHECK_EQ(sl, sizeof(small));
    CHECK_EQ(balloc_ctl("stats.allocated", &v, NULL, NULL, 0), EINVAL);
    CHECK_EQ(balloc_ctl("stats.allocated", NULL, &l, NULL, 0), EINVAL);
    CHECK_EQ(v, 12345);
    int64_t bad = -5, old = 99, cur;
    size_t ol = sizeof(old);
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", &old, &ol, &bad, sizeof(bad)), EINVAL);
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", &old, &ol, &bad, 4), EINVAL);
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", &old, &ol, NULL, sizeof(bad)), EINVAL);
    CHECK_EQ(old, 99);
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", &cur, &ol, NULL, 0), 0);
    CHECK_EQ(cur, 10000);
    /* read-only names */
    CHECK_EQ(balloc_ctl("stats.allocated", NULL, NULL, &v, sizeof(v)), EPERM);
    CHECK_EQ(balloc_ctl("version", NULL, NULL, &v, sizeof(v)), EPERM);
    int64_t n4 = 4;
    CHECK_EQ(balloc_ctl("opt.narenas", &old, &ol, &n4, sizeof(n4)), EPERM);
    CHECK_EQ(old, 99);
    CHECK_EQ(balloc_ctl("opt.narenas", &cur, &ol, NULL, 0), 0);
    CHECK(cur != 4);
    /* an action given a value does nothing */
    void *p = balloc_malloc(1 << 20);
    memset(p, 1, 1 << 20);
    balloc_free(p);
    size_t pd = 0;
    size_t pdl = sizeof(pd);
    CHECK_EQ(balloc_ctl("stats.arenas.all.pdirty", &pd, &pdl, NULL, 0), 0);
    CHECK(pd >= 256);
    CHECK_EQ(balloc_ctl("arenas.purge", &v, &l, NULL, 0), EPERM);
    CHECK_EQ(balloc_ctl("arena.0.purge", NULL, NULL, &v, sizeof(v)), EPERM);
    CHECK_EQ(rd_size("stats.arenas.all.pdirty"), pd);
    /* the query needs a live block's pointer and both buffers */
    struct balloc_util u;
    memset(&u, 0x7f, sizeof(u));
    size_t ul = sizeof(u);
    void *nul = NULL, *stack = &u;
    CHECK_EQ(balloc_ctl("utilization.query", &u, &ul, &nul, sizeof(nul)), EINVAL);
    CHECK_EQ(balloc_ctl("utilization.query", &u, &ul, &stack, sizeof(stack)), EINVAL);
    CHECK_EQ(balloc_ctl("utilization.query", &u, &ul, NULL, 0), EINVAL);
    CHECK_EQ(u.nregs, 0x7f7f7f7f7f7f7f7full);
    size_t mib[6], ml = 2;
    CHECK_EQ(balloc_ctl_nametomib("stats.allocated", mib, &ml), 0);
    ml = 1;
    CHECK_EQ(balloc_ctl_nametomib("stats.allocated", mib, &ml), EINVAL);
    CHECK_EQ(ml, 1);
    size_t badmib[2] = {99, 0};
    CHECK_EQ(balloc_ctl_bymib(badmib, 2, &v, &l, NULL, 0), ENOENT);
}

static int64_t rd_i64(const char *name) {
    int64_t v = -7;
    size_t len = sizeof(v);
    CHECK_EQ(balloc_ctl(name, &v, &len, NULL, 0), 0);
    return v;
}

static void wr_i64(const char *name, int64_t v) {
    CHECK_EQ(balloc_ctl(name, NULL, NULL, &v, sizeof(v)), 0);
    CHECK_EQ(rd_i64(name), v);
}

static size_t rd_mapped(void) {
    struct balloc_stats st;
    balloc_get_stats(&st);
    return st.mapped;
}

/* Free a fresh 1 MiB block (a 256-page run, never thread-cached); pdirty and
 * pmuzzy of all arenas just before the free. */
static void free_mib(size_t *pd, size_t *pm) {
    void *p = balloc_malloc(1 << 20);
    memset(p, 1, 1 << 20);
    *pd = rd_size("stats.arenas.all.pdirty");
    *pm = rd_size("stats.arenas.all.pmuzzy");
    balloc_free(p);
}

/* Each writable option's on-set hook reaches its owners at once. */
TEST(writable_options_take_effect) {
    size_t pd, pm;
    /* dirty_decay_ms, arenas: -1 keeps freed pages dirty, 0 purges them */
    wr_i64("opt.dirty_decay_ms", -1);
    CHECK_EQ(balloc_ctl("arenas.purge", NULL, NULL, NULL, 0), 0);
    free_mib(&pd, &pm);
    CHECK_EQ(rd_size("stats.arenas.all.pdirty"), pd + 256);
    CHECK_EQ(rd_size("stats.arenas.all.pmuzzy"), pm);
    /* muzzy_decay_ms: -1 keeps purged pages muzzy */
    wr_i64("opt.muzzy_decay_ms", -1);
    wr_i64("opt.dirty_decay_ms", 0);
    CHECK_EQ(balloc_ctl("arenas.purge", NULL, NULL, NULL, 0), 0);
    free_mib(&pd, &pm);
    CHECK_EQ(pd, 0);
    CHECK_EQ(rd_size("stats.arenas.all.pdirty"), 0);
    CHECK_EQ(rd_size("stats.arenas.all.pmuzzy"), pm + 256);
    /* and 0 sends them straight to retained */
    wr_i64("opt.muzzy_decay_ms", 0);
    free_mib(&pd, &pm);
    CHECK_EQ(rd_size("stats.arenas.all.pdirty"), 0);
    CHECK_EQ(rd_size("stats.arenas.all.pmuzzy"), pm);
    /* dirty_decay_ms, huge cache: -1 keeps a freed huge mapping cached
     * (still mapped); changing it to 0 unmaps it at once */
    wr_i64("opt.dirty_decay_ms", -1);
    balloc_purge();
    size_t m0 = rd_mapped();
    void *h = balloc_malloc(8 << 20);
    size_t m1 = rd_mapped();
    CHECK(m1 >= m0 + (8 << 20));
    balloc_free(h);
    CHECK_EQ(rd_mapped(), m1);
    wr_i64("opt.dirty_decay_ms", 0);
    CHECK_EQ(rd_mapped(), m0);
    wr_i64("opt.dirty_decay_ms", 10000);
    /* background_thread, by either name: the thread runs as the option says */
    bool on = true, off = false, b = false;
    size_t bl = sizeof(b);
    CHECK_EQ(balloc_ctl("opt.background_thread", NULL, NULL, &on, sizeof(on)), 0);
    CHECK_EQ(balloc_ctl("background_thread", &b, &bl, NULL, 0), 0);
    CHECK(b);
    CHECK_EQ(balloc_ctl("background_thread", &b, &bl, &off, sizeof(off)), 0);
    CHECK(b);
    CHECK_EQ(balloc_ctl("opt.background_thread", &b, &bl, NULL, 0), 0);
    CHECK(!b);
    CHECK_EQ(balloc_ctl("background_thread", &b, &bl, NULL, 0), 0);
    CHECK(!b);
}

/* An option not writable at run time is EPERM, whatever the value's size,
 * and keeps its value; so are the read-only leaves. */
TEST(read_only_is_eperm) {
    int64_t narenas = rd_i64("opt.narenas"), four = 4, big = 1024, v = 99;
    size_t l = sizeof(v);
    CHECK_EQ(balloc_ctl("opt.narenas", &v, &l, &four, sizeof(four)), EPERM);
    CHECK_EQ(balloc_ctl("opt.narenas", NULL, NULL, &four, 4), EPERM);
    CHECK_EQ(balloc_ctl("opt.tcache_max", &v, &l, &big, sizeof(big)), EPERM);
    CHECK_EQ(v, 99);
    CHECK_EQ(rd_i64("opt.narenas"), narenas);
    CHECK_EQ(rd_i64("opt.tcache_max"), 32768);
    bool off = false, b = false;
    size_t bl = sizeof(b);
    CHECK_EQ(balloc_ctl("opt.tcache", &b, &bl, &off, sizeof(off)), EPERM);
    CHECK_EQ(balloc_ctl("opt.tcache", &b, &bl, NULL, 0), 0);
    CHECK(b);
    const char *lowest = "lowest", *s = NULL;
    size_t sl = sizeof(s);
    CHECK_EQ(balloc_ctl("opt.slab_policy", &s, &sl, &lowest, sizeof(lowest)), EPERM);
    CHECK(s == NULL);
    CHECK_EQ(balloc_ctl("opt.slab_policy", &s, &sl, NULL, 0), 0);
    CHECK(strcmp(s, "fullest") == 0);
    size_t z = 1;
    unsigned u = 1;
    uint32_t u32 = 1;
    CHECK_EQ(balloc_ctl("arenas.page", NULL, NULL, &z, sizeof(z)), EPERM);
    CHECK_EQ(balloc_ctl("arenas.narenas", NULL, NULL, &u, sizeof(u)), EPERM);
    CHECK_EQ(balloc_ctl("arenas.bin.0.nregs", NULL, NULL, &u32, sizeof(u32)), EPERM);
    CHECK_EQ(balloc_ctl("stats.arenas.all.bins.0.curregs", NULL, NULL, &z, sizeof(z)), EPERM);
    CHECK_EQ(balloc_ctl("utilization.query", NULL, NULL, &z, sizeof(z)), EINVAL);  /* needs oldp */
}

/* Names balloc does not have, and values of the wrong size, for each type. */
TEST(unknown_names_and_wrong_sizes) {
    size_t v = 12345, l = sizeof(v);
    const char *unknown[] = {"opt", "opt.", "opt.NARENAS", "opt.narenas.x", "opt.narena",
                             "version.x", "versio", "versions", "thread", "thread.tcache",
                             "utilization", "arenas.bin", "arenas.bin.0", "arenas.bin.all.size",
                             "arenas.bin.00000.size", "stats.arenas.all.bins.all.size",
                             "stats.arenas.0.bins.0.size.x", "stats.arenas.0.bins.0.size.x.y",
                             "arena.4097.purge", "arena..purge", ".version", "version."};
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        size_t mib[6], ml = 6;
        CHECK_EQ(balloc_ctl(unknown[i], &v, &l, NULL, 0), ENOENT);
        CHECK_EQ(balloc_ctl_nametomib(unknown[i], mib, &ml), ENOENT);
        CHECK_EQ(ml, 6);
        CHECK_EQ(v, 12345);
    }
    struct { const char *name; size_t size; } leaf[] = {
        {"version", sizeof(const char *)}, {"epoch", 8}, {"background_thread", sizeof(bool)},
        {"opt.narenas", 8}, {"opt.tcache", sizeof(bool)}, {"opt.slab_policy", sizeof(const char *)},
        {"stats.resident", sizeof(size_t)}, {"stats.arenas.0.pmuzzy", sizeof(size_t)},
        {"stats.arenas.all.bins.3.nregs", 4}, {"stats.arenas.all.bins.3.ndalloc", 8},
        {"arenas.nbins", sizeof(unsigned)}, {"arenas.quantum", sizeof(size_t)},
        {"arenas.bin.3.slab_size", sizeof(size_t)}, {"thread.tcache.enabled", sizeof(bool)}};
    for (unsigned i = 0; i < sizeof(leaf) / sizeof(leaf[0]); i++) {
        unsigned char buf[16];
        size_t sizes[] = {1, 2, 4, 8, 16};
        for (unsigned k = 0; k < 5; k++) {
            size_t n = sizes[k];
            memset(buf, 0x5a, sizeof(buf));
            int rc = balloc_ctl(leaf[i].name, buf, &n, NULL, 0);
            CHECK_EQ(rc, sizes[k] == leaf[i].size ? 0 : EINVAL);
            CHECK_EQ(n, sizes[k]);
            if (rc != 0)
                CHECK(buf[0] == 0x5a && buf[15] == 0x5a);
        }
    }
    /* a write of the wrong size changes nothing */
    int64_t ms = 5;
    bool on = true;
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", NULL, NULL, &ms, 4), EINVAL);
    CHECK_EQ(balloc_ctl("opt.muzzy_decay_ms", NULL, NULL, &ms, 16), EINVAL);
    CHECK_EQ(balloc_ctl("background_thread", NULL, NULL, &on, 8), EINVAL);
    CHECK_EQ(balloc_ctl("thread.tcache.enabled", NULL, NULL, &on, 4), EINVAL);
    CHECK_EQ(rd_i64("opt.dirty_decay_ms"), 10000);
    CHECK_EQ(rd_i64("opt.muzzy_decay_ms"), 0);
    bool b = true;
    size_t bl = sizeof(b);
    CHECK_EQ(balloc_ctl("background_thread", &b, &bl, NULL, 0), 0);
    CHECK(!b);
}

/* A mib has one component per part of the name, answers as the name does,
 * and a mib whose parts do not make a leaf is ENOENT. */
TEST(mibs_follow_names) {
    struct { const char *name; unsigned parts; size_t size; } leaf[] = {
        {"version", 1, sizeof(const char *)}, {"opt.dirty_decay_ms", 2, 8},
        {"stats.allocated", 2, sizeof(size_t)}, {"stats.arenas.0.pdirty", 4, sizeof(size_t)},
        {"stats.arenas.all.bins.5.size", 6, sizeof(size_t)},
        {"arenas.bin.5.slab_size", 4, sizeof(size_t)}, {"arenas.nbins", 2, sizeof(unsigned)},
        {"thread.tcache.enabled", 3, sizeof(bool)}};
    for (unsigned i = 0; i < sizeof(leaf) / sizeof(leaf[0]); i++) {
        unsigned char a[8], b[8];
        size_t mib[6], ml = 6, la = leaf[i].size, lb = leaf[i].size;
        memset(a, 1, sizeof(a));
        memset(b, 2, sizeof(b));
        CHECK_EQ(balloc_ctl_nametomib(leaf[i].name, mib, &ml), 0);
        CHECK_EQ(ml, leaf[i].parts);
        CHECK_EQ(balloc_ctl(leaf[i].name, a, &la, NULL, 0), 0);
        CHECK_EQ(balloc_ctl_bymib(mib, ml, b, &lb, NULL, 0), 0);
        CHECK(memcmp(a, b, leaf[i].size) == 0);
        CHECK_EQ(balloc_ctl_bymib(mib, ml - 1, b, &lb, NULL, 0), ENOENT);
        if (ml < 6) {
            mib[ml] = 0;
            CHECK_EQ(balloc_ctl_bymib(mib, ml + 1, b, &lb, NULL, 0), ENOENT);
        }
    }
    size_t m1[6], m2[6], l1 = 6, l2 = 6, v, l = sizeof(v);
    CHECK_EQ(balloc_ctl_nametomib("stats.allocated", m1, &l1), 0);
    CHECK_EQ(balloc_ctl_nametomib("stats.active", m2, &l2), 0);
    CHECK(m1[0] != m2[0] || m1[1] != m2[1]);
    m1[1] = m2[1];  /* the parts of two leaves make none */
    if (m1[0] != m2[0])
        CHECK_EQ(balloc_ctl_bymib(m1, 2, &v, &l, NULL, 0), ENOENT);
    size_t seven[7] = {0, 0, 0, 0, 0, 0, 0}, huge[1] = {(size_t)1 << 20};
    CHECK_EQ(balloc_ctl_bymib(seven, 7, &v, &l, NULL, 0), ENOENT);
    CHECK_EQ(balloc_ctl_bymib(huge, 1, &v, &l, NULL, 0), ENOENT);
    CHECK_EQ(balloc_ctl_bymib(huge, 0, &v, &l, NULL, 0), ENOENT);
    CHECK_EQ(balloc_ctl_nametomib("a.b.c.d.e.f.g", m1, &l1), ENOENT);
    /* the option's mib component is its index: patched, it names another */
    int64_t d, m;
    size_t om[6], oml = 6, dl = sizeof(d);
    CHECK_EQ(balloc_ctl_nametomib("opt.dirty_decay_ms", om, &oml), 0);
    CHECK_EQ(balloc_ctl_bymib(om, oml, &d, &dl, NULL, 0), 0);
    om[1]++;
    CHECK_EQ(balloc_ctl_bymib(om, oml, &m, &dl, NULL, 0), 0);
    CHECK_EQ(d, 10000);
    CHECK_EQ(m, 0);  /* muzzy_decay_ms, the next option */
    om[1] = 1000;
    CHECK_EQ(balloc_ctl_bymib(om, oml, &m, &dl, NULL, 0), ENOENT);
}

static char out[1 << 16];
static size_t outn;
static void sink(void *arg, const char *s) {
    (void)arg;
    size_t n = strlen(s);
    if (outn + n < sizeof(out)) {
        memcpy(out + outn, s, n);
        outn += n;
        out[outn] = '\0';
    }
}

TEST(stats_print_text_and_json) {
    void *p = balloc_malloc(100);
    outn = 0;
    balloc_stats_print(sink, NULL, 0);
    CHECK(strstr(out, "allocated ") != NULL && strstr(out, "dirty_decay_ms") != NULL);
    outn = 0;
    balloc_stats_print(sink, NULL, 1);
    CHECK(out[0] == '{' && strstr(out, "\"allocated\": ") && strstr(out, "\"bins\": ["));
    int depth = 0, ok = 1;
    for (char *c = out; *c; c++) {
        depth += (*c == '{' || *c == '[') - (*c == '}' || *c == ']');
        ok &= depth >= 0;
    }
    CHECK(ok && depth == 0);
    balloc_free(p);
}

int main(void) {
    RUN(allocated_is_sum_of_usable);
    RUN(curregs_is_live_count_and_mib_cache);
    RUN(options_and_actions);
    RUN(misuse_returns_code_and_changes_nothing);
    RUN(writable_options_take_effect);
    RUN(read_only_is_eperm);
    RUN(unknown_names_and_wrong_sizes);
    RUN(mibs_follow_names);
    RUN(stats_print_text_and_json);
    return harness_done();
}
