/* A minimal test harness: CHECK counts, prints the first failures, and
 * harness_done() prints "N passed, N failed" and returns the exit code. */
#ifndef BALLOC_HARNESS_H
#define BALLOC_HARNESS_H

#include <stdio.h>

static long harness_pass, harness_fail;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            harness_pass++;                                                            \
        } else {                                                                       \
            if (harness_fail++ < 20)                                                   \
                printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
        }                                                                              \
    } while (0)

#define CHECK_EQ(a, b)                                                                 \
    do {                                                                               \
        unsigned long long ha_ = (unsigned long long)(a), hb_ = (unsigned long long)(b); \
        if (ha_ == hb_) {                                                              \
            harness_pass++;                                                            \
        } else {                                                                       \
            if (harness_fail++ < 20)                                                   \
                printf("FAIL %s:%d: %s == %s (%llu != %llu)\n", __FILE__, __LINE__, #a, \
                       #b, ha_, hb_);                                                  \
        }                                                                              \
    } while (0)

#define TEST(name) static void name(void)
#define RUN(name)                                                                      \
    do {                                                                               \
        long f0_ = harness_fail;                                                       \
        name();                                                                        \
        printf("%s %s\n", harness_fail == f0_ ? "ok  " : "FAIL", #name);               \
        fflush(stdout);                                                                \
    } while (0)

static inline int harness_done(void) {
    printf("%ld passed, %ld failed\n", harness_pass, harness_fail);
    fflush(stdout);
    return harness_fail ? 1 : 0;
}

#endif
