#include "huge.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "build.h"
#include "chunk.h"
#include "decay.h"
#include "lockrank.h"

/* Live blocks: atomic counters, no lock. */
static size_t huge_allocated_bytes, huge_mapped_bytes, huge_count;

/* A cached range: page-aligned, mapped, holds no live block. */
struct huge_range {
    char *base;
    size_t size;
};

/* Invariants (under huge_lock): huge_cache[0, huge_ncache) are disjoint,
 * sorted by base, and no two touch (touching ranges merge); huge_cache_bytes
 * is the sum of their sizes (stored atomically for huge_stats). */
static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;
static struct huge_range huge_cache[HUGE_CACHE_SLOTS];
static unsigned huge_ncache;
static size_t huge_cache_bytes;
/* Cached bytes count as dirty pages and decay like an arena's (under huge_lock). */
static struct decay huge_decay_state;

static void huge_account(long sign, size_t usable, size_t mapped) {
    if (sign > 0) {
        __atomic_fetch_add(&huge_allocated_bytes, usable, __ATOMIC_RELAXED);
        __atomic_fetch_add(&huge_mapped_bytes, mapped, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_sub(&huge_allocated_bytes, usable, __ATOMIC_RELAXED);
        __atomic_fetch_sub(&huge_mapped_bytes, mapped, __ATOMIC_RELAXED);
    }
}

static inline uintptr_t huge_chunk_ceil(uintptr_t a) {
    return (a + CHUNK_MASK) & ~(uintptr_t)CHUNK_MASK;
}

/* ---- the cache (caller holds huge_lock) ---------------------------------- */

static void cache_bytes_add(size_t add, size_t sub) {
    __atomic_store_n(&huge_cache_bytes, huge_cache_bytes + add - sub, __ATOMIC_RELAXED);
}

static void cache_remove_at(unsigned i) {
    memmove(&huge_cache[i], &huge_cache[i + 1], (huge_ncache - i - 1) * sizeof(huge_cache[0]));
    huge_ncache--;
}

static void cache_insert_at(unsigned i, char *base, size_t size) {
    memmove(&huge_cache[i + 1], &huge_cache[i], (huge_ncache - i) * sizeof(huge_cache[0]));
    huge_cache[i].base = base;
    huge_cache[i].size = size;
    huge_ncache++;
}

static unsigned cache_smallest(void) {
    unsigned best = 0;
    for (unsigned i = 1; i < huge_ncache; i++)
        if (huge_cache[i].size < huge_cache[best].size)
            best = i;
    return best;
}

/* Unmap cached bytes beyond limit (a page multiple), smallest ranges first;
 * a range bigger than the excess loses only its tail. If the kernel refuses
 * an munmap the range stays cached (and counted), over the limit until the
 * next trim. */
static void cache_trim(size_t limit) {
    while (huge_cache_bytes > limit) {
        unsigned i = cache_smallest();
        size_t excess = huge_cache_bytes - limit;
        struct huge_range *r = &huge_cache[i];
        if (r->size <= excess) {
            if (pages_unmap(r->base, r->size))
                return;
            cache_bytes_add(0, r->size);
            cache_remove_at(i);
        } else {
            if (pages_unmap(r->base + r->size - excess, excess))
                return;
            r->size -= excess;
            cache_bytes_add(0, excess);
        }
    }
}

/* The most the cache may hold: max(HUGE_CACHE_MIN, live huge mappings / 8). */
static size_t cache_limit(void) {
    size_t live = __atomic_load_n(&huge_mapped_bytes, __ATOMIC_RELAXED) / 8;
    return (live > HUGE_CACHE_MIN ? live : HUGE_CACHE_MIN) & ~PAGE_MASK_B;
}

/* Add [base, base + size), merging with the ranges it touches. With every
 * slot taken, the smaller of the new range and the smallest cached one is
 * unmapped. */
static void cache_put(char *base, size_t size) {
    unsigned i = 0;
    while (i < huge_ncache && huge_cache[i].base < base)
        i++;
    bool prev = i > 0 && huge_cache[i - 1].base + huge_cache[i - 1].size == base;
    bool next = i < huge_ncache && base + size == huge_cache[i].base;
    if (prev && next) {
        huge_cache[i - 1].size += size + huge_cache[i].size;
        cache_remove_at(i);
    } else if (prev) {
        huge_cache[i - 1].size += size;
    } else if (next) {
        huge_cache[i].base = base;
        huge_cache[i].size += size;
    } else {
        if (huge_ncache == HUGE_CACHE_SLOTS) {
            unsigned s = cache_smallest();
            /* With no slot for it, the new range has no place in the books. */
            if (huge_cache[s].size > size || pages_unmap(huge_cache[s].base, huge_cache[s].size)) {
                pages_unmap_or_leak(base, size);
                return;
            }
            cache_bytes_add(0, huge_cache[s].size);
            cache_remove_at(s);
            if (s < i)
                i--;
        }
        cache_insert_at(i, base, size);
    }
    cache_bytes_add(size, 0);
}

/* Take [s, s + len) out of range i, which holds it; the parts before and
 * after stay cached (the part before is unmapped if no slot is left). */
static void cache_carve(unsigned i, char *s, size_t len) {
    struct huge_range *r = &huge_cache[i];
    /* These pages may become the inside of a new block: a free of a pointer
     * there is an invalid free, not a double free of an older block. */
    for (uintptr_t ch = huge_chunk_ceil((uintptr_t)s); ch < (uintptr_t)s + len; ch += CHUNK_SIZE)
        if (chunk_kind_of(ch) == CHUNK_KIND_HUGE_FREED)
            chunk_unregister(ch);
    size_t front = (size_t)(s - r->base), back = r->size - front - len;
    cache_bytes_add(0, len);
    if (front == 0 && back == 0) {
        cache_remove_at(i);
    } else if (front == 0) {
        r->base = s + len;
        r->size = back;
    } else if (back == 0) {
        r->size = front;
    } else if (huge_ncache < HUGE_CACHE_SLOTS) {
        r->size = front;
        cache_insert_at(i + 1, s + len, back);
    } else {
        pages_unmap_or_leak(r->base, front);
        cache_bytes_add(0, front);
        r->base = s + len;
        r->size = back;
    }
}

static unsigned cache_largest(void) {
    unsigned best = 0;
    for (unsigned i = 1; i < huge_ncache; i++)
        if (huge_cache[i].size > huge_cache[best].size)
            best = i;
    return best;
}

/* Give pieces taken by cache_get back (huge_lock not held). */
static void cache_return(const struct huge_range *pc, unsigned n) {
    lockrank_lock(&huge_lock, LOCKRANK_HUGE);
    for (unsigned k = 0; k < n; k++)
        cache_put(pc[k].base, pc[k].size);
    cache_trim(cache_limit());
    lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
}

/* need bytes at a chunk-aligned address from the cache: carved from the
 * smallest range that holds them; else gathered: the largest range's
 * chunk-aligned part is grown to need (in place, or moved into a fresh
 * chunk-aligned reservation), and the pages of the next largest ranges are
 * moved in after it, so every cached page can serve the block and only what
 * the whole cache lacks faults. NULL if the cache cannot help. */
static char *cache_get(size_t need) {
    lockrank_lock(&huge_lock, LOCKRANK_HUGE);
    unsigned best = UINT_MAX, grow = UINT_MAX;
    size_t grow_avail = 0;
    for (unsigned i = 0; i < huge_ncache; i++) {
        struct huge_range *r = &huge_cache[i];
        size_t lead = (size_t)(huge_chunk_ceil((uintptr_t)r->base) - (uintptr_t)r->base);
        if (lead >= r->size)
            continue;
        size_t avail = r->size - lead;
        if (avail >= need && (best == UINT_MAX || r->size < huge_cache[best].size))
            best = i;
        if (avail > grow_avail) {
            grow = i;
            grow_avail = avail;
        }
    }
    if (best != UINT_MAX) {
        char *s = (char *)huge_chunk_ceil((uintptr_t)huge_cache[best].base);
        cache_carve(best, s, need);
        lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
        return s;
    }
    if (grow == UINT_MAX) {
        lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
        return NULL;
    }
    /* pc[0] is the head of the block; the others need only page alignment. */
    struct huge_range pc[HUGE_CACHE_SLOTS];
    unsigned n = 1;
    size_t got = grow_avail;
    pc[0].base = (char *)huge_chunk_ceil((uintptr_t)huge_cache[grow].base);
    pc[0].size = grow_avail;
    cache_carve(grow, pc[0].base, grow_avail);
    while (got < need && huge_ncache > 0 && n < HUGE_CACHE_SLOTS) {
        unsigned i = cache_largest();
        size_t len = huge_cache[i].size < need - got ? huge_cache[i].size : need - got;
        pc[n].base = huge_cache[i].base;
        pc[n].size = len;
        cache_carve(i, pc[n].base, len);
        got += len;
        n++;
    }
    lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
    /* Into a fresh chunk-aligned reservation, each piece at its offset,
     * none resized: a range gathered before spans several kernel mappings,
     * which the kernel moves as they are (Linux 6.17 and later) but will not
     * grow. A move the kernel refuses sends every piece left back to the
     * cache, where carving still serves blocks that fit. */
    char *t = pages_map_aligned(need, CHUNK_SIZE);
    if (t == NULL) {
        cache_return(pc, n);
        return NULL;
    }
    size_t off = 0;
    for (unsigned k = 0; k < n; k++) {
        if (pages_move(pc[k].base, pc[k].size, t + off, pc[k].size)) {
            /* [t + off, + size) is disposed of; the rest of the block goes. */
            if (off)
                pages_unmap_or_leak(t, off);
            if (off + pc[k].size < need)
                pages_unmap_or_leak(t + off + pc[k].size, need - off - pc[k].size);
            cache_return(pc + k, n - k);
            return NULL;
        }
        off += pc[k].size;
    }
    return t;
}

/* Unmap what the decay curve no longer allows; smallest ranges go first
 * (cache_trim), which keeps the ranges most likely to serve the next block. */
static void cache_decay(uint64_t now) {
    struct decay *d = &huge_decay_state;
    if (!decay_due(d, now))
        return;
    size_t np = huge_cache_bytes >> PAGE_LG;
    size_t limit = decay_advance(d, now, np);
    if (np > limit)
        cache_trim((size_t)limit << PAGE_LG);
    decay_purged(d, huge_cache_bytes >> PAGE_LG);
}

/* After a block went into the cache (huge_lock held): decay at once with a
 * zero decay time, else here only without a background thread; returns
 * whether a background thread should be told. */
static bool cache_after_put(void) {
    if (huge_decay_state.ms == 0 || !__atomic_load_n(&decay_background, __ATOMIC_RELAXED)) {
        cache_decay(pages_clock_ns());
        return false;
    }
    return true;
}

static void huge_wake_background(void) {
    void (*wake)(void) = __atomic_load_n(&decay_wake_hook, __ATOMIC_ACQUIRE);
    if (wake)
        wake();
}

void huge_boot(int64_t decay_ms) {
    decay_init(&huge_decay_state, decay_ms, pages_clock_ns(), 0x68756765u);
}

void huge_set_decay_ms(int64_t ms) {
    lockrank_lock(&huge_lock, LOCKRANK_HUGE);
    uint64_t now = pages_clock_ns();
    decay_set_ms(&huge_decay_state, ms, now);
    cache_decay(now);
    lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
}

uint64_t huge_decay(uint64_t now_ns) {
    lockrank_lock(&huge_lock, LOCKRANK_HUGE);
    cache_decay(now_ns);
    uint64_t next = DECAY_NEVER;
    if ((huge_cache_bytes || huge_decay_state.nlast) && huge_decay_state.ms > 0)
        next = huge_decay_state.deadline_ns;
    lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
    return next;
}

/* ---- blocks --------------------------------------------------------------- */

void *huge_alloc(size_t size, size_t align, bool zero) {
    size_t usable = (size + PAGE_MASK_B) & ~PAGE_MASK_B;
    /* At least a page: a block must own the address its pointer names (an
     * empty one would point into whatever follows its mapping). */
    if (size == 0)
        usable = PAGE_SIZE_B;
    size_t a = align < PAGE_SIZE_B ? PAGE_SIZE_B : align;
    /* Hardened: a guard page between the header and the block, one after. */
    if (a < HUGE_HDR_OFF)
        a = HUGE_HDR_OFF;
    size_t tail = BUILD_GUARD_PAGES * PAGE_SIZE_B;
    if (usable < size || a + usable + tail < usable)
        return NULL;
    char *map, *user;
    struct huge_hdr *h;
    unsigned kind;
    size_t map_size;
    if (a < CHUNK_SIZE) {
        map_size = a + usable + tail;
        map = NULL;
        if (a == PAGE_SIZE_B && !zero)
            map = cache_get(map_size);
        if (map == NULL)
            map = pages_map_aligned(map_size, CHUNK_SIZE);
        if (map == NULL)
            return NULL;
        user = map + a;
        h = (struct huge_hdr *)map;
        kind = CHUNK_KIND_HUGE;
    } else {
        char *raw = pages_map_aligned(a + usable + tail, a);
        if (raw == NULL)
            return NULL;
        user = raw + a;
        h = (struct huge_hdr *)(user - HUGE_HDR_OFF);
        map = (char *)h;
        /* If the kernel keeps the lead, it stays part of the block's mapping
         * (freed with it), not leaked. */
        if (map > raw && pages_unmap(raw, (size_t)(map - raw)))
            map = raw;
        map_size = (size_t)(user - map) + usable + tail;
        kind = CHUNK_KIND_HUGE_PREV;
    }
    if (((uintptr_t)user + usable) >> CHUNK_ADDR_BITS ||
        (BUILD_GUARD_PAGES && (pages_guard(user - PAGE_SIZE_B, PAGE_SIZE_B) ||
                               pages_guard(user + usable, PAGE_SIZE_B)))) {
        pages_unmap_or_leak(map, map_size);
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
        h = (struct huge_hdr *)((char *)chunk_of(a) - HUGE_HDR_OFF);
    else
        return NULL;
    if (h->magic != HUGE_MAGIC || h->user != (const char *)p)
        return NULL;
    return h;
}

bool huge_was_freed(const void *p) {
    uintptr_t a = (uintptr_t)p, off = a & CHUNK_MASK;
    return chunk_kind_of(a) == CHUNK_KIND_HUGE_FREED &&
           (off == 0 || (off >= HUGE_HDR_OFF && (off & (off - 1)) == 0));
}

void huge_free(struct huge_hdr *h) {
    char *map = h->map;
    size_t map_size = h->map_size;
    huge_account(-1, h->usable, map_size);
    __atomic_fetch_sub(&huge_count, 1, __ATOMIC_RELAXED);
    h->magic = 0;
    chunk_register((uintptr_t)chunk_of((uintptr_t)h->user), CHUNK_KIND_HUGE_FREED);
    if (BALLOC_SECURE) {  /* no cache: later accesses fault */
        pages_unmap_or_leak(map, map_size);
        return;
    }
    lockrank_lock(&huge_lock, LOCKRANK_HUGE);
    cache_put(map, map_size);
    cache_trim(cache_limit());
    bool wake = cache_after_put();
    lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
    if (wake)
        huge_wake_background();
}

/* Shrinking gives the tail to the cache. Growing takes the cached range
 * that starts where the block ends, then extends the mapping in place. */
bool huge_resize(struct huge_hdr *h, size_t size) {
    if (BALLOC_SECURE)
        return true;  /* the guard page after the block would have to move */
    size_t usable = (size + PAGE_MASK_B) & ~PAGE_MASK_B;
    if (usable < size)
        return true;
    if (usable == h->usable)
        return false;
    size_t head = (size_t)(h->user - h->map);
    size_t new_map = head + usable;
    char *end = h->map + h->map_size;
    if (new_map < h->map_size) {
        lockrank_lock(&huge_lock, LOCKRANK_HUGE);
        cache_put(h->map + new_map, h->map_size - new_map);
        cache_trim(cache_limit());
        bool wake = cache_after_put();
        lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
        if (wake)
            huge_wake_background();
    } else {
        size_t extra = new_map - h->map_size, took = 0;
        lockrank_lock(&huge_lock, LOCKRANK_HUGE);
        for (unsigned i = 0; i < huge_ncache; i++) {
            if (huge_cache[i].base == end) {
                took = huge_cache[i].size < extra ? huge_cache[i].size : extra;
                cache_carve(i, end, took);
                break;
            }
        }
        lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
        if (took < extra && pages_resize_inplace(h->map, h->map_size + took, new_map)) {
            if (took) {
                lockrank_lock(&huge_lock, LOCKRANK_HUGE);
                cache_put(end, took);
                lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
            }
            return true;
        }
    }
    huge_account(-1, h->usable, h->map_size);
    huge_account(1, usable, new_map);
    h->usable = usable;
    h->map_size = new_map;
    return false;
}

void huge_purge(void) {
    lockrank_lock(&huge_lock, LOCKRANK_HUGE);
    cache_trim(0);
    decay_purged(&huge_decay_state, huge_cache_bytes >> PAGE_LG);  /* what an munmap failure left */
    lockrank_unlock(&huge_lock, LOCKRANK_HUGE);
}

void huge_stats(size_t *allocated, size_t *mapped, size_t *metadata, size_t *cached) {
    size_t c = __atomic_load_n(&huge_cache_bytes, __ATOMIC_RELAXED);
    *allocated = __atomic_load_n(&huge_allocated_bytes, __ATOMIC_RELAXED);
    *mapped = __atomic_load_n(&huge_mapped_bytes, __ATOMIC_RELAXED) + c;
    *metadata = __atomic_load_n(&huge_count, __ATOMIC_RELAXED) * (HUGE_HDR_OFF + BUILD_GUARD_PAGES * PAGE_SIZE_B);
    *cached = c;
}

void huge_prefork(void) { lockrank_lock(&huge_lock, LOCKRANK_HUGE); }
void huge_postfork_parent(void) { lockrank_unlock(&huge_lock, LOCKRANK_HUGE); }
void huge_postfork_child(void) { lockrank_reinit(&huge_lock, LOCKRANK_HUGE); }
