#include "balloc.h"
#include "harness.h"
#include "pages.h"
#include "sc.h"

static const uint32_t expect_first[40] = {
    8,    16,   24,   32,   40,   48,   56,   64,   72,   80,   88,   96,   104,  112,
    120,  128,  160,  192,  224,  256,  320,  384,  448,  512,  640,  768,  896,  1024,
    1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192};

TEST(table_matches) {
    for (unsigned i = 0; i < 40; i++)
        CHECK_EQ(sc_size[i], expect_first[i]);
    CHECK_EQ(sc_size[SC_NSMALL - 1], SC_SMALL_MAX);
    CHECK_EQ(sc_size[SC_NSMALL], SC_LARGE_MIN);
    CHECK_EQ(sc_size[SC_NCLASSES - 1], SC_LARGE_MAX);
    CHECK_EQ(sc_size[SC_NTCACHE - 1], SC_LOOKUP_MAX);
    for (unsigned i = 1; i < SC_NCLASSES; i++)
        CHECK(sc_size[i] > sc_size[i - 1]);
    for (unsigned i = SC_NSMALL; i < SC_NCLASSES; i++)
        CHECK_EQ(sc_size[i] % PAGE_SIZE_B, 0);
}

TEST(lookup_is_smallest_fit) {
    for (size_t s = 0; s <= 70000; s++) {
        unsigned c = sc_index(s);
        if (!(sc_size[c] >= s && (c == 0 || sc_size[c - 1] < s))) {
            CHECK(0);
            printf("size %zu -> class %u\n", s, c);
            break;
        }
    }
    for (size_t s = 129; s <= SC_LARGE_MAX; s += 97)
        CHECK_EQ(sc_index_compute(s), sc_index(s));
    for (size_t s = 129; s <= SC_LOOKUP_MAX; s++)
        if (sc_index_compute(s) != sc_lookup[(s + 7) >> 3]) {
            CHECK(0);
            break;
        }
    CHECK_EQ(sc_index(SC_LARGE_MAX), SC_NCLASSES - 1);
    CHECK_EQ(balloc_good_size(SC_LARGE_MAX + 1), SC_LARGE_MAX + PAGE_SIZE_B);
    CHECK_EQ(balloc_good_size(0), 8);
    CHECK_EQ(balloc_good_size(129), 160);
}

TEST(slab_geometry) {
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        CHECK_EQ((size_t)sc_slab_pages[i] * PAGE_SIZE_B, (size_t)sc_slab_nregs[i] * sc_size[i]);
        CHECK(sc_slab_nregs[i] >= 1 && sc_slab_nregs[i] <= SC_SLAB_MAXREGS);
    }
}

TEST(aligned_rounding_gives_aligned_class) {
    for (size_t a = 16; a <= PAGE_SIZE_B; a *= 2)
        for (size_t s = 1; s <= 40000; s += 3) {
            size_t r = (s + a - 1) & ~(a - 1);
            if (r > SC_LARGE_MAX)
                break;
            if (sc_size[sc_index(r)] % a) {
                CHECK(0);
                return;
            }
        }
    CHECK(1);
}

TEST(division_magic) {
    for (unsigned c = 0; c < SC_NCLASSES; c++)
        for (uint64_t n = 0; n < (1u << 22); n += (n < 70000 ? 1 : 4093)) {
            uint64_t m = sc_div_magic[c];
            if ((n * m <= m - 1) != (n % sc_size[c] == 0)) {
                CHECK(0);
                return;
            }
        }
    CHECK(1);
}

int main(void) {
    (void)balloc_good_size(1);  /* boots, which builds the tables */
    RUN(table_matches);
    RUN(lookup_is_smallest_fit);
    RUN(slab_geometry);
    RUN(aligned_rounding_gives_aligned_class);
    RUN(division_magic);
    return harness_done();
}
