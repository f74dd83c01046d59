#include "slab.h"

#include <string.h>

#include "base.h"
#include "bitmap.h"
#include "sc.h"
#include "util.h"

int slab_policy = SLAB_POLICY_FULLEST;

void slab_init(struct run *s, unsigned cls) {
    s->kind = RUN_SLAB;
    s->cls = (uint8_t)cls;
    s->nregs = sc_slab_nregs[cls];
    s->nfree = s->nregs;
    s->heap_idx = RUN_HEAP_NONE;
    bitmap_init_set(s->bitmap, RUN_BITMAP_WORDS, s->nregs);
}

unsigned slab_take(struct run *s, void **out, unsigned n) {
    unsigned got = 0, size = sc_size[s->cls];
    for (unsigned w = 0; w < RUN_BITMAP_WORDS && got < n; w++) {
        uint64_t m = s->bitmap[w];
        while (m && got < n) {
            unsigned b = (unsigned)__builtin_ctzll(m);
            m &= m - 1;
            out[got++] = s->base + (size_t)(w * 64u + b) * size;
        }
        s->bitmap[w] = m;
    }
    s->nfree = (uint16_t)(s->nfree - got);
    return got;
}

unsigned slab_take_random(struct run *s, void **out, unsigned n, uint64_t *rng) {
    unsigned got = 0, size = sc_size[s->cls];
    while (got < n && s->nfree) {
        /* The first free region at or after a random index, wrapping. */
        unsigned start = (unsigned)(util_xorshift64(rng) % s->nregs);
        unsigned w = start / 64, b = start % 64;
        uint64_t m = s->bitmap[w] & (~0ull << b);
        while (m == 0) {
            w = (w + 1) % RUN_BITMAP_WORDS;
            m = s->bitmap[w];
        }
        unsigned idx = w * 64u + (unsigned)__builtin_ctzll(m);
        s->bitmap[w] &= ~(1ull << (idx % 64));
        s->nfree--;
        out[got++] = s->base + (size_t)idx * size;
    }
    return got;
}

int slab_region_index(const struct run *s, const void *p) {
    uint64_t off = (uint64_t)((const char *)p - s->base);
    if (off * sc_div_magic[s->cls] > sc_div_magic[s->cls] - 1)
        return -1;
    unsigned idx = (unsigned)((off * sc_recip[s->cls]) >> 32);
    return idx < s->nregs ? (int)idx : -1;
}

bool slab_region_free(const struct run *s, const void *p) {
    int idx = slab_region_index(s, p);
    return idx >= 0 && bitmap_get(s->bitmap, (unsigned)idx);
}

int slab_give(struct run *s, void *p) {
    int idx = slab_region_index(s, p);
    if (idx < 0)
        return SLAB_GIVE_INVALID;
    if (bitmap_get(s->bitmap, (unsigned)idx))
        return SLAB_GIVE_DOUBLE;
    bitmap_set(s->bitmap, (unsigned)idx);
    s->nfree++;
    return SLAB_GIVE_OK;
}

static bool slab_before(const struct run *a, const struct run *b) {
    if (slab_policy == SLAB_POLICY_FULLEST && a->nfree != b->nfree)
        return a->nfree < b->nfree;
    return (uintptr_t)a->base < (uintptr_t)b->base;
}

static void heap_place(struct bin *b, uint32_t i, struct run *s) {
    b->heap[i] = s;
    s->heap_idx = i;
}

static void heap_sift_up(struct bin *b, uint32_t i) {
    struct run *s = b->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!slab_before(s, b->heap[parent]))
            break;
        heap_place(b, i, b->heap[parent]);
        i = parent;
    }
    heap_place(b, i, s);
}

static void heap_sift_down(struct bin *b, uint32_t i) {
    struct run *s = b->heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1, best = i;
        struct run *bs = s;
        if (l < b->nheap && slab_before(b->heap[l], bs)) {
            best = l;
            bs = b->heap[l];
        }
        if (l + 1 < b->nheap && slab_before(b->heap[l + 1], bs)) {
            best = l + 1;
            bs = b->heap[l + 1];
        }
        if (best == i)
            break;
        heap_place(b, i, bs);
        i = best;
    }
    heap_place(b, i, s);
}

bool bin_heap_insert(struct bin *b, struct run *s) {
    if (b->nheap == b->capheap) {
        uint32_t ncap = b->capheap ? b->capheap * 2 : 16;
        struct run **nh = base_alloc(ncap * sizeof(*nh));
        if (nh == NULL)
            return true;
        if (b->heap) {
            memcpy(nh, b->heap, b->nheap * sizeof(*nh));
            base_free(b->heap, b->capheap * sizeof(*nh));
        }
        b->heap = nh;
        b->capheap = ncap;
    }
    b->heap_used += (size_t)(s->nregs - s->nfree);
    heap_place(b, b->nheap++, s);
    heap_sift_up(b, b->nheap - 1);
    return false;
}

void bin_heap_remove(struct bin *b, struct run *s) {
    uint32_t i = s->heap_idx;
    s->heap_idx = RUN_HEAP_NONE;
    b->heap_used -= (size_t)(s->nregs - s->nfree);
    struct run *last = b->heap[--b->nheap];
    if (i == b->nheap)
        return;
    heap_place(b, i, last);
    heap_sift_up(b, i);
    heap_sift_down(b, last->heap_idx);
}

void bin_heap_update(struct bin *b, struct run *s) {
    heap_sift_down(b, s->heap_idx);
}

struct run *bin_heap_pop(struct bin *b) {
    if (b->nheap == 0)
        return NULL;
    struct run *s = b->heap[0];
    bin_heap_remove(b, s);
    return s;
}

void bin_heap_release(struct bin *b) {
    if (b->heap)
        base_free(b->heap, b->capheap * sizeof(*b->heap));
    b->heap = NULL;
    b->nheap = b->capheap = 0;
    b->heap_used = 0;
}
