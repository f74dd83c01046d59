/* zmalloc_defrag.c -- active defrag over zmalloc's per-block calls: moving
 * one block (zmalloc_defrag_alloc) and the driver a server calls from its
 * timer (zmalloc_defrag_cycle).
 *
 * Built only on the public API (zmalloc.h): the hint, the cache-bypassing
 * allocation and free, and the allocator figures all come from zmalloc.c.
 * Optional when vendoring: a server with its own defrag.c (Redis, Valkey)
 * calls those itself and needs none of this file. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <string.h>
#include <time.h>

#include "zmalloc.h"

#ifdef HAVE_DEFRAG
/* Moves made by this thread, read by the driver around the server's scan. */
static _Thread_local size_t zm_moved_blocks, zm_moved_bytes;

void *zmalloc_defrag_alloc(void *ptr) {
    if (!zmalloc_defrag_hint(ptr)) return NULL;
    size_t size = zmalloc_usable_size(ptr);
    /* Bypassing the thread cache, the new block comes from the fullest
     * slab and the old one goes straight back to its sparse slab. */
    void *np = ztrymalloc_no_tcache(size);
    if (np == NULL) return NULL;
    memcpy(np, ptr, size);
    zfree_no_tcache(ptr);
    zm_moved_blocks++;
    zm_moved_bytes += size;
    return np;
}

static long long zm_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t zmalloc_defrag_cycle(const struct zmalloc_defrag_policy *policy, long long budget_us,
                            zmalloc_defrag_scan_fn scan, void *privdata, unsigned long *cursor,
                            struct zmalloc_defrag_result *out) {
    static const struct zmalloc_defrag_policy defaults = ZMALLOC_DEFRAG_POLICY_DEFAULT;
    struct zmalloc_defrag_result r;
    size_t allocated = 0, frag = 0;
    memset(&r, 0, sizeof(r));
    if (policy == NULL) policy = &defaults;
    long long start = zm_now_us();
    zmalloc_get_allocator_info(&allocated, NULL, NULL, NULL, NULL, &frag);
    r.frag_pct = allocated ? (double)frag * 100.0 / (double)allocated : 0.0;
    if (scan != NULL && cursor != NULL && budget_us > 0 && frag >= policy->ignore_bytes &&
        r.frag_pct > (double)policy->lower_pct) {
        /* Effort grows linearly from min at the lower threshold to max at
         * the upper one. */
        double span = (double)policy->upper_pct - (double)policy->lower_pct;
        double t = span > 0 ? (r.frag_pct - (double)policy->lower_pct) / span : 1.0;
        if (t > 1.0) t = 1.0;
        r.effort_pct = policy->effort_min +
                       (unsigned)(t * (double)(policy->effort_max - policy->effort_min) + 0.5);
        long long allowed = budget_us * (long long)r.effort_pct / 100;
        if (allowed < 1) allowed = 1;
        size_t blocks0 = zm_moved_blocks, bytes0 = zm_moved_bytes;
        r.ran = 1;
        do {
            *cursor = scan(privdata, *cursor);
            if (*cursor == 0) {
                r.pass_done = 1;
                break;
            }
        } while (zm_now_us() - start < allowed);
        r.moved_blocks = zm_moved_blocks - blocks0;
        r.moved_bytes = zm_moved_bytes - bytes0;
    }
    r.used_us = zm_now_us() - start;
    if (out) *out = r;
    return r.moved_bytes;
}
#endif
