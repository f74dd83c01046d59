/* ctl — balloc_ctl: a static tree of names, resolved to ids (a "mib": one
 * number per level) once, then read or written by id.
 *
 * Tree (leaf types in include/balloc.h):
 *   version epoch background_thread
 *   opt.<name of each entry of the options table>
 *   stats.{allocated,active,resident,mapped,retained,metadata}
 *   stats.arenas.<i|all>.{pdirty,pmuzzy}
 *   stats.arenas.<i|all>.bins.<j>.{size,nregs,curregs,curslabs,nonfull_slabs,nmalloc,ndalloc}
 *   arena.<i|all>.purge  arenas.purge  thread.tcache.{flush,enabled}
 *   arenas.{narenas,nbins,page,quantum}  arenas.bin.<j>.{size,nregs,slab_size}
 *   utilization.query
 * A mib component is the child's position among its named siblings, or the
 * number itself below an indexed level, or the option's index in the options
 * table below "opt". Below an arena level, "all" is BALLOC_CTL_ARENAS_ALL
 * (4096, jemalloc's MALLCTL_ARENAS_ALL, so a mib that jemalloc's callers
 * patch means the same here); the number 4096 and the arena count (jemalloc's
 * older spelling of all arenas, which servers' purge still uses) name it too.
 *
 * Error convention: every entry point returns 0 or an errno value, and all
 * checks run before anything is changed, so a failed call changes nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "background.h"
#include "balloc.h"
#include "huge.h"
#include "opts.h"
#include "sc.h"
#include "tcache.h"

#define BALLOC_EXPORT __attribute__((visibility("default")))
#define CTL_MIB_MAX 6

_Static_assert(BALLOC_CTL_ARENAS_ALL > ARENA_MAX, "all arenas is no arena's index");

enum ctl_leaf {
    L_NONE = 0, L_VERSION, L_EPOCH, L_BACKGROUND, L_OPT,
    L_ALLOCATED, L_ACTIVE, L_RESIDENT, L_MAPPED, L_RETAINED, L_METADATA,
    L_PDIRTY, L_PMUZZY,
    L_BIN_SIZE, L_BIN_NREGS, L_BIN_CURREGS, L_BIN_CURSLABS, L_BIN_NONFULL, L_BIN_NMALLOC,
    L_BIN_NDALLOC,
    L_ARENA_PURGE, L_ARENAS_PURGE, L_TCACHE_FLUSH, L_TCACHE_ENABLED, L_UTIL_QUERY,
    L_NARENAS, L_NBINS, L_PAGE, L_QUANTUM, L_CLS_SIZE, L_CLS_NREGS, L_CLS_SLAB_SIZE,
};

enum ctl_index { IDX_NONE = 0, IDX_ARENA, IDX_BIN, IDX_OPT };

/* An inner node has kids (ending with a NULL name) or, if index is set, a
 * one-node template that every number (or option name) leads to. A leaf has
 * leaf != L_NONE. */
struct ctl_node {
    const char *name;
    const struct ctl_node *kids;
    enum ctl_index index;
    enum ctl_leaf leaf;
};

#define LEAF(n, l) {n, NULL, IDX_NONE, l}
#define DIR(n, k) {n, k, IDX_NONE, L_NONE}
#define INDEXED(n, t, i) {n, t, i, L_NONE}
#define END {NULL, NULL, IDX_NONE, L_NONE}

/* An indexed node's kids is a one-node template: the node any number names. */
static const struct ctl_node ctl_bin_leaves[] = {
    LEAF("size", L_BIN_SIZE), LEAF("nregs", L_BIN_NREGS), LEAF("curregs", L_BIN_CURREGS),
    LEAF("curslabs", L_BIN_CURSLABS), LEAF("nonfull_slabs", L_BIN_NONFULL),
    LEAF("nmalloc", L_BIN_NMALLOC), LEAF("ndalloc", L_BIN_NDALLOC), END};
