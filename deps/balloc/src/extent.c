#include "extent.h"

#include <errno.h>

#include "run.h"

/* Insert r as the newest run of its state (no merging). */
static void eset_insert(struct eset *es, struct run *r) {
    uint32_t n = r->npages;
    unsigned s = r->state;
    r->kind = RUN_FREE;
    r->prev = NULL;
    r->next = es->bucket[s][n];
    if (r->next)
        r->next->prev = r;
    es->bucket[s][n] = r;
    bitmap_set(es->nonempty[s], n);
    r->lru_next = NULL;
    r->lru_prev = es->lru_tail[s];
    if (r->lru_prev)
        r->lru_prev->lru_next = r;
    else
        es->lru_head[s] = r;
    es->lru_tail[s] = r;
    es->npages[s] += n;
}

static void eset_remove(struct eset *es, struct run *r) {
    uint32_t n = r->npages;
    unsigned s = r->state;
    if (r->prev)
        r->prev->next = r->next;
    else
        es->bucket[s][n] = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (es->bucket[s][n] == NULL)
        bitmap_clear(es->nonempty[s], n);
    if (r->lru_prev)
        r->lru_prev->lru_next = r->lru_next;
    else
        es->lru_head[s] = r->lru_next;
    if (r->lru_next)
        r->lru_next->lru_prev = r->lru_prev;
    else
        es->lru_tail[s] = r->lru_prev;
    es->npages[s] -= n;
}

static void extent_set_bounds(struct run *r) {
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned head = chunk_page_index(c, r->base);
    c->meta[head] = r;
    c->meta[head + r->npages - 1] = r;
}

/* r's pages (already marked free in the page map, not in the set) enter
 * state s, merging with touching free runs of the same state. */
static void extent_put(struct eset *es, struct run *r, unsigned s) {
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned head = chunk_page_index(c, r->base);
    unsigned end = head + r->npages;
    r->kind = RUN_FREE;
    r->state = (uint8_t)s;
    r->heap_idx = RUN_HEAP_NONE;
    if (head > CHUNK_HDR_PAGES && c->pmap[head - 1].cls == PMAP_CLS_FREE &&
        c->meta[head - 1]->state == s) {
        struct run *prev = c->meta[head - 1];
        eset_remove(es, prev);
        prev->npages += r->npages;
        run_delete(r);
        r = prev;
    }
    if (end < CHUNK_PAGES && c->pmap[end].cls == PMAP_CLS_FREE && c->meta[end]->state == s) {
        struct run *next = c->meta[end];
        eset_remove(es, next);
        r->npages += next->npages;
        run_delete(next);
    }
    extent_set_bounds(r);
    eset_insert(es, r);
}

bool extent_add_chunk(struct eset *es, struct chunk *c) {
    struct run *r = run_new();
    if (r == NULL)
        return true;
    r->base = (char *)c + CHUNK_FIRST_PAGE * PAGE_SIZE_B;
    r->npages = (uint32_t)CHUNK_USABLE_PAGES;
    r->state = RUN_RETAINED;
    extent_set_bounds(r);
    eset_insert(es, r);
    return false;
}

struct run *extent_alloc(struct eset *es, uint32_t npages) {
    if (npages == 0 || npages > CHUNK_USABLE_PAGES)
        return NULL;
    for (unsigned s = 0; s < RUN_NSTATES; s++) {
        int b = bitmap_find_set_from_bit(es->nonempty[s], BITMAP_WORDS(CHUNK_PAGES + 1), npages);
        if (b < 0)
            continue;
        struct run *r = es->bucket[s][b];
        if ((uint32_t)b > npages) {
            struct run *rest = run_new();
            if (rest == NULL)
                return NULL;
            eset_remove(es, r);
            rest->base = r->base + (size_t)npages * PAGE_SIZE_B;
            rest->npages = (uint32_t)b - npages;
            rest->state = r->state;
            r->npages = npages;
            extent_set_bounds(rest);
            eset_insert(es, rest);
        } else {
            eset_remove(es, r);
        }
        return r;
    }
    return NULL;
}

bool extent_fits(const struct eset *es, uint32_t npages) {
    for (unsigned s = 0; s < RUN_NSTATES; s++)
        if (bitmap_find_set_from_bit(es->nonempty[s], BITMAP_WORDS(CHUNK_PAGES + 1), npages) >= 0)
            return true;
    return false;
}

void extent_unalloc(struct eset *es, struct run *r) { extent_put(es, r, r->state); }

void extent_return(struct eset *es, struct run *r) {
    chunk_mark_free(r);
    extent_put(es, r, r->state);
}

void extent_free(struct eset *es, struct run *r) {
    chunk_mark_free(r);
    extent_put(es, r, RUN_DIRTY);
}

struct run *extent_split(struct run *r, uint32_t keep) {
    struct run *t = run_new();
    if (t == NULL)
        return NULL;
    t->base = r->base + (size_t)keep * PAGE_SIZE_B;
    t->npages = r->npages - keep;
    t->kind = r->kind;
    t->cls = r->cls;
    t->state = r->state;
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

/* MADV_FREE is refused (EINVAL) by kernels before 4.5: remember and use
 * DONTNEED. Any other failure is transient and changes nothing for good. */
static int extent_lazy_broken;

size_t extent_decay(struct eset *es, unsigned from, unsigned to, size_t want) {
    size_t moved = 0;
    while (moved < want && es->lru_head[from]) {
        struct run *r = es->lru_head[from];
        size_t bytes = (size_t)r->npages * PAGE_SIZE_B;
        if (to == RUN_MUZZY && !__atomic_load_n(&extent_lazy_broken, __ATOMIC_RELAXED) &&
            pages_purge_lazy(r->base, bytes)) {
            if (errno != EINVAL)
                break;  /* keep the pages dirty; a later decay tries again */
            __atomic_store_n(&extent_lazy_broken, 1, __ATOMIC_RELAXED);
        }
        unsigned dest = to;
        if (to == RUN_MUZZY && __atomic_load_n(&extent_lazy_broken, __ATOMIC_RELAXED))
            dest = RUN_RETAINED;
        if (dest == RUN_RETAINED && pages_purge(r->base, bytes))
            break;  /* the kernel refused: keep the pages where they are */
        eset_remove(es, r);
        moved += r->npages;
        extent_put(es, r, dest);
    }
    return moved;
}

size_t extent_purge(struct eset *es) {
    return extent_decay(es, RUN_DIRTY, RUN_RETAINED, SIZE_MAX) +
           extent_decay(es, RUN_MUZZY, RUN_RETAINED, SIZE_MAX);
}
