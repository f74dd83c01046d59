/* bench/overhead.c -- what the accounting layer costs over its backend.
 *
 * Built once per backend. For each size it times, per allocate+free pair:
 *   raw      the backend's own malloc and free
 *   zmalloc  zmalloc and zfree (per-thread counters)
 *   shared   the backend's malloc and free plus a usable-size look-up and one
 *            shared atomic counter on each side: how Redis's zmalloc counts
 * at 1 and 2 threads, in three patterns: pairs one block at a time; 64
 * blocks held and replaced in rotation; and batches of 256 blocks allocated
 * together and freed together in the same order (a server's reply built and
 * dropped). Each cell
 * is the best of several runs (the least disturbed by other work on the
 * machine). Prints one table; bench/run.sh gathers the backends. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zmalloc.h"
#include "backends/select.h"

static void *volatile sink;
static _Atomic size_t shared_used;

enum variant { RAW, ZMALLOC, SHARED, NVARIANTS };
static const char *variant_name[NVARIANTS] = {"raw", "zmalloc", "shared"};

/* The shared-counter layer, out of line as a library's functions are. */
__attribute__((noinline)) static void *shared_alloc(size_t size) {
    void *p = zb_malloc(size);
    atomic_fetch_add_explicit(&shared_used, zb_usable_size(p), memory_order_relaxed);
    return p;
}

__attribute__((noinline)) static void shared_free(void *p) {
    atomic_fetch_sub_explicit(&shared_used, zb_usable_size(p), memory_order_relaxed);
    zb_free(p);
}

static inline void *v_alloc(enum variant v, size_t size) {
    switch (v) {
    case RAW:
        return zb_malloc(size);
    case ZMALLOC:
        return zmalloc(size);
    default:
        return shared_alloc(size);
    }
}

static inline void v_free(enum variant v, void *p) {
    switch (v) {
    case RAW:
        zb_free(p);
        break;
    case ZMALLOC:
        zfree(p);
        break;
    default:
        shared_free(p);
    }
}

enum pattern { PAIRS, HELD64, BATCH256, NPATTERNS };
static const char *pattern_name[NPATTERNS] = {"pairs", "held64", "batch256"};
#define BATCH 256