static const struct ctl_node ctl_bin_tmpl[] = {DIR(NULL, ctl_bin_leaves)};
static const struct ctl_node ctl_sarena_kids[] = {
    LEAF("pdirty", L_PDIRTY), LEAF("pmuzzy", L_PMUZZY), INDEXED("bins", ctl_bin_tmpl, IDX_BIN), END};
static const struct ctl_node ctl_sarena_tmpl[] = {DIR(NULL, ctl_sarena_kids)};
static const struct ctl_node ctl_stats_kids[] = {
    LEAF("allocated", L_ALLOCATED), LEAF("active", L_ACTIVE), LEAF("resident", L_RESIDENT),
    LEAF("mapped", L_MAPPED), LEAF("retained", L_RETAINED), LEAF("metadata", L_METADATA),
    INDEXED("arenas", ctl_sarena_tmpl, IDX_ARENA), END};
static const struct ctl_node ctl_arena_kids[] = {LEAF("purge", L_ARENA_PURGE), END};
static const struct ctl_node ctl_arena_tmpl[] = {DIR(NULL, ctl_arena_kids)};
static const struct ctl_node ctl_cls_leaves[] = {
    LEAF("size", L_CLS_SIZE), LEAF("nregs", L_CLS_NREGS), LEAF("slab_size", L_CLS_SLAB_SIZE), END};
static const struct ctl_node ctl_cls_tmpl[] = {DIR(NULL, ctl_cls_leaves)};
static const struct ctl_node ctl_arenas_kids[] = {
    LEAF("purge", L_ARENAS_PURGE), LEAF("narenas", L_NARENAS), LEAF("nbins", L_NBINS),
    LEAF("page", L_PAGE), LEAF("quantum", L_QUANTUM), INDEXED("bin", ctl_cls_tmpl, IDX_BIN), END};
static const struct ctl_node ctl_tcache_kids[] = {
    LEAF("flush", L_TCACHE_FLUSH), LEAF("enabled", L_TCACHE_ENABLED), END};
static const struct ctl_node ctl_thread_kids[] = {DIR("tcache", ctl_tcache_kids), END};
static const struct ctl_node ctl_util_kids[] = {LEAF("query", L_UTIL_QUERY), END};
static const struct ctl_node ctl_opt_tmpl[] = {LEAF(NULL, L_OPT)};
static const struct ctl_node ctl_root_kids[] = {
    LEAF("version", L_VERSION), LEAF("epoch", L_EPOCH),
    LEAF("background_thread", L_BACKGROUND), INDEXED("opt", ctl_opt_tmpl, IDX_OPT),
    DIR("stats", ctl_stats_kids), INDEXED("arena", ctl_arena_tmpl, IDX_ARENA),
    DIR("arenas", ctl_arenas_kids), DIR("thread", ctl_thread_kids),
    DIR("utilization", ctl_util_kids), END};
static const struct ctl_node ctl_root = DIR("", ctl_root_kids);

/* ---- name → mib ------------------------------------------------------------ */

/* Whether arena component c names all arenas. */
static bool ctl_arenas_all(size_t c) {
    return c == BALLOC_CTL_ARENAS_ALL || c == arena_count();
}

/* The arena functions' index for arena component c (ARENA_MAX: all). */
static unsigned ctl_arena(size_t c) {
    return ctl_arenas_all(c) ? ARENA_MAX : (unsigned)c;
}

/* The child of n named by s[0, len), and its mib component; NULL if none. */
static const struct ctl_node *ctl_child(const struct ctl_node *n, const char *s, size_t len,
                                        size_t *comp) {
    if (n->leaf != L_NONE || n->kids == NULL)
        return NULL;
    if (n->index == IDX_OPT) {
        int id = opts_find(s, len);
        if (id < 0)
            return NULL;
        *comp = (size_t)id;
        return n->kids;
    }
    if (n->index != IDX_NONE) {
        if (n->index == IDX_ARENA && len == 3 && memcmp(s, "all", 3) == 0) {
            *comp = BALLOC_CTL_ARENAS_ALL;
            return n->kids;
        }
        size_t v = 0;
        if (len == 0 || len > 4)
            return NULL;
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return NULL;
            v = v * 10 + (size_t)(s[i] - '0');
        }
        if (n->index == IDX_ARENA && ctl_arenas_all(v))
            v = BALLOC_CTL_ARENAS_ALL;
        else if (v >= (n->index == IDX_ARENA ? arena_count() : (size_t)SC_NSMALL))
            return NULL;
        *comp = v;
        return n->kids;
    }
    for (size_t i = 0; n->kids[i].name; i++) {
        if (strlen(n->kids[i].name) == len && memcmp(n->kids[i].name, s, len) == 0) {
            *comp = i;
            return &n->kids[i];
        }
    }
    return NULL;
}

