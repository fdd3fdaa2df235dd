/* The OpenMP wait policy of the oneDNN build. Debian's oneDNN runs on libgomp, which reads
 * OMP_WAIT_POLICY and GOMP_SPINCOUNT once, in its constructor, before main(). Its default makes a
 * thread that reaches a barrier or waits for the next parallel region spin about 300 000 times
 * before sleeping: on a machine whose cores other processes share, the spinning thread keeps a core
 * from the peer it waits for, and a 3 ms network takes 100 ms or more (docs/cpu-kernels.md).
 * Setting the variable from inside the process is too late, so main() puts edgeinfer's choice in
 * the environment and executes the same program once more; the new image's libgomp starts with it.
 * A value the user set (either variable, any value) is kept and nothing is re-executed; the guard
 * variable makes the second image skip the step, so nothing can loop. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifdef EI_WITH_ONEDNN
#define EI_OMP_GUARD "EI_OMP_POLICY_APPLIED"
/* The setting (bench/results/2026-11-21-omp-policy.md has the measurements behind it). */
#define EI_OMP_POLICY_VAR   "OMP_WAIT_POLICY"
#define EI_OMP_POLICY_VALUE "passive"
static bool g_applied; /* this image runs with edgeinfer's setting (set before its libgomp started) */
#endif

void ei_cli_apply_omp_policy(char ** argv) {
#ifdef EI_WITH_ONEDNN
    if (getenv(EI_OMP_GUARD)) {
        /* The second image: the environment was made for it. Drop the guard so that any program
         * it starts decides afresh (and keeps the inherited setting as the user's). */
        g_applied = getenv(EI_OMP_POLICY_VAR) && strcmp(getenv(EI_OMP_POLICY_VAR), EI_OMP_POLICY_VALUE) == 0;
        unsetenv(EI_OMP_GUARD);
        return;
    }
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv(EI_OMP_POLICY_VAR, EI_OMP_POLICY_VALUE, 0) != 0 || setenv(EI_OMP_GUARD, "1", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* No /proc (or exec refused): run on with libgomp's default, and leave the environment as it was. */
    unsetenv(EI_OMP_POLICY_VAR);
    unsetenv(EI_OMP_GUARD);
#else
    (void)argv;
#endif
}

void ei_cli_print_omp_policy(FILE * f) {
#ifdef EI_WITH_ONEDNN
    const char * wp = getenv("OMP_WAIT_POLICY");
    const char * sc = getenv("GOMP_SPINCOUNT");
    if (g_applied)
        fprintf(f, "OpenMP (oneDNN): %s=%s (edgeinfer's default)\n", EI_OMP_POLICY_VAR, EI_OMP_POLICY_VALUE);
    else if (wp || sc)
        fprintf(f, "OpenMP (oneDNN): %s%s%s%s%s (from the environment)\n", wp ? "OMP_WAIT_POLICY=" : "", wp ? wp : "",
                wp && sc ? " " : "", sc ? "GOMP_SPINCOUNT=" : "", sc ? sc : "");
    else
        fprintf(f, "OpenMP (oneDNN): libgomp's default wait policy (could not re-execute)\n");
#else
    (void)f;
#endif
}
