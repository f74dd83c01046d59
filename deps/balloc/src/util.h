/* util — what every layer may use: branch hints, fatal reports written
 * without stdio (safe inside malloc), and a small xorshift generator. */
#ifndef BALLOC_UTIL_H
#define BALLOC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define BALLOC_LIKELY(x) __builtin_expect(!!(x), 1)
#define BALLOC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define BALLOC_COLD __attribute__((noinline, cold))

/* A fatal report is built in a fixed buffer: UTIL_MSG_MAX bytes, the last
 * kept for the newline; text past that is cut. */
#define UTIL_MSG_MAX 128

static inline size_t util_msg_put(char *buf, size_t n, const char *s) {
    while (*s && n < UTIL_MSG_MAX - 1)
        buf[n++] = *s++;
    return n;
}

/* v in the given base (10 or 16, lower-case digits). */
static inline size_t util_msg_num(char *buf, size_t n, uintptr_t v, unsigned base) {
    char digits[2 * sizeof(v) * 2];
    int k = 0;
    do {
        digits[k++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (k && n < UTIL_MSG_MAX - 1)
        buf[n++] = digits[--k];
    return n;
}

/* Writes buf[0, n) and a newline to stderr and aborts. */
__attribute__((noreturn, noinline, cold, unused)) static void util_msg_die(char *buf, size_t n) {
    buf[n++] = '\n';
    ssize_t w = write(2, buf, n);
    (void)w;
    abort();
}

/* Writes "balloc: <what> of 0x<hex p>\n" to stderr and aborts. */
__attribute__((noreturn, noinline, cold, unused)) static void util_fatal_ptr(const char *what, const void *p) {
    char buf[UTIL_MSG_MAX];
    size_t n = util_msg_put(buf, 0, "balloc: ");
    n = util_msg_put(buf, n, what);
    n = util_msg_put(buf, n, " of 0x");
    n = util_msg_num(buf, n, (uintptr_t)p, 16);
    util_msg_die(buf, n);
}

/* A step of xorshift64 (13, 7, 17); the state must not be 0. */
static inline uint64_t util_xorshift64(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

#endif
