/* Randomized model test: mixed malloc/calloc/realloc/aligned/free variants
 * against a shadow of every live block (size, usable size, content pattern),
 * with exact `allocated` checked against the shadow along the way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balloc.h"
#include "harness.h"

#define NSLOTS 8192
#define NOPS 1200000

struct slot {
    unsigned char *p;
    size_t req, usable;
    uint32_t seed;
    int aligned;
};

static struct slot slots[NSLOTS];
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static long bad;

static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t rnd_size(void) {
    unsigned r = (unsigned)(rnd() % 1000);
    if (r < 700)
        return rnd() % 257;
    if (r < 900)
        return 257 + rnd() % 3840;
    if (r < 980)
        return 4097 + rnd() % 60000;
    if (r < 999)
        return 65536 + rnd() % 1000000;
    return (4u << 20) + rnd() % (2u << 20);
}

static unsigned char pat(uint32_t seed, size_t i) { return (unsigned char)(seed + i * 131u + (i >> 8)); }

/* Visit the pattern positions of an n-byte block (all of it when small). */
#define FOR_POSITIONS(n, i)                                                                   \
    for (size_t i = 0, lim_ = (n); i < lim_;                                                  \
         i = (lim_ <= 4096 || i < 255 || i + 257 > lim_) ? i + 1                             \
             : (i + 4096 < lim_ - 256 ? i + 4096 : lim_ - 256))

static void fill(struct slot *s) {
    FOR_POSITIONS(s->req, i)
        s->p[i] = pat(s->seed, i);
}

static int verify(const struct slot *s, size_t n) {
    FOR_POSITIONS(s->req, i) {
        if (i >= n)
            break;
        if (s->p[i] != pat(s->seed, i))
            return 0;
    }
    return 1;
}

static void check_new(struct slot *s) {
    if (s->p == NULL) {
        bad++;
        return;
    }
    if (s->usable < s->req || balloc_usable_size(s->p) != s->usable)
        bad++;
    if (!s->aligned && s->usable != balloc_good_size(s->req))
        bad++;
}

static void release(struct slot *s) {
    if (!verify(s, s->req))
        bad++;
    switch (s->aligned ? 0 : rnd() % 4) {
    case 0:
        balloc_free(s->p);
        break;
    case 1:
        balloc_free_sized(s->p, s->req);
        break;
    case 2:
        balloc_free_sized(s->p, s->usable);
        break;
    default:
        if (balloc_free_usable(s->p) != s->usable)
            bad++;
    }
    s->p = NULL;
}

static size_t live_usable(void) {
    size_t t = 0;
    for (int i = 0; i < NSLOTS; i++)
        if (slots[i].p)
            t += slots[i].usable;
    return t;
}

int main(void) {
    struct balloc_stats st;
    balloc_get_stats(&st);
    size_t base_alloc = st.allocated;
    long exact_fail = 0;
    for (long op = 0; op < NOPS; op++) {
        struct slot *s = &slots[rnd() % NSLOTS];
        unsigned kind = (unsigned)(rnd() % 100);
        if (s->p && (kind < 35 || kind >= 85)) {
            release(s);
            continue;
        }
        if (kind < 35 || kind >= 85 || s->p == NULL) {
            size_t n = rnd_size();
            s->seed = (uint32_t)rnd();
            s->req = n;
            s->aligned = 0;
            unsigned how = (unsigned)(rnd() % 10);
            if (how < 6) {
                s->p = balloc_malloc_usable(n, &s->usable);
            } else if (how < 8) {
                s->p = balloc_calloc_usable(1, n, &s->usable);
                for (size_t i = 0; s->p && i < n; i += (n > 4096 ? 509 : 1))
                    if (s->p[i])
                        bad++;
            } else if (how < 9) {
                size_t a = (size_t)1 << (rnd() % 17);
                s->p = balloc_aligned_alloc(a, n);
                s->aligned = 1;
                if (((uintptr_t)s->p & (a - 1)) != 0)
                    bad++;
                s->usable = s->p ? balloc_usable_size(s->p) : 0;
            } else {
                s->p = balloc_malloc(n);
                s->usable = s->p ? balloc_usable_size(s->p) : 0;
            }
            check_new(s);
            if (s->p)
                fill(s);
        } else {
            /* realloc: keep the common prefix */
            size_t n = rnd_size();
            size_t u;
            unsigned char *q = balloc_realloc_usable(s->p, n ? n : 1, &u);
            if (q == NULL) {
                bad++;
                continue;
            }
            s->p = q;
            size_t keep = s->req < n ? s->req : n;
            if (!verify(s, keep))
                bad++;
            s->req = n ? n : 1;
            s->usable = u;
            s->aligned = 0;
            s->seed = (uint32_t)rnd();
            check_new(s);
            fill(s);
        }
        if (op % 100000 == 99999) {
            balloc_get_stats(&st);
            if (st.allocated != base_alloc + live_usable())
                exact_fail++;
            if (op % 300000 == 299999) {
                balloc_thread_flush();
                balloc_purge();
            }
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(exact_fail, 0);
    for (int i = 0; i < NSLOTS; i++)
        if (slots[i].p)
            release(&slots[i]);
    CHECK_EQ(bad, 0);
    balloc_thread_flush();
    balloc_get_stats(&st);
    CHECK_EQ(st.allocated, base_alloc);
    CHECK_EQ(st.mapped, st.active + st.dirty + st.retained + st.metadata);
    printf("model: %d ops, active %zu KiB, mapped %zu KiB after freeing all\n", NOPS,
           st.active >> 10, st.mapped >> 10);
    return harness_done();
}
