/* Threads: producer/consumer cross-thread frees, remote batches, thread
 * exit flushing, many threads allocating at once, and live data equal to
 * the free key. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "balloc.h"
#include "build.h"
#include "check.h"
#include "harness.h"

#define QLEN 1024
#define PER_PRODUCER 200000

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void *items[QLEN];
    unsigned head, tail;
    int done;
};

static struct queue q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};
static long consumer_bad;

static void *producer(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    for (unsigned i = 0; i < PER_PRODUCER; i++) {
        size_t n = 1 + (i * 7919u + id) % 3000;
        unsigned char *p = balloc_malloc(n);
        p[0] = (unsigned char)n;
        p[n - 1] = (unsigned char)(n >> 3);
        pthread_mutex_lock(&q.lock);
        while (q.tail - q.head == QLEN)
            pthread_cond_wait(&q.cond, &q.lock);
        q.items[q.tail++ % QLEN] = p;
        pthread_cond_broadcast(&q.cond);
        pthread_mutex_unlock(&q.lock);
    }
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&q.lock);
        while (q.tail == q.head && !q.done)
            pthread_cond_wait(&q.cond, &q.lock);
        if (q.tail == q.head && q.done) {
            pthread_mutex_unlock(&q.lock);
            return NULL;
        }
        unsigned char *p = q.items[q.head++ % QLEN];
        pthread_cond_broadcast(&q.cond);
        pthread_mutex_unlock(&q.lock);
        size_t u = balloc_usable_size(p);
        if (u < 1 || u > 3072)
            __atomic_fetch_add(&consumer_bad, 1, __ATOMIC_RELAXED);
        if ((p[0] & 1) == 0)
            balloc_free(p);
        else
            balloc_free_usable(p);
    }
}

TEST(producer_consumer) {
    struct balloc_stats st0, st1;
    balloc_get_stats(&st0);
    pthread_t pr[2], co[2];
    for (uintptr_t i = 0; i < 2; i++) {
        pthread_create(&pr[i], NULL, producer, (void *)i);
        pthread_create(&co[i], NULL, consumer, NULL);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(pr[i], NULL);
    pthread_mutex_lock(&q.lock);
    q.done = 1;
    pthread_cond_broadcast(&q.cond);
    pthread_mutex_unlock(&q.lock);
    for (int i = 0; i < 2; i++)
        pthread_join(co[i], NULL);
    CHECK_EQ(consumer_bad, 0);
    balloc_get_stats(&st1);
    CHECK_EQ(st1.allocated, st0.allocated);   /* exited threads flushed their caches */
    CHECK_EQ(st1.nthreads, st0.nthreads);
}

static void *churn(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    void *keep[256];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 256; i++)
            keep[i] = balloc_malloc((size_t)((i * 37 + id * 11 + round) % 40000));
        for (int i = 0; i < 256; i++)
            balloc_free(keep[i]);
    }
    return NULL;
}

TEST(thread_exit_many) {
    struct balloc_stats st0, st1;
    balloc_get_stats(&st0);
    for (int wave = 0; wave < 10; wave++) {
        pthread_t t[8];
        for (uintptr_t i = 0; i < 8; i++)
            pthread_create(&t[i], NULL, churn, (void *)(i + (uintptr_t)wave * 8));
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
    }
    balloc_get_stats(&st1);
    CHECK_EQ(st1.allocated, st0.allocated);
    CHECK_EQ(st1.nthreads, st0.nthreads);
    CHECK(st1.narenas >= 1);
}

/* A program may store the free key's value in a live block: the free must
 * confirm, never misreport, even while another thread's cache flushes the
 * same class's blocks back to the same arena (a flushing bin must not still
 * list blocks it has returned). The main thread frees batches that mix its
 * own blocks with a producer's (another arena) and flushes; a thread with
 * no cache frees blocks holding the key. */
