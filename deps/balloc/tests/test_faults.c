/* Fault injection: one workload reaches every path of balloc that maps,
 * unmaps, purges, resizes or moves pages (small blocks of several classes,
 * thread-cached large blocks, large, huge, aligned, calloc, realloc across
 * small/large/huge, balloc_purge, decay at once), and runs with the n-th
 * call of each kind failing for every n it reaches, with every call failing
 * from the n-th on, and with seeded random failures.
 *
 * Each run checks that every NULL comes with errno ENOMEM and only when a
 * call was made to fail; that allocated always equals the usable sizes of
 * the live blocks; that live blocks keep their contents (a failed realloc
 * keeps the old block) and calloc memory reads zero. After everything is
 * freed and injection is off: allocated is back to its start value, every
 * page is accounted for (after a purge nothing is active, dirty or muzzy and
 * all usable pages of all chunks are retained; the huge cache is empty),
 * and the same workload runs again with no failure.
 *
 * The sweeps from a fixed state run each case in a forked child, so the
 * n-th call is the same call each time and cold paths (the first arena and
 * thread cache, new chunks, metadata blocks) are reached; a child also
 * checks that the process's VmSize moved exactly as balloc's mapped did
 * (nothing left mapped that balloc does not count). The sweeps in this
 * process run back to back and check that mapped bytes do not grow from
 * one pass to the next. Single failures with exact figures follow the
 * paths a sweep reaches only by chance. Decay is -1 (never) or 0 (at once)
 * throughout, so no run depends on the clock. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "balloc.h"
#include "base.h"
#include "chunk.h"
#include "harness.h"
#include "huge.h"
#include "pages.h"
#include "tcache.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define NSLOT 128
/* Bytes 0..63, one byte per STAMP_STEP and the last byte carry a pattern. */
#define STAMP_HEAD 64
#define STAMP_STEP (256 * KIB)

struct slot {
    unsigned char *p;
    size_t size;    /* the size asked for */
    unsigned seed;
};

struct work {
    struct slot s[NSLOT];
    unsigned n;
    unsigned nulls;       /* allocations that returned NULL */
};

static size_t allocated0;

static unsigned char pattern(unsigned seed, size_t off) {
    return (unsigned char)((seed * 151u + off * 31u + (off >> 9)) | 1u);
}

/* The stamped offsets of a block of `size`: the first STAMP_HEAD bytes, each
 * multiple of STAMP_STEP and the last byte. The one after off (>= size at
 * the end). */
static size_t stamp_next(size_t off, size_t size) {
    if (off + 1 < STAMP_HEAD)
        return off + 1;
    size_t next = (off / STAMP_STEP + 1) * STAMP_STEP;
    if (next < size - 1)
        return next;
    return off < size - 1 ? size - 1 : size;
}

static void stamp(unsigned char *p, size_t size, unsigned seed) {
    for (size_t off = 0; off < size; off = stamp_next(off, size))
        p[off] = pattern(seed, off);
}

/* Whether the stamps of a block of `size` below `limit` are intact. */
static bool stamp_intact(const unsigned char *p, size_t size, size_t limit, unsigned seed) {
    for (size_t off = 0; off < size && off < limit; off = stamp_next(off, size))
        if (p[off] != pattern(seed, off))
            return false;
    return true;
}

static bool reads_zero(const unsigned char *p, size_t size) {
    for (size_t i = 0; i < size && i < 4 * KIB; i++)
        if (p[i])
            return false;
    for (size_t off = 0; off < size; off = stamp_next(off, size))
        if (p[off])
            return false;
    return true;
}

static size_t stats_allocated(void) {
    struct balloc_stats st;
    balloc_get_stats(&st);
    return st.allocated;
}

/* allocated is the start value plus the usable sizes of the live blocks. */
static void check_allocated(const struct work *w) {
    size_t sum = allocated0;
    for (unsigned i = 0; i < w->n; i++)
        sum += balloc_usable_size(w->s[i].p);
    CHECK_EQ(stats_allocated(), sum);
}

