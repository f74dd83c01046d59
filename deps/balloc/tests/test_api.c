/* Public API semantics: sizes, calloc, realloc in place, alignment, errors. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "balloc.h"
#include "check.h"
#include "harness.h"
#include "pages.h"

TEST(malloc_sizes) {
    size_t sizes[] = {0, 1, 7, 8, 9, 127, 128, 129, 1000, 4096, 14336, 14337, 32768, 32769,
                      100000, 3670016, 3670017, 4u << 20, (4u << 20) + 1, 9000000};
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t u = 0;
        char *p = balloc_malloc_usable(sizes[i], &u);
        CHECK(p != NULL);
        CHECK(u >= sizes[i]);
        CHECK_EQ(u, balloc_good_size(sizes[i]));
        CHECK_EQ(balloc_usable_size(p), u);
        CHECK(((uintptr_t)p & 7) == 0);
        memset(p, 0xab, u);
        CHECK_EQ(balloc_free_usable(p), u);
    }
    CHECK_EQ(balloc_usable_size(NULL), 0);
    balloc_free(NULL);
}

TEST(calloc_zero_and_overflow) {
    for (size_t s = 1; s < (1u << 23); s = s * 3 + 1) {
        char *p = balloc_malloc(s);
        memset(p, 0x5a, s);
        balloc_free(p);
        size_t u;
        unsigned char *q = balloc_calloc_usable(1, s, &u);
        int zero = 1;
        for (size_t i = 0; i < s; i++)
            zero &= q[i] == 0;
        CHECK(zero);
        CHECK_EQ(u, balloc_good_size(s));
        balloc_free(q);
    }
    errno = 0;
    CHECK(balloc_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
}

TEST(huge_sizes_fail) {
    errno = 0;
    CHECK(balloc_malloc(PTRDIFF_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(balloc_malloc(SIZE_MAX) == NULL && errno == ENOMEM);
    size_t u = 1;
    CHECK(balloc_malloc_usable(SIZE_MAX - 10, &u) == NULL && u == 0);
    void *p = balloc_malloc(10);
    errno = 0;
    CHECK(balloc_realloc(p, (size_t)PTRDIFF_MAX + 1) == NULL && errno == ENOMEM);
    balloc_free(p);
    CHECK(balloc_aligned_alloc(64, SIZE_MAX) == NULL);
}

TEST(oom_injection) {
    balloc_thread_flush();
    pages_inject_nth(1u << PAGES_OP_MAP, 1, true);  /* every map fails */
    errno = 0;
    void *h = balloc_malloc(64u << 20);
    CHECK(h == NULL && errno == ENOMEM);
    /* exhaust what the arena has, then the next chunk fails */
    void *ps[2000];
    int got = 0, failed = 0;
    for (int i = 0; i < 2000; i++) {
        ps[i] = balloc_malloc(2u << 20);
        if (ps[i])
            got++;
        else
            failed = errno == ENOMEM;
    }
    pages_inject_off();
    CHECK(failed);
    for (int i = 0; i < 2000; i++)
        balloc_free(ps[i]);
    (void)got;
    void *ok = balloc_malloc(64u << 20);
    CHECK(ok != NULL);
    balloc_free(ok);
}

