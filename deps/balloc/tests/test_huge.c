/* The cache of freed huge ranges: reuse at the same address, growth by
 * moving a cached range, a block gathered from several ranges, calloc bypass, the size bound, resize through the
 * cache, and purge. Stats stay exact: a cached range is mapped and dirty
 * (counted in resident), never allocated, active or metadata. */
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "balloc.h"
#include "harness.h"
#include "huge.h"

#define MIB ((size_t)1 << 20)
#define PG ((size_t)4096)

static struct balloc_stats st0;

static void stats(struct balloc_stats *st) { balloc_get_stats(st); }

/* Start each test with an empty cache and note the baseline. */
static void fresh(void) {
    balloc_purge();
    stats(&st0);
    CHECK_EQ(st0.dirty, 0);
}

TEST(free_keeps_range_and_stats_exact) {
    fresh();
    struct balloc_stats st;
    char *p = balloc_malloc(7 * MIB);
    memset(p, 1, 7 * MIB);
    stats(&st);
    CHECK_EQ(st.allocated, st0.allocated + 7 * MIB);
    CHECK_EQ(st.huge_allocated, st0.huge_allocated + 7 * MIB);
    CHECK_EQ(st.active, st0.active + 7 * MIB);
    CHECK_EQ(st.metadata, st0.metadata + PG);
    CHECK_EQ(st.mapped, st0.mapped + 7 * MIB + PG);
    CHECK_EQ(st.resident, st0.resident + 7 * MIB + PG);
    CHECK_EQ(st.dirty, 0);
    balloc_free(p);
    stats(&st);
    CHECK_EQ(st.allocated, st0.allocated);
    CHECK_EQ(st.active, st0.active);
    CHECK_EQ(st.metadata, st0.metadata);
    CHECK_EQ(st.dirty, 7 * MIB + PG);              /* cached: dirty ... */
    CHECK_EQ(st.mapped, st0.mapped + 7 * MIB + PG); /* ... and still mapped */
    CHECK_EQ(st.resident, st0.resident + 7 * MIB + PG);
    CHECK_EQ(balloc_usable_size(NULL), 0);
    /* A smaller block reuses the range at the same address; the rest of
     * the range stays cached. */
    char *q = balloc_malloc(5 * MIB);
    CHECK(q == p);
    CHECK_EQ(balloc_usable_size(q), 5 * MIB);
    stats(&st);
    CHECK_EQ(st.allocated, st0.allocated + 5 * MIB);
    CHECK_EQ(st.dirty, 2 * MIB);
    CHECK_EQ(st.mapped, st0.mapped + 7 * MIB + PG);
    CHECK_EQ(st.resident, st0.resident + 7 * MIB + PG);
    /* Too big for what is left (its chunk-aligned part is empty): fresh. */
    char *r = balloc_malloc(6 * MIB);
    CHECK(r != NULL && (r < q - PG || r >= q + 7 * MIB));
    stats(&st);
    CHECK_EQ(st.mapped, st0.mapped + 13 * MIB + 2 * PG);
    CHECK_EQ(st.dirty, 2 * MIB);
    balloc_free(q);
    balloc_free(r);
    stats(&st);
    CHECK_EQ(st.allocated, st0.allocated);
    CHECK_EQ(st.dirty, 13 * MIB + 2 * PG);
    CHECK_EQ(st.mapped, st0.mapped + 13 * MIB + 2 * PG);
    balloc_purge();
    stats(&st);
    CHECK_EQ(st.dirty, 0);
    CHECK_EQ(st.mapped, st0.mapped);
    CHECK_EQ(st.resident, st0.resident);
}

TEST(growth_moves_cached_range) {
    fresh();
    struct balloc_stats st;
    char *p = balloc_malloc(5 * MIB);
    memset(p, 0x5a, 5 * MIB);
    balloc_free(p);
    /* Nothing cached is big enough: the cached range is moved into a fresh
     * 9 MiB mapping, whose other pages fault as they are written. */
    char *q = balloc_malloc(9 * MIB);
    CHECK(q != NULL);
    memset(q, 1, 9 * MIB);
    stats(&st);
    CHECK_EQ(st.dirty, 0);
    CHECK_EQ(st.mapped, st0.mapped + 9 * MIB + PG);
    CHECK_EQ(st.allocated, st0.allocated + 9 * MIB);
    balloc_free(q);
    stats(&st);
    CHECK_EQ(st.dirty, 9 * MIB + PG);
    CHECK_EQ(st.mapped, st0.mapped + 9 * MIB + PG);
}

static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

