/* check — misuse detection on the blocks themselves: the free key (every
 * build except BALLOC_FREE_KEY=0) and, in the hardened build
 * (BALLOC_SECURE=1), the canary and the poison. The switches and the
 * layout sizes they decide are in build.h; what a request's class and usable
 * size are, in sz.h.
 *
 * The free key. Blocks of the cached classes (<= 32 KiB) are not marked free
 * in their slab while they sit in a thread cache, so the slab bitmap alone
 * cannot see a second free. Instead every free of such a block stores a
 * 64-bit key (CHECK_FREE_KEY) in its first 8 bytes, and every free,
 * realloc, usable-size and resize call first compares those bytes with it.
 * Equal means the block is almost certainly free already; the cold path
 * confirms it (the block is in a thread cache, or free in its slab) before
 * it aborts, so a live block whose data happen to equal the key is not
 * misreported. Every allocation of such a block clears the key, so a stale
 * one never reaches a live block.
 * Detection is deterministic while the freed block's first 8 bytes are
 * unmodified and it has not been handed out again.
 *
 * Hardened build. Small blocks end in an 8-byte canary (key ^ address), so
 * their usable size is the class size minus 8 (a request that is a multiple
 * of 16 takes a class 16 larger, to stay 16-aligned), written at allocation and
 * checked at free ("overflow past the end"); small classes start at 16 B so
 * the free key and the canary never overlap. Freed small and large blocks
 * are filled with CHECK_POISON (then the key). The hardened build's other
 * defences (guard pages, random region order, no huge cache) live where
 * their memory is handled: build.h lists them.
 *
 * Error convention: none; a failed check calls util_fatal_ptr (prints the
 * message and aborts).
 */
#ifndef BALLOC_CHECK_H
#define BALLOC_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "build.h"
#include "sc.h"
#include "sz.h"
#include "util.h"

#define CHECK_POISON 0xdb       /* freed bytes in the hardened build */

_Static_assert(sizeof(uint64_t) == BUILD_KEY_BYTES, "the free key is one 64-bit word");

/* The free key. The default build uses a constant that is the
 * sign-extension of a 32-bit value, so the fast paths compare and store it
 * as an immediate (one instruction each, no load); it is an unlikely value
 * for data (0xffffffffb10cf7ee: neither a user-space pointer nor a small
 * number), and a live block that holds it anyway is only confirmed, never
 * misreported. The hardened build draws it at start-up, like the canary key. */
#if BALLOC_SECURE
extern uint64_t check_free_key;   /* random, never 0 */
#define CHECK_FREE_KEY check_free_key
#else
#define CHECK_FREE_KEY ((uint64_t)0 - 0x4ef30812u)
#endif
extern uint64_t check_canary_key; /* random (hardened build only) */

/* Draw the hardened build's keys (once, at start-up; nothing otherwise). */
void check_boot(void);

/* The key's byte at the block's first address. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CHECK_KEY_BYTE0(k) ((unsigned char)(k))
#else
#define CHECK_KEY_BYTE0(k) ((unsigned char)((k) >> 56))
#endif

/* The first byte is compared first: a block whose program has just stored
 * a byte or a field into it is read back by a load the store buffer can
 * serve, which an 8-byte load over a narrower store cannot (it waits for
 * the store to reach the cache: on this benchmark's pairs that wait cost
 * more than the rest of the check). The whole key is read only when the
 * byte matches. */
static inline bool check_key_present(const void *p) {
    if (!BALLOC_FREE_KEY || *(const unsigned char *)p != CHECK_KEY_BYTE0(CHECK_FREE_KEY))
        return false;
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w == CHECK_FREE_KEY;
}
static inline void check_key_set(void *p) {
    uint64_t k = CHECK_FREE_KEY;
    if (BALLOC_FREE_KEY)
        memcpy(p, &k, sizeof(k));
}
static inline void check_key_clear(void *p) {
    uint64_t z = 0;
    if (BALLOC_FREE_KEY)
        memcpy(p, &z, sizeof(z));
}

#if BALLOC_SECURE
static inline uint64_t check_canary_of(const void *p) {
    return check_canary_key ^ (uint64_t)(uintptr_t)p;
}

/* A block of class cls is handed out: clear the key, write the canary. */
static inline void check_on_alloc(void *p, unsigned cls) {
    check_key_clear(p);
    if (cls < SC_NSMALL) {
        uint64_t c = check_canary_of(p);
        memcpy((char *)p + sc_size[cls] - BUILD_CANARY_BYTES, &c, sizeof(c));
    }
}

/* A live block of class cls is being freed (the key check has passed):
 * check the canary, poison the block, store the key. */
static inline void check_on_free(void *p, unsigned cls) {
    if (cls < SC_NSMALL) {
        uint64_t c;
        memcpy(&c, (char *)p + sc_size[cls] - BUILD_CANARY_BYTES, sizeof(c));
        if (BALLOC_UNLIKELY(c != check_canary_of(p)))
            util_fatal_ptr("overflow past the end", p);
    }
    memset(p, CHECK_POISON, sz_usable(cls));
    check_key_set(p);
}
#else
static inline void check_on_alloc(void *p, unsigned cls) {
    (void)cls;
    check_key_clear(p);
}
static inline void check_on_free(void *p, unsigned cls) {
    (void)cls;
    check_key_set(p);
}
#endif

#endif
