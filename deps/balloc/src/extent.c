#include "extent.h"

#include "base.h"

struct run *run_new(void) {
    struct run *r = base_alloc(sizeof(struct run));
    if (r)
        r->heap_idx = RUN_HEAP_NONE;
    return r;
}

void run_delete(struct run *r) { base_free(r, sizeof(struct run)); }

static void eset_insert(struct eset *es, struct run *r) {
    uint32_t n = r->npages;
    r->kind = RUN_FREE;
    r->prev = NULL;
    r->next = es->bucket[n];
    if (r->next)
        r->next->prev = r;
    es->bucket[n] = r;
    bitmap_set(es->nonempty, n);
    if (r->clean)
        es->npages_clean += n;
    else
        es->npages_dirty += n;
}

static void eset_remove(struct eset *es, struct run *r) {
    uint32_t n = r->npages;
    if (r->prev)
        r->prev->next = r->next;
    else
        es->bucket[n] = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (es->bucket[n] == NULL)
        bitmap_clear(es->nonempty, n);
    if (r->clean)
        es->npages_clean -= n;
    else
        es->npages_dirty -= n;
}

static void extent_set_bounds(struct run *r) {
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned head = chunk_page_index(c, r->base);
    c->meta[head] = r;
    c->meta[head + r->npages - 1] = r;
}

bool extent_add_chunk(struct eset *es, struct chunk *c) {
    struct run *r = run_new();
    if (r == NULL)
        return true;
    r->base = (char *)c + CHUNK_HDR_PAGES * PAGE_SIZE_B;
    r->npages = (uint32_t)CHUNK_USABLE_PAGES;
    r->clean = 1;
    extent_set_bounds(r);
    eset_insert(es, r);
    return false;
}

struct run *extent_alloc(struct eset *es, uint32_t npages) {
    if (npages == 0 || npages > CHUNK_USABLE_PAGES)
        return NULL;
    int b = bitmap_find_set_from_bit(es->nonempty, BITMAP_WORDS(CHUNK_PAGES + 1), npages);
    if (b < 0)
        return NULL;
    struct run *r = es->bucket[b];
    if ((uint32_t)b > npages) {
        struct run *rest = run_new();
        if (rest == NULL)
            return NULL;
        eset_remove(es, r);
        rest->base = r->base + (size_t)npages * PAGE_SIZE_B;
        rest->npages = (uint32_t)b - npages;
        rest->clean = r->clean;
        r->npages = npages;
        extent_set_bounds(rest);
        eset_insert(es, rest);
    } else {
        eset_remove(es, r);
    }
    return r;
}

void extent_free(struct eset *es, struct run *r) {
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned head = chunk_page_index(c, r->base);
    unsigned end = head + r->npages;
    for (unsigned i = head; i < end; i++)
        c->pmap[i].cls = (uint8_t)PMAP_CLS_FREE;
    r->kind = RUN_FREE;
    r->heap_idx = RUN_HEAP_NONE;
    if (head > CHUNK_HDR_PAGES && c->pmap[head - 1].cls == PMAP_CLS_FREE) {
        struct run *prev = c->meta[head - 1];
        eset_remove(es, prev);
        prev->npages += r->npages;
        prev->clean = prev->clean && r->clean;
        run_delete(r);
        r = prev;
    }
    if (end < CHUNK_PAGES && c->pmap[end].cls == PMAP_CLS_FREE) {
        struct run *next = c->meta[end];
        eset_remove(es, next);
        r->npages += next->npages;
        r->clean = r->clean && next->clean;
        run_delete(next);
    }
    extent_set_bounds(r);
    eset_insert(es, r);
}

struct run *extent_split(struct run *r, uint32_t keep) {
    struct run *t = run_new();
    if (t == NULL)
        return NULL;
    t->base = r->base + (size_t)keep * PAGE_SIZE_B;
    t->npages = r->npages - keep;
    t->kind = r->kind;
    t->cls = r->cls;
    t->clean = r->clean;
    r->npages = keep;
    return t;
}

bool extent_grow(struct eset *es, struct run *r, uint32_t npages) {
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned end = chunk_page_index(c, r->base) + r->npages;
    if (npages <= r->npages)
        return npages != r->npages;
    uint32_t need = npages - r->npages;
    if (end >= CHUNK_PAGES || c->pmap[end].cls != PMAP_CLS_FREE)
        return true;
    struct run *next = c->meta[end];
    if (next->npages < need)
        return true;
    eset_remove(es, next);
    if (next->npages > need) {
        next->base += (size_t)need * PAGE_SIZE_B;
        next->npages -= need;
        extent_set_bounds(next);
        eset_insert(es, next);
    } else {
        run_delete(next);
    }
    r->npages = npages;
    return false;
}

size_t extent_purge(struct eset *es) {
    size_t purged = 0;
    for (unsigned n = 1; n <= CHUNK_PAGES; n++) {
        for (struct run *r = es->bucket[n]; r; r = r->next) {
            if (r->clean)
                continue;
            if (pages_purge(r->base, (size_t)n * PAGE_SIZE_B))
                continue;
            r->clean = 1;
            es->npages_dirty -= n;
            es->npages_clean += n;
            purged += n;
        }
    }
    return purged;
}