/* Follow mib from the root; the leaf reached, or NULL. */
static const struct ctl_node *ctl_walk(const size_t *mib, size_t miblen) {
    const struct ctl_node *n = &ctl_root;
    for (size_t d = 0; d < miblen; d++) {
        if (n->leaf != L_NONE || n->kids == NULL)
            return NULL;
        size_t c = mib[d];
        if (n->index == IDX_OPT) {
            if (c >= OPT_COUNT)
                return NULL;
            n = n->kids;
        } else if (n->index != IDX_NONE) {
            size_t lim = n->index == IDX_ARENA ? arena_count() : (size_t)SC_NSMALL;
            if (c >= lim && !(n->index == IDX_ARENA && ctl_arenas_all(c)))
                return NULL;
            n = n->kids;
        } else {
            size_t k = 0;
            while (n->kids[k].name && k < c)
                k++;
            if (n->kids[k].name == NULL)
                return NULL;
            n = &n->kids[k];
        }
    }
    return n->leaf != L_NONE ? n : NULL;
}

BALLOC_EXPORT int balloc_ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp) {
    if (name == NULL || mibp == NULL || miblenp == NULL)
        return EINVAL;
    (void)balloc_good_size(0);  /* boots balloc: the tree's limits need it */
    const struct ctl_node *n = &ctl_root;
    size_t tmp[CTL_MIB_MAX], depth = 0;
    const char *s = name;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (depth == CTL_MIB_MAX || (n = ctl_child(n, s, len, &tmp[depth])) == NULL)
            return ENOENT;
        depth++;
        if (dot == NULL)
            break;
        s = dot + 1;
    }
    if (n->leaf == L_NONE)
        return ENOENT;
    if (*miblenp < depth)
        return EINVAL;
    memcpy(mibp, tmp, depth * sizeof(size_t));
    *miblenp = depth;
    return 0;
}

/* ---- leaves ------------------------------------------------------------------ */

enum { ACC_R = 1, ACC_W = 2, ACC_ACTION = 4 };

static unsigned ctl_access(enum ctl_leaf l, const size_t *mib) {
    switch (l) {
    case L_EPOCH: case L_BACKGROUND: case L_TCACHE_ENABLED:
        return ACC_R | ACC_W;
    case L_OPT:
        return ACC_R | (opt_table[mib[1]].writable ? ACC_W : 0);
    case L_ARENA_PURGE: case L_ARENAS_PURGE: case L_TCACHE_FLUSH:
        return ACC_ACTION;
    case L_UTIL_QUERY:
        return ACC_R;  /* with the pointer passed in newp */
    default:
        return ACC_R;
    }
}

static size_t ctl_size(enum ctl_leaf l, const size_t *mib) {
    switch (l) {
    case L_VERSION: return sizeof(const char *);
    case L_EPOCH: case L_BIN_NMALLOC: case L_BIN_NDALLOC: return sizeof(uint64_t);
    case L_BACKGROUND: case L_TCACHE_ENABLED: return sizeof(bool);
    case L_BIN_NREGS: case L_CLS_NREGS: return sizeof(uint32_t);
    case L_NARENAS: case L_NBINS: return sizeof(unsigned);
    case L_UTIL_QUERY: return sizeof(struct balloc_util);
    case L_OPT:
        switch (opt_table[mib[1]].type) {
        case OPT_TYPE_BOOL: return sizeof(bool);
        case OPT_TYPE_ENUM: return sizeof(const char *);
        default: return sizeof(int64_t);
        }
    default:
        return sizeof(size_t);
    }
}

