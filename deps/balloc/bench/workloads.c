/* workloads.c -- allocator workloads for the cross-allocator comparison.
 *
 * The program calls only malloc/calloc/realloc/free, so the allocator under
 * test is chosen from outside with LD_PRELOAD (bench/run.sh does that).
 *
 *   workloads NAME [SCALE] [REPS]      run one workload, print one line
 *   workloads list                     print the workload names
 *
 * SCALE multiplies the amount of work (default 1). REPS (default 3) is the
 * number of repetitions; each repetition runs in its own forked child, so no
 * repetition starts from a heap the previous one left behind, and the
 * fragmentation figure always describes a fresh process.
 *
 * Output, one line of key=value fields:
 *   wall_s       wall seconds of the median repetition (median by wall time)
 *   cpu_s sys_s  user+sys and sys CPU seconds of that same repetition
 *   peak_rss_kb  VmHWM, the largest over all repetitions
 *   ops          operations timed (allocations, pairs or reallocs; see each
 *                workload) and ns_per_op = wall_s / ops
 *   rss_per_live frag only: (RSS at the end - RSS before the fill) divided by
 *                the bytes the program requested and still holds; median of
 *                the repetitions. The baseline is subtracted so that the
 *                program's own bookkeeping (mmap'ed, about 10 bytes a value)
 *                and the binary do not count against the allocator.
 *   xfree        larson only: fraction of frees done by a thread other than
 *                the one that allocated the block.
 * Fields that do not apply print "-". Exit status is non-zero when a
 * repetition fails (crash, allocation failure) or LD_PRELOAD did not load.
 *
 * Only the work between meter_start and meter_stop is timed; building the
 * random size tables beforehand and freeing leftovers afterwards are not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)

/* Sizes are drawn ahead of time into a table of this many entries and read
 * back in a cycle, so the random generator stays off the timed path. 64 Ki
 * entries are far more than any allocator caches per size class. */
#define SIZE_TABLE_LEN (1u << 16)
#define SIZE_TABLE_MASK (SIZE_TABLE_LEN - 1)

/* ---- small utilities ------------------------------------------------- */

/* xorshift64* (Marsaglia's xorshift with Vigna's multiplier): fast and good
 * enough for choosing sizes and slots. Seeds are fixed: every allocator sees
 * the same sequence of requests. */
static uint64_t rng_next(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi]. The modulo bias is irrelevant at these ranges. */
static size_t rng_range(uint64_t *state, size_t lo, size_t hi) {
    return lo + (size_t)((rng_next(state) >> 16) % (hi - lo + 1));
}

/* Log-uniform in [lo, hi): a power-of-two band is chosen uniformly, then a
 * size uniformly inside it, so small blocks are as common per band as large
 * ones, closer to what servers see than a flat distribution. lo, hi are
 * powers of two. */
static size_t rng_log_range(uint64_t *state, size_t lo, size_t hi) {
    unsigned bands = 0;
    for (size_t s = lo; s < hi; s <<= 1) bands++;
    size_t base = lo << ((rng_next(state) >> 40) % bands);
    return rng_range(state, base, base * 2 - 1);
}

/* Keeps the compiler from proving a block unused and deleting the
 * malloc/free pair around it (gcc does that at -O2). */
static inline void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

__attribute__((noreturn, cold)) static void die(const char *what) {
    fprintf(stderr, "workloads: %s: %s\n", what, strerror(errno));
    _exit(3);
}

static void *xmalloc(size_t size) {
    void *p = malloc(size);
    if (p == NULL) die("malloc");
    return p;
}

/* Bookkeeping memory comes straight from the kernel so it neither shares
 * pages with nor perturbs the allocator under test. */
static void *book_alloc(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    memset(p, 0, size); /* fault it in now, before any baseline is taken */
    return p;
}

static void book_free(void *p, size_t size) { munmap(p, size); }

static uint32_t *size_table_new(uint64_t seed, size_t lo, size_t hi, int log_spread) {
    uint32_t *t = book_alloc(SIZE_TABLE_LEN * sizeof *t);
    for (size_t i = 0; i < SIZE_TABLE_LEN; i++)
        t[i] = (uint32_t)(log_spread ? rng_log_range(&seed, lo, hi) : rng_range(&seed, lo, hi));
    return t;
}

