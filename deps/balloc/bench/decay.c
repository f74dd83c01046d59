/* decay.c -- how fast an allocator gives freed memory back, with no calls.
 *
 *   decay [MIB] [SECONDS]
 *
 * Allocates MIB mebibytes (default 1024) in blocks of 4 KiB to 256 KiB,
 * writes every page, frees them all, then samples the process's RSS every
 * 100 ms for SECONDS (default 12) while the main thread sleeps, and prints
 * "t_ms rss_kib" lines. Only plain malloc/free are called, so the allocator
 * is chosen with LD_PRELOAD (bench/run.sh). Purging has to come from
 * the allocator's own background work, or from other threads: none here. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 1024;
    double seconds = argc > 2 ? atof(argv[2]) : 12;
    if (mib <= 0 || seconds <= 0) {
        fprintf(stderr, "usage: decay [MIB > 0] [SECONDS > 0]\n");
        return 2;
    }
    size_t total = (size_t)mib << 20, have = 0, n = 0, cap = total / 4096 + 1;
    void **blocks = malloc(cap * sizeof(void *));
    unsigned x = 1;
    if (blocks == NULL) return 1;
    while (have < total && n < cap) {
        x = x * 1103515245u + 12345u;
        size_t sz = (size_t)4096 << ((x >> 16) % 7); /* 4 KiB .. 256 KiB */
        char *p = malloc(sz);
        if (p == NULL) return 1;
        memset(p, 1, sz);
        blocks[n++] = p;
        have += sz;
    }
    long peak = rss_kib();
    for (size_t i = 0; i < n; i++) free(blocks[i]);
    free(blocks);
    double t0 = now_ms();
    printf("# allocated %zu MiB in %zu blocks, RSS %ld KiB before the frees\n", have >> 20, n, peak);
    for (;;) {
        double t = now_ms() - t0;
        printf("%.0f %ld\n", t, rss_kib());
        fflush(stdout);
        if (t >= seconds * 1e3) break;
        usleep(100000);
    }
    return 0;
}
