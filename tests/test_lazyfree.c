/* tests/test_lazyfree.c -- lazy free (zmalloc_lazyfree.c), built and run
 * once per backend and accounting mode, under every sanitizer. Every figure
 * is checked exactly: a worker is held inside a "gate" job whenever a test
 * needs entries to stay queued, so nothing here depends on timing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../zmalloc.h"
#include "harness.h"

/* ---- helpers ---- */

/* The gate: a job that holds its worker until released. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_entered, gate_open;

static void gate_job(void *arg) {
    (void)arg;
    pthread_mutex_lock(&gate_lock);
    gate_entered = 1;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open) pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

/* Queues the gate and returns once a worker is inside it: the queue is
 * empty and that worker busy. */
static void gate_hold(void) {
    pthread_mutex_lock(&gate_lock);
    gate_entered = gate_open = 0;
    pthread_mutex_unlock(&gate_lock);
    zmalloc_lazyfree_job(gate_job, NULL, 0, 0);
    pthread_mutex_lock(&gate_lock);
    while (!gate_entered) pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void) {
    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

/* A job that records where and in which order it ran. */
struct rec {
    int ran;
    int order;
    pthread_t on;
};
static _Atomic int rec_next;
static void rec_job(void *arg) {
    struct rec *r = arg;
    r->ran++;
    r->order = atomic_fetch_add(&rec_next, 1);
    r->on = pthread_self();
}
static int rec_inline(const struct rec *r) { return r->ran == 1 && pthread_equal(r->on, pthread_self()); }

/* A list a job frees, as a server's destructor would. */
struct node {
    struct node *next;
    char pad[40];
};
static struct node *list_make(size_t n, size_t *bytes) {
    struct node *head = NULL;
    for (size_t i = 0; i < n; i++) {
        struct node *e = zmalloc(sizeof(*e));
        e->next = head;
        head = e;
        *bytes += zmalloc_size(e);
    }
    return head;
}
static void list_free_job(void *arg) {
    for (struct node *e = arg, *next; e; e = next) {
        next = e->next;
        zfree(e);
    }
}

static size_t block_size(size_t i) { return i % 50 == 49 ? (size_t)(5 << 20) : 1 + (i * 37) % 9000; }

/* ---- tests ---- */

/* Never started: everything happens at once, in the caller. */
static void test_not_started(void) {
    size_t base = zmalloc_used_memory(), done = zmalloc_lazyfreed_objects();
    void *p = zmalloc(1000);
    zfree_lazy(p);
    CHECK_EQ(zmalloc_used_memory(), base);
    zfree_lazy(NULL);
    struct rec r = {0};
    zmalloc_lazyfree_job(rec_job, &r, 1 << 20, 10);
    CHECK(rec_inline(&r));
    zmalloc_lazyfree_job(NULL, NULL, 1 << 20, 10);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), 0);
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 0);
    CHECK_EQ(zmalloc_lazyfreed_objects(), done);
    CHECK_EQ(zmalloc_used_memory_not_pending(), base);
    CHECK_EQ(zmalloc_lazyfree_wait(0), 0);
    CHECK_EQ(zmalloc_lazyfree_wait(-1), 0);
    zmalloc_lazyfree_stop();
    CHECK_EQ(zmalloc_used_memory(), base);
}

