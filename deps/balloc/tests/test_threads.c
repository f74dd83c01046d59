/* Threads: producer/consumer cross-thread frees, thread exit flushing, and
 * many threads allocating at once. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "balloc.h"
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

int main(void) {
    void *warm = balloc_malloc(1);  /* this thread's cache stays live */
    RUN(producer_consumer);
    RUN(thread_exit_many);
    balloc_free(warm);
    return harness_done();
}
