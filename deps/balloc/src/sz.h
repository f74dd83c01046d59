/* sz — from a request to its size class and from a class to the bytes a
 * block of it gives, in this build (the hardened build keeps the last
 * BUILD_CANARY_BYTES of every small block for its canary; build.h).
 *
 * sc.h says what the classes are; this header says which class serves a
 * request. Error convention: none; sz_class() requires size <= SC_LARGE_MAX,
 * sz_fast_class() size <= SZ_FAST_MAX.
 */
#ifndef BALLOC_SZ_H
#define BALLOC_SZ_H

#include <stddef.h>

#include "build.h"
#include "sc.h"

/* Largest request the allocation fast path maps with sc_lookup. */
#define SZ_FAST_MAX (BALLOC_SECURE ? SC_SMALL_MAX - BUILD_CANARY_BYTES : SC_LOOKUP_MAX)

/* The smallest class holds the free key and the canary side by side. */
_Static_assert(2 * SC_QUANTUM >= BUILD_MIN_USABLE + BUILD_CANARY_BYTES, "key and canary fit the smallest class");
_Static_assert(SZ_FAST_MAX <= SC_LOOKUP_MAX, "the fast path's requests are in sc_lookup");

/* Class of a request of at most SZ_FAST_MAX bytes. */
static inline unsigned sz_fast_class(size_t size) {
#if BALLOC_SECURE
    /* Room for the canary while keeping the alignment the default build
     * gives (the largest power of two dividing the size, up to 16): a
     * multiple of 16 takes a class 16 larger, which is a multiple of 16 too
     * (every class from 128 B on is a multiple of 32). */
    size = size < BUILD_MIN_USABLE ? 2 * BUILD_CANARY_BYTES
                                   : size + ((size & 15) ? BUILD_CANARY_BYTES : 2 * BUILD_CANARY_BYTES);
#endif
    return sc_lookup[(size + SC_QUANTUM - 1) >> 3];
}

/* Class of any request of at most SC_LARGE_MAX bytes. */
static inline unsigned sz_class(size_t size) {
    if (size <= SZ_FAST_MAX)
        return sz_fast_class(size);
    /* Hardened: a small class would leave no room for the canary. */
    return sc_index(BALLOC_SECURE && size < SC_LARGE_MIN ? SC_LARGE_MIN : size);
}

/* Usable bytes of a block of class cls. */
static inline size_t sz_usable(unsigned cls) {
    return sc_size[cls] - (cls < SC_NSMALL ? BUILD_CANARY_BYTES : 0u);
}

#endif
