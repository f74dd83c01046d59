/* sc — size classes.
 *
 * Classes (derivation in sc.c): every 8 bytes up to 128, then 4 per doubling.
 *   classes [0, SC_NSMALL)            small: regions in slabs (<= 14336 B)
 *   classes [SC_NSMALL, SC_NCLASSES)  large: page runs (16 KiB .. 3.5 MiB)
 *   sizes > SC_LARGE_MAX              huge: own mapping, page-rounded
 * Classes below SC_NTCACHE (<= 32 KiB) are cached per thread.
 *
 * Error convention: none; sc_index() requires 0 <= size <= SC_LARGE_MAX.
 * sc_init() must run before the tables are read; before that sc_lookup is
 * all zeros, which the fast paths treat as an empty class-0 cache.
 */
#ifndef BALLOC_SC_H
#define BALLOC_SC_H

#include <stddef.h>
#include <stdint.h>

#define SC_QUANTUM 8
#define SC_NSMALL 43
#define SC_NLARGE 32
#define SC_NCLASSES (SC_NSMALL + SC_NLARGE)
#define SC_NTCACHE 48
#define SC_SMALL_MAX ((size_t)14336)
#define SC_LARGE_MIN ((size_t)16384)
#define SC_LARGE_MAX ((size_t)3670016)   /* 3.5 MiB */
#define SC_LOOKUP_MAX ((size_t)32768)
#define SC_LOOKUP_LEN (SC_LOOKUP_MAX / SC_QUANTUM + 1)
#define SC_SLAB_MAXREGS 512

extern uint32_t sc_size[SC_NCLASSES];             /* usable size of each class */
extern uint8_t sc_lookup[SC_LOOKUP_LEN];          /* (size + 7) >> 3 -> class */
extern uint64_t sc_div_magic[SC_NCLASSES];        /* n % size == 0 iff n * m <= m - 1 */
extern uint32_t sc_recip[SC_NCLASSES];            /* (k * size * recip) >> 32 == k */
extern uint16_t sc_slab_pages[SC_NSMALL];         /* pages per slab */
extern uint16_t sc_slab_nregs[SC_NSMALL];         /* regions per slab */

void sc_init(void);

/* Class of a size by arithmetic, valid for 128 < size <= SC_LARGE_MAX. */
static inline unsigned sc_index_compute(size_t size) {
    unsigned lg = 63u - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
    unsigned k = (unsigned)((size - 1) >> (lg - 2)) - 3u;   /* 1..4 */
    return 16u + (lg - 7u) * 4u + k - 1u;
}

static inline unsigned sc_index(size_t size) {
    if (size <= SC_LOOKUP_MAX)
        return sc_lookup[(size + SC_QUANTUM - 1) >> 3];
    return sc_index_compute(size);
}

#endif
