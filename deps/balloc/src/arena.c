#include "arena.h"

#include <limits.h>
#include <string.h>

#include "base.h"
#include "build.h"
#include "sz.h"
#include "util.h"

static struct arena *arenas[ARENA_MAX];
static unsigned narenas_total = 1;
static pthread_mutex_t arenas_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t arena_decay_ms[2] = {10000, 0};

void arena_decay_boot(int64_t dirty_ms, int64_t muzzy_ms) {
    arena_decay_ms[0] = dirty_ms;
    arena_decay_ms[1] = muzzy_ms;
}

void arena_boot(unsigned narenas) {
    if (narenas < 1)
        narenas = 1;
    if (narenas > ARENA_MAX)
        narenas = ARENA_MAX;
    narenas_total = narenas;
}

unsigned arena_count(void) { return narenas_total; }

/* The hardened build's region order: a fresh seed per arena (and per fork
 * child), never 0 (xorshift would stay there). */
static void arena_seed_rng(struct arena *a) {
    if (!BALLOC_SECURE)
        return;
    (void)pages_entropy(&a->rng, sizeof(a->rng));
    a->rng |= 1;
}

static struct arena *arena_create_locked(unsigned i) {
    struct arena *a = arenas[i];
    if (a == NULL) {
        a = base_alloc(sizeof(struct arena));
        if (a) {
            pthread_mutex_init(&a->lock, NULL);
            a->index = i;
            uint64_t now = pages_clock_ns();
            /* The seed differs per arena, so their epochs end at different times. */
            for (unsigned k = 0; k < 2; k++)
                decay_init(&a->decay[k], arena_decay_ms[k], now, (uint64_t)i * 2 + k + 1);
            arena_seed_rng(a);
            __atomic_store_n(&arenas[i], a, __ATOMIC_RELEASE);
        }
    }
    return a;
}

static BALLOC_COLD struct arena *arena_create(unsigned i) {
    lockrank_lock(&arenas_lock, LOCKRANK_ARENA_LIST);
    struct arena *a = arena_create_locked(i);
    lockrank_unlock(&arenas_lock, LOCKRANK_ARENA_LIST);
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
    lockrank_lock(&arenas_lock, LOCKRANK_ARENA_LIST);
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
    lockrank_unlock(&arenas_lock, LOCKRANK_ARENA_LIST);
    return a;
}

void arena_unbind(struct arena *a) {
    lockrank_lock(&arenas_lock, LOCKRANK_ARENA_LIST);
    if (a->nthreads)
        a->nthreads--;
    lockrank_unlock(&arenas_lock, LOCKRANK_ARENA_LIST);
}

void arena_threads_reset_child(struct arena *self) {
    for (unsigned i = 0; i < narenas_total; i++)
        if (arenas[i])
            arenas[i]->nthreads = 0;
    if (self)
        self->nthreads = 1;
}

static size_t arena_remote_bytes(size_t n) {
    return sizeof(struct arena_remote) + n * sizeof(void *);
}

/* Give every waiting batch back to its slabs (caller holds a->lock). One
 * relaxed load when there is none. A slab they empty is released here, as
 * any free would. */
static void arena_remote_drain_locked(struct arena *a) {
    if (__atomic_load_n(&a->remote_bytes, __ATOMIC_RELAXED) == 0)
        return;
    for (unsigned cls = 0; cls < SC_NSMALL; cls++) {
        if (__atomic_load_n(&a->remote[cls], __ATOMIC_RELAXED) == NULL)
            continue;
        struct arena_remote *r = __atomic_exchange_n(&a->remote[cls], NULL, __ATOMIC_ACQUIRE);
        size_t n = 0;
        while (r) {
            struct arena_remote *next = r->next;
            for (size_t i = 0; i < r->n; i++)
                arena_free_locked(a, r->items[i]);
            n += r->n;
            base_free(r, arena_remote_bytes(r->n));
            r = next;
        }
        __atomic_sub_fetch(&a->remote_bytes, n * sz_usable(cls), __ATOMIC_RELAXED);
    }
}

/* Take a's lock with its remote frees given back, so that what is read or
 * chosen under it (figures, slabs, the misuse check) is current. */