#define KEYED_ROUNDS 20000
#define KEYED_BATCH 64
static pthread_mutex_t keyed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t keyed_cond = PTHREAD_COND_INITIALIZER;
static void *keyed_batch[KEYED_BATCH];
static int keyed_full, keyed_stop;
static void *keyed_producer(void *arg) {
    (void)arg;
    for (;;) {
        void *tmp[KEYED_BATCH];
        for (int i = 0; i < KEYED_BATCH; i++)
            tmp[i] = balloc_malloc(16);
        pthread_mutex_lock(&keyed_lock);
        while (keyed_full && !keyed_stop)
            pthread_cond_wait(&keyed_cond, &keyed_lock);
        int stop = keyed_stop;
        memcpy(keyed_batch, tmp, sizeof(tmp));
        keyed_full = 1;
        pthread_cond_broadcast(&keyed_cond);
        pthread_mutex_unlock(&keyed_lock);
        if (stop)
            return NULL;
    }
}
static void *keyed_victim(void *arg) {
    long *frees = arg;
    bool off = false;
    balloc_ctl("thread.tcache.enabled", NULL, NULL, &off, sizeof(off));
    while (!__atomic_load_n(&keyed_stop, __ATOMIC_ACQUIRE)) {
        uint64_t *p[32];
        for (int i = 0; i < 32; i++) {
            p[i] = balloc_malloc(16);
            p[i][0] = CHECK_FREE_KEY;  /* its own data */
        }
        for (int i = 0; i < 32; i++)
            balloc_free(p[i]);
        *frees += 32;
    }
    return NULL;
}
TEST(live_data_equal_to_the_key) {
    pthread_t tp, tv;
    long frees = 0;
    pthread_create(&tp, NULL, keyed_producer, NULL);
    pthread_create(&tv, NULL, keyed_victim, &frees);
    for (int r = 0; r < KEYED_ROUNDS; r++) {
        void *own[KEYED_BATCH], *got[KEYED_BATCH];
        for (int i = 0; i < KEYED_BATCH; i++)
            own[i] = balloc_malloc(16);
        pthread_mutex_lock(&keyed_lock);
        while (!keyed_full)
            pthread_cond_wait(&keyed_cond, &keyed_lock);
        memcpy(got, keyed_batch, sizeof(got));
        keyed_full = 0;
        pthread_cond_broadcast(&keyed_cond);
        pthread_mutex_unlock(&keyed_lock);
        for (int i = KEYED_BATCH / 2; i < KEYED_BATCH; i++)
            balloc_free(own[i]);
        for (int i = 0; i < KEYED_BATCH; i++)
            balloc_free(got[i]);
        for (int i = 0; i < KEYED_BATCH / 2; i++)
            balloc_free(own[i]);
        balloc_thread_flush();
    }
    pthread_mutex_lock(&keyed_lock);
    __atomic_store_n(&keyed_stop, 1, __ATOMIC_RELEASE);
    keyed_full = 0;
    pthread_cond_broadcast(&keyed_cond);
    pthread_mutex_unlock(&keyed_lock);
    pthread_join(tp, NULL);
    pthread_join(tv, NULL);
    for (int i = 0; i < KEYED_BATCH; i++)
        balloc_free(keyed_batch[i]);  /* the producer's last batch */
    CHECK(frees > 0);  /* reached only without a false abort */
}

/* Frees by a thread of another arena wait in batches (arena_free_remote)
 * and still count as allocated; a refill of the class takes a whole batch
 * back into the owner's cache (with the free key; without it, batches go
 * through their slabs); reading the figures drains them into their slabs,
 * which releases the slabs they empty. The owner allocates REMOTE_N blocks
 * (its bin ends empty: refills bring 64 at a time); the freer frees 129 of
 * them, so its full bin (128) sends its oldest 64 back as one batch. */
