/* How many cores this process may use (include/edgeinfer/session.h, ei_cpu_cores). */
#ifndef EI_CORE_CPU_COUNT_H
#define EI_CORE_CPU_COUNT_H

#include <stdint.h>

/* The cores a cgroup CPU quota allows, rounded up, or 0 when no quota applies (none set, "max",
 * unreadable or malformed files). root is the cgroup file system's mount point ("/sys/fs/cgroup");
 * self is the text of /proc/self/cgroup. The smallest quota on the way from the process's cgroup up
 * to the root counts, as the kernel enforces every level. Split from ei_cpu_cores for the tests,
 * which build a fake tree. */
int32_t ei_cpu_quota_cores(const char * root, const char * self);

#endif
