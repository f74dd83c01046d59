#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "background.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "arena.h"
#include "decay.h"
#include "huge.h"
#include "lockrank.h"

int background_start_pending;

/* Invariants (under bg_lock): bg_running iff a thread was created and has
 * not been told to stop; bg_idle iff it sleeps with no deadline; bg_wanted is
 * the option's value. bg_lock's place in the lock order: lockrank.h (frees
 * wake the thread under an arena lock; the thread takes arena locks only
 * after releasing it). */
static pthread_mutex_t bg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bg_cond;
static int bg_cond_ready, bg_wanted, bg_running, bg_stop, bg_idle, bg_pending;
static pthread_t bg_thread;

static void bg_wake(void) {
    lockrank_lock(&bg_lock, LOCKRANK_BACKGROUND);
    bg_pending = 1;
    pthread_cond_signal(&bg_cond);
    lockrank_unlock(&bg_lock, LOCKRANK_BACKGROUND);
}

/* Called by frees under an arena lock: only signal, and only when useful. */
static void bg_wake_hook(void) {
    if (__atomic_load_n(&bg_idle, __ATOMIC_RELAXED) || __atomic_load_n(&bg_running, __ATOMIC_RELAXED))
        bg_wake();
}

static void bg_cond_init(void) {
    pthread_condattr_t at;
    pthread_condattr_init(&at);
    pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
    pthread_cond_init(&bg_cond, &at);
    pthread_condattr_destroy(&at);
    bg_cond_ready = 1;
}

static void *bg_main(void *arg) {
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    lockrank_lock(&bg_lock, LOCKRANK_BACKGROUND);
    while (!bg_stop) {
        bg_pending = 0;
        lockrank_unlock(&bg_lock, LOCKRANK_BACKGROUND);
        uint64_t now = pages_clock_ns();
        uint64_t next = arena_decay_all(now), hnext = huge_decay(now);
        if (hnext < next)
            next = hnext;
        lockrank_lock(&bg_lock, LOCKRANK_BACKGROUND);
        if (bg_stop || bg_pending)
            continue;
        if (next == DECAY_NEVER) {
            __atomic_store_n(&bg_idle, 1, __ATOMIC_RELAXED);
            pthread_cond_wait(&bg_cond, &bg_lock);
            __atomic_store_n(&bg_idle, 0, __ATOMIC_RELAXED);
        } else if (next > now) {
            struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
            int rc;
            do
                rc = pthread_cond_timedwait(&bg_cond, &bg_lock, &ts);
            while (rc == 0 && !bg_stop && !bg_pending);
        }
    }
    lockrank_unlock(&bg_lock, LOCKRANK_BACKGROUND);
    return NULL;
}

void background_start(void) {
    lockrank_lock(&bg_lock, LOCKRANK_BACKGROUND);
    if (!bg_cond_ready)
        bg_cond_init();
    if (bg_wanted && !bg_running) {
        bg_stop = 0;
        /* Creating the thread may allocate, under LD_PRELOAD from balloc,
         * taking arena and base locks under bg_lock against the lock order.
         * A free takes bg_lock (bg_wake_hook) only while a thread runs or
         * sleeps idle; while one is being created none does, unless a
         * thread background_enable has just stopped has not yet left its
         * idle wait (then such a free waits for bg_lock, and the creation
         * may wait for that free's arena lock). background_start_pending
         * is cleared first so the nested allocation does not come back
         * here. */
        __atomic_store_n(&background_start_pending, 0, __ATOMIC_RELAXED);
        if (pthread_create(&bg_thread, NULL, bg_main, NULL) == 0) {
            bg_running = 1;
            __atomic_store_n(&decay_wake_hook, bg_wake_hook, __ATOMIC_RELEASE);
            __atomic_store_n(&decay_background, 1, __ATOMIC_RELAXED);
        }
    }
    lockrank_unlock(&bg_lock, LOCKRANK_BACKGROUND);
}

void background_boot(bool on) {
    bg_wanted = on;
    __atomic_store_n(&background_start_pending, on, __ATOMIC_RELAXED);
}

bool background_enable(bool on) {
    lockrank_lock(&bg_lock, LOCKRANK_BACKGROUND);
    bg_wanted = on;
    bool stop = !on && bg_running;
    if (stop) {
        bg_stop = 1;
        bg_running = 0;
        __atomic_store_n(&decay_background, 0, __ATOMIC_RELAXED);
        pthread_cond_signal(&bg_cond);
    }
    lockrank_unlock(&bg_lock, LOCKRANK_BACKGROUND);
    if (stop)
        pthread_join(bg_thread, NULL);
    if (on)
        background_start();
    return on && !__atomic_load_n(&bg_running, __ATOMIC_RELAXED);
}

bool background_enabled(void) { return __atomic_load_n(&bg_running, __ATOMIC_RELAXED) != 0; }

void background_prefork(void) { lockrank_lock(&bg_lock, LOCKRANK_BACKGROUND); }
void background_postfork_parent(void) { lockrank_unlock(&bg_lock, LOCKRANK_BACKGROUND); }

void background_postfork_child(void) {
    /* The thread is not in the child: start a new one on a later slow path. */
    lockrank_reinit(&bg_lock, LOCKRANK_BACKGROUND);
    if (bg_cond_ready)
        bg_cond_init();
    bg_running = bg_stop = bg_idle = bg_pending = 0;
    __atomic_store_n(&decay_background, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&background_start_pending, bg_wanted, __ATOMIC_RELAXED);
}
