/* Heap profiling (src/prof.h): sampling in proportion to the bytes each call
 * site holds, unbiased by block size, exact counts when every allocation is
 * sampled, switching at run time, the dump's format (read back here, and by
 * jeprof when it is installed), dumps from many threads, fork, bad paths,
 * and the options read at start-up (in a child: prof:true, prof_final). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloc.h"
#include "balloc_testing.h"
#include "harness.h"

static char dir[64];

/* ---- switches ------------------------------------------------------------- */

static int set_active(bool on) { return balloc_ctl("prof.active", NULL, NULL, &on, sizeof(on)); }

static int set_interval(int64_t bytes) {
    return balloc_ctl("opt.prof_sample_bytes", NULL, NULL, &bytes, sizeof(bytes));
}

static int dump(const char *path) { return balloc_ctl("prof.dump", NULL, NULL, &path, sizeof(path)); }

static void live(size_t *samples, size_t *bytes) {
    struct balloc_stats st;
    balloc_get_stats(&st);
    *samples = st.prof_samples;
    *bytes = st.prof_sampled_bytes;
}

/* A test's end: no sample left, profiling off, the default interval. */
static void done_clean(void) {
    size_t s, sb;
    live(&s, &sb);
    CHECK_EQ(s, 0);
    CHECK_EQ(sb, 0);
    CHECK_EQ(set_active(false), 0);
    CHECK_EQ(set_interval(512 * 1024), 0);
}

/* ---- reading a dump back --------------------------------------------------- */

#define MAX_STACKS 4096
struct stack {
    uintptr_t pcs[64];
    int depth;
    uint64_t lo, lb, ao, ab;  /* live objects and bytes, all since start */
};
struct profile {
    uint64_t mean;
    uint64_t lo, lb, ao, ab;  /* the totals line */
    int nstacks;
    struct stack *stacks;
    int maps;                 /* MAPPED_LIBRARIES: found, with lines after it */
};

/* Parses the heap_v2 text; false if it is not well formed. */
static bool read_profile(const char *path, struct profile *pr) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    memset(pr, 0, sizeof(*pr));
    pr->stacks = calloc(MAX_STACKS, sizeof(struct stack));
    char line[4096];
    bool ok = fgets(line, sizeof(line), f) && sscanf(line, "heap_v2/%lu", &pr->mean) == 1 &&
              fgets(line, sizeof(line), f) &&
              sscanf(line, "  t*: %lu: %lu [%lu: %lu]", &pr->lo, &pr->lb, &pr->ao, &pr->ab) == 4;
    while (ok && fgets(line, sizeof(line), f)) {
        if (line[0] == '@') {
            if (pr->nstacks == MAX_STACKS)
                break;
            struct stack *s = &pr->stacks[pr->nstacks++];
            char *p = line + 1, *end;
            while (s->depth < 64 && (s->pcs[s->depth] = strtoull(p, &end, 16), end != p))
                s->depth++, p = end;
            ok = fgets(line, sizeof(line), f) &&
                 sscanf(line, "  t*: %lu: %lu [%lu: %lu]", &s->lo, &s->lb, &s->ao, &s->ab) == 4;
        } else if (strcmp(line, "MAPPED_LIBRARIES:\n") == 0) {
            pr->maps = fgets(line, sizeof(line), f) != NULL;
            break;
        } else if (strcmp(line, "\n") != 0) {
            ok = false;
        }
    }
    fclose(f);
    return ok;
}

/* A site's estimated live bytes: its sampled bytes scaled as jeprof does for
 * heap_v2 (each block of the stack's mean size was sampled with
 * probability 1 - exp(-size / mean)). */
static double estimate(const struct stack *s, uint64_t mean) {
    if (s->lo == 0)
        return 0;
    double size = (double)s->lb / (double)s->lo;
    return (double)s->lb / (1 - exp(-size / (double)mean));
}

/* The site of pc among sites[0, n): the function with the greatest start
 * at or below it (the innermost frame is a call inside a site function). */
static int site_of(uintptr_t pc, void (*const *sites)(void), int n) {
    int best = -1;
    for (int i = 0; i < n; i++)
        if ((uintptr_t)sites[i] <= pc && (best < 0 || (uintptr_t)sites[i] > (uintptr_t)sites[best]))
            best = i;
    return best >= 0 && pc - (uintptr_t)sites[best] < 4096 ? best : -1;
}

/* Runs cmd with the shell, its stdout in out (cap bytes); its exit status. */
static int capture(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, cap - 1, p) : 0;
    out[got] = '\0';
    return p ? pclose(p) : -1;
}

