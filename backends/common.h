/* backends/common.h -- what every backend header fills in. */
#ifndef ZMALLOC_BACKENDS_COMMON_H
#define ZMALLOC_BACKENDS_COMMON_H

#include <stddef.h>
#include <string.h>

/* Allocator figures, in bytes (see struct zmalloc_report for meanings). */
struct zb_stats {
    size_t allocated, active, resident, retained, muzzy, frag_smallbins;
};

#if defined(__GNUC__)
#define ZB_LIKELY(x) __builtin_expect(!!(x), 1)
#define ZB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define ZB_LIKELY(x) (x)
#define ZB_UNLIKELY(x) (x)
#endif

#endif
