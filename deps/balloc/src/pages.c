#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* ---- fault injection ----------------------------------------------------
 *
 * inject_mode is the only thing a call reads when nothing is injected. The
 * other fields are written before inject_mode is released and read after it
 * is acquired; they are atomics so a re-arming test and a background thread
 * never race in the C sense. */
enum { INJECT_OFF = 0, INJECT_COUNT, INJECT_NTH, INJECT_FROM_NTH, INJECT_RANDOM };
static int inject_mode;
static unsigned inject_ops;
static uint64_t inject_n;      /* NTH, FROM_NTH: the failing call's number; RANDOM: k */
static uint64_t inject_seed;
static uint64_t inject_seq;    /* calls of the kinds in inject_ops since armed */
static uint64_t inject_calls[PAGES_NOPS], inject_failed[PAGES_NOPS];

/* What the kernel says for each kind when it runs out (see pages.h). */
static const int inject_errno[PAGES_NOPS] = {ENOMEM, ENOMEM, EAGAIN, EAGAIN, ENOMEM, ENOMEM};

static size_t pages_leaked_bytes;

/* splitmix64's finalizer: call i of seed s fails on bits of mix(s + i * golden),
 * so the choice needs no shared generator state between threads. */
static uint64_t inject_mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static BALLOC_COLD bool inject_slow(unsigned op) {
    int mode = __atomic_load_n(&inject_mode, __ATOMIC_ACQUIRE);
    if (mode == INJECT_OFF)
        return false;
    __atomic_fetch_add(&inject_calls[op], 1, __ATOMIC_RELAXED);
    if (!(__atomic_load_n(&inject_ops, __ATOMIC_RELAXED) & (1u << op)))
        return false;
    uint64_t seq = __atomic_add_fetch(&inject_seq, 1, __ATOMIC_RELAXED);
    uint64_t n = __atomic_load_n(&inject_n, __ATOMIC_RELAXED);
    bool fail;
    if (mode == INJECT_NTH)
        fail = seq == n;
    else if (mode == INJECT_FROM_NTH)
        fail = seq >= n;
    else if (mode == INJECT_RANDOM)
        fail = (inject_mix(__atomic_load_n(&inject_seed, __ATOMIC_RELAXED) +
                           seq * 0x9E3779B97F4A7C15ull) >> 48) < n;
    else
        fail = false;
    if (fail) {
        __atomic_fetch_add(&inject_failed[op], 1, __ATOMIC_RELAXED);
        errno = inject_errno[op];
    }
    return fail;
}

/* True if this call of kind op is to fail (errno is then set). */
static inline bool inject_fails(unsigned op) {
    if (BALLOC_LIKELY(__atomic_load_n(&inject_mode, __ATOMIC_RELAXED) == INJECT_OFF))
        return false;
    return inject_slow(op);
}

