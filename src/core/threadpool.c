/* A fixed pool of workers that split one range at a time. Simple by design: kernels call
 * ei_parallel_for once per operator, so a mutex + condition variable per call is cheap enough.
 *
 * Builds with oneDNN (OpenMP runtime, threadpool.c compiled with -fopenmp) run the ranges on
 * OpenMP's threads instead: oneDNN's kernels already use them, and two sets of threads on the same
 * cores fight: while libgomp's workers spin after a convolution, our own workers woken for the next
 * operator wait for a core, and a network of 100+ small operators pays that at every step. One
 * set of threads, the same wait policy for every operator (docs/cpu-kernels.md, "Threads"). */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/status.h"
#include "edgeinfer/session.h"

struct ei_threadpool {
    int32_t         n_threads; /* the caller included */
    int32_t         n_workers; /* our own threads besides the caller (none on OpenMP) */
    pthread_t *     threads;
    pthread_mutex_t mu;
    pthread_cond_t  work_cv, done_cv;
    /* the current job */
    uint64_t    generation;
    ei_range_fn fn;
    void *      ctx;
    int64_t     n, chunk, next;
    int32_t     active;
    int         stop;
};

static int64_t take_chunk(ei_threadpool * p, int64_t * end) {
    int64_t b = __atomic_fetch_add(&p->next, p->chunk, __ATOMIC_RELAXED);
    if (b >= p->n) return -1;
    *end = b + p->chunk < p->n ? b + p->chunk : p->n;
    return b;
}

static void * worker(void * arg) {
    ei_threadpool * p = arg;
    uint64_t        seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        int64_t b, e;
        while ((b = take_chunk(p, &e)) >= 0) p->fn(p->ctx, b, e);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ei_status * ei_threadpool_create(int32_t n_threads, ei_threadpool ** out) {
    *out = NULL;
    if (n_threads <= 0) n_threads = ei_cpu_cores();
    if (n_threads > 256) n_threads = 256;
    ei_threadpool * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->n_threads = n_threads;
    p->threads = calloc((size_t)n_threads, sizeof(pthread_t));
    if (!p->threads) {
        ei_threadpool_destroy(p);
        return ei_status_oom();
    }
#ifdef _OPENMP
    n_threads = 1; /* the ranges run on OpenMP's team: no threads of our own */
#endif
    for (int32_t i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            ei_threadpool_destroy(p);
            return ei_errorf(EI_CODE_INTERNAL, "could not start worker thread %d", i);
        }
        p->n_workers++;
    }
    *out = p;
    return NULL;
}

void ei_threadpool_destroy(ei_threadpool * p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n_workers; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p);
}

int32_t ei_threadpool_size(const ei_threadpool * p) { return p ? p->n_threads : 1; }

#ifdef _OPENMP
static void omp_for(int32_t threads, int64_t n, int64_t chunk, ei_range_fn fn, void * ctx) {
    int64_t next = 0;
#pragma omp parallel num_threads(threads)
    {
        for (;;) {
            int64_t b = __atomic_fetch_add(&next, chunk, __ATOMIC_RELAXED);
            if (b >= n) break;
            fn(ctx, b, b + chunk < n ? b + chunk : n);
        }
    }
}
#endif

void ei_parallel_for_threads(int32_t threads, int64_t n, int64_t grain, ei_range_fn fn, void * ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
#ifdef _OPENMP
    if (threads > 1 && n > grain) {
        int64_t chunk = (n + threads * 4 - 1) / (threads * 4);
        omp_for(threads, n, chunk < grain ? grain : chunk, fn, ctx);
        return;
    }
#else
    (void)threads;
#endif
    fn(ctx, 0, n);
}

void ei_parallel_for(ei_threadpool * p, int64_t n, int64_t grain, ei_range_fn fn, void * ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int32_t threads = ei_threadpool_size(p);
    if (!p || threads == 1 || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    /* About 4 chunks per thread balances uneven work without much contention. */
    int64_t chunk = (n + threads * 4 - 1) / (threads * 4);
    if (chunk < grain) chunk = grain;
#ifdef _OPENMP
    omp_for(threads, n, chunk, fn, ctx);
#else
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    p->next = 0;
    p->active = p->n_workers;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    int64_t b, e;
    while ((b = take_chunk(p, &e)) >= 0) fn(ctx, b, e);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
#endif
}
