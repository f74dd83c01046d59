/* balloc.c — the public API: fast paths, start-up, fork handlers, and (when
 * built with -DBALLOC_PRELOAD) the malloc/free/... exports of the drop-in
 * library. Fast paths touch only the thread cache and the page map; all
 * else is out of line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "balloc.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "background.h"
#include "decay.h"
#include "base.h"
#include "build.h"
#include "check.h"
#include "huge.h"
#include "opts.h"
#include "prof.h"
#include "sc.h"
#include "sz.h"
#include "tcache.h"
#include "util.h"

/* Exported, and in the allocator's section: a heap profile's stacks start
 * above it (prof.h). */
#define BALLOC_EXPORT __attribute__((visibility("default"))) PROF_TEXT
/* A slow path an exported function may jump to (a tail call leaves no frame
 * of the exported one): in the allocator's section too. */
#define BALLOC_SLOW BALLOC_COLD PROF_TEXT
#define BALLOC_INLINE static inline __attribute__((always_inline))

/* ---- start-up and fork ---------------------------------------------- */

enum { BOOT_NONE = 0, BOOT_RUNNING = 1, BOOT_READY = 2 };
static int balloc_boot_state;
static pid_t balloc_boot_pid;   /* process in which the boot runs */
static int balloc_atfork_done;
static _Thread_local int balloc_booting __attribute__((tls_model("initial-exec")));

/* Every lock, taken in the lock order (lockrank.h) and released in reverse. */
static void balloc_prefork(void) {
    tcache_prefork();
    arena_prefork();
    background_prefork();
    huge_prefork();
    base_prefork();
    prof_prefork();
}
static void balloc_postfork_parent(void) {
    prof_postfork_parent();
    base_postfork_parent();
    huge_postfork_parent();
    background_postfork_parent();
    arena_postfork_parent();
    tcache_postfork_parent();
}
static void balloc_postfork_child(void) {
    prof_postfork_child();
    base_postfork_child();
    huge_postfork_child();
    background_postfork_child();
    arena_postfork_child();
    tcache_postfork_child();
}

static unsigned balloc_ncpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    return 1;
}

static BALLOC_COLD void balloc_boot(void) {
    int expect = BOOT_NONE;
    if (balloc_booting)
        return;  /* pthread_atfork allocating during start-up: tables are ready */
    if (!__atomic_compare_exchange_n(&balloc_boot_state, &expect, BOOT_RUNNING, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&balloc_boot_state, __ATOMIC_ACQUIRE) != BOOT_READY) {
            /* A child forked while another thread was booting: that thread
             * is not in this process, so boot again (steps are idempotent). */
            if (__atomic_load_n(&balloc_boot_pid, __ATOMIC_ACQUIRE) != getpid()) {
                __atomic_store_n(&balloc_boot_state, BOOT_NONE, __ATOMIC_RELEASE);
                balloc_boot();
                return;
            }
            sched_yield();
        }
        return;
    }
    __atomic_store_n(&balloc_boot_pid, getpid(), __ATOMIC_RELEASE);
    /* Nothing before pthread_atfork may allocate: this thread would wait
     * for itself. */
    if (pages_os_page_size() != PAGE_SIZE_B)
        util_fatal_ptr("unsupported page size", (void *)pages_os_page_size());
    sc_init();
    check_boot();
    decay_boot();
    opts_boot();
    slab_policy = (int)opt_value[OPT_SLAB_POLICY];
    /* One arena per CPU by default: at most that many threads run at once,
     * and every extra arena holds its own partly used chunks and free pages
     * (with 4 per CPU, larson4 peaked about 30% higher for no speed gain). */
    unsigned narenas = opt_value[OPT_NARENAS] ? (unsigned)opt_value[OPT_NARENAS] : balloc_ncpus();
    arena_boot(narenas);
    arena_decay_boot(opt_value[OPT_DIRTY_DECAY_MS], opt_value[OPT_MUZZY_DECAY_MS]);
    huge_boot(opt_value[OPT_DIRTY_DECAY_MS]);
    tcache_boot(opt_value[OPT_TCACHE] ? (size_t)opt_value[OPT_TCACHE_MAX] : 0);
    background_boot(opt_value[OPT_BACKGROUND_THREAD] != 0);
    prof_boot(opt_value[OPT_PROF] != 0, (uint64_t)opt_value[OPT_PROF_SAMPLE_BYTES], opt_prof_prefix,
              opt_value[OPT_PROF_FINAL] != 0);
    /* Registered before any other thread can take a lock, so a fork can
     * never copy a held lock without running our handlers. It may allocate
     * (glibc keeps handlers in a growable array): balloc_booting lets this
     * thread through. */
    if (!balloc_atfork_done) {
        balloc_atfork_done = 1;
        balloc_booting = 1;
        pthread_atfork(balloc_prefork, balloc_postfork_parent, balloc_postfork_child);
        balloc_booting = 0;
    }
    __atomic_store_n(&balloc_boot_state, BOOT_READY, __ATOMIC_RELEASE);
}

