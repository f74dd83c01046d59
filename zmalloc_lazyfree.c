/* zmalloc_lazyfree.c -- lazy free: blocks and destructors handed to
 * background threads, with what is still queued counted apart.
 *
 * A server that drops a big structure (UNLINK, FLUSHALL ASYNC, lazy eviction
 * or expiry) calls zmalloc_lazyfree_job with its destructor, or zfree_lazy
 * per block, and goes on: a background thread does the freeing. Until it
 * is done, the bytes are still allocated and still in zmalloc_used_memory(),
 * but they are also in zmalloc_lazyfree_pending_bytes(), and
 * zmalloc_used_memory_not_pending() (used less pending) is what a maxmemory
 * check compares, so a free in flight neither evicts more keys than needed
 * nor answers OOM.
 *
 * One queue, bounded, under one mutex: each entry is a block to free (its
 * zmalloc_size() taken by the caller) or a job (fn, arg and its hints). The
 * pending figures grow when an entry is queued, under the mutex, and shrink
 * after the entry is done, so they never go below what is still queued. A
 * worker takes up to ZL_TAKE consecutive blocks at a time and frees them
 * with one zfree_batch (over balloc: grouped by arena and class, another
 * thread's arena's share pushed as lock-free batches its own refills take
 * whole, so the thread that allocated them does not contend with the
 * worker for its arena lock), or one job, which it runs. Entries are done
 * in the order they were queued (with one thread; with more, each takes
 * the next). Workers run under SCHED_BATCH where there is one, so waking
 * one never preempts the thread that queued the work.
 *
 * What never waits: a full queue, or a call before zmalloc_lazyfree_start
 * or after zmalloc_lazyfree_stop, frees the block (runs the job) in the
 * caller, counted as a plain free, neither pending nor lazyfreed; so is a
 * call from a job itself (the worker). Nothing is dropped.
 *
 * fork: the handlers below hold the mutex across fork, once no worker is in
 * the middle of a batch of frees (a batch is at most ZL_TAKE blocks; a job
 * is not waited for). The child has no worker and an empty queue, and is
 * as if never started: its zfree_lazy frees at once. The blocks the parent
 * had queued are still allocated in the child's copy of the heap and still
 * in its zmalloc_used_memory(): the child holds them, leaked (freeing them
 * would write to pages the child shares copy-on-write, and a fork child of
 * a server exits soon); its pending figures are 0, so its
 * zmalloc_used_memory_not_pending() equals zmalloc_used_memory(). The
 * parent's jobs never run in the child (a job running at the fork stops
 * there, half done, its remains leaked the same way); in the parent they
 * run once, as if no fork happened. zmalloc_lazyfreed_objects() keeps the
 * parent's figure at the fork.
 *
 * Built only on the public API (zmalloc.h). Optional when vendoring: a
 * server with its own lazyfree.c and bio threads needs none of this file.
 *
 * Error convention: zmalloc_lazyfree_start and zmalloc_lazyfree_wait return
 * 0, or -1 with errno set (zmalloc.h lists the values). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "zmalloc.h"

/* The most blocks a worker frees with one zfree_batch: balloc sorts a batch
 * in windows of this size too. */
#define ZL_TAKE 512
/* The largest queue start accepts (entries). */
#define ZL_QUEUE_LIMIT ((size_t)1 << 26)

/* fn NULL: arg is a block to free; else a job, fn(arg). */
struct zl_entry {
    void (*fn)(void *arg);
    void *arg;
    size_t bytes;   /* in zl_pending_bytes until done */
    size_t objects; /* in zl_pending_objects until done */
};

/* Under zl_lock: the queue is the ring zl_queue[zl_head ..] of zl_count
 * entries out of zl_cap; zl_busy workers hold entries taken from it
 * (zl_freeing of them a batch of frees); zl_nthreads workers run, until
 * zl_stopping tells them to leave once the queue is empty. zl_work wakes
 * workers; zl_idle wakes waiters (queue empty, no worker busy) and the fork
 * handler (no batch of frees in flight). The queue is mapped, not
 * allocated: the library's bookkeeping is never counted. */
