/* examples/demo.c -- a Redis-like key-value workload on zmalloc.
 *
 * A chained hash table of keys and values, built only through the zmalloc
 * API, goes through the life of a cache:
 *
 *   1. insert N keys with small values (16 B - 512 B, mostly small)
 *   2. delete a random half of them
 *   3. insert keys with larger values (512 B - 4 KiB) until used memory is
 *      back at the phase-1 level
 *   4. active defrag, as a server's timer runs it, until a pass moves
 *      nothing: only where the backend has it (HAVE_DEFRAG); elsewhere the
 *      phases below are numbered one down
 *   5. zmalloc_purge(): hand free pages back to the OS
 *   6. free everything: the counter must be back where it started; with
 *      --lazy-free the main thread hands the whole key space to lazy free's
 *      background thread (zmalloc_lazyfree_job) instead, and the phase shows
 *      the main thread's pause, the pending figures while the thread frees,
 *      and the thread's time
 *
 * After each phase it prints the figures a server's INFO memory section
 * shows, from one zmalloc_get_memory_report() call. With --heap-profile
 * PATH it writes a heap profile after phase 3 (zmalloc_heap_profile_dump),
 * where the allocator samples: BALLOC_CONF=prof:true for balloc,
 * MALLOC_CONF=prof:true for jemalloc; `jeprof --text demo PATH` reads it.
 *
 * Build from the repository root with `make demo`, or by hand:
 *   cc -std=c11 -O2 -I. examples/demo.c zmalloc.c zmalloc_defrag.c
 *      zmalloc_report.c zmalloc_lazyfree.c -lpthread -o demo
 * (add -DUSE_JEMALLOC ... -ljemalloc and so on for another backend; compile
 * all the files with the same flags). Run `./demo --help` for the options. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zmalloc.h"

#define DEFAULT_KEYS 1000000ULL
#define DEFAULT_SEED 42ULL
#define MAX_KEYS 1000000000ULL /* the delete phase indexes keys with uint32_t */

/* Phase-1 values are 16 B - 512 B, phase-3 values 512 B - 4 KiB. */
#define SMALL_MIN 16
#define SMALL_MAX 512
#define LARGE_MIN 512
#define LARGE_MAX 4096

/* Roughly what one phase-1 key costs (entry, key, value, bucket slot, page
 * overhead), to refuse a key count this machine cannot hold. */
#define BYTES_PER_KEY_ESTIMATE 300ULL

/* ---- Random numbers ------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static void rng_seed(uint64_t seed) { rng_state = mix64(seed + 0x9e3779b97f4a7c15ULL) | 1; }

static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, 1). */
static double rng_unit(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }

/* Uniform in [0, n). */
static uint64_t rng_below(uint64_t n) { return rng_next() % n; }

/* Most values small, as in a cache of sessions and counters: cubing a
 * uniform number piles the sizes up near the low end. */
static size_t small_value_size(void) {
    double u = rng_unit();
    return SMALL_MIN + (size_t)((SMALL_MAX - SMALL_MIN) * u * u * u + 0.5);
}

static size_t large_value_size(void) {
    double u = rng_unit();
    return LARGE_MIN + (size_t)((LARGE_MAX - LARGE_MIN) * u * u + 0.5);
}

/* ---- Bookkeeping of our own blocks --------------------------------------- */

/* What this program holds, block by block. `counted` is the sum of
 * zmalloc_size() and must always equal what zmalloc_used_memory() gained
 * since the start: the counter is exact. */
static struct {
    size_t blocks;
    size_t requested; /* bytes asked for */
    size_t usable;    /* sum of zmalloc_usable_size() */
    size_t counted;   /* sum of zmalloc_size() */
} tally;

static void note_alloc(void *p, size_t request) {
    tally.blocks++;
    tally.requested += request;
    tally.usable += zmalloc_usable_size(p);
    tally.counted += zmalloc_size(p);
}

/* Call before the block is freed or reallocated. */
static void note_free(void *p, size_t request) {
    tally.blocks--;
    tally.requested -= request;
    tally.usable -= zmalloc_usable_size(p);
    tally.counted -= zmalloc_size(p);
}

