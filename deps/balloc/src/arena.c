#include "arena.h"

#include <limits.h>
#include <string.h>

#include "base.h"
#include "util.h"

static struct arena *arenas[ARENA_MAX];
static unsigned narenas_total = 1;
static pthread_mutex_t arenas_lock = PTHREAD_MUTEX_INITIALIZER;

void arena_boot(unsigned narenas) {
    if (narenas < 1)
        narenas = 1;
    if (narenas > ARENA_MAX)
        narenas = ARENA_MAX;
    narenas_total = narenas;
}

unsigned arena_count(void) { return narenas_total; }

static struct arena *arena_create_locked(unsigned i) {
    struct arena *a = arenas[i];
    if (a == NULL) {
        a = base_alloc(sizeof(struct arena));
        if (a) {
            pthread_mutex_init(&a->lock, NULL);
            a->index = i;
            __atomic_store_n(&arenas[i], a, __ATOMIC_RELEASE);
        }
    }
    return a;
}

static BALLOC_COLD struct arena *arena_create(unsigned i) {
    pthread_mutex_lock(&arenas_lock);
    struct arena *a = arena_create_locked(i);
    pthread_mutex_unlock(&arenas_lock);
    return a;
}

struct arena *arena_get(unsigned i) {
    struct arena *a = __atomic_load_n(&arenas[i], __ATOMIC_ACQUIRE);
    return a ? a : arena_create(i);
}

/* Arenas not yet created count as having no threads; they come last among
 * equals only through their higher index, and arenas are created in index
 * order, so an existing idle arena is always preferred to a new one. */
struct arena *arena_choose(void) {
    pthread_mutex_lock(&arenas_lock);
    unsigned best = 0, best_n = UINT_MAX;
    for (unsigned i = 0; i < narenas_total && best_n != 0; i++) {
        unsigned n = arenas[i] ? arenas[i]->nthreads : 0;
        if (n < best_n) {
            best = i;
            best_n = n;
        }
    }
    struct arena *a = arena_create_locked(best);
    if (a == NULL)
        a = arenas[0];  /* no metadata for a new arena: share the first */
    if (a)
        a->nthreads++;
    pthread_mutex_unlock(&arenas_lock);
    return a;
}

void arena_unbind(struct arena *a) {
    pthread_mutex_lock(&arenas_lock);
    if (a->nthreads)
        a->nthreads--;
    pthread_mutex_unlock(&arenas_lock);
}

void arena_threads_reset_child(struct arena *self) {
    for (unsigned i = 0; i < narenas_total; i++)
        if (arenas[i])
            arenas[i]->nthreads = 0;
    if (self)
        self->nthreads = 1;
}

/* A run of npages for use (kind not yet set); maps a new chunk if needed. */
static struct run *arena_run_alloc_locked(struct arena *a, uint32_t npages) {
    struct run *r = extent_alloc(&a->eset, npages);
    if (r)
        return r;
    struct chunk *c = chunk_new(a);
    if (c == NULL)
        return NULL;
    if (extent_add_chunk(&a->eset, c)) {
        chunk_unregister((uintptr_t)c);
        pages_unmap(c, CHUNK_SIZE);
        return NULL;
    }
    c->next = a->chunks;
    a->chunks = c;
    a->nchunks++;
    return extent_alloc(&a->eset, npages);
}

static struct run *arena_slab_new_locked(struct arena *a, unsigned cls) {
    struct run *s = arena_run_alloc_locked(a, sc_slab_pages[cls]);
    if (s == NULL)
        return NULL;
    s->clean = 0;
    slab_init(s, cls);
    chunk_mark_run(s);
    a->npages_active += s->npages;
    return s;
}

static void arena_run_release_locked(struct arena *a, struct run *r) {
    a->npages_active -= r->npages;
    extent_free(&a->eset, r);
}

unsigned arena_fill_small(struct arena *a, unsigned cls, void **out, unsigned n) {
    struct bin *b = &a->bins[cls];
    unsigned got = 0;
    pthread_mutex_lock(&a->lock);
    while (got < n) {
        struct run *s = b->cur;
        if (s == NULL) {
            s = bin_heap_pop(b);
            if (s == NULL)
                s = arena_slab_new_locked(a, cls);
            if (s == NULL)
                break;
            b->cur = s;
        }
        got += slab_take(s, out + got, n - got);
        if (s->nfree == 0)
            b->cur = NULL;
    }
    a->allocated += (size_t)got * sc_size[cls];
    pthread_mutex_unlock(&a->lock);
    for (unsigned i = 0, j = got; i + 1 < j; i++, j--) {
        void *t = out[i];
        out[i] = out[j - 1];
        out[j - 1] = t;
    }
    return got;
}

void *arena_alloc_large(struct arena *a, unsigned cls, size_t align, bool *zeroed) {
    uint32_t npages = (uint32_t)(sc_size[cls] >> PAGE_LG);
    uint32_t extra = align > PAGE_SIZE_B ? (uint32_t)(align >> PAGE_LG) - 1 : 0;
    if ((size_t)npages + extra > CHUNK_USABLE_PAGES)
        return NULL;
    pthread_mutex_lock(&a->lock);
    struct run *r = arena_run_alloc_locked(a, npages + extra), *lead = NULL, *trail = NULL;
    if (r == NULL)
        goto out;
    if (extra) {
        uintptr_t mis = (uintptr_t)r->base & (align - 1);
        uint32_t nlead = mis ? (uint32_t)((align - mis) >> PAGE_LG) : 0;
        if (nlead) {
            struct run *rest = extent_split(r, nlead);
            if (rest == NULL) {
                extent_free(&a->eset, r);
                r = NULL;
                goto out;
            }
            lead = r;
            r = rest;
        }
        if (r->npages > npages) {
            trail = extent_split(r, npages);
            if (trail == NULL) {  /* keep the excess pages inside the run */
                npages = r->npages;
            }
        }
    }
    *zeroed = r->clean;
    r->clean = 0;
    r->kind = RUN_LARGE;
    r->cls = (uint8_t)cls;
    chunk_mark_run(r);
    if (lead)
        extent_free(&a->eset, lead);
    if (trail)
        extent_free(&a->eset, trail);
    a->npages_active += r->npages;
    a->allocated += sc_size[cls];
out:
    pthread_mutex_unlock(&a->lock);
    return r ? r->base : NULL;
}