BALLOC_INLINE void balloc_ensure_boot(void) {
    if (BALLOC_UNLIKELY(__atomic_load_n(&balloc_boot_state, __ATOMIC_ACQUIRE) != BOOT_READY))
        balloc_boot();
}

static void *balloc_oom(size_t *usable) {
    if (usable)
        *usable = 0;
    errno = ENOMEM;
    return NULL;
}

static inline size_t balloc_page_round(size_t size) { return (size + PAGE_MASK_B) & ~PAGE_MASK_B; }

/* ---- allocation --------------------------------------------------------- */

static void *balloc_alloc_uncached(struct tcache *tc, unsigned cls) {
    struct arena *a = tcache_arena(tc);
    if (a == NULL)
        return NULL;
    if (cls < SC_NSMALL) {
        void *p = NULL;
        return arena_fill_small(a, cls, &p, 1) ? p : NULL;
    }
    bool zeroed;
    return arena_alloc_large(a, cls, 0, &zeroed);
}

/* The counted calls' part of a slow path: the caller's usable bytes. */
static void balloc_count_slow(size_t allocated, size_t freed) {
    tcount_add(&tcache_tls, allocated, freed);
}

/* counted: a balloc_*_counted call, which adds the usable size to the
 * thread's counted bytes (include/balloc.h). */
/* Counts an allocation of `usable` bytes toward this thread's next heap
 * profile sample (prof.h), and samples p if it is due. */
static BALLOC_SLOW void balloc_prof_count(void *p, size_t usable) {
    struct tcache *tc = &tcache_tls;
    unsigned epoch = __atomic_load_n(&prof_epoch, __ATOMIC_RELAXED);
    if (tc->prof_epoch != epoch) {  /* profiling was switched: a new interval */
        tc->prof_epoch = epoch;
        tc->prof_left = prof_next_interval();
    }
    if (tc->prof_left >= (int64_t)usable) {
        tc->prof_left -= (int64_t)usable;
        return;
    }
    tc->prof_left = prof_next_interval();
    prof_sample(p, usable);
}

static BALLOC_SLOW void *balloc_malloc_slow(size_t size, size_t *usable, bool counted) {
    if (size >= PTRDIFF_MAX)
        return balloc_oom(usable);
    balloc_ensure_boot();
    if (BALLOC_UNLIKELY(__atomic_load_n(&background_start_pending, __ATOMIC_RELAXED)))
        background_start();
    struct tcache *tc = &tcache_tls;
    void *p;
    if (size <= SC_LARGE_MAX) {
        unsigned cls = sz_class(size);
        if (cls < SC_NTCACHE) {
            if (tc->state == TCACHE_NONE)
                tcache_init(tc);
            if (tc->state == TCACHE_ACTIVE) {
                struct tbin *b = &tc->bins[cls];
                if (b->n > b->low) {
                    p = tbin_pop(b, b->n);
                } else {
                    p = tcache_alloc_slow(tc, cls);
                }
            } else {
                p = balloc_alloc_uncached(tc, cls);
            }
        } else {
            p = balloc_alloc_uncached(tc, cls);
        }
        if (p == NULL)
            return balloc_oom(usable);
        check_on_alloc(p, cls);
        if (BALLOC_PROF)
            balloc_prof_count(p, sz_usable(cls));
        if (counted)
            balloc_count_slow(sz_usable(cls), 0);
        if (usable)
            *usable = sz_usable(cls);
        return p;
    }
    p = huge_alloc(size, 0, false);
    if (p == NULL)
        return balloc_oom(usable);
    if (BALLOC_PROF)
        balloc_prof_count(p, balloc_page_round(size));
    if (counted)
        balloc_count_slow(balloc_page_round(size), 0);
    if (usable)
        *usable = balloc_page_round(size);
    return p;
}

/* balloc_set_counted_oom's hook: what balloc_malloc_counted returns on
 * failure (NULL without one). */
static void *(*balloc_counted_oom_hook)(size_t size);

BALLOC_EXPORT void balloc_set_counted_oom(void *(*hook)(size_t size)) {
    __atomic_store_n(&balloc_counted_oom_hook, hook, __ATOMIC_RELEASE);
}

static BALLOC_SLOW void *balloc_malloc_counted_slow(size_t size) {
    void *p = balloc_malloc_slow(size, NULL, true);
    void *(*hook)(size_t) = __atomic_load_n(&balloc_counted_oom_hook, __ATOMIC_ACQUIRE);
    return p != NULL || hook == NULL ? p : hook(size);
}

