/* tests/harness.h -- the test harness: CHECK macros, a runner, and the
 * closing "N passed, N failed" line. A test is a function; it passes when no
 * check inside it failed. Checks report the file, line and both values. */
#ifndef ZMALLOC_TEST_HARNESS_H
#define ZMALLOC_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_passed, th_failed, th_current_failed;
static const char *th_filter;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            th_current_failed++;                                                         \
            printf("    FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
        }                                                                                \
    } while (0)

#define CHECK_EQ(a, b)                                                                   \
    do {                                                                                 \
        unsigned long long th_a = (unsigned long long)(a), th_b = (unsigned long long)(b); \
        if (th_a != th_b) {                                                              \
            th_current_failed++;                                                         \
            printf("    FAIL %s:%d: %s == %s (%llu != %llu)\n", __FILE__, __LINE__, #a, #b, \
                   th_a, th_b);                                                          \
        }                                                                                \
    } while (0)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *th_a = (a), *th_b = (b);                                             \
        if (strcmp(th_a, th_b) != 0) {                                                   \
            th_current_failed++;                                                         \
            printf("    FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n", __FILE__, __LINE__, #a, \
                   #b, th_a, th_b);                                                      \
        }                                                                                \
    } while (0)

/* Run one test function; with TEST_FILTER set, only names containing it. */
#define RUN(fn)                                                                          \
    do {                                                                                 \
        if (th_filter && !strstr(#fn, th_filter)) break;                                 \
        th_current_failed = 0;                                                           \
        fn();                                                                            \
        if (th_current_failed) {                                                         \
            th_failed++;                                                                 \
            printf("not ok - %s\n", #fn);                                                \
        } else {                                                                         \
            th_passed++;                                                                 \
            printf("ok - %s\n", #fn);                                                    \
        }                                                                                \
        fflush(stdout);                                                                  \
    } while (0)

#define TH_BEGIN(suite)                                                                  \
    do {                                                                                 \
        th_filter = getenv("TEST_FILTER");                                               \
        printf("# %s\n", suite);                                                         \
    } while (0)

#define TH_END()                                                                         \
    do {                                                                                 \
        printf("%d passed, %d failed\n", th_passed, th_failed);                          \
        return th_failed ? 1 : 0;                                                        \
    } while (0)

#endif