/* A bad configuration starts nothing and says why. */
static void test_bad_config(void) {
    struct zmalloc_lazyfree_config c = ZMALLOC_LAZYFREE_CONFIG_DEFAULT;
    c.threads = ZMALLOC_LAZYFREE_MAX_THREADS + 1;
    errno = 0;
    CHECK_EQ(zmalloc_lazyfree_start(&c), -1);
    CHECK_EQ(errno, EINVAL);
    c = (struct zmalloc_lazyfree_config)ZMALLOC_LAZYFREE_CONFIG_DEFAULT;
    c.cpu = -2;
    errno = 0;
    CHECK_EQ(zmalloc_lazyfree_start(&c), -1);
    CHECK_EQ(errno, EINVAL);
    c = (struct zmalloc_lazyfree_config)ZMALLOC_LAZYFREE_CONFIG_DEFAULT;
    c.queue_max = (size_t)1 << 40;
    errno = 0;
    CHECK_EQ(zmalloc_lazyfree_start(&c), -1);
    CHECK_EQ(errno, EINVAL);
#if defined(__GLIBC__)
    /* A CPU this process may not run on: pthread_create's EINVAL. */
    c = (struct zmalloc_lazyfree_config)ZMALLOC_LAZYFREE_CONFIG_DEFAULT;
    c.cpu = CPU_SETSIZE - 1;
    errno = 0;
    CHECK_EQ(zmalloc_lazyfree_start(&c), -1);
    CHECK_EQ(errno, EINVAL);
#endif
    /* Nothing runs: a free is immediate. */
    size_t base = zmalloc_used_memory();
    zfree_lazy(zmalloc(100));
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_lazyfree_start(NULL), 0);
    errno = 0;
    CHECK_EQ(zmalloc_lazyfree_start(NULL), -1);
    CHECK_EQ(errno, EBUSY);
    zmalloc_lazyfree_stop();
    zmalloc_lazyfree_stop();
}

/* Queued blocks and a job: exact pending figures while held, then exact
 * used memory and zero pending once done; the report says the same. */
#define NBLOCKS 100
static void test_exact_counters(void) {
    size_t base = zmalloc_used_memory(), done = zmalloc_lazyfreed_objects(), held = 0;
    void *b[NBLOCKS];
    for (size_t i = 0; i < NBLOCKS; i++) {
        b[i] = zmalloc(block_size(i));
        held += zmalloc_size(b[i]);
    }
    CHECK_EQ(zmalloc_lazyfree_start(NULL), 0);
    gate_hold();
    for (size_t i = 0; i < NBLOCKS; i++) zfree_lazy(b[i]);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), held);
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), NBLOCKS);
    CHECK_EQ(zmalloc_used_memory(), base + held);
    CHECK_EQ(zmalloc_used_memory_not_pending(), base);
    struct rec r = {0};
    zmalloc_lazyfree_job(rec_job, &r, 12345, 7);
    CHECK_EQ(r.ran, 0);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), held + 12345);
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), NBLOCKS + 7);
    CHECK_EQ(zmalloc_used_memory_not_pending(), base > 12345 ? base - 12345 : 0);
    struct zmalloc_report rep;
    zmalloc_get_memory_report(&rep);
    CHECK_EQ(rep.version, ZMALLOC_REPORT_VERSION);
    CHECK_EQ(rep.lazyfree_pending_bytes, held + 12345);
    CHECK_EQ(rep.lazyfree_pending_objects, NBLOCKS + 7);
    CHECK_EQ(rep.lazyfreed_objects, done);
    char text[4096];
    zmalloc_format_report(&rep, text, sizeof(text));
    char line[64];
    snprintf(line, sizeof(line), "\nlazyfree_pending_objects:%d\r\n", NBLOCKS + 7);
    CHECK(strstr(text, line) != NULL);
    /* Held: the wait times out, and says so. */
    errno = 0;
    CHECK_EQ(zmalloc_lazyfree_wait(0), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    errno = 0;
    CHECK_EQ(zmalloc_lazyfree_wait(2000), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    gate_release();
    CHECK_EQ(zmalloc_lazyfree_wait(-1), 0);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), 0);
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 0);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_used_memory_not_pending(), base);
    CHECK_EQ(zmalloc_lazyfreed_objects(), done + NBLOCKS + 7);
    CHECK_EQ(r.ran, 1);
    CHECK(!pthread_equal(r.on, pthread_self()));
    zmalloc_get_memory_report(&rep);
    CHECK_EQ(rep.lazyfree_pending_bytes, 0);
    CHECK_EQ(rep.lazyfreed_objects, done + NBLOCKS + 7);
    zmalloc_lazyfree_stop();
    /* Stopped: at once again, and a second start works. */
    zfree_lazy(zmalloc(64));
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_lazyfree_start(NULL), 0);
    zfree_lazy(zmalloc(64));
    CHECK_EQ(zmalloc_lazyfree_wait(-1), 0);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_lazyfreed_objects(), done + NBLOCKS + 8);
    zmalloc_lazyfree_stop();
}

