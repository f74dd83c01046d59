/* The first free went into a remote batch: the block was freed by a thread
 * of another arena and waits, not yet in its slab, for its arena's next
 * lock holder. With the free key the second free drains the batch and
 * finds the region free; without it the block goes into a second batch,
 * and draining (reading the figures) meets it twice. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "misuse.h"
#define N 300
static void *blocks[N];
static pthread_barrier_t ready, done;
static void *owner(void *arg) {
    (void)arg;
    for (int i = 0; i < N; i++)
        blocks[i] = balloc_malloc(100);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);  /* stays alive: its arena drains nothing */
    return NULL;
}
int main(void) {
    const char *conf = getenv("BALLOC_CONF");
    char two[256];
    snprintf(two, sizeof(two), "%s%snarenas:2", conf ? conf : "", conf && *conf ? "," : "");
    setenv("BALLOC_CONF", two, 1);
    void *warm = balloc_malloc(16);  /* binds this thread to arena 0 */
    pthread_t t;
    pthread_barrier_init(&ready, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_create(&t, NULL, owner, NULL);
    pthread_barrier_wait(&ready);
    void *victim = blocks[0];
    for (int i = 0; i < 129; i++)  /* the full bin sends its oldest 64 away */
        balloc_free(blocks[i]);
    misuse_expect("double free", victim);
    balloc_free(victim);
    for (int i = 129; i < N; i++)  /* without the key: the bin sends it in a later batch */
        balloc_free(blocks[i]);
    struct balloc_stats st;
    balloc_get_stats(&st);
    balloc_free(warm);
    return 0;
}