static void *demo_alloc(size_t size) {
    void *p = zmalloc(size);
    note_alloc(p, size);
    return p;
}

static void demo_free(void *p, size_t size) {
    note_free(p, size);
    zfree(p);
}

/* ---- The key space: a chained hash table --------------------------------- */

typedef struct entry {
    struct entry *next;
    uint64_t hash;
    char *key;          /* zstrdup'ed */
    unsigned char *val; /* vlen bytes, filled with a byte derived from hash */
    size_t vlen;
} entry;

typedef struct {
    entry **buckets; /* size slots, size a power of two */
    size_t size;
    size_t count;
} keyspace;

static size_t corrupt_values; /* values found altered when freed */

/* FNV-1a, then a final mix so the low bits (the bucket index) are good. */
static uint64_t hash_key(const char *key) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *s = (const unsigned char *)key; *s; s++) {
        h ^= *s;
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

static unsigned char fill_byte(uint64_t hash) { return (unsigned char)(hash >> 56); }

static void ks_init(keyspace *ks) {
    ks->size = 16;
    ks->count = 0;
    ks->buckets = zcalloc(ks->size * sizeof(entry *));
    note_alloc(ks->buckets, ks->size * sizeof(entry *));
}

/* Double the bucket array in place with zrealloc, then split each old chain
 * between slot i and slot i + old size by the next bit of the hash. */
static void ks_grow(keyspace *ks) {
    size_t old = ks->size;
    note_free(ks->buckets, old * sizeof(entry *));
    ks->buckets = zrealloc(ks->buckets, 2 * old * sizeof(entry *));
    note_alloc(ks->buckets, 2 * old * sizeof(entry *));
    memset(ks->buckets + old, 0, old * sizeof(entry *));
    for (size_t i = 0; i < old; i++) {
        entry **link = &ks->buckets[i];
        entry **high = &ks->buckets[i + old];
        while (*link) {
            entry *e = *link;
            if (e->hash & old) {
                *link = e->next;
                e->next = NULL;
                *high = e;
                high = &e->next;
            } else {
                link = &e->next;
            }
        }
    }
    ks->size = 2 * old;
}

/* Every key this program inserts is new, so there is no look-up first. */
static void ks_insert(keyspace *ks, const char *key, size_t vlen) {
    if (ks->count >= ks->size) ks_grow(ks);
    uint64_t h = hash_key(key);
    entry *e = demo_alloc(sizeof(*e));
    e->hash = h;
    e->key = zstrdup(key);
    note_alloc(e->key, strlen(key) + 1);
    e->val = demo_alloc(vlen);
    e->vlen = vlen;
    memset(e->val, fill_byte(h), vlen);
    size_t i = (size_t)h & (ks->size - 1);
    e->next = ks->buckets[i];
    ks->buckets[i] = e;
    ks->count++;
}

static void entry_free(entry *e) {
    unsigned char b = fill_byte(e->hash);
    if (e->val[0] != b || e->val[e->vlen / 2] != b || e->val[e->vlen - 1] != b) corrupt_values++;
    demo_free(e->val, e->vlen);
    demo_free(e->key, strlen(e->key) + 1);
    demo_free(e, sizeof(*e));
}

static int ks_delete(keyspace *ks, const char *key) {
    uint64_t h = hash_key(key);
    for (entry **link = &ks->buckets[(size_t)h & (ks->size - 1)]; *link; link = &(*link)->next) {
        entry *e = *link;
        if (e->hash == h && strcmp(e->key, key) == 0) {
            *link = e->next;
            entry_free(e);
            ks->count--;
            return 1;
        }
    }
    return 0;
}

#ifdef HAVE_DEFRAG
/* The server's side of active defrag: visit 64 buckets from the cursor and
 * let zmalloc move each entry, key and value the hint picks, updating the
 * pointers that lead to them. */
static unsigned long defrag_scan(void *privdata, unsigned long cursor) {
    keyspace *ks = privdata;
    for (int n = 0; n < 64 && cursor < ks->size; n++, cursor++) {
        for (entry **link = &ks->buckets[cursor]; *link; link = &(*link)->next) {
            void *np;
            if ((np = zmalloc_defrag_alloc(*link)) != NULL) *link = np;
            entry *e = *link;
            if ((np = zmalloc_defrag_alloc(e->key)) != NULL) e->key = np;
            if ((np = zmalloc_defrag_alloc(e->val)) != NULL) e->val = np;
        }
    }
    return cursor >= ks->size ? 0 : cursor;
}
#endif

/* ---- Output helpers ------------------------------------------------------ */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "512 B", "12.3 KiB", "1.5 GiB" into buf. */
static const char *human(char *buf, size_t len, unsigned long long n) {
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (n < 1024) {
        snprintf(buf, len, "%llu B", n);
        return buf;
    }
    double v = (double)n / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

/* The same with a sign: "+20.3 MiB", "-1.0 KiB", "0 B". */
static const char *human_signed(char *buf, size_t len, long long n) {
    char tmp[32];
    if (n == 0) {
        snprintf(buf, len, "0 B");
    } else {
        unsigned long long mag = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
        snprintf(buf, len, "%c%s", n < 0 ? '-' : '+', human(tmp, sizeof(tmp), mag));
    }
    return buf;
}

/* One row of a report: label, right-aligned value, note. */
static void row(const char *label, const char *value, const char *note) {
    if (note && note[0])
        printf("    %-26s %12s   %s\n", label, value, note);
    else
        printf("    %-26s %12s\n", label, value);
}

/* "42 us", "850.2 ms", "1.27 s" into buf. */
static const char *duration(char *buf, size_t len, double secs) {
    if (secs < 0.001)
        snprintf(buf, len, "%.0f us", secs * 1e6);
    else if (secs < 1.0)
        snprintf(buf, len, "%.1f ms", secs * 1000.0);
    else
        snprintf(buf, len, "%.2f s", secs);
    return buf;
}

static void row_bytes(const char *label, size_t n, const char *note) {
    char v[32];
    row(label, human(v, sizeof(v), n), note);
}

/* ---- Progress ------------------------------------------------------------ */

static int stdout_tty;

typedef struct {
    const char *label;
    double start;
    int last;      /* last percentage shown */
} progress;

static void progress_begin(progress *p, const char *label) {
    p->label = label;
    p->start = now_seconds();
    p->last = -1;
    if (stdout_tty) {
        printf("\r  %-44s   0%%", label);
        fflush(stdout);
    }
}

/* Cheap when the percentage has not moved: call it on every step. */
static void progress_step(progress *p, uint64_t done, uint64_t total) {
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct > 100) pct = 100;
    if (pct == p->last) return;
    p->last = pct;
    /* Like a server's cron, read the counter now and then so the peak is
     * sampled while the workload runs, not only at report time. */
    (void)zmalloc_used_memory_peak();
    if (stdout_tty) {
        printf("\r  %-44s %3d%%", p->label, pct);
        fflush(stdout);
    } else if (pct > 0 && pct < 100 && pct % 25 == 0) {
        printf("  %-44s %3d%%\n", p->label, pct);
        fflush(stdout);
    }
}

/* Prints the closing line and returns the seconds the phase took. */
static double progress_end(progress *p) {
    double secs = now_seconds() - p->start;
    (void)zmalloc_used_memory_peak();
    char d[32];
    printf("%s  %-44s 100%%   done in %s\n", stdout_tty ? "\r" : "", p->label,
           duration(d, sizeof(d), secs));
    fflush(stdout);
    return secs;
}

/* ---- The memory report --------------------------------------------------- */

static size_t baseline; /* zmalloc_used_memory() when the program started */

static void print_report(int phase, const char *title, double secs, const keyspace *ks) {
    struct zmalloc_report r;
    char a[32], b[32], note[160];

    zmalloc_get_memory_report(&r);
    printf("\n  after phase %d (%s), took %s\n", phase, title, duration(a, sizeof(a), secs));

    printf("  workload\n");
    snprintf(a, sizeof(a), "%zu", ks->count);
    row("keys", a, NULL);
    snprintf(a, sizeof(a), "%zu", tally.blocks);
    row("blocks", a, "entries, keys, values and the bucket array");
    row_bytes("requested", tally.requested, "bytes the program asked for");
    if (tally.requested && tally.usable > tally.requested)
        snprintf(note, sizeof(note), "sum of zmalloc_usable_size(), +%.1f%% size-class rounding",
                 100.0 * (double)(tally.usable - tally.requested) / (double)tally.requested);
    else
        snprintf(note, sizeof(note), "sum of zmalloc_usable_size()");
    row_bytes("usable", tally.usable, note);

    printf("  zmalloc\n");
    if (r.used - baseline == tally.counted)
        snprintf(note, sizeof(note), "zmalloc_used_memory(): equals the sum of zmalloc_size()");
    else
        snprintf(note, sizeof(note), "zmalloc_used_memory(): DIFFERS from the sum of zmalloc_size() (%s)",
                 human(b, sizeof(b), tally.counted));
    row_bytes("used", r.used, note);
    row_bytes("peak", r.peak, "zmalloc_used_memory_peak()");
    row_bytes("rss", r.rss, r.rss ? "resident set size of the process" : "not readable here");

    if (r.allocator_info) {
        printf("  allocator (%s's own figures)\n", r.allocator);
        row_bytes("allocated", r.allocator_allocated, "bytes in live blocks");
        row_bytes("active", r.allocator_active, "bytes in pages holding live blocks");
        row_bytes("resident", r.allocator_resident, "bytes the allocator keeps resident");
        row_bytes("retained", r.allocator_retained, "address space given back, kept mapped");
        row_bytes("muzzy", r.allocator_muzzy, "lazily freed pages (MADV_FREE)");
        row_bytes("frag_smallbins", r.allocator_frag_smallbins, "free bytes inside small-block slabs");
    } else {
        printf("  allocator\n");
        row("allocated .. frag_smallbins", "n/a", "this backend gives no figures");
    }

    printf("  ratios\n");
    snprintf(a, sizeof(a), "%.2f", r.mem_fragmentation_ratio);
    snprintf(note, sizeof(note), "%-12s rss / used", human_signed(b, sizeof(b), r.mem_fragmentation_bytes));
    row("mem_fragmentation_ratio", a, note);
    if (r.allocator_info) {
        snprintf(a, sizeof(a), "%.2f", r.allocator_frag_ratio);
        snprintf(note, sizeof(note), "%-12s (allocated + frag_smallbins) / allocated",
                 human_signed(b, sizeof(b), r.allocator_frag_bytes));
        row("allocator_frag_ratio", a, note);
        snprintf(a, sizeof(a), "%.2f", r.allocator_rss_ratio);
        snprintf(note, sizeof(note), "%-12s resident / active",
                 human_signed(b, sizeof(b), r.allocator_rss_bytes));
        row("allocator_rss_ratio", a, note);
        snprintf(a, sizeof(a), "%.2f", r.rss_overhead_ratio);
        snprintf(note, sizeof(note), "%-12s rss / allocator resident",
                 human_signed(b, sizeof(b), r.rss_overhead_bytes));
        row("rss_overhead_ratio", a, note);
    } else {
        row("allocator_frag_ratio", "n/a", NULL);
        row("allocator_rss_ratio", "n/a", NULL);
        row("rss_overhead_ratio", "n/a", NULL);
    }
    printf("  verdict: %s\n\n", r.verdict[0] ? r.verdict : "(none)");
    fflush(stdout);
}

/* ---- Command line -------------------------------------------------------- */

/* The purge phase follows the defrag phase where there is one. */
#ifdef HAVE_DEFRAG
#define PHASE_PURGE 5
#else
#define PHASE_PURGE 4
#endif

static const char *prog = "demo";

static void usage(FILE *f) {
    fprintf(f,
            "Usage: %s [--keys N | --scale F] [--seed S] [--lazy-free] [--heap-profile PATH]\n"
            "\n"
            "Runs a Redis-like key-value workload on zmalloc and prints the memory\n"
            "report after each phase:\n"
            "  1. insert N keys with %d B - %d B values (mostly small)\n"
            "  2. delete a random half of the keys\n"
            "  3. insert keys with %d B - %d B values until used memory is back\n"
            "     at the phase-1 level\n"
#ifdef HAVE_DEFRAG
            "  4. active defrag until a pass moves nothing\n"
#endif
            "  %d. zmalloc_purge()\n"
            "  %d. free everything (the main thread's pause shown); used memory must\n"
            "     be back at its start value\n"
            "\n"
            "Options:\n"
            "  --keys N    number of keys in phase 1 (default %llu)\n"
            "  --scale F   multiply the default key count by F, e.g. 0.1 or 4\n"
            "  --seed S    seed of the random choices (default %llu)\n"
            "  --lazy-free free everything on lazy free's background thread\n"
            "              (zmalloc_lazyfree_job) and show the main thread's pause\n"
            "  --heap-profile PATH\n"
            "              after phase 3, write a heap profile to PATH (run with\n"
            "              BALLOC_CONF=prof:true on balloc, MALLOC_CONF=prof:true on\n"
            "              jemalloc; read it with jeprof --text %s PATH)\n"
            "  --help      show this text\n"
            "\n"
            "Exit status: 0 when the counter is back at its start value, 1 when it\n"
            "is not, 2 for a bad argument.\n",
            prog, SMALL_MIN, SMALL_MAX, LARGE_MIN, LARGE_MAX, PHASE_PURGE, PHASE_PURGE + 1,
            DEFAULT_KEYS, DEFAULT_SEED, prog);
}

static void bad_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    exit(2);
}