/* How a call counts: not at all, its usable bytes (the _counted calls),
 * and those bytes plus the OOM hook on failure (balloc_malloc_counted). */
enum balloc_count { COUNT_NONE, COUNT_BYTES, COUNT_BYTES_HOOK };

BALLOC_INLINE void *balloc_malloc_inline(size_t size, size_t *usable, enum balloc_count count) {
    bool counted = count != COUNT_NONE;
    if (BALLOC_LIKELY(size <= SZ_FAST_MAX)) {
        unsigned cls = sz_fast_class(size);
        struct tbin *b = tcache_bin(cls);
        uint32_t n = b->n;
        /* With profiling compiled in, the usable bytes count down to the
         * next sample; the allocation that would take the count below zero
         * goes to the slow path, which samples it (prof.h). */
        int64_t left = tcache_tls.prof_left - (int64_t)sz_usable(cls);
        if (BALLOC_LIKELY(n > b->low && (!BALLOC_PROF || left >= 0))) {
            if (BALLOC_PROF)
                tcache_tls.prof_left = left;
            void *p = tbin_pop(b, n);
            check_on_alloc(p, cls);
            if (counted)
                tcount_add_allocated(&tcache_tls, sz_usable(cls));
            if (usable)
                *usable = sz_usable(cls);
            return p;
        }
    }
    if (count == COUNT_BYTES_HOOK)
        return balloc_malloc_counted_slow(size);
    return balloc_malloc_slow(size, usable, counted);
}

BALLOC_EXPORT void *balloc_malloc(size_t size) { return balloc_malloc_inline(size, NULL, COUNT_NONE); }

BALLOC_EXPORT void *balloc_malloc_usable(size_t size, size_t *usable) {
    size_t u;
    void *p = balloc_malloc_inline(size, &u, COUNT_NONE);
    if (usable)
        *usable = u;
    return p;
}

BALLOC_EXPORT void *balloc_malloc_counted(size_t size) { return balloc_malloc_inline(size, NULL, COUNT_BYTES_HOOK); }

BALLOC_EXPORT void *balloc_malloc_usable_counted(size_t size, size_t *usable) {
    return balloc_malloc_inline(size, usable, COUNT_BYTES);
}

/* ---- free ---------------------------------------------------------------- */

/* What a misuse is called, by the call that meets it: a pointer that is not
 * a live block's start, and a block that is already free. */
enum balloc_op { OP_FREE, OP_REALLOC, OP_USABLE, OP_RESIZE };
static const char *const balloc_op_invalid[] = {"invalid free", "invalid realloc",
                                                "invalid pointer", "invalid resize"};
static const char *const balloc_op_freed[] = {"double free", "realloc after free",
                                              "usable size after free", "resize after free"};

/* Block p of cached class cls holds the free key: if it is in a thread
 * cache or free in its slab, the call is a misuse of a freed block. */
static BALLOC_COLD void balloc_check_freed(const void *p, unsigned cls, enum balloc_op op) {
    if (tcache_holds(p, cls) || arena_block_free(p))
        util_fatal_ptr(balloc_op_freed[op], p);
}

/* Usable size of a live block; aborts with the op's message if p is not one. */
static size_t balloc_lookup_usable(const void *p, enum balloc_op op) {
    uintptr_t a = (uintptr_t)p;
    if (chunk_kind_of(a) == CHUNK_KIND_ARENA) {
        struct chunk *c = chunk_of(a);
        struct run *r = chunk_run_of(c, a);
        if (r == NULL)  /* a free run's page held a block once; a PMAP_CLS_NONE page never */
            util_fatal_ptr(c->pmap[chunk_page_of(a)].cls == PMAP_CLS_FREE ? balloc_op_freed[op]
                                                                         : balloc_op_invalid[op],
                           p);
        if (r->kind == RUN_LARGE ? (const char *)p != r->base : slab_region_index(r, p) < 0)
            util_fatal_ptr(balloc_op_invalid[op], p);
        if (r->cls < SC_NTCACHE && BALLOC_UNLIKELY(check_key_present(p)))
            balloc_check_freed(p, r->cls, op);
        return sz_usable(r->cls);
    }
    struct huge_hdr *h = huge_hdr_of(p);
    if (h == NULL)
        util_fatal_ptr(huge_was_freed(p) ? balloc_op_freed[op] : balloc_op_invalid[op], p);
    return h->usable;
}

/* A live block p of an arena chunk (checked by the lookup) is being freed:
 * the free key (cached classes), and in the hardened build the canary check
 * and the poison. Returns its class. */
static unsigned balloc_mark_freed(void *p) {
    uintptr_t a = (uintptr_t)p;
    unsigned cls = chunk_of(a)->pmap[chunk_page_of(a)].cls;
    if (cls < SC_NTCACHE || BALLOC_SECURE)
        check_on_free(p, cls);
    return cls;
}

