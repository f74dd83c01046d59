/* tests/test_zmalloc.c -- the zmalloc suite, built and run once per backend
 * and accounting mode. Every check is exact: the counter must move by
 * zmalloc_size() of each block, and come back to where it started. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../zmalloc.h"
#include "harness.h"
#if defined(USE_BALLOC)
#include "balloc.h"
#endif

/* Under ASan, MSan or TSan the sanitizer's allocator replaces the C
 * library's, and has no figures to give. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ZT_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define ZT_SANITIZER_HEAP 1
#endif
#endif
#if (defined(__GLIBC__) || !defined(USE_LIBC)) && !(defined(USE_LIBC) && defined(ZT_SANITIZER_HEAP))
#define ZT_ALLOCATOR_FIGURES 1
#endif
/* Valgrind's heap also stands in for the C library's at run time. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ZT_ON_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef ZT_ON_VALGRIND
#define ZT_ON_VALGRIND() 0
#endif

static size_t oom_calls, oom_last;
static void oom_record(size_t size) {
    oom_calls++;
    oom_last = size;
}

/* A fresh process holds nothing: checked before anything else allocates. */
static void test_fresh_process_is_zero(void) { CHECK_EQ(zmalloc_used_memory(), 0); }

static const size_t sizes[] = {0,    1,    7,    8,     9,     15,     16,      17,      24,
                               100,  128,  129,  255,   256,   257,    1000,    1024,    4095,
                               4096, 4097, 8192, 14336, 16385, 32768,  65536,   100000,  262144,
                               1 << 20, (1 << 20) + 1, 5 << 20, 25 << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void test_counter_moves_by_block_size(void) {
    size_t base = zmalloc_used_memory();
    for (size_t i = 0; i < NSIZES; i++) {
        size_t before = zmalloc_used_memory();
        char *p = zmalloc(sizes[i]);
        CHECK(p != NULL);
        CHECK_EQ(zmalloc_used_memory(), before + zmalloc_size(p));
        CHECK(zmalloc_usable_size(p) >= sizes[i]);
#ifdef HAVE_MALLOC_SIZE
        CHECK_EQ(zmalloc_size(p), zmalloc_usable_size(p));
#else
        CHECK_EQ(zmalloc_size(p), sizes[i] + alignof(max_align_t));
        CHECK_EQ(zmalloc_usable_size(p), sizes[i]);
#endif
        if (sizes[i]) memset(p, 0x5a, zmalloc_usable_size(p));
        zfree(p);
        CHECK_EQ(zmalloc_used_memory(), before);
    }
    CHECK_EQ(zmalloc_used_memory(), base);
}

/* The usable size zmalloc reports at allocation (from a table on some
 * backends) must equal what the allocator says afterwards, for every small
 * request. */
static void test_usable_size_at_allocation_is_exact(void) {
    size_t base = zmalloc_used_memory(), bad = 0;
    for (size_t s = 0; s <= 20000; s++) {
        size_t u = 0, fu = 0;
        void *p = zmalloc_usable(s, &u);
        if (u != zmalloc_usable_size(p) || u < s) {
            if (bad++ < 5) printf("    size %zu: usable %zu, allocator says %zu\n", s, u, zmalloc_usable_size(p));
        }
        size_t sz = zmalloc_size(p);
        size_t before = zmalloc_used_memory();
        zfree_usable(p, &fu);
        CHECK_EQ(before - zmalloc_used_memory(), sz);
        if (fu != u) bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(zmalloc_used_memory(), base);
}

static void test_usable_forms(void) {
    size_t base = zmalloc_used_memory(), u = 0;
    char *p = zmalloc_usable(100, &u);
    CHECK(u >= 100);
    CHECK_EQ(u, zmalloc_usable_size(p));
    memset(p, 1, u);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    char *q = zcalloc_usable(300, &u);
    CHECK_EQ(u, zmalloc_usable_size(q));
    char *r = ztrymalloc_usable(50, &u);
    CHECK_EQ(u, zmalloc_usable_size(r));
    char *t = ztrycalloc_usable(70, &u);
    CHECK_EQ(u, zmalloc_usable_size(t));
    size_t qsize = zmalloc_size(q), before = zmalloc_used_memory();
    zfree_with_size(q, qsize);
    CHECK_EQ(zmalloc_used_memory(), before - qsize);
    size_t fu = 0;
    zfree_usable(NULL, &fu);
    CHECK_EQ(fu, 0);
    zfree(p);
    zfree(r);
    zfree(t);
    zfree(NULL);
    zfree_with_size(NULL, 10);
    CHECK_EQ(zmalloc_used_memory(), base);
}

static void test_calloc_zeroes(void) {
    size_t base = zmalloc_used_memory();
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < NSIZES; i++) {
            /* Dirty a block of the same size first, so reuse would show. */
            char *d = zmalloc(sizes[i] + 1);
            memset(d, 0xff, sizes[i] + 1);
            zfree(d);
            unsigned char *p = round == 2 ? zcalloc_num(1, sizes[i]) : zcalloc(sizes[i]);
            size_t nonzero = 0;
            for (size_t k = 0; k < sizes[i]; k++) nonzero += p[k] != 0;
            CHECK_EQ(nonzero, 0);
            zfree(p);
        }
    }
    int *arr = zcalloc_num(1000, sizeof(int));
    size_t nonzero = 0;
    for (int k = 0; k < 1000; k++) nonzero += arr[k] != 0;
    CHECK_EQ(nonzero, 0);
    zfree(arr);
    CHECK_EQ(zmalloc_used_memory(), base);
}