/* Decimal digits only, no sign, no spaces, no overflow. */
static int parse_u64(const char *s, unsigned long long *out) {
    if (*s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int parse_scale(const char *s, double *out) {
    if ((*s < '0' || *s > '9') && *s != '.') return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v > 0.0 && v <= 1e6)) return -1; /* also rejects NaN */
    *out = v;
    return 0;
}

/* Matches "--name value" and "--name=value"; returns the value or NULL. */
static const char *option_value(const char *name, int argc, char **argv, int *i) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != '\0') return NULL;
    if (*i + 1 >= argc) bad_usage("option '%s' needs a value", name);
    return argv[++*i];
}

static void demo_oom(size_t size) {
    fprintf(stderr, "%s: out of memory allocating %zu bytes; try a smaller --scale\n", prog, size);
    exit(1);
}

/* ---- Options ------------------------------------------------------------- */

typedef struct {
    unsigned long long nkeys, seed;
    double scale;
    int have_scale;
    int lazy_free; /* --lazy-free: the last phase frees on lazy free's thread */
    const char *heap_profile; /* --heap-profile PATH, or NULL */
} options;

/* Exits with the usage text for --help, and with status 2 for a bad
 * argument or a key count this machine cannot hold. */
static void options_parse(options *o, int argc, char **argv) {
    const char *scale_arg = "1";
    int have_keys = 0;
    o->nkeys = DEFAULT_KEYS;
    o->seed = DEFAULT_SEED;
    o->scale = 1.0;
    o->have_scale = 0;
    o->lazy_free = 0;
    o->heap_profile = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if ((v = option_value("--keys", argc, argv, &i)) != NULL) {
            if (parse_u64(v, &o->nkeys) || o->nkeys == 0 || o->nkeys > MAX_KEYS)
                bad_usage("--keys wants a whole number from 1 to 1000000000, not '%s'", v);
            have_keys = 1;
        } else if ((v = option_value("--scale", argc, argv, &i)) != NULL) {
            if (parse_scale(v, &o->scale))
                bad_usage("--scale wants a number above 0 (like 0.5 or 2), not '%s'", v);
            scale_arg = v;
            o->have_scale = 1;
        } else if (strcmp(argv[i], "--lazy-free") == 0) {
            o->lazy_free = 1;
        } else if ((v = option_value("--heap-profile", argc, argv, &i)) != NULL) {
            o->heap_profile = v;
        } else if ((v = option_value("--seed", argc, argv, &i)) != NULL) {
            if (parse_u64(v, &o->seed)) bad_usage("--seed wants a whole number >= 0, not '%s'", v);
        } else {
            bad_usage("unknown argument '%s'", argv[i]);
        }
    }
    if (have_keys && o->have_scale) bad_usage("%s", "give --keys or --scale, not both");
    if (o->have_scale) {
        double n = (double)DEFAULT_KEYS * o->scale + 0.5;
        if (n < 1.0) bad_usage("--scale %s leaves no keys: use a larger factor", scale_arg);
        if (n > (double)MAX_KEYS) bad_usage("--scale %s asks for over 1000000000 keys", scale_arg);
        o->nkeys = (unsigned long long)n;
    }
    size_t phys = zmalloc_get_memory_size();
    if (phys && o->nkeys * BYTES_PER_KEY_ESTIMATE > phys / 10 * 8) {
        char need[32], have[32], msg[160];
        snprintf(msg, sizeof(msg), "%llu keys need about %s, more than this machine's %s allows",
                 o->nkeys, human(need, sizeof(need), o->nkeys * BYTES_PER_KEY_ESTIMATE),
                 human(have, sizeof(have), phys));
        bad_usage("%s", msg);
    }
}