static pthread_mutex_t zl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t zl_work, zl_idle;
static struct zl_entry *zl_queue;
static size_t zl_cap, zl_head, zl_count;
static unsigned zl_nthreads, zl_busy, zl_freeing;
static int zl_stopping;
static pthread_t zl_threads[ZMALLOC_LAZYFREE_MAX_THREADS];

/* 1 while workers accept entries: read without the lock first, so a call
 * with none running costs a load. */
static _Atomic int zl_accepting;
static _Atomic size_t zl_pending_bytes, zl_pending_objects, zl_freed_objects;
/* Set on the workers: their own zfree_lazy and jobs run at once. */
static _Thread_local int zl_on_worker;

static pthread_once_t zl_once = PTHREAD_ONCE_INIT;

/* ---- Queue ----------------------------------------------------------------- */

static size_t zl_map_bytes(size_t cap) { return cap * sizeof(struct zl_entry); }

/* Queues an entry; 0 if the queue is full or no worker runs (the caller
 * then does the work itself). */
static int zl_push(void (*fn)(void *), void *arg, size_t bytes, size_t objects) {
    pthread_mutex_lock(&zl_lock);
    if (zl_nthreads == 0 || zl_stopping || zl_count == zl_cap) {
        pthread_mutex_unlock(&zl_lock);
        return 0;
    }
    struct zl_entry *e = &zl_queue[(zl_head + zl_count) % zl_cap];
    e->fn = fn;
    e->arg = arg;
    e->bytes = bytes;
    e->objects = objects;
    zl_count++;
    atomic_fetch_add_explicit(&zl_pending_bytes, bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&zl_pending_objects, objects, memory_order_relaxed);
    pthread_cond_signal(&zl_work);
    pthread_mutex_unlock(&zl_lock);
    return 1;
}

/* Work done on a worker: off the pending figures, onto lazyfreed. */
static void zl_done(size_t bytes, size_t objects) {
    atomic_fetch_sub_explicit(&zl_pending_bytes, bytes, memory_order_relaxed);
    atomic_fetch_sub_explicit(&zl_pending_objects, objects, memory_order_relaxed);
    atomic_fetch_add_explicit(&zl_freed_objects, objects, memory_order_relaxed);
}

static void *zl_worker(void *unused) {
    (void)unused;
    void *ptrs[ZL_TAKE];
    zl_on_worker = 1;
#if defined(SCHED_BATCH)
    /* Batch scheduling (Linux): a worker woken by a queued entry does not
     * preempt the thread that queued it on a busy CPU, which would otherwise
     * wait for the whole free (measured: a 10k-block job's queueing took as
     * long as the job). Best effort: nothing changes where it is refused. */
    struct sched_param sp = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
#endif
    pthread_mutex_lock(&zl_lock);
    for (;;) {
        while (zl_count == 0 && !zl_stopping) pthread_cond_wait(&zl_work, &zl_lock);
        if (zl_count == 0) break; /* stopping, and everything is done */
        struct zl_entry job = zl_queue[zl_head];
        size_t n = 0, bytes = 0;
        if (job.fn == NULL) {
            /* A run of consecutive blocks. */
            while (n < ZL_TAKE && n < zl_count && zl_queue[zl_head].fn == NULL) {
                ptrs[n++] = zl_queue[zl_head].arg;
                bytes += zl_queue[zl_head].bytes;
                zl_head = (zl_head + 1) % zl_cap;
            }
            zl_freeing++;
        } else {
            zl_head = (zl_head + 1) % zl_cap;
            n = 1;
        }
        zl_count -= n;
        zl_busy++;
        pthread_mutex_unlock(&zl_lock);
        if (job.fn == NULL) {
            zfree_batch(ptrs, n);
            zl_done(bytes, n);
        } else {
            job.fn(job.arg);
            zl_done(job.bytes, job.objects);
        }
        pthread_mutex_lock(&zl_lock);
        zl_busy--;
        if (job.fn == NULL) zl_freeing--;
        if ((zl_count == 0 && zl_busy == 0) || (job.fn == NULL && zl_freeing == 0))
            pthread_cond_broadcast(&zl_idle);
    }
    pthread_mutex_unlock(&zl_lock);
    return NULL;
}

