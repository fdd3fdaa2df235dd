/* The vector kernels of src/cpu/vmath.c used by SegFormer's operators (exp, softmax rows, GELU,
 * LayerNorm rows, transposes, linear blends) against double-precision references, through the
 * AVX2 path where the CPU has it and through the portable C path (ei_vmath_set_simd(0)). The
 * measured worst errors are printed; the limits are the ones docs/cpu-kernels.md states. */
#include <math.h>
#include <stdint.h>

#include "cpu/vmath.h"
#include "ei_test.h"

static uint32_t g_rng = 12345;
static float    frand(float lo, float hi) {
       g_rng = g_rng * 1664525u + 1013904223u;
       return lo + (hi - lo) * (float)(g_rng >> 8) / 16777216.0f;
}

/* exp: relative error <= 3e-7 on [-87.3, 88.72] (up to FLT_MAX); below, 0 or a value under the
 * smallest normal float; +inf beyond; NaN kept. */
static void check_exp(void) {
    enum { N = 400009 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = y[i] = -87.3f + 176.0f * (float)i / (float)(N - 1);
    x[N - 1] = y[N - 1] = 88.72f;
    ei_vec_exp(y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double e = exp((double)x[i]);
        worst = fmax(worst, fabs(y[i] - e) / e);
    }
    printf("  exp: max relative error %.3g\n", worst);
    EI_CHECK(worst <= 3e-7);
    float s[9] = {-INFINITY, -1e4f, -100.0f, -87.5f, 89.0f, 1e4f, INFINITY, NAN, 0.0f};
    ei_vec_exp(s, 9);
    for (int i = 0; i < 4; i++) EI_CHECK(s[i] >= 0.0f && s[i] < 1.2e-38f);
    EI_CHECK(isinf(s[4]) && isinf(s[5]) && isinf(s[6]) && s[4] > 0);
    EI_CHECK(isnan(s[7]));
    EI_CHECK(s[8] == 1.0f);
}

/* GELU within 1e-6 * max(1, |x|) of 0.5 x (1 + erf(x / sqrt 2)) in double. */
static void check_gelu(void) {
    enum { N = 240007 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = i < 200000 ? -12.0f + 24.0f * (float)i / 200000.0f : frand(-40.0f, 40.0f);
    ei_vec_gelu(x, y, N);
    double worst = 0, worst_scaled = 0;
    for (int i = 0; i < N; i++) {
        double g = 0.5 * x[i] * (1.0 + erf((double)x[i] / sqrt(2.0)));
        double d = fabs(y[i] - g);
        worst = fmax(worst, d);
        worst_scaled = fmax(worst_scaled, d / fmax(1.0, fabs((double)x[i])));
    }
    printf("  gelu: max |error| %.3g, max |error| / max(1, |x|) %.3g\n", worst, worst_scaled);
    EI_CHECK(worst_scaled <= 1e-6);
    float s[6] = {INFINITY, NAN, 0.0f, -0.0f, 1e30f, -1e30f};
    ei_vec_gelu(s, s, 6); /* in place */
    EI_CHECK(isinf(s[0]) && s[0] > 0);
    EI_CHECK(isnan(s[1]));
    EI_CHECK(s[2] == 0.0f && s[3] == 0.0f);
    EI_CHECK(s[4] == 1e30f);
    EI_CHECK(s[5] == 0.0f || isnan(s[5]) == 0);
}

/* Softmax / log-softmax rows of every length 1..300 and a long one, against double. */
static void check_softmax(void) {
    static float x[20000], y[20000];
    double       worst = 0, worst_log = 0;
    for (int n = 1; n <= 20000; n = n < 300 ? n + 1 : 20000 + (n == 20000)) {
        if (n > 20000) break;
        float range = n % 3 == 0 ? 1e4f : n % 3 == 1 ? 30.0f : 1.0f;
        for (int i = 0; i < n; i++) x[i] = frand(-range, range);
        if (n > 4) x[n / 2] = -INFINITY;
        for (int log_mode = 0; log_mode < 2; log_mode++) {
            ei_vec_softmax(x, y, n, log_mode);
            double mx = -INFINITY, sum = 0;
            for (int i = 0; i < n; i++) mx = fmax(mx, x[i]);
            for (int i = 0; i < n; i++) sum += exp((double)x[i] - mx);
            for (int i = 0; i < n; i++) {
                if (log_mode) {
                    /* x - max rounds in float in every implementation, ONNX Runtime's too */
                    double want = (double)(x[i] - (float)mx) - log(sum);
                    if (isinf(want)) {
                        if (y[i] != (float)want) ei_test_failures++;
                        continue;
                    }
                    /* one ulp of the input's magnitude, plus the exp error in log(sum) */
                    worst_log = fmax(worst_log, fabs(y[i] - want) / (fabs((double)x[i]) + fabs(mx) + 1.0));
                } else {
                    double want = exp((double)(x[i] - (float)mx)) / sum;
                    worst = fmax(worst, fabs(y[i] - want) / (want + 1e-30) * (want > 1e-30));
                }
            }
        }
    }
    /* The float sum of up to 20000 terms (sequential in the portable path) dominates. */
    printf("  softmax: max relative error %.3g; log-softmax: max error / (|x| + |max| + 1) %.3g\n", worst, worst_log);
    EI_CHECK(worst <= 5e-6);
    EI_CHECK(worst_log <= 3e-6);
    /* In place, and a row whose maximum is +inf or NaN: NaN throughout, as ONNX Runtime. */
    float r[11];
    for (int i = 0; i < 11; i++) r[i] = (float)i;
    ei_vec_softmax(r, r, 11, 0);
    double s = 0;
    for (int i = 0; i < 11; i++) s += r[i];
    EI_CHECK_NEAR(s, 1.0, 1e-6);
    for (int i = 0; i < 11; i++) r[i] = (float)i;
    r[3] = NAN;
    ei_vec_softmax(r, r, 11, 0);
    for (int i = 0; i < 11; i++) EI_CHECK(isnan(r[i]));
}

static void check_layernorm(void) {
    static float x[1100], y[1100], sc[1100], b[1100];
    double       worst = 0;
    for (int n = 1; n <= 1100; n += n < 40 ? 1 : 53) {
        for (int i = 0; i < n; i++) {
            x[i] = frand(-3.0f, 5.0f);
            sc[i] = frand(-2.0f, 2.0f);
            b[i] = frand(-1.0f, 1.0f);
        }
        float mean_out = 0, inv_out = 0;
        ei_vec_layernorm(x, y, n, sc, n % 2 ? b : NULL, 1e-5f, &mean_out, &inv_out);
        double m = 0, v = 0;
        for (int i = 0; i < n; i++) m += x[i];
        m /= n;
        for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
        double inv = 1.0 / sqrt(v / n + 1e-5);
        EI_CHECK_NEAR(mean_out, m, 4e-6);
        EI_CHECK_NEAR(inv_out, inv, 1e-5 * inv);
        for (int i = 0; i < n; i++) {
            double want = (x[i] - m) * inv * sc[i] + (n % 2 ? b[i] : 0.0);
            worst = fmax(worst, fabs(y[i] - want));
        }
    }
    printf("  layernorm: max |error| %.3g\n", worst);
    EI_CHECK(worst <= 5e-6);
}

static void check_transpose_and_blends(void) {
    static float src[300 * 310], dst[310 * 300];
    const int    shapes[][2] = {{1, 1}, {1, 9}, {9, 1}, {7, 9}, {8, 8}, {9, 17}, {16, 24}, {255, 257}, {300, 33}};
    int          bad = 0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int rows = shapes[k][0], cols = shapes[k][1], lds = cols + 3, ldd = rows + 5;
        for (int i = 0; i < rows * lds; i++) src[i] = (float)i;
        for (int i = 0; i < cols * ldd; i++) dst[i] = -1.0f;
        ei_vec_transpose32(src, lds, dst, ldd, rows, cols);
        for (int c = 0; c < cols; c++)
            for (int r = 0; r < ldd; r++) bad += dst[c * ldd + r] != (r < rows ? src[r * lds + c] : -1.0f);
    }
    EI_CHECK(bad == 0);
    /* Blends: exact to one rounding of each product and of the sum. */
    enum { N = 1031 };
    static float   a[N], c[N], y[N], w0[N], w1[N];
    static int32_t i0[N], i1[N];
    for (int i = 0; i < N; i++) {
        a[i] = frand(-10.0f, 10.0f);
        c[i] = frand(-10.0f, 10.0f);
        i0[i] = (int32_t)(g_rng % N);
        i1[i] = (i0[i] + 1) % N;
        w0[i] = frand(0.0f, 1.0f);
        w1[i] = 1.0f - w0[i];
    }
    double worst = 0;
    for (int n = 0; n <= N; n += n < 20 ? 1 : 101) {
        ei_vec_lerp(y, a, 0.3f, c, 0.7f, n);
        for (int i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - (a[i] * 0.3 + c[i] * 0.7)));
        ei_vec_gather_lerp(y, a, i0, w0, i1, w1, n);
        for (int i = 0; i < n; i++)
            worst = fmax(worst, fabs(y[i] - ((double)a[i0[i]] * w0[i] + (double)a[i1[i]] * w1[i])));
    }
    printf("  blends: max |error| %.3g\n", worst);
    EI_CHECK(worst <= 4e-6);
}

static void all(void) {
    check_exp();
    check_gelu();
    check_softmax();
    check_layernorm();
    check_transpose_and_blends();
}

static void simd_path(void) { all(); }

static void portable_path(void) {
    ei_vmath_set_simd(0);
    all();
    ei_vmath_set_simd(1);
}

int main(void) {
    EI_RUN(simd_path);
    EI_RUN(portable_path);
    EI_TEST_EXIT();
}
