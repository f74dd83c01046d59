/* opts — balloc's options, from one table (opts.c): each option's name,
 * type, default, range, meaning, whether it may change at run time and what
 * applies the change, and the legacy environment variable that also sets it.
 * Values are read from the compiled-in defaults, then the legacy variables
 * (table order), then BALLOC_CONF ("name:value,name:value"); balloc's boot
 * hands them to their owners. A writable option changes later only through
 * opts_set (balloc_ctl "opt.<name>"), which runs its on-set hook.
 *
 * Parsing never allocates: a malformed entry is reported with one line on
 * stderr (write(2)) naming it, and that option keeps its previous value.
 * Error convention: opts_parse_value returns true on a bad value; opts_set
 * returns 0 or an errno value.
 *
 * Layer: with ctl, at the top (the on-set hooks act on the arenas, the huge
 * cache and the background thread); only balloc.c and ctl.c include this.
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
    OPT_PROF,
    OPT_PROF_SAMPLE_BYTES,
    OPT_PROF_PREFIX,
    OPT_PROF_FINAL,
    OPT_COUNT
};

/* A value is always an int64_t: a bool is 0 or 1, an enum the index of its
 * name, a string its length (the text is in the option's buffer, .text). */
enum opt_type { OPT_TYPE_BOOL, OPT_TYPE_INT, OPT_TYPE_ENUM, OPT_TYPE_STRING };

struct opt_def {
    const char *name;
    enum opt_type type;
    int64_t def, min, max;     /* min <= def <= max; the range is inclusive */
    const char *const *names;  /* OPT_TYPE_ENUM: value i is names[i], NULL-ended */
    char *text;                /* OPT_TYPE_STRING: max + 1 bytes, the default in it */
    const char *meaning;
    bool writable;             /* may change at run time (through opts_set) */
    /* Applies a run-time change to v before it is stored: 0, or an errno
     * value and nothing changed. NULL: storing it is all there is to do.
     * Only a writable option has one. */
    int (*on_set)(int64_t v);
    /* The older variable that also sets it (NULL: none), read before
     * BALLOC_CONF, which wins; it accepts only values >= env_min too. */
    const char *env;
    int64_t env_min;
};

extern const struct opt_def opt_table[OPT_COUNT];
extern int64_t opt_value[OPT_COUNT];
/* prof_prefix's text (OPT_TYPE_STRING). */
extern char opt_prof_prefix[];

/* Defaults, then the environment (call once at start-up). */
void opts_boot(void);
/* Parse conf ("name:value,..."); each bad entry is reported and skipped. */
void opts_parse(const char *conf);
/* Index of an option by name (len bytes), or -1. */
int opts_find(const char *name, size_t len);
/* Read s (n bytes) as a value of option id into *v: "true"/"false"/"1"/"0",
 * a decimal, or one of its names; true if it is none or out of range. A
 * string (max bytes at most) is copied to the option's text. */
bool opts_parse_value(int id, const char *s, size_t n, int64_t *v);
/* Change option id to v at run time: EPERM if it is not writable, EINVAL if
 * v is out of range, else its on-set hook's answer; v is stored on 0 only. */
int opts_set(int id, int64_t v);

#endif
