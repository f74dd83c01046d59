/* tests/fuzz/fuzz_zmalloc.c -- libFuzzer target: the input is a program of
 * zmalloc calls run against a shadow model. Every block is filled with a
 * byte of its own; contents are checked whenever a block is resized or
 * freed, usable sizes against the request, and the counter against the sum
 * of zmalloc_size() after every step. Any mismatch aborts. Built once per
 * backend (make fuzz). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_sizes.h"

#include "zmalloc.h"

#define SLOTS 64

struct slot {
    unsigned char *p;
    size_t size; /* bytes the model knows the content of */
    unsigned char fill;
};

static struct slot slots[SLOTS];
static size_t held; /* sum of zmalloc_size over live slots */

static void fail(const char *what, size_t a, size_t b) {
    fprintf(stderr, "fuzz_zmalloc: %s (%zu vs %zu)\n", what, a, b);
    abort();
}

FUZZ_NOCOV static void check_content(const struct slot *s) {
    if (!all_bytes(s->p, s->size, s->fill)) fail("content changed", 0, s->size);
}

static void take(struct slot *s, unsigned char *p, size_t size, unsigned char fill, int zeroed) {
    if (zmalloc_usable_size(p) < size) fail("usable size below the request", zmalloc_usable_size(p), size);
    if (zeroed && !all_bytes(p, size, 0)) fail("calloc memory not zero", 0, size);
    memset(p, fill, size);
    s->p = p;
    s->size = size;
    s->fill = fill;
    held += zmalloc_size(p);
}

static void drop(struct slot *s) {
    check_content(s);
    held -= zmalloc_size(s->p);
    s->p = NULL;
    s->size = 0;
}

static void release(struct slot *s) {
    unsigned char *p = s->p;
    if (p == NULL) return;
    drop(s);
    zfree(p);
}


static size_t base = (size_t)-1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    if (base == (size_t)-1) base = zmalloc_used_memory();
    held = 0;
    struct fuzz_op o;
    while (fuzz_next_op(&data, &len, &o)) {
        uint8_t op = o.op;
        struct slot *s = &slots[o.slot % SLOTS];
        size_t size = o.size;
        unsigned char fill = o.fill;
        size_t u = 0;
        switch (op % 9) {
        case 0: /* malloc, or its usable form */
        case 1:
            release(s);
            if (op & 16) take(s, zmalloc_usable(size, &u), size, fill, 0);
            else take(s, zmalloc(size), size, fill, 0);
            if ((op & 16) && u != zmalloc_usable_size(s->p)) fail("usable form", u, zmalloc_usable_size(s->p));
            break;
        case 2: /* calloc */
            release(s);
            take(s, (op & 16) ? zcalloc_num(size ? 1 : 0, size) : zcalloc(size), size, fill, 1);
            break;
        case 3: { /* realloc keeps the common prefix */
            unsigned char *old = s->p;
            size_t keep = s->size < size ? s->size : size;
            if (old) check_content(s), held -= zmalloc_size(old);
            unsigned char *np = zrealloc(old, size);
            if (size == 0 && old) {
                if (np) fail("realloc to 0 returned a block", 0, 0);
                s->p = NULL;
                s->size = 0;
                break;
            }
            if (!all_bytes(np, keep, s->fill)) fail("realloc lost content", 0, keep);
            s->size = 0;
            take(s, np, size, s->fill, 0);
            break;
        }
        case 4: /* free, three ways */
            if (!s->p) break;
            {
                unsigned char *p = s->p;
                size_t sz = zmalloc_size(p), us = zmalloc_usable_size(p);
                drop(s);
                if (op & 16) {
                    zfree_with_size(p, sz);
                } else if (op & 32) {
                    zfree_usable(p, &u);
                    if (u != us) fail("zfree_usable", u, us);
                } else {
                    zfree(p);
                }
            }
            break;
        case 5: /* failing requests count nothing and keep blocks */
            if (ztrymalloc((size_t)-1 - size) != NULL) fail("huge try succeeded", size, 0);
            if (s->p && ztryrealloc(s->p, (size_t)-1 - size) != NULL) fail("huge realloc succeeded", size, 0);
            break;
        case 6: /* strdup */
            release(s);
            {
                char buf[64];
                size_t n = size % sizeof(buf);
                memset(buf, fill ? fill : 1, n);
                buf[n] = '\0';
                char *d = zstrdup(buf);
                if (strcmp(d, buf) != 0) fail("strdup", n, 0);
                take(s, (unsigned char *)d, n, fill, 0);
            }
            break;
        default: /* reallocs that move between size classes, up to 32 MiB */
            if (!s->p || s->size > ((size_t)16 << 20)) break;
            {
                size_t want = s->size * 2 + 1, keep = s->size;
                check_content(s);
                held -= zmalloc_size(s->p);
                unsigned char *np = zrealloc_usable(s->p, want, &u);
                if (!all_bytes(np, keep, s->fill)) fail("growth lost content", 0, keep);
                s->size = 0;
                take(s, np, want, s->fill, 0);
            }
        }
        if (zmalloc_used_memory() != base + held) fail("counter drifted", zmalloc_used_memory(), base + held);
    }
    for (int i = 0; i < SLOTS; i++) release(&slots[i]);
    if (zmalloc_used_memory() != base) fail("counter not back", zmalloc_used_memory(), base);
    return 0;
}
