/* Single-precision matrix product used by Conv (im2col), ConvTranspose, MatMul and Gemm.
 * C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major with leading dimensions.
 * beta == 0 means C is written without being read (it may hold garbage or NaN). */
#ifndef EI_CPU_SGEMM_H
#define EI_CPU_SGEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/threadpool.h"

void ei_sgemm(ei_threadpool * pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float * a, int64_t lda, const float * b, int64_t ldb, float beta, float * c, int64_t ldc);

/* For tests and benchmarks: selects the micro-kernel variant ("auto", "avx2", "generic"); false when
 * this CPU cannot run it. Not to be called while another thread is inside ei_sgemm. */
bool         ei_sgemm_select(const char * isa);
const char * ei_sgemm_isa(void); /* the variant in use */

#endif
