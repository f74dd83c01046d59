/* Defrag support: fragment the 48-byte bin, move every hinted block with the
 * no-tcache calls until a pass moves nothing, then check that the holes are
 * gone (frag_smallbins < 5% of allocated) and every block kept its bytes. */
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

int main(void) {
    RUN(hint_is_zero_for_large_huge_and_full);
    RUN(defrag_converges);
    return harness_done();
}
