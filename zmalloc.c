/* zmalloc.c -- accounting and policy over the backend chosen at build time:
 * the core a server vendors in place of its own zmalloc.c (counters, OOM
 * handler, the API, the allocator's and /proc's figures, and the per-block
 * calls active defrag makes). The defrag driver (zmalloc_defrag.c), the
 * memory report (zmalloc_report.c) and lazy free (zmalloc_lazyfree.c) are
 * built on its public API alone.
 *
 * zmalloc counts; the backend header (backends/NAME.h) allocates. The count
 * lives in per-thread slots, two cache lines each (struct zm_slot_line says
 * why), written only by the thread that owns the slot; zmalloc_used_memory()
 * adds them up. A thread that exits gives its slot back with its balance
 * still in it, and the next thread to take the slot goes on from that
 * balance: the sum never loses or doubles an exited thread's bytes, whatever
 * a concurrent reader sees, and the number of threads is not capped.
 *
 * A backend that counts for zmalloc (ZB_COUNTS: balloc, whose thread cache
 * keeps such slots and updates them on its own fast path) does it instead in
 * usable-size mode (ZM_FUSED): zmalloc then keeps no slots, and a zmalloc or
 * zfree is one call into the allocator. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* Releases a block that the C library allocated on the caller's behalf
 * (backtrace_symbols and the like). */
void zlibc_free(void *ptr) { free(ptr); }

#include "zmalloc.h"

#include "backends/select.h"

/* The allocation functions go where the backend's heap profiler cuts its
 * stacks (ZB_API_TEXT: balloc's section), so profiles name their callers. */
#ifdef ZB_API_TEXT
#define ZM_API ZB_API_TEXT
#else
#define ZM_API
#endif

/* The configuration this file is built for (zmalloc.h): what every program
 * compiled for the same one links against. */
const char ZMALLOC_CONFIG_SYMBOL[] = "";

/* Defaults for what a server's own config.h may not define. */
#ifndef CACHE_LINE_SIZE
#define CACHE_LINE_SIZE 64
#endif

#define ZM_LIKELY(x) ZB_LIKELY(x)
#define ZM_UNLIKELY(x) ZB_UNLIKELY(x)
/* Thread-locals: an executable (PIE or not) gets the one-instruction
 * local-exec access by default; a shared object would get a call per access,
 * so ask for initial-exec there. */
#if defined(__PIC__) && !defined(__PIE__)
#define ZM_TLS __thread __attribute__((tls_model("initial-exec")))
#else
#define ZM_TLS __thread
#endif

/* Requests at or above this are refused: no allocator can satisfy them, and
 * refusing early keeps size + PREFIX_SIZE from overflowing. */
#define ZM_SIZE_LIMIT (SIZE_MAX / 2)

/* Prefix-header mode keeps the requested size in a header in front of the
 * block, as large as the strictest alignment so the user pointer keeps it. */
#ifdef HAVE_MALLOC_SIZE
#define PREFIX_SIZE ((size_t)0)
#else
#define PREFIX_SIZE ((size_t)alignof(max_align_t))
#endif

/* ---- Per-thread counters ------------------------------------------------ */

#if defined(HAVE_MALLOC_SIZE) && defined(ZB_COUNTS)
#define ZM_FUSED 1

static inline void zm_count(int64_t delta) { zb_count(delta); }
static inline int64_t zm_count_total(void) { return zb_counted_total(); }
size_t zmalloc_thread_slots(void) { return zb_counted_slots(); }

#else

/* A slot is owned by at most one living thread at a time; only the owner
 * writes `used`, with relaxed stores, so the hot path is a plain add.
 * Ownership passes with a release store of owned=0 and an acquire CAS 0->1,
 * so a new owner sees the last balance. Slots are never freed: readers walk
 * the list without a lock. */
typedef struct zm_slot {
    _Atomic int64_t used;       /* bytes allocated less bytes freed, via this slot */
    _Atomic int owned;          /* 1 while a living thread owns the slot */
    struct zm_slot *next;       /* next slot ever made; immutable once linked */
} zm_slot;

/* Each slot owns two cache lines, not one: the adjacent-line prefetcher of
 * x86 cores fetches lines in aligned pairs, so two slots in neighbouring
 * lines would still bounce between the cores that write them. */