static void arena_lock_current(struct arena *a) {
    arena_lock(a);
    arena_remote_drain_locked(a);
}

/* The newest batch of class cls if it holds at most n blocks, taken off its
 * stack; else NULL (caller holds a->lock, so no other thread pops). Without
 * the free key, batches go through their slabs, whose bitmaps are then the
 * only double-free check. */
static struct arena_remote *arena_remote_pop_locked(struct arena *a, unsigned cls, unsigned n) {
    if (!BALLOC_FREE_KEY)
        return NULL;
    struct arena_remote *r = __atomic_load_n(&a->remote[cls], __ATOMIC_ACQUIRE);
    while (r && r->n <= n &&
           !__atomic_compare_exchange_n(&a->remote[cls], &r, r->next, true, __ATOMIC_ACQUIRE,
                                        __ATOMIC_ACQUIRE))
        ;
    if (r == NULL || r->n > n)
        return NULL;
    __atomic_sub_fetch(&a->remote_bytes, r->n * sz_usable(cls), __ATOMIC_RELAXED);
    return r;
}

bool arena_free_remote(struct arena *a, unsigned cls, void *const *items, uint32_t n) {
    struct arena_remote *r = base_alloc(arena_remote_bytes(n));
    if (r == NULL)
        return true;
    r->n = n;
    memcpy(r->items, items, n * sizeof(void *));
    /* Counted before the push, so a pop never takes off more than was added. */
    size_t pending = __atomic_add_fetch(&a->remote_bytes, n * sz_usable(cls), __ATOMIC_RELAXED);
    struct arena_remote *head = __atomic_load_n(&a->remote[cls], __ATOMIC_RELAXED);
    do
        r->next = head;
    while (!__atomic_compare_exchange_n(&a->remote[cls], &head, r, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
    if (pending >= ARENA_REMOTE_MAX_BYTES) {
        arena_lock_current(a);
        arena_unlock(a);
    }
    return false;
}

void arena_free_batch(struct arena *a, void *const *items, uint32_t n) {
    arena_lock(a);
    for (uint32_t i = 0; i < n; i++)
        arena_free_locked(a, items[i]);
    arena_unlock(a);
}

/* A run of npages for use (kind not yet set); maps a new chunk if needed. */
static struct run *arena_run_alloc_locked(struct arena *a, uint32_t npages) {
    struct run *r = extent_alloc(&a->eset, npages);
    /* A fit that could not be split lacked metadata: a new chunk would stay
     * mapped for good and not help. */
    if (r || extent_fits(&a->eset, npages))
        return r;
    struct chunk *c = chunk_new(a);
    if (c == NULL)
        return NULL;
    if (extent_add_chunk(&a->eset, c)) {
        chunk_unregister((uintptr_t)c);
        pages_unmap_or_leak(c, CHUNK_SIZE);
        return NULL;
    }
    c->next = a->chunks;
    a->chunks = c;
    a->nchunks++;
    return extent_alloc(&a->eset, npages);
}

/* Mark an in-use large run's pages. Pages past its block (the hardened
 * build's guard, or pages a failed split left) are marked PMAP_CLS_NONE, so
 * a pointer into them is an invalid free rather than a block of the class. */
static void arena_mark_large(struct run *r) {
    chunk_mark_run(r);
    struct chunk *c = chunk_of((uintptr_t)r->base);
    unsigned head = chunk_page_index(c, r->base);
    for (uint32_t i = (uint32_t)(sc_size[r->cls] >> PAGE_LG); i < r->npages; i++)
        c->pmap[head + i].cls = (uint8_t)PMAP_CLS_NONE;
}

static struct run *arena_slab_new_locked(struct arena *a, unsigned cls) {
    struct run *s = arena_run_alloc_locked(a, sc_slab_pages[cls]);
    if (s == NULL)
        return NULL;
    s->state = RUN_DIRTY;
    slab_init(s, cls);
    chunk_mark_run(s);
    a->npages_active += s->npages;
    a->bins[cls].curslabs++;
    return s;
}

/* Purge what the decay curves no longer allow (caller holds a->lock). */
static void arena_decay_locked(struct arena *a, uint64_t now) {
    for (unsigned k = 0; k < 2; k++) {
        struct decay *d = &a->decay[k];
        unsigned from = k == 0 ? RUN_DIRTY : RUN_MUZZY;
        if (!decay_due(d, now))
            continue;
        size_t np = a->eset.npages[from];
        size_t limit = decay_advance(d, now, np);
        if (np > limit) {
            unsigned to = k == 0 && a->decay[1].ms != 0 ? RUN_MUZZY : RUN_RETAINED;
            extent_decay(&a->eset, from, to, np - limit);
        }
        decay_purged(d, a->eset.npages[from]);
    }
}

/* An amortized point of an allocating or freeing thread: read the clock
 * only every ARENA_DECAY_TICKS events, and only without a background thread. */
static inline void arena_tick_locked(struct arena *a) {
    if (++a->decay_ticks < ARENA_DECAY_TICKS)
        return;
    a->decay_ticks = 0;
    if (!__atomic_load_n(&decay_background, __ATOMIC_RELAXED))
        arena_decay_locked(a, pages_clock_ns());
}

static void arena_run_release_locked(struct arena *a, struct run *r) {
    a->npages_active -= r->npages;
    extent_free(&a->eset, r);
    if (a->decay[0].ms == 0) {
        arena_decay_locked(a, pages_clock_ns());
    } else if (__atomic_load_n(&decay_background, __ATOMIC_RELAXED) &&
               a->eset.npages[RUN_DIRTY] >= a->bg_seen + ARENA_BG_WAKE_PAGES) {
        a->bg_seen = a->eset.npages[RUN_DIRTY];
        void (*wake)(void) = __atomic_load_n(&decay_wake_hook, __ATOMIC_ACQUIRE);
        if (wake)
            wake();
    }
}

/* The most remote batches one refill takes: 512 blocks at the smallest. */
#define ARENA_FILL_BATCHES 8

unsigned arena_fill_small(struct arena *a, unsigned cls, void **out, unsigned n) {
    struct bin *b = &a->bins[cls];
    unsigned got = 0;
    arena_lock(a);
    struct arena_remote *taken[ARENA_FILL_BATCHES], *r;
    unsigned nt = 0;
    while (nt < ARENA_FILL_BATCHES && (r = arena_remote_pop_locked(a, cls, n - got)) != NULL) {
        taken[nt++] = r;
        got += (unsigned)r->n;
    }
    if (nt) {
        arena_unlock(a);
        got = 0;
        for (unsigned i = 0; i < nt; i++) {
            unsigned k = (unsigned)taken[i]->n;
            memcpy(out + got, taken[i]->items, k * sizeof(void *));
            got += k;
            base_free(taken[i], arena_remote_bytes(k));
        }
        return got;
    }
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
        got += BALLOC_SECURE ? slab_take_random(s, out + got, n - got, &a->rng)
                             : slab_take(s, out + got, n - got);
        if (s->nfree == 0)
            b->cur = NULL;
    }
    a->allocated += (size_t)got * sz_usable(cls);
    b->nmalloc += got;
    arena_tick_locked(a);
    arena_unlock(a);
    for (unsigned i = 0, j = got; i + 1 < j; i++, j--) {
        void *t = out[i];
        out[i] = out[j - 1];
        out[j - 1] = t;
    }
    return got;
}

void *arena_alloc_large(struct arena *a, unsigned cls, size_t align, bool *zeroed) {
    /* Hardened: the run's last page is a guard. */
    uint32_t npages = (uint32_t)(sc_size[cls] >> PAGE_LG) + BUILD_GUARD_PAGES;
    uint32_t extra = align > PAGE_SIZE_B ? (uint32_t)(align >> PAGE_LG) - 1 : 0;
    if ((size_t)npages + extra > CHUNK_USABLE_PAGES)
        return NULL;
    arena_lock(a);
    struct run *r = arena_run_alloc_locked(a, npages + extra), *lead = NULL, *trail = NULL;
    if (r == NULL)
        goto out;
    if (extra) {
        uintptr_t mis = (uintptr_t)r->base & (align - 1);
        uint32_t nlead = mis ? (uint32_t)((align - mis) >> PAGE_LG) : 0;
        if (nlead) {
            struct run *rest = extent_split(r, nlead);
            if (rest == NULL) {
                extent_unalloc(&a->eset, r);  /* its pages were never used */
                r = NULL;
                goto out;
            }
            lead = r;
            r = rest;
        }
        /* If the split fails, the excess pages stay inside the run (its
         * page map marks them PMAP_CLS_NONE). */
        if (r->npages > npages)
            trail = extent_split(r, npages);
    }
    bool guard_refused = BUILD_GUARD_PAGES && pages_guard(r->base + sc_size[cls], PAGE_SIZE_B);
    /* The alignment's lead and trail were never used: back in their state,
     * while r is held in the page map so that they do not merge with it. */
    r->cls = (uint8_t)cls;
    arena_mark_large(r);
    if (lead)
        extent_unalloc(&a->eset, lead);
    if (trail)
        extent_unalloc(&a->eset, trail);
    if (guard_refused) {  /* r goes back unused too */
        extent_return(&a->eset, r);
        r = NULL;
        goto out;
    }
    *zeroed = r->state == RUN_RETAINED;
    r->state = RUN_DIRTY;
    r->kind = RUN_LARGE;
    a->npages_active += r->npages;
    a->allocated += sc_size[cls];
    arena_tick_locked(a);
out:
    arena_unlock(a);
    return r ? r->base : NULL;
}

void arena_free_locked(struct arena *a, void *p) {
    arena_tick_locked(a);
    struct chunk *c = chunk_of((uintptr_t)p);
    struct run *r = chunk_run_of(c, (uintptr_t)p);
    if (r == NULL)
        util_fatal_ptr(chunk_misuse_of(c, (uintptr_t)p), p);
    if (r->kind == RUN_LARGE) {
        if (p != r->base)
            util_fatal_ptr("invalid free", p);
        a->allocated -= sc_size[r->cls];
        /* A guard that cannot be lifted keeps its run out of use for good
         * (its pages stay counted as active). */
        if (BUILD_GUARD_PAGES && pages_unguard(r->base + sc_size[r->cls], PAGE_SIZE_B))
            return;
        arena_run_release_locked(a, r);
        return;
    }
    int rc = slab_give(r, p);
    if (rc != SLAB_GIVE_OK)
        util_fatal_ptr(rc == SLAB_GIVE_DOUBLE ? "double free" : "invalid free", p);
    struct bin *b = &a->bins[r->cls];
    a->allocated -= sz_usable(r->cls);
    b->ndalloc++;
    if (r->heap_idx != RUN_HEAP_NONE)
        b->heap_used--;
    if (r == b->cur) {
        if (r->nfree == r->nregs) {
            b->cur = NULL;
            b->curslabs--;
            arena_run_release_locked(a, r);
        }
        return;
    }
    if (r->nfree == r->nregs) {
        if (r->heap_idx != RUN_HEAP_NONE)
            bin_heap_remove(b, r);
        b->curslabs--;
        arena_run_release_locked(a, r);
    } else if (r->heap_idx == RUN_HEAP_NONE) {
        (void)bin_heap_insert(b, r);  /* on OOM the slab is found again on its next free */
    } else {
        bin_heap_update(b, r);
    }
}

void arena_free(void *p) {
    struct arena *a = arena_of_ptr(p);
    arena_lock(a);
    arena_free_locked(a, p);
    arena_unlock(a);
}

bool arena_block_free(const void *p) {
    struct arena *a = arena_of_ptr(p);
    arena_lock_current(a);
    struct chunk *c = chunk_of((uintptr_t)p);
    struct run *r = chunk_run_of(c, (uintptr_t)p);
    bool is_free = r == NULL ? c->pmap[chunk_page_of((uintptr_t)p)].cls == PMAP_CLS_FREE
                             : r->kind == RUN_SLAB && slab_region_free(r, p);
    arena_unlock(a);
    return is_free;
}

bool arena_resize_large(void *p, unsigned cls) {
    if (BALLOC_SECURE)
        return true;  /* the guard page would have to move */
    struct arena *a = arena_of_ptr(p);
    uint32_t npages = (uint32_t)(sc_size[cls] >> PAGE_LG);
    bool fail = true;
    arena_lock(a);
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
        arena_mark_large(r);
        extent_free(&a->eset, t);
    } else if (npages > old) {
        if (extent_grow(&a->eset, r, npages))
            goto out;
        r->cls = (uint8_t)cls;
        arena_mark_large(r);
    } else {  /* a run that kept pages past its block: the new class fits them */
        r->cls = (uint8_t)cls;
        arena_mark_large(r);
    }
    a->npages_active = a->npages_active - old + npages;
    a->allocated = a->allocated - old_usable + sc_size[cls];
    fail = false;
out:
    arena_unlock(a);
    return fail;
}