/* A new block (or a failed allocation) in the next slot. */
static int w_add(struct work *w, void *p, size_t size, bool zeroed) {
    struct slot *s = &w->s[w->n];
    s->p = p;
    s->size = size;
    s->seed = w->n * 7u + 3u;
    if (p == NULL) {
        CHECK_EQ(errno, ENOMEM);
        w->nulls++;
    } else {
        if (zeroed)
            CHECK(reads_zero(p, size));
        stamp(p, size, s->seed);
    }
    w->n++;
    check_allocated(w);
    return (int)w->n - 1;
}

static int w_malloc(struct work *w, size_t size) {
    errno = 0;
    return w_add(w, balloc_malloc(size), size, false);
}

static int w_calloc(struct work *w, size_t n, size_t size) {
    errno = 0;
    return w_add(w, balloc_calloc(n, size), n * size, true);
}

static void w_aligned(struct work *w, size_t align, size_t size) {
    errno = 0;
    unsigned char *p = balloc_aligned_alloc(align, size);
    CHECK(((uintptr_t)p & (align - 1)) == 0);
    w_add(w, p, size, false);
}

static void w_memalign(struct work *w, size_t align, size_t size) {
    void *p = NULL;
    errno = 0;
    int rc = balloc_posix_memalign(&p, align, size);
    CHECK(rc == 0 ? p != NULL : rc == ENOMEM && errno == 0);
    if (rc)
        errno = rc;
    w_add(w, rc ? NULL : p, size, false);
}

static void w_realloc(struct work *w, int i, size_t size) {
    struct slot *s = &w->s[i];
    if (s->p == NULL)
        return;
    errno = 0;
    unsigned char *q = balloc_realloc(s->p, size);
    if (q == NULL) {
        CHECK_EQ(errno, ENOMEM);
        CHECK(stamp_intact(s->p, s->size, s->size, s->seed));  /* the old block stays */
        w->nulls++;
    } else {
        CHECK(stamp_intact(q, s->size, size, s->seed));
        s->p = q;
        s->size = size;
        stamp(q, size, s->seed);
    }
    check_allocated(w);
}

static void w_free(struct work *w, int i) {
    struct slot *s = &w->s[i];
    if (s->p)
        CHECK(stamp_intact(s->p, s->size, s->size, s->seed));
    balloc_free(s->p);
    s->p = NULL;
    check_allocated(w);
}

static void set_decay(int64_t dirty_ms, int64_t muzzy_ms) {
    CHECK_EQ(balloc_ctl("opt.dirty_decay_ms", NULL, NULL, &dirty_ms, sizeof(dirty_ms)), 0);
    CHECK_EQ(balloc_ctl("opt.muzzy_decay_ms", NULL, NULL, &muzzy_ms, sizeof(muzzy_ms)), 0);
}