#define REMOTE_N 1024
#define REMOTE_SIZE 200
static void *remote_blocks[REMOTE_N + 64];
static pthread_barrier_t remote_step;
static void *remote_owner(void *arg) {
    (void)arg;
    for (int i = 0; i < REMOTE_N; i++)
        remote_blocks[i] = balloc_malloc(REMOTE_SIZE);
    pthread_barrier_wait(&remote_step);  /* 1: allocated */
    pthread_barrier_wait(&remote_step);  /* 2: 129 freed over there */
    pthread_barrier_wait(&remote_step);  /* 3: the batch seen */
    for (int i = 0; i < 64; i++)
        remote_blocks[REMOTE_N + i] = balloc_malloc(REMOTE_SIZE);
    pthread_barrier_wait(&remote_step);  /* 4: refilled */
    pthread_barrier_wait(&remote_step);  /* 5: all freed over there */
    pthread_barrier_wait(&remote_step);  /* 6: figures read while both live */
    return NULL;
}
static void *remote_freer(void *arg) {
    void **own = arg;
    *own = balloc_malloc(16);  /* binds this thread to its arena (another class) */
    pthread_barrier_wait(&remote_step);
    for (int i = 0; i < 129; i++)
        balloc_free(remote_blocks[i]);
    pthread_barrier_wait(&remote_step);
    pthread_barrier_wait(&remote_step);
    pthread_barrier_wait(&remote_step);
    for (int i = 129; i < REMOTE_N + 64; i++)
        balloc_free(remote_blocks[i]);
    balloc_free(*own);
    pthread_barrier_wait(&remote_step);
    pthread_barrier_wait(&remote_step);
    return NULL;
}
TEST(remote_batches) {
    struct balloc_stats st0, st1, st2;
    size_t usable = balloc_good_size(REMOTE_SIZE);
    balloc_get_stats(&st0);
    pthread_barrier_init(&remote_step, NULL, 3);
    pthread_t to, tf;
    void *freer_own = NULL;
    pthread_create(&to, NULL, remote_owner, NULL);
    pthread_create(&tf, NULL, remote_freer, &freer_own);
    pthread_barrier_wait(&remote_step);
    struct arena *a = arena_of_ptr(remote_blocks[0]);
    CHECK(arena_of_ptr(freer_own) != a);
    pthread_barrier_wait(&remote_step);
    CHECK_EQ(__atomic_load_n(&a->remote_bytes, __ATOMIC_RELAXED), 64 * usable);
    pthread_barrier_wait(&remote_step);
    pthread_barrier_wait(&remote_step);
    /* The refill took the batch: the oldest 64 freed, none from a slab. */
    int same = 0;
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++)
            same += remote_blocks[REMOTE_N + i] == remote_blocks[j];
    CHECK_EQ(same, BALLOC_FREE_KEY ? 64 : 0);
    /* 959 more frees: 14 more batches of 64, 128 blocks left in the bin. */
    pthread_barrier_wait(&remote_step);
    CHECK_EQ(__atomic_load_n(&a->remote_bytes, __ATOMIC_RELAXED),
             (BALLOC_FREE_KEY ? 14 * 64 : 15 * 64) * usable);
    balloc_get_stats(&st1);  /* drains: exact while the threads live */
    CHECK_EQ(__atomic_load_n(&a->remote_bytes, __ATOMIC_RELAXED), 0);
    CHECK_EQ(st1.allocated, st0.allocated);
    pthread_barrier_wait(&remote_step);
    pthread_join(to, NULL);
    pthread_join(tf, NULL);
    pthread_barrier_destroy(&remote_step);
    /* Exit flushes sent the rest back; every slab the test filled is empty
     * and released, those emptied only by drained batches too. */
    balloc_get_stats(&st2);
    CHECK_EQ(st2.allocated, st0.allocated);
    CHECK_EQ(st2.active, st0.active);
}

int main(void) {
    /* Two arenas (the default on two CPUs), so the producer's blocks come
     * from the other one. */
    setenv("BALLOC_CONF", "narenas:2", 0);
    void *warm = balloc_malloc(1);  /* this thread's cache stays live */
    RUN(producer_consumer);
    RUN(remote_batches);
    RUN(thread_exit_many);
    RUN(live_data_equal_to_the_key);
    balloc_free(warm);
    return harness_done();
}