/* The allocator, the accounting mode and the run's parameters. */
static void print_header(const options *o) {
    /* What the counter adds per block beyond its usable bytes: 0 when it
     * counts the allocator's usable size, the header size otherwise. */
    void *probe = zmalloc(1);
    size_t header = zmalloc_size(probe) - zmalloc_usable_size(probe);
    zfree(probe);

    char hb[32];
    printf("zmalloc demo: a Redis-like key-value workload\n");
    printf("  allocator        %s\n", ZMALLOC_LIB);
#ifdef HAVE_MALLOC_SIZE
    printf("  accounting       usable-size mode (HAVE_MALLOC_SIZE): each block counts as the\n"
           "                   bytes the allocator really gave it\n");
    if (header)
        printf("  WARNING          zmalloc.c was built in prefix-header mode (%zu B header):\n"
               "                   compile it and this program with the same flags\n",
               header);
#else
    printf("  accounting       prefix-header mode: each block counts as its request plus\n"
           "                   a %zu B header holding the size\n",
           header);
#endif
    if (o->have_scale)
        printf("  keys             %llu (--scale %g)\n", o->nkeys, o->scale);
    else
        printf("  keys             %llu\n", o->nkeys);
    printf("  seed             %llu\n", o->seed);
    printf("  used at start    %s\n", human(hb, sizeof(hb), baseline));
    printf("  output           %s\n\n", stdout_tty ? "terminal" : "not a terminal (progress every 25%)");
    fflush(stdout);
}

