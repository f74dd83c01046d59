#include "base.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "build.h"
#include "lockrank.h"
#include "pages.h"

#define BASE_MIN_LG 6
#define BASE_BLOCK ((size_t)1 << 20)
#define BASE_NLISTS 40

struct base_free_node {
    struct base_free_node *next;
};

static pthread_mutex_t base_lock = PTHREAD_MUTEX_INITIALIZER;
static struct base_free_node *base_lists[BASE_NLISTS];  /* by lg size */
static char *base_bump, *base_end;                       /* current block */
static size_t base_mapped_bytes;

/* size bytes of fresh zero pages; the hardened build maps a guard page on
 * each side, so an overflow of a user block cannot reach metadata. */
static void *base_map(size_t size) {
    size_t g = BUILD_GUARD_PAGES * PAGE_SIZE_B;
    char *m = pages_map(size + 2 * g);
    if (m == NULL)
        return NULL;
    if (g && (pages_guard(m, g) || pages_guard(m + g + size, g))) {
        pages_unmap_or_leak(m, size + 2 * g);
        return NULL;
    }
    base_mapped_bytes += size + 2 * g;
    return m + g;
}

static unsigned base_lg(size_t size) {
    if (size <= ((size_t)1 << BASE_MIN_LG))
        return BASE_MIN_LG;
    return 64u - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
}

void *base_alloc(size_t size) {
    unsigned lg = base_lg(size);
    size_t sz = (size_t)1 << lg;
    void *p = NULL;
    lockrank_lock(&base_lock, LOCKRANK_BASE);
    if (base_lists[lg]) {
        struct base_free_node *n = base_lists[lg];
        base_lists[lg] = n->next;
        p = n;
        memset(p, 0, sz);
    } else if (sz >= BASE_BLOCK / 4) {
        p = base_map(sz);
    } else {
        if ((size_t)(base_end - base_bump) < sz) {
            char *blk = base_map(BASE_BLOCK);
            if (blk) {
                base_bump = blk;
                base_end = blk + BASE_BLOCK;
            }
        }
        if ((size_t)(base_end - base_bump) >= sz) {
            uintptr_t a = ((uintptr_t)base_bump + 63u) & ~(uintptr_t)63u;
            if (a + sz <= (uintptr_t)base_end) {
                p = (void *)a;
                base_bump = (char *)a + sz;
            }
        }
    }
    lockrank_unlock(&base_lock, LOCKRANK_BASE);
    return p;
}

void base_free(void *p, size_t size) {
    if (p == NULL)
        return;
    unsigned lg = base_lg(size);
    struct base_free_node *n = p;
    lockrank_lock(&base_lock, LOCKRANK_BASE);
    n->next = base_lists[lg];
    base_lists[lg] = n;
    lockrank_unlock(&base_lock, LOCKRANK_BASE);
}

size_t base_mapped(void) {
    lockrank_lock(&base_lock, LOCKRANK_BASE);
    size_t m = base_mapped_bytes;
    lockrank_unlock(&base_lock, LOCKRANK_BASE);
    return m;
}

void base_prefork(void) { lockrank_lock(&base_lock, LOCKRANK_BASE); }
void base_postfork_parent(void) { lockrank_unlock(&base_lock, LOCKRANK_BASE); }
void base_postfork_child(void) { lockrank_reinit(&base_lock, LOCKRANK_BASE); }