/* counted: as for balloc_malloc_slow. */
/* p, a live block being freed, may hold a heap-profile sample: drop it. */
static inline void balloc_prof_free(void *p) {
    if (prof_may_hold(p))
        prof_free(p);
}

static BALLOC_COLD size_t balloc_free_slow(void *p, bool counted) {
    if (p == NULL)
        return 0;
    uintptr_t a = (uintptr_t)p;
    size_t usable = balloc_lookup_usable(p, OP_FREE);
    if (BALLOC_PROF)
        balloc_prof_free(p);
    if (counted)
        balloc_count_slow(0, usable);
    if (chunk_kind_of(a) == CHUNK_KIND_ARENA) {
        unsigned cls = balloc_mark_freed(p);
        struct tcache *tc = &tcache_tls;
        if (cls < SC_NTCACHE && tc->state == TCACHE_NONE)
            tcache_init(tc);  /* a thread that only frees gets a cache too */
        if (cls < SC_NTCACHE && tc->state == TCACHE_ACTIVE && tc->bins[cls].cap) {
            struct tbin *b = &tc->bins[cls];
            if (b->n < b->cap) {
                tbin_push(b, b->n, p);
            } else {
                tcache_free_flush(tc, cls, p);
            }
        } else {
            arena_free(p);
        }
        return usable;
    }
    huge_free(huge_hdr_of(p));
    return usable;
}

/* A sized free's size must be the block's usable size, or lead to it as a
 * request would (to its class; for a huge block, to its pages); anything
 * else would file the block under another class. A pointer that is not a
 * live block is named by the lookup. */
static BALLOC_COLD void balloc_check_sized(void *p, size_t size) {
    size_t u = balloc_lookup_usable(p, OP_FREE);
    size_t want = chunk_kind_of((uintptr_t)p) == CHUNK_KIND_ARENA ? balloc_good_size(size)
                                                                 : balloc_page_round(size);
    if (size != u && want != u)
        util_fatal_ptr("wrong size in sized free", p);
}

/* sized: size is the caller's (balloc_free_sized), checked on the way.
 * counted: as for balloc_malloc_inline. */
BALLOC_INLINE size_t balloc_free_inline(void *p, bool sized, size_t size, bool counted) {
    uintptr_t a = (uintptr_t)p;
    if (BALLOC_LIKELY(chunk_kind_of(a) == CHUNK_KIND_ARENA)) {
        struct pmap_ent e = chunk_of(a)->pmap[chunk_page_of(a)];
        unsigned cls = e.cls;
        /* A size of another class goes to the exact check. A page that
         * holds heap-profile samples sends its frees to the slow path,
         * which drops the sample (prof.h): compared with the class at once
         * (the count is the high byte). */
        bool size_ok = !sized || (size <= SZ_FAST_MAX && sz_fast_class(size) == cls);
        unsigned tag = BALLOC_PROF ? cls | (unsigned)e.sampled << 8 : cls;
        if (BALLOC_LIKELY(tag < SC_NTCACHE && size_ok)) {
            /* p starts a region: its offset in the run is a multiple of the
             * class size (within a slab's pages that also bounds the index;
             * a large run's pages past its block are marked PMAP_CLS_NONE). */
            uint64_t off = (a & PAGE_MASK_B) + ((uint64_t)e.pgoff << PAGE_LG);
            uint64_t m = sc_div_magic[cls];
            struct tbin *b = tcache_bin(cls);
            uint32_t n = b->n;
            /* A block holding the free key takes the slow path, which
             * checks whether it is free already (a tail call: nothing
             * stays live across it). */
            if (BALLOC_LIKELY(off * m <= m - 1 && n < b->cap && !check_key_present(p))) {
                check_on_free(p, cls);
                tbin_push(b, n, p);
                if (counted)
                    tcount_add_freed(&tcache_tls, sz_usable(cls));
                return sz_usable(cls);
            }
        }
    }
    if (sized && p != NULL)
        balloc_check_sized(p, size);
    return balloc_free_slow(p, counted);
}

BALLOC_EXPORT void balloc_free(void *p) { (void)balloc_free_inline(p, false, 0, false); }

BALLOC_EXPORT size_t balloc_free_usable(void *p) { return balloc_free_inline(p, false, 0, false); }

BALLOC_EXPORT void balloc_free_sized(void *p, size_t size) {
    (void)balloc_free_inline(p, true, size, false);
}

BALLOC_EXPORT size_t balloc_free_counted(void *p) { return balloc_free_inline(p, false, 0, true); }

BALLOC_EXPORT void balloc_free_sized_counted(void *p, size_t size) {
    (void)balloc_free_inline(p, true, size, true);
}

