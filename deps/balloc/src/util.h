/* util — fatal misuse reports without stdio (safe inside malloc). */
#ifndef BALLOC_UTIL_H
#define BALLOC_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define BALLOC_LIKELY(x) __builtin_expect(!!(x), 1)
#define BALLOC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define BALLOC_COLD __attribute__((noinline, cold))

/* Writes "balloc: <what> of 0x<hex p>\n" to stderr and aborts. */
__attribute__((noreturn, noinline, cold, unused)) static void util_fatal_ptr(const char *what, const void *p) {
    char buf[128];
    size_t n = 0;
    const char *pre = "balloc: ";
    while (*pre)
        buf[n++] = *pre++;
    while (*what && n < 80)
        buf[n++] = *what++;
    const char *of = " of 0x";
    while (*of)
        buf[n++] = *of++;
    uintptr_t v = (uintptr_t)p;
    char hex[16];
    int k = 0;
    do {
        hex[k++] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    } while (v);
    while (k)
        buf[n++] = hex[--k];
    buf[n++] = '\n';
    ssize_t w = write(2, buf, n);
    (void)w;
    abort();
}

#endif