static void size_table_free(uint32_t *t) { book_free(t, SIZE_TABLE_LEN * sizeof *t); }

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* Touches one byte in every page of [p, p+size) and the last byte. */
static void touch_pages(char *p, size_t size, char v) {
    size_t pg = page_size();
    for (size_t off = 0; off < size; off += pg) p[off] = v;
    p[size - 1] = v;
}

/* Resident bytes now, from the second field of /proc/self/statm. */
static size_t rss_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL) die("/proc/self/statm");
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) die("/proc/self/statm parse");
    fclose(f);
    return resident * page_size();
}

/* High-water resident set in KiB, VmHWM from /proc/self/status. */
static long rss_peak_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (f == NULL) die("/proc/self/status");
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* ---- measurement ----------------------------------------------------- */

/* What one repetition reports to the parent through a pipe. */
struct rep_result {
    double wall;         /* seconds between meter_start and meter_stop */
    double user, sys;    /* CPU seconds over the same span, all threads */
    long peak_kb;        /* VmHWM at the end of the repetition */
    double ops;          /* operations timed */
    double rss_per_live; /* frag only, else negative */
    double xfree;        /* larson only, else negative */
};

struct meter {
    struct timespec t0;
    struct rusage ru0;
};

static double tv_sec(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void meter_start(struct meter *m) {
    getrusage(RUSAGE_SELF, &m->ru0);
    clock_gettime(CLOCK_MONOTONIC, &m->t0);
}

/* RUSAGE_SELF covers every thread of the process, including those already
 * joined, so threaded workloads are measured whole. */
static void meter_stop(struct meter *m, struct rep_result *r) {
    struct timespec t1;
    struct rusage ru1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &ru1);
    r->wall = (double)(t1.tv_sec - m->t0.tv_sec) + (double)(t1.tv_nsec - m->t0.tv_nsec) / 1e9;
    r->user = tv_sec(ru1.ru_utime) - tv_sec(m->ru0.ru_utime);
    r->sys = tv_sec(ru1.ru_stime) - tv_sec(m->ru0.ru_stime);
}

static uint64_t scaled(double base, double scale) {
    double n = base * scale;
    return n < 1 ? 1 : (uint64_t)n;
}

/* ---- pairs: one block at a time --------------------------------------- */

/* malloc then free of 8..1024 B, never two blocks live at once: the
 * thread-cache fast path and nothing else. ops = pairs. */
static void wl_pairs(double scale, struct rep_result *r) {
    uint64_t n = scaled(30e6, scale);
    uint32_t *sizes = size_table_new(1, 8, 1024, 0);
    struct meter m;

    meter_start(&m);
    for (uint64_t i = 0; i < n; i++) {
        char *p = xmalloc(sizes[i & SIZE_TABLE_MASK]);
        p[0] = (char)i;
        keep(p);
        free(p);
    }
    meter_stop(&m, r);
    r->ops = (double)n;
    size_table_free(sizes);
}

/* ---- held64: a small rotating working set ----------------------------- */

#define HELD64_SLOTS 64

/* 64 blocks of 256 B..1 KiB live at once; each step frees the oldest and
 * allocates a replacement, so frees and allocations hit different sizes and
 * slabs than a plain pair does. ops = free+malloc pairs. */
static void wl_held64(double scale, struct rep_result *r) {
    uint64_t n = scaled(30e6, scale);
    uint32_t *sizes = size_table_new(2, 256, 1024, 0);
    char *slot[HELD64_SLOTS];
    struct meter m;

    for (unsigned i = 0; i < HELD64_SLOTS; i++) slot[i] = xmalloc(sizes[SIZE_TABLE_MASK - i]);
    meter_start(&m);
    for (uint64_t i = 0; i < n; i++) {
        unsigned k = (unsigned)(i % HELD64_SLOTS);
        free(slot[k]);
        slot[k] = xmalloc(sizes[i & SIZE_TABLE_MASK]);
        slot[k][0] = (char)i;
        keep(slot[k]);
    }
    meter_stop(&m, r);
    for (unsigned i = 0; i < HELD64_SLOTS; i++) free(slot[i]);
    r->ops = (double)n;
    size_table_free(sizes);
}