/* ---- The phases ------------------------------------------------------------ */

/* Phase 1: many small values. */
static void phase_insert_small(keyspace *ks, unsigned long long nkeys) {
    progress p;
    char key[48], label[64];
    snprintf(label, sizeof(label), "phase 1: insert %llu keys", nkeys);
    progress_begin(&p, label);
    for (unsigned long long id = 0; id < nkeys; id++) {
        snprintf(key, sizeof(key), "user:%llu", id);
        ks_insert(ks, key, small_value_size());
        progress_step(&p, id + 1, nkeys);
    }
    print_report(1, "insert small values", progress_end(&p), ks);
}

/* Phase 2: delete a random half, by key as a DEL would. The first half of a
 * partial Fisher-Yates shuffle picks which. Exits if a key is missing. */
static void phase_delete_half(keyspace *ks, unsigned long long nkeys) {
    progress p;
    char key[48], label[64];
    unsigned long long ndel = nkeys / 2;
    snprintf(label, sizeof(label), "phase 2: delete %llu random keys", ndel);
    progress_begin(&p, label);
    uint32_t *order = demo_alloc((size_t)nkeys * sizeof(uint32_t));
    for (unsigned long long id = 0; id < nkeys; id++) order[id] = (uint32_t)id;
    for (unsigned long long id = 0; id < ndel; id++) {
        unsigned long long j = id + rng_below(nkeys - id);
        uint32_t t = order[id];
        order[id] = order[j];
        order[j] = t;
        snprintf(key, sizeof(key), "user:%" PRIu32, order[id]);
        if (!ks_delete(ks, key)) {
            fprintf(stderr, "\n%s: key %s is missing from the table\n", prog, key);
            exit(1);
        }
        progress_step(&p, id + 1, ndel);
    }
    demo_free(order, (size_t)nkeys * sizeof(uint32_t));
    print_report(2, "delete a random half", progress_end(&p), ks);
}

