#include "sc.h"

#include "pages.h"

/* Derivation of the classes.
 *
 * Below 128 B the spacing is the quantum: 8, 16, ..., 128 (16 classes).
 * Above, each doubling [2^g, 2^(g+1)] (g >= 7) holds 4 classes spaced by
 * 2^(g-2): size = 2^g + k * 2^(g-2), k = 1..4; e.g. 160, 192, 224, 256,
 * 320, ..., 512, 640, ... So for size > 128, with lg = floor(log2(size-1)),
 * the class is 2^lg + k * 2^(lg-2), k = ((size-1) >> (lg-2)) - 3, and its
 * index is 16 + 4 * (lg - 7) + k - 1 (sc_index_compute).
 *
 * Classes up to 14336 B are small (43 classes). A slab of class size s has
 * lcm(s, page) bytes: no tail is wasted, and it holds page / gcd(s, page)
 * <= 512 regions (every s is a multiple of 8). Classes from 16 KiB to 3.5 MiB
 * are page runs (32 classes); every size above SC_LARGE_MAX is huge: its
 * own mapping, rounded up to pages, with no class.
 */

uint32_t sc_size[SC_NCLASSES];
uint8_t sc_lookup[SC_LOOKUP_LEN];
uint64_t sc_div_magic[SC_NCLASSES];
uint32_t sc_recip[SC_NCLASSES];
uint16_t sc_slab_pages[SC_NSMALL];
uint16_t sc_slab_nregs[SC_NSMALL];

static size_t sc_gcd(size_t a, size_t b) {
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void sc_init(void) {
    unsigned i = 0;
    for (size_t s = SC_QUANTUM; s <= 128; s += SC_QUANTUM)
        sc_size[i++] = (uint32_t)s;
    for (unsigned g = 7; i < SC_NCLASSES; g++)
        for (unsigned k = 1; k <= 4 && i < SC_NCLASSES; k++)
            sc_size[i++] = (uint32_t)(((size_t)1 << g) + ((size_t)k << (g - 2)));
    for (i = 0; i < SC_NCLASSES; i++) {
        sc_div_magic[i] = UINT64_MAX / sc_size[i] + 1;
        sc_recip[i] = (uint32_t)((((uint64_t)1 << 32) + sc_size[i] - 1) / sc_size[i]);
    }
    for (i = 0; i < SC_NSMALL; i++) {
        size_t g = sc_gcd(sc_size[i], PAGE_SIZE_B);
        sc_slab_pages[i] = (uint16_t)(sc_size[i] / g);
        sc_slab_nregs[i] = (uint16_t)(PAGE_SIZE_B / g);
    }
    unsigned c = 0;
    for (size_t j = 0; j < SC_LOOKUP_LEN; j++) {
        size_t s = j * SC_QUANTUM;
        while (sc_size[c] < s)
            c++;
        sc_lookup[j] = (uint8_t)c;
    }
}
