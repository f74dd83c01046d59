/* Decay: the policy alone with a fake clock (exact curve values), then the
 * allocator with default options (freed pages are reused, not purged), then
 * a child run with BALLOC_CONF=dirty_decay_ms:1000,background_thread:true in
 * which 512 MiB freed must leave RSS within 3 s with no further calls, and
 * balloc_purge() must drop it at once. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "background.h"
#include "balloc.h"
#include "decay.h"
#include "harness.h"

#define MIB ((size_t)1 << 20)
#define MS ((uint64_t)1000000)

/* decay_weight[i] = 2^24 - floor(2^24 * s((i + 1) / 200)), s(x) = 6x^5 - 15x^4 + 10x^3,
 * computed independently with exact integers:
 *   python3 -c 'N=200; s=lambda k: ((10*k**3*N**2+6*k**5-15*k**4*N)<<24)//N**5;
 *               print([(1<<24)-s(i+1) for i in (0,1,9,49,99,149,198,199)])' */
TEST(weights_follow_smootherstep) {
    static const struct { unsigned i; uint32_t w; } want[] = {
        {0, 16777196}, {1, 16777051}, {9, 16757786}, {49, 15040512},
        {99, 8388608}, {149, 1736704}, {198, 21}, {199, 0},
    };
    decay_boot();
    for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++)
        CHECK_EQ(decay_weight[want[k].i], want[k].w);
    int mono = 1;
    for (unsigned i = 1; i < DECAY_NSTEPS; i++)
        mono &= decay_weight[i] <= decay_weight[i - 1];
    CHECK(mono);
}

TEST(fake_clock_curve) {
    static struct decay d;
    decay_init(&d, 1000, 0, 1);  /* epochs of 5 ms */
    CHECK(!decay_due(&d, 4 * MS));
    CHECK(decay_due(&d, 10 * MS));
    CHECK(d.deadline_ns >= 5 * MS && d.deadline_ns < 10 * MS);
    /* 1000 pages freed during the first epoch: all may stay */
    CHECK_EQ(decay_advance(&d, 5 * MS, 1000), 1000);
    decay_purged(&d, 1000);
    /* 100 epochs later: ceil(1000 * weight[100]) */
    CHECK_EQ(decay_advance(&d, 505 * MS, 1000), 491);
    decay_purged(&d, 491);
    CHECK_EQ(decay_advance(&d, 755 * MS, 491), 99);
    decay_purged(&d, 99);
    CHECK_EQ(decay_advance(&d, 1000 * MS, 99), 0);
    decay_purged(&d, 0);
    /* nothing left: the limit stays 0 */
    CHECK_EQ(decay_advance(&d, 2000 * MS, 0), 0);
    /* a zero window purges everything at once; -1 never */
    static struct decay z, never;
    decay_init(&z, 0, 0, 2);
    CHECK(decay_due(&z, 0));
    CHECK_EQ(decay_advance(&z, 0, 50), 0);
    decay_init(&never, -1, 0, 3);
    CHECK(!decay_due(&never, UINT64_MAX - 1));
}

TEST(jitter_spreads_owners) {
    static struct decay a, b;
    decay_init(&a, 1000, 0, 1);
    decay_init(&b, 1000, 0, 2);
    unsigned differ = 0;
    for (int k = 1; k <= 20; k++) {
        uint64_t t = (uint64_t)k * 20 * MS;
        decay_advance(&a, t, 0);
        decay_advance(&b, t, 0);
        CHECK(a.deadline_ns >= t + 5 * MS && a.deadline_ns < t + 10 * MS);
        differ += a.deadline_ns != b.deadline_ns;
    }
    CHECK(differ >= 15);
}

static size_t rss_bytes(void) {
    char buf[128];
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fgets(buf, sizeof(buf), f))
            sscanf(buf, "%lu %lu", &size, &res);
        fclose(f);
    }
    return res * (size_t)sysconf(_SC_PAGESIZE);
}

enum { NLARGE = 1792, LARGE = 256 << 10, NHUGE = 8, HUGE_B = 8 << 20 };  /* 448 + 64 MiB */
static void *blocks[NLARGE + NHUGE];

static void fill_and_free(void) {
    for (int i = 0; i < NLARGE + NHUGE; i++) {
        size_t n = i < NLARGE ? LARGE : HUGE_B;
        blocks[i] = balloc_malloc(n);
        memset(blocks[i], 0x5a, n);
    }
    for (int i = 0; i < NLARGE + NHUGE; i++)
        balloc_free(blocks[i]);
}

TEST(defaults_keep_and_reuse_dirty_pages) {
    struct balloc_stats st0, st1, st2;
    balloc_get_stats(&st0);
    for (int i = 0; i < 256; i++) {
        blocks[i] = balloc_malloc(LARGE);
        memset(blocks[i], 1, LARGE);
    }
    for (int i = 0; i < 256; i++)
        balloc_free(blocks[i]);
    balloc_get_stats(&st1);
    CHECK(st1.dirty >= st0.dirty + 64 * MIB);  /* nothing purged on free */
    CHECK_EQ(st1.muzzy, 0);
    for (int i = 0; i < 256; i++)
        blocks[i] = balloc_malloc(LARGE);
    balloc_get_stats(&st2);
    CHECK_EQ(st2.mapped, st1.mapped);           /* the dirty pages were reused */
    CHECK_EQ(st2.dirty, st1.dirty - 64 * MIB);
    for (int i = 0; i < 256; i++)
        balloc_free(blocks[i]);
}

/* In the child: the 3-second target, then balloc_purge. */
static int child_main(void) {
    size_t base = rss_bytes();
    fill_and_free();
    CHECK(background_enabled());
    size_t total = (size_t)NLARGE * LARGE + (size_t)NHUGE * HUGE_B, limit = total / 10;
    printf("decay timeline (RSS above start, MiB):");
    size_t over = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i <= 30; i++) {
        size_t r = rss_bytes();
        over = r > base ? r - base : 0;
        if (i % 2 == 0)
            printf(" %.1fs:%zu", i / 10.0, over / MIB);
        if (over < limit)
            break;
        t.tv_sec = 0;
        t.tv_nsec = 100 * 1000000L;
        nanosleep(&t, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    double secs = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
    printf(" -> %zu MiB after %.2fs\n", over / MIB, secs);
    CHECK(over < limit);
    CHECK(secs <= 3.05);
    fill_and_free();
    balloc_purge();
    size_t r = rss_bytes();
    printf("after balloc_purge: %zu MiB above start\n", (r > base ? r - base : 0) / MIB);
    CHECK(r < base + limit);
    /* A fork child has no copy of the thread: it starts one on its next slow path. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int was = background_enabled();
        void *p = balloc_malloc(100000);
        balloc_free(p);
        _exit(!was && background_enabled() ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return harness_done();
}

TEST(background_thread_returns_memory) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("BALLOC_CONF", "dirty_decay_ms:1000,background_thread:true", 1);
        execl("/proc/self/exe", "test_decay", "child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_main();
    RUN(weights_follow_smootherstep);
    RUN(fake_clock_curve);
    RUN(jitter_spreads_owners);
    RUN(defaults_keep_and_reuse_dirty_pages);
    RUN(background_thread_returns_memory);
    return harness_done();
}