struct job {
    enum variant v;
    size_t size;
    long iters;
    enum pattern pattern;
    pthread_barrier_t *start;
    double seconds;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The timed loops, compiled once per variant (v is a constant in each copy),
 * so no variant pays for choosing among them inside the loop. */
static inline __attribute__((always_inline)) void run_loops(enum variant v, struct job *j) {
    void *held[BATCH] = {0};
    if (j->pattern == PAIRS) {
        for (long i = 0; i < j->iters; i++) {
            void *p = v_alloc(v, j->size);
            sink = p;
            v_free(v, p);
        }
    } else if (j->pattern == HELD64) {
        for (int k = 0; k < 64; k++) held[k] = v_alloc(v, j->size + (size_t)k * 8);
        for (long i = 0; i < j->iters; i++) {
            int k = (int)(i & 63);
            v_free(v, held[k]);
            held[k] = v_alloc(v, j->size + (size_t)k * 8);
            sink = held[k];
        }
        for (int k = 0; k < 64; k++) v_free(v, held[k]);
    } else {
        for (long i = 0; i < j->iters; i += BATCH) {
            for (int k = 0; k < BATCH; k++) held[k] = v_alloc(v, j->size);
            sink = held[BATCH - 1];
            for (int k = 0; k < BATCH; k++) v_free(v, held[k]);
        }
    }
}

static void *run_job(void *arg) {
    struct job *j = arg;
    pthread_barrier_wait(j->start);
    double t0 = now();
    switch (j->v) {
    case RAW:
        run_loops(RAW, j);
        break;
    case ZMALLOC:
        run_loops(ZMALLOC, j);
        break;
    default:
        run_loops(SHARED, j);
    }
    j->seconds = now() - t0;
    return NULL;
}

/* Nanoseconds per pair per thread, best of `reps`. */
static double measure(enum variant v, size_t size, int threads, enum pattern pattern, long iters,
                      int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        pthread_t tid[2];
        struct job jobs[2];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads);
        for (int t = 0; t < threads; t++) {
            jobs[t] = (struct job){v, size, iters, pattern, &start, 0};
            pthread_create(&tid[t], NULL, run_job, &jobs[t]);
        }
        double worst = 0;
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            if (jobs[t].seconds > worst) worst = jobs[t].seconds;
        }
        pthread_barrier_destroy(&start);
        double ns = worst * 1e9 / (double)iters;
        if (ns < best) best = ns;
    }
    return best;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    static const size_t sizes[] = {8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536};
    double scale = argc > 1 ? atof(argv[1]) : 0.3;
    int reps = argc > 2 ? atoi(argv[2]) : 11;
    if (scale <= 0 || reps <= 0) {
        fprintf(stderr, "usage: %s [scale > 0] [reps > 0]\n", argv[0]);
        return 2;
    }
    printf("backend %s (%s accounting)\n", ZMALLOC_LIB,
#ifdef HAVE_MALLOC_SIZE
           "usable-size"
#else
           "prefix-header"
#endif
    );
    printf("%-8s %-6s | %8s %8s %8s %8s | %8s %8s %8s | %6s %6s %6s\n", "pattern", "size", "raw",
           "zmalloc", "shared", "over%", "raw2T", "zm2T", "sh2T", "rawx2", "zmx2", "shx2");
    /* Warm up: threads, caches and the first pages, before anything counts. */
    for (int v = 0; v < NVARIANTS; v++) measure((enum variant)v, 64, 2, HELD64, 100000, 2);
    double worst_over = -1e9, worst_scale = 1e9, overs[64], scales[64];
    int nrows = 0;
    for (int pat = 0; pat < NPATTERNS; pat++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t size = sizes[i];
            long iters = (long)(scale * (size >= 16384 ? 300000 : 1000000));
            if (iters < 1000) iters = 1000;
            double ns1[NVARIANTS], ns2[NVARIANTS];
            for (int v = 0; v < NVARIANTS; v++) {
                ns1[v] = measure((enum variant)v, size, 1, (enum pattern)pat, iters, reps);
                ns2[v] = measure((enum variant)v, size, 2, (enum pattern)pat, iters, reps);
            }
            double over = (ns1[ZMALLOC] / ns1[RAW] - 1) * 100;
            /* Two threads' pairs per second over one thread's. */
            double x2[NVARIANTS];
            for (int v = 0; v < NVARIANTS; v++) x2[v] = 2 * ns1[v] / ns2[v];
            if (over > worst_over) worst_over = over;
            if (x2[ZMALLOC] < worst_scale) worst_scale = x2[ZMALLOC];
            overs[nrows] = over;
            scales[nrows++] = x2[ZMALLOC];
            printf("%-8s %-6zu | %8.2f %8.2f %8.2f %+7.1f%% | %8.2f %8.2f %8.2f | %6.2f %6.2f %6.2f\n",
                   pattern_name[pat], size, ns1[RAW], ns1[ZMALLOC], ns1[SHARED], over,
                   ns2[RAW], ns2[ZMALLOC], ns2[SHARED], x2[RAW], x2[ZMALLOC], x2[SHARED]);
            fflush(stdout);
        }
    }
    qsort(overs, (size_t)nrows, sizeof(double), cmp_double);
    qsort(scales, (size_t)nrows, sizeof(double), cmp_double);
    printf("summary %s: zmalloc over raw at 1 thread: median %+.1f%%, worst %+.1f%%; "
           "2-thread scaling: median %.2fx, worst %.2fx\n",
           ZMALLOC_LIB, overs[nrows / 2], worst_over, scales[nrows / 2], worst_scale);
    (void)variant_name;
    return 0;
}