TEST(realloc_in_place) {
    char *p = balloc_malloc(100);
    memset(p, 7, 100);
    CHECK(balloc_realloc(p, 103) == p);  /* same class (104) */
    size_t u;
    char *q = balloc_realloc_usable(p, 1000, &u);
    CHECK(q && q[99] == 7 && u == 1024);
    balloc_free(q);
    /* large: grow into the free pages after it, shrink in place */
    char *l = balloc_malloc(100000), *guard = balloc_malloc(20000);
    balloc_free(guard);
    (void)guard;
    memset(l, 3, 100000);
    char *l2 = balloc_realloc(l, 200000);
    CHECK(l2 != NULL && l2[99999] == 3);
    char *l3 = balloc_realloc(l2, 50000);
    CHECK(l3 == l2 && l3[49999] == 3);
    CHECK_EQ(balloc_usable_size(l3), balloc_good_size(50000));
    size_t r = balloc_resize_in_place(l3, 60000);
    CHECK(r == balloc_good_size(60000) || r == balloc_good_size(50000));
    CHECK_EQ(balloc_usable_size(l3), r);
    CHECK_EQ(balloc_resize_in_place(l3, 10), r);  /* cannot become small in place */
    balloc_free(l3);
    /* huge: shrink in place, grow maybe in place */
    char *h = balloc_malloc(20u << 20);
    h[(20u << 20) - 1] = 9;
    char *h2 = balloc_realloc(h, 10u << 20);
    CHECK(h2 == h && balloc_usable_size(h2) == (10u << 20));
    char *h3 = balloc_realloc(h2, 30u << 20);
    CHECK(h3 && balloc_usable_size(h3) == (30u << 20));
    char *h4 = balloc_realloc(h3, 100);
    CHECK(h4 && balloc_usable_size(h4) == 104);
    balloc_free(h4);
    CHECK(balloc_realloc(balloc_malloc(5), 0) == NULL);
    char *n = balloc_realloc(NULL, 50);
    CHECK(n && balloc_usable_size(n) == 56);
    balloc_free(n);
}

TEST(aligned) {
    for (size_t a = 1; a <= (64u << 20); a *= 2) {
        size_t sizes[] = {1, 24, 100, 5000, 40000, 5u << 20};
        for (unsigned i = 0; i < 6; i++) {
            char *p = balloc_aligned_alloc(a, sizes[i]);
            CHECK(p != NULL && ((uintptr_t)p & (a - 1)) == 0);
            CHECK(balloc_usable_size(p) >= sizes[i]);
            memset(p, 1, sizes[i]);
            balloc_free(p);
            void *q = NULL;
            if (a >= sizeof(void *)) {
                CHECK_EQ(balloc_posix_memalign(&q, a, sizes[i]), 0);
                CHECK(((uintptr_t)q & (a - 1)) == 0);
                balloc_free(q);
            }
        }
    }
    void *q = (void *)1;
    CHECK_EQ(balloc_posix_memalign(&q, 3, 10), EINVAL);
    CHECK_EQ(balloc_posix_memalign(&q, 4, 10), EINVAL);
    CHECK(q == (void *)1);
    errno = 0;
    CHECK(balloc_aligned_alloc(48, 10) == NULL && errno == EINVAL);
}

/* Every size from the request to the usable size is accepted (a wrong one
 * aborts), and the blocks are really freed. */
TEST(free_sized_all_sizes) {
    struct balloc_stats st0, st1;
    balloc_thread_flush();
    balloc_get_stats(&st0);
    for (size_t s = 0; s < 40000; s += 13) {
        void *p = balloc_malloc(s);
        balloc_free_sized(p, s);
        p = balloc_malloc(s);
        balloc_free_sized(p, balloc_good_size(s));
    }
    /* Aligned blocks, sized with their usable size (huge ones included). */
    static const size_t aligned[][2] = {{64, 100}, {4096, 5000}, {8192, 40000},
                                        {512u << 10, 3145729}, {4u << 20, 36000},
                                        {4u << 20, 100}, {4u << 20, 0}};
    for (size_t i = 0; i < sizeof(aligned) / sizeof(aligned[0]); i++) {
        void *p = balloc_aligned_alloc(aligned[i][0], aligned[i][1]);
        CHECK(p != NULL && balloc_usable_size(p) >= aligned[i][1]);
        balloc_free_sized(p, balloc_usable_size(p));
    }
    balloc_thread_flush();
    balloc_get_stats(&st1);
    CHECK_EQ(st1.allocated, st0.allocated);
}

/* A zero-size block aligned to a chunk still owns a page: it must not
 * claim the chunk after its mapping (here a live huge block's). */
TEST(aligned_zero_size_huge) {
    for (int i = 0; i < 8; i++) {
        void *big = balloc_malloc(5u << 20);
        void *z = balloc_aligned_alloc(4u << 20, 0);
        CHECK(z != NULL && ((uintptr_t)z & ((4u << 20) - 1)) == 0);
        CHECK_EQ(balloc_usable_size(z), 4096);
        CHECK_EQ(balloc_usable_size(big), 5u << 20);
        balloc_free(big);
        balloc_free(z);
    }
}