/* ---- reply: hundreds of blocks of one size built and dropped ------------ */

/* A server's reply to a range query: 64, 128, 256 or 512 blocks (in turn)
 * of one size, 8..256 B (a new size each reply), allocated one after the
 * other, their first byte written, then freed in the same order. The thread
 * holds more blocks of one class than a small thread cache keeps. ops =
 * allocations. */
static void wl_reply(double scale, struct rep_result *r) {
    uint64_t n = scaled(30e6, scale), done = 0;
    uint32_t *sizes = size_table_new(6, 8, 256, 0);
    static const unsigned counts[4] = {64, 128, 256, 512};
    char *held[512];
    struct meter m;

    meter_start(&m);
    for (uint64_t i = 0; done < n; i++) {
        unsigned count = counts[i & 3];
        size_t size = sizes[i & SIZE_TABLE_MASK];
        for (unsigned k = 0; k < count; k++) {
            held[k] = xmalloc(size);
            held[k][0] = (char)k;
        }
        keep(held[count - 1]);
        for (unsigned k = 0; k < count; k++) free(held[k]);
        done += count;
    }
    meter_stop(&m, r);
    r->ops = (double)done;
    size_table_free(sizes);
}

/* ---- churn: a large live set, random replacement ------------------------ */

#define CHURN_LIVE 100000

/* 100k live blocks of 16 B..16 KiB (log-uniform, mean about 2.4 KiB, so
 * about 240 MiB live); each step frees a random one and allocates a new
 * random size in its place. Every page of a new block is touched, so RSS
 * reflects the blocks rather than untouched address space. Timed: the fill,
 * the replacements and the final free. ops = allocations. */
/* read_first: look at each block's first byte before freeing it, as a
 * server's code does that frees an object it has just read (its type, a
 * reference count, the pointers it owns). */
static void churn_run(double scale, struct rep_result *r, int read_first) {
    uint64_t n = scaled(2e6, scale);
    volatile char sink = 0;
    uint32_t *sizes = size_table_new(3, 16, 16 * KIB, 1);
    char **slot = book_alloc(CHURN_LIVE * sizeof *slot);
    uint64_t rng = 33;
    struct meter m;

    meter_start(&m);
    for (uint64_t i = 0; i < CHURN_LIVE; i++) {
        size_t sz = sizes[i & SIZE_TABLE_MASK];
        slot[i] = xmalloc(sz);
        touch_pages(slot[i], sz, (char)i);
    }
    for (uint64_t i = 0; i < n; i++) {
        size_t k = rng_range(&rng, 0, CHURN_LIVE - 1);
        size_t sz = sizes[(i + CHURN_LIVE) & SIZE_TABLE_MASK];
        if (read_first)
            sink = slot[k][0];
        free(slot[k]);
        slot[k] = xmalloc(sz);
        touch_pages(slot[k], sz, (char)i);
    }
    for (uint64_t i = 0; i < CHURN_LIVE; i++) free(slot[i]);
    meter_stop(&m, r);
    (void)sink;
    r->ops = (double)(n + CHURN_LIVE);
    book_free(slot, CHURN_LIVE * sizeof *slot);
    size_table_free(sizes);
}

static void wl_churn(double scale, struct rep_result *r) { churn_run(scale, r, 0); }
static void wl_churnread(double scale, struct rep_result *r) { churn_run(scale, r, 1); }

/* ---- skewchurn: a large live set of mostly small blocks ----------------- */

#define SKEWCHURN_LIVE 200000

/* 200k live blocks; each size is 8..128 B with probability 3/4, else
 * 8 B..4 KiB (both uniform), the skew of a server's keys and values. Each
 * step frees a random block and allocates a new random size in its place,
 * writing its first byte. Timed: the fill, 12M replacements at scale 1 and
 * the final free. ops = allocations. */
