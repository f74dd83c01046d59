/* bitmap — fixed arrays of 64-bit words; a set bit means "free".
 * Error convention: bitmap_find_set returns -1 when no bit is set. */
#ifndef BALLOC_BITMAP_H
#define BALLOC_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#define BITMAP_WORDS(nbits) (((nbits) + 63u) / 64u)

/* Set bits [0, nbits), clear the rest of the nwords words. */
static inline void bitmap_init_set(uint64_t *bm, unsigned nwords, unsigned nbits) {
    for (unsigned w = 0; w < nwords; w++) {
        unsigned lo = w * 64u;
        if (lo + 64u <= nbits)
            bm[w] = ~(uint64_t)0;
        else if (lo >= nbits)
            bm[w] = 0;
        else
            bm[w] = ((uint64_t)1 << (nbits - lo)) - 1;
    }
}

static inline bool bitmap_get(const uint64_t *bm, unsigned i) {
    return (bm[i >> 6] >> (i & 63u)) & 1u;
}
static inline void bitmap_set(uint64_t *bm, unsigned i) { bm[i >> 6] |= (uint64_t)1 << (i & 63u); }
static inline void bitmap_clear(uint64_t *bm, unsigned i) { bm[i >> 6] &= ~((uint64_t)1 << (i & 63u)); }

/* Lowest set bit at or after word `from`, or -1. */
static inline int bitmap_find_set(const uint64_t *bm, unsigned nwords, unsigned from) {
    for (unsigned w = from; w < nwords; w++)
        if (bm[w])
            return (int)(w * 64u + (unsigned)__builtin_ctzll(bm[w]));
    return -1;
}

/* Lowest set bit >= i, or -1. */
static inline int bitmap_find_set_from_bit(const uint64_t *bm, unsigned nwords, unsigned i) {
    unsigned w = i >> 6;
    if (w >= nwords)
        return -1;
    uint64_t m = bm[w] & (~(uint64_t)0 << (i & 63u));
    if (m)
        return (int)(w * 64u + (unsigned)__builtin_ctzll(m));
    return bitmap_find_set(bm, nwords, w + 1);
}

static inline unsigned bitmap_count(const uint64_t *bm, unsigned nwords) {
    unsigned n = 0;
    for (unsigned w = 0; w < nwords; w++)
        n += (unsigned)__builtin_popcountll(bm[w]);
    return n;
}

#endif