static void work_run(struct work *w) {
    static const size_t small[] = {8, 24, 48, 100, 256, 1000, 2048, 3000, 8000, 14000};
    static const size_t cached_large[] = {16 * KIB, 20000, 32 * KIB};
    static const size_t large[] = {40000, 100000, 500000, MIB, 3 * MIB};
    static const size_t huge[] = {4 * MIB, 6 * MIB + 123, 9 * MIB};
    memset(w, 0, sizeof(*w));
    for (unsigned i = 0; i < sizeof(small) / sizeof(small[0]); i++)
        for (int k = 0; k < 3; k++)
            w_malloc(w, small[i]);
    for (unsigned i = 0; i < sizeof(cached_large) / sizeof(cached_large[0]); i++)
        for (int k = 0; k < 2; k++)
            w_malloc(w, cached_large[i]);
    for (unsigned i = 0; i < sizeof(large) / sizeof(large[0]); i++)
        w_malloc(w, large[i]);
    for (unsigned i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
        w_malloc(w, huge[i]);
    w_aligned(w, 64, 100);
    w_aligned(w, 4 * KIB, 5000);
    w_aligned(w, 64 * KIB, 70000);        /* a large run with a lead and a trail */
    w_aligned(w, MIB, 200000);
    w_aligned(w, 4 * MIB, 5 * MIB);       /* huge, header in the page before */
    w_aligned(w, 8 * MIB, 100);           /* too aligned for a chunk: huge */
    w_memalign(w, 256, 3000);
    w_calloc(w, 1, 100);
    w_calloc(w, 10, 5000);
    w_calloc(w, 1, 5 * MIB);              /* fresh pages */

    /* One block through every kind and back. */
    static const size_t chain[] = {200, 5000, 30000, 200000, 5 * MIB, 7 * MIB, 100000, 1000};
    int c = w_malloc(w, 100);
    for (unsigned i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
        w_realloc(w, c, chain[i]);
    int l = w_malloc(w, 100000);          /* large, grown and shrunk in place */
    w_realloc(w, l, 150000);
    w_realloc(w, l, 60000);
    int h = w_malloc(w, 9 * MIB);         /* huge: the tail to the cache and back */
    w_realloc(w, h, 5 * MIB);
    w_realloc(w, h, 8 * MIB);

    for (unsigned i = 0; i < w->n; i += 2)
        w_free(w, (int)i);
    /* Bigger than any cached range: gathered from the cached ranges. */
    w_malloc(w, 12 * MIB);
    w_malloc(w, 20 * MIB);
    balloc_purge();

    /* Decay at once: dirty pages to muzzy (MADV_FREE) as they are freed,
     * then muzzy and dirty pages to retained (MADV_DONTNEED). */
    set_decay(0, -1);
    for (unsigned i = 1; i < w->n; i += 4)
        w_free(w, (int)i);
    set_decay(0, 0);
    for (unsigned i = 3; i < w->n; i += 4)
        w_free(w, (int)i);
    set_decay(-1, 0);

    /* Purged pages come back zeroed (or are zeroed). */
    w_calloc(w, 1, 100000);
    w_calloc(w, 1, 2 * MIB);
    w_calloc(w, 1, 6 * MIB);
    w_malloc(w, 3000);
}

static void work_free_all(struct work *w) {
    for (unsigned i = 0; i < w->n; i++)
        w_free(w, (int)i);
    CHECK_EQ(stats_allocated(), allocated0);
}

/* With nothing live, after a flush and a purge: no page active, dirty or
 * muzzy, every usable page of every chunk retained, the huge cache empty. */
static void check_pages_accounted(void) {
    balloc_thread_flush();
    balloc_purge();
    struct arena_stats as;
    arena_stats_read(&as);
    size_t nchunks = (as.mapped - pages_leaked()) / CHUNK_SIZE;
    CHECK_EQ(as.allocated, allocated0);
    CHECK_EQ(as.active, 0);
    CHECK_EQ(as.dirty, 0);
    CHECK_EQ(as.muzzy, 0);
    CHECK_EQ(as.retained, nchunks * CHUNK_USABLE_PAGES * PAGE_SIZE_B);
    size_t hall, hmap, hmeta, hcached;
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hall, 0);
    CHECK_EQ(hmap, 0);
    CHECK_EQ(hmeta, 0);
    CHECK_EQ(hcached, 0);
}

static uint64_t sum_failed(const struct pages_inject_counts *c) {
    uint64_t f = 0;
    for (unsigned i = 0; i < PAGES_NOPS; i++)
        f += c->failed[i];
    return f;
}

/* One case: the workload under whatever injection is armed, then all the
 * checks above, then a clean run; *armed gets the armed run's counts. */
static void run_case(struct pages_inject_counts *armed) {
    static struct work w;
    work_run(&w);
    unsigned nulls = w.nulls;
    work_free_all(&w);
    pages_inject_read(armed);
    pages_inject_off();
    if (sum_failed(armed) == 0)
        CHECK_EQ(nulls, 0);
    check_pages_accounted();
    struct pages_inject_counts clean;
    pages_inject_nth(PAGES_OPS_ALL, 0, false);
    work_run(&w);
    CHECK_EQ(w.nulls, 0);
    work_free_all(&w);
    pages_inject_read(&clean);
    pages_inject_off();
    CHECK_EQ(sum_failed(&clean), 0);
}

/* Mapped bytes less what failed munmaps leaked, with nothing cached. */
static size_t mapped_books(void) {
    balloc_thread_flush();
    balloc_purge();
    struct balloc_stats st;
    balloc_get_stats(&st);
    return st.mapped - pages_leaked();
}

/* The process's whole address space in bytes (VmSize), read without
 * allocating. balloc's `mapped` (leaks included) must move with it. */
static size_t vm_size(void) {
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return (size_t)strtoull(buf, NULL, 10) * PAGE_SIZE_B;
}

static size_t mapped_total(void) {
    struct balloc_stats st;
    balloc_get_stats(&st);
    return st.mapped;
}

/* ---- from a fixed state: one forked child per case ---------------------- */

struct child_report {
    struct pages_inject_counts armed;
    size_t mapped;                  /* mapped_books() at the end */
    long long vm_delta, mapped_delta;
    long pass, fail;
};

/* Run body(arg) in a child of this process and add its checks to ours. The
 * child also reports how VmSize and balloc's mapped moved over the body. */
static struct child_report in_child(void (*body)(const void *, struct child_report *),
                                    const void *arg) {
    struct child_report rep;
    memset(&rep, 0, sizeof(rep));
    int fd[2];
    if (pipe(fd) != 0) {
        CHECK(!"pipe");
        return rep;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        long p0 = harness_pass, f0 = harness_fail;
        size_t vm0 = vm_size(), m0 = mapped_total();
        body(arg, &rep);
        rep.mapped = mapped_books();
        rep.vm_delta = (long long)vm_size() - (long long)vm0;
        rep.mapped_delta = (long long)mapped_total() - (long long)m0;
        CHECK_EQ(rep.vm_delta, rep.mapped_delta);
        rep.pass = harness_pass - p0;
        rep.fail = harness_fail - f0;
        fflush(stdout);
        ssize_t wr = write(fd[1], &rep, sizeof(rep));
        _exit(wr == (ssize_t)sizeof(rep) ? 0 : 1);
    }
    close(fd[1]);
    ssize_t rd = read(fd[0], &rep, sizeof(rep));
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(rd == (ssize_t)sizeof(rep) && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    harness_pass += rep.pass;
    harness_fail += rep.fail;
    return rep;
}

/* Use up balloc's metadata blocks until only `room` more 128-byte pieces
 * (the size of a run's metadata, and of a bin's first heap) fit in the
 * current one: then the (room + 1)-th that is needed maps a new block. The
 * number of pieces per block is found by filling one. */
static void base_fill(unsigned room) {
    size_t m = base_mapped();
    while (base_mapped() == m)  /* empties the free list, then the block */
        (void)base_alloc(128);
    size_t per_block = 1;
    for (m = base_mapped(); base_mapped() == m; per_block++)
        (void)base_alloc(128);
    per_block--;  /* the last call started the next block */
    for (size_t i = 1; i + room < per_block; i++)
        (void)base_alloc(128);
}

/* What to inject: k > 0 fails each call of ops with probability k / 65536
 * from seed; else the n-th call (and all after it, with and_after).
 * base_room >= 0 first leaves only that many metadata pieces. */
struct inject {
    unsigned ops;
    uint64_t n;
    bool and_after;
    uint32_t k;
    uint64_t seed;
    int base_room;
};

static void inject_arm(const struct inject *in) {
    if (in->k)
        pages_inject_random(in->ops, in->k, in->seed);
    else
        pages_inject_nth(in->ops, in->n, in->and_after);
}

static void case_body(const void *arg, struct child_report *rep) {
    const struct inject *in = arg;
    if (in->base_room >= 0)
        base_fill((unsigned)in->base_room);
    inject_arm(in);
    run_case(&rep->armed);
}

static struct child_report run_forked(struct inject in) { return in_child(case_body, &in); }

static const char *const op_name[PAGES_NOPS] = {"map", "unmap", "purge", "purge_lazy",
                                                "resize", "guard"};

/* For each kind: count its calls, then fail each one in turn (n-th only),
 * and each one with all after it. The state is the same in every child, so
 * the n-th call is always reached and exactly one (or every later) call
 * fails; mapped ends the same as without the failure. */
TEST(sweep_nth_from_fixed_state) {
    for (unsigned op = 0; op < PAGES_NOPS; op++) {
        unsigned ops = 1u << op;
        struct child_report count = run_forked((struct inject){.ops = ops, .base_room = -1});
        uint64_t total = count.armed.selected;
        CHECK_EQ(count.armed.calls[op], total);
        CHECK_EQ(sum_failed(&count.armed), 0);
        unsigned exact = 0, after_ok = 0;
        for (uint64_t n = 1; n <= total; n++) {
            struct child_report one =
                run_forked((struct inject){.ops = ops, .n = n, .base_room = -1});
            exact += one.armed.failed[op] == 1 && sum_failed(&one.armed) == 1;
            CHECK_EQ(one.mapped, count.mapped);
            struct child_report rest =
                run_forked((struct inject){.ops = ops, .n = n, .and_after = true, .base_room = -1});
            after_ok += rest.armed.failed[op] == rest.armed.selected - n + 1;
        }
        CHECK_EQ(exact, total);
        CHECK_EQ(after_ok, total);
        printf("     %-10s %3llu calls, each failed alone and with all after it\n", op_name[op],
               (unsigned long long)total);
    }
}

/* With metadata all but used up (0 to 5 pieces left), a map failure hits
 * the metadata the workload needs next (a run split from a free run, a
 * slab heap): the allocation fails or goes without, and mapped ends the
 * same as without the failure. */
TEST(sweep_metadata_exhausted) {
    balloc_free(balloc_malloc(1));  /* the arena and this thread's cache exist */
    unsigned ops = 1u << PAGES_OP_MAP;
    for (int room = 0; room < 6; room++) {
        struct child_report count = run_forked((struct inject){.ops = ops, .base_room = room});
        uint64_t total = count.armed.selected;
        unsigned exact = 0;
        for (uint64_t n = 1; n <= total; n++) {
            struct child_report one =
                run_forked((struct inject){.ops = ops, .n = n, .base_room = room});
            exact += one.armed.failed[PAGES_OP_MAP] == 1;
            CHECK_EQ(one.mapped, count.mapped);
        }
        CHECK_EQ(exact, total);
    }
}

/* ---- single failures, checked exactly ------------------------------------ */

/* Nothing cached or dirty, and the figures as they are then. */
static void settle(struct arena_stats *as) {
    balloc_thread_flush();
    balloc_purge();
    arena_stats_read(as);
}

/* A class with no slab yet and no metadata left: the metadata map fails,
 * so the allocation fails; no chunk is mapped instead. */
static void metadata_map_fails(const void *arg, struct child_report *rep) {
    (void)arg;
    struct arena_stats a0, a1;
    settle(&a0);
    base_fill(0);
    size_t base0 = base_mapped();
    pages_inject_nth(1u << PAGES_OP_MAP, 1, false);
    errno = 0;
    void *p = balloc_malloc(3000);
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK(p == NULL && errno == ENOMEM);
    CHECK_EQ(rep->armed.calls[PAGES_OP_MAP], 1);
    arena_stats_read(&a1);
    CHECK_EQ(a1.mapped, a0.mapped);
    CHECK_EQ(a1.allocated, a0.allocated);
    CHECK_EQ(base_mapped(), base0);
    p = balloc_malloc(3000);  /* maps metadata now, and still no chunk */
    CHECK(p != NULL);
    arena_stats_read(&a1);
    CHECK_EQ(a1.mapped, a0.mapped);
    CHECK(base_mapped() > base0);
    balloc_free(p);
}

/* An aligned large run whose lead cannot be split off for want of
 * metadata goes back as it was (retained, not dirty); the block comes from
 * a mapping of its own. */
static void aligned_lead_unsplit(const void *arg, struct child_report *rep) {
    (void)arg;
    struct arena_stats a0, a1;
    settle(&a0);
    base_fill(1);  /* the run's split finds a piece, the lead's does not */
    pages_inject_nth(1u << PAGES_OP_MAP, 1, false);
    unsigned char *p = balloc_aligned_alloc(64 * KIB, 70000);
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK_EQ(rep->armed.failed[PAGES_OP_MAP], 1);
    CHECK(p != NULL && ((uintptr_t)p & (64 * KIB - 1)) == 0);
    CHECK(chunk_kind_of((uintptr_t)p) != CHUNK_KIND_ARENA);
    arena_stats_read(&a1);
    CHECK_EQ(a1.allocated, a0.allocated);
    CHECK_EQ(a1.active, a0.active);
    CHECK_EQ(a1.dirty, a0.dirty);
    CHECK_EQ(a1.retained, a0.retained);
    memset(p, 1, 70000);
    balloc_free(p);
}

/* A failed MADV_FREE leaves the pages dirty, and MADV_FREE is used again
 * next time (only EINVAL, a kernel without it, turns it off for good). */
static void lazy_purge_fails(const void *arg, struct child_report *rep) {
    (void)arg;
    struct arena_stats a;
    settle(&a);
    set_decay(0, -1);
    void *p = balloc_malloc(100000), *q = balloc_malloc(100000);
    size_t bytes = balloc_usable_size(p);
    pages_inject_nth(1u << PAGES_OP_PURGE_LAZY, 1, false);
    balloc_free(p);
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK_EQ(rep->armed.failed[PAGES_OP_PURGE_LAZY], 1);
    arena_stats_read(&a);
    CHECK_EQ(a.dirty, bytes);
    CHECK_EQ(a.muzzy, 0);
    balloc_free(q);
    arena_stats_read(&a);
    CHECK_EQ(a.dirty, 0);
    CHECK_EQ(a.muzzy, 2 * bytes);
    set_decay(-1, 0);
}

/* A purge the kernel refuses leaves the pages dirty, and the decay state
 * counts them as still pending. */
static void purge_fails(const void *arg, struct child_report *rep) {
    (void)arg;
    struct arena_stats a;
    settle(&a);
    void *p = balloc_malloc(100000);
    size_t bytes = balloc_usable_size(p);
    balloc_free(p);
    pages_inject_nth(1u << PAGES_OP_PURGE, 1, false);
    balloc_purge();
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK_EQ(rep->armed.failed[PAGES_OP_PURGE], 1);
    arena_stats_read(&a);
    CHECK_EQ(a.dirty, bytes);
    CHECK_EQ(tcache_tls.arena->decay[0].nlast, bytes / PAGE_SIZE_B);
    balloc_purge();
    arena_stats_read(&a);
    CHECK_EQ(a.dirty, 0);
    CHECK_EQ(tcache_tls.arena->decay[0].nlast, 0);
}

/* A cached huge range whose munmap fails stays cached and counted; the next
 * purge unmaps it. */
static void cache_unmap_fails(const void *arg, struct child_report *rep) {
    (void)arg;
    struct arena_stats a;
    settle(&a);
    balloc_free(balloc_malloc(8 * MIB));
    size_t hall, hmap, hmeta, hcached;
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hcached, 8 * MIB + PAGE_SIZE_B);
    pages_inject_nth(1u << PAGES_OP_UNMAP, 1, false);
    balloc_purge();
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK_EQ(rep->armed.failed[PAGES_OP_UNMAP], 1);
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hcached, 8 * MIB + PAGE_SIZE_B);
    CHECK_EQ(hmap, 8 * MIB + PAGE_SIZE_B);
    balloc_purge();
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hcached, 0);
    CHECK_EQ(hmap, 0);
}

