/* One misuse per program. Before committing it, a program prints on stdout
 * the signal it must die of and the exact line balloc must write on stderr
 * (tests/test_misuse.c runs each program and compares). */
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

#endif
