/* The lock order's check (BALLOC_DEBUG, src/lockrank.h), as balloc's own
 * locks use it: the whole order taken and released passes; an arena lock
 * taken while the huge cache lock is held aborts, naming both. */
#undef BALLOC_DEBUG
#define BALLOC_DEBUG 1
#include "lockrank.h"
#include "misuse.h"

static pthread_mutex_t locks[8];

int main(void) {
    static const enum lockrank order[] = {LOCKRANK_TCACHE_REGISTRY, LOCKRANK_ARENA_LIST, LOCKRANK_ARENA,
                                          LOCKRANK_ARENA, LOCKRANK_BACKGROUND, LOCKRANK_HUGE, LOCKRANK_BASE};
    const unsigned n = sizeof(order) / sizeof(order[0]);
    for (unsigned i = 0; i < n; i++)
        pthread_mutex_init(&locks[i], NULL);
    for (unsigned i = 0; i < n; i++)  /* arenas 0 and 1, in index order */
        lockrank_lock_at(&locks[i], order[i], i == 3 ? 1 : 0);
    for (unsigned i = n; i-- > 0;)
        lockrank_unlock(&locks[i], order[i]);
    printf("signal %d\nballoc: lock order: arena 0 taken while holding huge cache\n", SIGABRT);
    fflush(stdout);
    lockrank_lock(&locks[0], LOCKRANK_HUGE);
    lockrank_lock_at(&locks[1], LOCKRANK_ARENA, 0);
    return 0;
}
