/* Extent set alone: best fit, split, coalescing, grow, purge accounting. */
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
        r->clean = 0;
        chunk_mark_run(r);
    }
    return r;
}

static unsigned count_free_runs(void) {
    unsigned k = 0;
    for (unsigned n = 0; n <= CHUNK_PAGES; n++)
        for (struct run *r = es->bucket[n]; r; r = r->next)
            k++;
    return k;
}

TEST(fresh_chunk_is_one_clean_run) {
    CHECK(!extent_add_chunk(es, ch));
    CHECK_EQ(count_free_runs(), 1);
    CHECK_EQ(es->npages_clean, CHUNK_USABLE_PAGES);
    CHECK_EQ(es->npages_dirty, 0);
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
    CHECK_EQ(es->npages_dirty, 6);
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
    CHECK_EQ(count_free_runs(), 1);
    CHECK_EQ(es->npages_dirty + es->npages_clean, CHUNK_USABLE_PAGES);
    CHECK(es->bucket[CHUNK_USABLE_PAGES] != NULL);
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
    CHECK_EQ(count_free_runs(), 1);
}

TEST(purge_makes_clean) {
    struct run *a = take(10);
    memset(a->base, 1, 10 * PAGE_SIZE_B);
    extent_free(es, a);
    CHECK(es->npages_dirty > 0);
    extent_purge(es);
    CHECK_EQ(es->npages_dirty, 0);
    struct run *b = take(10);
    CHECK(b->base[0] == 0 && b->base[10 * PAGE_SIZE_B - 1] == 0);
    extent_free(es, b);
    CHECK(extent_alloc(es, CHUNK_USABLE_PAGES + 1) == NULL);
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
    return harness_done();
}
