/* zmalloc.h -- a byte-counting memory layer over a build-time allocator.
 *
 * Every block handed out by zmalloc & co. is counted: zmalloc_used_memory()
 * always equals the sum of zmalloc_size() over the live blocks, and is 0 in a
 * fresh process. The names and signatures are a superset of the ones Redis
 * and Valkey servers call, so their code compiles unchanged.
 *
 * The backend is chosen at build time by a -D flag (-DUSE_JEMALLOC, ...;
 * none: the C library's malloc), as backends/select.h reads it.
 * NO_MALLOC_USABLE_SIZE forces prefix-header accounting on any backend.
 *
 * Error convention: allocation functions without "try" never return NULL for
 * a request they cannot satisfy: they call the OOM handler (the default one
 * prints a message and aborts) and return NULL only if a custom handler
 * returns. The "try" forms return NULL, count nothing and leave any block
 * they were given intact. Readers of process figures return 0 when the
 * figure cannot be read. */
#ifndef __ZMALLOC_H
#define __ZMALLOC_H

#include <stddef.h>

/* Double expansion needed for stringification of macro values. */
#define __xstr(s) __str(s)
#define __str(s) #s

/* The backend's facts (backends/README.md): ZB_LIB names the library,
 * ZB_USABLE_SIZE says it can tell a block's usable size, ZB_DEFRAG that it
 * has what active defrag needs. */
#define ZB_FACTS_ONLY
#include "backends/select.h"
#undef ZB_FACTS_ONLY

/* The allocator's name and version: "libc", "jemalloc-5.3.0", ... */
#define ZMALLOC_LIB ZB_LIB

/* Usable-size accounting where the backend can tell a block's size;
 * prefix-header accounting otherwise, or when NO_MALLOC_USABLE_SIZE asks. */
#if defined(ZB_USABLE_SIZE) && !defined(NO_MALLOC_USABLE_SIZE)
#define HAVE_MALLOC_SIZE 1
#endif

/* Active defragmentation needs a per-block hint (would moving this block
 * help?) and an allocation and free that bypass the thread cache, for the
 * move; zmalloc uses them in usable-size mode. */
#if defined(ZB_DEFRAG) && defined(HAVE_MALLOC_SIZE)
#define HAVE_DEFRAG 1
#endif

/* The configuration this header is compiled for, as a symbol name:
 * zmalloc_config_<backend>_<usable|prefix> (zmalloc_config_balloc_usable,
 * zmalloc_config_libc_prefix, ...). zmalloc.c defines the one it was built
 * for, and every file that includes this header keeps a pointer to the one
 * it was compiled for (data, no code): a program compiled with other -D
 * flags than its library, which would read a wrong HAVE_MALLOC_SIZE,
 * HAVE_DEFRAG or ZMALLOC_LIB, fails to link instead, naming the symbol.
 * `make print-cflags` prints the flags of a build. */
#ifdef HAVE_MALLOC_SIZE
#define ZM_CONFIG_MODE usable
#else
#define ZM_CONFIG_MODE prefix
#endif
#define ZM_CAT_(a, b) a##b
#define ZM_CAT(a, b) ZM_CAT_(a, b)
#define ZMALLOC_CONFIG_SYMBOL ZM_CAT(ZM_CAT(ZM_CAT(zmalloc_config_, ZB_NAME), _), ZM_CONFIG_MODE)
extern const char ZMALLOC_CONFIG_SYMBOL[];
#if defined(__GNUC__)
__attribute__((used)) static const char *const zmalloc_config_check = ZMALLOC_CONFIG_SYMBOL;
#endif

/* zlib exports a zcalloc of its own: the four core names are macros over
 * prefixed symbols so a server linking both never sees a clash. */
#define zmalloc zmalloc_malloc
#define zcalloc zmalloc_calloc
#define zrealloc zmalloc_realloc
#define zfree zmalloc_free

#if defined(__GNUC__)
#define ZM_ATTR_MALLOC(...) __attribute__((malloc, alloc_size(__VA_ARGS__), noinline))
#define ZM_ATTR_RESIZE(n) __attribute__((alloc_size(n), noinline))
#else
#define ZM_ATTR_MALLOC(...)
#define ZM_ATTR_RESIZE(n)
#endif

