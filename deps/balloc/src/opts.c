#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "background.h"
#include "huge.h"
#include "prof.h"
#include "tcache.h"
#include "util.h"

/* ---- on-set hooks: a run-time change reaching the option's owners ------- */

/* Every arena and the huge cache; their pages keep the age they have. */
static int opts_on_set_dirty_decay(int64_t ms) {
    arena_set_decay_ms(0, ms);
    huge_set_decay_ms(ms);
    return 0;
}

static int opts_on_set_muzzy_decay(int64_t ms) {
    arena_set_decay_ms(1, ms);
    return 0;
}

/* Threads draw their next interval with the new mean. */
static int opts_on_set_prof_sample(int64_t bytes) {
    prof_set_sample_bytes((uint64_t)bytes);
    tcache_prof_redraw(&tcache_tls);
    return 0;
}

static int opts_on_set_background(int64_t on) {
    if (background_enable(on != 0)) {
        background_enable(false);  /* could not start: leave it as it was (off) */
        return EAGAIN;
    }
    return 0;
}

/* ---- the table -------------------------------------------------------------- */

static const char *const opt_policy_names[] = {"fullest", "lowest", NULL};

#define OPT_PREFIX_MAX 200
char opt_prof_prefix[OPT_PREFIX_MAX + 1] = "balloc";

/* The one table of options. Decay times of -1 mean "never purge", 0 "purge
 * at once". BALLOC_NARENAS, a count, has no "one per CPU" 0. */
const struct opt_def opt_table[OPT_COUNT] = {
    [OPT_NARENAS] = {.name = "narenas", .type = OPT_TYPE_INT, .def = 0, .min = 0, .max = 256,
                     .meaning = "number of arenas; 0: one per CPU",
                     .env = "BALLOC_NARENAS", .env_min = 1},
    [OPT_TCACHE] = {.name = "tcache", .type = OPT_TYPE_BOOL, .def = 1, .min = 0, .max = 1,
                    .meaning = "per-thread caches of small and small-large blocks"},
    [OPT_TCACHE_MAX] = {.name = "tcache_max", .type = OPT_TYPE_INT, .def = 32768, .min = 0,
                        .max = 32768, .meaning = "largest block size a thread cache holds"},
    [OPT_DIRTY_DECAY_MS] = {.name = "dirty_decay_ms", .type = OPT_TYPE_INT, .def = 10000, .min = -1,
                            .max = INT32_MAX,
                            .meaning = "time for freed (dirty) pages to become muzzy or retained",
                            .writable = true, .on_set = opts_on_set_dirty_decay},
    [OPT_MUZZY_DECAY_MS] = {.name = "muzzy_decay_ms", .type = OPT_TYPE_INT, .def = 0, .min = -1,
                            .max = INT32_MAX,
                            .meaning = "time for muzzy (MADV_FREE) pages to become retained; "
                                       "0: skip muzzy",
                            .writable = true, .on_set = opts_on_set_muzzy_decay},
    [OPT_BACKGROUND_THREAD] = {.name = "background_thread", .type = OPT_TYPE_BOOL, .def = 0,
                               .min = 0, .max = 1,
                               .meaning = "purge from a background thread instead of allocating "
                                          "threads",
                               .writable = true, .on_set = opts_on_set_background},
    [OPT_SLAB_POLICY] = {.name = "slab_policy", .type = OPT_TYPE_ENUM, .def = 0, .min = 0, .max = 1,
                         .names = opt_policy_names,
                         .meaning = "slab a bin refills from: fullest or lowest address",
                         .env = "BALLOC_SLAB_POLICY"},
    [OPT_PROF] = {.name = "prof", .type = OPT_TYPE_BOOL, .def = 0, .min = 0, .max = 1,
                  .meaning = "sample allocations for heap profiles from the start (prof.active "
                             "switches it at run time)"},
    [OPT_PROF_SAMPLE_BYTES] = {.name = "prof_sample_bytes", .type = OPT_TYPE_INT,
                               .def = 512 * 1024, .min = 1, .max = (int64_t)1 << 40,
                               .meaning = "mean bytes allocated between two heap-profile samples",
                               .writable = true, .on_set = opts_on_set_prof_sample},
    [OPT_PROF_PREFIX] = {.name = "prof_prefix", .type = OPT_TYPE_STRING, .def = 6, .min = 1,
                         .max = OPT_PREFIX_MAX, .text = opt_prof_prefix,
                         .meaning = "start of a heap profile's file name: "
                                    "<prefix>.<pid>.<seq>.{m,f}.heap"},
    [OPT_PROF_FINAL] = {.name = "prof_final", .type = OPT_TYPE_BOOL, .def = 0, .min = 0, .max = 1,
                        .meaning = "write a heap profile at exit (<prefix>.<pid>.<seq>.f.heap)"},
};