/* An alignment of 4 MiB or more over-maps and unmaps the lead before the
 * header page. arg: 0 counts the unmaps, else the one to fail (the lead's,
 * the last). A lead the kernel keeps stays in the block's mapping, freed
 * with it: nothing leaks. */
static void huge_lead_kept(const void *arg, struct child_report *rep) {
    uint64_t n = *(const uint64_t *)arg;
    struct arena_stats a;
    settle(&a);
    size_t leaked0 = pages_leaked();
    pages_inject_nth(1u << PAGES_OP_UNMAP, n, false);
    unsigned char *p = balloc_aligned_alloc(4 * MIB, 5 * MIB);
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK(p != NULL && ((uintptr_t)p & (4 * MIB - 1)) == 0);
    size_t hall, hmap, hmeta, hcached;
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hall, 5 * MIB);
    CHECK_EQ(hmap, n ? 9 * MIB : 5 * MIB + PAGE_SIZE_B);
    CHECK_EQ(pages_leaked(), leaked0);
    p[0] = p[5 * MIB - 1] = 1;
    balloc_free(p);
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hcached, n ? 9 * MIB : 5 * MIB + PAGE_SIZE_B);
}

/* A real refusal: a cached range unmapped behind balloc's back cannot be
 * moved (since Linux 6.17 the kernel moves a range spanning several
 * mappings, even one with holes, so nothing less refuses everywhere). The
 * block comes from fresh pages, the range stays cached, and the move's
 * target is not left behind (VmSize and mapped move together, nothing
 * leaked). */
