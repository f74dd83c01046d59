/* Misuse stops the program: each case runs in a child, which must die of
 * SIGABRT with the exact message on stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloc.h"
#include "harness.h"

static char expect[128];

static void run_case(const char *name, void (*fn)(void)) {
    int fds[2];
    if (pipe(fds) != 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);  /* not reached if the misuse is caught */
    }
    close(fds[1]);
    char got[256] = {0};
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(got) - 1 && (r = read(fds[0], got + n, sizeof(got) - 1 - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int died = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    int same = strcmp(got, expect) == 0;
    CHECK(died);
    CHECK(same);
    if (!died || !same)
        printf("case %s: status %d, stderr \"%s\", expected \"%s\"\n", name, status, got, expect);
}

/* The expected message is computed in the parent from a pointer the child
 * will see at the same address (fork copies the address space). */
static char *victim;
static int local_var;

static void free_stack(void) { balloc_free(&local_var); }
static void free_interior(void) { balloc_free(victim + 16); }
static void free_interior_large(void) { balloc_free(victim + 4096); }
static void free_libc(void) { balloc_free(victim); }
static void double_free_small(void) {
    balloc_free(victim);
    balloc_thread_flush();
    balloc_free(victim);
    balloc_thread_flush();
}
static void double_free_cached(void) {
    balloc_free(victim);
    balloc_free(victim);
    balloc_thread_flush();
}
static void double_free_sized(void) {
    balloc_free_sized(victim, 300);
    balloc_thread_flush();
    balloc_free_sized(victim, 300);
    balloc_thread_flush();
}
static void free_huge_interior(void) { balloc_free(victim + 8192); }

static void set_expect(const char *what, const void *p) {
    snprintf(expect, sizeof(expect), "balloc: %s of %p\n", what, p);
}

int main(void) {
    set_expect("invalid free", &local_var);
    run_case("stack pointer", free_stack);

    victim = balloc_malloc(100);
    set_expect("invalid free", victim + 16);
    run_case("interior small", free_interior);

    char *keep = victim;
    victim = balloc_malloc(100000);
    set_expect("invalid free", victim + 4096);
    run_case("interior large", free_interior_large);
    balloc_free(victim);

    victim = malloc(64);  /* the C library's */
    set_expect("invalid free", victim);
    run_case("foreign heap", free_libc);
    free(victim);

    victim = keep;
    set_expect("double free", victim);
    run_case("double free after flush", double_free_small);
    run_case("double free in cache", double_free_cached);

    victim = balloc_malloc(300);
    set_expect("double free", victim);
    run_case("double free sized", double_free_sized);

    victim = balloc_malloc(6u << 20);
    set_expect("invalid free", victim + 8192);
    run_case("interior huge", free_huge_interior);
    return harness_done();
}
