/* The hardened build's layout (-DBALLOC_SECURE=1): usable sizes leave room
 * for the canary, the canary and the poison are where they should be, slabs
 * hand out regions in random order, and guard pages are where the header
 * says. In the default build it checks that none of this is there. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "balloc.h"
#include "check.h"
#include "chunk.h"
#include "harness.h"
#include "pages.h"
#include "sc.h"
#include "sz.h"

/* The protection of the mapping holding address a, from /proc/self/maps:
 * "rw-p", "---p", ... (or "" if a is not mapped). */
static void prot_of(const void *a, char out[5]) {
    out[0] = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return;
    unsigned long lo, hi;
    char perm[5];
    while (fscanf(f, "%lx-%lx %4s%*[^\n]", &lo, &hi, perm) == 3) {
        if ((uintptr_t)a >= lo && (uintptr_t)a < hi) {
            memcpy(out, perm, 5);
            break;
        }
    }
    fclose(f);
}

TEST(usable_sizes) {
    CHECK_EQ(balloc_good_size(0), 8);     /* hardened: class 16, canary 8 */
    CHECK_EQ(balloc_good_size(9), 16);    /* hardened: class 24 */
    CHECK_EQ(balloc_good_size(100), 104); /* hardened: class 112 */
    CHECK_EQ(balloc_good_size(16), BALLOC_SECURE ? 24 : 16);  /* class 32: 16-aligned */
    CHECK_EQ(balloc_good_size(24), 24);   /* hardened: class 32 */
    CHECK_EQ(balloc_good_size(128), BALLOC_SECURE ? 152 : 128);
    CHECK_EQ(balloc_good_size(4096), BALLOC_SECURE ? 5112 : 4096);
    CHECK_EQ(balloc_good_size(14328), BALLOC_SECURE ? 14328 : 14336);
    CHECK_EQ(balloc_good_size(14329), BALLOC_SECURE ? 16384 : 14336);
    CHECK_EQ(balloc_good_size(16384), 16384);
    for (size_t s = 0; s <= 40000; s++) {
        size_t u = balloc_good_size(s);
        unsigned cls = sz_class(s);
        size_t align = s == 0 ? 1 : (size_t)1 << __builtin_ctzl(s);
        if (u < s || (cls < SC_NSMALL && u + BUILD_CANARY_BYTES != sc_size[cls]) ||
            sc_size[cls] % (align < 16 ? align : 16) != 0) {
            CHECK(0);
            printf("  size %zu: usable %zu\n", s, u);
            break;
        }
    }
    char *p = balloc_malloc(100);
    CHECK_EQ(balloc_usable_size(p), 104);
    balloc_free(p);
}

TEST(canary_and_poison) {
    char *p = balloc_malloc(200);
    size_t u = balloc_usable_size(p);
    memset(p, 0x11, u);
    uint64_t c;
    memcpy(&c, p + u, sizeof(c));
#if BALLOC_SECURE
    CHECK(c == check_canary_of(p));
#else
    (void)c;
#endif
    balloc_free(p);  /* into this thread's cache: still readable */
    CHECK(check_key_present(p));
    size_t poisoned = 0;
    for (size_t i = 8; i < u; i++)
        poisoned += (unsigned char)p[i] == CHECK_POISON;
    CHECK_EQ(poisoned, BALLOC_SECURE ? u - 8 : 0);
    char *q = balloc_malloc(200);  /* the same block again, key cleared */
    CHECK(q == p);
    CHECK(!check_key_present(q));
    balloc_free(q);
}

TEST(random_region_order) {
    /* Without the cache, each block comes from the slab: in address order
     * by default, in random order hardened. */
    _Bool off = 0, on = 1;
    CHECK_EQ(balloc_ctl("thread.tcache.enabled", NULL, NULL, &off, sizeof(off)), 0);
    enum { N = 200 };
    static char *ps[N];
    unsigned rising = 0;
    for (int i = 0; i < N; i++) {
        ps[i] = balloc_malloc(3000);
        if (i && ps[i] > ps[i - 1])
            rising++;
    }
    if (BALLOC_SECURE)
        CHECK(rising < N - 20);
    else
        CHECK_EQ(rising, N - 1);
    for (int i = 0; i < N; i++)
        balloc_free(ps[i]);
    CHECK_EQ(balloc_ctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on)), 0);
}

