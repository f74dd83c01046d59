/* zmalloc_report.c -- the memory report: the figures of a server's INFO
 * memory section from one call, the ratios between them, and a one-line
 * verdict on what to do about them.
 *
 * Built only on the public API (zmalloc.h), lazy free's figures included
 * (zmalloc_lazyfree.c). Optional when vendoring: a
 * server with its own INFO code (Redis, Valkey) needs none of this file. */
#include <stdio.h>
#include <string.h>

#include "zmalloc.h"

static double zm_ratio(size_t num, size_t den) { return den ? (double)num / (double)den : 0.0; }
static long long zm_diff(size_t a, size_t b) { return (long long)a - (long long)b; }

#define ZM_MIB ((size_t)1 << 20)

/* One line naming the worst findings, in the spirit of MEMORY DOCTOR: a ratio
 * only counts as a problem when the bytes behind it are worth acting on. */
static void zm_verdict(struct zmalloc_report *r) {
    char *out = r->verdict;
    size_t cap = sizeof(r->verdict), len = 0;
    int n = 0;
#define ZM_SAY(...)                                                                      \
    do {                                                                                 \
        if (len < cap) {                                                                 \
            int w = snprintf(out + len, cap - len, "%s", n++ ? "; " : "");               \
            if (w > 0) len += (size_t)w;                                                 \
            if (len < cap) {                                                             \
                w = snprintf(out + len, cap - len, __VA_ARGS__);                         \
                if (w > 0) len += (size_t)w;                                             \
            }                                                                            \
        }                                                                                \
    } while (0)
    out[0] = '\0';
    if (r->used < 5 * ZM_MIB) {
        ZM_SAY("too little memory in use (under 5 MiB) to judge");
        return;
    }
    if (r->rss && r->mem_fragmentation_ratio < 1.0)
        ZM_SAY("RSS below used memory: part of the heap is swapped out");
    if (r->allocator_frag_ratio > 1.1 && r->allocator_frag_bytes > (long long)(10 * ZM_MIB))
        ZM_SAY("allocator fragmentation %.2f (%lld MiB free in slabs): active defrag would help",
               r->allocator_frag_ratio, r->allocator_frag_bytes >> 20);
    if (r->allocator_rss_ratio > 1.1 && r->allocator_rss_bytes > (long long)(10 * ZM_MIB))
        ZM_SAY("the allocator holds %lld MiB of free pages: zmalloc_purge() returns them",
               r->allocator_rss_bytes >> 20);
    if (r->rss_overhead_ratio > 1.1 && r->rss_overhead_bytes > (long long)(10 * ZM_MIB))
        ZM_SAY("%lld MiB of RSS outside the allocator (libraries, stacks, copy-on-write)",
               r->rss_overhead_bytes >> 20);
    if (r->peak > r->used + r->used / 2)
        ZM_SAY("peak %zu MiB is over 1.5x current use: RSS may stay near the peak",
               r->peak >> 20);
    if (n == 0 && r->mem_fragmentation_ratio > 1.4 &&
        r->mem_fragmentation_bytes > (long long)(10 * ZM_MIB))
        ZM_SAY("RSS %.2fx used memory", r->mem_fragmentation_ratio);
    if (n == 0) ZM_SAY("healthy");
#undef ZM_SAY
}

void zmalloc_get_memory_report(struct zmalloc_report *r) {
    memset(r, 0, sizeof(*r));
    r->version = ZMALLOC_REPORT_VERSION;
    r->allocator = ZMALLOC_LIB;
    r->used = zmalloc_used_memory();
    r->peak = zmalloc_used_memory_peak();
    r->rss = zmalloc_get_rss();
    r->allocator_info = zmalloc_get_allocator_info(
        &r->allocator_allocated, &r->allocator_active, &r->allocator_resident,
        &r->allocator_retained, &r->allocator_muzzy, &r->allocator_frag_smallbins);
    r->mem_fragmentation_ratio = zm_ratio(r->rss, r->used);
    r->mem_fragmentation_bytes = zm_diff(r->rss, r->used);
    if (r->allocator_info) {
        size_t allocated = r->allocator_allocated, active = r->allocator_active;
        size_t resident = r->allocator_resident, frag = r->allocator_frag_smallbins;
        r->allocator_frag_ratio = zm_ratio(allocated + frag, allocated);
        r->allocator_frag_bytes = (long long)frag;
        r->allocator_rss_ratio = zm_ratio(resident, active);
        r->allocator_rss_bytes = zm_diff(resident, active);
        r->rss_overhead_ratio = zm_ratio(r->rss, resident);
        r->rss_overhead_bytes = zm_diff(r->rss, resident);
    }
    r->lazyfree_pending_bytes = zmalloc_lazyfree_pending_bytes();
    r->lazyfree_pending_objects = zmalloc_lazyfree_pending_objects();
    r->lazyfreed_objects = zmalloc_lazyfreed_objects();
    r->heap_profiling = zmalloc_heap_profiling();
    zm_verdict(r);
}

size_t zmalloc_format_report(const struct zmalloc_report *r, char *buf, size_t len) {
    int n = snprintf(buf, len,
                     "mem_allocator:%s\r\n"
                     "used_memory:%zu\r\n"
                     "used_memory_peak:%zu\r\n"
                     "used_memory_rss:%zu\r\n"
                     "allocator_info:%d\r\n"
                     "allocator_allocated:%zu\r\n"
                     "allocator_active:%zu\r\n"
                     "allocator_resident:%zu\r\n"
                     "allocator_retained:%zu\r\n"
                     "allocator_muzzy:%zu\r\n"
                     "allocator_frag_smallbins_bytes:%zu\r\n"
                     "allocator_frag_ratio:%.2f\r\n"
                     "allocator_frag_bytes:%lld\r\n"
                     "allocator_rss_ratio:%.2f\r\n"
                     "allocator_rss_bytes:%lld\r\n"
                     "rss_overhead_ratio:%.2f\r\n"
                     "rss_overhead_bytes:%lld\r\n"
                     "mem_fragmentation_ratio:%.2f\r\n"
                     "mem_fragmentation_bytes:%lld\r\n"
                     "lazyfree_pending_bytes:%zu\r\n"
                     "lazyfree_pending_objects:%zu\r\n"
                     "lazyfreed_objects:%zu\r\n"
                     "heap_profiling:%d\r\n"
                     "memory_verdict:%s\r\n",
                     r->allocator, r->used, r->peak, r->rss, r->allocator_info,
                     r->allocator_allocated, r->allocator_active, r->allocator_resident,
                     r->allocator_retained, r->allocator_muzzy, r->allocator_frag_smallbins,
                     r->allocator_frag_ratio, r->allocator_frag_bytes, r->allocator_rss_ratio,
                     r->allocator_rss_bytes, r->rss_overhead_ratio, r->rss_overhead_bytes,
                     r->mem_fragmentation_ratio, r->mem_fragmentation_bytes,
                     r->lazyfree_pending_bytes, r->lazyfree_pending_objects, r->lazyfreed_objects,
                     r->heap_profiling, r->verdict);
    return n < 0 ? 0 : (size_t)n;
}