/* ---- three sites in known proportions ------------------------------------- */

#define UNIT 10000
static void *held[20 * UNIT];
static int nheld;

__attribute__((noinline)) static void site_sixty(void) {
    for (int i = 0; i < 6 * UNIT; i++)
        held[nheld++] = balloc_malloc(96);
}
__attribute__((noinline)) static void site_thirty(void) {
    for (int i = 0; i < 3 * UNIT; i++)
        held[nheld++] = balloc_malloc(96);
}
__attribute__((noinline)) static void site_ten(void) {
    for (int i = 0; i < UNIT; i++)
        held[nheld++] = balloc_malloc(96);
}
static void (*const three[3])(void) = {site_sixty, site_thirty, site_ten};

static void free_held(void) {
    while (nheld)
        balloc_free(held[--nheld]);
}

/* Each site's share of the estimated bytes in the dump at path. */
static bool shares(const char *path, void (*const *sites)(void), int n, double *share) {
    struct profile pr;
    if (!read_profile(path, &pr))
        return false;
    double total = 0, by[8] = {0};
    for (int i = 0; i < pr.nstacks; i++) {
        int s = pr.stacks[i].depth ? site_of(pr.stacks[i].pcs[0], sites, n) : -1;
        double e = estimate(&pr.stacks[i], pr.mean);
        if (s >= 0)
            by[s] += e;
        total += e;
    }
    for (int i = 0; i < n; i++)
        share[i] = total > 0 ? by[i] / total : 0;
    free(pr.stacks);
    return true;
}

TEST(sites_get_their_share_of_the_bytes) {
    char path[128];
    snprintf(path, sizeof(path), "%s/three.heap", dir);
    CHECK_EQ(set_interval(8192), 0);
    CHECK_EQ(set_active(true), 0);
    site_sixty();
    site_thirty();
    site_ten();
    CHECK_EQ(dump(path), 0);
    double sh[3];
    CHECK(shares(path, three, 3, sh));
    CHECK(fabs(sh[0] - 0.60) <= 0.05);
    CHECK(fabs(sh[1] - 0.30) <= 0.05);
    CHECK(fabs(sh[2] - 0.10) <= 0.05);
    printf("    shares %.3f %.3f %.3f\n", sh[0], sh[1], sh[2]);
    /* jeprof names the three functions, the largest first. */
    char cmd[512], exe[256], out[4096] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    if (system("command -v jeprof >/dev/null 2>&1") != 0) {
        printf("    SKIPPED: jeprof not installed (Debian package libjemalloc-dev)\n");
    } else {
        snprintf(cmd, sizeof(cmd), "jeprof --text %s %s 2>/dev/null", exe, path);
        capture(cmd, out, sizeof(out));
        const char *a = strstr(out, "site_sixty"), *b = strstr(out, "site_thirty"),
                   *c = strstr(out, "site_ten");
        CHECK(a && b && c && a < b && b < c);
        if (!(a && b && c && a < b && b < c))
            printf("    jeprof said:\n%s\n", out);
    }
    CHECK_EQ(set_active(false), 0);
    free_held();
}

/* ---- unbiased by size ------------------------------------------------------- */

#define SMALL_BLOCKS (2 * 1024 * 1024)
#define BIG_BLOCKS 32
static void **small_blocks;
static void *big_blocks[BIG_BLOCKS];

__attribute__((noinline)) static void site_small(void) {
    for (int i = 0; i < SMALL_BLOCKS; i++)
        small_blocks[i] = balloc_malloc(16);
}
__attribute__((noinline)) static void site_big(void) {
    for (int i = 0; i < BIG_BLOCKS; i++)
        big_blocks[i] = balloc_malloc(1 << 20);
}
static void (*const two[2])(void) = {site_small, site_big};

/* 32 MiB in 16 B blocks, 32 MiB in 1 MiB blocks: each site's share of the
 * estimate is its share of the usable bytes (a half each, where 16 B
 * requests get 16 B), within 5 points. */