/* Allocate; on failure call the OOM handler. */
ZM_ATTR_MALLOC(1) void *zmalloc(size_t size);
ZM_ATTR_MALLOC(1) void *zcalloc(size_t size);
ZM_ATTR_MALLOC(1, 2) void *zcalloc_num(size_t num, size_t size);
ZM_ATTR_RESIZE(2) void *zrealloc(void *ptr, size_t size);
/* Allocate; on failure return NULL, count nothing, keep ptr intact. */
ZM_ATTR_MALLOC(1) void *ztrymalloc(size_t size);
ZM_ATTR_MALLOC(1) void *ztrycalloc(size_t size);
ZM_ATTR_RESIZE(2) void *ztryrealloc(void *ptr, size_t size);
/* Free; NULL is a no-op. */
void zfree(void *ptr);
/* Free a block whose zmalloc_size() (or returned usable size) the caller
 * knows: skips the size look-up. Passing another size is undefined. */
void zfree_with_size(void *ptr, size_t size);

/* Free ptrs[0, n) (NULL entries are skipped), as n zfree calls would, for
 * a thread that frees many blocks others allocated (a lazy-free destructor):
 * over balloc they bypass the caller's thread cache and go back grouped by
 * arena and class, another thread's arena's as lock-free batches its owner
 * takes whole (balloc_free_batch); elsewhere one free each. The array is scratch: its contents are changed. */
void zfree_batch(void **ptrs, size_t n);

/* The _usable forms also report the bytes the caller may use. */
void *zmalloc_usable(size_t size, size_t *usable);
void *zcalloc_usable(size_t size, size_t *usable);
void *zrealloc_usable(void *ptr, size_t size, size_t *usable);
void *zrealloc_usable2(void *ptr, size_t size, size_t *usable, size_t *old_usable);
void *ztrymalloc_usable(size_t size, size_t *usable);
void *ztrycalloc_usable(size_t size, size_t *usable);
void *ztryrealloc_usable(void *ptr, size_t size, size_t *usable);
void *ztryrealloc_usable2(void *ptr, size_t size, size_t *usable, size_t *old_usable);
void zfree_usable(void *ptr, size_t *usable);
#if defined(__GNUC__)
__attribute__((malloc))
#endif
char *zstrdup(const char *s);
char *zstrdup_usable(const char *s, size_t *usable);

/* zmalloc_size: what the block adds to zmalloc_used_memory().
 * zmalloc_usable_size: the bytes the caller may use (smaller by the header in
 * prefix mode, equal otherwise). */
size_t zmalloc_size(void *ptr);
size_t zmalloc_usable_size(void *ptr);
/* Tells the compiler a block obtained with a smaller request may be used up
 * to `size` (its usable size); returns ptr. */
ZM_ATTR_RESIZE(2) void *extend_to_usable(void *ptr, size_t size);

/* Bytes held through zmalloc by all threads, living and exited. */
size_t zmalloc_used_memory(void);
/* The highest zmalloc_used_memory() observed: sampled whenever it or the
 * memory report is read, so poll it as a server's cron does. */
size_t zmalloc_used_memory_peak(void);
void zmalloc_set_oom_handler(void (*oom_handler)(size_t));
/* Counter slots ever created (over balloc, balloc's): the most threads alive at once
 * (exited threads' slots are reused). For diagnostics. */
size_t zmalloc_thread_slots(void);

/* Process and allocator figures. */
size_t zmalloc_get_rss(void);
int get_proc_stat_ll(int i, long long *res);
size_t zmalloc_get_private_dirty(long pid);
size_t zmalloc_get_smap_bytes_by_field(char *field, long pid);
size_t zmalloc_get_memory_size(void);

/* Allocator figures in bytes; returns 1 if the backend reported them, 0 if
 * they are zeros. Any out-parameter may be NULL. Three forms are accepted:
 *   (allocated, active, resident, retained, muzzy)                  Valkey 7
 *   (allocated, active, resident, retained, muzzy, frag_smallbins)  Valkey 8
 *   (refresh_stats, allocated, ..., frag_smallbins)                 Redis 7+ */