static unsigned char pattern(size_t k) { return (unsigned char)(k * 7 + (k >> 8) + 1); }

static void test_realloc_grow_and_shrink(void) {
    size_t base = zmalloc_used_memory();
    unsigned char *p = zrealloc(NULL, 10);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    for (size_t i = 0; i < 10; i++) p[i] = pattern(i);
    size_t len = 10;
    /* Grow through small, page and mapping sizes, then shrink back. */
    for (size_t n = 11; n < (8u << 20); n = n * 3 / 2 + 1) {
        size_t old_usable = 0, usable = 0, expect_old = zmalloc_usable_size(p);
        p = zrealloc_usable2(p, n, &usable, &old_usable);
        CHECK_EQ(old_usable, expect_old);
        CHECK_EQ(usable, zmalloc_usable_size(p));
        CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
        size_t wrong = 0;
        for (size_t k = 0; k < len; k++) wrong += p[k] != pattern(k);
        CHECK_EQ(wrong, 0);
        for (size_t k = len; k < n; k++) p[k] = pattern(k);
        len = n;
    }
    for (size_t n = len; n > 16; n /= 3) {
        p = zrealloc(p, n);
        CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
        size_t wrong = 0;
        for (size_t k = 0; k < n; k++) wrong += p[k] != pattern(k);
        CHECK_EQ(wrong, 0);
    }
    /* Small shrinks, which some allocators do in place keeping the larger
     * block: the count follows the block, not the request. */
    for (size_t n = 16164; n > 100; n -= n / 7) {
        p = zrealloc(p, n);
        CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    }
    size_t old_usable = 0, usable = 1, expect_old = zmalloc_usable_size(p);
    void *r = zrealloc_usable2(p, 0, &usable, &old_usable);
    CHECK(r == NULL);
    CHECK_EQ(usable, 0);
    CHECK_EQ(old_usable, expect_old);
    CHECK_EQ(zmalloc_used_memory(), base);
    p = zmalloc(100);
    CHECK(zrealloc(p, 0) == NULL);
    CHECK_EQ(zmalloc_used_memory(), base);
    p = ztryrealloc(NULL, 64);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    CHECK(ztryrealloc(p, 0) == NULL);
    CHECK_EQ(zmalloc_used_memory(), base);
}

/* Hides a size from the compiler, which would refuse the call outright. */
static size_t huge(size_t n) {
    volatile size_t v = n;
    return v;
}

static void test_oom_paths(void) {
    size_t base = zmalloc_used_memory();
    zmalloc_set_oom_handler(oom_record);
    oom_calls = 0;
    CHECK(zmalloc(huge(SIZE_MAX)) == NULL);
    CHECK_EQ(oom_calls, 1);
    CHECK_EQ(oom_last, SIZE_MAX);
    CHECK(zcalloc(huge(SIZE_MAX / 2)) == NULL);
    CHECK_EQ(oom_last, SIZE_MAX / 2);
    CHECK(zcalloc_num(huge(SIZE_MAX / 8), 16) == NULL); /* the product overflows */
    CHECK_EQ(oom_calls, 3);
    CHECK_EQ(oom_last, SIZE_MAX);
    /* Below the early refusal but beyond any address space. */
    CHECK(zmalloc(huge((size_t)1 << 62)) == NULL);
    CHECK_EQ(oom_calls, 4);
    CHECK_EQ(oom_last, (size_t)1 << 62);
    size_t u = 7;
    CHECK(zmalloc_usable(huge(SIZE_MAX), &u) == NULL);
    CHECK_EQ(oom_calls, 5);
    CHECK_EQ(zmalloc_used_memory(), base);

    /* try forms: NULL, no handler, nothing counted. */
    CHECK(ztrymalloc(huge(SIZE_MAX)) == NULL);
    CHECK(ztrycalloc(huge(SIZE_MAX)) == NULL);
    CHECK(ztrymalloc(huge((size_t)1 << 62)) == NULL);
    CHECK(ztrymalloc_usable(huge(SIZE_MAX), &u) == NULL);
    CHECK_EQ(oom_calls, 5);
    CHECK_EQ(zmalloc_used_memory(), base);

    /* A failed realloc keeps the block, its contents and its count. */
    char *p = zmalloc(1000);
    memset(p, 0x77, 1000);
    size_t held = zmalloc_used_memory();
    CHECK(ztryrealloc(p, huge(SIZE_MAX)) == NULL);
    CHECK(ztryrealloc(p, huge((size_t)1 << 62)) == NULL);
    size_t old_usable = 0;
    CHECK(ztryrealloc_usable2(p, huge(SIZE_MAX - 5), &u, &old_usable) == NULL);
    CHECK_EQ(u, 0);
    CHECK_EQ(old_usable, zmalloc_usable_size(p));
    CHECK_EQ(oom_calls, 5);
    CHECK(zrealloc(p, huge((size_t)1 << 62)) == NULL);
    CHECK_EQ(oom_calls, 6);
    CHECK_EQ(zmalloc_used_memory(), held);
    size_t wrong = 0;
    for (int i = 0; i < 1000; i++) wrong += p[i] != 0x77;
    CHECK_EQ(wrong, 0);
    zfree(p);
    CHECK_EQ(zmalloc_used_memory(), base);
    zmalloc_set_oom_handler(NULL);
}