static uint64_t ctl_epoch;

/* Read leaf l into out (ctl_size bytes). q: the pointer of a query. */
static int ctl_read(enum ctl_leaf l, const size_t *mib, void *out, const void *q) {
    static const char *const version = BALLOC_VERSION;
    struct balloc_stats st;
    struct arena_bin_stats bs;
    size_t v = 0, pd = 0, pm = 0;
    memset(&bs, 0, sizeof(bs));
    switch (l) {
    case L_VERSION: memcpy(out, &version, sizeof(version)); return 0;
    case L_EPOCH: memcpy(out, &ctl_epoch, sizeof(ctl_epoch)); return 0;
    case L_BACKGROUND: { bool b = background_enabled(); memcpy(out, &b, sizeof(b)); return 0; }
    case L_TCACHE_ENABLED: { bool b = tcache_enabled(&tcache_tls); memcpy(out, &b, sizeof(b)); return 0; }
    case L_OPT: {
        const struct opt_def *d = &opt_table[mib[1]];
        int64_t x = opt_value[mib[1]];
        if (d->type == OPT_TYPE_BOOL) {
            bool b = x != 0;
            memcpy(out, &b, sizeof(b));
        } else if (d->type == OPT_TYPE_ENUM) {
            memcpy(out, &d->names[x], sizeof(const char *));
        } else {
            memcpy(out, &x, sizeof(x));
        }
        return 0;
    }
    case L_ALLOCATED: case L_ACTIVE: case L_RESIDENT: case L_MAPPED: case L_RETAINED: case L_METADATA:
        balloc_get_stats(&st);
        v = l == L_ALLOCATED ? st.allocated : l == L_ACTIVE ? st.active : l == L_RESIDENT ? st.resident
          : l == L_MAPPED ? st.mapped : l == L_RETAINED ? st.retained : st.metadata;
        break;
    case L_PDIRTY: case L_PMUZZY:
        arena_stats_one(ctl_arena(mib[2]), -1, NULL, &pd, &pm);
        v = l == L_PDIRTY ? pd : pm;
        break;
    case L_BIN_SIZE: v = sc_size[mib[4]]; break;
    case L_NARENAS: case L_NBINS: {
        unsigned n = l == L_NARENAS ? arena_count() : (unsigned)SC_NSMALL;
        memcpy(out, &n, sizeof(n));
        return 0;
    }
    case L_PAGE: v = PAGE_SIZE_B; break;
    case L_QUANTUM: v = SC_QUANTUM; break;
    case L_CLS_SIZE: v = sc_size[mib[2]]; break;
    case L_CLS_NREGS: { uint32_t n = sc_slab_nregs[mib[2]]; memcpy(out, &n, sizeof(n)); return 0; }
    case L_CLS_SLAB_SIZE: v = (size_t)sc_slab_pages[mib[2]] * PAGE_SIZE_B; break;
    case L_BIN_NREGS: { uint32_t n = sc_slab_nregs[mib[4]]; memcpy(out, &n, sizeof(n)); return 0; }
    case L_BIN_CURREGS: case L_BIN_CURSLABS: case L_BIN_NONFULL: case L_BIN_NMALLOC: case L_BIN_NDALLOC:
        arena_stats_one(ctl_arena(mib[2]), (int)mib[4], &bs, NULL, NULL);
        if (l == L_BIN_NMALLOC || l == L_BIN_NDALLOC) {
            uint64_t n = l == L_BIN_NMALLOC ? bs.nmalloc : bs.ndalloc;
            memcpy(out, &n, sizeof(n));
            return 0;
        }
        v = l == L_BIN_CURREGS ? bs.curregs : l == L_BIN_CURSLABS ? bs.curslabs : bs.nonfull_slabs;
        break;
    case L_UTIL_QUERY: {
        /* A live block's slab or run (a huge block: 0, 1, its usable size). */
        struct arena_util a;
        if (chunk_kind_of((uintptr_t)q) == CHUNK_KIND_ARENA) {
            if (!arena_util_query(q, &a))
                return EINVAL;
        } else {
            struct huge_hdr *h = huge_hdr_of(q);
            if (h == NULL)
                return EINVAL;
            a = (struct arena_util){.nregs = 1, .size = h->usable, .slab_size = h->usable};
        }
        struct balloc_util u = {.nfree = a.nfree, .nregs = a.nregs, .size = a.size,
                                .bin_nfree = a.bin_nfree, .bin_nregs = a.bin_nregs,
                                .slabcur = a.slabcur, .slab_size = a.slab_size};
        memcpy(out, &u, sizeof(u));
        return 0;
    }
    default:
        return ENOENT;
    }
    memcpy(out, &v, sizeof(v));
    return 0;
}