/* A full queue: the caller frees (runs the job) itself, at once. */
static void test_full_queue(void) {
    size_t base = zmalloc_used_memory(), done = zmalloc_lazyfreed_objects(), held = 0;
    struct zmalloc_lazyfree_config c = ZMALLOC_LAZYFREE_CONFIG_DEFAULT;
    c.queue_max = 4;
    CHECK_EQ(zmalloc_lazyfree_start(&c), 0);
    gate_hold();
    for (int i = 0; i < 4; i++) {
        void *p = zmalloc(200 + (size_t)i * 1000);
        held += zmalloc_size(p);
        zfree_lazy(p);
    }
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 4);
    void *extra = zmalloc(3000);
    CHECK_EQ(zmalloc_used_memory(), base + held + zmalloc_size(extra));
    zfree_lazy(extra);
    CHECK_EQ(zmalloc_used_memory(), base + held);
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 4);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), held);
    struct rec r = {0};
    zmalloc_lazyfree_job(rec_job, &r, 999, 9);
    CHECK(rec_inline(&r));
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), held);
    gate_release();
    CHECK_EQ(zmalloc_lazyfree_wait(-1), 0);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_lazyfreed_objects(), done + 4);
    zmalloc_lazyfree_stop();
}

/* Stop while work is queued: it all runs first, in order. The stop runs on
 * another thread; once it has begun, a job is run by its caller (the
 * probes below tell), and only then is the gate opened. */
#define NPROBES 4096
static struct rec probes[NPROBES];
static void *stopper(void *arg) {
    (void)arg;
    zmalloc_lazyfree_stop();
    return NULL;
}
static void test_stop_runs_queued(void) {
    size_t base = zmalloc_used_memory(), done = zmalloc_lazyfreed_objects();
    struct rec jobs[10];
    memset(jobs, 0, sizeof(jobs));
    memset(probes, 0, sizeof(probes));
    CHECK_EQ(zmalloc_lazyfree_start(NULL), 0);
    gate_hold();
    rec_next = 0;
    for (int j = 0; j < 10; j++) {
        for (size_t i = 0; i < 100; i++) zfree_lazy(zmalloc(block_size(i)));
        zmalloc_lazyfree_job(rec_job, &jobs[j], 0, 1);
    }
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 1010);
    pthread_t t;
    pthread_create(&t, NULL, stopper, NULL);
    size_t queued = 0, k;
    for (k = 0; k < NPROBES; k++) {
        zmalloc_lazyfree_job(rec_job, &probes[k], 0, 0);
        if (probes[k].ran) break; /* run here: the stop has begun */
        queued++;
        sched_yield();
    }
    CHECK(k < NPROBES);
    CHECK(rec_inline(&probes[k]));
    gate_release();
    pthread_join(t, NULL);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), 0);
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 0);
    CHECK_EQ(zmalloc_lazyfreed_objects(), done + 1010);
    /* The probe run here came first; the queue after it, in its order. */
    CHECK_EQ(probes[k].order, 0);
    size_t bad = 0;
    for (int j = 0; j < 10; j++) bad += jobs[j].ran != 1 || jobs[j].order != 1 + j;
    for (size_t i = 0; i < queued; i++) bad += probes[i].ran != 1 || probes[i].order != 11 + (int)i;
    CHECK_EQ(bad, 0);
    /* Stopped: at once. */
    struct rec r = {0};
    zmalloc_lazyfree_job(rec_job, &r, 0, 0);
    CHECK(rec_inline(&r));
}