int64_t opt_value[OPT_COUNT];

/* One line on stderr: balloc: <source>: <problem> "<s>", and for a known
 * option id (else -1) " (<name> stays <value>)": the value it keeps. */
static void opts_warn(const char *source, const char *problem, const char *s, size_t n, int id) {
    char buf[200 + OPT_PREFIX_MAX];
    size_t k = 0;
    const char *parts[] = {"balloc: ", source, ": ", problem, " \""};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        for (const char *c = parts[i]; *c && k < 70; c++)
            buf[k++] = *c;
    for (size_t i = 0; i < n && k < 140; i++)
        buf[k++] = s[i];
    buf[k++] = '"';
    if (id >= 0) {
        const struct opt_def *d = &opt_table[id];
        int64_t v = opt_value[id];
        char num[24];
        const char *shown = num;
        if (d->type == OPT_TYPE_BOOL)
            shown = v ? "true" : "false";
        else if (d->type == OPT_TYPE_ENUM)
            shown = d->names[v];
        else if (d->type == OPT_TYPE_STRING)
            shown = d->text;
        else
            num[util_msg_num(num, 0, (uintptr_t)(v < 0 ? -v : v), 10)] = '\0';
        const char *parts2[] = {" (", d->name, " stays ", v < 0 && shown == num ? "-" : "", shown, ")"};
        for (size_t i = 0; i < sizeof(parts2) / sizeof(parts2[0]); i++)
            for (const char *c = parts2[i]; *c && k < sizeof(buf) - 2; c++)
                buf[k++] = *c;
    }
    buf[k++] = '\n';
    ssize_t w = write(2, buf, k);
    (void)w;
}

static bool opts_eq(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

int opts_find(const char *name, size_t len) {
    for (int i = 0; i < OPT_COUNT; i++)
        if (opts_eq(name, len, opt_table[i].name))
            return i;
    return -1;
}

/* Decimal with an optional leading '-'; true on error or overflow. */
static bool opts_parse_int(const char *s, size_t n, int64_t *out) {
    bool neg = n > 0 && s[0] == '-';
    size_t i = neg;
    if (i == n)
        return true;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            return true;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return false;
}

bool opts_parse_value(int id, const char *s, size_t n, int64_t *v) {
    const struct opt_def *d = &opt_table[id];
    int64_t x = -1;
    switch (d->type) {
    case OPT_TYPE_BOOL:
        if (opts_eq(s, n, "true") || opts_eq(s, n, "1"))
            x = 1;
        else if (opts_eq(s, n, "false") || opts_eq(s, n, "0"))
            x = 0;
        break;
    case OPT_TYPE_INT:
        if (opts_parse_int(s, n, &x))
            return true;
        break;
    case OPT_TYPE_ENUM:
        for (int i = 0; d->names[i]; i++)
            if (opts_eq(s, n, d->names[i]))
                x = i;
        break;
    case OPT_TYPE_STRING:
        x = (int64_t)n;
        if (x < d->min || x > d->max || memchr(s, '\0', n))
            return true;
        memcpy(d->text, s, n);
        d->text[n] = '\0';
        break;
    }
    if (x < d->min || x > d->max)
        return true;
    *v = x;
    return false;
}

int opts_set(int id, int64_t v) {
    const struct opt_def *d = &opt_table[id];
    if (!d->writable)
        return EPERM;
    if (v < d->min || v > d->max)
        return EINVAL;
    int rc = d->on_set ? d->on_set(v) : 0;
    if (rc == 0)
        opt_value[id] = v;
    return rc;
}

void opts_parse(const char *conf) {
    const char *p = conf;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        int id = colon ? opts_find(p, (size_t)(colon - p)) : -1;
        if (n > 0 && (id < 0 || opts_parse_value(id, colon + 1, n - (size_t)(colon - p) - 1,
                                                 &opt_value[id])))
            opts_warn("BALLOC_CONF", "bad entry", p, n, id);
        p += n;
        if (*p == ',')
            p++;
    }
}

void opts_boot(void) {
    for (int i = 0; i < OPT_COUNT; i++)
        opt_value[i] = opt_table[i].def;
    for (int i = 0; i < OPT_COUNT; i++) {
        const char *s = opt_table[i].env ? getenv(opt_table[i].env) : NULL;
        int64_t v;
        if (s == NULL || *s == '\0')
            continue;
        if (opts_parse_value(i, s, strlen(s), &v) || v < opt_table[i].env_min)
            opts_warn(opt_table[i].env, "bad value", s, strlen(s), i);
        else
            opt_value[i] = v;
    }
    const char *conf = getenv("BALLOC_CONF");
    if (conf)
        opts_parse(conf);
}
