/* Options: the table is sane; BALLOC_CONF and the legacy variables are read
 * in order; each malformed BALLOC_CONF entry gets exactly one warning naming
 * it and leaves that option at its previous value. Each case runs this
 * program again in a child with the environment set, and compares the
 * child's stdout (the values it sees) and stderr (the warnings) exactly. */
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
        CHECK(opt_table[i].name && opt_table[i].meaning);
        CHECK(opt_table[i].def >= opt_table[i].min && opt_table[i].def <= opt_table[i].max);
        CHECK_EQ(opts_find(opt_table[i].name, strlen(opt_table[i].name)), i);
    }
    CHECK_EQ(opts_find("nope", 4), -1);
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
    CHECK(strcmp(err, "balloc: BALLOC_CONF: bad entry \"dirty_decay_ms:abc\"\n") == 0);
    CHECK(strcmp(out, "narenas=2 tcache=1 tcache_max=32768 dirty=10000 muzzy=0 bg=0 policy=0\n") == 0);
    run_child("xyz,narenas:999,,tcache:maybe,slab_policy:lowest", NULL, NULL);
    CHECK(strcmp(err, "balloc: BALLOC_CONF: bad entry \"xyz\"\n"
                      "balloc: BALLOC_CONF: bad entry \"narenas:999\"\n"
                      "balloc: BALLOC_CONF: bad entry \"tcache:maybe\"\n") == 0);
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

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_main();
    RUN(table_is_sane);
    RUN(conf_sets_values);
    RUN(one_warning_per_bad_entry);
    RUN(legacy_variables_are_aliases);
    return harness_done();
}