static void wl_skewchurn(double scale, struct rep_result *r) {
    uint64_t n = scaled(12e6, scale);
    uint32_t *sizes = book_alloc(SIZE_TABLE_LEN * sizeof *sizes);
    char **slot = book_alloc(SKEWCHURN_LIVE * sizeof *slot);
    uint64_t seed = 9, rng = 99;
    struct meter m;

    for (size_t i = 0; i < SIZE_TABLE_LEN; i++)
        sizes[i] = (uint32_t)(rng_next(&seed) % 4 ? rng_range(&seed, 8, 128) : rng_range(&seed, 8, 4 * KIB));
    meter_start(&m);
    for (uint64_t i = 0; i < SKEWCHURN_LIVE; i++) {
        slot[i] = xmalloc(sizes[i & SIZE_TABLE_MASK]);
        slot[i][0] = (char)i;
    }
    for (uint64_t i = 0; i < n; i++) {
        size_t k = rng_range(&rng, 0, SKEWCHURN_LIVE - 1);
        free(slot[k]);
        slot[k] = xmalloc(sizes[(i + SKEWCHURN_LIVE) & SIZE_TABLE_MASK]);
        slot[k][0] = (char)i;
    }
    for (uint64_t i = 0; i < SKEWCHURN_LIVE; i++) free(slot[i]);
    meter_stop(&m, r);
    r->ops = (double)(n + SKEWCHURN_LIVE);
    book_free(slot, SKEWCHURN_LIVE * sizeof *slot);
    size_table_free(sizes);
}

/* ---- larson: cross-thread frees and thread churn ------------------------ */

/* Threads are arranged in a circle; thread i hands blocks to thread i+1
 * through a single-producer single-consumer ring, so most blocks are freed
 * by a thread that did not allocate them. The run is cut into rounds; each
 * round starts fresh threads that inherit the previous round's rings and
 * held blocks, so blocks allocated by threads that have exited are freed by
 * new ones (the thread churn of Larson's server benchmark). */
#define LARSON_RING_CAP 4096 /* power of two */
#define LARSON_HELD 512      /* blocks each thread keeps and replaces at random */
#define LARSON_ROUNDS 40
#define LARSON_MAX_THREADS 8

/* Each side re-reads the other side's index only when its cached copy says
 * the ring is full (producer) or empty (consumer), so the two cores do not
 * trade cache lines on every step and the harness stays cheap next to the
 * allocator. The cached copies may lag but never run ahead, so they are only
 * ever conservative, also for the threads of the next round. */
struct larson_ring {
    _Alignas(64) _Atomic size_t head; /* next slot to pop; written by the consumer */
    size_t tail_seen;                 /* consumer's copy of tail */
    _Alignas(64) _Atomic size_t tail; /* next slot to push; written by the producer */
    size_t head_seen;                 /* producer's copy of head */
    _Alignas(64) void *slot[LARSON_RING_CAP];
};

struct larson_thread {
    struct larson_ring *out, *in;
    _Atomic int *next_running; /* whether the consumer of out is still looping */
    _Atomic int running;
    pthread_barrier_t *start;
    char **held;            /* LARSON_HELD blocks, handed from round to round */
    const uint32_t *sizes;
    uint64_t ops, rng, pos; /* pos: next index into sizes */
    uint64_t local_frees, remote_frees;
    pthread_t tid;
};

static int ring_push(struct larson_ring *q, void *p) {
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (t - q->head_seen == LARSON_RING_CAP) {
        q->head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
        if (t - q->head_seen == LARSON_RING_CAP) return 0;
    }
    q->slot[t & (LARSON_RING_CAP - 1)] = p;
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return 1;
}

static void *ring_pop(struct larson_ring *q) {
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (h == q->tail_seen) {
        q->tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (h == q->tail_seen) return NULL;
    }
    void *p = q->slot[h & (LARSON_RING_CAP - 1)];
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return p;
}

static void larson_free_incoming(struct larson_thread *t) {
    char *q = ring_pop(t->in);
    if (q != NULL) {
        free(q);
        t->remote_frees++;
    }
}

