#include "chunk.h"

uint8_t chunk_map[CHUNK_MAP_LEN];

_Static_assert(CHUNK_HDR_PAGES * PAGE_SIZE_B >= sizeof(struct chunk), "chunk header fits");
_Static_assert(CHUNK_PAGES <= 65536, "pgoff fits in 16 bits");

void chunk_register(uintptr_t chunk_base, unsigned kind) {
    __atomic_store_n(&chunk_map[chunk_base >> CHUNK_LG], (uint8_t)kind, __ATOMIC_RELEASE);
}

void chunk_unregister(uintptr_t chunk_base) {
    __atomic_store_n(&chunk_map[chunk_base >> CHUNK_LG], (uint8_t)CHUNK_KIND_NONE, __ATOMIC_RELEASE);
}

struct chunk *chunk_new(struct arena *owner) {
    struct chunk *c = pages_map_aligned(CHUNK_SIZE, CHUNK_SIZE);
    if (c == NULL)
        return NULL;
    char *guard_end = (char *)c + CHUNK_SIZE - PAGE_SIZE_B;
    if ((uintptr_t)c >> CHUNK_ADDR_BITS ||  /* outside what chunk_map covers */
        (BUILD_GUARD_PAGES && (pages_guard((char *)c + CHUNK_HDR_PAGES * PAGE_SIZE_B, PAGE_SIZE_B) ||
                               pages_guard(guard_end, PAGE_SIZE_B)))) {
        pages_unmap_or_leak(c, CHUNK_SIZE);
        return NULL;
    }
    for (unsigned i = 0; i < CHUNK_PAGES; i++) {
        bool usable = i >= CHUNK_FIRST_PAGE && i < CHUNK_FIRST_PAGE + CHUNK_USABLE_PAGES;
        c->pmap[i].cls = (uint8_t)(usable ? PMAP_CLS_FREE : PMAP_CLS_NONE);
        c->pmap[i].pgoff = 0;
    }
    c->arena = owner;
    chunk_register((uintptr_t)c, CHUNK_KIND_ARENA);
    return c;
}

void chunk_mark_run(struct run *r) {
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned head = chunk_page_index(c, r->base);
    for (unsigned i = 0; i < r->npages; i++) {
        c->pmap[head + i].cls = r->cls;
        c->pmap[head + i].sampled = 0;
        c->pmap[head + i].pgoff = (uint16_t)i;
    }
    c->meta[head] = r;
}

void chunk_mark_free(struct run *r) {
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned head = chunk_page_index(c, r->base);
    for (unsigned i = 0; i < r->npages; i++)
        c->pmap[head + i].cls = (uint8_t)PMAP_CLS_FREE;
    c->meta[head] = r;
    c->meta[head + r->npages - 1] = r;
}
