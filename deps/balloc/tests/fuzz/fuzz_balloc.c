/* tests/fuzz/fuzz_balloc.c -- libFuzzer target for balloc itself: the input
 * is a program of malloc/calloc/realloc/free/sized-free/aligned/resize calls
 * run against a shadow model. Contents, usable sizes (== balloc_good_size
 * for unaligned blocks), alignments and balloc's own allocated figure are
 * checked; any mismatch aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_sizes.h"

#include "balloc.h"

#define SLOTS 64

struct slot {
    unsigned char *p;
    size_t size;
    size_t align; /* 0: from malloc/calloc/realloc */
    unsigned char fill;
};

static struct slot slots[SLOTS];
static size_t held; /* sum of usable sizes of live slots */

static void fail(const char *what, size_t a, size_t b) {
    fprintf(stderr, "fuzz_balloc: %s (%zu vs %zu)\n", what, a, b);
    abort();
}

FUZZ_NOCOV static void check_content(const struct slot *s) {
    if (!all_bytes(s->p, s->size, s->fill)) fail("content changed", 0, s->size);
}

static void take(struct slot *s, unsigned char *p, size_t size, size_t align, unsigned char fill,
                 int zeroed) {
    if (p == NULL) fail("allocation failed", size, align);
    size_t u = balloc_usable_size(p);
    if (u < size) fail("usable size below the request", u, size);
    if (!align && u != balloc_good_size(size)) fail("usable size is not good_size", u, balloc_good_size(size));
    if (align && ((uintptr_t)p & (align - 1))) fail("misaligned", (uintptr_t)p, align);
    if (zeroed && !all_bytes(p, size, 0)) fail("calloc memory not zero", 0, size);
    memset(p, fill, size);
    *s = (struct slot){p, size, align, fill};
    held += u;
}

static void release(struct slot *s, int how) {
    if (s->p == NULL) return;
    check_content(s);
    size_t u = balloc_usable_size(s->p);
    held -= u;
    if (how == 1 && !s->align) {
        balloc_free_sized(s->p, u); /* the request may have changed by a resize */
    } else if (how == 2) {
        if (balloc_free_usable(s->p) != u) fail("free_usable", u, 0);
    } else {
        balloc_free(s->p);
    }
    *s = (struct slot){NULL, 0, 0, 0};
}


static size_t allocated_now(void) {
    struct balloc_stats st;
    balloc_thread_flush(); /* cached blocks are free: make the figure exact */
    if (balloc_get_stats(&st) != 0) fail("stats", 0, 0);
    return st.allocated;
}

static size_t base = (size_t)-1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    if (base == (size_t)-1) base = allocated_now();
    held = 0;
    struct fuzz_op o;
    while (fuzz_next_op(&data, &len, &o)) {
        uint8_t op = o.op;
        struct slot *s = &slots[o.slot % SLOTS];
        size_t size = o.size;
        unsigned char fill = o.fill;
        size_t u = 0;
        switch (op % 8) {
        case 0:
            release(s, op >> 6);
            if (op & 8) {
                unsigned char *p = balloc_malloc_usable(size, &u);
                take(s, p, size, 0, fill, 0);
                if (u != balloc_usable_size(p)) fail("malloc_usable", u, balloc_usable_size(p));
            } else {
                take(s, balloc_malloc(size), size, 0, fill, 0);
            }
            break;
        case 1:
            release(s, op >> 6);
            take(s, balloc_calloc(1, size), size, 0, fill, 1);
            break;
        case 2: { /* realloc keeps the common prefix */
            if (s->align) { release(s, 0); break; }
            size_t keep = s->size < size ? s->size : size;
            if (s->p) check_content(s), held -= balloc_usable_size(s->p);
            unsigned char *np = balloc_realloc(s->p, size);
            if (size == 0 && s->p) {
                if (np) fail("realloc to 0 returned a block", 0, 0);
                *s = (struct slot){NULL, 0, 0, 0};
                break;
            }
            if (!all_bytes(np, keep, s->fill)) fail("realloc lost content", 0, keep);
            take(s, np, size, 0, s->fill, 0);
            break;
        }
        case 3:
            release(s, op >> 6);
            break;
        case 4: { /* aligned, any power of two up to 1 MiB */
            release(s, 0);
            size_t align = (size_t)1 << (data[-2] % 21);
            if (op & 8) {
                void *p = NULL;
                size_t a = align < sizeof(void *) ? sizeof(void *) : align;
                if (balloc_posix_memalign(&p, a, size) != 0) fail("posix_memalign", a, size);
                take(s, p, size, a, fill, 0);
            } else {
                take(s, balloc_aligned_alloc(align, size), size, align, fill, 0);
            }
            break;
        }
        case 5: { /* resize in place never moves and keeps content */
            if (!s->p) break;
            check_content(s);
            size_t before = balloc_usable_size(s->p);
            size_t after = balloc_resize_in_place(s->p, size);
            if (after != balloc_usable_size(s->p)) fail("resize result", after, balloc_usable_size(s->p));
            held += after - before;
            if (after < s->size) s->size = after < size ? after : size;
            check_content(s);
            if (size <= after) {
                memset(s->p, s->fill, size);
                s->size = size;
            }
            break;
        }
        case 6: /* impossible requests fail cleanly */
            if (balloc_malloc((size_t)-1 - size) != NULL) fail("huge malloc succeeded", size, 0);
            if (balloc_calloc((size_t)1 << 40, (size_t)1 << 40) != NULL) fail("calloc overflow", 0, 0);
            break;
        default:
            balloc_thread_flush();
        }
    }
    for (int i = 0; i < SLOTS; i++) release(&slots[i], 0);
    size_t now = allocated_now();
    if (now != base) fail("allocated not back", now, base);
    return 0;
}
