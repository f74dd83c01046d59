#include "huge.h"

#include "chunk.h"

static size_t huge_allocated_bytes, huge_mapped_bytes, huge_count;

static void huge_account(long sign, size_t usable, size_t mapped) {
    if (sign > 0) {
        __atomic_fetch_add(&huge_allocated_bytes, usable, __ATOMIC_RELAXED);
        __atomic_fetch_add(&huge_mapped_bytes, mapped, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_sub(&huge_allocated_bytes, usable, __ATOMIC_RELAXED);
        __atomic_fetch_sub(&huge_mapped_bytes, mapped, __ATOMIC_RELAXED);
    }
}

void *huge_alloc(size_t size, size_t align) {
    size_t usable = (size + PAGE_MASK_B) & ~PAGE_MASK_B;
    size_t a = align < PAGE_SIZE_B ? PAGE_SIZE_B : align;
    if (usable < size || a + usable < usable)
        return NULL;
    char *map, *user;
    struct huge_hdr *h;
    unsigned kind;
    size_t map_size;
    if (a < CHUNK_SIZE) {
        map_size = a + usable;
        map = pages_map_aligned(map_size, CHUNK_SIZE);
        if (map == NULL)
            return NULL;
        user = map + a;
        h = (struct huge_hdr *)map;
        kind = CHUNK_KIND_HUGE;
    } else {
        char *raw = pages_map_aligned(a + usable, a);
        if (raw == NULL)
            return NULL;
        user = raw + a;
        map = user - PAGE_SIZE_B;
        pages_unmap(raw, (size_t)(map - raw));
        map_size = PAGE_SIZE_B + usable;
        h = (struct huge_hdr *)map;
        kind = CHUNK_KIND_HUGE_PREV;
    }
    if (((uintptr_t)user + usable) >> CHUNK_ADDR_BITS) {
        pages_unmap(map, map_size);
        return NULL;
    }
    h->magic = HUGE_MAGIC;
    h->user = user;
    h->map = map;
    h->map_size = map_size;
    h->usable = usable;
    huge_account(1, usable, map_size);
    __atomic_fetch_add(&huge_count, 1, __ATOMIC_RELAXED);
    chunk_register((uintptr_t)chunk_of((uintptr_t)user), kind);
    return user;
}

struct huge_hdr *huge_hdr_of(const void *p) {
    uintptr_t a = (uintptr_t)p;
    unsigned kind = chunk_kind_of(a);
    struct huge_hdr *h;
    if (kind == CHUNK_KIND_HUGE)
        h = (struct huge_hdr *)chunk_of(a);
    else if (kind == CHUNK_KIND_HUGE_PREV)
        h = (struct huge_hdr *)((char *)chunk_of(a) - PAGE_SIZE_B);
    else
        return NULL;
    if (h->magic != HUGE_MAGIC || h->user != (const char *)p)
        return NULL;
    return h;
}

void huge_free(struct huge_hdr *h) {
    char *map = h->map;
    size_t map_size = h->map_size;
    huge_account(-1, h->usable, map_size);
    __atomic_fetch_sub(&huge_count, 1, __ATOMIC_RELAXED);
    h->magic = 0;
    chunk_unregister((uintptr_t)chunk_of((uintptr_t)h->user));
    pages_unmap(map, map_size);
}

bool huge_resize(struct huge_hdr *h, size_t size) {
    size_t usable = (size + PAGE_MASK_B) & ~PAGE_MASK_B;
    if (usable < size)
        return true;
    if (usable == h->usable)
        return false;
    size_t head = (size_t)(h->user - h->map);
    size_t new_map = head + usable;
    if (pages_resize_inplace(h->map, h->map_size, new_map))
        return true;
    huge_account(-1, h->usable, h->map_size);
    huge_account(1, usable, new_map);
    h->usable = usable;
    h->map_size = new_map;
    return false;
}

void huge_stats(size_t *allocated, size_t *mapped, size_t *metadata) {
    *allocated = __atomic_load_n(&huge_allocated_bytes, __ATOMIC_RELAXED);
    *mapped = __atomic_load_n(&huge_mapped_bytes, __ATOMIC_RELAXED);
    *metadata = __atomic_load_n(&huge_count, __ATOMIC_RELAXED) * PAGE_SIZE_B;
}
