/* tests/test_faults.c -- zmalloc over balloc with the OS refusing memory.
 * Built and run only with MALLOC=bundled: balloc's OS-call layer (its
 * test-only header balloc_testing.h) makes chosen maps, unmaps, purges and moves
 * fail. With maps failing, zmalloc & co. call the OOM handler with the size
 * asked for (it may return, and the call returns NULL, or jump out), the
 * try forms return NULL without calling it, a failed realloc keeps its
 * block and contents, zmalloc_used_memory() equals the sum of zmalloc_size()
 * over the live blocks after every call and comes back to its start value,
 * and allocation works again once the failures stop. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "../zmalloc.h"
#include "balloc_testing.h"
#include "harness.h"

#ifndef USE_BALLOC
#error "tests/test_faults.c injects faults into balloc: build it with MALLOC=bundled"
#endif

#define MIB ((size_t)1 << 20)
#define MAPS (1u << PAGES_OP_MAP)

/* The handler: records each call; jumps back to oom_jump when it is armed,
 * else returns (and the allocation returns NULL). */
static size_t oom_calls, oom_last;
static jmp_buf oom_jump;
static volatile bool oom_jump_armed;
static void oom_record(size_t size) {
    oom_calls++;
    oom_last = size;
    if (oom_jump_armed) {
        oom_jump_armed = false;
        longjmp(oom_jump, 1);
    }
}

/* ---- a workload over a table of live blocks ---------------------------- */

#define NLIVE 64
struct live {
    unsigned char *p[NLIVE];
    size_t size[NLIVE];
    unsigned n;
    unsigned nulls;       /* calls that returned NULL */
    size_t base;          /* zmalloc_used_memory() before the first block */
};

static unsigned char mark_of(unsigned i, size_t off) { return (unsigned char)(i * 29u + off * 7u + 1u); }

/* The first 64 bytes and the last one carry a mark. */
static void mark(struct live *l, unsigned i) {
    size_t s = l->size[i];
    for (size_t k = 0; k < s && k < 64; k++) l->p[i][k] = mark_of(i, k);
    if (s) l->p[i][s - 1] = mark_of(i, s - 1);
}

/* Whether p holds the marks of slot i's block of `size` that lie below
 * `limit` (a realloc keeps those below the new size). */
static bool marked(const unsigned char *p, unsigned i, size_t size, size_t limit) {
    for (size_t k = 0; k < size && k < 64 && k < limit; k++)
        if (p[k] != mark_of(i, k)) return false;
    return size == 0 || size - 1 >= limit || p[size - 1] == mark_of(i, size - 1);
}

/* The counter is the start value plus zmalloc_size() of each live block. */
static void check_counter(const struct live *l) {
    size_t sum = l->base;
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i]) sum += zmalloc_size(l->p[i]);
    CHECK_EQ(zmalloc_used_memory(), sum);
}

enum how { HOW_MALLOC, HOW_CALLOC, HOW_TRYMALLOC, HOW_TRYCALLOC };

/* Allocate `size` the given way into the next slot. A NULL from a form
 * that calls the handler must have called it once with that size; a try
 * form must not have called it. */
static void live_alloc(struct live *l, enum how how, size_t size) {
    size_t calls = oom_calls;
    unsigned i = l->n++;
    unsigned char *p = how == HOW_MALLOC      ? zmalloc(size)
                       : how == HOW_CALLOC    ? zcalloc(size)
                       : how == HOW_TRYMALLOC ? ztrymalloc(size)
                                              : ztrycalloc(size);
    l->p[i] = p;
    l->size[i] = size;
    bool tries = how == HOW_TRYMALLOC || how == HOW_TRYCALLOC;
    if (p == NULL) {
        l->nulls++;
        CHECK_EQ(oom_calls, calls + (tries ? 0 : 1));
        if (!tries) CHECK_EQ(oom_last, size);
    } else {
        CHECK_EQ(oom_calls, calls);
        if (how == HOW_CALLOC || how == HOW_TRYCALLOC) {
            size_t nonzero = 0;
            for (size_t k = 0; k < size; k += 4096) nonzero += p[k] != 0;
            CHECK_EQ(nonzero, 0);
        }
        mark(l, i);
    }
    check_counter(l);
}

/* Resize slot i with zrealloc or ztryrealloc; on failure the old block is
 * intact and still counted. */
static void live_realloc(struct live *l, unsigned i, size_t size, bool try_form) {
    if (l->p[i] == NULL) return;
    size_t calls = oom_calls, before = zmalloc_size(l->p[i]);
    unsigned char *q = try_form ? ztryrealloc(l->p[i], size) : zrealloc(l->p[i], size);
    if (q == NULL) {
        l->nulls++;
        CHECK_EQ(oom_calls, calls + (try_form ? 0 : 1));
        if (!try_form) CHECK_EQ(oom_last, size);
        CHECK_EQ(zmalloc_size(l->p[i]), before);
        CHECK(marked(l->p[i], i, l->size[i], SIZE_MAX));
    } else {
        CHECK_EQ(oom_calls, calls);
        CHECK(marked(q, i, l->size[i], size));
        l->p[i] = q;
        l->size[i] = size;
        mark(l, i);
    }
    check_counter(l);
}

