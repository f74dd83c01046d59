/* Prints which slab balloc refills from: "fullest" or "lowest" (or
 * "unknown" if the heap did not look as planned, "not-balloc" if malloc is
 * not balloc's). Run under LD_PRELOAD with and without
 * BALLOC_SLAB_POLICY=lowest; calls only the C library names, plus
 * balloc_thread_flush found at run time.
 *
 * Two slabs of the 448-byte class (64 regions each) are filled; 20 regions
 * of the lower one (A) and 17 of the higher one (B) are freed. The next
 * refill (16 blocks) comes from B if the fullest slab goes first, from A if
 * the lowest does. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CLS 448
#define NREGS 64

static int by_addr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return (x > y) - (x < y);
}

int main(void) {
    void (*flush)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "balloc_thread_flush");
    if (flush == NULL) {
        puts("not-balloc");
        return 0;
    }
    static void *p[2 * NREGS];
    for (int i = 0; i < 2 * NREGS; i++)
        p[i] = malloc(CLS);
    qsort(p, 2 * NREGS, sizeof(p[0]), by_addr);
    char *a = p[0], *b = p[NREGS];
    if (((uintptr_t)a & 4095) || ((uintptr_t)b & 4095) || (char *)p[NREGS - 1] + CLS != b ||
        (char *)p[2 * NREGS - 1] != b + (NREGS - 1) * CLS) {
        puts("unknown");
        return 0;
    }
    for (int i = 0; i < 20; i++)
        free(p[i]);
    for (int i = 0; i < 17; i++)
        free(p[NREGS + i]);
    flush();
    char *q = malloc(CLS);
    if (q >= a && q < a + NREGS * CLS)
        puts("lowest");
    else if (q >= b && q < b + NREGS * CLS)
        puts("fullest");
    else
        puts("unknown");
    return 0;
}