bool arena_defrag_hint(const void *p) {
    struct arena *a = arena_of_ptr(p);
    bool hint = false;
    arena_lock_current(a);
    struct run *r = chunk_run_of(chunk_of((uintptr_t)p), (uintptr_t)p);
    if (r && r->kind == RUN_SLAB)
        hint = bin_defrag_hint(&a->bins[r->cls], r);
    arena_unlock(a);
    return hint;
}

void arena_purge_one(unsigned i) {
    struct arena *a = __atomic_load_n(&arenas[i], __ATOMIC_ACQUIRE);
    if (a == NULL)
        return;
    arena_lock_current(a);
    extent_purge(&a->eset);
    /* What the kernel refused to purge is still pending. */
    decay_purged(&a->decay[0], a->eset.npages[RUN_DIRTY]);
    decay_purged(&a->decay[1], a->eset.npages[RUN_MUZZY]);
    arena_unlock(a);
}

void arena_stats_one(unsigned i, int cls, struct arena_bin_stats *bs, size_t *pdirty,
                     size_t *pmuzzy) {
    for (unsigned k = i == ARENA_MAX ? 0 : i; k < narenas_total && (i == ARENA_MAX || k == i); k++) {
        struct arena *a = __atomic_load_n(&arenas[k], __ATOMIC_ACQUIRE);
        if (a == NULL)
            continue;
        arena_lock_current(a);
        if (pdirty)
            *pdirty += a->eset.npages[RUN_DIRTY];
        if (pmuzzy)
            *pmuzzy += a->eset.npages[RUN_MUZZY];
        if (cls >= 0) {
            struct bin *b = &a->bins[cls];
            bs->curregs += (size_t)(b->nmalloc - b->ndalloc);
            bs->curslabs += b->curslabs;
            bs->nonfull_slabs += b->nheap + (b->cur && b->cur->nfree ? 1u : 0u);
            bs->nmalloc += b->nmalloc;
            bs->ndalloc += b->ndalloc;
        }
        arena_unlock(a);
    }
}