/* ---- counted bytes -------------------------------------------------------- */

BALLOC_EXPORT void balloc_counted_add(size_t allocated, size_t freed) {
    balloc_ensure_boot();
    tcount_add(&tcache_tls, allocated, freed);
}

BALLOC_EXPORT int64_t balloc_counted_total(void) { return tcount_total(); }

BALLOC_EXPORT size_t balloc_counted_slots(void) { return tcount_slots(); }

/* ---- sizes -------------------------------------------------------------- */

BALLOC_EXPORT size_t balloc_usable_size(const void *p) {
    if (p == NULL)
        return 0;
    return balloc_lookup_usable(p, OP_USABLE);
}

BALLOC_EXPORT size_t balloc_good_size(size_t size) {
    if (size >= PTRDIFF_MAX)
        return 0;
    balloc_ensure_boot();
    if (size <= SC_LARGE_MAX)
        return sz_usable(sz_class(size));
    return balloc_page_round(size);
}

/* ---- calloc / realloc --------------------------------------------------- */

static void *balloc_calloc_small(size_t total, size_t *usable) {
    size_t u;
    void *p = balloc_malloc_inline(total, &u, COUNT_NONE);
    if (p)
        memset(p, 0, total);
    if (usable)
        *usable = u;
    return p;
}

BALLOC_EXPORT void *balloc_calloc_usable(size_t n, size_t size, size_t *usable) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total) || total >= PTRDIFF_MAX)
        return balloc_oom(usable);
    if (total <= SZ_FAST_MAX)
        return balloc_calloc_small(total, usable);
    balloc_ensure_boot();
    if (total <= SC_LARGE_MAX) {
        unsigned cls = sz_class(total);
        struct arena *a = tcache_arena(&tcache_tls);
        bool zeroed = false;
        void *p = a ? arena_alloc_large(a, cls, 0, &zeroed) : NULL;
        if (p == NULL)
            return balloc_oom(usable);
        if (!zeroed)
            memset(p, 0, total);
        if (BALLOC_PROF)
            balloc_prof_count(p, sc_size[cls]);
        if (usable)
            *usable = sc_size[cls];
        return p;
    }
    void *p = huge_alloc(total, 0, true);
    if (p == NULL)
        return balloc_oom(usable);
    if (BALLOC_PROF)
        balloc_prof_count(p, balloc_page_round(total));
    if (usable)
        *usable = balloc_page_round(total);
    return p;
}

BALLOC_EXPORT void *balloc_calloc(size_t n, size_t size) { return balloc_calloc_usable(n, size, NULL); }

BALLOC_EXPORT void *balloc_calloc_usable_counted(size_t n, size_t size, size_t *usable) {
    size_t u;
    void *p = balloc_calloc_usable(n, size, &u);
    struct tcache *tc = &tcache_tls;
    if (BALLOC_LIKELY(p != NULL && tc->count != NULL))
        tcount_add_allocated(tc, u);
    else if (p != NULL)
        balloc_count_slow(u, 0);
    if (usable)
        *usable = u;
    return p;
}

BALLOC_EXPORT size_t balloc_resize_in_place(void *p, size_t size) {
    if (p == NULL)
        return 0;
    size_t old = balloc_lookup_usable(p, OP_RESIZE);
    if (size >= PTRDIFF_MAX)
        return old;
    size_t want = balloc_good_size(size);
    if (want == old)
        return old;
    uintptr_t a = (uintptr_t)p;
    if (chunk_kind_of(a) == CHUNK_KIND_ARENA) {
        struct run *r = chunk_run_of(chunk_of(a), a);
        if (r->kind == RUN_LARGE && size > SC_SMALL_MAX && size <= SC_LARGE_MAX) {
            unsigned cls = sz_class(size);
            if (!arena_resize_large(p, cls))
                return sc_size[cls];
        }
        return old;
    }
    struct huge_hdr *h = huge_hdr_of(p);
    if (size > SC_LARGE_MAX && !huge_resize(h, size))
        return h->usable;
    return old;
}

BALLOC_EXPORT void *balloc_realloc_usable(void *p, size_t size, size_t *usable) {
    if (p == NULL)
        return balloc_malloc_usable(size, usable);
    if (size == 0) {
        balloc_free(p);
        if (usable)
            *usable = 0;
        return NULL;
    }
    if (size >= PTRDIFF_MAX)
        return balloc_oom(usable);
    size_t old = balloc_lookup_usable(p, OP_REALLOC);
    size_t want = balloc_good_size(size);
    if (want == old || (old > SC_SMALL_MAX && balloc_resize_in_place(p, size) == want)) {
        if (usable)
            *usable = want;
        return p;
    }
    size_t u;
    void *q = balloc_malloc_usable(size, &u);
    if (q == NULL)
        return balloc_oom(usable);
    memcpy(q, p, old < size ? old : size);
    balloc_free(p);
    if (usable)
        *usable = u;
    return q;
}

