#include "tcache.h"

#include <pthread.h>
#include <string.h>

#include "base.h"
#include "lockrank.h"
#include "sz.h"

_Thread_local struct tcache tcache_tls __attribute__((tls_model("initial-exec")));

static pthread_key_t tcache_key;
static pthread_mutex_t tcache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tcache *tcache_list;
static uint32_t tcache_cap[SC_NTCACHE];       /* a bin's starting cap */
static uint32_t tcache_cap_most[SC_NTCACHE];  /* the cap it may grow to */
static size_t tcache_total_slots;

static void tcache_destroy(void *arg);

/* ---- counted bytes (struct tcount in tcache.h) ---------------------------- */

#define TCOUNT_STATIC 128
static struct tcount tcount_static[TCOUNT_STATIC];
static unsigned tcount_static_next;
static struct tcount *tcount_list;
static uint64_t tcount_orphan_allocated, tcount_orphan_freed;

/* A slot no living thread owns, or a new one; NULL if memory ran out. */
static struct tcount *tcount_acquire(void) {
    struct tcount *c;
    for (c = __atomic_load_n(&tcount_list, __ATOMIC_ACQUIRE); c; c = c->next) {
        int expected = 0;
        if (__atomic_load_n(&c->owned, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&c->owned, &expected, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return c;
    }
    unsigned i = __atomic_fetch_add(&tcount_static_next, 1, __ATOMIC_RELAXED);
    if (i < TCOUNT_STATIC) {
        c = &tcount_static[i];
    } else {
        /* base memory is 64-aligned: take twice the slot and align it. */
        char *m = base_alloc(2 * sizeof(struct tcount));
        if (m == NULL)
            return NULL;
        c = (struct tcount *)(((uintptr_t)m + sizeof(struct tcount) - 1) &
                              ~(uintptr_t)(sizeof(struct tcount) - 1));
    }
    c->owned = 1;
    struct tcount *head = __atomic_load_n(&tcount_list, __ATOMIC_RELAXED);
    do {
        c->next = head;
    } while (!__atomic_compare_exchange_n(&tcount_list, &head, c, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    return c;
}

/* The thread is exiting: its figures stay in the slot for the next owner. */
static void tcount_release(struct tcache *tc) {
    struct tcount *c = tc->count;
    if (c == NULL)
        return;
    tc->count = NULL;
    __atomic_store_n(&c->owned, 0, __ATOMIC_RELEASE);
}

void tcount_add(struct tcache *tc, size_t allocated, size_t freed) {
    if (tc->count == NULL && tc->state != TCACHE_DEAD) {
        /* The exit hook gives the slot back; without it, keep none. */
        if (!tc->hooked)
            tc->hooked = pthread_setspecific(tcache_key, tc) == 0;
        if (tc->hooked)
            tc->count = tcount_acquire();
    }
    struct tcount *c = tc->count;
    if (c == NULL) {
        __atomic_fetch_add(&tcount_orphan_allocated, allocated, __ATOMIC_RELAXED);
        __atomic_fetch_add(&tcount_orphan_freed, freed, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&c->allocated, c->allocated + allocated, __ATOMIC_RELAXED);
    __atomic_store_n(&c->freed, c->freed + freed, __ATOMIC_RELAXED);
}

int64_t tcount_total(void) {
    /* Unsigned sums wrap, and their difference is exact. */
    uint64_t a = __atomic_load_n(&tcount_orphan_allocated, __ATOMIC_RELAXED);
    uint64_t f = __atomic_load_n(&tcount_orphan_freed, __ATOMIC_RELAXED);
    for (struct tcount *c = __atomic_load_n(&tcount_list, __ATOMIC_ACQUIRE); c; c = c->next) {
        a += __atomic_load_n(&c->allocated, __ATOMIC_RELAXED);
        f += __atomic_load_n(&c->freed, __ATOMIC_RELAXED);
    }
    return (int64_t)(a - f);
}

size_t tcount_slots(void) {
    size_t n = 0;
    for (struct tcount *c = __atomic_load_n(&tcount_list, __ATOMIC_ACQUIRE); c; c = c->next)
        n++;
    return n;
}

void tcache_boot(size_t max_size) {
    static int key_made;
    tcache_total_slots = 0;
    /* Caps shrink with the class size. Halving the starting caps up to
     * 1 KiB lowered larson4's peak RSS by about 10% but cost the threaded
     * benchmarks time (more refills and flushes under arena locks); binding
     * threads to one arena per CPU saves far more memory. Starting all bins
     * at their most (512 blocks up to 256 B) raised larson4's and realloc's
     * peak RSS by 10-12%: only the bins that need it grow; letting the
     * classes above 256 B grow too raised larson4's by 30% and realloc's by
     * 12%. */
    for (unsigned c = 0; c < SC_NTCACHE; c++) {
        uint32_t s = sc_size[c], cap, most;
        if (s <= 256)
            cap = 128, most = TCACHE_CAP_MAX;
        else if (s <= 1024)
            cap = most = 64;
        else if (s <= 4096)
            cap = most = 32;
        else if (s <= SC_SMALL_MAX)
            cap = most = 16;
        else
            cap = most = 8;
        if (s > max_size)
            cap = most = 0;  /* the slow paths send such classes to the arena */
        tcache_cap[c] = cap;
        tcache_cap_most[c] = most;
        tcache_total_slots += most + 1;  /* + the spare stack[-1] */
    }
    if (!key_made && pthread_key_create(&tcache_key, tcache_destroy) == 0)
        key_made = 1;
}

uint32_t tcache_remote_batch_max(unsigned cls) {
    uint32_t half = tcache_cap[cls] / 2;
    return half ? half : 1;
}

void tcache_free_remote(struct arena *a, unsigned cls, void *const *items, uint32_t n) {
    uint32_t most = tcache_remote_batch_max(cls);
    for (uint32_t i = 0; i < n; i += most) {
        uint32_t m = n - i < most ? n - i : most;
        if (arena_free_remote(a, cls, items + i, m))
            arena_free_batch(a, items + i, m);
    }
}

struct arena *tcache_arena(struct tcache *tc) {
    if (tc->arena == NULL) {
        /* Starting the cache binds the arena and registers the exit hook
         * that unbinds it; a thread without a cache keeps its binding. */
        if (tc->state == TCACHE_NONE)
            tcache_init(tc);
        else
            tc->arena = arena_choose();
    }
    return tc->arena;
}

void tcache_init(struct tcache *tc) {
    tc->state = TCACHE_INIT;
    if (tc->arena == NULL)
        tc->arena = arena_choose();
    /* The exit hook first: it unbinds the arena even if the cache never
     * starts. It may allocate: served uncached (state INIT). */
    if (tc->arena != NULL && !tc->hooked)
        tc->hooked = pthread_setspecific(tcache_key, tc) == 0;
    /* The counting slot before the cache is active: the fast paths count
     * into it unchecked. Only a hooked thread gives a slot back at exit. */
    if (tc->count == NULL && tc->hooked)
        tc->count = tcount_acquire();
    size_t bytes = tcache_total_slots * sizeof(void *);
    void **slots = tc->arena && tc->count ? base_alloc(bytes) : NULL;
    if (slots == NULL) {
        /* Out of memory: stay uncached for now, and try again on a later
         * slow path once memory is back. */
        tc->state = TCACHE_NONE;
        return;
    }
    tc->slots = slots;
    tc->slots_bytes = bytes;
    lockrank_lock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY);
    tc->prev = NULL;
    tc->next = tcache_list;
    if (tcache_list)
        tcache_list->prev = tc;
    tcache_list = tc;
    size_t off = 0;
    for (unsigned c = 0; c < SC_NTCACHE; c++) {
        tc->bins[c].stack = slots + off + 1;
        tc->bins[c].n = 0;
        tc->bins[c].low = 0;
        tc->bins[c].top = NULL;
        tc->bins[c].refilled = 0;
        off += tcache_cap_most[c] + 1;
    }
    tc->state = TCACHE_ACTIVE;
    for (unsigned c = 0; c < SC_NTCACHE; c++)
        __atomic_store_n(&tc->bins[c].cap, tcache_cap[c], __ATOMIC_RELAXED);
    lockrank_unlock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY);
}

/* Return the oldest blocks of bin cls, keeping the newest `keep`. They
 * leave the bin before any goes back to its arena: a block another thread
 * holds again must never be seen in this bin (tcache_holds). Blocks of this
 * thread's arena go back under its lock; with `remote`, those of another
 * arena are pushed on its remote stack, one batch per arena, without its
 * lock (the thread that holds that lock next gives them back), so a thread
 * freeing what another allocates never waits for the other's lock. */
static void tcache_bin_flush(struct tcache *tc, unsigned cls, uint32_t keep, bool remote) {
    struct tbin *b = &tc->bins[cls];
    uint32_t n = b->n;
    if (keep >= n)
        return;
    uint32_t nflush = n - keep, left = nflush;
    void *items[TCACHE_CAP_MAX];
    memcpy(items, b->stack, nflush * sizeof(void *));
    memmove(b->stack, b->stack + nflush, keep * sizeof(void *));
    tbin_set_n(b, keep);
    if (b->low > keep)
        b->low = keep;
    while (left) {
        struct arena *a = arena_of_ptr(items[0]);
        void *mine[TCACHE_CAP_MAX];
        uint32_t j = 0, k = 0;
        for (uint32_t i = 0; i < left; i++) {
            if (arena_of_ptr(items[i]) == a)
                mine[k++] = items[i];
            else
                items[j++] = items[i];
        }
        if (!remote || a == tc->arena || cls >= SC_NSMALL)
            arena_free_batch(a, mine, k);
        else
            tcache_free_remote(a, cls, mine, k);
        left = j;
    }
}

/* Blocks below a bin's low-water mark were not needed since the last sweep:
 * give back 3/4 of them (the oldest), shrink a grown bin that was half
 * idle, then start a new period. */
static void tcache_gc(struct tcache *tc) {
    for (unsigned c = 0; c < SC_NTCACHE; c++) {
        struct tbin *b = &tc->bins[c];
        uint32_t low = b->low;
        if (low)
            tcache_bin_flush(tc, c, b->n - (low - low / 4), true);
        /* Half a grown bin sat idle: halve its cap, and give back what the
         * smaller bin cannot keep. */
        if (b->cap > tcache_cap[c] && low >= b->cap / 2) {
            __atomic_store_n(&b->cap, b->cap / 2, __ATOMIC_RELAXED);
            if (b->n > b->cap)
                tcache_bin_flush(tc, c, b->cap, true);
        }
        b->low = b->n;
    }
}

static void tcache_tick(struct tcache *tc) {
    if (++tc->gc_ticks >= TCACHE_GC_EVENTS) {
        tc->gc_ticks = 0;
        tcache_gc(tc);
    }
}

void tcache_note_bypass(struct tcache *tc) {
    if (tc->state == TCACHE_ACTIVE)
        tcache_tick(tc);
}

void *tcache_alloc_slow(struct tcache *tc, unsigned cls) {
    struct tbin *b = &tc->bins[cls];
    if (b->cap == 0) {  /* class not cached (tcache off, or above tcache_max) */
        void *p = NULL;
        bool zeroed;
        if (cls < SC_NSMALL)
            return arena_fill_small(tc->arena, cls, &p, 1) ? p : NULL;
        return arena_alloc_large(tc->arena, cls, 0, &zeroed);
    }
    if (b->n) {
        if (b->low > b->n - 1)
            b->low = b->n - 1;
        return tbin_pop(b, b->n);
    }
    tcache_tick(tc);
    b->refilled = 1;
    uint32_t want = b->cap / 2, got = 0;
    if (cls < SC_NSMALL) {
        got = arena_fill_small(tc->arena, cls, b->stack, want);
    } else {
        bool zeroed;
        while (got < want) {
            void *p = arena_alloc_large(tc->arena, cls, 0, &zeroed);
            if (p == NULL)
                break;
            b->stack[want - 1 - got] = p;
            got++;
        }
        if (got < want)
            memmove(b->stack, b->stack + (want - got), got * sizeof(void *));
    }
    if (got == 0)
        return NULL;
    tbin_set_n(b, got - 1);
    return b->stack[got - 1];
}

void tcache_free_flush(struct tcache *tc, unsigned cls, void *p) {
    struct tbin *b = &tc->bins[cls];
    if (b->cap == 0) {
        arena_free(p);
        return;
    }
    if (b->refilled && b->cap < tcache_cap_most[cls]) {
        /* Emptied and filled up again: the thread holds more than the bin
         * keeps (tcache.h), so keep them all. */
        b->refilled = 0;
        __atomic_store_n(&b->cap, b->cap * 2, __ATOMIC_RELAXED);
        tbin_push(b, b->n, p);
        return;
    }
    b->refilled = 0;
    tcache_bin_flush(tc, cls, b->cap / 2, true);
    tbin_push(b, b->n, p);
    tcache_tick(tc);
}

/* Under the owners' locks: what a flush of everything gives back (thread
 * exit, balloc_thread_flush, the cache turned off) is free when it returns. */
void tcache_flush_all(struct tcache *tc) {
    if (tc->state != TCACHE_ACTIVE)
        return;
    for (unsigned c = 0; c < SC_NTCACHE; c++)
        tcache_bin_flush(tc, c, 0, false);
}

bool tcache_holds(const void *p, unsigned cls) {
    bool found = false;
    lockrank_lock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY);
    for (struct tcache *tc = tcache_list; tc && !found; tc = tc->next) {
        struct tbin *b = &tc->bins[cls];
        uint32_t n = __atomic_load_n(&b->n, __ATOMIC_RELAXED);
        for (uint32_t i = 0; i < n && !found; i++)
            found = __atomic_load_n(&b->stack[i], __ATOMIC_RELAXED) == p;
    }
    lockrank_unlock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY);
    return found;
}

void tcache_set_enabled(struct tcache *tc, bool on) {
    if (tc->state == TCACHE_NONE)
        tcache_init(tc);
    if (tc->state != TCACHE_ACTIVE)
        return;
    tcache_flush_all(tc);
    for (unsigned c = 0; c < SC_NTCACHE; c++) {
        __atomic_store_n(&tc->bins[c].cap, on ? tcache_cap[c] : 0, __ATOMIC_RELAXED);
        tc->bins[c].low = 0;
        tc->bins[c].refilled = 0;
    }
    tc->disabled = !on;
}

bool tcache_enabled(const struct tcache *tc) {
    return tc->state == TCACHE_ACTIVE && !tc->disabled && tcache_total_slots > SC_NTCACHE;
}

static void tcache_destroy(void *arg) {
    struct tcache *tc = arg;
    if (tc->state != TCACHE_ACTIVE) {  /* the cache never started */
        tc->state = TCACHE_DEAD;
        tcount_release(tc);
        if (tc->arena)
            arena_unbind(tc->arena);
        return;
    }
    tcache_flush_all(tc);
    lockrank_lock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY);
    for (unsigned c = 0; c < SC_NTCACHE; c++) {
        __atomic_store_n(&tc->bins[c].cap, 0, __ATOMIC_RELAXED);
        tc->bins[c].stack = NULL;
    }
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        tcache_list = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
    tc->state = TCACHE_DEAD;
    lockrank_unlock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY);
    tcount_release(tc);
    base_free(tc->slots, tc->slots_bytes);
    tc->slots = NULL;
    /* Later destructors may still allocate, uncached, from tc->arena; the
     * arena no longer counts this thread, so a new thread may share it. */
    arena_unbind(tc->arena);
}