struct zm_slot_line {
    alignas(2 * CACHE_LINE_SIZE) zm_slot slot;
};

/* The first slots come from here, the rest one page each from mmap: the
 * library's own bookkeeping never goes through the backend or the count. */
#define ZM_STATIC_SLOTS 128
static struct zm_slot_line zm_static_slots[ZM_STATIC_SLOTS];
static _Atomic unsigned zm_static_next;
static _Atomic(zm_slot *) zm_slot_list;

/* Updates from a thread whose slot was already given back: a thread-exit
 * destructor of the program may still allocate or free. */
static _Atomic int64_t zm_orphan_used;

static ZM_TLS zm_slot *zm_my_slot;
static ZM_TLS int zm_thread_exited;
static pthread_key_t zm_slot_key;
static pthread_once_t zm_slot_key_once = PTHREAD_ONCE_INIT;

static void zm_slot_release(void *arg) {
    zm_slot *s = (zm_slot *)arg;
    zm_my_slot = NULL;
    zm_thread_exited = 1;
    atomic_store_explicit(&s->owned, 0, memory_order_release);
}

static void zm_slot_key_create(void) {
    if (pthread_key_create(&zm_slot_key, zm_slot_release) != 0) {
        static const char msg[] = "zmalloc: cannot create the thread-exit key\n";
        ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)n;
        abort();
    }
}

static zm_slot *zm_slot_new(void) {
    unsigned i = atomic_fetch_add_explicit(&zm_static_next, 1, memory_order_relaxed);
    zm_slot *s;
    if (i < ZM_STATIC_SLOTS) {
        s = &zm_static_slots[i].slot;
    } else {
        void *page = mmap(NULL, sizeof(struct zm_slot_line), PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) return NULL;
        s = (zm_slot *)page;
    }
    atomic_store_explicit(&s->owned, 1, memory_order_relaxed);
    zm_slot *head = atomic_load_explicit(&zm_slot_list, memory_order_relaxed);
    do {
        s->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&zm_slot_list, &head, s, memory_order_release,
                                                    memory_order_relaxed));
    return s;
}