TEST(sampling_is_unbiased_by_size) {
    char path[128];
    snprintf(path, sizeof(path), "%s/sizes.heap", dir);
    small_blocks = malloc(SMALL_BLOCKS * sizeof(void *));
    CHECK_EQ(set_interval(64 * 1024), 0);
    CHECK_EQ(set_active(true), 0);
    site_small();
    site_big();
    CHECK_EQ(dump(path), 0);
    CHECK_EQ(set_active(false), 0);
    double sh[2];
    CHECK(shares(path, two, 2, sh));
    double small = (double)SMALL_BLOCKS * (double)balloc_good_size(16),
           big = (double)BIG_BLOCKS * (double)balloc_good_size(1 << 20);
    CHECK(fabs(sh[0] - small / (small + big)) <= 0.05);
    CHECK(fabs(sh[1] - big / (small + big)) <= 0.05);
    printf("    16 B site %.3f, 1 MiB site %.3f\n", sh[0], sh[1]);
    for (int i = 0; i < SMALL_BLOCKS; i++)
        balloc_free(small_blocks[i]);
    for (int i = 0; i < BIG_BLOCKS; i++)
        balloc_free(big_blocks[i]);
    free(small_blocks);
}

/* ---- exact counts ----------------------------------------------------------- */

/* A mean of one byte samples every allocation: the live figures are the
 * live blocks', exactly, through small, large and huge blocks, calloc,
 * realloc, aligned allocation and the cache-bypassing calls. */
TEST(every_allocation_sampled_counts_exactly) {
    static const size_t sizes[] = {8, 100, 4096, 20000, 100000, 5 << 20};
    void *b[6 * 4];
    size_t n = 0, bytes = 0, s, sb;
    live(&s, &sb);
    CHECK_EQ(s, 0);
    CHECK_EQ(sb, 0);
    CHECK_EQ(set_interval(1), 0);
    CHECK_EQ(set_active(true), 0);
    for (size_t i = 0; i < 6; i++) {
        b[n] = balloc_malloc(sizes[i]);
        bytes += balloc_usable_size(b[n++]);
        b[n] = balloc_calloc(1, sizes[i]);
        bytes += balloc_usable_size(b[n++]);
        b[n] = balloc_aligned_alloc(64, sizes[i]);
        bytes += balloc_usable_size(b[n++]);
        size_t u;
        b[n] = balloc_malloc_usable_no_tcache(sizes[i], &u);
        bytes += u;
        n++;
    }
    live(&s, &sb);
    CHECK_EQ(s, n);
    CHECK_EQ(sb, bytes);
    /* realloc: the old block's sample goes, the new one's comes. */
    size_t old = balloc_usable_size(b[0]);
    b[0] = balloc_realloc(b[0], 3000);
    bytes += balloc_usable_size(b[0]) - old;
    live(&s, &sb);
    CHECK_EQ(s, n);
    CHECK_EQ(sb, bytes);
    /* Half freed, through each free path; then the rest. */
    for (size_t i = 0; i < n; i += 2) {
        bytes -= balloc_usable_size(b[i]);
        if (i % 4 == 0)
            balloc_free(b[i]);
        else
            (void)balloc_free_usable_no_tcache(b[i]);
    }
    live(&s, &sb);
    CHECK_EQ(s, n / 2);
    CHECK_EQ(sb, bytes);
    /* The rest through the batch free (the lazy-free thread's). */
    void *rest[sizeof(b) / sizeof(b[0])];
    size_t nrest = 0;
    for (size_t i = 1; i < n; i += 2)
        rest[nrest++] = b[i];
    balloc_free_batch(rest, nrest);
    done_clean();
}

/* ---- failures ------------------------------------------------------------ */

/* Switching on makes the tables (three maps); with the second failing it
 * answers ENOMEM and stays off, and a later switch makes what is missing. */
TEST(a_failed_start_can_be_retried) {
    size_t s, sb;
    balloc_free(balloc_malloc(1));  /* booted: the next maps are the tables' */
    pages_inject_nth(1u << PAGES_OP_MAP, 2, false);
    CHECK_EQ(set_active(true), ENOMEM);
    pages_inject_off();
    bool on = true;
    size_t l = sizeof(on);
    CHECK_EQ(balloc_ctl("prof.active", &on, &l, NULL, 0), 0);
    CHECK_EQ(on, false);
    CHECK_EQ(set_interval(1), 0);
    CHECK_EQ(set_active(true), 0);
    void *p = balloc_malloc(32);
    live(&s, &sb);
    CHECK_EQ(s, 1);
    balloc_free(p);
    CHECK_EQ(set_active(false), 0);
    CHECK_EQ(set_interval(512 * 1024), 0);
}

/* With every allocation sampled and one OS map in four failing (the
 * sampler's tables grow by mapping too): allocations fail with ENOMEM or
 * succeed, a sample is only ever of a live block, and none is left once
 * everything is freed. */
