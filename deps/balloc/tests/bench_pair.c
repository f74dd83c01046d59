/* Tiny local perf check (a program that prints a table, not a test):
 * ns per malloc+free pair, (1) one block of 64 B at a time, (2) 64 live
 * blocks of 64 B freed and reallocated in turn. Built with -DUSE_LIBC_NAMES
 * it measures whatever malloc is linked (e.g. -ljemalloc). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef USE_LIBC_NAMES
#define A_MALLOC malloc
#define A_FREE free
#define NAME "linked malloc"
#else
#include "balloc.h"
#define A_MALLOC balloc_malloc
#define A_FREE balloc_free
#define NAME "balloc"
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void) {
    const long n = 50000000;
    void *volatile sink;
    for (int i = 0; i < 1000; i++)
        A_FREE(A_MALLOC(64));
    double best1 = 1e30, best2 = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (long i = 0; i < n; i++) {
            void *p = A_MALLOC(64);
            sink = p;
            A_FREE(p);
        }
        double t1 = now();
        if ((t1 - t0) / n < best1)
            best1 = (t1 - t0) / n;
        void *live[64];
        for (int i = 0; i < 64; i++)
            live[i] = A_MALLOC(64);
        t0 = now();
        for (long i = 0; i < n; i++) {
            unsigned j = (unsigned)(i * 17) & 63;
            A_FREE(live[j]);
            live[j] = A_MALLOC(64);
        }
        t1 = now();
        for (int i = 0; i < 64; i++)
            A_FREE(live[i]);
        if ((t1 - t0) / n < best2)
            best2 = (t1 - t0) / n;
    }
    (void)sink;
    printf("%-14s  pair %.2f ns   64-live %.2f ns\n", NAME, best1, best2);
    return 0;
}