static zm_slot *zm_slot_acquire(void) {
    zm_slot *s;
    pthread_once(&zm_slot_key_once, zm_slot_key_create);
    for (s = atomic_load_explicit(&zm_slot_list, memory_order_acquire); s; s = s->next) {
        int expected = 0;
        if (atomic_load_explicit(&s->owned, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&s->owned, &expected, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            break;
    }
    if (s == NULL && (s = zm_slot_new()) == NULL) return NULL;
    if (pthread_setspecific(zm_slot_key, s) != 0) {
        atomic_store_explicit(&s->owned, 0, memory_order_release);
        return NULL;
    }
    zm_my_slot = s;
    return s;
}

__attribute__((noinline, cold)) static void zm_count_slow(int64_t delta) {
    zm_slot *s = zm_thread_exited ? NULL : zm_slot_acquire();
    if (s == NULL) {
        atomic_fetch_add_explicit(&zm_orphan_used, delta, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&s->used, atomic_load_explicit(&s->used, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

static inline void zm_count(int64_t delta) {
    zm_slot *s = zm_my_slot;
    if (ZM_LIKELY(s != NULL))
        atomic_store_explicit(&s->used, atomic_load_explicit(&s->used, memory_order_relaxed) + delta,
                              memory_order_relaxed);
    else
        zm_count_slow(delta);
}

static int64_t zm_count_total(void) {
    int64_t sum = atomic_load_explicit(&zm_orphan_used, memory_order_relaxed);
    for (zm_slot *s = atomic_load_explicit(&zm_slot_list, memory_order_acquire); s; s = s->next)
        sum += atomic_load_explicit(&s->used, memory_order_relaxed);
    return sum;
}

size_t zmalloc_thread_slots(void) {
    size_t n = 0;
    for (zm_slot *s = atomic_load_explicit(&zm_slot_list, memory_order_acquire); s; s = s->next) n++;
    return n;
}
#endif /* ZM_FUSED */

static _Atomic size_t zm_peak;

size_t zmalloc_used_memory(void) {
    int64_t sum = zm_count_total();
    /* A reader racing a cross-thread free can see the free before the
     * matching allocation; never report that as a huge unsigned number. */
    size_t used = sum > 0 ? (size_t)sum : 0;
    size_t peak = atomic_load_explicit(&zm_peak, memory_order_relaxed);
    while (used > peak &&
           !atomic_compare_exchange_weak_explicit(&zm_peak, &peak, used, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    return used;
}

size_t zmalloc_used_memory_peak(void) {
    zmalloc_used_memory();
    return atomic_load_explicit(&zm_peak, memory_order_relaxed);
}

/* ---- Out of memory ------------------------------------------------------- */

static void zm_put_stderr(const char *s) {
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, s, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;
        }
        s += n;
        len -= (size_t)n;
    }
}

/* Formats without allocating: the heap may be exhausted. */
static void zmalloc_default_oom(size_t size) {
    char msg[96];
    snprintf(msg, sizeof(msg), "zmalloc: Out of memory trying to allocate %zu bytes\n", size);
    zm_put_stderr(msg);
    abort();
}

static void (*zmalloc_oom_handler)(size_t) = zmalloc_default_oom;

__attribute__((noinline, cold)) static void *zm_oom(size_t size) {
    zmalloc_oom_handler(size);
    return NULL;
}

#if defined(ZM_FUSED)
/* The backend's counted malloc calls zm_oom itself when it fails (see
 * zmalloc below). The hook is set before main, and again by
 * zmalloc_set_oom_handler should a constructor of the program's run first. */
__attribute__((constructor)) static void zm_set_backend_oom(void) { zb_set_counted_oom(zm_oom); }
#endif

void zmalloc_set_oom_handler(void (*oom_handler)(size_t)) {
    zmalloc_oom_handler = oom_handler ? oom_handler : zmalloc_default_oom;
#if defined(ZM_FUSED)
    zm_set_backend_oom();
#endif
}

/* ---- Usable size of a fresh block --------------------------------------- */

#if defined(HAVE_MALLOC_SIZE) && defined(ZB_GOOD_SIZE_EXACT)
/* Where the usable size is a function of the request alone, cache it for
 * small requests. Every size class of these allocators is a multiple of 8,
 * so all requests in (8k-8, 8k] share the usable size of 8k. A zero entry
 * (the table not filled yet, early in start-up) means "look it up". */
#define ZM_GOOD_TABLE_MAX 16384
static uint16_t zm_good_table[ZM_GOOD_TABLE_MAX / 8 + 1];

__attribute__((constructor)) static void zm_good_table_fill(void) {
    for (size_t i = 0; i <= ZM_GOOD_TABLE_MAX / 8; i++) {
        size_t good = zb_good_size(i * 8);
        zm_good_table[i] = good <= UINT16_MAX ? (uint16_t)good : 0;
    }
}

static inline size_t zm_usable_of(size_t request, void *p) {
    if (ZM_LIKELY(request <= ZM_GOOD_TABLE_MAX)) {
        size_t u = zm_good_table[(request + 7) >> 3];
        if (ZM_LIKELY(u != 0)) return u;
    }
    return zb_usable_size(p);
}

static inline void *zm_backend_alloc(size_t size, int zero, size_t *usable) {
    void *p = zero ? zb_calloc(size) : zb_malloc(size);
    if (ZM_LIKELY(p != NULL)) *usable = zm_usable_of(size, p);
    return p;
}
#elif defined(ZM_FUSED)
/* The backend counts (zb_*_counted): nothing to do here. */
#elif defined(HAVE_MALLOC_SIZE)
static inline void *zm_backend_alloc(size_t size, int zero, size_t *usable) {
    return zero ? zb_calloc_usable(size, usable) : zb_malloc_usable(size, usable);
}
#endif

/* ---- Allocation ----------------------------------------------------------- */

/* The one allocation path: returns NULL on failure having counted nothing. */
static inline void *zm_alloc(size_t size, int zero, size_t *usable) {
    if (ZM_UNLIKELY(size >= ZM_SIZE_LIMIT)) return NULL;
#if defined(ZM_FUSED)
    return zero ? zb_calloc_counted(size, usable) : zb_malloc_counted(size, usable);
#elif defined(HAVE_MALLOC_SIZE)
    size_t u;
    void *p = zm_backend_alloc(size, zero, &u);
    if (ZM_UNLIKELY(p == NULL)) return NULL;
    zm_count((int64_t)u);
    if (usable) *usable = u;
    return p;
#else
    char *block = zero ? zb_calloc(size + PREFIX_SIZE) : zb_malloc(size + PREFIX_SIZE);
    if (ZM_UNLIKELY(block == NULL)) return NULL;
    *(size_t *)block = size;
    zm_count((int64_t)(size + PREFIX_SIZE));
    if (usable) *usable = size;
    return block + PREFIX_SIZE;
#endif
}

#if defined(ZM_FUSED)
/* The backend's counted malloc calls zm_oom itself when it fails, so
 * zmalloc is one tail call into the allocator's fast path. Its size limit
 * is zmalloc's: it refuses sizes from PTRDIFF_MAX on. */
_Static_assert(ZM_SIZE_LIMIT == (size_t)PTRDIFF_MAX, "the backend's size limit is zmalloc's");
ZM_API void *zmalloc(size_t size) { return zb_malloc_counted_oom(size); }
#else
ZM_API void *zmalloc(size_t size) {
    void *p = zm_alloc(size, 0, NULL);
    return ZM_LIKELY(p != NULL) ? p : zm_oom(size);
}
#endif

ZM_API void *ztrymalloc_usable(size_t size, size_t *usable) { return zm_alloc(size, 0, usable); }
ZM_API void *ztrycalloc_usable(size_t size, size_t *usable) { return zm_alloc(size, 1, usable); }
ZM_API void *ztrymalloc(size_t size) { return zm_alloc(size, 0, NULL); }
ZM_API void *ztrycalloc(size_t size) { return zm_alloc(size, 1, NULL); }

ZM_API void *zcalloc(size_t size) {
    void *p = zm_alloc(size, 1, NULL);
    return ZM_LIKELY(p != NULL) ? p : zm_oom(size);
}
ZM_API void *zmalloc_usable(size_t size, size_t *usable) {
    void *p = zm_alloc(size, 0, usable);
    return ZM_LIKELY(p != NULL) ? p : zm_oom(size);
}
ZM_API void *zcalloc_usable(size_t size, size_t *usable) {
    void *p = zm_alloc(size, 1, usable);
    return ZM_LIKELY(p != NULL) ? p : zm_oom(size);
}

ZM_API void *zcalloc_num(size_t num, size_t size) {
    if (size != 0 && num > SIZE_MAX / size) return zm_oom(SIZE_MAX);
    return zcalloc(num * size);
}

ZM_API char *zstrdup_usable(const char *s, size_t *usable) {
    size_t len = strlen(s) + 1;
    char *p = zmalloc_usable(len, usable);
    if (p) memcpy(p, s, len);
    return p;
}
ZM_API char *zstrdup(const char *s) { return zstrdup_usable(s, NULL); }

/* ---- Free ------------------------------------------------------------------ */

#if defined(ZM_FUSED)
/* The backend frees and counts in one call (NULL included): zfree is a tail
 * call into the allocator's fast path. */
void zfree_usable(void *ptr, size_t *usable) {
    size_t u = zb_free_counted(ptr);
    if (usable) *usable = u;
}

void zfree(void *ptr) { (void)zb_free_counted(ptr); }

void zfree_with_size(void *ptr, size_t size) {
    if (ptr != NULL) zb_free_sized_counted(ptr, size);
}
#else
/* Frees a block (not NULL) and returns what its count was: its usable size,
 * or in prefix-header mode its request (the header is counted besides). The
 * count moves before the free: measured on glibc and jemalloc, counting
 * after it costs about 0.5 ns more a pair. */
static inline size_t zm_free(void *ptr) {
#ifdef HAVE_MALLOC_SIZE
    size_t u = zb_usable_size(ptr);
    zm_count(-(int64_t)u);
    zb_free_sized(ptr, u);
    return u;
#else
    char *block = (char *)ptr - PREFIX_SIZE;
    size_t size = *(size_t *)block;
    zm_count(-(int64_t)(size + PREFIX_SIZE));
    zb_free_sized(block, size + PREFIX_SIZE);
    return size;
#endif
}

void zfree_usable(void *ptr, size_t *usable) {
    size_t u = ptr != NULL ? zm_free(ptr) : 0;
    if (usable) *usable = u;
}

void zfree(void *ptr) {
    if (ptr != NULL) zm_free(ptr);
}

void zfree_with_size(void *ptr, size_t size) {
    if (ptr == NULL) return;
#ifdef HAVE_MALLOC_SIZE
    zm_count(-(int64_t)size);
    zb_free_sized(ptr, size);
#else
    (void)size; /* the header knows it */
    zm_free(ptr);
#endif
}
#endif /* ZM_FUSED */

/* ---- Batch free ------------------------------------------------------------ */

#if defined(ZM_FUSED)
void zfree_batch(void **ptrs, size_t n) {
    if (n) (void)zb_free_batch_counted(ptrs, n);
}
#else
/* Each block's count is taken off first, as zfree does, and the array
 * rewritten to the backend's pointers (a prefix header's start). */
void zfree_batch(void **ptrs, size_t n) {
    size_t k = 0;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        void *ptr = ptrs[i];
        if (ptr == NULL) continue;
#ifdef HAVE_MALLOC_SIZE
        total += (int64_t)zb_usable_size(ptr);
        ptrs[k++] = ptr;
#else
        char *block = (char *)ptr - PREFIX_SIZE;
        total += (int64_t)(*(size_t *)block + PREFIX_SIZE);
        ptrs[k++] = block;
#endif
    }
    if (k == 0) return;
    zm_count(-total);
    zb_free_batch(ptrs, k);
}
#endif

/* ---- Realloc --------------------------------------------------------------- */

/* Returns NULL either because size was 0 (the block is freed) or because the
 * backend failed (the block is intact and still counted). */
ZM_API static void *zm_realloc(void *ptr, size_t size, size_t *usable, size_t *old_usable) {
    size_t old = 0, now = 0;
    void *np = NULL;
    if (ptr == NULL) {
        np = zm_alloc(size, 0, &now);
        goto out;
    }
    if (size == 0) {
        zfree_usable(ptr, &old);
        goto out;
    }
    if (size >= ZM_SIZE_LIMIT) {
        old = zmalloc_usable_size(ptr);
        goto out;
    }
#ifdef HAVE_MALLOC_SIZE
    old = zb_usable_size(ptr);
    np = zb_realloc(ptr, size);
    if (np == NULL) goto out;
    /* A look-up, never the table: realloc may keep a larger block in place
     * (mimalloc and tcmalloc do when shrinking a little). */
    now = zb_usable_size(np);
    zm_count((int64_t)now - (int64_t)old);
#else
    char *block = (char *)ptr - PREFIX_SIZE;
    old = *(size_t *)block;
    char *nb = zb_realloc(block, size + PREFIX_SIZE);
    if (nb == NULL) goto out;
    *(size_t *)nb = size;
    now = size;
    zm_count((int64_t)size - (int64_t)old);
    np = nb + PREFIX_SIZE;
#endif
out:
    if (usable) *usable = np ? now : 0;
    if (old_usable) *old_usable = old;
    return np;
}

ZM_API void *ztryrealloc_usable2(void *ptr, size_t size, size_t *usable, size_t *old_usable) {
    return zm_realloc(ptr, size, usable, old_usable);
}
ZM_API void *ztryrealloc_usable(void *ptr, size_t size, size_t *usable) {
    return zm_realloc(ptr, size, usable, NULL);
}
ZM_API void *ztryrealloc(void *ptr, size_t size) { return zm_realloc(ptr, size, NULL, NULL); }

ZM_API void *zrealloc_usable2(void *ptr, size_t size, size_t *usable, size_t *old_usable) {
    void *np = zm_realloc(ptr, size, usable, old_usable);
    return (np != NULL || size == 0) ? np : zm_oom(size);
}
ZM_API void *zrealloc_usable(void *ptr, size_t size, size_t *usable) {
    return zrealloc_usable2(ptr, size, usable, NULL);
}
ZM_API void *zrealloc(void *ptr, size_t size) { return zrealloc_usable2(ptr, size, NULL, NULL); }

/* ---- Names a server's own tree calls without this header ------------------ */

/* A server's bundled code may declare the core functions itself instead of
 * including zmalloc.h: Valkey's deps/hdr_histogram calls valkey_malloc,
 * valkey_realloc and valkey_free; Redis's calls zmalloc, zrealloc and zfree
 * (older ones zcalloc too); both call zcalloc_num. So these names exist as
 * real symbols, each the same function as its zmalloc_* twin (an alias on
 * ELF, a one-line call elsewhere). The valkey_* names are strong. The plain
 * names are weak: a program that defines one of them itself keeps its own,
 * and zlib's zcalloc (a different function under the same name, the reason
 * the macros in zmalloc.h exist) wins over ours when zlib is linked
 * statically, so linking both never clashes. */
#undef zmalloc
#undef zcalloc
#undef zrealloc
#undef zfree
#if defined(__ELF__) && defined(__GNUC__)
/* An alias carries its target's attributes (malloc, alloc_size) where the
 * compiler can copy them. */
#if defined(__has_attribute)
#if __has_attribute(copy)
#define ZM_ALIAS_OF(target) alias(#target), copy(target)
#endif
#endif
#ifndef ZM_ALIAS_OF
#define ZM_ALIAS_OF(target) alias(#target)
#endif
#define ZM_EXPORT_AS(ret, name, params, target, args)                                              \
    ret name params __attribute__((ZM_ALIAS_OF(target)));
#define ZM_EXPORT_WEAK(ret, name, params, target, args)                                            \
    ret name params __attribute__((weak, ZM_ALIAS_OF(target)));
#else
#define ZM_EXPORT_AS(ret, name, params, target, args)                                              \
    ret name params { return target args; }
#define ZM_EXPORT_WEAK(ret, name, params, target, args) ZM_EXPORT_AS(ret, name, params, target, args)
#endif
ZM_EXPORT_AS(void *, valkey_malloc, (size_t size), zmalloc_malloc, (size))
ZM_EXPORT_AS(void *, valkey_calloc, (size_t size), zmalloc_calloc, (size))
ZM_EXPORT_AS(void *, valkey_realloc, (void *ptr, size_t size), zmalloc_realloc, (ptr, size))
ZM_EXPORT_AS(void, valkey_free, (void *ptr), zmalloc_free, (ptr))
ZM_EXPORT_WEAK(void *, zmalloc, (size_t size), zmalloc_malloc, (size))
ZM_EXPORT_WEAK(void *, zcalloc, (size_t size), zmalloc_calloc, (size))
ZM_EXPORT_WEAK(void *, zrealloc, (void *ptr, size_t size), zmalloc_realloc, (ptr, size))
ZM_EXPORT_WEAK(void, zfree, (void *ptr), zmalloc_free, (ptr))
#define zmalloc zmalloc_malloc
#define zcalloc zmalloc_calloc
#define zrealloc zmalloc_realloc
#define zfree zmalloc_free

/* ---- Sizes ----------------------------------------------------------------- */

size_t zmalloc_size(void *ptr) {
#ifdef HAVE_MALLOC_SIZE
    return zb_usable_size(ptr);
#else
    return *(size_t *)((char *)ptr - PREFIX_SIZE) + PREFIX_SIZE;
#endif
}

size_t zmalloc_usable_size(void *ptr) {
#ifdef HAVE_MALLOC_SIZE
    return zb_usable_size(ptr);
#else
    return *(size_t *)((char *)ptr - PREFIX_SIZE);
#endif
}

void *extend_to_usable(void *ptr, size_t size) {
    (void)size;
    return ptr;
}

/* ---- Active defrag: the calls a server's defrag.c makes ------------------- */

/* The move and the driver built on these are in zmalloc_defrag.c. */
#ifdef HAVE_DEFRAG
ZM_API void *ztrymalloc_no_tcache(size_t size) {
    size_t u = 0;
    void *p = size < ZM_SIZE_LIMIT ? zb_malloc_no_tcache(size, &u) : NULL;
    if (ZM_LIKELY(p != NULL)) zm_count((int64_t)u);
    return p;
}

ZM_API void *zmalloc_no_tcache(size_t size) {
    void *p = ztrymalloc_no_tcache(size);
    return ZM_LIKELY(p != NULL) ? p : zm_oom(size);
}

void zfree_no_tcache(void *ptr) {
    if (ptr == NULL) return;
    zm_count(-(int64_t)zb_free_no_tcache(ptr));
}

int zmalloc_defrag_hint(void *ptr) { return ptr != NULL && zb_defrag_hint(ptr); }

#if defined(USE_JEMALLOC) && !defined(USE_BALLOC) && !defined(JEMALLOC_FRAG_HINT)
/* Servers' defrag.c declares and calls the hint their patched jemalloc
 * adds; with any other jemalloc this one stands in, so such a server links
 * and defragments unchanged. balloc exports its own. */
int je_get_defrag_hint(void *ptr);
int je_get_defrag_hint(void *ptr) { return zmalloc_defrag_hint(ptr); }
#endif
#endif

/* ---- jemalloc's flags calls ------------------------------------------------ */

#if defined(USE_JEMALLOC) && defined(HAVE_MALLOC_SIZE)
ZM_API void *zmalloc_with_flags(size_t size, int flags) {
    void *p = size < ZM_SIZE_LIMIT ? je_mallocx(size ? size : 1, flags) : NULL;
    if (p == NULL) return zm_oom(size);
    zm_count((int64_t)je_malloc_usable_size(p));
    return p;
}

ZM_API void *zrealloc_with_flags(void *ptr, size_t size, int flags) {
    if (ptr == NULL) return zmalloc_with_flags(size, flags);
    if (size == 0) {
        zfree_with_flags(ptr, flags);
        return NULL;
    }
    size_t old = je_malloc_usable_size(ptr);
    void *np = size < ZM_SIZE_LIMIT ? je_rallocx(ptr, size, flags) : NULL;
    if (np == NULL) return zm_oom(size);
    zm_count((int64_t)je_malloc_usable_size(np) - (int64_t)old);
    return np;
}

void zfree_with_flags(void *ptr, int flags) {
    if (ptr == NULL) return;
    zm_count(-(int64_t)je_malloc_usable_size(ptr));
    je_dallocx(ptr, flags);
}
#endif

/* ---- Purge and friends ----------------------------------------------------- */

int zmalloc_purge(void) { return zb_purge(); }

int zmalloc_heap_profile_dump(const char *path) {
    int rc = zb_heap_profile_dump(path);
    if (rc == 0)
        return 0;
    errno = rc;
    return -1;
}

int zmalloc_heap_profiling(void) { return zb_heap_profiling(); }
int jemalloc_purge(void) { return zb_purge(); }
void set_jemalloc_bg_thread(int enable) { zb_set_background_thread(enable); }

/* Trims the C library's heap even when another allocator serves zmalloc:
 * memory the C library allocated for itself can still be given back. */
void zlibc_trim(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

void zmadvise_dontneed(void *ptr) {
#if defined(MADV_DONTNEED)
    if (ptr == NULL) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)ptr, end = start + zmalloc_usable_size(ptr);
    uintptr_t first = (start + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t last = end & ~(uintptr_t)(page - 1);
    if (last > first) madvise((void *)first, last - first, MADV_DONTNEED);
#else
    (void)ptr;
#endif
}

/* ---- Process figures ------------------------------------------------------- */

/* Reads a whole small /proc file into buf; returns its length or -1. */
static ssize_t zm_read_small_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* Field i (0-based, as proc(5) numbers them less one) of /proc/self/stat.
 * The command name (field 1) may hold spaces and parentheses, so fields
 * from 2 on are counted from the last ')'. Returns 1 on success. */
int get_proc_stat_ll(int i, long long *res) {
#if defined(HAVE_PROC_STAT)
    char buf[4096];
    if (i < 2 || zm_read_small_file("/proc/self/stat", buf, sizeof(buf)) <= 0) return 0;
    char *p = strrchr(buf, ')');
    if (p == NULL) return 0;
    p++;
    for (int field = 2; field < i; field++) {
        p = strchr(p + 1, ' ');
        if (p == NULL) return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(p + 1, &end, 10);
    if (errno != 0 || end == p + 1) return 0;
    *res = v;
    return 1;
#else
    (void)i, (void)res;
    return 0;
#endif
}

size_t zmalloc_get_rss(void) {
    long long pages;
    if (!get_proc_stat_ll(23, &pages) || pages < 0) return 0;
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Sum of a field ("Rss:", "Private_Dirty:", ...) over /proc/<pid>/smaps, in
 * bytes; pid -1 is this process. */
size_t zmalloc_get_smap_bytes_by_field(char *field, long pid) {
#if defined(HAVE_PROC_SMAPS)
    char path[64], buf[8192];
    size_t total = 0, have = 0, flen = strlen(field);
    if (pid == -1)
        snprintf(path, sizeof(path), "/proc/self/smaps");
    else
        snprintf(path, sizeof(path), "/proc/%ld/smaps", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
            *nl = '\0';
            if (strncmp(line, field, flen) == 0) total += strtoull(line + flen, NULL, 10) * 1024;
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == sizeof(buf) - 1) have = 0; /* a line longer than buf: skip it */
    }
    close(fd);
    return total;
#else
    (void)field, (void)pid;
    return 0;
#endif
}

size_t zmalloc_get_private_dirty(long pid) {
    return zmalloc_get_smap_bytes_by_field("Private_Dirty:", pid);
}

size_t zmalloc_get_memory_size(void) {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 0;
    return (size_t)pages * (size_t)page;
#else
    return 0;
#endif
}

/* ---- Allocator figures ----------------------------------------------------- */

int zmalloc_get_allocator_info_7(int refresh_stats, size_t *allocated, size_t *active,
                                 size_t *resident, size_t *retained, size_t *muzzy,
                                 size_t *frag_smallbins_bytes) {
    struct zb_stats st;
    int real = zb_stats(refresh_stats, &st);
    if (allocated) *allocated = st.allocated;
    if (active) *active = st.active;
    if (resident) *resident = st.resident;
    if (retained) *retained = st.retained;
    if (muzzy) *muzzy = st.muzzy;
    if (frag_smallbins_bytes) *frag_smallbins_bytes = st.frag_smallbins;
    return real;
}

int zmalloc_get_allocator_info_6(size_t *allocated, size_t *active, size_t *resident,
                                 size_t *retained, size_t *muzzy, size_t *frag_smallbins_bytes) {
    return zmalloc_get_allocator_info_7(1, allocated, active, resident, retained, muzzy,
                                        frag_smallbins_bytes);
}

int zmalloc_get_allocator_info_5(size_t *allocated, size_t *active, size_t *resident,
                                 size_t *retained, size_t *muzzy) {
    return zmalloc_get_allocator_info_7(1, allocated, active, resident, retained, muzzy, NULL);
}

int zmalloc_get_allocator_info_by_arena(unsigned int arena, int refresh_stats, size_t *allocated,
                                        size_t *active, size_t *resident,
                                        size_t *frag_smallbins_bytes) {
    struct zb_stats st;
    int real = zb_stats_arena(arena, refresh_stats, &st);
    if (allocated) *allocated = st.allocated;
    if (active) *active = st.active;
    if (resident) *resident = st.resident;
    if (frag_smallbins_bytes) *frag_smallbins_bytes = st.frag_smallbins;
    return real;
}

size_t zmalloc_get_frag_smallbins(void) {
    struct zb_stats st;
    zb_stats(1, &st);
    return st.frag_smallbins;
}

size_t zmalloc_get_frag_smallbins_by_arena(unsigned int arena) {
    struct zb_stats st;
    zb_stats_arena(arena, 1, &st);
    return st.frag_smallbins;
}

#ifdef REDIS_TEST
int zmalloc_test(int argc, char **argv, int flags) {
    (void)argc, (void)argv, (void)flags;
    size_t before = zmalloc_used_memory();
    void *p = zmalloc(123);
    size_t during = zmalloc_used_memory();
    int ok = during == before + zmalloc_size(p);
    p = zrealloc(p, 456);
    ok = ok && zmalloc_used_memory() == before + zmalloc_size(p);
    zfree(p);
    ok = ok && zmalloc_used_memory() == before;
    printf("zmalloc_test: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
#endif
