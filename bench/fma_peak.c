/* fma_peak: the machine's FP32 fused-multiply-add peak, measured, so that a model's GFLOP/s can be
 * read as a fraction of what the cores can do.
 *
 *     fma_peak [--threads N] [--trials N] [--ms MS] [--json]
 *
 * Each thread runs independent chains of vector FMAs (enough of them to hide the FMA latency on
 * two FMA pipes), with AVX-512 when the CPU has it and AVX2+FMA otherwise, chosen at run time.
 * Prints the GFLOP/s of one thread and of N threads (default: one per online core), best of
 * --trials trials of about --ms milliseconds each; the best trial is the one least disturbed by
 * other work on a shared machine. */
#include <immintrin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHAINS 12 /* independent accumulators: >= FMA latency (4-5 cycles) x 2 pipes */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each returns a value that depends on every FMA, so that the compiler keeps them all. */
__attribute__((target("avx2,fma"), noinline)) static float fma_avx2(int64_t iters) {
    __m256 acc[CHAINS];
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_set1_ps(1.0f + 0.001f * (float)c);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < iters; i++)
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    __m256 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm256_add_ps(s, acc[c]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

__attribute__((target("avx512f"), noinline)) static float fma_avx512(int64_t iters) {
    __m512 acc[CHAINS];
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps(1.0f + 0.001f * (float)c);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iters; i++)
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    return _mm512_reduce_add_ps(acc[0]) + _mm512_reduce_add_ps(acc[CHAINS - 1]);
}

typedef struct isa {
    const char * name;
    int          lanes;
    float (*fn)(int64_t iters);
} isa;

typedef struct worker {
    const isa *         isa;
    int64_t             iters;
    pthread_barrier_t * start;
    volatile float      sink;
} worker;

static void * worker_main(void * p) {
    worker * w = p;
    pthread_barrier_wait(w->start);
    w->sink = w->isa->fn(w->iters);
    return NULL;
}

/* Wall time for n threads each doing iters iterations, from a common start to the last finish. */
static double run_threads(const isa * k, int n, int64_t iters) {
    pthread_t *       th = calloc((size_t)n, sizeof *th);
    worker *          ws = calloc((size_t)n, sizeof *ws);
    pthread_barrier_t start;
    if (!th || !ws || pthread_barrier_init(&start, NULL, (unsigned)n + 1) != 0) {
        fprintf(stderr, "fma_peak: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        ws[i] = (worker){.isa = k, .iters = iters, .start = &start};
        if (pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "fma_peak: cannot start thread %d\n", i);
            exit(1);
        }
    }
    pthread_barrier_wait(&start);
    double t0 = now_s();
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    pthread_barrier_destroy(&start);
    free(th);
    free(ws);
    return dt;
}

/* Best GFLOP/s over the trials; one FMA is 2 flops per lane. */
static double measure(const isa * k, int n, int trials, int64_t iters) {
    double best = 0;
    for (int t = 0; t < trials; t++) {
        double dt = run_threads(k, n, iters);
        double gf = 2.0 * k->lanes * CHAINS * (double)iters * n / dt / 1e9;
        if (gf > best) best = gf;
    }
    return best;
}

static void usage(FILE * f) {
    fprintf(f, "usage: fma_peak [--threads N] [--trials N] [--ms MS] [--json]\n"
               "Measures FP32 FMA GFLOP/s for 1 thread and for N threads (default: online cores).\n");
}

int main(int argc, char ** argv) {
    long threads = sysconf(_SC_NPROCESSORS_ONLN), trials = 5, ms = 200;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        long * target = NULL;
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--threads"))
            target = &threads;
        else if (!strcmp(argv[i], "--trials"))
            target = &trials;
        else if (!strcmp(argv[i], "--ms"))
            target = &ms;
        else {
            usage(stderr);
            return 2;
        }
        if (target) {
            char * e;
            if (i + 1 >= argc || (*target = strtol(argv[++i], &e, 10), *e) || *target < 1 || *target > 100000) {
                usage(stderr);
                return 2;
            }
        }
    }

    __builtin_cpu_init();
    static const isa avx512 = {"avx512f", 16, fma_avx512}, avx2 = {"avx2+fma", 8, fma_avx2};
    const isa *      k = NULL;
    if (__builtin_cpu_supports("avx512f"))
        k = &avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        k = &avx2;
    if (!k) {
        fprintf(stderr, "fma_peak: this CPU has neither AVX2+FMA nor AVX-512\n");
        return 4;
    }

    /* Calibrate: iterations for about `ms` milliseconds on one thread. */
    int64_t iters = 1 << 16;
    for (;;) {
        double dt = run_threads(k, 1, iters);
        if (dt * 1e3 >= ms / 4.0 || iters > ((int64_t)1 << 40)) {
            iters = (int64_t)((double)iters * (double)ms / 1e3 / dt) + 1;
            break;
        }
        iters *= 4;
    }
    double one = measure(k, 1, (int)trials, iters);
    double all = measure(k, (int)threads, (int)trials, iters);
    if (json)
        printf("{\"isa\": \"%s\", \"chains\": %d, \"gflops_1_thread\": %.3f, \"threads\": %ld, \"gflops\": %.3f}\n",
               k->name, CHAINS, one, threads, all);
    else {
        printf("FP32 FMA peak (%s, %d chains, best of %ld trials of ~%ld ms)\n", k->name, CHAINS, trials, ms);
        printf("  1 thread : %8.2f GFLOP/s\n", one);
        printf("  %ld threads: %8.2f GFLOP/s (%.2f per thread)\n", threads, all, all / (double)threads);
    }
    return 0;
}