static void move_refused(const void *arg, struct child_report *rep) {
    (void)arg;
    struct arena_stats a;
    settle(&a);
    unsigned char *p = balloc_malloc(8 * MIB);
    balloc_free(p);
    char *range = (char *)p - PAGE_SIZE_B;  /* the header page, then the block */
    size_t range_size = 8 * MIB + PAGE_SIZE_B;
    CHECK_EQ(munmap(range, range_size), 0);
    size_t leaked0 = pages_leaked();
    pages_inject_nth(PAGES_OPS_ALL, 0, false);
    unsigned char *q = balloc_malloc(16 * MIB);
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK(q != NULL);
    CHECK_EQ(rep->armed.calls[PAGES_OP_RESIZE], 1);  /* the move, refused */
    CHECK_EQ(pages_leaked(), leaked0);
    size_t hall, hmap, hmeta, hcached;
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hcached, 8 * MIB + PAGE_SIZE_B);
    q[0] = q[16 * MIB - 1] = 1;
    CHECK(mmap(range, range_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == range);
    balloc_free(q);
}

/* With every cache slot taken, a freed range replaces the smallest; if the
 * smallest cannot be unmapped it stays, and the new range is unmapped
 * instead, or (arg: that fails too) left mapped and counted as leaked.
 * Big live blocks between the ranges keep them apart and raise the cache's
 * bound (1/8 of the live huge mappings) above what the slots hold; they are
 * never touched, so they cost address space only. */