/* Phase 3: larger values until used memory is back at `target`, where phase
 * 1 left it. The freed small blocks do not fit these, so the allocator takes
 * new pages while the old ones stay partly empty. */
static void phase_refill(keyspace *ks, size_t target) {
    progress p;
    char key[48], label[64], tb[32];
    snprintf(label, sizeof(label), "phase 3: refill to %s", human(tb, sizeof(tb), target));
    progress_begin(&p, label);
    size_t start_used = zmalloc_used_memory();
    size_t goal = target > start_used ? target - start_used : 0;
    unsigned long long added = 0;
    for (size_t used = start_used; used < target; used = zmalloc_used_memory()) {
        snprintf(key, sizeof(key), "blob:%llu", added++);
        ks_insert(ks, key, large_value_size());
        progress_step(&p, zmalloc_used_memory() - start_used, goal);
    }
    double secs = progress_end(&p);
    snprintf(label, sizeof(label), "insert %llu larger values", added);
    print_report(3, label, secs, ks);
}

#ifdef HAVE_DEFRAG
/* Phase 4: active defrag, as a server's timer would run it: 100 ms budgets
 * at full effort until fragmentation is under 5% or a pass moves nothing. */
static void phase_defrag(keyspace *ks) {
    struct zmalloc_defrag_policy policy = {(size_t)1 << 20, 5, 50, 100, 100};
    struct zmalloc_defrag_result r;
    progress p;
    char label[96], tb[32];
    unsigned long cursor = 0;
    size_t moved = 0, moved_pass = 0;
    double first = -1;
    progress_begin(&p, "phase 4: active defrag");
    for (int calls = 0; calls < 1000; calls++) {
        moved_pass += zmalloc_defrag_cycle(&policy, 100000, defrag_scan, ks, &cursor, &r);
        if (first < 0) first = r.frag_pct;
        progress_step(&p, (uint64_t)(first - r.frag_pct > 0 ? first - r.frag_pct : 0),
                      (uint64_t)(first > 5 ? first - 5 : 1));
        if (!r.ran) break;
        if (r.pass_done) {
            moved += moved_pass;
            if (moved_pass == 0) break;
            moved_pass = 0;
        }
    }
    moved += moved_pass;
    double secs = progress_end(&p);
    snprintf(label, sizeof(label), "active defrag moved %s, fragmentation %.1f%% -> %.1f%%",
             human(tb, sizeof(tb), moved), first, r.frag_pct);
    print_report(4, label, secs, ks);
}
#endif