void arena_free_locked(struct arena *a, void *p) {
    struct chunk *c = chunk_of((uintptr_t)p);
    struct run *r = chunk_run_of(c, (uintptr_t)p);
    if (r == NULL)
        util_fatal_ptr(chunk_misuse_of(c, (uintptr_t)p), p);
    if (r->kind == RUN_LARGE) {
        if (p != r->base)
            util_fatal_ptr("invalid free", p);
        a->allocated -= sc_size[r->cls];
        arena_run_release_locked(a, r);
        return;
    }
    int rc = slab_give(r, p);
    if (rc != SLAB_GIVE_OK)
        util_fatal_ptr(rc == SLAB_GIVE_DOUBLE ? "double free" : "invalid free", p);
    struct bin *b = &a->bins[r->cls];
    a->allocated -= sc_size[r->cls];
    if (r == b->cur) {
        if (r->nfree == r->nregs) {
            b->cur = NULL;
            arena_run_release_locked(a, r);
        }
        return;
    }
    if (r->nfree == r->nregs) {
        if (r->heap_idx != RUN_HEAP_NONE)
            bin_heap_remove(b, r);
        arena_run_release_locked(a, r);
    } else if (r->heap_idx == RUN_HEAP_NONE) {
        (void)bin_heap_insert(b, r);  /* on OOM the slab is found again on its next free */
    } else {
        bin_heap_update(b, r);
    }
}

void arena_free(void *p) {
    struct arena *a = arena_of_ptr(p);
    pthread_mutex_lock(&a->lock);
    arena_free_locked(a, p);
    pthread_mutex_unlock(&a->lock);
}

bool arena_resize_large(void *p, unsigned cls) {
    struct arena *a = arena_of_ptr(p);
    uint32_t npages = (uint32_t)(sc_size[cls] >> PAGE_LG);
    bool fail = true;
    pthread_mutex_lock(&a->lock);
    struct run *r = chunk_run_of(chunk_of((uintptr_t)p), (uintptr_t)p);
    if (r == NULL || r->kind != RUN_LARGE || r->base != p)
        goto out;
    uint32_t old = r->npages;
    size_t old_usable = sc_size[r->cls];
    if (npages < old) {
        struct run *t = extent_split(r, npages);
        if (t == NULL)
            goto out;
        r->cls = (uint8_t)cls;
        chunk_mark_run(r);
        extent_free(&a->eset, t);
    } else if (npages > old) {
        if (extent_grow(&a->eset, r, npages))
            goto out;
        r->cls = (uint8_t)cls;
        chunk_mark_run(r);
    } else {
        r->cls = (uint8_t)cls;
    }
    a->npages_active = a->npages_active - old + npages;
    a->allocated = a->allocated - old_usable + sc_size[cls];
    fail = false;
out:
    pthread_mutex_unlock(&a->lock);
    return fail;
}

void arena_purge_all(void) {
    for (unsigned i = 0; i < narenas_total; i++) {
        struct arena *a = __atomic_load_n(&arenas[i], __ATOMIC_ACQUIRE);
        if (a == NULL)
            continue;
        pthread_mutex_lock(&a->lock);
        extent_purge(&a->eset);
        pthread_mutex_unlock(&a->lock);
    }
}

void arena_stats_read(struct arena_stats *st) {
    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < narenas_total; i++) {
        struct arena *a = __atomic_load_n(&arenas[i], __ATOMIC_ACQUIRE);
        if (a == NULL)
            continue;
        pthread_mutex_lock(&a->lock);
        st->allocated += a->allocated;
        st->active += a->npages_active * PAGE_SIZE_B;
        st->dirty += a->eset.npages_dirty * PAGE_SIZE_B;
        st->retained += a->eset.npages_clean * PAGE_SIZE_B;
        st->mapped += a->nchunks * CHUNK_SIZE;
        st->metadata += a->nchunks * CHUNK_HDR_PAGES * PAGE_SIZE_B;
        for (unsigned c = 0; c < SC_NSMALL; c++) {
            struct bin *b = &a->bins[c];
            size_t nfree = b->cur ? b->cur->nfree : 0;
            for (uint32_t h = 0; h < b->nheap; h++)
                nfree += b->heap[h]->nfree;
            st->frag_smallbins += nfree * sc_size[c];
        }
        pthread_mutex_unlock(&a->lock);
    }
}

void arena_prefork(void) {
    pthread_mutex_lock(&arenas_lock);
    for (unsigned i = 0; i < narenas_total; i++)
        if (arenas[i])
            pthread_mutex_lock(&arenas[i]->lock);
}

void arena_postfork_parent(void) {
    for (unsigned i = 0; i < narenas_total; i++)
        if (arenas[i])
            pthread_mutex_unlock(&arenas[i]->lock);
    pthread_mutex_unlock(&arenas_lock);
}

void arena_postfork_child(void) {
    for (unsigned i = 0; i < narenas_total; i++)
        if (arenas[i])
            pthread_mutex_init(&arenas[i]->lock, NULL);
    pthread_mutex_init(&arenas_lock, NULL);
}