static void cache_full_unmap_fails(const void *arg, struct child_report *rep) {
    bool both = *(const bool *)arg;
    struct arena_stats a;
    settle(&a);
    enum { N = HUGE_CACHE_SLOTS + 1 };
    void *range[N], *apart[N];
    for (int i = 0; i < N; i++) {
        range[i] = balloc_malloc(4 * MIB);
        apart[i] = balloc_malloc(32 * MIB);
        CHECK(range[i] != NULL && apart[i] != NULL);
    }
    for (int i = 0; i < N - 1; i++)
        balloc_free(range[i]);
    size_t hall, hmap, hmeta, hcached, leaked0 = pages_leaked();
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hcached, (N - 1) * (4 * MIB + PAGE_SIZE_B));
    pages_inject_nth(1u << PAGES_OP_UNMAP, 1, both);
    balloc_free(range[N - 1]);
    pages_inject_read(&rep->armed);
    pages_inject_off();
    CHECK_EQ(rep->armed.failed[PAGES_OP_UNMAP], both ? 2 : 1);
    huge_stats(&hall, &hmap, &hmeta, &hcached);
    CHECK_EQ(hcached, (N - 1) * (4 * MIB + PAGE_SIZE_B));
    CHECK_EQ(pages_leaked() - leaked0, both ? 4 * MIB + PAGE_SIZE_B : 0);
    for (int i = 0; i < N; i++)
        balloc_free(apart[i]);
}