BALLOC_EXPORT void *balloc_realloc(void *p, size_t size) { return balloc_realloc_usable(p, size, NULL); }

/* ---- aligned ------------------------------------------------------------ */

/* For an alignment up to a page: the plain request whose class holds
 * aligned regions (classes that are multiples of align do: slabs start on
 * pages and regions sit at multiples of the class size), or 0 if only a
 * page-aligned large run or a huge mapping will do. */
static size_t balloc_aligned_request(size_t align, size_t size) {
    if (align <= SC_QUANTUM)
        return size;
    if (align > PAGE_SIZE_B)
        return 0;
    size_t s = ((size ? size : 1) + align - 1) & ~(align - 1);
    if (BUILD_CANARY_BYTES) {
        /* Hardened build: a small region also holds the canary (asking for
         * t - canary gets the class of t, a multiple of align); if none
         * fits, a large class (page-aligned, no canary). */
        size_t t = (s + BUILD_CANARY_BYTES + align - 1) & ~(align - 1);
        if (t <= SC_SMALL_MAX)
            s = t - BUILD_CANARY_BYTES;
        else if (s < SC_LARGE_MIN)
            s = SC_LARGE_MIN;
    }
    return s <= SC_LARGE_MAX ? s : 0;
}

BALLOC_EXPORT size_t balloc_good_size_aligned(size_t align, size_t size) {
    if (align == 0 || (align & (align - 1)) || size >= PTRDIFF_MAX || align >= PTRDIFF_MAX)
        return 0;
    size_t s = balloc_aligned_request(align, size);
    if (s || align <= SC_QUANTUM)
        return balloc_good_size(s);
    if (size <= SC_LARGE_MAX)
        return balloc_good_size(size < SC_LARGE_MIN ? SC_LARGE_MIN : size);
    return balloc_page_round(size);
}

BALLOC_EXPORT void *balloc_aligned_alloc(size_t align, size_t size) {
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (size >= PTRDIFF_MAX || align >= PTRDIFF_MAX)
        return balloc_oom(NULL);
    size_t s = balloc_aligned_request(align, size);
    if (s || align <= SC_QUANTUM)
        return balloc_malloc(s);
    balloc_ensure_boot();
    if (size <= SC_LARGE_MAX) {
        unsigned cls = sc_index(size < SC_LARGE_MIN ? SC_LARGE_MIN : size);
        struct arena *a = tcache_arena(&tcache_tls);
        bool zeroed;
        void *p = a ? arena_alloc_large(a, cls, align, &zeroed) : NULL;
        if (p) {
            check_on_alloc(p, cls);
            if (BALLOC_PROF)
                balloc_prof_count(p, sc_size[cls]);
            return p;
        }
    }
    void *p = huge_alloc(size, align, false);
    if (p == NULL)
        return balloc_oom(NULL);
    if (BALLOC_PROF)
        balloc_prof_count(p, balloc_usable_size(p));
    return p;
}

BALLOC_EXPORT int balloc_posix_memalign(void **out, size_t align, size_t size) {
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    int saved = errno;
    void *p = balloc_aligned_alloc(align, size);
    if (p == NULL) {
        errno = saved;
        return ENOMEM;
    }
    *out = p;
    return 0;
}

/* ---- defrag support ----------------------------------------------------- */

BALLOC_EXPORT int balloc_defrag_hint(const void *p) {
    if (p == NULL || chunk_kind_of((uintptr_t)p) != CHUNK_KIND_ARENA)
        return 0;
    return arena_defrag_hint(p);
}

BALLOC_EXPORT void *balloc_malloc_usable_no_tcache(size_t size, size_t *usable) {
    if (size >= PTRDIFF_MAX)
        return balloc_oom(usable);
    balloc_ensure_boot();
    void *p;
    size_t u;
    if (size <= SC_LARGE_MAX) {
        unsigned cls = sz_class(size);
        p = balloc_alloc_uncached(&tcache_tls, cls);
        if (p)
            check_on_alloc(p, cls);
        u = sz_usable(cls);
        tcache_note_bypass(&tcache_tls);
    } else {
        p = huge_alloc(size, 0, false);
        u = balloc_page_round(size);
    }
    if (p == NULL)
        return balloc_oom(usable);
    if (BALLOC_PROF)
        balloc_prof_count(p, u);
    if (usable)
        *usable = u;
    return p;
}

/* The block goes straight back to its slab, whose bitmap catches a second
 * free there, so the free key is not needed: the block keeps every byte
 * until it is handed out again, which servers' defrag code relies on (it
 * looks an object up by the copy it has just freed). The hardened build
 * still poisons it. A second free of such a block through the cached path
 * is caught when that cache flushes, as in the build without the key. */