static void live_free(struct live *l, unsigned i) {
    if (l->p[i]) CHECK(marked(l->p[i], i, l->size[i], SIZE_MAX));
    zfree(l->p[i]);
    l->p[i] = NULL;
    check_counter(l);
}

/* Small, large and huge blocks, by every allocating form; a block through
 * small, large, huge and back by realloc and ztryrealloc; frees; a purge so
 * the huge blocks after it map fresh pages. */
static void workload(struct live *l) {
    static const size_t sizes[] = {16, 100, 3000, 20000, 100000, MIB, 5 * MIB, 9 * MIB};
    memset(l, 0, sizeof(*l));
    l->base = zmalloc_used_memory();
    zmalloc_purge();
    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        live_alloc(l, HOW_MALLOC, sizes[k]);
        live_alloc(l, HOW_CALLOC, sizes[k]);
        live_alloc(l, HOW_TRYMALLOC, sizes[k]);
        live_alloc(l, HOW_TRYCALLOC, sizes[k]);
    }
    static const size_t chain[] = {30000, 6 * MIB, 200, 200000, 12 * MIB, 64};
    unsigned c = l->n;
    live_alloc(l, HOW_MALLOC, 100);
    for (unsigned k = 0; k < sizeof(chain) / sizeof(chain[0]); k++)
        live_realloc(l, c, chain[k], k % 2 == 1);
    for (unsigned i = 0; i < l->n; i += 2) live_free(l, i);
    zmalloc_purge();
    live_alloc(l, HOW_MALLOC, 7 * MIB);
    live_alloc(l, HOW_TRYMALLOC, 11 * MIB);
    live_alloc(l, HOW_CALLOC, 200000);
}

static void live_free_all(struct live *l) {
    for (unsigned i = 0; i < l->n; i++) live_free(l, i);
    CHECK_EQ(zmalloc_used_memory(), l->base);
}

static uint64_t failed_total(const struct pages_inject_counts *c) {
    uint64_t f = 0;
    for (unsigned k = 0; k < PAGES_NOPS; k++) f += c->failed[k];
    return f;
}

/* After an armed run: with injection off, the same workload runs with no
 * NULL and no handler call. */
static void check_clean_run(void) {
    static struct live l;
    size_t calls = oom_calls;
    workload(&l);
    CHECK_EQ(l.nulls, 0);
    CHECK_EQ(oom_calls, calls);
    live_free_all(&l);
}

/* ---- tests --------------------------------------------------------------- */

/* A test starts with the recording handler, nothing cached (its huge blocks
 * map fresh pages) and no handler call yet; it ends with the counter back
 * at the value oom_begin returned and the default handler. */
static size_t oom_begin(void) {
    zmalloc_set_oom_handler(oom_record);
    zmalloc_purge();
    oom_calls = 0;
    return zmalloc_used_memory();
}

static void oom_end(size_t base) {
    CHECK_EQ(zmalloc_used_memory(), base);
    zmalloc_set_oom_handler(NULL);
}

static void test_handler_returns(void) {
    size_t base = oom_begin();
    char *small = zmalloc(100);
    memset(small, 0x5c, 100);
    size_t held = zmalloc_used_memory();
    pages_inject_nth(MAPS, 1, true);  /* every map fails from now on */
    CHECK(zmalloc(64 * MIB) == NULL);
    CHECK_EQ(oom_calls, 1);
    CHECK_EQ(oom_last, 64 * MIB);
    CHECK(zcalloc(8 * MIB) == NULL);
    CHECK_EQ(oom_calls, 2);
    CHECK_EQ(oom_last, 8 * MIB);
    CHECK(zcalloc_num(4, 3 * MIB) == NULL);
    CHECK_EQ(oom_calls, 3);
    CHECK_EQ(oom_last, 12 * MIB);
    size_t u = 1;
    CHECK(zmalloc_usable(20 * MIB, &u) == NULL);
    CHECK_EQ(oom_calls, 4);
    CHECK(zrealloc(small, 16 * MIB) == NULL);
    CHECK_EQ(oom_calls, 5);
    CHECK_EQ(oom_last, 16 * MIB);
#ifdef HAVE_DEFRAG
    size_t calls = oom_calls;
    CHECK(zmalloc_no_tcache(32 * MIB) == NULL);
    CHECK_EQ(oom_calls, calls + 1);
    CHECK_EQ(oom_last, 32 * MIB);
#endif
    struct pages_inject_counts c;
    pages_inject_read(&c);
    pages_inject_off();
    CHECK(c.failed[PAGES_OP_MAP] >= 5);
    CHECK_EQ(zmalloc_used_memory(), held);
    size_t wrong = 0;
    for (int i = 0; i < 100; i++) wrong += small[i] != 0x5c;
    CHECK_EQ(wrong, 0);
    zfree(small);
    oom_end(base);
}