/* The default handler: exact message on stderr, then abort. */
static void test_default_oom_handler_aborts(void) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        zmalloc(huge(SIZE_MAX));
        _exit(0);
    }
    close(fds[1]);
    char buf[256];
    ssize_t n, len = 0;
    while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0) len += n;
    buf[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK_STR(buf, "zmalloc: Out of memory trying to allocate 18446744073709551615 bytes\n");
}

static void test_strdup(void) {
    size_t base = zmalloc_used_memory(), u = 0;
    char *s = zstrdup("hello, world");
    CHECK_STR(s, "hello, world");
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(s));
    char *t = zstrdup_usable("", &u);
    CHECK_STR(t, "");
    CHECK_EQ(u, zmalloc_usable_size(t));
    zfree(s);
    zfree(t);
    CHECK_EQ(zmalloc_used_memory(), base);
}

/* A block must suit any object of its size: an object's size is a multiple of
 * its alignment, so a request of s bytes needs the largest power of two that
 * divides s, up to max_align_t's (what an 8-byte quantum, as Redis builds
 * jemalloc, gives). The prefix header keeps max_align_t for every size. */
static void test_alignment(void) {
    size_t misaligned = 0;
    void *ps[NSIZES];
    for (size_t i = 0; i < NSIZES; i++) {
        size_t s = sizes[i], want = alignof(max_align_t);
#ifdef HAVE_MALLOC_SIZE
        if (s == 0) want = 1; /* holds no object */
        else if (((size_t)1 << __builtin_ctzl(s)) < want) want = (size_t)1 << __builtin_ctzl(s);
#endif
        ps[i] = zmalloc(s);
        if ((uintptr_t)ps[i] % want != 0) {
            misaligned++;
            printf("    %zu bytes at %p: not %zu-aligned\n", s, ps[i], want);
        }
    }
    for (size_t i = 0; i < NSIZES; i++) zfree(ps[i]);
    CHECK_EQ(misaligned, 0);
}

/* A batch of every size, with NULLs, in a scrambled order, half of it
 * allocated by another thread: the counter drops by exactly the blocks'
 * zmalloc_size(). */
#define BATCH_ROUNDS 8
static void *batch[2 * NSIZES * BATCH_ROUNDS];
static void *batch_fill(void *arg) {
    for (size_t i = (size_t)arg; i < 2 * NSIZES * BATCH_ROUNDS; i += 2)
        batch[i] = i % 37 == 5 ? NULL : zmalloc(sizes[(i / 2) % (NSIZES - 1)] / (1 + i % 3));
    return NULL;
}

static void test_free_batch(void) {
    size_t base = zmalloc_used_memory(), held = 0, n = 2 * NSIZES * BATCH_ROUNDS;
    pthread_t t;
    pthread_create(&t, NULL, batch_fill, (void *)1);
    pthread_join(t, NULL);
    batch_fill((void *)0);
    for (size_t i = 0; i < n; i++) held += batch[i] ? zmalloc_size(batch[i]) : 0;
    CHECK_EQ(zmalloc_used_memory(), base + held);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (i * 2654435761u) % (i + 1);
        void *x = batch[i];
        batch[i] = batch[j];
        batch[j] = x;
    }
    zfree_batch(batch, n);
    CHECK_EQ(zmalloc_used_memory(), base);
    zfree_batch(batch, 0);
    void *nulls[3] = {NULL, NULL, NULL};
    zfree_batch(nulls, 3);
    CHECK_EQ(zmalloc_used_memory(), base);
}

/* ---- threads ---- */

#define NTHREADS 64
#define PER_THREAD 2000
static void *volatile handoff[NTHREADS][PER_THREAD];

static void *worker_alloc(void *arg) {
    size_t id = (size_t)arg;
    unsigned x = (unsigned)id * 2654435761u + 1;
    for (int i = 0; i < PER_THREAD; i++) {
        x = x * 1103515245u + 12345u;
        size_t sz = (x >> 8) % 2048;
        char *p = zmalloc(sz);
        if (sz) p[0] = (char)id;
        if (i % 2) {
            zfree(p); /* freed by its own thread */
        } else {
            handoff[id][i] = p; /* freed by the next thread */
        }
    }
    return NULL;
}

