/* The squeeze-and-excitation kernels of the blocked layout (src/ops/blocked8_kernels.c): channel
 * scale and global average / max pool, against a plain double-precision loop, with the AVX2 path
 * and the portable one (which must agree bit for bit), serially and on 2 threads, in place, on
 * odd sizes (1 pixel, 1 row, pixel counts that are not multiples of the unroll, many rows).
 * Tolerance: the scale is exact (one rounding, as in ONNX Runtime); the mean within 1e-6 relative
 * of the double sum (float accumulation over up to 4096 values of |x| < 4); the max exact. */
#include <float.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "ei_test.h"
#include "ops/blocked8.h"

typedef struct shape_case {
    int64_t rows, hw;
} shape_case;

static const shape_case k_cases[] = {{1, 1}, {1, 3},  {3, 1},    {2, 4},   {9, 1600}, {84, 100},
                                     {5, 7}, {60, 5}, {1, 4099}, {37, 33}, {121, 1},  {2, 4096}};

static uint32_t g_state = 12345u;

static float rnd(void) {
    g_state = g_state * 1664525u + 1013904223u;
    return (float)((g_state >> 8) & 0xffff) / 8192.0f - 4.0f; /* [-4, 4) */
}

static float * filled(int64_t n) {
    float * p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; p && i < n; i++) p[i] = rnd();
    return p;
}

static void check_scale(ei_threadpool * pool, const shape_case * c) {
    int64_t n = c->rows * c->hw * 8;
    float * x = filled(n);
    float * s = filled(c->rows * 8);
    float * y_simd = malloc((size_t)n * sizeof *y_simd);
    float * y_c = malloc((size_t)n * sizeof *y_c);
    float * y_in = malloc((size_t)n * sizeof *y_in);
    EI_CHECK(x && s && y_simd && y_c && y_in);
    if (!x || !s || !y_simd || !y_c || !y_in) goto done;
    ei_blocked8_set_simd(1);
    ei_blocked8_scale(pool, x, s, y_simd, c->rows, c->hw);
    memcpy(y_in, x, (size_t)n * sizeof *x);
    ei_blocked8_scale(pool, y_in, s, y_in, c->rows, c->hw); /* in place */
    ei_blocked8_set_simd(0);
    ei_blocked8_scale(pool, x, s, y_c, c->rows, c->hw);
    ei_blocked8_set_simd(1);
    int64_t bad = 0;
    for (int64_t r = 0; r < c->rows; r++)
        for (int64_t p = 0; p < c->hw; p++)
            for (int64_t l = 0; l < 8; l++) {
                int64_t i = (r * c->hw + p) * 8 + l;
                float   want = x[i] * s[r * 8 + l];
                if (y_simd[i] != want || y_c[i] != want || y_in[i] != want) bad++;
            }
    if (bad)
        fprintf(stderr, "scale rows %lld hw %lld: %lld wrong values\n", (long long)c->rows, (long long)c->hw,
                (long long)bad);
    EI_CHECK(bad == 0);
done:
    free(x), free(s), free(y_simd), free(y_c), free(y_in);
}

static void check_pool(ei_threadpool * pool, const shape_case * c, bool is_max) {
    int64_t n = c->rows * c->hw * 8;
    float * x = filled(n);
    float * y_simd = malloc((size_t)c->rows * 8 * sizeof *y_simd);
    float * y_c = malloc((size_t)c->rows * 8 * sizeof *y_c);
    EI_CHECK(x && y_simd && y_c);
    if (!x || !y_simd || !y_c) goto done;
    ei_blocked8_set_simd(1);
    ei_blocked8_global_pool(pool, x, y_simd, c->rows, c->hw, is_max);
    ei_blocked8_set_simd(0);
    ei_blocked8_global_pool(pool, x, y_c, c->rows, c->hw, is_max);
    ei_blocked8_set_simd(1);
    int64_t bad = 0;
    double  worst = 0.0;
    for (int64_t r = 0; r < c->rows; r++)
        for (int64_t l = 0; l < 8; l++) {
            double sum = 0.0, mx = -DBL_MAX;
            for (int64_t p = 0; p < c->hw; p++) {
                double v = x[(r * c->hw + p) * 8 + l];
                sum += v;
                mx = v > mx ? v : mx;
            }
            double want = is_max ? mx : sum / (double)c->hw;
            float  got = y_simd[r * 8 + l];
            if (memcmp(&got, &y_c[r * 8 + l], sizeof got) != 0) bad++; /* SIMD and C: the same bits */
            double err = fabs((double)got - want);
            double tol = is_max ? 0.0 : 1e-6 * (fabs(want) > 1.0 ? fabs(want) : 1.0);
            if (err > tol) bad++;
            if (err > worst) worst = err;
        }
    if (bad)
        fprintf(stderr, "%s pool rows %lld hw %lld: %lld wrong values, worst |d| %g\n", is_max ? "max" : "avg",
                (long long)c->rows, (long long)c->hw, (long long)bad, worst);
    EI_CHECK(bad == 0);
done:
    free(x), free(y_simd), free(y_c);
}

static void run_all(int32_t threads) {
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(threads, &pool));
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        check_scale(pool, &k_cases[i]);
        check_pool(pool, &k_cases[i], false);
        check_pool(pool, &k_cases[i], true);
    }
    ei_threadpool_destroy(pool);
}

static void test_serial(void) { run_all(1); }
static void test_two_threads(void) { run_all(2); }

/* The max keeps -0.0 / +0.0 as the AVX2 max does (the first operand when neither is greater). */
static void test_max_signed_zeros(void) {
    float x[5 * 8], y_simd[8], y_c[8];
    for (int i = 0; i < 5 * 8; i++) x[i] = (i / 8) % 2 ? 0.0f : -0.0f;
    ei_blocked8_set_simd(1);
    ei_blocked8_global_pool(NULL, x, y_simd, 1, 5, true);
    ei_blocked8_set_simd(0);
    ei_blocked8_global_pool(NULL, x, y_c, 1, 5, true);
    ei_blocked8_set_simd(1);
    EI_CHECK(memcmp(y_simd, y_c, sizeof y_c) == 0);
    EI_CHECK(y_simd[0] == 0.0f);
}

int main(void) {
    EI_RUN(test_serial);
    EI_RUN(test_two_threads);
    EI_RUN(test_max_signed_zeros);
    EI_TEST_EXIT();
}
