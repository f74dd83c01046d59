#include "decay.h"

#include <string.h>

#include "util.h"

uint32_t decay_weight[DECAY_NSTEPS];
int decay_background;
void (*decay_wake_hook)(void);

/* s(k / N) * 2^FP, floored: with x = k/N, s(x) = (10k^3N^2 - 15k^4N + 6k^5) / N^5.
 * The numerator is at most N^5 = 3.2e11, times 2^24 < 2^63. */
static uint64_t decay_smootherstep_fp(uint64_t k) {
    const uint64_t n = DECAY_NSTEPS;
    uint64_t num = 10 * k * k * k * n * n + 6 * k * k * k * k * k - 15 * k * k * k * k * n;
    return (num << DECAY_FP_LG) / (n * n * n * n * n);
}

void decay_boot(void) {
    for (unsigned i = 0; i < DECAY_NSTEPS; i++)
        decay_weight[i] = (uint32_t)(((uint64_t)1 << DECAY_FP_LG) - decay_smootherstep_fp(i + 1));
}

static uint64_t decay_jitter(struct decay *d) { return util_xorshift64(&d->rng) % d->interval_ns; }

static void decay_set_deadline(struct decay *d) {
    if (d->ms < 0)
        d->deadline_ns = DECAY_NEVER;
    else if (d->ms == 0)
        d->deadline_ns = d->epoch_ns;
    else
        d->deadline_ns = d->epoch_ns + d->interval_ns + decay_jitter(d);
}

void decay_set_ms(struct decay *d, int64_t ms, uint64_t now_ns) {
    d->ms = ms;
    uint64_t iv = ms > 0 ? (uint64_t)ms * 1000000u / DECAY_NSTEPS : 1;
    d->interval_ns = iv ? iv : 1;
    d->epoch_ns = now_ns;
    decay_set_deadline(d);
}

void decay_init(struct decay *d, int64_t ms, uint64_t now_ns, uint64_t seed) {
    memset(d, 0, sizeof(*d));
    d->rng = seed * 0x9E3779B97F4A7C15ull | 1;  /* xorshift needs a non-zero state */
    decay_set_ms(d, ms, now_ns);
}

size_t decay_limit(const struct decay *d) {
    uint64_t sum = 0;
    for (unsigned i = 0; i < DECAY_NSTEPS; i++)
        sum += (uint64_t)d->backlog[i] * decay_weight[i];
    return (size_t)((sum + ((uint64_t)1 << DECAY_FP_LG) - 1) >> DECAY_FP_LG);
}

size_t decay_advance(struct decay *d, uint64_t now_ns, size_t npages) {
    if (d->ms <= 0)
        return d->ms == 0 ? 0 : npages;
    uint64_t n = now_ns > d->epoch_ns ? (now_ns - d->epoch_ns) / d->interval_ns : 0;
    if (n >= DECAY_NSTEPS) {
        memset(d->backlog, 0, sizeof(d->backlog));
    } else if (n > 0) {
        memmove(d->backlog + n, d->backlog, (DECAY_NSTEPS - n) * sizeof(d->backlog[0]));
        memset(d->backlog, 0, n * sizeof(d->backlog[0]));
    }
    /* Pages that came in during the elapsed epochs count as the youngest:
     * they are kept a little longer rather than purged too soon. */
    d->backlog[0] += npages > d->nlast ? npages - d->nlast : 0;
    d->nlast = npages;
    d->epoch_ns += n * d->interval_ns;
    decay_set_deadline(d);
    return decay_limit(d);
}