static void *worker_free(void *arg) {
    size_t id = ((size_t)arg + 1) % NTHREADS;
    for (int i = 0; i < PER_THREAD; i += 2) {
        zfree(handoff[id][i]);
        handoff[id][i] = NULL;
    }
    return NULL;
}

static void test_threads_cross_free(void) {
    size_t base = zmalloc_used_memory();
    pthread_t t[NTHREADS];
    for (size_t i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, worker_alloc, (void *)i);
    for (size_t i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    size_t expect = base;
    for (size_t i = 0; i < NTHREADS; i++)
        for (int k = 0; k < PER_THREAD; k += 2) expect += zmalloc_size(handoff[i][k]);
    CHECK_EQ(zmalloc_used_memory(), expect);
    /* Each thread frees the blocks another one allocated. */
    for (size_t i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, worker_free, (void *)i);
    for (size_t i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    CHECK_EQ(zmalloc_used_memory(), base);
}

static void *leak_one(void *arg) {
    return zmalloc((size_t)(uintptr_t)arg);
}

static void *alloc_free(void *arg) {
    (void)arg;
    zfree(zmalloc(64));
    return NULL;
}

static pthread_key_t late_key;
static void late_free(void *p) { zfree(p); }
static void *late_worker(void *arg) {
    (void)arg;
    void *p = zmalloc(4000);
    pthread_setspecific(late_key, p);
    return NULL;
}

static void test_thread_exit_and_slot_reuse(void) {
    size_t base = zmalloc_used_memory();
    pthread_t t;
    void *block = NULL;
    /* A thread that exits keeps its bytes counted. */
    pthread_create(&t, NULL, leak_one, (void *)(uintptr_t)5000);
    pthread_join(t, &block);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(block));
    zfree(block);
    CHECK_EQ(zmalloc_used_memory(), base);
    /* Threads one after another reuse one slot: no growth. */
    size_t slots = zmalloc_thread_slots();
    for (int i = 0; i < 300; i++) {
        pthread_create(&t, NULL, alloc_free, NULL);
        pthread_join(t, NULL);
    }
    CHECK(zmalloc_thread_slots() <= slots + 1);
    CHECK_EQ(zmalloc_used_memory(), base);
    /* A block freed by a thread-exit destructor, whichever order the
     * destructors run in, is still counted right. */
    pthread_key_create(&late_key, late_free);
    for (int i = 0; i < 50; i++) {
        pthread_create(&t, NULL, late_worker, NULL);
        pthread_join(t, NULL);
    }
    CHECK_EQ(zmalloc_used_memory(), base);
    pthread_key_delete(late_key);
}

/* Blocks the program takes from the allocator itself, not through zmalloc,
 * never move the counter, also where the allocator counts zmalloc's bytes
 * (balloc): its plain calls, its jemalloc API, and the C library's names. */
static void test_direct_calls_not_counted(void) {
    size_t base = zmalloc_used_memory();
    void *z = zmalloc(48);
    size_t with_z = base + zmalloc_size(z);
    CHECK_EQ(zmalloc_used_memory(), with_z);
    void *m = malloc(100), *c = calloc(3, 40);
    m = realloc(m, 5000);
    CHECK_EQ(zmalloc_used_memory(), with_z);
    free(m);
    free(c);
#if defined(USE_BALLOC)
    size_t u = 0;
    void *b1 = balloc_malloc(64), *b2 = balloc_malloc_usable(3000, &u);
    void *b3 = balloc_calloc(1, 200), *b4 = balloc_malloc(6 << 20);
    b1 = balloc_realloc(b1, 20000);
    CHECK_EQ(u, balloc_good_size(3000));
    CHECK_EQ(zmalloc_used_memory(), with_z);
    balloc_free(b1);
    CHECK_EQ(balloc_free_usable(b2), u);
    balloc_free_sized(b3, 200);
    balloc_free(b4);
#if defined(USE_JEMALLOC)
    void *j = je_mallocx(300, 0);
    CHECK_EQ(zmalloc_used_memory(), with_z);
    je_sdallocx(j, 300, 0);
#endif
#endif
    CHECK_EQ(zmalloc_used_memory(), with_z);
    zfree(z);
    CHECK_EQ(zmalloc_used_memory(), base);
}

/* A thread whose first allocation is not zmalloc's (the allocator's own
 * call, or a huge block, which balloc serves around its thread cache)
 * still counts exactly and gives its slot back at exit. */
static void *first_direct_then_zmalloc(void *arg) {
    void *d = malloc(40);
    void *p = zmalloc((size_t)(uintptr_t)arg);
    void *q = zmalloc(40);
    free(d);
    zfree(q);
    return p;
}

static void *first_huge(void *arg) {
    (void)arg;
    void *h = zmalloc(5 << 20);
    zfree(zmalloc(100));
    return h;
}

static void test_first_call_not_zmalloc(void) {
    size_t base = zmalloc_used_memory(), slots = zmalloc_thread_slots();
    pthread_t t;
    void *p;
    for (int i = 0; i < 50; i++) {
        pthread_create(&t, NULL, (i & 1) ? first_huge : first_direct_then_zmalloc,
                       (void *)(uintptr_t)(16 + i));
        pthread_join(t, &p);
        CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
        zfree(p);
        CHECK_EQ(zmalloc_used_memory(), base);
    }
    CHECK(zmalloc_thread_slots() <= slots + 1);
}

/* ---- figures ---- */

static long status_kb(const char *field) {
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *p = strstr(buf, field);
    return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

static void test_process_figures(void) {
    long long pid = 0, rss_pages = 0;
    CHECK(get_proc_stat_ll(0, &pid) == 0); /* field 0 is below the name: refused */
    CHECK(get_proc_stat_ll(3, &pid) == 1); /* ppid */
    CHECK_EQ(pid, getppid());
    CHECK(get_proc_stat_ll(23, &rss_pages) == 1);
    CHECK(get_proc_stat_ll(1000, &rss_pages) == 0);
    size_t rss = zmalloc_get_rss();
    long vmrss = status_kb("VmRSS:") * 1024;
    CHECK(rss > 0);
    /* Two reads a moment apart: within 4 MiB of each other. */
    CHECK(rss + (4 << 20) > (size_t)vmrss && (size_t)vmrss + (4 << 20) > rss);
    size_t smaps_rss = zmalloc_get_smap_bytes_by_field("Rss:", -1);
    CHECK(smaps_rss + (4 << 20) > rss && rss + (4 << 20) > smaps_rss);
    CHECK(zmalloc_get_private_dirty(-1) > 0);
    CHECK_EQ(zmalloc_get_private_dirty(-1) > 0, zmalloc_get_private_dirty(getpid()) > 0);
    CHECK_EQ(zmalloc_get_memory_size(),
             (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE));
}

static void test_allocator_report(void) {
    size_t base = zmalloc_used_memory();
    enum { N = 1024, SZ = 64 * 1024 };
    static char *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = zmalloc(SZ);
        memset(blocks[i], i, SZ);
    }
    size_t live = (size_t)N * SZ;
    struct zmalloc_report r;
    zmalloc_get_memory_report(&r);
    CHECK_EQ(r.version, ZMALLOC_REPORT_VERSION);
    CHECK_STR(r.allocator, ZMALLOC_LIB);
    CHECK_EQ(r.used, zmalloc_used_memory());
    CHECK(r.used >= base + live);
    CHECK(r.peak >= r.used);
    CHECK(r.rss >= live);
    CHECK(r.mem_fragmentation_ratio > 0.5);
    CHECK_EQ(r.mem_fragmentation_bytes, (long long)r.rss - (long long)r.used);
#ifdef ZT_ALLOCATOR_FIGURES
    if (!(ZT_ON_VALGRIND() && strcmp(ZMALLOC_LIB, "libc") == 0)) {
    CHECK_EQ(r.allocator_info, 1);
    CHECK(r.allocator_allocated >= live);
    CHECK(r.allocator_active >= r.allocator_allocated);
    CHECK(r.allocator_resident >= live);
    CHECK(r.allocator_resident >= r.allocator_active);
    CHECK(r.allocator_frag_ratio >= 1.0);
    CHECK_EQ(r.allocator_frag_bytes, (long long)r.allocator_frag_smallbins);
    CHECK_EQ(r.allocator_rss_bytes, (long long)r.allocator_resident - (long long)r.allocator_active);
    }
#endif
    printf("    allocated %zu active %zu resident %zu retained %zu frag %zu rss %zu used %zu\n",
           r.allocator_allocated, r.allocator_active, r.allocator_resident, r.allocator_retained,
           r.allocator_frag_smallbins, r.rss, r.used);
    CHECK(r.verdict[0] != '\0');
    char text[2048], line[64];
    size_t n = zmalloc_format_report(&r, text, sizeof(text));
    CHECK_EQ(n, strlen(text));
    snprintf(line, sizeof(line), "used_memory:%zu\r\n", r.used);
    CHECK(strstr(text, line) != NULL);
    CHECK(strstr(text, "memory_verdict:") != NULL);
    char small[16];
    CHECK_EQ(zmalloc_format_report(&r, small, sizeof(small)), n);
    CHECK_EQ(strlen(small), sizeof(small) - 1);

    /* The three argument forms agree on the same figures. */
    size_t a5 = 0, a6 = 0, a7 = 0, act = 0, res = 0, ret = 0, muz = 0, frag = 0;
    int r5 = zmalloc_get_allocator_info(&a5, &act, &res, &ret, &muz);
    int r6 = zmalloc_get_allocator_info(&a6, NULL, NULL, NULL, NULL, &frag);
    int r7 = zmalloc_get_allocator_info(1, &a7, NULL, NULL, NULL, NULL, NULL);
    CHECK_EQ(r5, r.allocator_info);
    CHECK_EQ(r6, r5);
    CHECK_EQ(r7, r5);
    CHECK_EQ(a5 >= live, r.allocator_info);
    CHECK_EQ(a6 >= live, r.allocator_info);
    CHECK_EQ(a7 >= live, r.allocator_info);
    CHECK(zmalloc_get_allocator_info_by_arena(0, 1, &a7, NULL, NULL, NULL) >= 0);

    for (int i = 0; i < N; i++) zfree(blocks[i]);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK(zmalloc_used_memory_peak() >= base + live);
#if defined(__GLIBC__) || !defined(USE_LIBC)
    CHECK_EQ(zmalloc_purge(), 0);
    CHECK_EQ(jemalloc_purge(), 0);
#endif
    set_jemalloc_bg_thread(0);
    zlibc_trim();
}

static void test_verdict_lines(void) {
    struct zmalloc_report r;
    zmalloc_get_memory_report(&r);
    /* This process holds little through zmalloc now. */
    CHECK_STR(r.verdict, "too little memory in use (under 5 MiB) to judge");
}

static void test_madvise_dontneed(void) {
    size_t base = zmalloc_used_memory(), page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (size_t)1 << 20;
    unsigned char *p = zmalloc(len);
    memset(p, 0xab, len);
    zmadvise_dontneed(p);
    uintptr_t first = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    size_t head = first - (uintptr_t)p;
    size_t kept = 0, zeroed = 0;
    for (size_t i = 0; i < head; i++) kept += p[i] == 0xab;
    for (size_t i = head; i < head + page * 8; i++) zeroed += p[i] == 0;
    CHECK_EQ(kept, head);
    CHECK_EQ(zeroed, page * 8);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    zfree(p);
    zmadvise_dontneed(NULL);
    CHECK_EQ(zmalloc_used_memory(), base);
}

#if defined(USE_BALLOC)
/* Blocks from every allocation call of zmalloc's, made here. */
static void *profiled[6];
__attribute__((noinline)) static void profiled_site(void) {
    size_t u;
    profiled[0] = zmalloc(40);
    profiled[1] = zcalloc(50);
    profiled[2] = zrealloc(zmalloc(8), 3000);
    profiled[3] = zstrdup("profiled");
    profiled[4] = zmalloc_usable(70, &u);
    profiled[5] = ztrymalloc(1 << 20);
}

/* With every allocation sampled, each live sample's innermost frame is the
 * caller of zmalloc's function (profiled_site), not zmalloc or balloc: their
 * functions are in balloc's section, which the profiler cuts. */
static void check_profiled_frames(const char *path) {
    FILE *f = fopen(path, "r");
    char line[2048];
    int stacks = 0, in_site = 0;
    unsigned long lo = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (line[0] != '@') continue;
        uintptr_t pc = (uintptr_t)strtoull(line + 1, NULL, 16);
        if (!fgets(line, sizeof(line), f) || sscanf(line, "  t*: %lu:", &lo) != 1 || lo == 0) continue;
        stacks++;
        in_site += pc >= (uintptr_t)profiled_site && pc - (uintptr_t)profiled_site < 1024;
    }
    if (f) fclose(f);
    CHECK_EQ(stacks, 6);
    CHECK_EQ(in_site, 6);
}
#endif

