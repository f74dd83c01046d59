/* One misuse per program. Before committing it, a program prints on stdout
 * the signal it must die of and the exact line balloc must write on stderr
 * (tests/test_misuse.c runs every program of this directory and compares;
 * one that announces nothing fails). */
#ifndef BALLOC_MISUSE_H
#define BALLOC_MISUSE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "balloc.h"

/* Dies of SIGABRT after "balloc: <what> of <p>". */
static inline void misuse_expect(const char *what, const void *p) {
    printf("signal %d\nballoc: %s of %p\n", SIGABRT, what, p);
    fflush(stdout);
}

/* Dies of sig with nothing on stderr (a guard page). */
static inline void misuse_expect_signal(int sig) {
    printf("signal %d\n", sig);
    fflush(stdout);
}

/* A case of the hardened build only: in any other build the program says
 * "skip" and exits before the misuse. */
static inline void misuse_hardened_only(void) {
#if !defined(BALLOC_SECURE) || !BALLOC_SECURE
    printf("skip: hardened build only\n");
    exit(0);
#endif
}

#endif
