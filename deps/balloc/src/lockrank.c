#include "lockrank.h"

#include <stdint.h>

#include "util.h"

/* What the calling thread holds: how many locks of each rank, the highest
 * rank among them (LOCKRANK_NONE if none) and, while it holds arena locks,
 * the index of the last one it took. */
struct lockrank_held {
    uint16_t count[LOCKRANK_COUNT];
    unsigned top;
    unsigned arena_last;
};
static _Thread_local struct lockrank_held lockrank_tls __attribute__((tls_model("initial-exec")));

static const char *const lockrank_names[LOCKRANK_COUNT] = {
    [LOCKRANK_NONE] = "nothing",
    [LOCKRANK_TCACHE_REGISTRY] = "tcache registry",
    [LOCKRANK_ARENA_LIST] = "arena list",
    [LOCKRANK_ARENA] = "arena",
    [LOCKRANK_BACKGROUND] = "background",
    [LOCKRANK_HUGE] = "huge cache",
    [LOCKRANK_BASE] = "base",
    [LOCKRANK_PROF] = "heap profile",
};

static size_t lockrank_name(char *buf, size_t n, unsigned rank, unsigned index) {
    n = util_msg_put(buf, n, lockrank_names[rank]);
    if (rank == LOCKRANK_ARENA) {
        n = util_msg_put(buf, n, " ");
        n = util_msg_num(buf, n, index, 10);
    }
    return n;
}

void lockrank_enter(enum lockrank rank, unsigned index) {
    struct lockrank_held *h = &lockrank_tls;
    /* A rank below the highest held, or the same one again (the same lock,
     * or an arena lock not above the last one taken). */
    if (h->top > (unsigned)rank ||
        (h->top == (unsigned)rank && (rank != LOCKRANK_ARENA || index <= h->arena_last))) {
        char buf[UTIL_MSG_MAX];
        size_t n = util_msg_put(buf, 0, "balloc: lock order: ");
        n = lockrank_name(buf, n, rank, index);
        n = util_msg_put(buf, n, " taken while holding ");
        n = lockrank_name(buf, n, h->top, h->arena_last);
        util_msg_die(buf, n);
    }
    h->count[rank]++;
    h->top = rank;
    if (rank == LOCKRANK_ARENA)
        h->arena_last = index;
}

void lockrank_leave(enum lockrank rank) {
    struct lockrank_held *h = &lockrank_tls;
    if (h->count[rank] == 0 || --h->count[rank] != 0 || h->top != (unsigned)rank)
        return;
    unsigned t = rank;
    while (t > LOCKRANK_NONE && h->count[t] == 0)
        t--;
    h->top = t;
}