/* Heap profiles: written where the allocator samples (balloc once
 * prof.active is on; jemalloc only when started with MALLOC_CONF=prof:true,
 * which this suite is not), refused elsewhere, errno saying why, and a path
 * that cannot be written leaves nothing behind. */
static void test_heap_profile(void) {
    char path[64] = "/tmp/zmalloc-heap.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    struct zmalloc_report r;
    CHECK_EQ(zmalloc_heap_profiling(), 0);
    errno = 0;
    CHECK_EQ(zmalloc_heap_profile_dump(path), -1);
#if defined(USE_BALLOC) || defined(USE_JEMALLOC)
    CHECK_EQ(errno, ENOENT);  /* profiling is not on */
#else
    CHECK_EQ(errno, ENOTSUP);
#endif
    CHECK_EQ(access(path, F_OK), -1);
#if defined(USE_BALLOC)
    _Bool on = 1;
    CHECK_EQ(balloc_ctl("prof.active", NULL, NULL, &on, sizeof(on)), 0);
    CHECK_EQ(zmalloc_heap_profiling(), 1);
    zmalloc_get_memory_report(&r);
    CHECK_EQ(r.heap_profiling, 1);
    CHECK_EQ(zmalloc_heap_profile_dump(path), 0);
    char head[32] = "";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL && fgets(head, sizeof(head), f) != NULL);
    if (f) fclose(f);
    CHECK_STR(head, "heap_v2/524288\n");
    unlink(path);
    int64_t every = 1, usual = 512 * 1024;
    CHECK_EQ(balloc_ctl("opt.prof_sample_bytes", NULL, NULL, &every, sizeof(every)), 0);
    profiled_site();
    CHECK_EQ(zmalloc_heap_profile_dump(path), 0);
    check_profiled_frames(path);
    unlink(path);
    for (int i = 0; i < 6; i++) zfree(profiled[i]);
    CHECK_EQ(balloc_ctl("opt.prof_sample_bytes", NULL, NULL, &usual, sizeof(usual)), 0);
    errno = 0;
    CHECK_EQ(zmalloc_heap_profile_dump("/nonexistent-zmalloc-dir/x.heap"), -1);
    CHECK_EQ(errno, ENOENT);
    on = 0;
    CHECK_EQ(balloc_ctl("prof.active", NULL, NULL, &on, sizeof(on)), 0);
