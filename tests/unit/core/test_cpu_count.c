/* ei_cpu_cores: the cgroup quota on fake cgroup trees (v2, v2 under unified/, v1, nested levels,
 * paths the mount does not show, malformed files), and the affinity mask of this process. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cpu_count.h"
#include "edgeinfer/session.h"
#include "ei_test.h"

static char g_root[256];

/* Writes text to root/rel, creating the folders on the way. */
static void put(const char * rel, const char * text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_root, rel);
    for (char * p = path + strlen(g_root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    FILE * f = fopen(path, "w");
    EI_CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void fresh_root(void) {
    if (g_root[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
        EI_CHECK(system(cmd) == 0);
    }
    snprintf(g_root, sizeof g_root, "/tmp/ei_cgroup_XXXXXX");
    EI_CHECK(mkdtemp(g_root) != NULL);
}

static void test_v2(void) {
    fresh_root();
    put("cpu.max", "150000 100000\n"); /* docker --cpus=1.5 with its own cgroup namespace */
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/\n") == 2);
    put("cpu.max", "max 100000\n");
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/\n") == 0);
    put("cpu.max", "300000 100000\n");
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/\n") == 3);
    /* nested: the smallest level counts, wherever it is */
    put("cpu.max", "max 100000\n");
    put("k/pod/cpu.max", "400000 100000\n");
    put("k/pod/c1/cpu.max", "100000 100000\n");
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/k/pod/c1\n") == 1);
    put("k/pod/c1/cpu.max", "max 100000\n");
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/k/pod/c1\n") == 4);
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/k/pod/c1/\n") == 4); /* a trailing slash */
    /* a path the mount does not show (no cgroup namespace): the levels that exist count */
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/k/pod/gone/deeper\n") == 4);
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/elsewhere\n") == 0);
}

static void test_v2_unified(void) {
    fresh_root();
    put("unified/svc/cpu.max", "50000 100000\n"); /* half a core still needs one thread */
    EI_CHECK(ei_cpu_quota_cores(g_root, "1:name=systemd:/\n0::/svc\n") == 1);
}

static void test_v1(void) {
    fresh_root();
    put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n");
    put("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    const char * self = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
    EI_CHECK(ei_cpu_quota_cores(g_root, self) == 3);
    put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
    EI_CHECK(ei_cpu_quota_cores(g_root, self) == 0);
    /* mounted as plain "cpu", controllers listed the other way round */
    fresh_root();
    put("cpu/cpu.cfs_quota_us", "100000\n");
    put("cpu/cpu.cfs_period_us", "100000\n");
    EI_CHECK(ei_cpu_quota_cores(g_root, "3:cpuacct,cpu:/\n") == 1);
    /* only a controller named exactly cpu counts: cpuset is not a quota */
    EI_CHECK(ei_cpu_quota_cores(g_root, "3:cpuset:/\n") == 0);
}

static void test_malformed(void) {
    fresh_root();
    static const char * const bad[] = {"",
                                       "abc 100000\n",
                                       "100000\n",
                                       "-5 100000\n",
                                       "100000 0\n",
                                       "100000 100000 extra\n",
                                       "99999999999999999999999 100000\n",
                                       "1e5 100000\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put("cpu.max", bad[i]);
        int32_t c = ei_cpu_quota_cores(g_root, "0::/\n");
        if (i == 5) /* sscanf reads the first two fields; the third is ignored, as the kernel writes two */
            EI_CHECK(c == 1);
        else
            EI_CHECK(c == 0);
    }
    put("cpu.max", "100000000000 1\n"); /* absurd quotas are capped, not overflowed */
    EI_CHECK(ei_cpu_quota_cores(g_root, "0::/\n") == 4096);
    EI_CHECK(ei_cpu_quota_cores(NULL, "0::/\n") == 0);
    EI_CHECK(ei_cpu_quota_cores(g_root, NULL) == 0);
    EI_CHECK(ei_cpu_quota_cores(g_root, "") == 0);
    EI_CHECK(ei_cpu_quota_cores(g_root, "garbage without colons\n::\n0:") == 0);
    EI_CHECK(ei_cpu_quota_cores("/nonexistent", "0::/\n4:cpu:/\n") == 0);
}

static void test_affinity(void) {
    long    online = sysconf(_SC_NPROCESSORS_ONLN);
    int32_t n = ei_cpu_cores();
    EI_CHECK(n >= 1 && n <= online);
    cpu_set_t saved, one;
    EI_CHECK(sched_getaffinity(0, sizeof saved, &saved) == 0);
    EI_CHECK(n <= CPU_COUNT(&saved));
    /* as `taskset -c <first>` would: one core allowed, one thread by default */
    int first = -1;
    for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
        if (CPU_ISSET(c, &saved)) first = c;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    EI_CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    EI_CHECK(ei_cpu_cores() == 1);
    ei_session_options o = ei_session_options_default();
    EI_CHECK(o.n_threads == 0); /* 0 keeps meaning "ei_cpu_cores()" */
    EI_CHECK(sched_setaffinity(0, sizeof saved, &saved) == 0);
    EI_CHECK(ei_cpu_cores() == n);
}

int main(void) {
    EI_RUN(test_v2);
    EI_RUN(test_v2_unified);
    EI_RUN(test_v1);
    EI_RUN(test_malformed);
    EI_RUN(test_affinity);
    fresh_root(); /* removes the last tree */
    rmdir(g_root);
    EI_TEST_EXIT();
}