void tcache_registry_lock(void) { lockrank_lock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY); }
void tcache_registry_unlock(void) { lockrank_unlock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY); }

size_t tcache_cached_bytes_locked(unsigned *nthreads) {
    size_t bytes = 0;
    unsigned nt = 0;
    for (struct tcache *tc = tcache_list; tc; tc = tc->next) {
        nt++;
        for (unsigned c = 0; c < SC_NTCACHE; c++)
            bytes += (size_t)__atomic_load_n(&tc->bins[c].n, __ATOMIC_RELAXED) * sz_usable(c);
    }
    *nthreads = nt;
    return bytes;
}

void tcache_prefork(void) { lockrank_lock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY); }
void tcache_postfork_parent(void) { lockrank_unlock(&tcache_lock, LOCKRANK_TCACHE_REGISTRY); }

void tcache_postfork_child(void) {
    lockrank_reinit(&tcache_lock, LOCKRANK_TCACHE_REGISTRY);
    /* Only the forking thread survives; the other caches are abandoned. */
    struct tcache *self = &tcache_tls;
    arena_threads_reset_child(self->state == TCACHE_ACTIVE ? self->arena : NULL);
    tcache_list = NULL;
    if (self->state == TCACHE_ACTIVE) {
        self->prev = self->next = NULL;
        tcache_list = self;
    }
}
