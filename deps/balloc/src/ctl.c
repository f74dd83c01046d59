/* ctl — balloc_ctl: a static table of leaves, resolved by name or by id (a
 * "mib": one number per name component).
 *
 * The table ctl_leaves below is the name tree: one row per leaf, with its
 * dotted name or pattern, its value's type (an action is a leaf of type
 * CTL_ACTION: it takes no value and its write function does it), how to
 * read it and how to write it (NULL: read-only). In a pattern, <o> is an
 * option's name from the options table (opts.c), which also says whether it
 * is writable; <j> a small size class; <i> an arena: its index, or all
 * arenas spelt "all", 4096 or the arena count (jemalloc's older spelling of
 * all arenas, which servers' purge still uses).
 *
 * A mib component is, for a named component, the leaf's row in the table
 * (so a mib's first component finds its leaf at once); for <o> the option's
 * index; for <j> the class; for <i> the arena's index or, for all arenas,
 * BALLOC_CTL_ARENAS_ALL (4096, jemalloc's MALLCTL_ARENAS_ALL, so a mib that
 * jemalloc's callers patch means the same here; a patched mib may also say
 * the arena count). ctl_lookup, the one walk of the table, resolves names
 * and mibs alike.
 *
 * Error convention: every entry point returns 0 or an errno value, and all
 * checks run before anything is changed, so a failed call changes nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "background.h"
#include "balloc.h"
#include "chunk.h"
#include "huge.h"
#include "opts.h"
#include "prof.h"
#include "sc.h"
#include "tcache.h"
#include "util.h"

#define BALLOC_EXPORT __attribute__((visibility("default")))
#define CTL_MIB_MAX 6

_Static_assert(BALLOC_CTL_ARENAS_ALL > ARENA_MAX, "all arenas is no arena's index");

/* A leaf's value; its size is ctl_size's. */
enum ctl_type {
    CTL_BOOL, CTL_U32, CTL_UNSIGNED, CTL_U64, CTL_SIZE, CTL_STR,
    CTL_OPT,     /* the option's: bool, int64_t, or const char * (an enum's name) */
    CTL_QUERY,   /* struct balloc_util out (oldp) for a pointer in (newp) */
    CTL_ACTION,  /* no value */
    CTL_PATH,    /* an action that may be given a const char * (a file's path) */
};

struct ctl_leaf;

/* A resolved request: the leaf, and what the name's <i>, <j>, <o> chose. */
struct ctl_req {
    const struct ctl_leaf *leaf;
    unsigned arena;     /* <i>: an index, or ARENA_MAX for all arenas */
    unsigned cls;       /* <j> */
    int opt;            /* <o> */
    const void *ptr;    /* CTL_QUERY: the pointer asked about */
};

struct ctl_leaf {
    const char *name;   /* dotted; <i>, <j>, <o> as above; at most CTL_MIB_MAX parts */
    enum ctl_type type;
    /* Put the value (ctl_size bytes) in out: 0, or an errno value and out
     * untouched. */
    int (*read)(const struct ctl_req *r, void *out);
    /* Take the value in (ctl_size bytes; an action: NULL): 0, or an errno
     * value and nothing changed. NULL: read-only. */
    int (*write)(const struct ctl_req *r, const void *in);
    size_t arg;         /* what a shared read function needs: a field's offset, a constant */
};

/* ---- reading and writing ----------------------------------------------------- */

static uint64_t ctl_epoch;

static size_t ctl_size(const struct ctl_req *r) {
    switch (r->leaf->type) {
    case CTL_BOOL: return sizeof(bool);
    case CTL_U32: return sizeof(uint32_t);
    case CTL_UNSIGNED: return sizeof(unsigned);
    case CTL_U64: return sizeof(uint64_t);
    case CTL_STR: return sizeof(const char *);
    case CTL_QUERY: return sizeof(struct balloc_util);
    case CTL_ACTION: return 0;
    case CTL_PATH: return sizeof(const char *);
    case CTL_OPT:
        switch (opt_table[r->opt].type) {
        case OPT_TYPE_BOOL: return sizeof(bool);
        case OPT_TYPE_ENUM:
        case OPT_TYPE_STRING: return sizeof(const char *);
        default: return sizeof(int64_t);
        }
    default: return sizeof(size_t);
    }
}