BALLOC_EXPORT size_t balloc_free_usable_no_tcache(void *p) {
    if (p == NULL)
        return 0;
    size_t usable = balloc_lookup_usable(p, OP_FREE);
    if (BALLOC_PROF)
        balloc_prof_free(p);
    if (chunk_kind_of((uintptr_t)p) == CHUNK_KIND_ARENA) {
        if (BALLOC_SECURE)
            (void)balloc_mark_freed(p);
        arena_free(p);
        tcache_note_bypass(&tcache_tls);
    } else {
        huge_free(huge_hdr_of(p));
    }
    return usable;
}

/* ---- batch free ----------------------------------------------------------- */

/* A batch is taken in windows of this many blocks. Each window's blocks are
 * grouped by arena, and an arena's by size class (a counting sort: no
 * comparison sort, no allocation on this free path). The caller's own
 * arena gets its share under one hold of its lock; another arena's small
 * blocks go to it as one lock-free batch per class (arena_free_remote), which
 * its own thread's next refill of the class takes whole, so a thread freeing
 * what another allocated never holds the other's lock (measured with
 * bench/lazyfree.c: freeing under the owner's lock, even 512 blocks a hold,
 * halved the owner's allocation rate while it ran). Other blocks (16..32
 * KiB, or a remote batch that cannot be had) go under one hold of their
 * arena's lock; blocks above 32 KiB one by one. */
#define BALLOC_BATCH_WINDOW 512

/* The size class of a block of an arena chunk. */
static unsigned balloc_class_of(const void *p) {
    uintptr_t a = (uintptr_t)p;
    return chunk_of(a)->pmap[chunk_page_of(a)].cls;
}

/* Whether p is among v[0, n): only asked of a block that holds the free
 * key, which a block this window has already marked does. */
static bool balloc_batch_holds(void *const *v, size_t n, const void *p) {
    for (size_t i = 0; i < n; i++)
        if (v[i] == p)
            return true;
    return false;
}

/* Blocks v[0, n) of arena a, all of cached classes: one lock for the
 * caller's own arena, else one remote batch per small class. */
static void balloc_batch_give(struct arena *a, void **v, size_t n, bool own) {
    if (own) {
        arena_free_batch(a, v, (uint32_t)n);
        return;
    }
    uint32_t count[SC_NTCACHE + 1] = {0};
    void *sorted[BALLOC_BATCH_WINDOW];
    for (size_t i = 0; i < n; i++)
        count[balloc_class_of(v[i]) + 1]++;
    for (unsigned c = 1; c <= SC_NTCACHE; c++)
        count[c] += count[c - 1];
    for (size_t i = 0; i < n; i++)
        sorted[count[balloc_class_of(v[i])]++] = v[i];
    size_t start = 0;
    for (unsigned c = 0; c < SC_NTCACHE; c++) {
        uint32_t k = (uint32_t)(count[c] - start);
        /* As a cache flush gives them (tcache_free_remote); a class this
         * thread does not cache goes under the lock. */
        if (k && c < SC_NSMALL && tcache_tls.bins[c].cap)
            tcache_free_remote(a, c, sorted + start, k);
        else if (k)
            arena_free_batch(a, sorted + start, k);
        start = count[c];
    }
}

/* One window: every block is checked as balloc_free checks it (a pointer
 * that is no live block's start, or a freed one, aborts naming it; so does a
 * block twice in the window) and marked freed, then given back per arena.
 * Returns the usable bytes freed. */
static size_t balloc_free_window(void **v, size_t n) {
    size_t bytes = 0, k = 0;  /* v[0, k): marked blocks of cached classes */
    for (size_t i = 0; i < n; i++) {
        void *p = v[i];
        if (p == NULL)
            continue;
        bytes += balloc_lookup_usable(p, OP_FREE);
        if (BALLOC_PROF)
            balloc_prof_free(p);
        if (chunk_kind_of((uintptr_t)p) != CHUNK_KIND_ARENA) {
            huge_free(huge_hdr_of(p));
            continue;
        }
        if (BALLOC_UNLIKELY(check_key_present(p)) && balloc_batch_holds(v, k, p))
            util_fatal_ptr(balloc_op_freed[OP_FREE], p);
        if (balloc_mark_freed(p) >= SC_NTCACHE) {
            arena_free(p);  /* no key: freed now, so a second copy meets a free run */
            continue;
        }
        v[k++] = p;
    }
    struct arena *own = tcache_tls.arena;
    void *others[BALLOC_BATCH_WINDOW];
    while (k) {
        /* Split off the first block's arena. */
        struct arena *a = arena_of_ptr(v[0]);
        size_t m = 0, rest = 0;
        for (size_t i = 0; i < k; i++) {
            if (arena_of_ptr(v[i]) == a)
                v[m++] = v[i];
            else
                others[rest++] = v[i];
        }
        balloc_batch_give(a, v, m, a == own);
        memcpy(v, others, rest * sizeof(void *));
        k = rest;
    }
    return bytes;
}