/* ---- fork ------------------------------------------------------------------ */

/* Registered after the allocator's own handlers (zl_init allocates first),
 * so this runs before the allocator takes its locks: a worker in the middle
 * of a batch still gets the locks it needs to finish it. */
static void zl_prefork(void) {
    pthread_mutex_lock(&zl_lock);
    while (zl_freeing) pthread_cond_wait(&zl_idle, &zl_lock);
}

static void zl_postfork_parent(void) { pthread_mutex_unlock(&zl_lock); }

static void zl_cond_init(void) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&zl_work, &attr);
    pthread_cond_init(&zl_idle, &attr);
    pthread_condattr_destroy(&attr);
}

/* The forking thread is the only one: no worker, nothing queued. */
static void zl_postfork_child(void) {
    if (zl_queue != NULL) munmap(zl_queue, zl_map_bytes(zl_cap));
    zl_queue = NULL;
    zl_cap = zl_head = zl_count = 0;
    zl_nthreads = zl_busy = zl_freeing = 0;
    zl_stopping = 0;
    atomic_store_explicit(&zl_accepting, 0, memory_order_relaxed);
    atomic_store_explicit(&zl_pending_bytes, 0, memory_order_relaxed);
    atomic_store_explicit(&zl_pending_objects, 0, memory_order_relaxed);
    zl_cond_init(); /* their waiters are gone with their threads */
    pthread_mutex_unlock(&zl_lock);
}

static void zl_init(void) {
    zl_cond_init();
    /* The allocator registers its fork handlers when it starts: make sure it
     * has, so ours are registered after and run before them. */
    zfree(zmalloc(1));
    pthread_atfork(zl_prefork, zl_postfork_parent, zl_postfork_child);
}

/* ---- Start and stop -------------------------------------------------------- */

/* Joins the workers once zl_stopping is set; the caller holds no lock. */
static void zl_join_and_unmap(unsigned n) {
    for (unsigned i = 0; i < n; i++) pthread_join(zl_threads[i], NULL);
    pthread_mutex_lock(&zl_lock);
    munmap(zl_queue, zl_map_bytes(zl_cap));
    zl_queue = NULL;
    zl_cap = zl_head = 0;
    zl_nthreads = 0;
    zl_stopping = 0;
    pthread_mutex_unlock(&zl_lock);
}

int zmalloc_lazyfree_start(const struct zmalloc_lazyfree_config *cfg) {
    struct zmalloc_lazyfree_config c = ZMALLOC_LAZYFREE_CONFIG_DEFAULT;
    if (cfg != NULL) c = *cfg;
    if (c.threads == 0) c.threads = 1;
    if (c.queue_max == 0) c.queue_max = ZMALLOC_LAZYFREE_QUEUE_DEFAULT;
    if (c.threads > ZMALLOC_LAZYFREE_MAX_THREADS || c.queue_max > ZL_QUEUE_LIMIT || c.cpu < -1 ||
        c.cpu >= CPU_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
#if !defined(__GLIBC__)
    if (c.cpu >= 0) {
        errno = ENOTSUP;
        return -1;
    }
#endif
    pthread_once(&zl_once, zl_init);
    pthread_mutex_lock(&zl_lock);
    if (zl_nthreads != 0 || zl_stopping) {
        pthread_mutex_unlock(&zl_lock);
        errno = EBUSY;
        return -1;
    }
    void *q = mmap(NULL, zl_map_bytes(c.queue_max), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) {
        pthread_mutex_unlock(&zl_lock);
        errno = ENOMEM;
        return -1;
    }
    zl_queue = q;
    zl_cap = c.queue_max;
    zl_head = zl_count = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
#if defined(__GLIBC__)
    if (c.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(c.cpu, &set);
        pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    }
#endif
    unsigned made = 0;
    int rc = 0;
    while (made < c.threads && (rc = pthread_create(&zl_threads[made], &attr, zl_worker, NULL)) == 0)
        made++;
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        /* Those made leave at once: the queue is empty. */
        zl_stopping = 1;
        pthread_cond_broadcast(&zl_work);
        pthread_mutex_unlock(&zl_lock);
        zl_join_and_unmap(made);
        errno = rc;
        return -1;
    }
    zl_nthreads = made;
    atomic_store_explicit(&zl_accepting, 1, memory_order_relaxed);
    pthread_mutex_unlock(&zl_lock);
    return 0;
}