TEST(failed_os_calls_leave_no_stale_sample) {
    static void *b[3000];
    static const size_t sizes[] = {24, 700, 40000, 3 << 20};
    size_t live_blocks = 0, failed = 0, s, sb;
    CHECK_EQ(set_interval(1), 0);
    CHECK_EQ(set_active(true), 0);
    pages_inject_random(1u << PAGES_OP_MAP, 16384, 7);
    for (int i = 0; i < 3000; i++) {
        errno = 0;
        b[i] = balloc_malloc(sizes[i % 4]);
        live_blocks += b[i] != NULL;
        failed += b[i] == NULL && errno == ENOMEM;
    }
    pages_inject_off();
    live(&s, &sb);
    CHECK(s <= live_blocks);
    CHECK_EQ(live_blocks + failed, 3000);
    CHECK(failed > 0);
    for (int i = 0; i < 3000; i++)
        balloc_free(b[i]);
    done_clean();
}

/* ---- switching ---------------------------------------------------------- */

TEST(switching_at_run_time) {
    size_t s, sb;
    void *b[100];
    CHECK_EQ(set_interval(1), 0);
    for (int i = 0; i < 50; i++)
        b[i] = balloc_malloc(64);  /* off: nothing sampled */
    live(&s, &sb);
    CHECK_EQ(s, 0);
    CHECK_EQ(set_active(true), 0);
    for (int i = 50; i < 100; i++)
        b[i] = balloc_malloc(64);
    live(&s, &sb);
    CHECK_EQ(s, 50);
    CHECK_EQ(sb, 50 * balloc_good_size(64));
    CHECK_EQ(set_active(false), 0);
    void *more = balloc_malloc(64);  /* off again: the live samples stay */
    live(&s, &sb);
    CHECK_EQ(s, 50);
    bool on = true;
    size_t l = sizeof(on);
    CHECK_EQ(balloc_ctl("prof.active", &on, &l, NULL, 0), 0);
    CHECK_EQ(on, false);
    /* Profiling off: no dump (jemalloc's answer too). */
    char path[128];
    snprintf(path, sizeof(path), "%s/off.heap", dir);
    CHECK_EQ(dump(path), ENOENT);
    CHECK_EQ(access(path, F_OK), -1);
    for (int i = 0; i < 100; i++)
        balloc_free(b[i]);
    balloc_free(more);
    live(&s, &sb);
    CHECK_EQ(s, 0);
    CHECK_EQ(set_interval(512 * 1024), 0);
}

/* ---- bad paths ---------------------------------------------------------------- */

TEST(a_path_that_cannot_be_written_changes_nothing) {
    char path[128];
    CHECK_EQ(set_active(true), 0);
    snprintf(path, sizeof(path), "%s/no/such/dir.heap", dir);
    CHECK_EQ(dump(path), ENOENT);
    CHECK_EQ(dump(dir), EISDIR);
    CHECK_EQ(balloc_ctl("prof.dump", NULL, NULL, &path, 1), EINVAL);
    bool b;
    size_t l = sizeof(b);
    CHECK_EQ(balloc_ctl("prof.dump", &b, &l, NULL, 0), EPERM);
    int64_t zero = 0;
    CHECK_EQ(balloc_ctl("opt.prof_sample_bytes", NULL, NULL, &zero, sizeof(zero)), EINVAL);
    int64_t mean = 0;
    l = sizeof(mean);
    CHECK_EQ(balloc_ctl("opt.prof_sample_bytes", &mean, &l, NULL, 0), 0);
    CHECK_EQ(mean, 512 * 1024);
    CHECK_EQ(set_active(false), 0);
}

/* ---- threads ---------------------------------------------------------------- */

#define NTHREADS 4
static void *dump_thread(void *arg) {
    long k = (long)arg;
    void *b[2000];
    char path[128];
    int *rc = malloc(sizeof(int));
    *rc = 0;
    for (int r = 0; r < 5; r++) {
        for (int i = 0; i < 2000; i++)
            b[i] = balloc_malloc(32 + (size_t)i % 200);
        snprintf(path, sizeof(path), "%s/t%ld.%d.heap", dir, k, r);
        struct profile pr;
        if (dump(path) != 0 || !read_profile(path, &pr) || !pr.maps)
            *rc = 1;
        else
            free(pr.stacks);
        for (int i = 0; i < 2000; i++)
            balloc_free(b[i]);
    }
    return rc;
}