TEST(guard_pages) {
    char prot[5];
    char *small = balloc_malloc(64);
    struct chunk *c = chunk_of((uintptr_t)small);
    prot_of((char *)c + CHUNK_HDR_PAGES * PAGE_SIZE_B, prot);
    CHECK(strcmp(prot, BALLOC_SECURE ? "---p" : "rw-p") == 0);
    prot_of((char *)c + CHUNK_SIZE - PAGE_SIZE_B, prot);
    CHECK(strcmp(prot, BALLOC_SECURE ? "---p" : "rw-p") == 0);
    char *large = balloc_malloc(100000);
    size_t u = balloc_usable_size(large);
    prot_of(large + u, prot);
    CHECK(strcmp(prot, BALLOC_SECURE ? "---p" : "rw-p") == 0);
    balloc_free(large);
    prot_of(large + u, prot);
    CHECK_EQ(strcmp(prot, "rw-p"), 0);  /* lifted when the run is freed */
    char *huge = balloc_malloc(6u << 20);
    prot_of(huge - 1, prot);
    CHECK(strcmp(prot, BALLOC_SECURE ? "---p" : "rw-p") == 0);
    prot_of(huge + (6u << 20), prot);
    if (BALLOC_SECURE)
        CHECK_EQ(strcmp(prot, "---p"), 0);
    balloc_free(huge);
    prot_of(huge, prot);
    if (BALLOC_SECURE)
        CHECK_EQ(strcmp(prot, ""), 0);  /* unmapped at once */
    balloc_free(small);
}

TEST(realloc_moves_large_and_huge) {
    char *l = balloc_malloc(100000);
    memset(l, 5, 100000);
    char *l2 = balloc_realloc(l, 60000);
    CHECK(l2 != NULL && l2[59999] == 5);
    if (BALLOC_SECURE)
        CHECK(l2 != l);  /* the guard cannot move: always a copy */
    char *h = balloc_realloc(l2, 8u << 20);
    CHECK(h != NULL && h[59999] == 5);
    char *h2 = balloc_realloc(h, 5u << 20);
    CHECK(h2 != NULL && h2[59999] == 5);
    if (BALLOC_SECURE)
        CHECK(h2 != h);
    balloc_free(h2);
}

/* Aligned blocks: a small class holds the canary too, a large class none. */
TEST(aligned_usable_sizes) {
    static const size_t cases[][4] = {
        /* align, size, usable (default), usable (hardened) */
        {16, 100, 112, 120},     {64, 100, 128, 184},     {16, 14320, 14336, 14328},
        {4096, 12288, 12288, 16384}, {4096, 16384, 16384, 16384}, {4096, 32768, 32768, 32768},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = balloc_aligned_alloc(cases[i][0], cases[i][1]);
        CHECK(p != NULL && ((uintptr_t)p & (cases[i][0] - 1)) == 0);
        CHECK_EQ(balloc_usable_size(p), cases[i][BALLOC_SECURE ? 3 : 2]);
        memset(p, 1, balloc_usable_size(p));
        balloc_free(p);
    }
}

/* Guards the kernel refuses fail the allocation with ENOMEM (the large run,
 * then the huge mapping tried next) and put the run back, with its
 * alignment's lead and trail, as it was. */
TEST(refused_guard) {
    struct balloc_stats st0, st1;
    balloc_thread_flush();
    balloc_get_stats(&st0);
    for (int i = 0; i < 3; i++) {
        pages_inject_nth(1u << PAGES_OP_GUARD, 1, true);
        errno = 0;
        void *p = balloc_aligned_alloc(8192, 40000);
        pages_inject_off();
        if (BALLOC_SECURE)
            CHECK(p == NULL && errno == ENOMEM);
        else
            CHECK(p != NULL);  /* no guard to refuse */
        balloc_free(p);
        p = balloc_aligned_alloc(8192, 40000);
        CHECK(p != NULL && ((uintptr_t)p & 8191) == 0);
        memset(p, 2, 40000);
        balloc_free(p);
    }
    balloc_get_stats(&st1);
    CHECK_EQ(st1.allocated, st0.allocated);
    CHECK_EQ(st1.active, st0.active);
    CHECK_EQ(st1.mapped, st0.mapped);
}

int main(void) {
    RUN(usable_sizes);
    RUN(canary_and_poison);
    RUN(random_region_order);
    RUN(guard_pages);
    RUN(realloc_moves_large_and_huge);
    RUN(aligned_usable_sizes);
    RUN(refused_guard);
    return harness_done();
}
