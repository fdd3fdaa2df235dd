/* The clock and the sort order the bench programs share (medians and minima of repeated runs). */
#ifndef EI_BENCH_TIME_H
#define EI_BENCH_TIME_H

#include <time.h>

static inline double ei_bench_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline double ei_bench_now_ms(void) { return ei_bench_now_us() / 1e3; }

/* qsort order of doubles, ascending. */
static inline int ei_bench_cmp_double(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
