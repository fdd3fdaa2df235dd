/* ei_sgemm against a double-precision triple loop: every micro-kernel variant this CPU runs, all
 * transpositions, alpha/beta cases, padded leading dimensions, serial and with a thread pool. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/threadpool.h"
#include "cpu/sgemm.h"
#include "ei_test.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static float rnd(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_rng >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

static int64_t rnd_int(int64_t lo, int64_t hi) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int64_t)((g_rng >> 33) % (uint64_t)(hi - lo + 1));
}

/* Returns the number of mismatching elements (printing the first). The tolerance is relative to
 * sum |alpha * a * b| + |beta * c|, the scale of the rounding error of any summation order. */
static int64_t check_one(ei_threadpool * pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                         float beta) {
    int64_t lda = (ta ? m : k) + (k % 3), ldb = (tb ? k : n) + (n % 2), ldc = n + (m % 4);
    size_t  asz = (size_t)((ta ? k : m) * lda), bsz = (size_t)((tb ? n : k) * ldb), csz = (size_t)(m * ldc);
    float * a = malloc(asz * sizeof(float));
    float * b = malloc(bsz * sizeof(float));
    float * c = malloc(csz * sizeof(float));
    float * c0 = malloc(csz * sizeof(float));
    if (!a || !b || !c || !c0) {
        free(a), free(b), free(c), free(c0);
        return 1;
    }
    for (size_t i = 0; i < asz; i++) a[i] = rnd();
    for (size_t i = 0; i < bsz; i++) b[i] = rnd();
    for (size_t i = 0; i < csz; i++) c0[i] = beta == 0.0f ? NAN : rnd();
    memcpy(c, c0, csz * sizeof(float));
    ei_sgemm(pool, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    /* op(B) as doubles in row-major order, so the reference streams rows (i-p-j order). */
    double * bd = malloc((size_t)(k * n) * sizeof(double));
    double * acc = malloc((size_t)n * 2 * sizeof(double));
    if (!bd || !acc) {
        free(a), free(b), free(c), free(c0), free(bd), free(acc);
        return 1;
    }
    for (int64_t p = 0; p < k; p++)
        for (int64_t j = 0; j < n; j++) bd[p * n + j] = tb ? b[j * ldb + p] : b[p * ldb + j];
    int64_t bad = 0;
    for (int64_t i = 0; i < m; i++) {
        double *s = acc, *mag = acc + n;
        for (int64_t j = 0; j < n; j++) s[j] = mag[j] = 0.0;
        for (int64_t p = 0; p < k; p++) {
            double         x = ta ? a[p * lda + i] : a[i * lda + p];
            const double * brow = bd + p * n;
            for (int64_t j = 0; j < n; j++) {
                s[j] += x * brow[j];
                mag[j] += fabs(x * brow[j]);
            }
        }
        for (int64_t j = 0; j < n; j++) {
            double ref = alpha * s[j], scale = fabs(alpha) * mag[j];
            if (beta != 0.0f) {
                ref += beta * (double)c0[i * ldc + j];
                scale += fabs(beta * (double)c0[i * ldc + j]);
            }
            double got = c[i * ldc + j];
            if (!(fabs(got - ref) <= 1e-5 * scale + 1e-30)) {
                if (!bad)
                    fprintf(stderr,
                            "  %s ta=%d tb=%d m=%lld n=%lld k=%lld alpha=%g beta=%g: C[%lld,%lld] = %.9g, want %.9g\n",
                            ei_sgemm_isa(), ta, tb, (long long)m, (long long)n, (long long)k, alpha, beta, (long long)i,
                            (long long)j, got, ref);
                bad++;
            }
        }
    }
    free(bd), free(acc);
    /* Padding between rows of C must be left alone. */
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = n; j < ldc; j++)
            if (memcmp(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float)) != 0) {
                if (!bad) fprintf(stderr, "  C padding at [%lld,%lld] was written\n", (long long)i, (long long)j);
                bad++;
            }
    free(a), free(b), free(c), free(c0);
    return bad;
}

static void run_variant(ei_threadpool * pool) {
    static const int64_t fixed[][3] = {
        {1, 1, 1},    {1, 1000, 1000}, {1000, 1, 1000}, {2, 2, 2},    {5, 7, 3},      {6, 16, 256},   {6, 16, 257},
        {7, 17, 255}, {12, 32, 64},    {13, 33, 100},   {64, 64, 64}, {97, 100, 300}, {150, 257, 31}, {300, 1000, 1000},
        {300, 1, 17}, {1, 300, 17},    {145, 129, 513}, {288, 48, 1}, {3, 1000, 600}, {300, 5, 1000},
    };
    const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {0.5f, -0.75f}, {-2.0f, 0.0f}};
    int64_t     bad = 0, cases = 0;
    for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++) {
        for (int t = 0; t < 4; t++) {
            /* The largest product once per variant: the reference loop is slow in debug builds. */
            if (fixed[f][0] * fixed[f][1] * fixed[f][2] > 50000000 && (t != 0 || !pool)) continue;
            const float * s = ab[(f + (size_t)t) % 4];
            bad += check_one(pool, t & 1, t >> 1, fixed[f][0], fixed[f][1], fixed[f][2], s[0], s[1]) != 0;
            cases++;
        }
    }
    for (int r = 0; r < 40; r++) {
        int64_t m = rnd_int(1, 300), n = rnd_int(1, 1000), k = rnd_int(1, 1000);
        while (m * n * k > 3000000) k = k / 2 + 1;
        const float * s = ab[r % 4];
        bad += check_one(pool, rnd_int(0, 1), rnd_int(0, 1), m, n, k, s[0], s[1]) != 0;
        cases++;
    }
    EI_CHECK(bad == 0);
    printf("  %s, %d thread(s): %lld cases, %lld wrong\n", ei_sgemm_isa(), ei_threadpool_size(pool), (long long)cases,
           (long long)bad);
}

static void test_variants(void) {
    const char *    isas[] = {"generic", "avx2"};
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(3, &pool));
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (!ei_sgemm_select(isas[i])) {
            printf("  %s: not supported by this CPU\n", isas[i]);
            continue;
        }
        run_variant(NULL);
        run_variant(pool);
    }
    EI_CHECK(ei_sgemm_select("auto"));
    ei_threadpool_destroy(pool);
}

/* Degenerate shapes: k == 0 scales C by beta; alpha == 0 does not read A or B. */
static void test_degenerate(void) {
    float c[6] = {1, 2, 3, 4, 5, 6};
    ei_sgemm(NULL, false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, c, 3);
    EI_CHECK(c[0] == 2.0f && c[5] == 12.0f);
    ei_sgemm(NULL, false, false, 2, 3, 4, 0.0f, NULL, 4, NULL, 3, 0.0f, c, 3);
    EI_CHECK(c[0] == 0.0f && c[5] == 0.0f);
    ei_sgemm(NULL, false, false, 0, 3, 4, 1.0f, NULL, 4, NULL, 3, 0.0f, c, 3);
}

int main(void) {
    EI_RUN(test_variants);
    EI_RUN(test_degenerate);
    EI_TEST_EXIT();
}
