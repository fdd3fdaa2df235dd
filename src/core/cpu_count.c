/* Cores this process may use. sysconf's online count is the machine's; a container started with
 * `docker --cpus=2` or `--cpuset-cpus=0,1`, a Kubernetes CPU limit, or `taskset` allows fewer. A pool
 * with a thread per online core then runs more threads than the process may use at once: the CFS
 * quota stops them all for the rest of each 100 ms period, and threads spinning at a barrier wait
 * for one that is not running. So the default thread count takes the smallest of the online count,
 * the affinity mask and the cgroup quota (rounded up: 1.5 CPUs gives 2 threads). */
#include "core/cpu_count.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeinfer/session.h"

/* Reads a small file whole; false when absent or empty. */
static bool read_small(const char * path, char * buf, size_t cap) {
    FILE * f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* quota / period rounded up, or 0 for no limit. */
static int32_t cores_of(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return 0;
    long long c = (quota + period - 1) / period;
    return c > 4096 ? 4096 : (int32_t)c;
}

static bool parse_ll(const char * s, long long * out) {
    char * end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s) return false;
    while (*end == ' ' || *end == '\n') end++;
    if (*end) return false;
    *out = v;
    return true;
}

/* cgroup v2: "max 100000" or "150000 100000". */
static int32_t v2_file(const char * path) {
    char buf[128];
    if (!read_small(path, buf, sizeof buf)) return 0;
    char q[64], p[64];
    if (sscanf(buf, "%63s %63s", q, p) != 2 || strcmp(q, "max") == 0) return 0;
    long long quota, period;
    if (!parse_ll(q, &quota) || !parse_ll(p, &period)) return 0;
    return cores_of(quota, period);
}

/* cgroup v1: cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us. */
static int32_t v1_dir(const char * dir) {
    char      path[4096], buf[64];
    long long quota, period;
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (!read_small(path, buf, sizeof buf) || !parse_ll(buf, &quota)) return 0;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (!read_small(path, buf, sizeof buf) || !parse_ll(buf, &period)) return 0;
    return cores_of(quota, period);
}

static int32_t min_limit(int32_t a, int32_t b) { return a == 0 ? b : b == 0 ? a : (a < b ? a : b); }

/* The smallest limit from base/rel up to base itself. In a container with its own cgroup
 * namespace rel is "/" and base is already the container's cgroup; without one, rel may name a
 * path the container's mount does not show, and only the levels that exist count. */
static int32_t walk_up(const char * base, const char * rel, bool v2) {
    char    dir[4096];
    int32_t best = 0;
    int     n = snprintf(dir, sizeof dir, "%s%s", base, rel);
    if (n < 0 || (size_t)n >= sizeof dir) return 0;
    size_t base_len = strlen(base);
    for (;;) {
        size_t len = strlen(dir);
        while (len > base_len && dir[len - 1] == '/') dir[--len] = '\0';
        if (v2) {
            char path[4200];
            snprintf(path, sizeof path, "%s/cpu.max", dir);
            best = min_limit(best, v2_file(path));
        } else {
            best = min_limit(best, v1_dir(dir));
        }
        if (len <= base_len) break;
        char * slash = strrchr(dir + base_len, '/');
        if (!slash) break;
        *slash = '\0';
    }
    return best;
}

int32_t ei_cpu_quota_cores(const char * root, const char * self) {
    if (!root || !self) return 0;
    int32_t best = 0;
    /* Lines "ID:CONTROLLERS:PATH"; v2's is "0::PATH", v1's cpu line lists "cpu" among its controllers. */
    const char * line = self;
    while (*line) {
        const char * eol = strchr(line, '\n');
        size_t       len = eol ? (size_t)(eol - line) : strlen(line);
        char         l[4096];
        if (len < sizeof l) {
            memcpy(l, line, len);
            l[len] = '\0';
            char * c1 = strchr(l, ':');
            char * c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (c2 && c2[1] == '/') {
                *c2 = '\0';
                const char * ctrls = c1 + 1;
                const char * path = c2 + 1;
                char         base[4096];
                if (ctrls[0] == '\0') {
                    /* v2, mounted at root itself or, on hybrid systems, at root/unified */
                    snprintf(base, sizeof base, "%s", root);
                    int32_t c = walk_up(base, path, true);
                    if (c == 0) {
                        snprintf(base, sizeof base, "%s/unified", root);
                        c = walk_up(base, path, true);
                    }
                    best = min_limit(best, c);
                } else {
                    char list[256];
                    snprintf(list, sizeof list, ",%s,", ctrls);
                    if (strstr(list, ",cpu,")) {
                        /* v1's cpu hierarchy: mounted as "cpu", "cpu,cpuacct" or "cpuacct,cpu" */
                        static const char * const names[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
                        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                            snprintf(base, sizeof base, "%s/%s", root, names[i]);
                            int32_t c = walk_up(base, path, false);
                            if (c) {
                                best = min_limit(best, c);
                                break;
                            }
                        }
                    }
                }
            }
        }
        if (!eol) break;
        line = eol + 1;
    }
    return best;
}

int32_t ei_cpu_cores(void) {
    long      online = sysconf(_SC_NPROCESSORS_ONLN);
    int32_t   n = online > 0 ? (int32_t)(online > 4096 ? 4096 : online) : 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int a = CPU_COUNT(&set);
        if (a > 0 && a < n) n = a;
    }
    char self[4096];
    if (read_small("/proc/self/cgroup", self, sizeof self)) {
        int32_t q = ei_cpu_quota_cores("/sys/fs/cgroup", self);
        if (q > 0 && q < n) n = q;
    }
    return n;
}
