/* Stats exactness: `allocated` equals the sum of usable sizes of live blocks. */
#include <string.h>

#include "balloc.h"
#include "harness.h"

TEST(allocated_is_exact) {
    struct balloc_stats st0, st;
    balloc_get_stats(&st0);
    static void *ps[3000];
    size_t sum = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = (size_t)(i * 977) % (i % 100 == 0 ? 3000000 : 20000);
        size_t u;
        ps[i] = balloc_malloc_usable(n, &u);
        sum += u;
    }
    void *h = balloc_malloc(7u << 20);
    sum += balloc_usable_size(h);
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, st0.allocated + sum);
    CHECK(st.huge_allocated >= (7u << 20));
    CHECK(st.active >= st.allocated);
    CHECK(st.resident >= st.active);
    CHECK(st.mapped >= st.resident);
    for (int i = 0; i < 3000; i += 2) {
        sum -= balloc_free_usable(ps[i]);
        ps[i] = NULL;
    }
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, st0.allocated + sum);
    balloc_thread_flush();
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, st0.allocated + sum);
    CHECK(st.frag_smallbins > 0);
    for (int i = 1; i < 3000; i += 2)
        balloc_free(ps[i]);
    balloc_free(h);
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, st0.allocated);
}

TEST(frag_smallbins_counts_holes) {
    balloc_thread_flush();
    struct balloc_stats st0, st;
    balloc_get_stats(&st0);
    static void *ps[4096];
    for (int i = 0; i < 4096; i++)
        ps[i] = balloc_malloc(200);  /* class 224 */
    for (int i = 0; i < 4096; i += 2)
        balloc_free(ps[i]);
    balloc_thread_flush();
    balloc_get_stats(&st);
    /* 2048 holes of 224 bytes, give or take the slabs' free tails */
    CHECK(st.frag_smallbins >= st0.frag_smallbins + 2048 * 224 - 128 * 224);
    CHECK(st.frag_smallbins <= st0.frag_smallbins + 2048 * 224 + 128 * 224);
    for (int i = 1; i < 4096; i += 2)
        balloc_free(ps[i]);
    balloc_thread_flush();
    balloc_get_stats(&st);
    CHECK(st.frag_smallbins <= st0.frag_smallbins + 128 * 224);
}

TEST(purge_moves_dirty_to_retained) {
    balloc_purge();  /* no cached huge ranges: only arena pages below */
    void *p = balloc_malloc(3u << 20);
    memset(p, 1, 3u << 20);
    balloc_free(p);
    struct balloc_stats st, st2;
    balloc_get_stats(&st);
    CHECK(st.dirty >= (3u << 20));
    balloc_purge();
    balloc_get_stats(&st2);
    CHECK_EQ(st2.dirty, 0);
    CHECK_EQ(st2.retained, st.retained + st.dirty);
    CHECK_EQ(st2.mapped, st.mapped);
    CHECK_EQ(st2.resident, st.resident - st.dirty);
}

int main(void) {
    RUN(allocated_is_exact);
    RUN(frag_smallbins_counts_holes);
    RUN(purge_moves_dirty_to_retained);
    return harness_done();
}