int zmalloc_get_allocator_info_5(size_t *allocated, size_t *active, size_t *resident,
                                 size_t *retained, size_t *muzzy);
int zmalloc_get_allocator_info_6(size_t *allocated, size_t *active, size_t *resident,
                                 size_t *retained, size_t *muzzy, size_t *frag_smallbins_bytes);
int zmalloc_get_allocator_info_7(int refresh_stats, size_t *allocated, size_t *active,
                                 size_t *resident, size_t *retained, size_t *muzzy,
                                 size_t *frag_smallbins_bytes);
#define ZM_ARGC_(_1, _2, _3, _4, _5, _6, _7, n, ...) n
#define ZM_ARGC(...) ZM_ARGC_(__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, 0)
#define zmalloc_get_allocator_info(...)                                        \
    ZM_CAT(zmalloc_get_allocator_info_, ZM_ARGC(__VA_ARGS__))(__VA_ARGS__)
/* Per-arena figures where the backend has arenas (jemalloc); elsewhere the
 * whole process's. */
int zmalloc_get_allocator_info_by_arena(unsigned int arena, int refresh_stats, size_t *allocated,
                                        size_t *active, size_t *resident,
                                        size_t *frag_smallbins_bytes);
size_t zmalloc_get_frag_smallbins(void);
size_t zmalloc_get_frag_smallbins_by_arena(unsigned int arena);

/* Return free memory to the OS now: jemalloc arena purge, tcmalloc
 * ReleaseFreeMemory, mimalloc collect, balloc purge, glibc malloc_trim.
 * Returns 0 on success, -1 if the backend could not. */
int zmalloc_purge(void);
int jemalloc_purge(void); /* the same, under Redis's name */

/* Heap profiling: which call sites hold the bytes, sampled by the allocator
 * (balloc: BALLOC_CONF=prof:true; jemalloc built with profiling, as
 * Debian's is: MALLOC_CONF=prof:true). zmalloc_heap_profile_dump writes a
 * profile jeprof reads to path (NULL: the allocator's own name,
 * <prefix>.<pid>.<seq>.m.heap for balloc) and returns 0, or -1 with errno:
 * ENOTSUP where the backend has no profiler (libc, tcmalloc, mimalloc),
 * ENOENT where profiling is not on, or why the file could not be written
 * (EACCES, ENOENT, ...; nothing is left behind then).
 * zmalloc_heap_profiling says whether the allocator is sampling now. */
int zmalloc_heap_profile_dump(const char *path);
int zmalloc_heap_profiling(void);
void set_jemalloc_bg_thread(int enable);
void zlibc_free(void *ptr);
void zlibc_trim(void);
/* Give the whole pages inside a block back to the OS without freeing it:
 * their contents read as zeros afterwards (for a fork child done with it). */
void zmadvise_dontneed(void *ptr);

#ifdef HAVE_DEFRAG
/* Cache-bypassing allocation and free, counted like zmalloc and zfree
 * (ztrymalloc_no_tcache: NULL on failure, like ztrymalloc). */
void *zmalloc_no_tcache(size_t size);
void *ztrymalloc_no_tcache(size_t size);
void zfree_no_tcache(void *ptr);
/* 1 if moving the block would help empty a sparse slab. */
int zmalloc_defrag_hint(void *ptr);

/* In zmalloc_defrag.c (optional when vendoring). */
/* Moves the block if the hint says so: returns the new block (same size and
 * contents, ptr freed), or NULL with ptr untouched. The count is unchanged. */
void *zmalloc_defrag_alloc(void *ptr);

/* The defrag driver, called from a server's timer like Redis's
 * active-defrag: it measures fragmentation, decides the effort, and calls
 * the server's scan function until its share of the budget is spent or a
 * pass over the server's data completes. The scan function visits a few
 * of the server's blocks from `cursor` on, replaces each pointer p for
 * which zmalloc_defrag_alloc(p) returns a new one, and returns the cursor
 * to resume from (0 when the pass is complete). */
