/* backends/select.h -- includes the backend header the build chose. */
#ifndef ZMALLOC_BACKENDS_SELECT_H
#define ZMALLOC_BACKENDS_SELECT_H

#if defined(USE_BALLOC)
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

#endif