/* A thread whose cache cannot start (no metadata) stays uncached while
 * memory is short, starts its cache once memory is back, and is unbound
 * from its arena when it exits, started or not. */
static unsigned threads_bound(void) {
    unsigned n = 0;
    for (unsigned i = 0; i < arena_count(); i++)
        n += arena_get(i) ? arena_get(i)->nthreads : 0;
    return n;
}
struct late_cache {
    int state_short, state_back, retry;
};
static void *late_cache_thread(void *arg) {
    struct late_cache *lc = arg;
    base_fill(0);
    pages_inject_nth(1u << PAGES_OP_MAP, 1, true);
    balloc_free(balloc_malloc(64));
    lc->state_short = tcache_tls.state;
    pages_inject_off();
    if (lc->retry) {
        balloc_free(balloc_malloc(64));
        lc->state_back = tcache_tls.state;
    }
    return NULL;
}
static void thread_cache_after_oom(const void *arg, struct child_report *rep) {
    /* A stack of our own, so that the thread maps nothing VmSize would see. */
    static _Alignas(4096) char stack[256 << 10];
    (void)arg;
    (void)rep;
    for (int retry = 0; retry < 2; retry++) {
        struct late_cache lc = {.state_short = -1, .state_back = -1, .retry = retry};
        unsigned bound0 = threads_bound();
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstack(&at, stack, sizeof(stack));
        CHECK_EQ(pthread_create(&t, &at, late_cache_thread, &lc), 0);
        pthread_attr_destroy(&at);
        pthread_join(t, NULL);
        CHECK_EQ(lc.state_short, TCACHE_NONE);
        if (retry)
            CHECK_EQ(lc.state_back, TCACHE_ACTIVE);
        CHECK_EQ(threads_bound(), bound0);
    }
}

