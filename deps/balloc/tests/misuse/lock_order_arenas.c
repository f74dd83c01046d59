/* Two arena locks are taken only in index order (the fork handlers): arena
 * 1 then arena 0 aborts, naming both. */
#undef BALLOC_DEBUG
#define BALLOC_DEBUG 1
#include "lockrank.h"
#include "misuse.h"

static pthread_mutex_t a0, a1;

int main(void) {
    pthread_mutex_init(&a0, NULL);
    pthread_mutex_init(&a1, NULL);
    printf("signal %d\nballoc: lock order: arena 0 taken while holding arena 1\n", SIGABRT);
    fflush(stdout);
    lockrank_lock_at(&a1, LOCKRANK_ARENA, 1);
    lockrank_lock_at(&a0, LOCKRANK_ARENA, 0);
    return 0;
}
