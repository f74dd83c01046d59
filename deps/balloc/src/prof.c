#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "prof.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "lockrank.h"
#include "pages.h"
#include "util.h"

int prof_active;
unsigned prof_epoch = 1;  /* a thread's cache starts at 0: it draws at its first slow path */
uint64_t prof_live;

static uint64_t prof_mean = 512 * 1024;
static char prof_prefix[256] = "balloc";
static bool prof_final;
static unsigned prof_dump_seq;
static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;

static _Thread_local uint64_t prof_rng __attribute__((tls_model("initial-exec")));
static _Thread_local int prof_busy __attribute__((tls_model("initial-exec")));
static uint64_t prof_seed_next;

/* The allocator's code (PROF_TEXT); the linker defines both ends. Weak: a
 * build without any PROF_TEXT function links too (nothing is cut then). */
extern const char __start_balloc_text[] __attribute__((weak, visibility("hidden")));
extern const char __stop_balloc_text[] __attribute__((weak, visibility("hidden")));

/* ---- tables ---------------------------------------------------------------- */

/* One stack: its frames and what its samples add up to. */
struct prof_stack {
    uint64_t hash;
    uint32_t depth;
    uint32_t next;                  /* the next stack in its bucket, or PROF_NONE */
    uint64_t live_objs, live_bytes; /* samples not freed yet */
    uint64_t all_objs, all_bytes;   /* every sample since start */
    uintptr_t pcs[PROF_MAX_FRAMES];
};

/* One live sample; p == 0: an empty slot (linear probing). */
struct prof_slot {
    uintptr_t p;
    uint64_t usable;
    uint32_t stack;
};

#define PROF_NONE UINT32_MAX

static struct prof_slot *prof_slots;    /* a power of two, at most half full */
static size_t prof_nslots;
static struct prof_stack *prof_stacks;  /* in order of first sight */
static size_t prof_nstacks, prof_cap_stacks;
static uint32_t *prof_buckets;          /* stack chains by hash; prof_cap_stacks of them */
static uint64_t prof_live_bytes;