#endif
    zmalloc_get_memory_report(&r);
    CHECK_EQ(r.heap_profiling, 0);
    char text[4096];
    zmalloc_format_report(&r, text, sizeof(text));
    CHECK(strstr(text, "\r\nheap_profiling:0\r\n") != NULL);
}

static void test_lib_name(void) {
    const char *lib = ZMALLOC_LIB;
#if defined(USE_BALLOC)
    CHECK(strncmp(lib, "balloc-", 7) == 0);
#elif defined(USE_JEMALLOC)
    CHECK(strncmp(lib, "jemalloc-5.", 11) == 0);
#elif defined(USE_TCMALLOC)
    CHECK(strncmp(lib, "tcmalloc-2.", 11) == 0);
#elif defined(USE_MIMALLOC)
    char want[32];
    snprintf(want, sizeof(want), "mimalloc-%d.%d.%d", MI_MALLOC_VERSION / 100,
             (MI_MALLOC_VERSION / 10) % 10, MI_MALLOC_VERSION % 10);
    CHECK_STR(lib, want);
#else
    CHECK_STR(lib, "libc");
#endif
    printf("    backend %s, %s mode\n", lib,
#ifdef HAVE_MALLOC_SIZE
           "usable-size"
#else
           "prefix-header"
#endif
    );
}

