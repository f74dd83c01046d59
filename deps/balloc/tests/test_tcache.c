/* Thread-cache capacity (tcache.h): a bin grows when the thread holds more
 * blocks of its class at once than the bin keeps, and only then. Each test
 * runs in a new thread, so it starts from an empty cache at starting caps
 * (128 blocks up to 256 B, 64 up to 1 KiB; the most, 512, up to 256 B). */
#include <pthread.h>
#include <stdint.h>

#include "balloc.h"
#include "harness.h"
#include "sz.h"
#include "tcache.h"

#define BATCH 300

static struct tbin *bin_of(size_t size) { return &tcache_tls.bins[sz_class(size)]; }

/* Allocate `count` blocks of `size`, then free them in the same order: a
 * server's reply built and dropped. */
static void batch_round(size_t size, unsigned count) {
    void *p[2 * BATCH];
    for (unsigned i = 0; i < count; i++)
        p[i] = balloc_malloc(size);
    for (unsigned i = 0; i < count; i++)
        balloc_free(p[i]);
}

static void run_in_thread(void *(*fn)(void *), void *arg) {
    pthread_t t;
    pthread_create(&t, NULL, fn, arg);
    pthread_join(t, NULL);
}

struct grown {
    uint32_t cap[4];      /* the bin's cap after rounds 1..4 */
    uint32_t before, after; /* n around round 5 */
    uint32_t cap_end;
};

static void *grow_thread(void *arg) {
    struct grown *g = arg;
    for (int r = 0; r < 4; r++) {
        batch_round(64, BATCH);
        g->cap[r] = bin_of(64)->cap;
    }
    g->before = bin_of(64)->n;
    batch_round(64, BATCH);
    g->after = bin_of(64)->n;
    g->cap_end = bin_of(64)->cap;
    return NULL;
}

/* 300 blocks of 64 B allocated and freed together: the bin doubles to 256
 * in the first round, to 512 in the second, and from then on a round takes
 * every block from the bin and gives every block back to it (n the same
 * before and after: no refill, no flush). */
TEST(batch_grows_the_bin_to_hold_it) {
    struct grown g = {{0}, 0, 0, 0};
    run_in_thread(grow_thread, &g);
    CHECK_EQ(g.cap[0], 256);
    CHECK_EQ(g.cap[1], 512);
    CHECK_EQ(g.cap[2], 512);
    CHECK_EQ(g.cap[3], 512);
    CHECK(g.before >= BATCH);     /* the whole batch comes from the bin */
    CHECK_EQ(g.after, g.before);
    CHECK_EQ(g.cap_end, 512);
}

static void *big_class_thread(void *arg) {
    uint32_t *cap = arg;
    for (int r = 0; r < 4; r++)
        batch_round(512, BATCH);
    *cap = bin_of(512)->cap;
    return NULL;
}

/* Only classes up to 256 B grow: 512 B blocks keep their starting 64. */
TEST(classes_above_256_keep_their_cap) {
    uint32_t cap = 0;
    run_in_thread(big_class_thread, &cap);
    CHECK_EQ(cap, 64);
}

static void *blocks[4 * BATCH];

static void *free_only_thread(void *arg) {
    uint32_t *cap = arg;
    for (unsigned i = 0; i < 4 * BATCH; i++)
        balloc_free(blocks[i]);
    *cap = bin_of(64)->cap;
    return NULL;
}

/* A thread that only frees a class flushes its bin again and again but
 * never refills it: the bin stays at its starting cap. */
TEST(a_thread_that_only_frees_never_grows) {
    for (unsigned i = 0; i < 4 * BATCH; i++)
        blocks[i] = balloc_malloc(64);
    uint32_t cap = 0;
    run_in_thread(free_only_thread, &cap);
    CHECK_EQ(cap, 128);
}

static void *shrink_thread(void *arg) {
    uint32_t *out = arg;
    for (int r = 0; r < 3; r++)
        batch_round(64, BATCH);
    out[0] = bin_of(64)->cap;
    /* The 64 B bin now sits idle with BATCH or more blocks. Each round of
     * 65 blocks of 1 KiB (cap 64) refills and flushes that bin: one sweep
     * per TCACHE_GC_EVENTS of them. The first sweep after the 64 B bin's
     * last use only starts its idle period; the next one finds its
     * low-water mark at least half its cap: it gives back 3/4 of the idle
     * blocks and halves the cap. */
    for (int r = 0; r < 2 * TCACHE_GC_EVENTS; r++)
        batch_round(1024, 65);
    out[1] = bin_of(64)->cap;
    out[2] = bin_of(64)->n;
    return NULL;
}

TEST(an_idle_grown_bin_shrinks) {
    uint32_t out[3] = {0, 0, 0};
    run_in_thread(shrink_thread, out);
    CHECK_EQ(out[0], 512);
    CHECK_EQ(out[1], 256);        /* halved once: the sweeps after it find it mostly given back */
    CHECK(out[2] < out[1] / 4);   /* each sweep gave back 3/4 of the idle blocks */
}

int main(void) {
    RUN(batch_grows_the_bin_to_hold_it);
    RUN(classes_above_256_keep_their_cap);
    RUN(a_thread_that_only_frees_never_grows);
    RUN(an_idle_grown_bin_shrinks);
    return harness_done();
}
