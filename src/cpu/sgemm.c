#include "cpu/sgemm.h"

typedef struct sgemm_job {
    bool          ta, tb;
    int64_t       n, k;
    float         alpha, beta;
    const float * a;
    const float * b;
    float *       c;
    int64_t       lda, ldb, ldc;
} sgemm_job;

/* Rows [r0, r1) of C; i-k-j order so the inner loop streams rows of B and C. */
static void sgemm_rows(void * ctx, int64_t r0, int64_t r1) {
    const sgemm_job * j = ctx;
    for (int64_t i = r0; i < r1; i++) {
        float * crow = j->c + i * j->ldc;
        if (j->beta == 0.0f) {
            for (int64_t x = 0; x < j->n; x++) crow[x] = 0.0f;
        } else if (j->beta != 1.0f) {
            for (int64_t x = 0; x < j->n; x++) crow[x] *= j->beta;
        }
        for (int64_t p = 0; p < j->k; p++) {
            float av = j->alpha * (j->ta ? j->a[p * j->lda + i] : j->a[i * j->lda + p]);
            if (av == 0.0f) continue;
            if (!j->tb) {
                const float * brow = j->b + p * j->ldb;
                for (int64_t x = 0; x < j->n; x++) crow[x] += av * brow[x];
            } else {
                for (int64_t x = 0; x < j->n; x++) crow[x] += av * j->b[x * j->ldb + p];
            }
        }
    }
}

void ei_sgemm(ei_threadpool * pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float * a, int64_t lda, const float * b, int64_t ldb, float beta, float * c, int64_t ldc) {
    sgemm_job j = {trans_a, trans_b, n, k, alpha, beta, a, b, c, lda, ldb, ldc};
    int64_t   grain = n * k > 0 ? 1 + 65536 / (n * k + 1) : m;
    ei_parallel_for(pool, m, grain, sgemm_rows, &j);
}