typedef unsigned long (*zmalloc_defrag_scan_fn)(void *privdata, unsigned long cursor);
struct zmalloc_defrag_policy {
    size_t ignore_bytes;    /* nothing below this many free bytes in slabs */
    unsigned lower_pct;     /* start above this fragmentation percentage */
    unsigned upper_pct;     /* full effort at and above this percentage */
    unsigned effort_min;    /* percent of the budget spent at lower_pct */
    unsigned effort_max;    /* percent of the budget spent at upper_pct */
};
/* Redis's defaults: 100 MiB, 10%, 100%, 1%, 25%. */
#define ZMALLOC_DEFRAG_POLICY_DEFAULT {(size_t)100 << 20, 10, 100, 1, 25}
struct zmalloc_defrag_result {
    int ran;               /* 0: fragmentation below the thresholds */
    double frag_pct;       /* frag_smallbins / allocated * 100, at the start */
    unsigned effort_pct;   /* share of the budget it allowed itself */
    size_t moved_blocks;   /* blocks moved by this call */
    size_t moved_bytes;
    long long used_us;     /* time spent */
    int pass_done;         /* the scan returned cursor 0 */
};
/* budget_us: the time between two calls. Returns the bytes moved; `out`
 * (may be NULL) receives the details. *cursor carries the position from one
 * call to the next (start it at 0). */
size_t zmalloc_defrag_cycle(const struct zmalloc_defrag_policy *policy, long long budget_us,
                            zmalloc_defrag_scan_fn scan, void *privdata, unsigned long *cursor,
                            struct zmalloc_defrag_result *out);
#endif
#if defined(USE_JEMALLOC) && defined(HAVE_MALLOC_SIZE)
void *zmalloc_with_flags(size_t size, int flags);
void *zrealloc_with_flags(void *ptr, size_t size, int flags);
void zfree_with_flags(void *ptr, int flags);
#endif

/* Lazy free, in zmalloc_lazyfree.c (optional when vendoring): background
 * threads free blocks and run destructors for the program, and what is
 * still queued is counted apart.
 *
 * zmalloc_lazyfree_start starts the threads (cfg NULL: the defaults below);
 * returns 0, or -1 with errno EINVAL (a field out of range), EBUSY (already
 * started), ENOMEM (no memory for the queue), ENOTSUP (cpu given where
 * thread affinity is not available) or pthread_create's error (a cpu the
 * process may not run on is EINVAL): then nothing is started.
 * zmalloc_lazyfree_stop stops taking work, runs everything still queued,
 * and joins the threads (a no-op when not started, and from a job). Call
 * start and stop from one thread at a time; the rest from any thread.
 *
 * zfree_lazy(p): counts zmalloc_size(p) as pending at once and frees p on a
 * background thread. zmalloc_lazyfree_job(fn, arg, bytes_hint,
 * objects_hint): runs fn(arg) on a background thread (a server's destructor
 * of a dict, a list, ...) with bytes_hint and objects_hint counted as
 * pending until it returns. Entries are done in the order queued. Without
 * zmalloc_lazyfree_start, after stop, when the queue is full, or when
 * called from a job, the block is freed (the job run) at once by the
 * caller, and is never pending or lazyfreed: so code may call them
 * unconditionally. zfree_lazy(NULL) and a NULL fn are no-ops. Freeing a
 * block twice is caught as a double free (over balloc: "double free of
 * 0x..."). A fork child has no thread and an empty queue; what the parent
 * had queued stays allocated (and counted in used memory) in the child and
 * is never freed or run there (zmalloc_lazyfree.c says why).
 *
 * Figures: zmalloc_lazyfree_pending_bytes() and _pending_objects() are what
 * is queued or being freed (a zfree_lazy block: its zmalloc_size() and 1; a
 * job: its hints); both are 0 when nothing is queued. zmalloc_lazyfreed_
 * objects() counts what the threads have finished since the start of the
 * process (blocks, and jobs' objects_hint), as Redis's INFO field.
 * zmalloc_used_memory_not_pending() is zmalloc_used_memory() less the
 * pending bytes (0 if that is negative, as hints may overstate): what a
 * server's maxmemory check compares with its limit, so memory already on
 * its way out neither causes evictions nor OOM errors.
 *
 * zmalloc_lazyfree_wait(timeout_us): returns 0 once the queue is empty and
 * no thread is busy (at once when not started), or -1 with errno ETIMEDOUT
 * if that has not happened within timeout_us microseconds (0: just look;
 * negative: no limit), EDEADLK from a job. */
