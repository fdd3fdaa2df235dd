/* The OpenMP wait policy of the oneDNN build. Debian's oneDNN runs on libgomp, which reads
 * OMP_WAIT_POLICY and GOMP_SPINCOUNT once, in its constructor, before main(). Its default makes a
 * thread that reaches a barrier or waits for the next parallel region spin about 300 000 times
 * before sleeping. On cores nobody else uses that is what small networks need: a 100-kernel network
 * at batch 1 runs twice as fast as with sleeping threads (bench/results/2026-11-21-omp-policy.md,
 * quiet machine). On cores other processes share, the spinning thread keeps a core from the peer it
 * waits for, and a 3 ms network takes 100 ms or more; there sleeping (passive) is fastest.
 *
 * So, unless the user chose (either variable set, or EI_OMP_POLICY=spin|passive), the CLI looks at
 * how many other tasks are running when it starts: with more than cores/8 of them (none, on a
 * machine of 2 to 15 cores) it picks passive. The streaming application (`run APP.ini`) always
 * counts as busy: its decoders, encoders and queues run beside inference on the same cores. Setting the variable from
 * inside the process is too late for libgomp, so main() puts passive in the environment and executes the same program
 * once more; the new image's libgomp starts with it. Spinning is libgomp's default and needs nothing. The guard
 * variable makes the second image skip the step, so nothing can loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#ifdef EI_WITH_ONEDNN
#define EI_OMP_GUARD   "EI_OMP_POLICY_APPLIED"
#define EI_OMP_CHOICE  "EI_OMP_POLICY" /* auto (default), spin, passive */
#define EI_OMP_SAMPLES 5

typedef enum omp_decision {
    DECIDED_NOTHING,   /* no oneDNN, or no decision made yet */
    DECIDED_USER,      /* OMP_WAIT_POLICY or GOMP_SPINCOUNT came from the environment */
    DECIDED_SPIN_FREE, /* auto: the cores were free, libgomp's default spin */
    DECIDED_SPIN_ASKED,
    DECIDED_PASSIVE_BUSY,   /* auto: other tasks were running: passive */
    DECIDED_PASSIVE_STREAM, /* auto: `run APP.ini`, the pipeline's threads share the cores */
    DECIDED_PASSIVE_ASKED,
    DECIDED_EXEC_FAILED,
} omp_decision;

static omp_decision g_decision;
static int          g_others = -1; /* other running tasks seen at start-up (median of the samples) */

/* Tasks running on the machine now, from /proc/stat's procs_running (this process included). */
static int procs_running(void) {
    FILE * f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[256];
    int  n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "procs_running %d", &n) == 1) break;
    fclose(f);
    return n;
}

static int cmp_int(const void * a, const void * b) { return *(const int *)a - *(const int *)b; }

/* Median of a few samples 2 ms apart, so that a task that runs for an instant does not decide. */
static int other_tasks_running(void) {
    int s[EI_OMP_SAMPLES];
    for (int i = 0; i < EI_OMP_SAMPLES; i++) {
        int n = procs_running();
        if (n < 0) return -1;
        s[i] = n - 1;
        if (i + 1 < EI_OMP_SAMPLES) nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    }
    qsort(s, EI_OMP_SAMPLES, sizeof s[0], cmp_int);
    return s[EI_OMP_SAMPLES / 2] < 0 ? 0 : s[EI_OMP_SAMPLES / 2];
}

/* `edgeinfer run APP.ini`: the streaming application. */
static bool streaming(char ** argv) {
    if (!argv[0] || !argv[1] || strcmp(argv[1], "run") != 0) return false;
    int argc = 1;
    while (argv[1 + argc]) argc++;
    return ei_cli_run_is_app(argc, argv + 1);
}
#endif

