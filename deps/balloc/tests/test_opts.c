/* Options: the table is sane; values parse exactly; run-time changes are
 * refused (EPERM) for options not writable and out of range (EINVAL);
 * BALLOC_CONF and the legacy variables are read in order; each malformed
 * BALLOC_CONF entry or legacy value gets exactly one warning naming it and
 * leaves that option at its previous value. Each case runs this
 * program again in a child with the environment set, and compares the
 * child's stdout (the values it sees) and stderr (the warnings) exactly. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloc.h"
#include "harness.h"
#include "opts.h"
#include "slab.h"

TEST(table_is_sane) {
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *d = &opt_table[i];
        CHECK(d->name && d->meaning && d->meaning[0]);
        CHECK(d->def >= d->min && d->def <= d->max);
        CHECK_EQ(opts_find(d->name, strlen(d->name)), i);
        CHECK(d->on_set == NULL || d->writable);  /* a hook runs only on a run-time change */
        CHECK(d->env == NULL || (strncmp(d->env, "BALLOC_", 7) == 0 && d->env_min <= d->max));
        CHECK((d->type == OPT_TYPE_ENUM) == (d->names != NULL));
        if (d->type == OPT_TYPE_BOOL)
            CHECK(d->min == 0 && d->max == 1);
        if (d->type == OPT_TYPE_ENUM) {
            int n = 0;
            while (d->names[n])
                n++;
            CHECK(d->min == 0 && d->max == n - 1);
        }
    }
    CHECK_EQ(opts_find("nope", 4), -1);
    CHECK_EQ(opts_find("narenas", 6), -1);   /* a prefix is no name */
    CHECK_EQ(opts_find("narenasx", 8), -1);
    /* what may change at run time, and what applies it */
    CHECK(opt_table[OPT_DIRTY_DECAY_MS].writable && opt_table[OPT_DIRTY_DECAY_MS].on_set);
    CHECK(opt_table[OPT_MUZZY_DECAY_MS].writable && opt_table[OPT_MUZZY_DECAY_MS].on_set);
    CHECK(opt_table[OPT_BACKGROUND_THREAD].writable && opt_table[OPT_BACKGROUND_THREAD].on_set);
    CHECK(!opt_table[OPT_NARENAS].writable && !opt_table[OPT_TCACHE].writable);
    CHECK(!opt_table[OPT_TCACHE_MAX].writable && !opt_table[OPT_SLAB_POLICY].writable);
    CHECK(strcmp(opt_table[OPT_NARENAS].env, "BALLOC_NARENAS") == 0);
    CHECK_EQ(opt_table[OPT_NARENAS].env_min, 1);
    CHECK(strcmp(opt_table[OPT_SLAB_POLICY].env, "BALLOC_SLAB_POLICY") == 0);
    CHECK(opt_table[OPT_TCACHE].env == NULL && opt_table[OPT_DIRTY_DECAY_MS].env == NULL);
}

TEST(values_parse_exactly) {
    int64_t v = 77;
    CHECK(!opts_parse_value(OPT_TCACHE, "true", 4, &v) && v == 1);
    CHECK(!opts_parse_value(OPT_TCACHE, "0", 1, &v) && v == 0);
    CHECK(!opts_parse_value(OPT_TCACHE, "truex", 4, &v) && v == 1);  /* n bytes only */
    CHECK(!opts_parse_value(OPT_DIRTY_DECAY_MS, "-1", 2, &v) && v == -1);
    CHECK(!opts_parse_value(OPT_DIRTY_DECAY_MS, "2147483647", 10, &v) && v == INT32_MAX);
    CHECK(!opts_parse_value(OPT_SLAB_POLICY, "lowest", 6, &v) && v == 1);
    v = 77;
    const char *bad[][2] = {{"tcache", "yes"}, {"tcache", "2"}, {"dirty_decay_ms", "-2"},
                            {"dirty_decay_ms", "2147483648"}, {"dirty_decay_ms", ""},
                            {"dirty_decay_ms", "-"}, {"narenas", "257"}, {"narenas", "1x"},
                            {"slab_policy", "low"}, {"slab_policy", "1"}};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int id = opts_find(bad[i][0], strlen(bad[i][0]));
        CHECK(id >= 0 && opts_parse_value(id, bad[i][1], strlen(bad[i][1]), &v));
        CHECK_EQ(v, 77);
    }
}

/* opts_set refuses before it changes anything. */
TEST(run_time_changes_are_checked) {
    void *p = balloc_malloc(64);  /* boots: the values are the environment's */
    balloc_free(p);
    int64_t before[OPT_COUNT];
    memcpy(before, opt_value, sizeof(before));
    CHECK_EQ(opts_set(OPT_NARENAS, 4), EPERM);
    CHECK_EQ(opts_set(OPT_TCACHE, 0), EPERM);
    CHECK_EQ(opts_set(OPT_TCACHE_MAX, 1024), EPERM);
    CHECK_EQ(opts_set(OPT_SLAB_POLICY, 1), EPERM);
    CHECK_EQ(opts_set(OPT_DIRTY_DECAY_MS, -2), EINVAL);
    CHECK_EQ(opts_set(OPT_MUZZY_DECAY_MS, (int64_t)INT32_MAX + 1), EINVAL);
    CHECK_EQ(opts_set(OPT_BACKGROUND_THREAD, 2), EINVAL);
    CHECK(memcmp(before, opt_value, sizeof(before)) == 0);
    CHECK_EQ(opts_set(OPT_MUZZY_DECAY_MS, 250), 0);
    CHECK_EQ(opt_value[OPT_MUZZY_DECAY_MS], 250);
    CHECK_EQ(opts_set(OPT_MUZZY_DECAY_MS, before[OPT_MUZZY_DECAY_MS]), 0);
    CHECK(memcmp(before, opt_value, sizeof(before)) == 0);
}

