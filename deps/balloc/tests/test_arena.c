/* Arena choice: a new thread binds to the arena with the fewest bound
 * threads (lowest index among equals) and unbinds at exit, so threads that
 * come and go keep reusing the same arena. BALLOC_NARENAS sets the count. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloc.h"
#include "harness.h"
#include "tcache.h"

#define NARENAS 4

struct seen {
    pthread_barrier_t *bar;  /* NULL: do not wait */
    int tls_arena, block_arena;
};

static void *bind_and_report(void *arg) {
    struct seen *s = arg;
    void *p = balloc_malloc(48);
    s->block_arena = (int)arena_of_ptr(p)->index;
    s->tls_arena = tcache_tls.arena ? (int)tcache_tls.arena->index : -1;
    if (s->bar)
        pthread_barrier_wait(s->bar);  /* all bound before any exits */
    balloc_free(p);
    return NULL;
}

static int run_one_thread(void) {
    struct seen s = {NULL, -1, -1};
    pthread_t t;
    pthread_create(&t, NULL, bind_and_report, &s);
    pthread_join(t, NULL);
    return s.tls_arena == s.block_arena ? s.tls_arena : -2;
}

TEST(narenas_from_environment) {
    struct balloc_stats st;
    balloc_get_stats(&st);
    CHECK_EQ(st.narenas, NARENAS);
    CHECK_EQ(tcache_tls.arena->index, 0);  /* main thread came first */
}

TEST(sequential_threads_reuse_one_arena) {
    for (int i = 0; i < 20; i++)
        CHECK_EQ(run_one_thread(), 1);  /* arena 0 has main, arena 1 none */
}

TEST(concurrent_threads_spread) {
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, NARENAS);
    struct seen s[NARENAS];
    pthread_t t[NARENAS];
    for (int i = 0; i < NARENAS; i++) {
        s[i] = (struct seen){&bar, -1, -1};
        pthread_create(&t[i], NULL, bind_and_report, &s[i]);
    }
    for (int i = 0; i < NARENAS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    /* Arenas 1..3 get one thread each, then arena 0 (main + one) ties with
     * them and wins on index: every arena is used exactly once. */
    int count[NARENAS] = {0};
    for (int i = 0; i < NARENAS; i++) {
        CHECK_EQ(s[i].tls_arena, s[i].block_arena);
        if (s[i].tls_arena >= 0 && s[i].tls_arena < NARENAS)
            count[s[i].tls_arena]++;
    }
    for (int i = 0; i < NARENAS; i++)
        CHECK_EQ(count[i], 1);
    /* All exited and unbound: the next thread goes back to arena 1. */
    CHECK_EQ(run_one_thread(), 1);
}

TEST(more_threads_than_arenas_share_evenly) {
    enum { N = 3 * NARENAS };
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, N);
    struct seen s[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        s[i] = (struct seen){&bar, -1, -1};
        pthread_create(&t[i], NULL, bind_and_report, &s[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    int count[NARENAS] = {0};
    for (int i = 0; i < N; i++)
        if (s[i].tls_arena >= 0 && s[i].tls_arena < NARENAS)
            count[s[i].tls_arena]++;
    /* 13 threads with main: arena 0 gets 3 workers, the others 3 each. */
    for (int i = 0; i < NARENAS; i++)
        CHECK_EQ(count[i], 3);
    CHECK_EQ(run_one_thread(), 1);
}

TEST(fork_child_counts_only_itself) {
    pid_t pid = fork();
    if (pid == 0)
        _exit(run_one_thread() == 1 && run_one_thread() == 1 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
    setenv("BALLOC_NARENAS", "4", 1);  /* read at start-up, before this */
    balloc_free(balloc_malloc(16));
    RUN(narenas_from_environment);
    RUN(sequential_threads_reuse_one_arena);
    RUN(concurrent_threads_spread);
    RUN(more_threads_than_arenas_share_evenly);
    RUN(fork_child_counts_only_itself);
    return harness_done();
}