/* Many threads queue blocks and list-freeing jobs into two workers. */
#define PRODUCERS 6
#define PER_PRODUCER 1500
static _Atomic size_t produced_objects;
static void *producer(void *arg) {
    size_t id = (size_t)arg;
    for (size_t i = 0; i < PER_PRODUCER; i++) {
        if (i % 100 == 99) {
            size_t bytes = 0;
            struct node *l = list_make(20, &bytes);
            zmalloc_lazyfree_job(list_free_job, l, bytes, 20);
            atomic_fetch_add(&produced_objects, 20);
        } else {
            zfree_lazy(zmalloc(block_size(i + id * 7) % 20000));
            atomic_fetch_add(&produced_objects, 1);
        }
    }
    return NULL;
}
static void test_many_threads(void) {
    size_t base = zmalloc_used_memory(), done = zmalloc_lazyfreed_objects();
    struct zmalloc_lazyfree_config c = ZMALLOC_LAZYFREE_CONFIG_DEFAULT;
    c.threads = 2;
    CHECK_EQ(zmalloc_lazyfree_start(&c), 0);
    produced_objects = 0;
    pthread_t t[PRODUCERS];
    for (size_t i = 0; i < PRODUCERS; i++) pthread_create(&t[i], NULL, producer, (void *)i);
    for (size_t i = 0; i < PRODUCERS; i++) pthread_join(t[i], NULL);
    CHECK_EQ(produced_objects, PRODUCERS * (PER_PRODUCER - PER_PRODUCER / 100 + 20 * (PER_PRODUCER / 100)));
    CHECK_EQ(zmalloc_lazyfree_wait(-1), 0);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), 0);
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 0);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_lazyfreed_objects(), done + produced_objects);
    zmalloc_lazyfree_stop();
    CHECK_EQ(zmalloc_used_memory(), base);
}

/* fork with a job running and entries queued: the child has no worker and
 * an empty queue, holds the queued blocks (still counted), has 0 pending,
 * and never runs the parent's jobs; the parent runs them once. */