/* tests/server_names.c: the names a server's bundled code declares itself. */
struct server_names_family {
    const char *name;
    void *(*alloc)(size_t);
    void *(*calloc)(size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
};
extern const struct server_names_family server_names_families[];
extern const size_t server_names_nfamilies;
extern void *(*const server_names_calloc_num)(size_t, size_t);

static void test_server_declared_names(void) {
    size_t base = zmalloc_used_memory();
    CHECK_EQ(server_names_nfamilies, 2);
    for (size_t i = 0; i < server_names_nfamilies; i++) {
        const struct server_names_family *f = &server_names_families[i];
        unsigned char *p = f->alloc(100);
        CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
        memset(p, 0x5a, 100);
        p = f->realloc(p, 3000);
        CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
        CHECK_EQ(p[99], 0x5a);
        unsigned char *z = f->calloc(64);
        CHECK_EQ(z[0] | z[63], 0);
        CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p) + zmalloc_size(z));
        f->free(z);
        f->free(p);
        CHECK_EQ(zmalloc_used_memory(), base);
    }
    unsigned char *n = server_names_calloc_num(10, 10);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(n));
    zfree(n);
    CHECK_EQ(zmalloc_used_memory(), base);
}

#ifdef HAVE_DEFRAG
static void test_no_tcache(void) {
    size_t base = zmalloc_used_memory();
    void *p = zmalloc_no_tcache(3000);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    zfree_no_tcache(p);
    zfree_no_tcache(NULL);
    CHECK_EQ(zmalloc_used_memory(), base);
    /* The try form: counted the same, NULL without the OOM handler. */
    p = ztrymalloc_no_tcache(3000);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    CHECK_EQ(zmalloc_size(p), zmalloc_usable_size(p));
    CHECK(zmalloc_usable_size(p) >= 3000);
    zfree_no_tcache(p);
    CHECK_EQ(zmalloc_used_memory(), base);
    oom_calls = 0;
    zmalloc_set_oom_handler(oom_record);
    CHECK(ztrymalloc_no_tcache(SIZE_MAX / 2) == NULL);
    CHECK(ztrymalloc_no_tcache(SIZE_MAX) == NULL);
    zmalloc_set_oom_handler(NULL);
    CHECK_EQ(oom_calls, 0);
    CHECK_EQ(zmalloc_used_memory(), base);
#if defined(USE_JEMALLOC)
    p = zmalloc_with_flags(100, 0);
    p = zrealloc_with_flags(p, 5000, 0);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(p));
    zfree_with_flags(p, 0);
    CHECK_EQ(zmalloc_used_memory(), base);
#endif
}

/* Servers' defrag code reads the copy it has just freed with
 * zfree_no_tcache (Valkey looks a pubsub channel up by it): the block keeps
 * every byte until it is handed out again. balloc's hardened build poisons
 * it instead (first 8 bytes the free key, the rest 0xdb). */
static void test_defrag_free_keeps_bytes(void) {
    static const size_t sizes[] = {8, 16, 24, 48, 100, 500, 3000, 14000, 30000};
    int poisoned = 0;
#if defined(USE_BALLOC)
    poisoned = balloc_good_size(16) != 16; /* the hardened build's canary */
#endif
    size_t base = zmalloc_used_memory();
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        unsigned char *p = zmalloc(sizes[k]);
        size_t u = zmalloc_usable_size(p);
        for (size_t i = 0; i < u; i++) p[i] = (unsigned char)(i * 13 + k + 1);
        zfree_no_tcache(p);
        size_t changed = 0;
        for (size_t i = poisoned ? 8 : 0; i < u; i++)
            changed += p[i] != (poisoned ? 0xdb : (unsigned char)(i * 13 + k + 1));
        CHECK_EQ(changed, 0);
        CHECK_EQ(zmalloc_used_memory(), base);
    }
}