/* A full ring means the next thread is behind: wait for it, freeing our own
 * incoming blocks meanwhile (two threads each waiting on the other would
 * otherwise deadlock). Only once the next thread has finished its round is
 * the block freed here. Returns 1 if the block was passed on. */
static int larson_pass(struct larson_thread *t, char *p) {
    while (!ring_push(t->out, p)) {
        if (!atomic_load_explicit(t->next_running, memory_order_acquire)) return 0;
        larson_free_incoming(t);
        sched_yield();
    }
    return 1;
}

/* One step: allocate a block into a random held slot, pass the block it
 * displaces to the next thread, and free one block the previous thread
 * passed in, if any. The threads of a round start together so that they
 * overlap for as much of the round as the scheduler allows. */
static void *larson_main(void *arg) {
    struct larson_thread *t = arg;
    pthread_barrier_wait(t->start);
    for (uint64_t i = 0; i < t->ops; i++) {
        size_t k = rng_range(&t->rng, 0, LARSON_HELD - 1);
        size_t sz = t->sizes[t->pos++ & SIZE_TABLE_MASK];
        char *p = xmalloc(sz);
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        char *old = t->held[k];
        t->held[k] = p;
        if (old != NULL && !larson_pass(t, old)) {
            free(old);
            t->local_frees++;
        }
        larson_free_incoming(t);
    }
    atomic_store_explicit(&t->running, 0, memory_order_release);
    return NULL;
}

/* ops = allocations over all threads. */
static void wl_larson(double scale, struct rep_result *r, unsigned nthreads) {
    uint64_t total = scaled(24e6, scale);
    uint64_t per_round = total / LARSON_ROUNDS / nthreads;
    uint32_t *sizes = size_table_new(4, 16, 1024, 0);
    struct larson_ring *rings = book_alloc(nthreads * sizeof *rings);
    struct larson_thread th[LARSON_MAX_THREADS];
    uint64_t local = 0, remote = 0;
    pthread_barrier_t start;
    struct meter m;

    if (per_round == 0) per_round = 1;
    pthread_barrier_init(&start, NULL, nthreads);
    memset(th, 0, sizeof th);
    for (unsigned i = 0; i < nthreads; i++) {
        th[i].out = &rings[i];
        th[i].in = &rings[(i + nthreads - 1) % nthreads];
        th[i].held = book_alloc(LARSON_HELD * sizeof(char *));
        th[i].sizes = sizes;
        th[i].rng = 0x5eed + i;
        th[i].pos = (uint64_t)i * (SIZE_TABLE_LEN / nthreads);
        th[i].ops = per_round;
        th[i].next_running = &th[(i + 1) % nthreads].running;
        th[i].start = &start;
    }

    meter_start(&m);
    for (unsigned round = 0; round < LARSON_ROUNDS; round++) {
        for (unsigned i = 0; i < nthreads; i++) atomic_store(&th[i].running, 1);
        for (unsigned i = 0; i < nthreads; i++) {
            errno = pthread_create(&th[i].tid, NULL, larson_main, &th[i]);
            if (errno != 0) die("pthread_create");
        }
        for (unsigned i = 0; i < nthreads; i++) pthread_join(th[i].tid, NULL);
    }
    meter_stop(&m, r);

    for (unsigned i = 0; i < nthreads; i++) {
        void *p;
        while ((p = ring_pop(&rings[i])) != NULL) free(p);
        for (unsigned k = 0; k < LARSON_HELD; k++) free(th[i].held[k]);
        book_free(th[i].held, LARSON_HELD * sizeof(char *));
        local += th[i].local_frees;
        remote += th[i].remote_frees;
    }
    r->ops = (double)(per_round * LARSON_ROUNDS * nthreads);
    r->xfree = local + remote ? (double)remote / (double)(local + remote) : 0;
    pthread_barrier_destroy(&start);
    book_free(rings, nthreads * sizeof *rings);
    size_table_free(sizes);
}

/* ---- prodcons: one thread allocates, another frees -------------------- */

