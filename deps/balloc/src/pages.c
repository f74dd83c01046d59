#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pages.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static long pages_fail_budget = -1;  /* < 0: never fail */

static bool pages_should_fail(void) {
    long b = __atomic_load_n(&pages_fail_budget, __ATOMIC_RELAXED);
    if (b < 0)
        return false;
    if (b == 0)
        return true;
    __atomic_fetch_sub(&pages_fail_budget, 1, __ATOMIC_RELAXED);
    return false;
}

void pages_fail_after(long n) { __atomic_store_n(&pages_fail_budget, n, __ATOMIC_RELAXED); }

size_t pages_os_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

void *pages_map(size_t size) {
    if (pages_should_fail())
        return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *pages_map_aligned(size_t size, size_t align) {
    if (align <= PAGE_SIZE_B)
        return pages_map(size);
    if (size + align < size)
        return NULL;
    /* Try the exact size first: the kernel often hands out aligned space
     * next to the previous mapping. Otherwise over-map and trim. */
    void *p = pages_map(size);
    if (p == NULL)
        return NULL;
    if (((uintptr_t)p & (align - 1)) == 0)
        return p;
    pages_unmap(p, size);
    char *raw = pages_map(size + align);
    if (raw == NULL)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t lead = a - (uintptr_t)raw, trail = align - lead;
    if (lead)
        munmap(raw, lead);
    if (trail)
        munmap((char *)a + size, trail);
    return (void *)a;
}

void pages_unmap(void *p, size_t size) { munmap(p, size); }

bool pages_purge(void *p, size_t size) { return madvise(p, size, MADV_DONTNEED) != 0; }

bool pages_purge_lazy(void *p, size_t size) {
#ifdef MADV_FREE
    return madvise(p, size, MADV_FREE) != 0;
#else
    (void)p;
    (void)size;
    return true;
#endif
}

uint64_t pages_clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool pages_resize_inplace(void *p, size_t old_size, size_t new_size) {
    if (new_size < old_size) {
        munmap((char *)p + new_size, old_size - new_size);
        return false;
    }
    if (pages_should_fail())
        return true;
    void *q = mremap(p, old_size, new_size, 0);
    return q == MAP_FAILED;
}

bool pages_move(void *p, size_t old_size, void *target, size_t new_size) {
    if (pages_should_fail())
        return true;
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    return q != target;
}

bool pages_guard(void *p, size_t size) {
    if (pages_should_fail())
        return true;
    return mprotect(p, size, PROT_NONE) != 0;
}

bool pages_unguard(void *p, size_t size) { return mprotect(p, size, PROT_READ | PROT_WRITE) != 0; }

bool pages_entropy(void *buf, size_t len) {
    unsigned char *b = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(b + got, len - got, GRND_NONBLOCK);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == len)
        return true;
    /* No entropy yet (early boot): mix the clock with addresses, which ASLR
     * varies per process. */
    uint64_t x = pages_clock_ns() ^ (uint64_t)(uintptr_t)buf ^ ((uint64_t)(uintptr_t)&pages_entropy << 17);
    for (size_t i = got; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (unsigned char)(x >> 56);
    }
    return false;
}