static void inject_arm(int mode, unsigned ops, uint64_t n, uint64_t seed) {
    __atomic_store_n(&inject_mode, INJECT_OFF, __ATOMIC_RELAXED);
    __atomic_store_n(&inject_ops, ops, __ATOMIC_RELAXED);
    __atomic_store_n(&inject_n, n, __ATOMIC_RELAXED);
    __atomic_store_n(&inject_seed, seed, __ATOMIC_RELAXED);
    __atomic_store_n(&inject_seq, 0, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < PAGES_NOPS; i++) {
        __atomic_store_n(&inject_calls[i], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&inject_failed[i], 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&inject_mode, mode, __ATOMIC_RELEASE);
}

void pages_inject_nth(unsigned ops, uint64_t n, bool and_after) {
    inject_arm(n == 0 ? INJECT_COUNT : and_after ? INJECT_FROM_NTH : INJECT_NTH, ops, n, 0);
}

void pages_inject_random(unsigned ops, uint32_t k, uint64_t seed) {
    inject_arm(INJECT_RANDOM, ops, k, seed);
}

void pages_inject_off(void) { __atomic_store_n(&inject_mode, INJECT_OFF, __ATOMIC_RELEASE); }

void pages_inject_read(struct pages_inject_counts *out) {
    for (unsigned i = 0; i < PAGES_NOPS; i++) {
        out->calls[i] = __atomic_load_n(&inject_calls[i], __ATOMIC_RELAXED);
        out->failed[i] = __atomic_load_n(&inject_failed[i], __ATOMIC_RELAXED);
    }
    out->selected = __atomic_load_n(&inject_seq, __ATOMIC_RELAXED);
}

/* ---- the calls --------------------------------------------------------- */

size_t pages_os_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static void *pages_os_map(void *addr, size_t size, int prot, int flags) {
    if (inject_fails(PAGES_OP_MAP))
        return NULL;
    void *p = mmap(addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *pages_map(size_t size) { return pages_os_map(NULL, size, PROT_READ | PROT_WRITE, 0); }

void *pages_map_aligned(size_t size, size_t align) {
    if (align <= PAGE_SIZE_B)
        return pages_map(size);
    if (size + align < size) {
        errno = ENOMEM;
        return NULL;
    }
    /* Try the exact size first: the kernel often hands out aligned space
     * next to the previous mapping. Otherwise over-map and trim; a trim the
     * kernel refuses leaves its bytes leaked, not the mapping failed. */
    void *p = pages_map(size);
    if (p == NULL)
        return NULL;
    if (((uintptr_t)p & (align - 1)) == 0)
        return p;
    pages_unmap_or_leak(p, size);
    char *raw = pages_map(size + align);
    if (raw == NULL)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t lead = a - (uintptr_t)raw, trail = align - lead;
    if (lead)
        pages_unmap_or_leak(raw, lead);
    if (trail)
        pages_unmap_or_leak((char *)a + size, trail);
    return (void *)a;
}

bool pages_unmap(void *p, size_t size) {
    if (inject_fails(PAGES_OP_UNMAP))
        return true;
    return munmap(p, size) != 0;
}

void pages_unmap_or_leak(void *p, size_t size) {
    if (pages_unmap(p, size))
        __atomic_fetch_add(&pages_leaked_bytes, size, __ATOMIC_RELAXED);
}

size_t pages_leaked(void) { return __atomic_load_n(&pages_leaked_bytes, __ATOMIC_RELAXED); }

bool pages_purge(void *p, size_t size) {
    if (inject_fails(PAGES_OP_PURGE))
        return true;
    return madvise(p, size, MADV_DONTNEED) != 0;
}

bool pages_purge_lazy(void *p, size_t size) {
#ifdef MADV_FREE
    if (inject_fails(PAGES_OP_PURGE_LAZY))
        return true;
    return madvise(p, size, MADV_FREE) != 0;
#else
    (void)p;
    (void)size;
    errno = EINVAL;
    return true;
#endif
}

uint64_t pages_clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool pages_resize_inplace(void *p, size_t old_size, size_t new_size) {
    if (new_size < old_size)
        return pages_unmap((char *)p + new_size, old_size - new_size);
    if (inject_fails(PAGES_OP_RESIZE))
        return true;
    return mremap(p, old_size, new_size, 0) == MAP_FAILED;
}

/* 1 if [p, p + len) is readable and holds want, 0 if not, -1 if it cannot
 * tell. Read through a pipe, so an unmapped or inaccessible page makes
 * write() fail with EFAULT instead of faulting. */
static int pages_holds(const void *p, const void *want, size_t len) {
    unsigned char got[16];
    int fd[2];
    if (len > sizeof(got) || pipe2(fd, O_CLOEXEC) != 0)
        return -1;
    int r;
    if (write(fd[1], p, len) != (ssize_t)len)
        r = errno == EFAULT ? 0 : -1;
    else
        r = read(fd[0], got, len) == (ssize_t)len ? memcmp(got, want, len) == 0 : -1;
    close(fd[0]);
    close(fd[1]);
    return r;
}

bool pages_move(void *p, size_t old_size, void *target, size_t new_size) {
    if (inject_fails(PAGES_OP_RESIZE)) {
        pages_unmap_or_leak(target, new_size);
        return true;
    }
    /* Some kernels unmap target before checks that can fail (and another
     * thread may map there at once), others leave it: mark it, so that
     * after a failure it is unmapped only if it is still ours. */
    uint64_t mark[2] = {inject_mix((uintptr_t)target), inject_mix(new_size ^ 0x6d6f7665ull)};
    memcpy(target, mark, sizeof(mark));
    if (mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target) == target)
        return false;
    int err = errno;
    int ours = pages_holds(target, mark, sizeof(mark));
    if (ours > 0)
        pages_unmap_or_leak(target, new_size);
    else if (ours < 0)  /* cannot tell: never unmap what may be another's */
        __atomic_fetch_add(&pages_leaked_bytes, new_size, __ATOMIC_RELAXED);
    errno = err;
    return true;
}

bool pages_guard(void *p, size_t size) {
    if (inject_fails(PAGES_OP_GUARD))
        return true;
    return mprotect(p, size, PROT_NONE) != 0;
}

bool pages_unguard(void *p, size_t size) {
    if (inject_fails(PAGES_OP_GUARD))
        return true;
    return mprotect(p, size, PROT_READ | PROT_WRITE) != 0;
}

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