/* Store the number v in out as the leaf's (numeric) type. */
static int ctl_put(const struct ctl_req *r, uint64_t v, void *out) {
    bool b = v != 0;
    uint32_t u32 = (uint32_t)v;
    unsigned u = (unsigned)v;
    size_t z = (size_t)v;
    const void *src = r->leaf->type == CTL_BOOL ? (const void *)&b
                    : r->leaf->type == CTL_U32 ? (const void *)&u32
                    : r->leaf->type == CTL_UNSIGNED ? (const void *)&u
                    : r->leaf->type == CTL_U64 ? (const void *)&v : (const void *)&z;
    memcpy(out, src, ctl_size(r));
    return 0;
}

static int ctl_read_version(const struct ctl_req *r, void *out) {
    static const char *const version = BALLOC_VERSION;
    (void)r;
    memcpy(out, &version, sizeof(version));
    return 0;
}

static int ctl_read_epoch(const struct ctl_req *r, void *out) { return ctl_put(r, ctl_epoch, out); }

/* Any value advances it. */
static int ctl_write_epoch(const struct ctl_req *r, const void *in) {
    (void)r, (void)in;
    ctl_epoch++;
    return 0;
}

static int ctl_read_background(const struct ctl_req *r, void *out) {
    return ctl_put(r, background_enabled(), out);
}

/* The option's on-set hook starts or stops the thread. */
static int ctl_write_background(const struct ctl_req *r, const void *in) {
    bool b;
    (void)r;
    memcpy(&b, in, sizeof(b));
    return opts_set(OPT_BACKGROUND_THREAD, b);
}

static int ctl_read_opt(const struct ctl_req *r, void *out) {
    const struct opt_def *d = &opt_table[r->opt];
    int64_t x = opt_value[r->opt];
    bool b = x != 0;
    const char *text = d->type == OPT_TYPE_STRING ? d->text : NULL;
    const void *src = d->type == OPT_TYPE_BOOL ? (const void *)&b
                    : d->type == OPT_TYPE_ENUM ? (const void *)&d->names[x]
                    : d->type == OPT_TYPE_STRING ? (const void *)&text : (const void *)&x;
    memcpy(out, src, ctl_size(r));
    return 0;
}

/* Writability and range are the options table's (opts_set). */
static int ctl_write_opt(const struct ctl_req *r, const void *in) {
    const struct opt_def *d = &opt_table[r->opt];
    int64_t x = 0;
    if (d->type == OPT_TYPE_BOOL) {
        bool b;
        memcpy(&b, in, sizeof(b));
        x = b;
    } else if (d->type == OPT_TYPE_ENUM) {
        const char *s;
        memcpy(&s, in, sizeof(s));
        if (s == NULL || opts_parse_value(r->opt, s, strlen(s), &x))
            return EINVAL;
    } else {
        memcpy(&x, in, sizeof(x));
    }
    return opts_set(r->opt, x);
}

/* arg: the field's offset in struct balloc_stats. */
static int ctl_read_stats(const struct ctl_req *r, void *out) {
    struct balloc_stats st;
    size_t v;
    balloc_get_stats(&st);
    memcpy(&v, (const char *)&st + r->leaf->arg, sizeof(v));
    return ctl_put(r, v, out);
}

/* arg: 0 dirty, 1 muzzy. */
static int ctl_read_pages(const struct ctl_req *r, void *out) {
    size_t pd = 0, pm = 0;
    arena_stats_one(r->arena, -1, NULL, &pd, &pm);
    return ctl_put(r, r->leaf->arg ? pm : pd, out);
}

/* arg: the field's offset in struct arena_bin_stats, of the leaf's type. */
static int ctl_read_bin(const struct ctl_req *r, void *out) {
    struct arena_bin_stats bs;
    memset(&bs, 0, sizeof(bs));
    arena_stats_one(r->arena, (int)r->cls, &bs, NULL, NULL);
    memcpy(out, (const char *)&bs + r->leaf->arg, ctl_size(r));
    return 0;
}

static int ctl_read_class_size(const struct ctl_req *r, void *out) {
    return ctl_put(r, sc_size[r->cls], out);
}

static int ctl_read_class_nregs(const struct ctl_req *r, void *out) {
    return ctl_put(r, sc_slab_nregs[r->cls], out);
}

static int ctl_read_class_slab_size(const struct ctl_req *r, void *out) {
    return ctl_put(r, (uint64_t)sc_slab_pages[r->cls] * PAGE_SIZE_B, out);
}

static int ctl_read_narenas(const struct ctl_req *r, void *out) {
    return ctl_put(r, arena_count(), out);
}