TEST(dumps_from_many_threads) {
    CHECK_EQ(set_interval(1024), 0);
    CHECK_EQ(set_active(true), 0);
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, dump_thread, (void *)i);
    for (int i = 0; i < NTHREADS; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        CHECK_EQ(*(int *)rc, 0);
        free(rc);
    }
    size_t s, sb;
    live(&s, &sb);
    CHECK_EQ(s, 0);
    CHECK_EQ(set_active(false), 0);
    CHECK_EQ(set_interval(512 * 1024), 0);
}

/* ---- fork ------------------------------------------------------------------- */

/* The child inherits the samples of what it inherits, dumps, and counts its
 * own exactly. */
TEST(fork_child_profiles) {
    CHECK_EQ(set_interval(1), 0);
    CHECK_EQ(set_active(true), 0);
    void *b[10];
    for (int i = 0; i < 10; i++)
        b[i] = balloc_malloc(48);
    char path[128];
    snprintf(path, sizeof(path), "%s/child.heap", dir);
    pid_t pid = fork();
    if (pid == 0) {
        void *c = balloc_malloc(48);
        size_t s, sb;
        live(&s, &sb);
        struct profile pr;
        int ok = s == 11 && dump(path) == 0 && read_profile(path, &pr) && pr.lo == 11;
        balloc_free(c);
        for (int i = 0; i < 10; i++)
            balloc_free(b[i]);
        live(&s, &sb);
        _exit(ok && s == 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    size_t s, sb;
    live(&s, &sb);
    CHECK_EQ(s, 10);
    for (int i = 0; i < 10; i++)
        balloc_free(b[i]);
    CHECK_EQ(set_active(false), 0);
    CHECK_EQ(set_interval(512 * 1024), 0);
}

/* ---- options at start-up (a child run of this program) ------------------------ */

static int child_main(void) {
    /* prof:true from BALLOC_CONF: sampling from the first allocation. */
    for (int i = 0; i < 1000; i++)
        held[nheld++] = balloc_malloc(100);
    size_t s, sb;
    live(&s, &sb);
    printf("%zu %zu\n", s, sb);
    return 0;  /* prof_final writes the profile at exit */
}

TEST(options_at_start_up) {
    char conf[256], exe[256], cmd[600], out[128] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(conf, sizeof(conf), "prof:true,prof_sample_bytes:1,prof_final:true,prof_prefix:%s/final",
             dir);
    snprintf(cmd, sizeof(cmd), "BALLOC_CONF=%s TEST_PROF_CHILD=1 %s", conf, exe);
    CHECK_EQ(capture(cmd, out, sizeof(out)), 0);
    char expect[64];
    snprintf(expect, sizeof(expect), "1000 %zu\n", 1000 * balloc_good_size(100));
    CHECK_STR(out, expect);
    /* <prefix>.<pid>.0.f.heap, with the 1000 blocks still live at exit. */
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^final\\.[0-9]*\\.0\\.f\\.heap$'", dir);
    capture(cmd, out, sizeof(out));
    CHECK_STR(out, "1\n");
    snprintf(cmd, sizeof(cmd), "cat %s/final.*.0.f.heap | sed -n 2p", dir);
    capture(cmd, out, sizeof(out));
    snprintf(expect, sizeof(expect), "  t*: 1000: %zu [1000: %zu]\n", 1000 * balloc_good_size(100),
             1000 * balloc_good_size(100));
    CHECK_STR(out, expect);
    /* An out-of-range value: one warning naming it and what it keeps. */
    snprintf(cmd, sizeof(cmd), "BALLOC_CONF=prof_sample_bytes:0 TEST_PROF_CHILD=1 %s 2>&1 >/dev/null", exe);
    capture(cmd, out, sizeof(out));
    CHECK_STR(out, "balloc: BALLOC_CONF: bad entry \"prof_sample_bytes:0\" (prof_sample_bytes stays 524288)\n");
}

int main(void) {
    if (getenv("TEST_PROF_CHILD"))
        return child_main();
    snprintf(dir, sizeof(dir), "/tmp/balloc-prof.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    RUN(a_failed_start_can_be_retried);  /* first: no table made yet */
    RUN(sites_get_their_share_of_the_bytes);
    RUN(sampling_is_unbiased_by_size);
    RUN(every_allocation_sampled_counts_exactly);
    RUN(failed_os_calls_leave_no_stale_sample);
    RUN(switching_at_run_time);
    RUN(a_path_that_cannot_be_written_changes_nothing);
    RUN(dumps_from_many_threads);
    RUN(fork_child_profiles);
    RUN(options_at_start_up);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("    could not remove %s\n", dir);
    return harness_done();
}
