/* The test harness of balloc's tests and of zmalloc's (which include it from
 * here). A test is a function run by RUN; it passes when no check inside it
 * failed. The closing line, "N passed, N failed", counts tests; the checks
 * made outside any test (in main) count as one test more. Checks report the
 * file, line and both values (the first 20 failures of a test).
 *
 *   TEST(name) { CHECK(...); CHECK_EQ(a, b); CHECK_STR(a, b); }
 *   int main(void) { TH_BEGIN("suite"); RUN(name); TH_END(); }
 *
 * TH_BEGIN prints the suite's name; TH_END() is `return harness_done();`.
 * With TEST_FILTER set, only the tests whose names contain it run.
 * harness_pass and harness_fail count checks: a test fails when harness_fail
 * grew while it ran (a test that runs checks in a child process adds the
 * child's counts to them). tests/run.sh adds up the closing lines of many
 * programs. */
#ifndef BALLOC_HARNESS_H
#define BALLOC_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long harness_pass, harness_fail;     /* checks */
static long harness_tests_passed, harness_tests_failed;
/* Checks already laid to a test or to the outside, and those outside. */
static long harness_pass_seen, harness_fail_seen;
static long harness_pass_outside, harness_fail_outside;

/* Whether a failed check prints its line: the first 20 failures of a test. */
static inline int harness_reporting(void) {
    return harness_fail - harness_fail_seen <= 20;
}

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            harness_pass++;                                                            \
        } else {                                                                       \
            harness_fail++;                                                            \
            if (harness_reporting())                                                   \
                printf("    FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
        }                                                                              \
    } while (0)

#define CHECK_EQ(a, b)                                                                 \
    do {                                                                               \
        unsigned long long ha_ = (unsigned long long)(a), hb_ = (unsigned long long)(b); \
        if (ha_ == hb_) {                                                              \
            harness_pass++;                                                            \
        } else {                                                                       \
            harness_fail++;                                                            \
            if (harness_reporting())                                                   \
                printf("    FAIL %s:%d: %s == %s (%llu != %llu)\n", __FILE__, __LINE__, #a, \
                       #b, ha_, hb_);                                                  \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *ha_ = (a), *hb_ = (b);                                             \
        if (strcmp(ha_, hb_) == 0) {                                                   \
            harness_pass++;                                                            \
        } else {                                                                       \
            harness_fail++;                                                            \
            if (harness_reporting())                                                   \
                printf("    FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n", __FILE__, __LINE__, \
                       #a, #b, ha_, hb_);                                              \
        }                                                                              \
    } while (0)

#define TEST(name) static void name(void)

/* A test run by hand (RUN does this): if harness_selected(name) {
 * harness_test_start(); ...checks...; harness_test_end(name); } */
static inline int harness_selected(const char *name) {
    const char *filter = getenv("TEST_FILTER");
    return !filter || strstr(name, filter) != NULL;
}

/* The checks since the last test are outside any. */
static inline void harness_lay_outside(void) {
    harness_pass_outside += harness_pass - harness_pass_seen;
    harness_fail_outside += harness_fail - harness_fail_seen;
    harness_pass_seen = harness_pass;
    harness_fail_seen = harness_fail;
}

static inline void harness_test_start(void) {
    harness_lay_outside();
}

static inline void harness_test_end(const char *name) {
    if (harness_fail == harness_fail_seen) {
        harness_tests_passed++;
        printf("ok - %s\n", name);
    } else {
        harness_tests_failed++;
        printf("not ok - %s\n", name);
    }
    harness_pass_seen = harness_pass;
    harness_fail_seen = harness_fail;
    fflush(stdout);
}

#define RUN(name)                                                                      \
    do {                                                                               \
        if (harness_selected(#name)) {                                                 \
            harness_test_start();                                                      \
            name();                                                                    \
            harness_test_end(#name);                                                   \
        }                                                                              \
    } while (0)

static inline int harness_done(void) {
    harness_lay_outside();
    if (harness_fail_outside) {
        harness_tests_failed++;
        printf("not ok - checks outside a test\n");
    } else if (harness_pass_outside) {
        harness_tests_passed++;
        printf("ok - checks outside a test\n");
    }
    printf("%ld passed, %ld failed\n", harness_tests_passed, harness_tests_failed);
    fflush(stdout);
    return harness_tests_failed ? 1 : 0;
}

#define TH_BEGIN(suite) printf("# %s\n", suite)
#define TH_END() return harness_done()

#endif