/* arg: the value. */
static int ctl_read_const(const struct ctl_req *r, void *out) { return ctl_put(r, r->leaf->arg, out); }

static int ctl_read_tcache_enabled(const struct ctl_req *r, void *out) {
    return ctl_put(r, tcache_enabled(&tcache_tls), out);
}

static int ctl_write_tcache_enabled(const struct ctl_req *r, const void *in) {
    bool b;
    (void)r;
    memcpy(&b, in, sizeof(b));
    tcache_set_enabled(&tcache_tls, b);
    return 0;
}

static int ctl_do_arena_purge(const struct ctl_req *r, const void *in) {
    (void)in;
    if (r->arena == ARENA_MAX)
        arena_purge_all();
    else
        arena_purge_one(r->arena);
    return 0;
}

static int ctl_do_purge(const struct ctl_req *r, const void *in) {
    (void)r, (void)in;
    balloc_purge();
    return 0;
}

static int ctl_read_prof_active(const struct ctl_req *r, void *out) {
    return ctl_put(r, (uint64_t)__atomic_load_n(&prof_active, __ATOMIC_RELAXED), out);
}

static int ctl_write_prof_active(const struct ctl_req *r, const void *in) {
    bool b;
    (void)r;
    memcpy(&b, in, sizeof(b));
    if (!BALLOC_PROF)
        return ENOENT;
    int rc = prof_set_active(b);
    if (rc == 0)
        tcache_prof_redraw(&tcache_tls);
    return rc;
}

/* in: NULL (the default name) or &path. */
static int ctl_do_prof_dump(const struct ctl_req *r, const void *in) {
    const char *path = NULL;
    (void)r;
    if (in)
        memcpy(&path, in, sizeof(path));
    if (!BALLOC_PROF || !__atomic_load_n(&prof_active, __ATOMIC_RELAXED))
        return ENOENT;  /* as jemalloc answers when profiling is not on */
    return prof_dump(path);
}

static int ctl_do_flush(const struct ctl_req *r, const void *in) {
    (void)r, (void)in;
    balloc_thread_flush();
    return 0;
}