static uint64_t prof_hash_ptr(uintptr_t p) {
    uint64_t x = (uint64_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint64_t prof_hash_stack(const uintptr_t *pcs, uint32_t depth) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ depth;
    for (uint32_t i = 0; i < depth; i++)
        h = (h ^ prof_hash_ptr(pcs[i])) * 0x100000001b3ULL;
    return h;
}

/* Fresh mappings are zero: empty slots, and (below) chains rebuilt. */
static bool prof_grow_slots(void) {
    size_t n = prof_nslots ? 2 * prof_nslots : 1024;
    struct prof_slot *s = pages_map(n * sizeof(*s));
    if (s == NULL)
        return true;
    for (size_t i = 0; i < prof_nslots; i++) {
        if (prof_slots[i].p == 0)
            continue;
        size_t j = prof_hash_ptr(prof_slots[i].p) & (n - 1);
        while (s[j].p)
            j = (j + 1) & (n - 1);
        s[j] = prof_slots[i];
    }
    if (prof_slots)
        pages_unmap_or_leak(prof_slots, prof_nslots * sizeof(*s));
    prof_slots = s;
    prof_nslots = n;
    return false;
}

static bool prof_grow_stacks(void) {
    size_t n = prof_cap_stacks ? 2 * prof_cap_stacks : 256;
    struct prof_stack *st = pages_map(n * sizeof(*st));
    uint32_t *b = pages_map(n * sizeof(*b));
    if (st == NULL || b == NULL) {
        if (st)
            pages_unmap_or_leak(st, n * sizeof(*st));
        if (b)
            pages_unmap_or_leak(b, n * sizeof(*b));
        return true;
    }
    if (prof_nstacks)
        memcpy(st, prof_stacks, prof_nstacks * sizeof(*st));
    memset(b, 0xff, n * sizeof(*b));
    for (size_t i = 0; i < prof_nstacks; i++) {
        size_t k = st[i].hash & (n - 1);
        st[i].next = b[k];
        b[k] = (uint32_t)i;
    }
    if (prof_stacks) {
        pages_unmap_or_leak(prof_stacks, prof_cap_stacks * sizeof(*st));
        pages_unmap_or_leak(prof_buckets, prof_cap_stacks * sizeof(*b));
    }
    prof_stacks = st;
    prof_buckets = b;
    prof_cap_stacks = n;
    return false;
}

/* The stack's index, added if new; PROF_NONE if memory ran out. */
static uint32_t prof_stack_find(const uintptr_t *pcs, uint32_t depth) {
    uint64_t h = prof_hash_stack(pcs, depth);
    for (uint32_t i = prof_buckets[h & (prof_cap_stacks - 1)]; i != PROF_NONE; i = prof_stacks[i].next)
        if (prof_stacks[i].hash == h && prof_stacks[i].depth == depth &&
            memcmp(prof_stacks[i].pcs, pcs, depth * sizeof(*pcs)) == 0)
            return i;
    if (prof_nstacks == prof_cap_stacks && prof_grow_stacks())
        return PROF_NONE;
    uint32_t i = (uint32_t)prof_nstacks++;
    struct prof_stack *s = &prof_stacks[i];
    memset(s, 0, sizeof(*s));
    s->hash = h;
    s->depth = depth;
    memcpy(s->pcs, pcs, depth * sizeof(*pcs));
    size_t k = h & (prof_cap_stacks - 1);
    s->next = prof_buckets[k];
    prof_buckets[k] = i;
    return i;
}

/* The slot holding p, or the empty slot where it would go. */
static size_t prof_slot_of(uintptr_t p) {
    size_t j = prof_hash_ptr(p) & (prof_nslots - 1);
    while (prof_slots[j].p && prof_slots[j].p != p)
        j = (j + 1) & (prof_nslots - 1);
    return j;
}

/* Empty slot j, moving back the entries of its run that hashed before it. */
static void prof_slot_remove(size_t j) {
    size_t mask = prof_nslots - 1;
    prof_slots[j].p = 0;
    for (size_t k = (j + 1) & mask; prof_slots[k].p; k = (k + 1) & mask) {
        size_t home = prof_hash_ptr(prof_slots[k].p) & mask;
        /* k's entry may move to j if j lies on its probe path (home .. k). */
        if (((k - home) & mask) >= ((k - j) & mask)) {
            prof_slots[j] = prof_slots[k];
            prof_slots[k].p = 0;
            j = k;
        }
    }
}

/* ---- the page's count of samples (prof.h: prof_page_count) ------------------ */

/* Saturates at 255: a page that ever counted that many keeps sending its
 * frees to the slow path until the page is reused (chunk.c clears it). */
static void prof_page_add(const void *p, int d) {
    uint8_t *c = prof_page_count(p);
    if (c == NULL)
        return;
    uint8_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
    while (v != 255 && !__atomic_compare_exchange_n(c, &v, (uint8_t)(v + d), true, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED))
        ;
}

/* ---- sampling ---------------------------------------------------------------- */

/* ln(x) for 0 < x <= 1 (no libm): x = 2^e * f with f in [1, 2), and
 * ln f = 2 atanh((f - 1) / (f + 1)) by its series (t <= 1/3: five terms
 * are within 1e-7). */
static double prof_ln(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ((1ULL << 52) - 1)) | (1023ULL << 52);
    double f;
    memcpy(&f, &bits, sizeof(f));
    double t = (f - 1) / (f + 1), t2 = t * t;
    double s = t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9)))));
    return e * 0.6931471805599453 + 2 * s;
}

