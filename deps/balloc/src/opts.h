/* opts — balloc's options, from one table (opts.c): name, type, default,
 * range and meaning. Values are read from the compiled-in defaults, then the
 * legacy variables BALLOC_NARENAS and BALLOC_SLAB_POLICY (aliases of narenas
 * and slab_policy), then BALLOC_CONF ("name:value,name:value"); some may be
 * changed later at run time by their owners.
 *
 * Parsing never allocates: a malformed entry is reported with one line on
 * stderr (write(2)) naming it, and that option keeps its previous value.
 * Error convention: opts_set_str returns true on a bad name or value.
 */
#ifndef BALLOC_OPTS_H
#define BALLOC_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum opt_id {
    OPT_NARENAS,            /* 0 = one per CPU */
    OPT_TCACHE,
    OPT_TCACHE_MAX,
    OPT_DIRTY_DECAY_MS,
    OPT_MUZZY_DECAY_MS,
    OPT_BACKGROUND_THREAD,
    OPT_SLAB_POLICY,
    OPT_COUNT
};

enum opt_type { OPT_TYPE_BOOL, OPT_TYPE_INT, OPT_TYPE_ENUM };

struct opt_def {
    const char *name;
    enum opt_type type;
    int64_t def, min, max;
    const char *const *names;  /* OPT_TYPE_ENUM: value i is names[i] */
    const char *meaning;
};

extern const struct opt_def opt_table[OPT_COUNT];
extern int64_t opt_value[OPT_COUNT];

/* Defaults, then the environment (call once at start-up). */
void opts_boot(void);
/* Parse conf ("name:value,..."); each bad entry is reported and skipped. */
void opts_parse(const char *conf);
/* Set one option from text (value len bytes); true if name or value is bad. */
bool opts_set_str(const char *name, size_t name_len, const char *value, size_t value_len);
/* Index of an option by name, or -1. */
int opts_find(const char *name, size_t len);

#endif