/* A producer allocates 8 B..1 KiB (3 in 4 requests at most 128 B), writes
 * each block's first and last byte and hands it through a bounded
 * single-producer single-consumer ring (larson's) to a consumer that frees
 * it: every free is a cross-thread free, and the producer refills from the
 * arena the consumer gives back to (a logger's or a pipeline's pattern).
 * ops = blocks. */
struct prodcons {
    struct larson_ring *ring;
    uint64_t n;
};

static void *prodcons_consumer(void *arg) {
    struct prodcons *pc = arg;
    for (uint64_t done = 0; done < pc->n;) {
        char *p = ring_pop(pc->ring);
        if (p == NULL) {
            sched_yield();
            continue;
        }
        free(p);
        done++;
    }
    return NULL;
}

static void wl_prodcons(double scale, struct rep_result *r) {
    uint64_t rng = 99;
    uint32_t *sizes = book_alloc(SIZE_TABLE_LEN * sizeof *sizes);
    for (size_t i = 0; i < SIZE_TABLE_LEN; i++)
        sizes[i] = (uint32_t)(rng_next(&rng) % 4 ? rng_range(&rng, 8, 128) : rng_range(&rng, 129, 1024));
    struct prodcons pc = {.ring = book_alloc(sizeof *pc.ring), .n = scaled(6e6, scale)};
    pthread_t tid;
    struct meter m;

    meter_start(&m);
    errno = pthread_create(&tid, NULL, prodcons_consumer, &pc);
    if (errno != 0) die("pthread_create");
    for (uint64_t i = 0; i < pc.n; i++) {
        size_t sz = sizes[i & SIZE_TABLE_MASK];
        char *p = xmalloc(sz);
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        while (!ring_push(pc.ring, p)) sched_yield();
    }
    pthread_join(tid, NULL);
    meter_stop(&m, r);
    r->ops = (double)pc.n;
    book_free(pc.ring, sizeof *pc.ring);
    size_table_free(sizes);
}

/* ---- realloc: growth chains ------------------------------------------- */

#define REALLOC_ACTIVE 16 /* chains growing at once, interleaved */
#define REALLOC_END MIB

/* Strings grow from 16 B to 1 MiB by appends of 8..256 B, each a realloc
 * followed by writing the appended bytes, the way a server grows a buffer.
 * Sixteen chains grow interleaved so no chain owns the top of the heap; a
 * finished chain is freed and a new one started in its place. ops =
 * reallocs. */
static void wl_realloc(double scale, struct rep_result *r) {
    uint64_t chains = scaled(480, scale);
    uint32_t *steps = size_table_new(5, 8, 256, 0);
    char *buf[REALLOC_ACTIVE];
    size_t len[REALLOC_ACTIVE];
    uint64_t started = 0, ops = 0, pos = 0;
    unsigned active = 0;
    struct meter m;

    meter_start(&m);
    for (unsigned c = 0; c < REALLOC_ACTIVE && started < chains; c++, started++, active++) {
        len[c] = 16;
        buf[c] = xmalloc(len[c]);
        memset(buf[c], 'a' + (int)c, len[c]);
    }
    while (active > 0) {
        for (unsigned c = 0; c < REALLOC_ACTIVE; c++) {
            if (buf[c] == NULL) continue;
            size_t step = steps[pos++ & SIZE_TABLE_MASK];
            char *p = realloc(buf[c], len[c] + step);
            if (p == NULL) die("realloc");
            memset(p + len[c], 'a' + (int)c, step);
            buf[c] = p;
            len[c] += step;
            ops++;
            if (len[c] < REALLOC_END) continue;
            free(buf[c]);
            buf[c] = NULL;
            if (started < chains) {
                started++;
                len[c] = 16;
                buf[c] = xmalloc(len[c]);
                memset(buf[c], 'a' + (int)c, len[c]);
            } else {
                active--;
            }
        }
    }
    meter_stop(&m, r);
    r->ops = (double)ops;
    size_table_free(steps);
}

/* ---- frag: a Redis-like size shift -------------------------------------- */