TEST(purge_and_stats_identity) {
    void *ps[100];
    for (int i = 0; i < 100; i++)
        ps[i] = balloc_malloc((size_t)i * 1000 + 1);
    for (int i = 0; i < 100; i++)
        balloc_free(ps[i]);
    balloc_thread_flush();
    struct balloc_stats st;
    CHECK_EQ(balloc_get_stats(&st), 0);
    CHECK_EQ(st.version, BALLOC_STATS_VERSION);
    CHECK_EQ(st.mapped, st.active + st.dirty + st.retained + st.metadata);
    balloc_purge();
    CHECK_EQ(balloc_get_stats(&st), 0);
    CHECK_EQ(st.dirty, 0);
    CHECK_EQ(st.mapped, st.active + st.retained + st.metadata);
    CHECK(st.resident == st.active + st.metadata);
    CHECK(balloc_get_stats(NULL) == -1);
}

/* Blocks of every kind, from two threads (two arenas), in a scrambled
 * order with NULLs: a batch frees them all, takes exactly their usable bytes
 * off the arenas' allocated bytes and (counted) off the counted total, and
 * never through the caller's cache. */
#define BATCH_N 3000
static void *batch_blocks[BATCH_N];
static int batch_counted;
static void *batch_fill(void *arg) {
    size_t from = (size_t)arg;
    for (size_t i = from; i < BATCH_N; i += 2) {
        size_t size = i % 997 == 0 ? (5u << 20) + i : i % 101 == 0 ? 40000 + i : 8 + i % 3000;
        size_t u;
        batch_blocks[i] = i % 401 == 7          ? NULL
                          : batch_counted ? balloc_malloc_usable_counted(size, &u)
                                          : balloc_malloc(size);
    }
    return NULL;
}

TEST(free_batch) {
    for (int counted = 0; counted < 2; counted++) {
        batch_counted = counted;
        pthread_t t;
        pthread_create(&t, NULL, batch_fill, (void *)1);
        pthread_join(t, NULL);
        batch_fill((void *)0);
        size_t usable = 0, nblocks = 0;
        for (size_t i = 0; i < BATCH_N; i++) {
            usable += balloc_usable_size(batch_blocks[i]);
            nblocks += batch_blocks[i] != NULL;
        }
        CHECK_EQ(nblocks, BATCH_N - BATCH_N / 401 - 1);
        /* Scramble: the batch sorts whatever order it gets. */
        for (size_t i = BATCH_N - 1; i > 0; i--) {
            size_t j = (i * 2654435761u) % (i + 1);
            void *x = batch_blocks[i];
            batch_blocks[i] = batch_blocks[j];
            batch_blocks[j] = x;
        }
        struct balloc_stats before, after;
        balloc_thread_flush();
        CHECK_EQ(balloc_get_stats(&before), 0);
        int64_t total = balloc_counted_total();
        if (counted) {
            CHECK_EQ(balloc_free_batch_counted(batch_blocks, BATCH_N), usable);
            CHECK_EQ(balloc_counted_total(), total - (int64_t)usable);
        } else {
            balloc_free_batch(batch_blocks, BATCH_N);
            CHECK_EQ(balloc_counted_total(), total);
        }
        CHECK_EQ(balloc_get_stats(&after), 0);
        CHECK_EQ(before.allocated - after.allocated, usable);
        balloc_free_batch(NULL, 0);
        CHECK_EQ(balloc_free_batch_counted(batch_blocks, 0), 0);
    }
}

int main(void) {
    RUN(malloc_sizes);
    RUN(calloc_zero_and_overflow);
    RUN(huge_sizes_fail);
    RUN(oom_injection);
    if (!BALLOC_SECURE) /* the hardened build never resizes large or huge blocks in place */
        RUN(realloc_in_place);
    RUN(aligned);
    RUN(free_sized_all_sizes);
    RUN(aligned_zero_size_huge);
    RUN(purge_and_stats_identity);
    RUN(free_batch);
    return harness_done();
}