int64_t prof_next_interval(void) {
    if (!__atomic_load_n(&prof_active, __ATOMIC_RELAXED))
        return INT64_MAX;
    if (prof_rng == 0) {
        /* Seeds differ per thread and repeat from run to run. */
        uint64_t z = __atomic_add_fetch(&prof_seed_next, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        prof_rng = (z ^ (z >> 31)) | 1;
    }
    uint64_t r = util_xorshift64(&prof_rng);
    double u = (double)((r >> 11) + 1) * (1.0 / 9007199254740992.0);  /* (0, 1] */
    double v = -prof_ln(u) * (double)__atomic_load_n(&prof_mean, __ATOMIC_RELAXED);
    return v >= 9e18 ? INT64_MAX : (int64_t)v;
}

static bool prof_in_text(uintptr_t pc) {
    return pc >= (uintptr_t)__start_balloc_text && pc < (uintptr_t)__stop_balloc_text;
}

PROF_TEXT void prof_sample(void *p, size_t usable) {
    if (prof_busy || !__atomic_load_n(&prof_active, __ATOMIC_RELAXED))
        return;
    prof_busy = 1;  /* backtrace() may allocate (its first call loads the unwinder) */
    void *raw[PROF_MAX_FRAMES + 16];
    int n = backtrace(raw, PROF_MAX_FRAMES + 16);
    /* Cut through the outermost frame of the allocator among the first few. */
    int first = 0;
    for (int i = 0; i < n && i < 16; i++)
        if (prof_in_text((uintptr_t)raw[i]))
            first = i + 1;
    uintptr_t pcs[PROF_MAX_FRAMES];
    uint32_t depth = 0;
    for (int i = first; i < n && depth < PROF_MAX_FRAMES; i++)
        pcs[depth++] = (uintptr_t)raw[i];
    lockrank_lock(&prof_lock, LOCKRANK_PROF);
    if ((prof_live + 1) * 2 > prof_nslots && prof_grow_slots()) {
        lockrank_unlock(&prof_lock, LOCKRANK_PROF);
        prof_busy = 0;
        return;  /* no memory for the tables: this sample is not taken */
    }
    uint32_t si = prof_stack_find(pcs, depth);
    size_t j = prof_slot_of((uintptr_t)p);
    if (si != PROF_NONE && prof_slots[j].p == 0) {
        prof_slots[j] = (struct prof_slot){(uintptr_t)p, usable, si};
        struct prof_stack *s = &prof_stacks[si];
        s->live_objs++, s->all_objs++;
        s->live_bytes += usable, s->all_bytes += usable;
        prof_live_bytes += usable;
        __atomic_store_n(&prof_live, prof_live + 1, __ATOMIC_RELAXED);
        prof_page_add(p, 1);
    }
    lockrank_unlock(&prof_lock, LOCKRANK_PROF);
    prof_busy = 0;
}

void prof_free(void *p) {
    lockrank_lock(&prof_lock, LOCKRANK_PROF);
    if (prof_nslots) {
        size_t j = prof_slot_of((uintptr_t)p);
        if (prof_slots[j].p) {
            struct prof_stack *s = &prof_stacks[prof_slots[j].stack];
            s->live_objs--;
            s->live_bytes -= prof_slots[j].usable;
            prof_live_bytes -= prof_slots[j].usable;
            prof_slot_remove(j);
            __atomic_store_n(&prof_live, prof_live - 1, __ATOMIC_RELAXED);
            prof_page_add(p, -1);
        }
    }
    lockrank_unlock(&prof_lock, LOCKRANK_PROF);
}

void prof_stats(uint64_t *samples, uint64_t *bytes) {
    lockrank_lock(&prof_lock, LOCKRANK_PROF);
    *samples = prof_live;
    *bytes = prof_live_bytes;
    lockrank_unlock(&prof_lock, LOCKRANK_PROF);
}

void prof_set_sample_bytes(uint64_t bytes) {
    __atomic_store_n(&prof_mean, bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&prof_epoch, 1, __ATOMIC_RELAXED);
}

uint64_t prof_sample_bytes(void) { return __atomic_load_n(&prof_mean, __ATOMIC_RELAXED); }

int prof_set_active(bool on) {
    int rc = 0;
    lockrank_lock(&prof_lock, LOCKRANK_PROF);
    if (on && ((prof_nslots == 0 && prof_grow_slots()) || (prof_cap_stacks == 0 && prof_grow_stacks())))
        rc = ENOMEM;  /* an earlier failure may have left one table made */
    else if (__atomic_load_n(&prof_active, __ATOMIC_RELAXED) != on) {
        __atomic_store_n(&prof_active, on, __ATOMIC_RELAXED);
        __atomic_add_fetch(&prof_epoch, 1, __ATOMIC_RELAXED);
    }
    lockrank_unlock(&prof_lock, LOCKRANK_PROF);
    return rc;
}

void prof_boot(bool on, uint64_t sample_bytes, const char *prefix, bool final) {
    prof_mean = sample_bytes;
    if (prefix && *prefix) {
        size_t n = strlen(prefix);
        if (n >= sizeof(prof_prefix))
            n = sizeof(prof_prefix) - 1;
        memcpy(prof_prefix, prefix, n);
        prof_prefix[n] = '\0';
    }
    prof_final = final;
    if (on)
        (void)prof_set_active(true);
}

/* ---- the dump ------------------------------------------------------------------ */

/* Buffered writes to fd, without stdio (no allocation); err keeps the
 * first failure. */
struct prof_out {
    int fd, err;
    size_t n;
    char buf[4096];
};

static void prof_flush(struct prof_out *o) {
    size_t off = 0;
    while (off < o->n && !o->err) {
        ssize_t w = write(o->fd, o->buf + off, o->n - off);
        if (w < 0 && errno != EINTR)
            o->err = errno;
        else if (w > 0)
            off += (size_t)w;
    }
    o->n = 0;
}

static void prof_put(struct prof_out *o, const char *s, size_t len) {
    while (len) {
        if (o->n == sizeof(o->buf))
            prof_flush(o);
        size_t k = sizeof(o->buf) - o->n < len ? sizeof(o->buf) - o->n : len;
        memcpy(o->buf + o->n, s, k);
        o->n += k, s += k, len -= k;
    }
}

static void prof_puts(struct prof_out *o, const char *s) { prof_put(o, s, strlen(s)); }

/* v in base 10 or 16 (util.h's digits). */
static void prof_num(struct prof_out *o, uint64_t v, unsigned base) {
    char s[24];
    prof_put(o, s, util_msg_num(s, 0, (uintptr_t)v, base));
}

/* "  t*: <live objects>: <live bytes> [<objects>: <bytes>]" */
static void prof_counts(struct prof_out *o, uint64_t lo, uint64_t lb, uint64_t ao, uint64_t ab) {
    prof_puts(o, "  t*: ");
    prof_num(o, lo, 10);
    prof_puts(o, ": ");
    prof_num(o, lb, 10);
    prof_puts(o, " [");
    prof_num(o, ao, 10);
    prof_puts(o, ": ");
    prof_num(o, ab, 10);
    prof_puts(o, "]\n");
}

static void prof_write_locked(struct prof_out *o) {
    uint64_t lo = 0, lb = 0, ao = 0, ab = 0;
    for (size_t i = 0; i < prof_nstacks; i++) {
        lo += prof_stacks[i].live_objs, lb += prof_stacks[i].live_bytes;
        ao += prof_stacks[i].all_objs, ab += prof_stacks[i].all_bytes;
    }
    prof_puts(o, "heap_v2/");
    prof_num(o, prof_mean, 10);
    prof_puts(o, "\n");
    prof_counts(o, lo, lb, ao, ab);
    for (size_t i = 0; i < prof_nstacks; i++) {
        const struct prof_stack *s = &prof_stacks[i];
        if (s->live_objs == 0 && s->all_objs == 0)
            continue;
        prof_puts(o, "@");
        for (uint32_t k = 0; k < s->depth; k++) {
            /* The innermost frame is a return address too; jeprof takes 1
             * off only the others, so it is written as the call's address. */
            prof_puts(o, " 0x");
            prof_num(o, s->pcs[k] - (k == 0), 16);
        }
        prof_puts(o, "\n");
        prof_counts(o, s->live_objs, s->live_bytes, s->all_objs, s->all_bytes);
    }
}

static int prof_write_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    struct prof_out *o = pages_map(sizeof(*o));  /* 4 KiB: not on a small stack */
    if (o == NULL) {
        close(fd);
        unlink(path);
        return ENOMEM;
    }
    o->fd = fd, o->err = 0, o->n = 0;
    lockrank_lock(&prof_lock, LOCKRANK_PROF);
    prof_write_locked(o);
    lockrank_unlock(&prof_lock, LOCKRANK_PROF);
    prof_puts(o, "\nMAPPED_LIBRARIES:\n");
    int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (maps >= 0) {
        char buf[1024];
        ssize_t r;
        while ((r = read(maps, buf, sizeof(buf))) > 0)
            prof_put(o, buf, (size_t)r);
        close(maps);
    }
    prof_flush(o);
    int err = o->err;
    pages_unmap_or_leak(o, sizeof(*o));
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err)
        unlink(path);
    return err;
}

