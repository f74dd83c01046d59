/* config.h -- platform facts zmalloc.c relies on.
 *
 * Only facts about the platform live here, never allocator logic. A server
 * that vendors zmalloc.c compiles it against its own config.h instead: every
 * macro below is one Redis's config.h also defines, and zmalloc.c gives each
 * a default under #ifndef, so either header works. */
#ifndef ZMALLOC_CONFIG_H
#define ZMALLOC_CONFIG_H

#ifdef __linux__
#define HAVE_PROC_STAT 1  /* /proc/self/stat carries the RSS in pages */
#define HAVE_PROC_SMAPS 1 /* /proc/<pid>/smaps carries per-mapping fields */
#endif

/* The unit of false sharing: per-thread counters are padded to twice it
 * (zmalloc.c, struct zm_slot_line, says why). */
#ifndef CACHE_LINE_SIZE
#if defined(__aarch64__) && defined(__APPLE__)
#define CACHE_LINE_SIZE 128
#else
#define CACHE_LINE_SIZE 64
#endif
#endif

#endif /* ZMALLOC_CONFIG_H */