static int ctl_write(enum ctl_leaf l, const size_t *mib, const void *in) {
    bool b = false;
    int64_t x = 0;
    if (ctl_size(l, mib) == sizeof(bool))
        memcpy(&b, in, sizeof(b));
    else if (in)
        memcpy(&x, in, sizeof(x));
    switch (l) {
    case L_EPOCH: ctl_epoch++; return 0;
    case L_TCACHE_ENABLED: tcache_set_enabled(&tcache_tls, b); return 0;
    case L_BACKGROUND:
        return opts_set(OPT_BACKGROUND_THREAD, b);
    case L_OPT:  /* range and on-set hook: the options table's */
        return opts_set((int)mib[1], ctl_size(l, mib) == sizeof(bool) ? b : x);
    case L_ARENA_PURGE:
        if (ctl_arena(mib[1]) == ARENA_MAX)
            arena_purge_all();
        else
            arena_purge_one((unsigned)mib[1]);
        return 0;
    case L_ARENAS_PURGE: balloc_purge(); return 0;
    case L_TCACHE_FLUSH: balloc_thread_flush(); return 0;
    default: return EPERM;
    }
}

BALLOC_EXPORT int balloc_ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                                   void *newp, size_t newlen) {
    if (mib == NULL)
        return EINVAL;
    (void)balloc_good_size(0);
    const struct ctl_node *n = ctl_walk(mib, miblen);
    if (n == NULL)
        return ENOENT;
    enum ctl_leaf l = n->leaf;
    unsigned acc = ctl_access(l, mib);
    size_t size = ctl_size(l, mib);
    bool reading = oldp != NULL || oldlenp != NULL, writing = newp != NULL || newlen != 0;
    if (acc & ACC_ACTION) {
        if (reading || writing)
            return EPERM;  /* an action takes no value (as jemalloc says it) */
        return ctl_write(l, mib, NULL);
    }
    if (l == L_UTIL_QUERY) {
        /* The pointer goes in through newp; the answer comes out through oldp. */
        if (newp == NULL || newlen != sizeof(void *) || oldp == NULL || oldlenp == NULL ||
            *oldlenp != size)
            return EINVAL;
        const void *q;
        memcpy(&q, newp, sizeof(q));
        return q ? ctl_read(l, mib, oldp, q) : EINVAL;
    }
    if (writing && !(acc & ACC_W))
        return EPERM;
    if (reading && (oldp == NULL || oldlenp == NULL || *oldlenp != size))
        return EINVAL;
    if (writing && (newp == NULL || newlen != size))
        return EINVAL;
    int rc;
    unsigned char old[sizeof(struct balloc_util)];
    if (reading && (rc = ctl_read(l, mib, old, NULL)) != 0)
        return rc;
    if (writing && (rc = ctl_write(l, mib, newp)) != 0)
        return rc;
    if (reading)
        memcpy(oldp, old, size);
    return 0;
}

BALLOC_EXPORT int balloc_ctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
                             size_t newlen) {
    size_t mib[CTL_MIB_MAX], len = CTL_MIB_MAX;
    int rc = balloc_ctl_nametomib(name, mib, &len);
    return rc ? rc : balloc_ctl_bymib(mib, len, oldp, oldlenp, newp, newlen);
}

