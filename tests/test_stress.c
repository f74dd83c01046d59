/* tests/test_stress.c -- stress and soak: more threads than cores and arenas
 * freeing each other's blocks while threads come and go, fork while other
 * threads allocate (the child allocating too), and repeated fill/empty
 * cycles whose RSS must stay flat. Accounting is exact at the end of each. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../zmalloc.h"
#include "harness.h"

/* ASan's own allocator can be left locked in a child forked while other
 * threads allocate, and a sanitizer's quarantine or shadow memory makes RSS
 * say nothing about the allocator: those two tests measure the allocator,
 * so they need it in place. */
#if defined(__SANITIZE_ADDRESS__)
#define ZT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZT_ASAN 1
#endif
#endif
#if defined(ZT_ASAN) || defined(__SANITIZE_THREAD__)
#define ZT_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define ZT_SANITIZER_HEAP 1
#endif
#endif
#if defined(USE_BALLOC)
#include "balloc.h"
#endif

/* ---- many threads, cross-thread frees, thread churn ---- */

#define RING 4096
static void *ring[RING];
static size_t ring_head, ring_tail; /* under ring_lock */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void ring_put_or_free(void *p) {
    pthread_mutex_lock(&ring_lock);
    if (ring_head - ring_tail < RING) {
        ring[ring_head++ % RING] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&ring_lock);
    zfree(p); /* ring full: free it here */
}

static void *ring_take(void) {
    void *p = NULL;
    pthread_mutex_lock(&ring_lock);
    if (ring_tail != ring_head) p = ring[ring_tail++ % RING];
    pthread_mutex_unlock(&ring_lock);
    return p;
}

static void *storm_worker(void *arg) {
    unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 7;
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        size_t sz = (x >> 8) % 4 == 0 ? (x >> 12) % 40000 : (x >> 12) % 600;
        char *p = zmalloc(sz);
        if (sz) p[sz - 1] = 1;
        ring_put_or_free(p); /* another thread frees it */
        zfree(ring_take());
        if (i % 7 == 0) zfree(ring_take());
    }
    return NULL;
}

static void test_thread_storm(void) {
    size_t base = zmalloc_used_memory();
    enum { LIVE = 24, GENERATIONS = 12 };
    pthread_t t[LIVE];
    /* 24 threads at a time (more than the 2 cores and the arenas), each
     * replaced when it ends: 288 thread lifetimes. */
    for (int g = 0; g < GENERATIONS; g++) {
        for (int i = 0; i < LIVE; i++) pthread_create(&t[i], NULL, storm_worker, (void *)(uintptr_t)(g * LIVE + i));
        for (int i = 0; i < LIVE; i++) pthread_join(t[i], NULL);
    }
    void *p;
    while ((p = ring_take()) != NULL) zfree(p);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK(zmalloc_thread_slots() <= LIVE + 4);
}

/* ---- fork while other threads allocate ---- */

#ifndef ZT_ASAN
static atomic_int stop_storm;

static void *busy_worker(void *arg) {
    (void)arg;
    unsigned x = 99;
    void *held[32] = {0};
    while (!atomic_load(&stop_storm)) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 10) % 32);
        zfree(held[k]);
        held[k] = zmalloc((x >> 16) % 3000);
    }
    for (int k = 0; k < 32; k++) zfree(held[k]);
    return NULL;
}

static void test_fork_while_allocating(void) {
    size_t base = zmalloc_used_memory();
    pthread_t t[4];
    atomic_store(&stop_storm, 0);
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, busy_worker, NULL);
    int bad = 0;
    for (int f = 0; f < 40; f++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10); /* a deadlocked child dies instead of hanging */
            size_t before = zmalloc_used_memory();
            void *p[500];
            for (int i = 0; i < 500; i++) p[i] = zmalloc((size_t)i * 13);
            for (int i = 0; i < 500; i++) zfree(p[i]);
            _exit(zmalloc_used_memory() == before ? 0 : 3);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            bad++;
            printf("    child %d: status 0x%x\n", f, status);
        }
    }
    atomic_store(&stop_storm, 1);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_EQ(bad, 0);
    CHECK_EQ(zmalloc_used_memory(), base);
}
#endif

/* ---- soak: RSS stays flat over fill/empty cycles ---- */

static void test_soak_rss_flat(void) {
    size_t base = zmalloc_used_memory();
    enum { N = 200000, CYCLES = 12 };
    static void *blocks[N];
    size_t rss[CYCLES];
    unsigned x = 5;
    for (int c = 0; c < CYCLES; c++) {
        for (int i = 0; i < N; i++) {
            x = x * 1103515245u + 12345u;
            size_t sz = (x >> 8) % 16 == 0 ? 1024 + (x >> 12) % 7000 : 16 + (x >> 12) % 300;
            blocks[i] = zmalloc(sz);
            ((char *)blocks[i])[0] = (char)c;
        }
        for (int i = 0; i < N; i++) zfree(blocks[(i * 7919) % N]); /* scattered order */
        zmalloc_purge();
        rss[c] = zmalloc_get_rss();
    }
    printf("    RSS after purge: cycle 2 %zu KiB, cycle %d %zu KiB\n", rss[1] >> 10, CYCLES, rss[CYCLES - 1] >> 10);
#if defined(USE_BALLOC) && !defined(ZT_SANITIZER_HEAP)
    /* Flat: the last cycle ends no more than 4 MiB above the second. (Only
     * balloc's RSS is held to it; the other allocators' is reported.) */
    CHECK(rss[CYCLES - 1] <= rss[1] + (4 << 20));
#endif
    CHECK_EQ(zmalloc_used_memory(), base);
}

#if defined(USE_BALLOC)
/* balloc's own figure is back where it was before the tests. */
static struct balloc_stats stats_before;
static void test_balloc_allocated_back(void) {
    struct balloc_stats st;
    balloc_thread_flush();
    balloc_get_stats(&st);
    printf("    balloc allocated: %zu before, %zu after\n", stats_before.allocated, st.allocated);
    CHECK_EQ(st.allocated, stats_before.allocated);
}
#endif

int main(void) {
    TH_BEGIN("zmalloc stress and soak");
#if defined(USE_BALLOC)
    balloc_thread_flush();
    balloc_get_stats(&stats_before);
#endif
    RUN(test_thread_storm);
#ifndef ZT_ASAN
    RUN(test_fork_while_allocating);
#endif
    RUN(test_soak_rss_flat);
#if defined(USE_BALLOC)
    RUN(test_balloc_allocated_back);
#endif
    TH_END();
}