static void test_handler_jumps_out(void) {
    size_t base = oom_begin();
    pages_inject_nth(MAPS, 1, true);
    volatile int jumped = 0;
    if (setjmp(oom_jump) == 0) {
        oom_jump_armed = true;
        (void)zmalloc(48 * MIB);
        CHECK(!"zmalloc returned through a handler that jumps");
    } else {
        jumped = 1;
    }
    pages_inject_off();
    oom_jump_armed = false;
    CHECK_EQ(jumped, 1);
    CHECK_EQ(oom_calls, 1);
    CHECK_EQ(oom_last, 48 * MIB);
    CHECK_EQ(zmalloc_used_memory(), base);
    /* No lock was left held: the next calls go through. */
    void *p = zmalloc(48 * MIB), *q = zmalloc(1000);
    CHECK(p != NULL && q != NULL);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p) + zmalloc_size(q));
    zfree(p);
    zfree(q);
    oom_end(base);
}

static void test_try_forms(void) {
    size_t base = oom_begin();
    unsigned char *p = zmalloc(5000);
    for (int i = 0; i < 5000; i++) p[i] = (unsigned char)i;
    size_t held = zmalloc_used_memory(), size = zmalloc_size(p);
    pages_inject_nth(MAPS, 1, true);
    CHECK(ztrymalloc(64 * MIB) == NULL);
    CHECK(ztrycalloc(8 * MIB) == NULL);
    size_t u = 1, old_usable = 0;
    CHECK(ztrymalloc_usable(20 * MIB, &u) == NULL);
    CHECK(ztrycalloc_usable(20 * MIB, &u) == NULL);
    CHECK(ztryrealloc(p, 32 * MIB) == NULL);
    CHECK(ztryrealloc_usable(p, 32 * MIB, &u) == NULL);
    CHECK_EQ(u, 0);
    CHECK(ztryrealloc_usable2(p, 32 * MIB, &u, &old_usable) == NULL);
    CHECK_EQ(old_usable, zmalloc_usable_size(p));
    pages_inject_off();
    CHECK_EQ(oom_calls, 0);
    CHECK_EQ(zmalloc_used_memory(), held);
    CHECK_EQ(zmalloc_size(p), size);
    size_t wrong = 0;
    for (int i = 0; i < 5000; i++) wrong += p[i] != (unsigned char)i;
    CHECK_EQ(wrong, 0);
    /* Once maps work again, the same calls succeed. */
    unsigned char *q = ztryrealloc(p, 32 * MIB);
    CHECK(q != NULL);
    if (q) {
        for (int i = 0; i < 5000; i++) wrong += q[i] != (unsigned char)i;
        p = q;
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    zfree(p);
    oom_end(base);
}

/* The n-th map fails, for every n the workload reaches (each run purges
 * first, so its huge blocks map fresh pages): exactly that map fails, the
 * counter is exact after every call and back to its start value, and a
 * clean run follows. */
static void test_sweep_map_failures(void) {
    size_t base = oom_begin();
    static struct live l;
    struct pages_inject_counts c;
    uint64_t runs = 0, nulls = 0;
    for (uint64_t n = 1; n < 10000; n++) {
        pages_inject_nth(MAPS, n, false);
        workload(&l);
        live_free_all(&l);
        pages_inject_read(&c);
        pages_inject_off();
        if (c.failed[PAGES_OP_MAP] == 0) {
            CHECK_EQ(l.nulls, 0);
            break;  /* the workload no longer reaches an n-th map */
        }
        CHECK_EQ(c.failed[PAGES_OP_MAP], 1);
        runs++;
        nulls += l.nulls;
        check_clean_run();
    }
    CHECK(runs >= 8);
    CHECK(nulls > 0);
    oom_end(base);
    printf("    %llu maps, each failed in turn: %llu NULLs\n", (unsigned long long)runs,
           (unsigned long long)nulls);
}

/* Every map failing from the n-th on (n = 1..24, about what the workload
 * makes), then each call of every kind failing with probability 1/8 from
 * seeds 1..24; each run followed by a clean one. */
static void test_lasting_and_random_failures(void) {
    size_t base = oom_begin();
    static struct live l;
    struct pages_inject_counts c;
    uint64_t nulls = 0;
    for (uint64_t n = 1; n <= 24; n++) {
        pages_inject_nth(MAPS, n, true);
        workload(&l);
        nulls += l.nulls;
        live_free_all(&l);
        pages_inject_off();
        check_clean_run();
    }
    CHECK(nulls > 0);
    unsigned failing = 0;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        pages_inject_random(PAGES_OPS_ALL, 8192, seed);
        workload(&l);
        live_free_all(&l);
        pages_inject_read(&c);
        pages_inject_off();
        if (l.nulls) CHECK(failed_total(&c) > 0);
        failing += failed_total(&c) > 0;
        check_clean_run();
    }
    CHECK(failing >= 20);
    oom_end(base);
}

int main(void) {
    TH_BEGIN("zmalloc under injected faults (balloc)");
    RUN(test_handler_returns);
    RUN(test_handler_jumps_out);
    RUN(test_try_forms);
    RUN(test_sweep_map_failures);
    RUN(test_lasting_and_random_failures);
    TH_END();
}