/* Fill with ~1M values of 16..128 B, free a random half, then insert values
 * of 160..512 B into the freed slots until the live bytes equal the original
 * fill. The new values are all larger than the old ones, so they cannot
 * reuse the holes without the allocator giving pages back or merging them;
 * the RSS left at the end over the live bytes says how well it did. ops =
 * allocations. */
static void wl_frag(double scale, struct rep_result *r) {
    uint64_t n = scaled(1e6, scale);
    char **val = book_alloc(n * sizeof *val);
    uint16_t *len = book_alloc(n * sizeof *len);
    uint64_t rng = 66, ops = 0;
    size_t live = 0, fill, base;
    struct meter m;

    base = rss_now();
    meter_start(&m);
    for (uint64_t i = 0; i < n; i++) {
        len[i] = (uint16_t)rng_range(&rng, 16, 128);
        val[i] = xmalloc(len[i]);
        memset(val[i], 'v', len[i]);
        live += len[i];
        ops++;
    }
    fill = live;
    for (uint64_t i = 0; i < n; i++) {
        if (rng_next(&rng) >> 63) continue;
        free(val[i]);
        val[i] = NULL;
        live -= len[i];
    }
    for (uint64_t i = 0; i < n && live < fill; i++) {
        if (val[i] != NULL) continue;
        len[i] = (uint16_t)rng_range(&rng, 160, 512);
        val[i] = xmalloc(len[i]);
        memset(val[i], 'w', len[i]);
        live += len[i];
        ops++;
    }
    meter_stop(&m, r);
    r->rss_per_live = (double)(rss_now() - base) / (double)live;
    r->ops = (double)ops;
    for (uint64_t i = 0; i < n; i++) free(val[i]);
    book_free(val, n * sizeof *val);
    book_free(len, n * sizeof *len);
}

/* ---- large: multi-megabyte blocks -------------------------------------- */

/* One 5..25 MiB block at a time is allocated, has every page written and is
 * freed. Whether the allocator keeps such blocks mapped or returns them to
 * the kernel shows up as sys time (page faults, zeroing, munmap). ops =
 * blocks. */
static void wl_large(double scale, struct rep_result *r) {
    uint64_t n = scaled(60, scale);
    uint64_t rng = 77;
    struct meter m;

    meter_start(&m);
    for (uint64_t i = 0; i < n; i++) {
        size_t sz = rng_range(&rng, 5 * MIB, 25 * MIB);
        char *p = xmalloc(sz);
        touch_pages(p, sz, (char)i);
        keep(p);
        free(p);
    }
    meter_stop(&m, r);
    r->ops = (double)n;
}

/* ---- driver ----------------------------------------------------------- */

static void wl_larson2(double scale, struct rep_result *r) { wl_larson(scale, r, 2); }
static void wl_larson4(double scale, struct rep_result *r) { wl_larson(scale, r, 4); }

static const struct workload {
    const char *name;
    void (*run)(double scale, struct rep_result *r);
} workloads[] = {
    {"pairs", wl_pairs},     {"held64", wl_held64},   {"reply", wl_reply},
    {"churn", wl_churn},
    {"churnread", wl_churnread}, {"larson2", wl_larson2}, {"larson4", wl_larson4},
    {"realloc", wl_realloc}, {"frag", wl_frag},       {"large", wl_large},
    {"skewchurn", wl_skewchurn},
    {"prodcons", wl_prodcons},
};
#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

/* ld.so only warns and carries on when a preload fails to load, which would
 * silently measure glibc under another name; refuse to run instead. */
static int preload_check(void) {
    const char *env = getenv("LD_PRELOAD");
    char list[4096], *save = NULL;
    if (env == NULL || *env == '\0') return 0;
    snprintf(list, sizeof list, "%s", env);
    for (char *tok = strtok_r(list, " :", &save); tok; tok = strtok_r(NULL, " :", &save)) {
        char real[PATH_MAX], line[PATH_MAX + 256];
        int found = 0;
        FILE *f;
        if (realpath(tok, real) == NULL) {
            fprintf(stderr, "workloads: LD_PRELOAD entry %s: %s\n", tok, strerror(errno));
            return -1;
        }
        if ((f = fopen("/proc/self/maps", "r")) == NULL) die("/proc/self/maps");
        while (!found && fgets(line, sizeof line, f)) {
            char *nl = strchr(line, '\n');
            size_t ll, rl = strlen(real);
            if (nl) *nl = '\0';
            ll = strlen(line);
            found = ll >= rl && strcmp(line + ll - rl, real) == 0;
        }
        fclose(f);
        if (!found) {
            fprintf(stderr, "workloads: LD_PRELOAD entry %s is not mapped\n", tok);
            return -1;
        }
    }
    return 0;
}