TEST(single_failures) {
    in_child(thread_cache_after_oom, NULL);
    in_child(metadata_map_fails, NULL);
    in_child(aligned_lead_unsplit, NULL);
    in_child(lazy_purge_fails, NULL);
    in_child(purge_fails, NULL);
    in_child(cache_unmap_fails, NULL);
    uint64_t n = 0;
    struct child_report count = in_child(huge_lead_kept, &n);
    n = count.armed.calls[PAGES_OP_UNMAP];
    CHECK(n >= 1);
    in_child(huge_lead_kept, &n);
    in_child(move_refused, NULL);
    bool both = false;
    in_child(cache_full_unmap_fails, &both);
    both = true;
    in_child(cache_full_unmap_fails, &both);
}

/* ---- in this process, back to back --------------------------------------- */

/* One pass: every kind, every n it reaches, here; returns the runs made. */
static unsigned sweep_pass(void) {
    unsigned runs = 0;
    for (unsigned op = 0; op < PAGES_NOPS; op++) {
        struct pages_inject_counts c;
        for (uint64_t n = 1; n < 100000; n++) {
            pages_inject_nth(1u << op, n, false);
            run_case(&c);
            runs++;
            if (c.failed[op] == 0)
                break;  /* the workload no longer reaches an n-th call */
            CHECK_EQ(c.failed[op], 1);
        }
    }
    return runs;
}

/* The sweep three times over: mapped bytes (less what failed munmaps
 * leaked, which is counted) settle after the first pass and do not grow,
 * and the process's VmSize moves exactly as mapped does. */
TEST(sweep_nth_back_to_back) {
    size_t m[4], vm[4], total[4];
    unsigned runs[3];
    for (unsigned i = 0; i < 4; i++) {
        if (i)
            runs[i - 1] = sweep_pass();
        m[i] = mapped_books();
        total[i] = mapped_total();
        vm[i] = vm_size();
    }
    CHECK(runs[0] > 0 && runs[1] > 0 && runs[2] > 0);
    CHECK_EQ(m[3], m[2]);
    for (unsigned i = 1; i < 4; i++)
        CHECK_EQ(vm[i] - vm[0], total[i] - total[0]);
    printf("     %u + %u + %u runs; mapped %zu, %zu, %zu, %zu KiB; leaked %zu KiB\n", runs[0],
           runs[1], runs[2], m[0] / KIB, m[1] / KIB, m[2] / KIB, m[3] / KIB,
           pages_leaked() / KIB);
}

/* Every kind at once, each call failing with probability 1/16 (then 1/4),
 * here back to back; then the same seed from the fixed state twice, which
 * fails the same calls. */
TEST(random_failures) {
    unsigned failed_runs = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct pages_inject_counts c;
        pages_inject_random(PAGES_OPS_ALL, seed <= 20 ? 4096 : 16384, seed);
        run_case(&c);
        failed_runs += sum_failed(&c) > 0;
    }
    CHECK(failed_runs >= 30);
    struct inject in = {.ops = PAGES_OPS_ALL, .k = 8192, .seed = 99, .base_room = -1};
    struct child_report a = run_forked(in), b = run_forked(in);
    CHECK(sum_failed(&a.armed) > 0);
    CHECK(memcmp(&a.armed, &b.armed, sizeof(a.armed)) == 0);
}

int main(void) {
    set_decay(-1, 0);
    allocated0 = stats_allocated();
    RUN(sweep_nth_from_fixed_state);
    RUN(sweep_metadata_exhausted);
    RUN(single_failures);
    RUN(sweep_nth_back_to_back);
    RUN(random_failures);
    return harness_done();
}
