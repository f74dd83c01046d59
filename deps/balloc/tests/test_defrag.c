/* Defrag support: fragment the 48-byte bin, move every hinted block with the
 * no-tcache calls until a pass moves nothing, then check that the holes are
 * gone (frag_smallbins < 5% of allocated) and every block kept its bytes;
 * the same over many classes as a server does it, its thread cache left
 * alone; and a block freed on the defrag path keeps its bytes. */
#include <stdlib.h>
#include <string.h>

#include "balloc.h"
#include "harness.h"

#define N 200000
static unsigned char *blk[N];
static int live[N];

static void stamp(unsigned char *p, int i) {
    for (int k = 0; k < 48; k++)
        p[k] = (unsigned char)(i * 31 + k);
}
static int stamped(const unsigned char *p, int i) {
    for (int k = 0; k < 48; k++)
        if (p[k] != (unsigned char)(i * 31 + k))
            return 0;
    return 1;
}

TEST(hint_is_zero_for_large_huge_and_full) {
    void *l = balloc_malloc(100000), *h = balloc_malloc(8 << 20);
    CHECK_EQ(balloc_defrag_hint(l), 0);
    CHECK_EQ(balloc_defrag_hint(h), 0);
    CHECK_EQ(balloc_defrag_hint(NULL), 0);
    balloc_free(l);
    balloc_free(h);
    /* a freshly filled bin: full slabs and the current slab only */
    static void *ps[2000];
    for (int i = 0; i < 2000; i++)
        ps[i] = balloc_malloc_usable_no_tcache(1000, NULL);
    int hinted = 0;
    for (int i = 0; i < 2000; i++)
        hinted += balloc_defrag_hint(ps[i]);
    CHECK_EQ(hinted, 0);
    size_t u;
    void *p = balloc_malloc_usable_no_tcache(1000, &u);
    CHECK_EQ(u, balloc_good_size(1000));
    CHECK_EQ(balloc_free_usable_no_tcache(p), u);
    for (int i = 0; i < 2000; i++)
        balloc_free_usable_no_tcache(ps[i]);
}

TEST(defrag_converges) {
    srand(12345);
    for (int i = 0; i < N; i++) {
        blk[i] = balloc_malloc(48);
        stamp(blk[i], i);
        live[i] = 1;
    }
    for (int i = 0; i < N; i++) {
        if (rand() % 5 != 0) {
            balloc_free(blk[i]);
            live[i] = 0;
        }
    }
    balloc_thread_flush();
    struct balloc_stats st;
    balloc_get_stats(&st);
    double before = (double)st.frag_smallbins / (double)st.allocated;
    int passes = 0;
    long total = 0, moves;
    do {
        moves = 0;
        for (int i = 0; i < N; i++) {
            if (!live[i] || !balloc_defrag_hint(blk[i]))
                continue;
            unsigned char *q = balloc_malloc_usable_no_tcache(48, NULL);
            memcpy(q, blk[i], 48);
            balloc_free_usable_no_tcache(blk[i]);
            blk[i] = q;
            moves++;
        }
        total += moves;
        passes++;
    } while (moves && passes < 100);
    balloc_get_stats(&st);
    double after = (double)st.frag_smallbins / (double)st.allocated;
    printf("frag/allocated %.3f -> %.4f, %ld moves in %d passes\n", before, after, total, passes);
    CHECK(moves == 0);
    CHECK(before > 0.5);
    CHECK(after < 0.05);
    int intact = 1;
    for (int i = 0; i < N; i++) {
        if (live[i]) {
            intact &= stamped(blk[i], i);
            balloc_free(blk[i]);
        }
    }
    CHECK(intact);
}

/* A block freed around the cache keeps its bytes until it is handed out
 * again (servers' defrag code reads the copy it has just freed); the
 * hardened build poisons it and stores the key. */
TEST(defrag_free_keeps_bytes) {
    static const size_t sizes[] = {8, 16, 48, 200, 1000, 3000, 14000, 20000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t u;
        unsigned char *p = balloc_malloc_usable(sizes[k], &u);
        for (size_t i = 0; i < u; i++)
            p[i] = (unsigned char)(i * 7 + k);
        CHECK_EQ(balloc_free_usable_no_tcache(p), u);
        size_t changed = 0;
        for (size_t i = 0; i < u; i++) {
#if BALLOC_SECURE
            if (i >= 8 && p[i] != 0xdb)
                changed++;
#else
            if (p[i] != (unsigned char)(i * 7 + k))
                changed++;
#endif
        }
        CHECK_EQ(changed, 0);
    }
}

/* As a server runs it: blocks of many classes, freed through the thread
 * cache (never flushed by hand), then passes of hint-and-move until one
 * moves nothing. The fragmentation figure must then be 0, under any
 * server's lower threshold: what the figure counts, the hint can move. */
#define MIXN 120000
static unsigned char *mix[MIXN];
static size_t mixsz[MIXN];
TEST(server_style_cycle_ends_under_threshold) {
    static const size_t sizes[] = {16, 24, 40, 64, 96, 128, 200, 320, 640, 1500};
    srand(777);
    for (int i = 0; i < MIXN; i++) {
        mixsz[i] = sizes[rand() % 10];
        mix[i] = balloc_malloc(mixsz[i]);
        memset(mix[i], (int)(i & 0xff), mixsz[i]);
    }
    for (int i = 0; i < MIXN; i++) {
        if (rand() % 4 != 0) {
            balloc_free(mix[i]);
            mix[i] = NULL;
        }
    }
    struct balloc_stats st;
    balloc_get_stats(&st);
    double before = (double)st.frag_smallbins / (double)st.allocated;
    long moves, total = 0;
    int passes = 0;
    do {
        moves = 0;
        for (int i = 0; i < MIXN; i++) {
            if (!mix[i] || !balloc_defrag_hint(mix[i]))
                continue;
            unsigned char *q = balloc_malloc_usable_no_tcache(mixsz[i], NULL);
            memcpy(q, mix[i], mixsz[i]);
            balloc_free_usable_no_tcache(mix[i]);
            mix[i] = q;
            moves++;
        }
        total += moves;
        passes++;
    } while (moves && passes < 100);
    balloc_get_stats(&st);
    double after = (double)st.frag_smallbins / (double)st.allocated;
    printf("frag/allocated %.3f -> %.4f, %ld moves in %d passes\n", before, after, total, passes);
    CHECK_EQ(moves, 0);
    CHECK(before > 0.5);
    /* Nothing is left that the hint would move, so nothing is counted:
     * neither the current slabs' free regions (moves fill them) nor those
     * of slabs kept alive only by blocks idle in this thread's cache (the
     * moves' own sweeps give those back). */
    CHECK_EQ(st.frag_smallbins, 0);
    size_t bad = 0;
    for (int i = 0; i < MIXN; i++) {
        if (!mix[i])
            continue;
        for (size_t k = 0; k < mixsz[i]; k++)
            bad += mix[i][k] != (unsigned char)(i & 0xff);
        balloc_free(mix[i]);
    }
    CHECK_EQ(bad, 0);
}

int main(void) {
    RUN(hint_is_zero_for_large_huge_and_full);
    RUN(defrag_converges);
    RUN(defrag_free_keeps_bytes);
    RUN(server_style_cycle_ends_under_threshold);
    return harness_done();
}
