/* balloc_ctl: exact stats by name, cached ids, runtime options, actions,
 * the utilization query, the stats printer, and every misuse case returning
 * its code without changing anything. */
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
    RUN(stats_print_text_and_json);
    return harness_done();
}
