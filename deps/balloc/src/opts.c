#include "opts.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const opt_policy_names[] = {"fullest", "lowest", NULL};

/* The one table of options. Ranges are inclusive; decay times of -1 mean
 * "never purge", 0 "purge at once". */
const struct opt_def opt_table[OPT_COUNT] = {
    [OPT_NARENAS] = {"narenas", OPT_TYPE_INT, 0, 0, 256, NULL,
                     "number of arenas; 0: one per CPU"},
    [OPT_TCACHE] = {"tcache", OPT_TYPE_BOOL, 1, 0, 1, NULL,
                    "per-thread caches of small and small-large blocks"},
    [OPT_TCACHE_MAX] = {"tcache_max", OPT_TYPE_INT, 32768, 0, 32768, NULL,
                        "largest block size a thread cache holds"},
    [OPT_DIRTY_DECAY_MS] = {"dirty_decay_ms", OPT_TYPE_INT, 10000, -1, INT32_MAX, NULL,
                            "time for freed (dirty) pages to become muzzy or retained"},
    [OPT_MUZZY_DECAY_MS] = {"muzzy_decay_ms", OPT_TYPE_INT, 0, -1, INT32_MAX, NULL,
                            "time for muzzy (MADV_FREE) pages to become retained; 0: skip muzzy"},
    [OPT_BACKGROUND_THREAD] = {"background_thread", OPT_TYPE_BOOL, 0, 0, 1, NULL,
                               "purge from a background thread instead of allocating threads"},
    [OPT_SLAB_POLICY] = {"slab_policy", OPT_TYPE_ENUM, 0, 0, 1, opt_policy_names,
                         "slab a bin refills from: fullest or lowest address"},
};

int64_t opt_value[OPT_COUNT];

static void opts_warn(const char *what, const char *s, size_t n) {
    char buf[200];
    size_t k = 0;
    const char *pre = "balloc: ";
    while (*pre)
        buf[k++] = *pre++;
    while (*what && k < 60)
        buf[k++] = *what++;
    buf[k++] = '"';
    for (size_t i = 0; i < n && k < sizeof(buf) - 3; i++)
        buf[k++] = s[i];
    buf[k++] = '"';
    buf[k++] = '\n';
    ssize_t w = write(2, buf, k);
    (void)w;
}

int opts_find(const char *name, size_t len) {
    for (int i = 0; i < OPT_COUNT; i++)
        if (strlen(opt_table[i].name) == len && memcmp(opt_table[i].name, name, len) == 0)
            return i;
    return -1;
}

static bool opts_eq(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
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

bool opts_set_str(const char *name, size_t name_len, const char *value, size_t value_len) {
    int id = opts_find(name, name_len);
    if (id < 0)
        return true;
    const struct opt_def *d = &opt_table[id];
    int64_t v = -1;
    switch (d->type) {
    case OPT_TYPE_BOOL:
        if (opts_eq(value, value_len, "true") || opts_eq(value, value_len, "1"))
            v = 1;
        else if (opts_eq(value, value_len, "false") || opts_eq(value, value_len, "0"))
            v = 0;
        break;
    case OPT_TYPE_INT:
        if (opts_parse_int(value, value_len, &v))
            return true;
        break;
    case OPT_TYPE_ENUM:
        for (int i = 0; d->names[i]; i++)
            if (opts_eq(value, value_len, d->names[i]))
                v = i;
        break;
    }
    if (v < d->min || v > d->max)
        return true;
    opt_value[id] = v;
    return false;
}

void opts_parse(const char *conf) {
    const char *p = conf;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (n > 0 && (colon == NULL ||
                      opts_set_str(p, (size_t)(colon - p), colon + 1, n - (size_t)(colon - p) - 1)))
            opts_warn("BALLOC_CONF: bad entry ", p, n);
        p += n;
        if (*p == ',')
            p++;
    }
}

void opts_boot(void) {
    for (int i = 0; i < OPT_COUNT; i++)
        opt_value[i] = opt_table[i].def;
    /* Older variables, kept as aliases; BALLOC_CONF wins over them. */
    const char *na = getenv("BALLOC_NARENAS");
    if (na && *na && (opts_set_str("narenas", 7, na, strlen(na)) || opt_value[OPT_NARENAS] == 0))
        opts_warn("BALLOC_NARENAS: bad value ", na, strlen(na));
    const char *pol = getenv("BALLOC_SLAB_POLICY");
    if (pol && *pol && opts_set_str("slab_policy", 11, pol, strlen(pol)))
        opts_warn("BALLOC_SLAB_POLICY: bad value ", pol, strlen(pol));
    const char *conf = getenv("BALLOC_CONF");
    if (conf)
        opts_parse(conf);
}