/* Then give free pages back to the OS. */
static void phase_purge(keyspace *ks) {
    progress p;
    char label[64];
    snprintf(label, sizeof(label), "phase %d: zmalloc_purge()", PHASE_PURGE);
    progress_begin(&p, label);
    int purged = zmalloc_purge();
    progress_step(&p, 1, 1);
    double secs = progress_end(&p);
    print_report(PHASE_PURGE,
                 purged == 0 ? "zmalloc_purge() returned 0" : "zmalloc_purge() is not supported here",
                 secs, ks);
}

/* Last phase: free every entry, then the bucket array. */
static void ks_free_all(keyspace *ks, progress *p) {
    for (size_t i = 0; i < ks->size; i++) {
        entry *e = ks->buckets[i];
        while (e) {
            entry *next = e->next;
            entry_free(e);
            ks->count--;
            e = next;
        }
        ks->buckets[i] = NULL;
        if (p) progress_step(p, i + 1, ks->size);
    }
    demo_free(ks->buckets, ks->size * sizeof(entry *));
    ks->buckets = NULL;
    ks->size = 0;
}

/* The server's destructor, run by lazy free's thread. */
static double lazy_end;
static void ks_free_job(void *arg) {
    ks_free_all(arg, NULL);
    lazy_end = now_seconds();
}

