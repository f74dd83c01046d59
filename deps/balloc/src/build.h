/* build — the build-time switches and the layout constants they decide.
 * Every other file reads them from here; none defines them again.
 *
 *   BALLOC_SECURE=1    the hardened build (check.h says what it checks):
 *                      canaries, poisoning, guard pages, random regions,
 *                      no huge cache. Default 0.
 *   BALLOC_FREE_KEY=0  no free key (check.h): free never reads or writes
 *                      the block; a second free of a block still in a
 *                      thread cache is then caught only when the cache is
 *                      flushed, and a realloc after free only when it moves
 *                      the block. Default 1; the hardened build needs it.
 *   BALLOC_PROF=0      no heap profiling (prof.h): the allocation fast
 *                      path does not count bytes toward the next sample,
 *                      and the free fast path reads only the page's class.
 *                      Default 1 (profiling compiled in, off until
 *                      prof:true or prof.active).
 *   BALLOC_DEBUG=1     internal checks that cost time on slow paths: the
 *                      lock order (lockrank.h). Default 1 under ASan (the
 *                      test builds that run balloc's suites and fuzzers
 *                      under ASan), else 0; the fast paths never change.
 *
 * Error convention: none; a bad combination does not compile.
 */
#ifndef BALLOC_BUILD_H
#define BALLOC_BUILD_H

#ifndef BALLOC_SECURE
#define BALLOC_SECURE 0
#endif
#ifndef BALLOC_FREE_KEY
#define BALLOC_FREE_KEY 1
#endif
#ifndef BALLOC_PROF
#define BALLOC_PROF 1
#endif
#ifndef BALLOC_DEBUG
#if defined(__SANITIZE_ADDRESS__)
#define BALLOC_DEBUG 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BALLOC_DEBUG 1
#endif
#endif
#endif
#ifndef BALLOC_DEBUG
#define BALLOC_DEBUG 0
#endif

_Static_assert(BALLOC_SECURE == 0 || BALLOC_SECURE == 1, "BALLOC_SECURE is 0 or 1");
_Static_assert(BALLOC_FREE_KEY == 0 || BALLOC_FREE_KEY == 1, "BALLOC_FREE_KEY is 0 or 1");
_Static_assert(BALLOC_DEBUG == 0 || BALLOC_DEBUG == 1, "BALLOC_DEBUG is 0 or 1");
_Static_assert(BALLOC_PROF == 0 || BALLOC_PROF == 1, "BALLOC_PROF is 0 or 1");
_Static_assert(!BALLOC_SECURE || BALLOC_FREE_KEY,
               "the hardened build (BALLOC_SECURE=1) needs the free key (BALLOC_FREE_KEY=1)");

/* The free key: 8 bytes at the start of a freed block (check.h). */
#define BUILD_KEY_BYTES 8u

/* The hardened build's layout: an 8-byte canary ends every small block
 * (after at least the free key's 8 bytes), and guard pages are one page
 * each: after every large run, around chunk headers, metadata mappings and
 * huge blocks. The default build has neither. */
#if BALLOC_SECURE
#define BUILD_CANARY_BYTES 8u
#define BUILD_GUARD_PAGES 1u
#define BUILD_MIN_USABLE BUILD_KEY_BYTES
#else
#define BUILD_CANARY_BYTES 0u
#define BUILD_GUARD_PAGES 0u
#define BUILD_MIN_USABLE 0u
#endif

_Static_assert(BUILD_CANARY_BYTES == 0 || BUILD_CANARY_BYTES == 8, "the canary is one 64-bit word");
_Static_assert(BUILD_CANARY_BYTES == 0 || BUILD_MIN_USABLE >= BUILD_KEY_BYTES,
               "the free key and the canary never overlap");
_Static_assert(BUILD_GUARD_PAGES == (unsigned)BALLOC_SECURE, "guard pages exactly in the hardened build");

#endif
