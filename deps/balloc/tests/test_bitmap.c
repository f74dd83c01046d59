#include "bitmap.h"
#include "harness.h"

TEST(init_set_find) {
    uint64_t bm[8];
    for (unsigned n = 1; n <= 512; n += 7) {
        bitmap_init_set(bm, 8, n);
        CHECK_EQ(bitmap_count(bm, 8), n);
        CHECK_EQ(bitmap_find_set(bm, 8, 0), 0);
        for (unsigned i = 0; i < n; i++)
            bitmap_clear(bm, i);
        CHECK_EQ(bitmap_find_set(bm, 8, 0), -1);
    }
}

TEST(set_clear_get) {
    uint64_t bm[8];
    bitmap_init_set(bm, 8, 0);
    bitmap_set(bm, 0);
    bitmap_set(bm, 63);
    bitmap_set(bm, 64);
    bitmap_set(bm, 511);
    CHECK(bitmap_get(bm, 63) && bitmap_get(bm, 64) && !bitmap_get(bm, 65));
    CHECK_EQ(bitmap_find_set_from_bit(bm, 8, 1), 63);
    CHECK_EQ(bitmap_find_set_from_bit(bm, 8, 65), 511);
    CHECK_EQ(bitmap_find_set_from_bit(bm, 8, 512), -1);
    bitmap_clear(bm, 511);
    CHECK_EQ(bitmap_find_set_from_bit(bm, 8, 65), -1);
    CHECK_EQ(bitmap_count(bm, 8), 3);
}

int main(void) {
    RUN(init_set_find);
    RUN(set_clear_get);
    return harness_done();
}
