/* Runs each misuse program (the files in tests/misuse/, built next to this one in
 * misuse/) and checks that it died of the signal it announced, with exactly
 * the line it announced on stderr. The hardened build's programs run only
 * in that build. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static const char *const cases[] = {
    "double_free_small",      "double_free_flushed",   "double_free_other_thread",
    "double_free_large",      "double_free_large_cached", "double_free_huge",
    "double_free_sized",      "invalid_free_stack",    "invalid_free_libc",
    "interior_free_small",    "interior_free_large",   "interior_free_huge",
    "sized_free_wrong_small", "sized_free_wrong_large", "realloc_after_free",
    "realloc_after_free_flushed", "realloc_after_free_large", "double_free_defrag",
    "double_free_defrag_cached", "lock_order",            "lock_order_arenas",
#if BALLOC_SECURE
    "secure_canary",          "secure_guard_large",    "secure_guard_huge",
#endif
};

static size_t read_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fd);
    return n;
}

static void run_case(const char *dir, const char *name) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/misuse/%s", dir, name);
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) {
        CHECK(0);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        execl(path, name, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    char said[512], got[512];
    read_all(out[0], said, sizeof(said));
    read_all(err[0], got, sizeof(got));
    int status = 0;
    waitpid(pid, &status, 0);
    int sig = -1;
    const char *expect = "";
    if (sscanf(said, "signal %d", &sig) == 1 && strchr(said, '\n'))
        expect = strchr(said, '\n') + 1;
    int died = WIFSIGNALED(status) && WTERMSIG(status) == sig;
    int same = strcmp(got, expect) == 0;
    CHECK(died);
    CHECK(same);
    printf("%s %s\n", died && same ? "ok  " : "FAIL", name);
    if (!died || !same)
        printf("  status %d (expected signal %d), stderr \"%s\", expected \"%s\"\n", status, sig,
               got, expect);
}

int main(int argc, char **argv) {
    char self[PATH_MAX];
    (void)argc;
    snprintf(self, sizeof(self), "%s", argv[0]);
    const char *dir = dirname(self);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(dir, cases[i]);
    return harness_done();
}