void zmalloc_lazyfree_stop(void) {
    if (zl_on_worker) return; /* a job cannot wait for itself */
    pthread_mutex_lock(&zl_lock);
    unsigned n = zl_nthreads;
    if (n == 0 || zl_stopping) {
        pthread_mutex_unlock(&zl_lock);
        return;
    }
    atomic_store_explicit(&zl_accepting, 0, memory_order_relaxed);
    zl_stopping = 1;
    pthread_cond_broadcast(&zl_work);
    pthread_mutex_unlock(&zl_lock);
    zl_join_and_unmap(n);
}

/* ---- Frees and jobs -------------------------------------------------------- */

void zfree_lazy(void *p) {
    if (p == NULL) return;
    if (atomic_load_explicit(&zl_accepting, memory_order_relaxed) && !zl_on_worker &&
        zl_push(NULL, p, zmalloc_size(p), 1))
        return;
    zfree(p);
}

void zmalloc_lazyfree_job(void (*fn)(void *arg), void *arg, size_t bytes_hint,
                          size_t objects_hint) {
    if (fn == NULL) return;
    if (atomic_load_explicit(&zl_accepting, memory_order_relaxed) && !zl_on_worker &&
        zl_push(fn, arg, bytes_hint, objects_hint))
        return;
    fn(arg);
}

int zmalloc_lazyfree_wait(long long timeout_us) {
    if (zl_on_worker) {
        errno = EDEADLK;
        return -1;
    }
    struct timespec deadline;
    if (timeout_us > 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        long long ns = deadline.tv_nsec + (timeout_us % 1000000) * 1000;
        deadline.tv_sec += (time_t)(timeout_us / 1000000 + ns / 1000000000);
        deadline.tv_nsec = (long)(ns % 1000000000);
    }
    int rc = 0;
    pthread_mutex_lock(&zl_lock);
    while (zl_count != 0 || zl_busy != 0) {
        if (timeout_us == 0) {
            rc = ETIMEDOUT;
            break;
        }
        if (timeout_us < 0)
            pthread_cond_wait(&zl_idle, &zl_lock);
        else if (pthread_cond_timedwait(&zl_idle, &zl_lock, &deadline) == ETIMEDOUT &&
                 (zl_count != 0 || zl_busy != 0)) {
            rc = ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&zl_lock);
    if (rc == 0) return 0;
    errno = rc;
    return -1;
}

/* ---- Figures ----------------------------------------------------------------- */

size_t zmalloc_lazyfree_pending_bytes(void) {
    return atomic_load_explicit(&zl_pending_bytes, memory_order_relaxed);
}

size_t zmalloc_lazyfree_pending_objects(void) {
    return atomic_load_explicit(&zl_pending_objects, memory_order_relaxed);
}

size_t zmalloc_lazyfreed_objects(void) {
    return atomic_load_explicit(&zl_freed_objects, memory_order_relaxed);
}

size_t zmalloc_used_memory_not_pending(void) {
    size_t pending = zmalloc_lazyfree_pending_bytes(), used = zmalloc_used_memory();
    return used > pending ? used - pending : 0;
}