/* Appends s, or the decimal v, to dst[0, n) within cap bytes (kept ending in 0). */
static size_t prof_cat(char *dst, size_t n, size_t cap, const char *s) {
    while (*s && n < cap - 1)
        dst[n++] = *s++;
    dst[n] = '\0';
    return n;
}

static size_t prof_cat_num(char *dst, size_t n, size_t cap, uint64_t v) {
    char s[24];
    s[util_msg_num(s, 0, (uintptr_t)v, 10)] = '\0';
    return prof_cat(dst, n, cap, s);
}

/* <prefix>.<pid>.<seq>.<kind>.heap */
static void prof_default_path(char *path, size_t cap, const char *kind) {
    size_t n = prof_cat(path, 0, cap, prof_prefix);
    n = prof_cat(path, n, cap, ".");
    n = prof_cat_num(path, n, cap, (uint64_t)getpid());
    n = prof_cat(path, n, cap, ".");
    n = prof_cat_num(path, n, cap, __atomic_fetch_add(&prof_dump_seq, 1, __ATOMIC_RELAXED));
    n = prof_cat(path, n, cap, kind);
    (void)prof_cat(path, n, cap, ".heap");
}

int prof_dump(const char *path) {
    char name[sizeof(prof_prefix) + 64];
    if (path == NULL) {
        prof_default_path(name, sizeof(name), ".m");
        path = name;
    }
    return prof_write_file(path);
}

/* prof_final: a profile at exit, of what is still live then. */
__attribute__((destructor)) static void prof_at_exit(void) {
    if (prof_final && __atomic_load_n(&prof_active, __ATOMIC_RELAXED)) {
        char name[sizeof(prof_prefix) + 64];
        prof_default_path(name, sizeof(name), ".f");
        (void)prof_write_file(name);
    }
}

void prof_prefork(void) { lockrank_lock(&prof_lock, LOCKRANK_PROF); }
void prof_postfork_parent(void) { lockrank_unlock(&prof_lock, LOCKRANK_PROF); }
void prof_postfork_child(void) { lockrank_reinit(&prof_lock, LOCKRANK_PROF); }
