/* fork() from a multi-threaded parent whose threads allocate all the time:
 * the child must be able to allocate (arena locks reinitialised). */
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloc.h"
#include "harness.h"

static volatile int stop;

static void *busy(void *arg) {
    (void)arg;
    void *k[64] = {0};
    unsigned i = 0;
    while (!stop) {
        unsigned j = i++ % 64;
        balloc_free(k[j]);
        k[j] = balloc_malloc(16 + (i * 131) % 50000);
        if (i % 1000 == 0)
            balloc_free(balloc_malloc(5u << 20));
    }
    for (int j = 0; j < 64; j++)
        balloc_free(k[j]);
    return NULL;
}

TEST(fork_while_threads_allocate) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, busy, NULL);
    int ok = 0;
    for (int f = 0; f < 40; f++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int i = 0; i < 20000; i++) {
                char *p = balloc_malloc((size_t)(i % 70000) + 1);
                if (p == NULL)
                    _exit(2);
                memset(p, 1, (size_t)(i % 70000) + 1);
                balloc_free(p);
            }
            struct balloc_stats st;
            _exit(balloc_get_stats(&st) == 0 ? 0 : 3);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(ok, 40);
}

int main(void) {
    RUN(fork_while_threads_allocate);
    return harness_done();
}