/* ---- stats printer -------------------------------------------------------- */

struct ctl_out {
    void (*write)(void *, const char *);
    void *arg;
};

static void __attribute__((format(printf, 2, 3))) ctl_printf(struct ctl_out *o, const char *fmt, ...) {
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    o->write(o->arg, buf);
}

BALLOC_EXPORT void balloc_stats_print(void (*write)(void *, const char *), void *arg, int json) {
    if (write == NULL)
        return;
    struct ctl_out o = {write, arg};
    struct balloc_stats st;
    balloc_get_stats(&st);
    size_t pd = 0, pm = 0;
    arena_stats_one(ARENA_MAX, -1, NULL, &pd, &pm);
    ctl_printf(&o, json ? "{\"balloc\": {\"version\": \"%s\", \"stats_version\": %u,\n  \"opt\": {"
                        : "balloc %s (stats version %u)\noptions:\n", BALLOC_VERSION, st.version);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *d = &opt_table[i];
        int64_t v = opt_value[i];
        if (d->type == OPT_TYPE_ENUM)
            ctl_printf(&o, json ? "%s\"%s\": \"%s\"" : "%s  %-18s %s\n", json && i ? ", " : "", d->name,
                       d->names[v]);
        else if (d->type == OPT_TYPE_BOOL)
            ctl_printf(&o, json ? "%s\"%s\": %s" : "%s  %-18s %s\n", json && i ? ", " : "", d->name,
                       v ? "true" : "false");
        else
            ctl_printf(&o, json ? "%s\"%s\": %lld" : "%s  %-18s %lld\n", json && i ? ", " : "", d->name,
                       (long long)v);
    }
    ctl_printf(&o, json ? "},\n  \"stats\": {\"allocated\": %zu, \"active\": %zu, \"resident\": %zu, "
                          "\"mapped\": %zu, \"retained\": %zu, \"metadata\": %zu, \"dirty\": %zu, "
                          "\"muzzy\": %zu, \"frag_smallbins\": %zu, \"huge_allocated\": %zu, "
                          "\"narenas\": %u, \"nthreads\": %u, \"pdirty\": %zu, \"pmuzzy\": %zu},\n"
                          "  \"bins\": ["
                        : "stats:\n  allocated %zu\n  active %zu\n  resident %zu\n  mapped %zu\n"
                          "  retained %zu\n  metadata %zu\n  dirty %zu\n  muzzy %zu\n"
                          "  frag_smallbins %zu\n  huge_allocated %zu\n  narenas %u\n  nthreads %u\n"
                          "  pdirty %zu\n  pmuzzy %zu\n"
                          "bins:     size  nregs    curregs  curslabs   nonfull      nmalloc      ndalloc\n",
               st.allocated, st.active, st.resident, st.mapped, st.retained, st.metadata, st.dirty,
               st.muzzy, st.frag_smallbins, st.huge_allocated, st.narenas, st.nthreads, pd, pm);
    int first = 1;
    for (unsigned c = 0; c < SC_NSMALL; c++) {
        struct arena_bin_stats bs;
        memset(&bs, 0, sizeof(bs));
        arena_stats_one(ARENA_MAX, (int)c, &bs, NULL, NULL);
        if (bs.nmalloc == 0)
            continue;
        ctl_printf(&o, json ? "%s\n    {\"bin\": %u, \"size\": %u, \"nregs\": %u, \"curregs\": %zu, "
                              "\"curslabs\": %zu, \"nonfull_slabs\": %zu, \"nmalloc\": %llu, "
                              "\"ndalloc\": %llu}"
                            : "%s  %3u %6u %6u %10zu %9zu %9zu %12llu %12llu\n",
                   json && !first ? "," : "", c, (unsigned)sc_size[c], (unsigned)sc_slab_nregs[c],
                   bs.curregs, bs.curslabs, bs.nonfull_slabs, (unsigned long long)bs.nmalloc,
                   (unsigned long long)bs.ndalloc);
        first = 0;
    }
    if (json)
        o.write(o.arg, "\n  ]\n}}\n");
}
