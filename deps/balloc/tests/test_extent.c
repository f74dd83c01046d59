/* Extent set alone: best fit, split, coalescing by state, grow, decay and
 * purge accounting. */
#include <string.h>

#include "balloc.h"
#include "base.h"
#include "extent.h"
#include "harness.h"

static struct eset *es;
static struct chunk *ch;

static struct run *take(uint32_t n) {
    struct run *r = extent_alloc(es, n);
    if (r) {
        r->kind = RUN_LARGE;
        r->cls = 50;
        chunk_mark_run(r);
    }
    return r;
}

static unsigned count_free_runs(void) {
    unsigned k = 0;
    for (unsigned s = 0; s < RUN_NSTATES; s++)
        for (unsigned n = 0; n <= CHUNK_PAGES; n++)
            for (struct run *r = es->bucket[s][n]; r; r = r->next)
                k++;
    return k;
}

TEST(fresh_chunk_is_one_clean_run) {
    CHECK(!extent_add_chunk(es, ch));
    CHECK_EQ(count_free_runs(), 1);
    CHECK_EQ(es->npages[RUN_RETAINED], CHUNK_USABLE_PAGES);
    CHECK_EQ(es->npages[RUN_DIRTY], 0);
}

TEST(split_and_coalesce) {
    struct run *r[6];
    for (int i = 0; i < 6; i++) {
        r[i] = take((uint32_t)(i + 1));
        CHECK(r[i] != NULL);
    }
    for (int i = 1; i < 6; i++)
        CHECK(r[i]->base == r[i - 1]->base + (size_t)r[i - 1]->npages * PAGE_SIZE_B);
    struct chunk *c = chunk_of((uintptr_t)r[2]->base);
    CHECK(c == ch);
    CHECK(chunk_run_of(c, (uintptr_t)r[2]->base + 2 * PAGE_SIZE_B + 5) == r[2]);
    /* free 1 and 3 (sizes 2 and 4): two holes plus the tail */
    extent_free(es, r[1]);
    extent_free(es, r[3]);
    CHECK_EQ(count_free_runs(), 3);
    CHECK_EQ(es->npages[RUN_DIRTY], 6);
    /* best fit: a 2-page request takes the 2-page hole, not the 4-page one */
    struct run *b = take(2);
    CHECK(b && b->base == r[1]->base);
    r[1] = b;
    /* 3 pages: best fit is the 4-page hole, split */
    struct run *t = take(3);
    CHECK(t && t->base == r[3]->base);
    CHECK_EQ(count_free_runs(), 2);
    /* free everything: back to one run */
    extent_free(es, t);
    for (int i = 0; i < 6; i++)
        if (i != 3)
            extent_free(es, r[i]);
    /* the dirty pages merge with each other, not with the retained tail */
    CHECK_EQ(count_free_runs(), 2);
    CHECK_EQ(es->npages[RUN_DIRTY], 21);
    CHECK_EQ(es->npages[RUN_DIRTY] + es->npages[RUN_RETAINED], CHUNK_USABLE_PAGES);
    /* purged, they are retained too: back to one run */
    CHECK_EQ(extent_purge(es), 21);
    CHECK_EQ(count_free_runs(), 1);
    CHECK(es->bucket[RUN_RETAINED][CHUNK_USABLE_PAGES] != NULL);
    CHECK_EQ(c->pmap[CHUNK_HDR_PAGES + 3].cls, PMAP_CLS_FREE);
}

TEST(grow_and_split_in_place) {
    struct run *a = take(4), *b = take(4);
    extent_free(es, b);
    CHECK(!extent_grow(es, a, 6));
    chunk_mark_run(a);
    CHECK_EQ(a->npages, 6);
    CHECK(extent_grow(es, a, CHUNK_PAGES));
    struct run *tail = extent_split(a, 2);
    CHECK(tail != NULL && tail->npages == 4);
    chunk_mark_run(a);
    extent_free(es, tail);
    CHECK_EQ(a->npages, 2);
    extent_free(es, a);
    extent_purge(es);
    CHECK_EQ(count_free_runs(), 1);
}

TEST(purge_makes_clean) {
    struct run *a = take(10);
    memset(a->base, 1, 10 * PAGE_SIZE_B);
    extent_free(es, a);
    CHECK(es->npages[RUN_DIRTY] > 0);
    extent_purge(es);
    CHECK_EQ(es->npages[RUN_DIRTY], 0);
    struct run *b = take(10);
    CHECK(b->base[0] == 0 && b->base[10 * PAGE_SIZE_B - 1] == 0);
    extent_free(es, b);
    CHECK(extent_alloc(es, CHUNK_USABLE_PAGES + 1) == NULL);
}

TEST(alloc_prefers_dirty_then_muzzy_and_decays_oldest_first) {
    extent_purge(es);
    struct run *r[4];
    for (int i = 0; i < 4; i++)
        r[i] = take(4);
    struct run *gap = take(1);  /* keeps r[3] from merging with the tail */
    char *b0 = r[0]->base, *b2 = r[2]->base;
    extent_free(es, r[0]);      /* oldest dirty */
    extent_free(es, r[2]);
    CHECK_EQ(es->npages[RUN_DIRTY], 8);
    /* oldest first: r[0]'s 4 pages become muzzy (or retained without MADV_FREE) */
    CHECK_EQ(extent_decay(es, RUN_DIRTY, RUN_MUZZY, 1), 4);
    CHECK_EQ(es->npages[RUN_DIRTY], 4);
    CHECK_EQ(es->npages[RUN_MUZZY] + es->npages[RUN_DIRTY] + es->npages[RUN_RETAINED],
             CHUNK_USABLE_PAGES - 9);
    /* a 4-page request takes the dirty run, then the muzzy one, then retained */
    struct run *a = take(4);
    CHECK(a->base == b2);
    struct run *b = take(4);
    CHECK(es->npages[RUN_MUZZY] == 0 ? 1 : b->base == b0);
    extent_free(es, a);
    extent_free(es, b);
    extent_free(es, r[1]);
    extent_free(es, r[3]);
    extent_free(es, gap);
    extent_purge(es);
    CHECK_EQ(count_free_runs(), 1);
}

int main(void) {
    (void)balloc_good_size(1);
    es = base_alloc(sizeof(*es));
    ch = chunk_new(NULL);
    CHECK(es && ch);
    RUN(fresh_chunk_is_one_clean_run);
    RUN(split_and_coalesce);
    RUN(grow_and_split_in_place);
    RUN(purge_makes_clean);
    RUN(alloc_prefers_dirty_then_muzzy_and_decays_oldest_first);
    return harness_done();
}