bool arena_util_query(const void *p, struct arena_util *u) {
    struct arena *a = arena_of_ptr(p);
    bool ok = false;
    arena_lock_current(a);
    struct run *r = chunk_run_of(chunk_of((uintptr_t)p), (uintptr_t)p);
    if (r && r->kind == RUN_SLAB) {
        struct bin *b = &a->bins[r->cls];
        u->nfree = r->nfree;
        u->nregs = r->nregs;
        u->size = sc_size[r->cls];
        u->bin_nregs = b->curslabs * r->nregs;
        u->bin_nfree = u->bin_nregs - (size_t)(b->nmalloc - b->ndalloc);
        u->slabcur = b->cur ? b->cur->base : NULL;
        u->slab_size = (size_t)r->npages * PAGE_SIZE_B;
        ok = true;
    } else if (r && r->kind == RUN_LARGE) {
        *u = (struct arena_util){.nregs = 1, .size = sc_size[r->cls],
                                 .slab_size = (size_t)r->npages * PAGE_SIZE_B};
        ok = true;
    }
    arena_unlock(a);
    return ok;
}

void arena_purge_all(void) {
    for (unsigned i = 0; i < narenas_total; i++)
        arena_purge_one(i);
}

void arena_set_decay_ms(unsigned which, int64_t ms) {
    uint64_t now = pages_clock_ns();
    lockrank_lock(&arenas_lock, LOCKRANK_ARENA_LIST);
    arena_decay_ms[which] = ms;
    for (unsigned i = 0; i < narenas_total; i++) {
        struct arena *a = arenas[i];
        if (a == NULL)
            continue;
        arena_lock(a);
        decay_set_ms(&a->decay[which], ms, now);
        arena_decay_locked(a, now);
        arena_unlock(a);
    }
    lockrank_unlock(&arenas_lock, LOCKRANK_ARENA_LIST);
}