/* A live block's slab or run (a huge block: 0, 1, its usable size). */
static int ctl_read_util(const struct ctl_req *r, void *out) {
    struct arena_util a;
    if (r->ptr == NULL)
        return EINVAL;
    if (chunk_kind_of((uintptr_t)r->ptr) == CHUNK_KIND_ARENA) {
        if (!arena_util_query(r->ptr, &a))
            return EINVAL;
    } else {
        struct huge_hdr *h = huge_hdr_of(r->ptr);
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

/* ---- the tree ------------------------------------------------------------------ */

#define STAT(n, f) {"stats." n, CTL_SIZE, ctl_read_stats, NULL, offsetof(struct balloc_stats, f)}
#define BIN(n, t, f) \
    {"stats.arenas.<i>.bins.<j>." n, t, ctl_read_bin, NULL, offsetof(struct arena_bin_stats, f)}

/* Rows that share leading parts stand together (a lookup skips them as one),
 * and no leaf's name is another's leading parts (ctl_parts_build stops the
 * program if one is). */
static const struct ctl_leaf ctl_leaves[] = {
    {"version", CTL_STR, ctl_read_version, NULL, 0},
    {"epoch", CTL_U64, ctl_read_epoch, ctl_write_epoch, 0},
    {"background_thread", CTL_BOOL, ctl_read_background, ctl_write_background, 0},
    {"opt.<o>", CTL_OPT, ctl_read_opt, ctl_write_opt, 0},
    STAT("allocated", allocated),
    STAT("active", active),
    STAT("resident", resident),
    STAT("mapped", mapped),
    STAT("retained", retained),
    STAT("metadata", metadata),
    STAT("prof.samples", prof_samples),
    STAT("prof.sampled_bytes", prof_sampled_bytes),
    {"stats.arenas.<i>.pdirty", CTL_SIZE, ctl_read_pages, NULL, 0},
    {"stats.arenas.<i>.pmuzzy", CTL_SIZE, ctl_read_pages, NULL, 1},
    {"stats.arenas.<i>.bins.<j>.size", CTL_SIZE, ctl_read_class_size, NULL, 0},
    {"stats.arenas.<i>.bins.<j>.nregs", CTL_U32, ctl_read_class_nregs, NULL, 0},
    BIN("curregs", CTL_SIZE, curregs),
    BIN("curslabs", CTL_SIZE, curslabs),
    BIN("nonfull_slabs", CTL_SIZE, nonfull_slabs),
    BIN("nmalloc", CTL_U64, nmalloc),
    BIN("ndalloc", CTL_U64, ndalloc),
    {"arena.<i>.purge", CTL_ACTION, NULL, ctl_do_arena_purge, 0},
    {"arenas.purge", CTL_ACTION, NULL, ctl_do_purge, 0},
    {"arenas.narenas", CTL_UNSIGNED, ctl_read_narenas, NULL, 0},
    {"arenas.nbins", CTL_UNSIGNED, ctl_read_const, NULL, SC_NSMALL},
    {"arenas.page", CTL_SIZE, ctl_read_const, NULL, PAGE_SIZE_B},
    {"arenas.quantum", CTL_SIZE, ctl_read_const, NULL, SC_QUANTUM},
    {"arenas.bin.<j>.size", CTL_SIZE, ctl_read_class_size, NULL, 0},
    {"arenas.bin.<j>.nregs", CTL_U32, ctl_read_class_nregs, NULL, 0},
    {"arenas.bin.<j>.slab_size", CTL_SIZE, ctl_read_class_slab_size, NULL, 0},
    {"prof.active", CTL_BOOL, ctl_read_prof_active, ctl_write_prof_active, 0},
    {"prof.dump", CTL_PATH, NULL, ctl_do_prof_dump, 0},
    {"thread.tcache.flush", CTL_ACTION, NULL, ctl_do_flush, 0},
    {"thread.tcache.enabled", CTL_BOOL, ctl_read_tcache_enabled, ctl_write_tcache_enabled, 0},
    {"utilization.query", CTL_QUERY, ctl_read_util, NULL, 0},
};
#define CTL_NLEAVES (sizeof(ctl_leaves) / sizeof(ctl_leaves[0]))

_Static_assert(sizeof(((struct balloc_stats *)0)->allocated) == sizeof(size_t), "stats are size_t");
_Static_assert(sizeof(((struct arena_bin_stats *)0)->curregs) == sizeof(size_t) &&
               sizeof(((struct arena_bin_stats *)0)->nmalloc) == sizeof(uint64_t),
               "bin figures are the leaves' types");

/* ---- lookup -------------------------------------------------------------------- */

/* The rows' names cut into parts once (at the first lookup), so that a
 * lookup reads no pattern text, skips at once every row that a mismatch
 * rules out, and starts the next row past the parts it shares. */
struct ctl_part {
    uint8_t off, len;   /* in the row's name */
    char index;         /* 'i', 'j' or 'o' for <i>, <j>, <o>; 0: a named part */
    uint8_t next;       /* the first later row whose name differs in this part or before */
};
static struct ctl_part ctl_parts[CTL_NLEAVES][CTL_MIB_MAX];
static uint8_t ctl_nparts[CTL_NLEAVES];
static uint8_t ctl_shared[CTL_NLEAVES + 1];  /* leading parts a row shares with the row before */
static pthread_once_t ctl_parts_once = PTHREAD_ONCE_INIT;

_Static_assert(CTL_NLEAVES < 256, "rows fit next");

/* Whether rows j and k have the same name up to byte end, a part's end in k. */
static bool ctl_same_upto(size_t j, size_t k, size_t end) {
    const char *a = ctl_leaves[j].name, *b = ctl_leaves[k].name;
    return strncmp(a, b, end) == 0 && (a[end] == '.' || a[end] == '\0');
}

static void ctl_parts_build(void) {
    for (size_t k = 0; k < CTL_NLEAVES; k++) {
        const char *name = ctl_leaves[k].name;
        size_t off = 0, d = 0;
        for (;; d++) {
            size_t len = strcspn(name + off, "."), end = off + len, j = k + 1;
            while (j < CTL_NLEAVES && ctl_same_upto(j, k, end))
                j++;
            ctl_parts[k][d] = (struct ctl_part){(uint8_t)off, (uint8_t)len,
                                                name[off] == '<' ? name[off + 1] : 0, (uint8_t)j};
            if (k > 0 && ctl_shared[k] == d && ctl_same_upto(k - 1, k, end))
                ctl_shared[k] = (uint8_t)(d + 1);
            if (name[end] == '\0')
                break;
            off = end + 1;
        }
        for (size_t j = 0; j < CTL_NLEAVES; j++)
            if (j != k && ctl_same_upto(j, k, strlen(name)))
                util_fatal_ptr("balloc_ctl: a leaf's name begins another's", name);
        ctl_nparts[k] = (uint8_t)(d + 1);
    }
}

/* Whether arena component c names all arenas. */
static bool ctl_arenas_all(size_t c) {
    return c == BALLOC_CTL_ARENAS_ALL || c == arena_count();
}

/* Decimal of 1 to 4 digits; true if s[0, n) is not one. */
static bool ctl_parse_index(const char *s, size_t n, size_t *v) {
    if (n == 0 || n > 4)
        return true;
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return true;
        *v = *v * 10 + (size_t)(s[i] - '0');
    }
    return false;
}

/* Part d of row k against the name's part s (sn bytes) or, if s is NULL,
 * against the mib component *c. On a match *c is the part's mib component
 * and r holds what an index part chose. */
static bool ctl_match(size_t k, size_t d, const char *s, size_t sn, size_t *c, struct ctl_req *r) {
    const struct ctl_part *pt = &ctl_parts[k][d];
    char index = pt->index;
    if (index == 0) {
        if (s ? sn != pt->len || memcmp(s, ctl_leaves[k].name + pt->off, sn) != 0 : *c != k)
            return false;
        *c = k;
        return true;
    }
    if (index == 'o') {
        int id = s ? opts_find(s, sn) : *c < OPT_COUNT ? (int)*c : -1;
        *c = (size_t)(r->opt = id);
        return id >= 0;
    }
    size_t v = *c;
    if (s && index == 'i' && sn == 3 && memcmp(s, "all", 3) == 0)
        v = BALLOC_CTL_ARENAS_ALL;
    else if (s && ctl_parse_index(s, sn, &v))
        return false;
    if (index == 'i' && ctl_arenas_all(v)) {
        r->arena = ARENA_MAX;
        *c = BALLOC_CTL_ARENAS_ALL;
        return true;
    }
    if (v >= (index == 'i' ? arena_count() : (size_t)SC_NSMALL))
        return false;
    *(index == 'i' ? &r->arena : &r->cls) = (unsigned)v;
    *c = v;
    return true;
}

/* The one walk of the table: the leaf that name names, with its mib in
 * mib[0, *len); or, if name is NULL, the leaf that mib[0, *len) names (its
 * first component is the row). NULL if none. */
static const struct ctl_leaf *ctl_lookup(const char *name, size_t mib[CTL_MIB_MAX], size_t *len,
                                         struct ctl_req *r) {
    const char *part[CTL_MIB_MAX];
    size_t plen[CTL_MIB_MAX], n = 0, k = 0, end = CTL_NLEAVES;
    pthread_once(&ctl_parts_once, ctl_parts_build);
    if (name) {
        for (const char *s = name;; s += plen[n++] + 1) {
            if (n == CTL_MIB_MAX)
                return NULL;
            part[n] = s;
            plen[n] = strcspn(s, ".");
            if (s[plen[n]] == '\0')
                break;
        }
        n++;
    } else {
        if (*len == 0 || *len > CTL_MIB_MAX || mib[0] >= CTL_NLEAVES)
            return NULL;
        n = *len, k = mib[0], end = k + 1;
    }
    /* Rows are tried in order; parts 0..d-1 of row k have matched. */
    for (size_t d = 0; k < end;) {
        while (d < n && d < ctl_nparts[k] &&
               ctl_match(k, d, name ? part[d] : NULL, name ? plen[d] : 0, &mib[d], r))
            d++;
        if (d == n && d == ctl_nparts[k]) {
            for (d = 0; name && d < n; d++)  /* a named part matched earlier said its row */
                if (ctl_parts[k][d].index == 0)
                    mib[d] = k;
            *len = n;
            return r->leaf = &ctl_leaves[k];
        }
        /* The rows that share parts 0..d with k (0..d-1 if the name or the
         * row ended: no leaf's name is another's leading parts) fail alike;
         * the next row shares its leading parts with them, matched already. */
        k = ctl_parts[k][d < n && d < ctl_nparts[k] ? d : d - 1].next;
        d = ctl_shared[k];
    }
    return NULL;
}

BALLOC_EXPORT int balloc_ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp) {
    if (name == NULL || mibp == NULL || miblenp == NULL)
        return EINVAL;
    (void)balloc_good_size(0);  /* boots balloc: the tree's limits need it */
    size_t tmp[CTL_MIB_MAX], depth = 0;
    struct ctl_req r;
    if (ctl_lookup(name, tmp, &depth, &r) == NULL)
        return ENOENT;
    if (*miblenp < depth)
        return EINVAL;
    memcpy(mibp, tmp, depth * sizeof(size_t));
    *miblenp = depth;
    return 0;
}

