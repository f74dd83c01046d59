/* backends/select.h -- includes the backend header the build chose: the one
 * named by -DZMALLOC_BACKEND=<name> (backends/<name>.h), else the one the
 * servers' own flags name (-DUSE_BALLOC, -DUSE_JEMALLOC, -DUSE_TCMALLOC,
 * -DUSE_MIMALLOC), else the C library's.
 *
 * Each backend header has two parts, each with its own guard: its facts
 * (ZB_NAME, ZB_LIB, ZB_USABLE_SIZE, ZB_DEFRAG: backends/README.md), and its
 * functions. zmalloc.h includes this file with ZB_FACTS_ONLY defined and gets
 * the facts alone; zmalloc.c includes it again without and gets the
 * functions too. So this file has no include guard. */
#include "common.h"

#if defined(ZMALLOC_BACKEND)
#include ZB_XSTR(ZMALLOC_BACKEND.h)
#elif defined(USE_BALLOC)
#include "balloc.h"
#elif defined(USE_JEMALLOC)
#include "jemalloc.h"
#elif defined(USE_TCMALLOC)
#include "tcmalloc.h"
#elif defined(USE_MIMALLOC)
#include "mimalloc.h"
#else
#include "libc.h"
#endif