static void phase_free_all(keyspace *ks, int lazy) {
    progress p;
    char label[64], a[32], b[32];
    snprintf(label, sizeof(label), "phase %d: free %zu keys%s", PHASE_PURGE + 1, ks->count,
             lazy ? " (lazy free)" : "");
    if (!lazy) {
        progress_begin(&p, label);
        ks_free_all(ks, &p);
        double secs = progress_end(&p);
        printf("  main thread paused %s (the whole free)\n", duration(a, sizeof(a), secs));
        print_report(PHASE_PURGE + 1, "free everything", secs, ks);
        return;
    }
    if (zmalloc_lazyfree_start(NULL) != 0) {
        fprintf(stderr, "%s: zmalloc_lazyfree_start: %s\n", prog, strerror(errno));
        exit(1);
    }
    printf("  %s\n", label);
    size_t blocks = tally.blocks, bytes = tally.counted;
    double start = now_seconds();
    zmalloc_lazyfree_job(ks_free_job, ks, bytes, blocks);
    double paused = now_seconds() - start;
    size_t pending = zmalloc_lazyfree_pending_bytes(), objects = zmalloc_lazyfree_pending_objects();
    size_t not_pending = zmalloc_used_memory_not_pending();
    printf("  main thread paused %s (queueing the job)\n", duration(a, sizeof(a), paused));
    printf("  just after: pending %s in %zu objects; used memory not pending %s\n",
           human(a, sizeof(a), pending), objects, human(b, sizeof(b), not_pending));
    zmalloc_lazyfree_wait(-1);
    printf("  the background thread freed them in %s; pending now %zu bytes\n",
           duration(a, sizeof(a), lazy_end - start), zmalloc_lazyfree_pending_bytes());
    zmalloc_lazyfree_stop();
    print_report(PHASE_PURGE + 1, "free everything, lazily", lazy_end - start, ks);
}

/* Returns 1 when every stored value came back intact, the program holds
 * nothing and the counter is back at its start; says what differs if not. */
static int check_end(void) {
    size_t end_used = zmalloc_used_memory();
    int ok = 1;
    if (corrupt_values) {
        fprintf(stderr, "MISMATCH: %zu values were altered while stored\n", corrupt_values);
        ok = 0;
    }
    if (tally.blocks || tally.requested || tally.usable || tally.counted) {
        fprintf(stderr, "MISMATCH: %zu blocks still held by the program\n", tally.blocks);
        ok = 0;
    }
    if (end_used != baseline) {
        long long diff = (long long)end_used - (long long)baseline;
        fprintf(stderr,
                "\n!!! MISMATCH: used memory is %zu bytes, but it started at %zu bytes"
                " (%+lld bytes) !!!\n",
                end_used, baseline, diff);
        ok = 0;
    }
    if (ok) printf("OK: used memory back to %zu bytes\n", end_used);
    return ok;
}

/* ---- Main ---------------------------------------------------------------- */

/* After phase 3: who holds the bytes, as the allocator sampled them. */
static void write_heap_profile(const char *path) {
    if (zmalloc_heap_profile_dump(path) == 0) {
        printf("heap profile written to %s: jeprof --text %s %s\n\n", path, prog, path);
    } else if (errno == ENOENT && !zmalloc_heap_profiling()) {
        printf("heap profile not written: the allocator is not sampling (run with\n"
               "BALLOC_CONF=prof:true on balloc, MALLOC_CONF=prof:true on jemalloc)\n\n");
    } else {
        printf("heap profile not written to %s: %s\n\n", path, strerror(errno));
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    /* Read first: nothing has gone through zmalloc yet. */
    baseline = zmalloc_used_memory();

    if (argc > 0 && argv[0] && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    options o;
    options_parse(&o, argc, argv);

    stdout_tty = isatty(STDOUT_FILENO);
    zmalloc_set_oom_handler(demo_oom);
    rng_seed(o.seed);
    print_header(&o);

    keyspace ks;
    ks_init(&ks);
    phase_insert_small(&ks, o.nkeys);
    size_t phase1_used = zmalloc_used_memory();
    phase_delete_half(&ks, o.nkeys);
    phase_refill(&ks, phase1_used);
    if (o.heap_profile) write_heap_profile(o.heap_profile);
#ifdef HAVE_DEFRAG
    phase_defrag(&ks);
#endif
    phase_purge(&ks);
    phase_free_all(&ks, o.lazy_free);
    return check_end() ? 0 : 1;
}