/* Runs one repetition in a child; returns 0 and fills *r, or -1. */
static int rep_run(const struct workload *w, double scale, struct rep_result *r) {
    int fd[2], status;
    pid_t pid;
    ssize_t got;

    if (pipe(fd) != 0) die("pipe");
    fflush(NULL);
    pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        struct rep_result res = {.rss_per_live = -1, .xfree = -1};
        close(fd[0]);
        w->run(scale, &res);
        res.peak_kb = rss_peak_kb();
        if (write(fd[1], &res, sizeof res) != (ssize_t)sizeof res) _exit(4);
        _exit(0);
    }
    close(fd[1]);
    got = read(fd[0], r, sizeof *r);
    close(fd[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) die("waitpid");
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "workloads: %s: killed by signal %d\n", w->name, WTERMSIG(status));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof *r) {
        fprintf(stderr, "workloads: %s: repetition failed\n", w->name);
        return -1;
    }
    return 0;
}

static int by_wall(const void *a, const void *b) {
    double x = ((const struct rep_result *)a)->wall, y = ((const struct rep_result *)b)->wall;
    return (x > y) - (x < y);
}

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fmt_opt(char *buf, size_t n, double v, const char *fmt) {
    if (v < 0) snprintf(buf, n, "-");
    else snprintf(buf, n, fmt, v);
}

int main(int argc, char **argv) {
    const struct workload *w = NULL;
    struct rep_result res[16];
    double scale = 1, frag[16];
    int reps = 3;
    long peak = 0;
    char rpl[32], xf[32];

    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < N_WORKLOADS; i++) printf("%s\n", workloads[i].name);
        return 0;
    }
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s NAME [SCALE] [REPS] | list\n", argv[0]);
        return 2;
    }
    const char *name = strcmp(argv[1], "larson") == 0 ? "larson2" : argv[1];
    for (size_t i = 0; i < N_WORKLOADS; i++)
        if (strcmp(name, workloads[i].name) == 0) w = &workloads[i];
    if (w == NULL) {
        fprintf(stderr, "workloads: unknown workload %s (try: %s list)\n", argv[1], argv[0]);
        return 2;
    }
    if (argc >= 3) scale = strtod(argv[2], NULL);
    if (argc >= 4) reps = atoi(argv[3]);
    if (!(scale > 0) || reps < 1 || reps > 16) {
        fprintf(stderr, "workloads: SCALE must be > 0 and REPS in 1..16\n");
        return 2;
    }
    if (preload_check() != 0) return 2;

    for (int i = 0; i < reps; i++) {
        if (rep_run(w, scale, &res[i]) != 0) return 1;
        frag[i] = res[i].rss_per_live;
        if (res[i].peak_kb > peak) peak = res[i].peak_kb;
    }
    qsort(res, (size_t)reps, sizeof res[0], by_wall);
    qsort(frag, (size_t)reps, sizeof frag[0], by_double);
    const struct rep_result *med = &res[reps / 2];
    fmt_opt(rpl, sizeof rpl, frag[reps / 2], "%.3f");
    fmt_opt(xf, sizeof xf, med->xfree, "%.3f");
    printf("workload=%s reps=%d scale=%g wall_s=%.4f cpu_s=%.4f sys_s=%.4f peak_rss_kb=%ld "
           "ops=%.0f ns_per_op=%.2f rss_per_live=%s xfree=%s\n",
           w->name, reps, scale, med->wall, med->user + med->sys, med->sys, peak, med->ops,
           med->wall * 1e9 / med->ops, rpl, xf);
    return 0;
}
