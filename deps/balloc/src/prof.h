/* prof — sampled heap profiling (prof:true in BALLOC_CONF; balloc.h).
 *
 * Sampling. Each thread counts the usable bytes it allocates down from a
 * random interval drawn from an exponential distribution whose mean is
 * prof_sample_bytes (struct tcache's prof_left; balloc.c's fast path pays
 * that one decrement). The allocation that takes the count below zero is
 * sampled and a new interval drawn: sampling is then a Poisson process over
 * the bytes allocated, so a block of s bytes is sampled with probability
 * 1 - exp(-s / prof_sample_bytes), whatever the blocks around it, and a
 * reader scales each site's sampled counts by the inverse of that
 * probability (jeprof does, for the heap_v2 format written here). While
 * profiling is off the count starts at INT64_MAX and never runs out.
 *
 * A sample is the block's address, its usable size and its stack: the
 * return addresses of the calls above the allocator, at most PROF_MAX_FRAMES,
 * taken with the C library's backtrace() (the unwinder: no frame pointers
 * needed) outside any allocator lock. The allocator's own frames are
 * dropped: every function that can be on the stack between a program's call
 * and the capture is placed in the section PROF_SECTION (PROF_TEXT), and the
 * frames up to the outermost one in that section are cut. An allocation
 * made while this thread is taking a sample is never sampled.
 *
 * Samples are kept in a table by address; stacks are kept once each, with
 * their live and cumulative sampled objects and bytes. A page (in its page
 * map entry, chunk.h) counts the live sampled blocks that start on it, so
 * the fast free path sends only the blocks of such pages to the slow path,
 * which drops the sample (prof_free). Huge blocks are looked up on free
 * while any sample is live.
 *
 * Dump (prof_dump): the heap_v2 text format jeprof reads ("heap_v2/<mean>",
 * then "t*: <live objects>: <live bytes> [<objects>: <bytes> since start]"
 * in total and for each stack after its "@ <addresses>" line), then
 * "MAPPED_LIBRARIES:" and /proc/self/maps, so jeprof can symbolize. Counts
 * are the sampled ones; jeprof scales them. Written with open/write under
 * the profile lock, so the dump never allocates.
 *
 * Lock: the profile lock, last in the lock order (lockrank.h); nothing is
 * taken under it. Error convention: prof_dump returns 0 or an errno value
 * (the file is not created, or removed, on failure); prof_init returns true
 * when memory for the tables could not be had (profiling stays off).
 */
#ifndef BALLOC_PROF_H
#define BALLOC_PROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "chunk.h"

#define PROF_MAX_FRAMES 64
#define PROF_SECTION "balloc_text" /* include/balloc.h's BALLOC_API_SECTION */
#if BALLOC_PROF
#define PROF_TEXT __attribute__((section(PROF_SECTION)))
#else
#define PROF_TEXT
#endif

/* Profiling state: whether samples are taken now, and a count that changes
 * with every switch, so threads notice it on their next slow path. */
extern int prof_active;
extern unsigned prof_epoch;
/* Live samples: written under the profile lock, read without it (huge
 * frees look themselves up while it is not 0). */
extern uint64_t prof_live;

/* The count of live samples that start on p's page (its page-map entry's
 * spare byte, chunk.h), or NULL for a block outside an arena chunk. */
static inline uint8_t *prof_page_count(const void *p) {
    uintptr_t a = (uintptr_t)p;
    if (chunk_kind_of(a) != CHUNK_KIND_ARENA)
        return NULL;
    return &chunk_of(a)->pmap[chunk_page_of(a)].sampled;
}

/* Whether freeing p may drop a sample (then prof_free looks it up): its
 * page counts samples, or it is a huge block while any sample is live. */
static inline bool prof_may_hold(const void *p) {
    const uint8_t *c = prof_page_count(p);
    return c ? __atomic_load_n(c, __ATOMIC_RELAXED) != 0 : __atomic_load_n(&prof_live, __ATOMIC_RELAXED) != 0;
}

/* At start-up, from the options: on, the mean interval, the dump prefix,
 * whether to dump at exit. */
void prof_boot(bool on, uint64_t sample_bytes, const char *prefix, bool final);
/* Switch sampling on or off (prof.active): 0, or ENOMEM when the tables
 * cannot be had. */
int prof_set_active(bool on);
/* A new mean interval; every thread draws its next one with it. */
void prof_set_sample_bytes(uint64_t bytes);
/* This thread's next interval: exponential with the current mean, or
 * INT64_MAX while profiling is off. */
int64_t prof_next_interval(void);
/* Sample the block p of `usable` bytes just handed out (with no lock held);
 * the caller counted it down (prof_next_interval). */
void prof_sample(void *p, size_t usable);
/* p is being freed and may be sampled (its page counts samples, or it is a
 * huge block and samples are live): drop its sample if it has one. */
void prof_free(void *p);
/* Write a profile to path; NULL: <prefix>.<pid>.<seq>.m<seq>.heap. */
int prof_dump(const char *path);
/* Live sampled blocks and their usable bytes. */
void prof_stats(uint64_t *samples, uint64_t *bytes);
uint64_t prof_sample_bytes(void);
void prof_prefork(void);
void prof_postfork_parent(void);
void prof_postfork_child(void);

#endif