/* Read and/or write the leaf r resolved, all checks first. */
static int ctl_access(struct ctl_req *r, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    const struct ctl_leaf *l = r->leaf;
    size_t size = ctl_size(r);
    bool reading = oldp != NULL || oldlenp != NULL, writing = newp != NULL || newlen != 0;
    if (l->type == CTL_ACTION) {
        if (reading || writing)
            return EPERM;  /* an action takes no value (as jemalloc says it) */
        return l->write(r, NULL);
    }
    if (l->type == CTL_PATH) {
        /* Nothing to read; no value, or a path (which may be NULL). */
        if (reading || (writing && (newp == NULL || newlen != size)))
            return reading ? EPERM : EINVAL;
        return l->write(r, newp);
    }
    if (l->type == CTL_QUERY) {
        /* The pointer goes in through newp; the answer comes out through oldp. */
        if (newp == NULL || newlen != sizeof(void *) || oldp == NULL || oldlenp == NULL ||
            *oldlenp != size)
            return EINVAL;
        memcpy(&r->ptr, newp, sizeof(r->ptr));
        return l->read(r, oldp);
    }
    if (writing && (l->write == NULL || (l->type == CTL_OPT && !opt_table[r->opt].writable)))
        return EPERM;
    if (reading && (oldp == NULL || oldlenp == NULL || *oldlenp != size))
        return EINVAL;
    if (writing && (newp == NULL || newlen != size))
        return EINVAL;
    int rc;
    union { uint64_t u64; size_t z; const char *s; int64_t i64; bool b; } old;
    if (reading && (rc = l->read(r, &old)) != 0)
        return rc;
    if (writing && (rc = l->write(r, newp)) != 0)
        return rc;
    if (reading)
        memcpy(oldp, &old, size);
    return 0;
}