struct defrag_set {
    unsigned char **ptrs;
    size_t n;
};

/* The server's side of the driver: visit 64 blocks, move the hinted ones. */
static unsigned long defrag_scan(void *privdata, unsigned long cursor) {
    struct defrag_set *s = privdata;
    for (int k = 0; k < 64 && cursor < s->n; k++, cursor++) {
        unsigned char *np = s->ptrs[cursor] ? zmalloc_defrag_alloc(s->ptrs[cursor]) : NULL;
        if (np) s->ptrs[cursor] = np;
    }
    return cursor >= s->n ? 0 : cursor;
}

static void test_defrag_driver(void) {
    enum { N = 300000, SZ = 48 };
    size_t base = zmalloc_used_memory();
    struct defrag_set set = {zcalloc(N * sizeof(unsigned char *)), N};
    for (size_t i = 0; i < N; i++) {
        set.ptrs[i] = zmalloc(SZ);
        memset(set.ptrs[i], (int)(i & 0xff), SZ);
    }
    /* Free four blocks in five, at random: sparse slabs everywhere. */
    unsigned x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        if ((x >> 16) % 5 != 0) {
            zfree(set.ptrs[i]);
            set.ptrs[i] = NULL;
        }
    }
    size_t live = 0;
    for (size_t i = 0; i < N; i++) live += set.ptrs[i] ? zmalloc_size(set.ptrs[i]) : 0;
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(set.ptrs) + live);

    /* Below the thresholds the driver does nothing. */
    struct zmalloc_defrag_policy idle = {(size_t)1 << 40, 10, 100, 1, 25};
    struct zmalloc_defrag_result r;
    unsigned long cursor = 0;
    CHECK_EQ(zmalloc_defrag_cycle(&idle, 100000, defrag_scan, &set, &cursor, &r), 0);
    CHECK_EQ(r.ran, 0);
    CHECK(r.frag_pct > 100.0);

    struct zmalloc_defrag_policy eager = {0, 5, 50, 100, 100};
    double before = r.frag_pct, after = before;
    size_t moved = 0;
    for (int pass = 0; pass < 8; pass++) {
        do {
            moved += zmalloc_defrag_cycle(&eager, 1000000, defrag_scan, &set, &cursor, &r);
        } while (!r.pass_done && r.ran);
        if (!r.ran) break; /* fragmentation fell under the lower threshold */
        CHECK_EQ(r.effort_pct, 100);
        if (r.moved_blocks == 0) break;
    }
    zmalloc_defrag_cycle(&idle, 1, defrag_scan, &set, &cursor, &r);
    after = r.frag_pct;
    printf("    fragmentation %.1f%% -> %.1f%%, %zu bytes moved\n", before, after, moved);
    CHECK(moved > 0);
    CHECK(after < before / 4);
    size_t wrong = 0, live2 = 0;
    for (size_t i = 0; i < N; i++) {
        if (!set.ptrs[i]) continue;
        live2 += zmalloc_size(set.ptrs[i]);
        for (int k = 0; k < SZ; k++) wrong += set.ptrs[i][k] != (unsigned char)(i & 0xff);
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(live2, live);
    CHECK_EQ(zmalloc_used_memory(), base + zmalloc_size(set.ptrs) + live);
    for (size_t i = 0; i < N; i++) zfree(set.ptrs[i]);
    zfree(set.ptrs);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK(zmalloc_defrag_alloc(NULL) == NULL);
}
#endif

int main(void) {
    TH_BEGIN("zmalloc suite");
    RUN(test_fresh_process_is_zero);
    RUN(test_lib_name);
    RUN(test_counter_moves_by_block_size);
    RUN(test_usable_size_at_allocation_is_exact);
    RUN(test_usable_forms);
    RUN(test_calloc_zeroes);
    RUN(test_realloc_grow_and_shrink);
    RUN(test_oom_paths);
    RUN(test_default_oom_handler_aborts);
    RUN(test_strdup);
    RUN(test_alignment);
    RUN(test_free_batch);
    RUN(test_threads_cross_free);
    RUN(test_thread_exit_and_slot_reuse);
    RUN(test_direct_calls_not_counted);
    RUN(test_first_call_not_zmalloc);
    RUN(test_process_figures);
    RUN(test_allocator_report);
    RUN(test_verdict_lines);
    RUN(test_madvise_dontneed);
    RUN(test_heap_profile);
    RUN(test_server_declared_names);
#ifdef HAVE_DEFRAG
    RUN(test_no_tcache);
    RUN(test_defrag_free_keeps_bytes);
    RUN(test_defrag_driver);
#endif
    TH_END();
}
