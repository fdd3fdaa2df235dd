/* One pool of worker threads per session; kernels split work with ei_parallel_for. */
#ifndef EI_CORE_THREADPOOL_H
#define EI_CORE_THREADPOOL_H

#include <stdint.h>

#include "edgeinfer/status.h"

typedef struct ei_threadpool ei_threadpool;

/* n_threads <= 0: ei_cpu_cores(). n_threads == 1 creates no threads. */
ei_status * ei_threadpool_create(int32_t n_threads, ei_threadpool ** out);
void        ei_threadpool_destroy(ei_threadpool * pool);
int32_t     ei_threadpool_size(const ei_threadpool * pool); /* 1 for NULL */

/* Calls fn(ctx, begin, end) on disjoint ranges covering [0, n); returns when all are done.
 * pool may be NULL (runs serially). Ranges are at least `grain` long (except the last). */
typedef void (*ei_range_fn)(void * ctx, int64_t begin, int64_t end);
void ei_parallel_for(ei_threadpool * pool, int64_t n, int64_t grain, ei_range_fn fn, void * ctx);
/* The same on `threads` OpenMP threads, for code that runs beside oneDNN and has no pool: its
 * libgomp team is the one oneDNN's primitives just used. Serial in a build without OpenMP. */
void ei_parallel_for_threads(int32_t threads, int64_t n, int64_t grain, ei_range_fn fn, void * ctx);

#endif