uint64_t arena_decay_all(uint64_t now_ns) {
    uint64_t next = DECAY_NEVER;
    for (unsigned i = 0; i < narenas_total; i++) {
        struct arena *a = __atomic_load_n(&arenas[i], __ATOMIC_ACQUIRE);
        if (a == NULL)
            continue;
        arena_lock_current(a);
        arena_decay_locked(a, now_ns);
        a->bg_seen = a->eset.npages[RUN_DIRTY];
        for (unsigned k = 0; k < 2; k++) {
            unsigned st = k == 0 ? RUN_DIRTY : RUN_MUZZY;
            /* Pages still pending (or counted in the backlog) need the next epoch. */
            if ((a->eset.npages[st] || a->decay[k].nlast) && a->decay[k].ms > 0 &&
                a->decay[k].deadline_ns < next)
                next = a->decay[k].deadline_ns;
        }
        arena_unlock(a);
    }
    return next;
}

void arena_stats_read(struct arena_stats *st) {
    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < narenas_total; i++) {
        struct arena *a = __atomic_load_n(&arenas[i], __ATOMIC_ACQUIRE);
        if (a == NULL)
            continue;
        arena_lock_current(a);
        st->allocated += a->allocated;
        st->active += a->npages_active * PAGE_SIZE_B;
        st->dirty += a->eset.npages[RUN_DIRTY] * PAGE_SIZE_B;
        st->muzzy += a->eset.npages[RUN_MUZZY] * PAGE_SIZE_B;
        st->retained += a->eset.npages[RUN_RETAINED] * PAGE_SIZE_B;
        st->mapped += a->nchunks * CHUNK_SIZE;
        st->metadata += a->nchunks * (CHUNK_PAGES - CHUNK_USABLE_PAGES) * PAGE_SIZE_B;
        /* Free regions defrag can win back: those of the heap's slabs. The
         * current slab's are left out: moves fill it and the hint never
         * empties it, so counting them would keep a server's defrag cycle
         * running with nothing left to move. */
        for (unsigned c = 0; c < SC_NSMALL; c++) {
            struct bin *b = &a->bins[c];
            size_t nfree = 0;
            for (uint32_t h = 0; h < b->nheap; h++)
                nfree += b->heap[h]->nfree;
            st->frag_smallbins += nfree * sc_size[c];
        }
        arena_unlock(a);
    }
    /* Ranges whose munmap failed are still mapped (pages.h). */
    st->mapped += pages_leaked();
}

void arena_prefork(void) {
    lockrank_lock(&arenas_lock, LOCKRANK_ARENA_LIST);
    for (unsigned i = 0; i < narenas_total; i++)
        if (arenas[i])
            arena_lock(arenas[i]);
}

void arena_postfork_parent(void) {
    for (unsigned i = 0; i < narenas_total; i++)
        if (arenas[i])
            arena_unlock(arenas[i]);
    lockrank_unlock(&arenas_lock, LOCKRANK_ARENA_LIST);
}

/* Remote batches need nothing: a push is one compare-and-swap, so the stacks
 * are whole; one a vanished thread had not pushed yet is lost with it. */
void arena_postfork_child(void) {
    for (unsigned i = 0; i < narenas_total; i++) {
        if (arenas[i] == NULL)
            continue;
        lockrank_reinit(&arenas[i]->lock, LOCKRANK_ARENA);
        arena_seed_rng(arenas[i]);  /* the child's order owes nothing to the parent's */
    }
    lockrank_reinit(&arenas_lock, LOCKRANK_ARENA_LIST);
}
