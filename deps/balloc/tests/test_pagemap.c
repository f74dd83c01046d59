/* Page map: pointer -> chunk kind, run and class; foreign pointers. */
#include <stdlib.h>

#include "balloc.h"
#include "chunk.h"
#include "harness.h"
#include "huge.h"
#include "sc.h"

TEST(arena_pointers) {
    size_t sizes[] = {1, 8, 100, 4096, 14336, 20000, 100000, 3000000};
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *p = balloc_malloc(sizes[i]);
        uintptr_t a = (uintptr_t)p;
        CHECK_EQ(chunk_kind_of(a), CHUNK_KIND_ARENA);
        struct chunk *c = chunk_of(a);
        struct run *r = chunk_run_of(c, a);
        CHECK(r != NULL);
        CHECK_EQ(sc_size[r->cls], balloc_good_size(sizes[i]));
        CHECK(r->base <= p && p < r->base + (size_t)r->npages * PAGE_SIZE_B);
        CHECK(chunk_run_of(c, a + sizes[i] - 1) == r);
        CHECK(c->pmap[chunk_page_of(a)].cls == r->cls);
        CHECK(c->arena != NULL);
        balloc_free(p);
    }
}

TEST(huge_pointers) {
    char *p = balloc_malloc(5u << 20);
    CHECK_EQ(chunk_kind_of((uintptr_t)p), CHUNK_KIND_HUGE);
    struct huge_hdr *h = huge_hdr_of(p);
    CHECK(h && h->usable == (5u << 20));
    CHECK(huge_hdr_of(p + 4096) == NULL);
    char *q = balloc_aligned_alloc(8u << 20, 5u << 20);
    CHECK(((uintptr_t)q & ((8u << 20) - 1)) == 0);
    CHECK_EQ(chunk_kind_of((uintptr_t)q), CHUNK_KIND_HUGE_PREV);
    CHECK(huge_hdr_of(q) != NULL);
    balloc_free(p);
    balloc_free(q);
    /* Freed: marked so that a second free is named a double free. */
    CHECK_EQ(chunk_kind_of((uintptr_t)p), CHUNK_KIND_HUGE_FREED);
    CHECK_EQ(chunk_kind_of((uintptr_t)q), CHUNK_KIND_HUGE_FREED);
    CHECK(huge_hdr_of(p) == NULL && huge_was_freed(p) && !huge_was_freed(p + 8192));
    CHECK(huge_hdr_of(q) == NULL && huge_was_freed(q));
}

TEST(foreign_pointers) {
    int local;
    void *libc = malloc(64);
    CHECK_EQ(chunk_kind_of((uintptr_t)&local), CHUNK_KIND_NONE);
    CHECK_EQ(chunk_kind_of((uintptr_t)libc), CHUNK_KIND_NONE);
    CHECK_EQ(chunk_kind_of((uintptr_t)1 << 50), CHUNK_KIND_NONE);
    CHECK_EQ(chunk_kind_of(0), CHUNK_KIND_NONE);
    free(libc);
}

TEST(header_pages_are_not_runs) {
    char *p = balloc_malloc(64);
    struct chunk *c = chunk_of((uintptr_t)p);
    CHECK(chunk_run_of(c, (uintptr_t)c) == NULL);
    CHECK(chunk_run_of(c, (uintptr_t)c + (CHUNK_HDR_PAGES - 1) * PAGE_SIZE_B) == NULL);
    balloc_free(p);
}

int main(void) {
    RUN(arena_pointers);
    RUN(huge_pointers);
    RUN(foreign_pointers);
    RUN(header_pages_are_not_runs);
    return harness_done();
}
