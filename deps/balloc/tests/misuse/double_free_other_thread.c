/* The block sits in another live thread's cache. */
#include <pthread.h>

#include "misuse.h"
static void *victim;
static pthread_barrier_t freed, done;
static void *other(void *arg) {
    (void)arg;
    balloc_free(victim);
    pthread_barrier_wait(&freed);
    pthread_barrier_wait(&done);  /* stays alive, its cache intact */
    return NULL;
}
int main(void) {
    pthread_t t;
    victim = balloc_malloc(100);
    pthread_barrier_init(&freed, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_create(&t, NULL, other, NULL);
    pthread_barrier_wait(&freed);
    misuse_expect("double free", victim);
    balloc_free(victim);
    return 0;
}