void ei_cli_apply_omp_policy(char ** argv) {
#ifdef EI_WITH_ONEDNN
    const char * g = getenv(EI_OMP_GUARD);
    if (g) {
        /* The second image: the environment was made for it. Drop the guard so that any program
         * it starts decides afresh. The guard carries the reason and what was seen. */
        int others = -1;
        g_decision = strncmp(g, "busy", 4) == 0 ? DECIDED_PASSIVE_BUSY
                     : strcmp(g, "stream") == 0 ? DECIDED_PASSIVE_STREAM
                                                : DECIDED_PASSIVE_ASKED;
        if (sscanf(g, "busy:%d", &others) == 1) g_others = others;
        unsetenv(EI_OMP_GUARD);
        return;
    }
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) {
        g_decision = DECIDED_USER;
        return;
    }
    const char * choice = getenv(EI_OMP_CHOICE);
    bool         passive;
    if (choice && strcmp(choice, "spin") == 0) {
        g_decision = DECIDED_SPIN_ASKED;
        return;
    } else if (choice && strcmp(choice, "passive") == 0) {
        passive = true;
    } else {
        if (choice && strcmp(choice, "auto") != 0)
            fprintf(stderr, "warning: %s=%s is not auto, spin or passive; using auto\n", EI_OMP_CHOICE, choice);
        long cores = ei_cpu_cores();
        g_others = streaming(argv) ? -2 : other_tasks_running();
        /* No /proc (-1): nothing known, keep libgomp's default. */
        passive = g_others == -2 || g_others > (cores > 0 ? cores / 8 : 0);
        if (!passive) {
            g_decision = DECIDED_SPIN_FREE;
            return;
        }
    }
    char guard[32];
    if (choice && strcmp(choice, "passive") == 0)
        snprintf(guard, sizeof guard, "asked");
    else if (g_others == -2)
        snprintf(guard, sizeof guard, "stream");
    else
        snprintf(guard, sizeof guard, "busy:%d", g_others);
    if (setenv("OMP_WAIT_POLICY", "passive", 0) != 0 || setenv(EI_OMP_GUARD, guard, 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* No /proc (or exec refused): run on with libgomp's default, and leave the environment as it was. */
    unsetenv("OMP_WAIT_POLICY");
    unsetenv(EI_OMP_GUARD);
    g_decision = DECIDED_EXEC_FAILED;
#else
    (void)argv;
#endif
}

void ei_cli_print_omp_policy(FILE * f) {
#ifdef EI_WITH_ONEDNN
    const char * wp = getenv("OMP_WAIT_POLICY");
    const char * sc = getenv("GOMP_SPINCOUNT");
    switch (g_decision) {
    case DECIDED_USER:
        fprintf(f, "OpenMP (oneDNN): %s%s%s%s%s (from the environment)\n", wp ? "OMP_WAIT_POLICY=" : "", wp ? wp : "",
                wp && sc ? " " : "", sc ? "GOMP_SPINCOUNT=" : "", sc ? sc : "");
        break;
    case DECIDED_SPIN_FREE:
        fprintf(f,
                "OpenMP (oneDNN): threads spin while waiting (libgomp's default): %d other tasks were running at "
                "start-up (EI_OMP_POLICY=auto)\n",
                g_others);
        break;
    case DECIDED_SPIN_ASKED:
        fprintf(f, "OpenMP (oneDNN): threads spin while waiting (libgomp's default; EI_OMP_POLICY=spin)\n");
        break;
    case DECIDED_PASSIVE_BUSY:
        fprintf(f,
                "OpenMP (oneDNN): OMP_WAIT_POLICY=passive: %d other tasks were running at start-up "
                "(EI_OMP_POLICY=auto)\n",
                g_others);
        break;
    case DECIDED_PASSIVE_STREAM:
        fprintf(f, "OpenMP (oneDNN): OMP_WAIT_POLICY=passive: the streaming pipeline's threads share the cores "
                   "(EI_OMP_POLICY=auto)\n");
        break;
    case DECIDED_PASSIVE_ASKED: fprintf(f, "OpenMP (oneDNN): OMP_WAIT_POLICY=passive (EI_OMP_POLICY=passive)\n"); break;
    default: fprintf(f, "OpenMP (oneDNN): libgomp's default wait policy (could not re-execute)\n"); break;
    }
#else
    (void)f;
#endif
}
