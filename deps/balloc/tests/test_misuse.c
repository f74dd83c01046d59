/* Runs each misuse program and checks that it died of the signal it
 * announced, with exactly the line it announced on stderr (misuse/misuse.h);
 * then every program again with heap profiling sampling every allocation
 * (BALLOC_CONF=prof:true,prof_sample_bytes:1).
 * The programs are the files in tests/misuse/ (MISUSE_SRC_DIR, given by the
 * Makefile): adding a file adds a case. Each is built next to this program
 * in misuse/; a program that is missing, announces nothing or does not die
 * as announced fails. A program that does not apply to this build says
 * "skip" and is not counted. */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef MISUSE_SRC_DIR
#error "build with -DMISUSE_SRC_DIR=\"<the tests/misuse directory>\""
#endif

static size_t read_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fd);
    return n;
}

static void run_case(const char *dir, const char *name, const char *label) {
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
    if (strncmp(said, "skip", 4) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("skip - %s: %s", label, said);
        return;
    }
    harness_test_start();
    int died = WIFSIGNALED(status) && WTERMSIG(status) == sig;
    int same = strcmp(got, expect) == 0;
    CHECK(died);
    CHECK(same);
    if (sig == -1)
        printf("    announced no signal (tests/misuse/misuse.h)\n");
    if (!died || !same)
        printf("    status %d (expected signal %d), stderr \"%s\", expected \"%s\"\n", status, sig,
               got, expect);
    harness_test_end(label);
}

/* The case names: tests/misuse/NAME.c, sorted. */
static int is_case(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 2 && strcmp(e->d_name + n - 2, ".c") == 0;
}

int main(int argc, char **argv) {
    char self[PATH_MAX];
    (void)argc;
    snprintf(self, sizeof(self), "%s", argv[0]);
    const char *dir = dirname(self);
    struct dirent **list;
    int n = scandir(MISUSE_SRC_DIR, &list, is_case, alphasort);
    CHECK(n > 0);
    for (int i = 0; i < n; i++)
        list[i]->d_name[strlen(list[i]->d_name) - 2] = 0;
    /* Every case twice: as built, then with heap profiling sampling every
     * allocation, which must not change what is caught or how. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            setenv("BALLOC_CONF", "prof:true,prof_sample_bytes:1", 1);
        for (int i = 0; i < n; i++) {
            char label[300];
            snprintf(label, sizeof(label), "%s%s", list[i]->d_name, pass ? " (profiling on)" : "");
            if (harness_selected(list[i]->d_name))
                run_case(dir, list[i]->d_name, label);
        }
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    if (n > 0)
        free(list);
    return harness_done();
}