TEST(gathers_pages_of_several_ranges) {
    fresh();
    struct balloc_stats st;
    char *a = balloc_malloc(5 * MIB), *sep = balloc_malloc(5 * MIB), *b = balloc_malloc(6 * MIB);
    memset(a, 0x5a, 5 * MIB);
    memset(b, 0x5b, 6 * MIB);
    balloc_free(a);
    balloc_free(b);
    struct balloc_stats before;
    stats(&before);
    CHECK_EQ(before.dirty, 11 * MIB + 2 * PG);
    /* No range holds 10 MiB and a header page: the block is made of the
     * 6 MiB range and 4 MiB of the 5 MiB one, moved; its pages are the
     * cached ones (their old contents, no fault to write them). */
    long f0 = minor_faults();
    char *q = balloc_malloc(10 * MIB);
    CHECK(q != NULL);
    CHECK(q[0] == 0x5a || q[0] == 0x5b);
    CHECK(q[10 * MIB - 1] == 0x5a || q[10 * MIB - 1] == 0x5b);
    memset(q, 1, 10 * MIB);
    /* Fresh, its 2560 pages would fault; moved, none do (a sanitizer's
     * shadow of the new address, an eighth as many pages, may). */
    CHECK(minor_faults() - f0 < (long)(10 * MIB / PG / 4));
    stats(&st);
    CHECK_EQ(st.dirty, MIB + PG);
    CHECK_EQ(st.mapped, before.mapped);
    CHECK_EQ(st.allocated, st0.allocated + 15 * MIB);
    balloc_free(q);
    balloc_free(sep);
    stats(&st);
    CHECK_EQ(st.dirty, 16 * MIB + 3 * PG);
    CHECK_EQ(st.mapped, before.mapped);
    balloc_purge();
    stats(&st);
    CHECK_EQ(st.mapped, st0.mapped);
}

TEST(calloc_never_reuses_dirty) {
    fresh();
    char *p = balloc_malloc(6 * MIB);
    memset(p, 0xff, 6 * MIB);
    balloc_free(p);
    unsigned char *z = balloc_calloc(1, 6 * MIB);
    CHECK(z != NULL);
    size_t nonzero = 0;
    for (size_t i = 0; i < 6 * MIB; i += 512)
        nonzero += z[i] != 0;
    CHECK_EQ(nonzero, 0);
    struct balloc_stats st;
    stats(&st);
    CHECK_EQ(st.dirty, 6 * MIB + PG);  /* the dirty range is still cached */
    balloc_free(z);
}

TEST(cache_is_bounded) {
    fresh();
    enum { N = 20 };
    char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = balloc_malloc(5 * MIB);
        CHECK(p[i] != NULL);
    }
    for (int i = 0; i < N; i++)
        balloc_free(p[i]);
    /* 20 x (5 MiB + a page) freed, at most HUGE_CACHE_MIN kept (live huge
     * mappings are gone, so the 1/8 share is 0). */
    struct balloc_stats st;
    stats(&st);
    CHECK_EQ(st.dirty, HUGE_CACHE_MIN);
    CHECK_EQ(st.mapped, st0.mapped + HUGE_CACHE_MIN);
    CHECK_EQ(st.allocated, st0.allocated);
    balloc_purge();
    stats(&st);
    CHECK_EQ(st.dirty, 0);
    CHECK_EQ(st.mapped, st0.mapped);
}

TEST(resize_through_cache) {
    fresh();
    struct balloc_stats st;
    char *h = balloc_malloc(20 * MIB);
    h[20 * MIB - 1] = 9;
    h[0] = 3;
    /* Shrinking caches the tail ... */
    CHECK(balloc_realloc(h, 10 * MIB) == h);
    stats(&st);
    CHECK_EQ(st.dirty, 10 * MIB);
    CHECK_EQ(st.allocated, st0.allocated + 10 * MIB);
    CHECK_EQ(st.mapped, st0.mapped + 20 * MIB + PG);
    /* ... and growing back takes it again, in place. */
    CHECK_EQ(balloc_resize_in_place(h, 20 * MIB), 20 * MIB);
    CHECK(h[0] == 3);
    stats(&st);
    CHECK_EQ(st.dirty, 0);
    CHECK_EQ(st.allocated, st0.allocated + 20 * MIB);
    CHECK_EQ(st.mapped, st0.mapped + 20 * MIB + PG);
    balloc_free(h);
    stats(&st);
    CHECK_EQ(st.dirty, 20 * MIB + PG);
    balloc_purge();
}

TEST(stale_pointer_after_free_is_not_huge) {
    fresh();
    char *p = balloc_malloc(5 * MIB);
    balloc_free(p);
    CHECK(huge_hdr_of(p) == NULL);  /* cached: header cleared, chunk unmarked */
    balloc_purge();
}

int main(void) {
    RUN(free_keeps_range_and_stats_exact);
    RUN(growth_moves_cached_range);
    RUN(gathers_pages_of_several_ranges);
    RUN(calloc_never_reuses_dirty);
    RUN(cache_is_bounded);
    RUN(resize_through_cache);
    RUN(stale_pointer_after_free_is_not_huge);
    return harness_done();
}
