/* backends/common.h -- what every backend header uses or fills in. */
#ifndef ZMALLOC_BACKENDS_COMMON_H
#define ZMALLOC_BACKENDS_COMMON_H

#include <stddef.h>
#include <string.h>

/* Allocator figures, in bytes (see struct zmalloc_report for meanings). */
struct zb_stats {
    size_t allocated, active, resident, retained, muzzy, frag_smallbins;
};

/* Under ASan, MSan or TSan the sanitizer's allocator replaces the C
 * library's: glibc's own figures then describe a heap nobody uses. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ZB_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                 \
    __has_feature(memory_sanitizer)
#define ZB_SANITIZER_HEAP 1
#endif
#endif

/* A macro's value as a string literal (the version in ZB_LIB). */
#define ZB_XSTR(s) ZB_STR(s)
#define ZB_STR(s) #s

#if defined(__GNUC__)
#define ZB_LIKELY(x) __builtin_expect(!!(x), 1)
#define ZB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define ZB_LIKELY(x) (x)
#define ZB_UNLIKELY(x) (x)
#endif

#endif