struct zmalloc_lazyfree_config {
    unsigned threads; /* background threads, 1..ZMALLOC_LAZYFREE_MAX_THREADS (0: 1) */
    size_t queue_max; /* entries the queue holds (0: the default); beyond, callers free */
    int cpu;          /* the CPU the threads run on; -1: any */
};
#define ZMALLOC_LAZYFREE_MAX_THREADS 16
#define ZMALLOC_LAZYFREE_QUEUE_DEFAULT ((size_t)65536)
#define ZMALLOC_LAZYFREE_CONFIG_DEFAULT {1, ZMALLOC_LAZYFREE_QUEUE_DEFAULT, -1}
int zmalloc_lazyfree_start(const struct zmalloc_lazyfree_config *cfg);
void zmalloc_lazyfree_stop(void);
void zfree_lazy(void *p);
void zmalloc_lazyfree_job(void (*fn)(void *arg), void *arg, size_t bytes_hint,
                          size_t objects_hint);
size_t zmalloc_lazyfree_pending_bytes(void);
size_t zmalloc_lazyfree_pending_objects(void);
size_t zmalloc_lazyfreed_objects(void);
size_t zmalloc_used_memory_not_pending(void);
int zmalloc_lazyfree_wait(long long timeout_us);

/* The figures of a server's INFO memory section, from one call. In
 * zmalloc_report.c (optional when vendoring). */
#define ZMALLOC_REPORT_VERSION 3
struct zmalloc_report {
    unsigned version;           /* ZMALLOC_REPORT_VERSION */
    const char *allocator;      /* ZMALLOC_LIB */
    size_t used;                /* zmalloc_used_memory() */
    size_t peak;                /* zmalloc_used_memory_peak() */
    size_t rss;                 /* resident set size of the process */
    int allocator_info;         /* 1: the allocator_* figures are the backend's */
    size_t allocator_allocated; /* bytes in live blocks, the allocator's view */
    size_t allocator_active;    /* bytes in pages holding live blocks */
    size_t allocator_resident;  /* bytes the allocator keeps resident */
    size_t allocator_retained;  /* address space returned to the OS, kept */
    size_t allocator_muzzy;     /* lazily freed pages (MADV_FREE) */
    size_t allocator_frag_smallbins; /* free bytes inside small-block slabs */
    /* Each ratio comes with the bytes that make it differ from 1. */
    double mem_fragmentation_ratio; /* rss / used */
    long long mem_fragmentation_bytes;
    double allocator_frag_ratio; /* (allocated + frag_smallbins) / allocated */
    long long allocator_frag_bytes;
    double allocator_rss_ratio; /* resident / active */
    long long allocator_rss_bytes;
    double rss_overhead_ratio; /* rss / allocator resident */
    long long rss_overhead_bytes;
    char verdict[256]; /* one line, like MEMORY DOCTOR's */
    /* Version 2: lazy free (zmalloc_lazyfree_* above). */
    size_t lazyfree_pending_bytes;
    size_t lazyfree_pending_objects;
    size_t lazyfreed_objects;
    /* Version 3: 1 while the allocator samples for heap profiles. */
    int heap_profiling;
};
void zmalloc_get_memory_report(struct zmalloc_report *report);
/* Writes the report as INFO-style "name:value" lines; returns the length it
 * needed, like snprintf (output truncated if that is >= len). */
size_t zmalloc_format_report(const struct zmalloc_report *report, char *buf, size_t len);

#ifdef REDIS_TEST
int zmalloc_test(int argc, char **argv, int flags);
#endif

#endif /* __ZMALLOC_H */