BALLOC_EXPORT int balloc_ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                                   void *newp, size_t newlen) {
    if (mib == NULL)
        return EINVAL;
    (void)balloc_good_size(0);
    size_t m[CTL_MIB_MAX];
    struct ctl_req r = {0};
    if (miblen > CTL_MIB_MAX)
        return ENOENT;
    memcpy(m, mib, miblen * sizeof(size_t));
    if (ctl_lookup(NULL, m, &miblen, &r) == NULL)
        return ENOENT;
    return ctl_access(&r, oldp, oldlenp, newp, newlen);
}

BALLOC_EXPORT int balloc_ctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
                             size_t newlen) {
    if (name == NULL)
        return EINVAL;
    (void)balloc_good_size(0);
    size_t mib[CTL_MIB_MAX], len = 0;
    struct ctl_req r = {0};
    if (ctl_lookup(name, mib, &len, &r) == NULL)
        return ENOENT;
    return ctl_access(&r, oldp, oldlenp, newp, newlen);
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
        if (d->type == OPT_TYPE_ENUM || d->type == OPT_TYPE_STRING)
            ctl_printf(&o, json ? "%s\"%s\": \"%s\"" : "%s  %-18s %s\n", json && i ? ", " : "", d->name,
                       d->type == OPT_TYPE_STRING ? d->text : d->names[v]);
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
                          "\"narenas\": %u, \"nthreads\": %u, \"pdirty\": %zu, \"pmuzzy\": %zu, "
                          "\"prof.samples\": %zu, \"prof.sampled_bytes\": %zu},\n"
                          "  \"bins\": ["
                        : "stats:\n  allocated %zu\n  active %zu\n  resident %zu\n  mapped %zu\n"
                          "  retained %zu\n  metadata %zu\n  dirty %zu\n  muzzy %zu\n"
                          "  frag_smallbins %zu\n  huge_allocated %zu\n  narenas %u\n  nthreads %u\n"
                          "  pdirty %zu\n  pmuzzy %zu\n  prof.samples %zu\n  prof.sampled_bytes %zu\n"
                          "bins:     size  nregs    curregs  curslabs   nonfull      nmalloc      ndalloc\n",
               st.allocated, st.active, st.resident, st.mapped, st.retained, st.metadata, st.dirty,
               st.muzzy, st.frag_smallbins, st.huge_allocated, st.narenas, st.nthreads, pd, pm,
               st.prof_samples, st.prof_sampled_bytes);
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