struct child_counts {
    long pass, fail;
};
static void test_fork(void) {
    size_t base = zmalloc_used_memory(), done = zmalloc_lazyfreed_objects();
    CHECK_EQ(zmalloc_lazyfree_start(NULL), 0);
    gate_hold();
    void *b1 = zmalloc(5000), *b2 = zmalloc(70000);
    size_t s1 = zmalloc_size(b1), s2 = zmalloc_size(b2);
    zfree_lazy(b1);
    zfree_lazy(b2);
    struct rec r = {0};
    zmalloc_lazyfree_job(rec_job, &r, 777, 3);
    CHECK_EQ(zmalloc_lazyfree_pending_bytes(), s1 + s2 + 777);
    size_t used = zmalloc_used_memory();
    CHECK_EQ(used, base + s1 + s2);
    int fd[2];
    CHECK(pipe(fd) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        long p0 = harness_pass, f0 = harness_fail;
        CHECK_EQ(zmalloc_lazyfree_pending_bytes(), 0);
        CHECK_EQ(zmalloc_lazyfree_pending_objects(), 0);
        CHECK_EQ(zmalloc_lazyfreed_objects(), done);
        CHECK_EQ(zmalloc_used_memory(), used);
        CHECK_EQ(zmalloc_used_memory_not_pending(), used);
        CHECK_EQ(zmalloc_lazyfree_wait(0), 0); /* empty, nobody busy */
        CHECK_EQ(r.ran, 0);
        /* No worker: at once, in this thread. */
        struct rec mine = {0};
        zmalloc_lazyfree_job(rec_job, &mine, 0, 0);
        CHECK(rec_inline(&mine));
        void *p = zmalloc(300);
        zfree_lazy(p);
        CHECK_EQ(zmalloc_used_memory(), used);
        zmalloc_lazyfree_stop();
        CHECK_EQ(r.ran, 0);
        /* The parent's queued blocks are the child's, allocated. */
        zfree(b1);
        CHECK_EQ(zmalloc_used_memory(), used - s1);
        zfree(b2);
        CHECK_EQ(zmalloc_used_memory(), base);
        struct child_counts cc = {harness_pass - p0, harness_fail - f0};
        fflush(stdout);
        ssize_t wr = write(fd[1], &cc, sizeof(cc));
        _exit(wr == (ssize_t)sizeof(cc) ? 0 : 1);
    }
    close(fd[1]);
    struct child_counts cc = {0, 0};
    ssize_t rd = read(fd[0], &cc, sizeof(cc));
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(rd == (ssize_t)sizeof(cc) && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(cc.pass, 12);
    harness_pass += cc.pass;
    harness_fail += cc.fail;
    /* The parent goes on as if no fork happened. */
    CHECK_EQ(zmalloc_lazyfree_pending_objects(), 2 + 3);
    gate_release();
    CHECK_EQ(zmalloc_lazyfree_wait(-1), 0);
    CHECK_EQ(r.ran, 1);
    CHECK_EQ(zmalloc_used_memory(), base);
    CHECK_EQ(zmalloc_lazyfreed_objects(), done + 5);
    zmalloc_lazyfree_stop();
}

#if defined(USE_BALLOC) && defined(HAVE_MALLOC_SIZE)
/* Misuse, one case per run of this program in a fresh process (a thread
 * started in a fork child is outside what TSan supports): the case prints
 * on stdout the exact line balloc must write on stderr, then dies of
 * SIGABRT writing it. */
static int misuse_case(const char *name) {
    void *p = zmalloc(100);
    zmalloc_lazyfree_start(NULL);
    if (strcmp(name, "twice-queued") == 0) {
        /* Both frees queued: the worker's batch meets the block twice. */
        printf("balloc: double free of %p\n", p);
        fflush(stdout);
        gate_hold();
        zfree_lazy(p);
        zfree_lazy(p);
        gate_release();
    } else {
        /* The first free done: the second zfree_lazy's size look-up meets it. */
        printf("balloc: usable size after free of %p\n", p);
        fflush(stdout);
        zfree_lazy(p);
        zmalloc_lazyfree_wait(-1);
        zfree_lazy(p);
    }
    zmalloc_lazyfree_wait(-1);
    return 0;
}

static ssize_t read_all(int fd, char *buf, size_t cap) {
    ssize_t n, len = 0;
    while ((n = read(fd, buf + len, cap - 1 - (size_t)len)) > 0) len += n;
    buf[len] = '\0';
    close(fd);
    return len;
}

static void expect_abort(const char *self, const char *name) {
    int out[2], err[2];
    CHECK(pipe(out) == 0 && pipe(err) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(err[0]);
        execl(self, self, name, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    char want[256], got[256];
    read_all(out[0], want, sizeof(want));
    read_all(err[0], got, sizeof(got));
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strncmp(want, "balloc: ", 8) == 0);
    CHECK_STR(got, want);
}

static const char *self_path;
static void test_double_zfree_lazy(void) {
    expect_abort(self_path, "twice-queued");
    expect_abort(self_path, "twice-after");
}
#endif

int main(int argc, char **argv) {
#if defined(USE_BALLOC) && defined(HAVE_MALLOC_SIZE)
    if (argc == 2) return misuse_case(argv[1]);
    self_path = argv[0];
#else
    (void)argc, (void)argv;
#endif
    TH_BEGIN("zmalloc lazy free");
    RUN(test_not_started);
    RUN(test_bad_config);
    RUN(test_exact_counters);
    RUN(test_full_queue);
    RUN(test_stop_runs_queued);
    RUN(test_many_threads);
    RUN(test_fork);
#if defined(USE_BALLOC) && defined(HAVE_MALLOC_SIZE)
    RUN(test_double_zfree_lazy);
#endif
    TH_END();
}