static char out[4096], err[4096];

static void read_file(const char *path, char *buf) {
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, 4095) : 0;
    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
    unlink(path);
}

/* Run the child with BALLOC_CONF=conf (NULL: unset) and one extra variable. */
static void run_child(const char *conf, const char *var, const char *val) {
    char po[] = "/tmp/balloc_opts_outXXXXXX", pe[] = "/tmp/balloc_opts_errXXXXXX";
    int fo = mkstemp(po), fe = mkstemp(pe);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fo, 1);
        dup2(fe, 2);
        unsetenv("BALLOC_NARENAS");
        unsetenv("BALLOC_SLAB_POLICY");
        if (conf)
            setenv("BALLOC_CONF", conf, 1);
        else
            unsetenv("BALLOC_CONF");
        if (var)
            setenv(var, val, 1);
        execl("/proc/self/exe", "test_opts", "child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fo);
    close(fe);
    read_file(po, out);
    read_file(pe, err);
}

static int child_main(void) {
    void *p = balloc_malloc(64);
    balloc_free(p);
    struct balloc_stats st;
    balloc_get_stats(&st);
    printf("narenas=%u tcache=%lld tcache_max=%lld dirty=%lld muzzy=%lld bg=%lld policy=%d\n",
           st.narenas, (long long)opt_value[OPT_TCACHE], (long long)opt_value[OPT_TCACHE_MAX],
           (long long)opt_value[OPT_DIRTY_DECAY_MS], (long long)opt_value[OPT_MUZZY_DECAY_MS],
           (long long)opt_value[OPT_BACKGROUND_THREAD], slab_policy);
    return 0;
}

TEST(conf_sets_values) {
    run_child("narenas:3,tcache:false,tcache_max:1024,dirty_decay_ms:-1,muzzy_decay_ms:500,"
              "background_thread:true,slab_policy:lowest", NULL, NULL);
    CHECK(strcmp(out, "narenas=3 tcache=0 tcache_max=1024 dirty=-1 muzzy=500 bg=1 policy=1\n") == 0);
    CHECK_EQ(strlen(err), 0);
}

TEST(one_warning_per_bad_entry) {
    run_child("narenas:2,dirty_decay_ms:abc", NULL, NULL);
    CHECK(strcmp(err, "balloc: BALLOC_CONF: bad entry \"dirty_decay_ms:abc\" (dirty_decay_ms stays 10000)\n") == 0);
    CHECK(strcmp(out, "narenas=2 tcache=1 tcache_max=32768 dirty=10000 muzzy=0 bg=0 policy=0\n") == 0);
    run_child("xyz,narenas:999,,tcache:maybe,slab_policy:lowest", NULL, NULL);
    CHECK(strcmp(err, "balloc: BALLOC_CONF: bad entry \"xyz\"\n"
                      "balloc: BALLOC_CONF: bad entry \"narenas:999\" (narenas stays 0)\n"
                      "balloc: BALLOC_CONF: bad entry \"tcache:maybe\" (tcache stays true)\n") == 0);
    CHECK(strncmp(out, "narenas=", 8) == 0 && strstr(out, " tcache=1 ") && strstr(out, "policy=1\n"));
    if (harness_fail)
        printf("stderr was: %s", err);
}

TEST(legacy_variables_are_aliases) {
    run_child(NULL, "BALLOC_NARENAS", "2");
    CHECK(strncmp(out, "narenas=2 ", 10) == 0);
    run_child(NULL, "BALLOC_SLAB_POLICY", "lowest");
    CHECK(strstr(out, "policy=1\n") != NULL);
    CHECK_EQ(strlen(err), 0);
    run_child("narenas:3", "BALLOC_NARENAS", "2");  /* BALLOC_CONF wins */
    CHECK(strncmp(out, "narenas=3 ", 10) == 0);
}

/* A bad legacy value: one warning, and the option keeps its default (a
 * count of 0 arenas is bad there, though narenas:0 means one per CPU). */
TEST(bad_legacy_values_warn) {
    char defaults[4096];
    run_child(NULL, NULL, NULL);
    memcpy(defaults, out, sizeof(defaults));
    CHECK_EQ(strlen(err), 0);
    run_child(NULL, "BALLOC_NARENAS", "0");
    CHECK(strcmp(err, "balloc: BALLOC_NARENAS: bad value \"0\" (narenas stays 0)\n") == 0);
    CHECK(strcmp(out, defaults) == 0);
    run_child(NULL, "BALLOC_NARENAS", "257");
    CHECK(strcmp(err, "balloc: BALLOC_NARENAS: bad value \"257\" (narenas stays 0)\n") == 0);
    CHECK(strcmp(out, defaults) == 0);
    run_child(NULL, "BALLOC_SLAB_POLICY", "nope");
    CHECK(strcmp(err, "balloc: BALLOC_SLAB_POLICY: bad value \"nope\" (slab_policy stays fullest)\n") == 0);
    CHECK(strcmp(out, defaults) == 0);
    run_child(NULL, "BALLOC_NARENAS", "");  /* empty: unset */
    CHECK_EQ(strlen(err), 0);
    CHECK(strcmp(out, defaults) == 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_main();
    RUN(table_is_sane);
    RUN(values_parse_exactly);
    RUN(run_time_changes_are_checked);
    RUN(conf_sets_values);
    RUN(one_warning_per_bad_entry);
    RUN(legacy_variables_are_aliases);
    RUN(bad_legacy_values_warn);
    return harness_done();
}
