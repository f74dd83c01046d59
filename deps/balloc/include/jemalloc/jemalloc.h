/* jemalloc/jemalloc.h — balloc under jemalloc's API, with the je_ prefix a
 * server's vendored jemalloc has (--with-jemalloc-prefix=je_).
 *
 * A server that compiles code only for jemalloc (allocator stats, MEMORY
 * MALLOC-STATS, DEBUG MALLCTL, active defrag) puts deps/balloc/include on
 * its include path where deps/jemalloc/include was, and links libballoc.a:
 * that code then runs on balloc. BALLOC_JEMALLOC_API tells code it is
 * balloc; the version macros name the jemalloc API this follows (5.3).
 *
 * Only je_ names are declared: the C library's malloc & co. stay the C
 * library's. Semantics follow jemalloc's manual; where balloc differs:
 *   - MALLOCX_ARENA(a) and MALLOCX_TCACHE(tc) for a tcache id are ignored
 *     (balloc has no explicit arenas or tcaches); MALLOCX_TCACHE_NONE goes
 *     around the thread cache, and a block freed so keeps its bytes until
 *     it is handed out again (servers' defrag code relies on it).
 *   - je_mallctl answers the names listed in deps/balloc/README.md ("jemalloc's
 *     API"); any other name is ENOENT, never a made-up figure.
 *   - je_malloc_stats_print prints balloc's own statistics (text, or JSON
 *     when opts contains 'J').
 * Error convention: as jemalloc's (NULL with errno ENOMEM; mallctl returns
 * 0 or an errno value: EINVAL for a size that is not the value's, EPERM
 * for reading a write-only name or an action given a value, ENOENT for an
 * unknown name).
 */
#ifndef BALLOC_JEMALLOC_H
#define BALLOC_JEMALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "balloc.h"

#define BALLOC_JEMALLOC_API 1
#define JEMALLOC_VERSION_MAJOR 5
#define JEMALLOC_VERSION_MINOR 3
#define JEMALLOC_VERSION_BUGFIX 0
#define JEMALLOC_VERSION_NREV 0
#define JEMALLOC_VERSION "5.3.0-0-balloc-" BALLOC_VERSION
/* je_get_defrag_hint exists (the name patched jemallocs use for it). */
#define JEMALLOC_FRAG_HINT 1

/* Flag values, as jemalloc defines them (the ABI servers compile against). */
#define MALLOCX_LG_ALIGN(la) ((int)(la))
#define MALLOCX_ALIGN(a) ((int)(__builtin_ffsl((long)(a)) - 1))
#define MALLOCX_ZERO ((int)0x40)
#define MALLOCX_TCACHE(tc) ((int)(((tc) + 2) << 8))
#define MALLOCX_TCACHE_NONE MALLOCX_TCACHE(-1)
#define MALLOCX_ARENA(a) ((int)(((unsigned)(a)) + 1) << 20)
#define MALLCTL_ARENAS_ALL 4096
#define MALLCTL_ARENAS_DESTROYED 4097

#ifdef __cplusplus
extern "C" {
#endif

void *je_malloc(size_t size);
void *je_calloc(size_t num, size_t size);
void *je_realloc(void *ptr, size_t size);
void je_free(void *ptr);
int je_posix_memalign(void **memptr, size_t alignment, size_t size);
void *je_aligned_alloc(size_t alignment, size_t size);
void *je_mallocx(size_t size, int flags);
void *je_rallocx(void *ptr, size_t size, int flags);
size_t je_xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t je_sallocx(const void *ptr, int flags);
void je_dallocx(void *ptr, int flags);
void je_sdallocx(void *ptr, size_t size, int flags);
size_t je_nallocx(size_t size, int flags);
size_t je_malloc_usable_size(const void *ptr);
int je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int je_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int je_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                    size_t newlen);
void je_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                           const char *opts);
/* 1 if moving ptr would help empty a sparse slab (balloc_defrag_hint). */
int je_get_defrag_hint(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