static size_t balloc_free_batch_all(void **ptrs, size_t n, bool counted) {
    size_t total = 0;
    struct tcache *tc = &tcache_tls;
    if (n && tc->state == TCACHE_NONE)
        tcache_init(tc);  /* its arena and its bins' caps size the batches */
    for (size_t off = 0; off < n; off += BALLOC_BATCH_WINDOW) {
        size_t w = n - off < BALLOC_BATCH_WINDOW ? n - off : BALLOC_BATCH_WINDOW;
        size_t bytes = balloc_free_window(ptrs + off, w);
        if (counted && bytes)
            balloc_count_slow(0, bytes);
        total += bytes;
    }
    return total;
}

BALLOC_EXPORT void balloc_free_batch(void **ptrs, size_t n) { (void)balloc_free_batch_all(ptrs, n, false); }

BALLOC_EXPORT size_t balloc_free_batch_counted(void **ptrs, size_t n) {
    return balloc_free_batch_all(ptrs, n, true);
}

/* ---- maintenance and stats ---------------------------------------------- */

BALLOC_EXPORT void balloc_purge(void) {
    balloc_ensure_boot();
    arena_purge_all();
    huge_purge();
}

BALLOC_EXPORT void balloc_thread_flush(void) { tcache_flush_all(&tcache_tls); }

BALLOC_EXPORT int balloc_get_stats(struct balloc_stats *st) {
    if (st == NULL)
        return -1;
    balloc_ensure_boot();
    struct arena_stats as;
    unsigned nthreads;
    tcache_registry_lock();
    size_t cached = tcache_cached_bytes_locked(&nthreads);
    arena_stats_read(&as);
    tcache_registry_unlock();
    size_t hall, hmap, hmeta, hcached;
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    size_t bmap = base_mapped();
    memset(st, 0, sizeof(*st));
    st->version = BALLOC_STATS_VERSION;
    st->allocated = as.allocated - cached + hall;
    st->active = as.active + hall;
    st->metadata = as.metadata + hmeta + bmap;
    st->dirty = as.dirty + hcached;
    st->muzzy = as.muzzy;
    st->resident = st->active + st->dirty + st->muzzy + st->metadata;
    uint64_t ps = 0, pb = 0;
    if (BALLOC_PROF)
        prof_stats(&ps, &pb);
    st->prof_samples = (size_t)ps;
    st->prof_sampled_bytes = (size_t)pb;
    st->mapped = as.mapped + hmap + bmap;
    st->retained = as.retained;
    st->frag_smallbins = as.frag_smallbins;
    st->huge_allocated = hall;
    st->narenas = arena_count();
    st->nthreads = nthreads;
    return 0;
}

/* ---- drop-in exports ---------------------------------------------------- */

#ifdef BALLOC_PRELOAD
#include <malloc.h>

#define BALLOC_ALIAS(target) __attribute__((alias(#target), visibility("default")))

void *malloc(size_t size) BALLOC_ALIAS(balloc_malloc);
void free(void *p) BALLOC_ALIAS(balloc_free);
void *calloc(size_t n, size_t size) BALLOC_ALIAS(balloc_calloc);
void *realloc(void *p, size_t size) BALLOC_ALIAS(balloc_realloc);
int posix_memalign(void **out, size_t align, size_t size) BALLOC_ALIAS(balloc_posix_memalign);
void *aligned_alloc(size_t align, size_t size) BALLOC_ALIAS(balloc_aligned_alloc);

BALLOC_EXPORT void *reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return balloc_oom(NULL);
    return balloc_realloc(p, total);
}

BALLOC_EXPORT void *memalign(size_t align, size_t size) {
    if (align & (align - 1)) {  /* like glibc: round up to a power of two */
        size_t a = 1;
        while (a < align && a)
            a <<= 1;
        if (a == 0)
            return balloc_oom(NULL);
        align = a;
    }
    return balloc_aligned_alloc(align ? align : 1, size);
}

BALLOC_EXPORT void *valloc(size_t size) { return balloc_aligned_alloc(PAGE_SIZE_B, size); }

BALLOC_EXPORT void *pvalloc(size_t size) {
    size_t s = balloc_page_round(size ? size : 1);
    if (s < size)
        return balloc_oom(NULL);
    return balloc_aligned_alloc(PAGE_SIZE_B, s);
}

BALLOC_EXPORT size_t malloc_usable_size(void *p) { return balloc_usable_size(p); }
#endif
