/* Kernels of the squeeze-and-excitation pattern on the blocked layout (ops/blocked8.h): the
 * global pool that feeds it and the channel scale that applies it. Both treat a pixel's 8 lanes as
 * one vector: the scale of block b is one 8-float vector for all its H x W pixels, and a global
 * pool reduces the H x W vectors of a block into one. AVX2 where the CPU has it (run-time check),
 * portable C otherwise; the two give the same results bit for bit (same operations in the same
 * order, no FMA). Both are memory-bound: what matters is one pass over the tensor, split over the
 * threads in large contiguous pieces. */
#include <float.h>
#include <stdbool.h>

#include "ops/blocked8.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EI_B8K_X86 1
#endif

/* Pixels per parallel task at least: 1024 pixels are 32 KiB of floats read (and written). */
#define EI_B8K_GRAIN_PIXELS 1024

static int g_b8k_simd = 1;

void ei_blocked8_set_simd(int enable) { g_b8k_simd = enable != 0; }

#ifdef EI_B8K_X86
static bool use_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") != 0;
    }
    return cached && g_b8k_simd;
}
#endif

/* ---- channel scale ---- */

typedef struct scale_job {
    const float * x;
    const float * s;
    float *       y;
    int64_t       hw;
} scale_job;

#ifdef EI_B8K_X86
__attribute__((target("avx2"))) static void scale_run_avx2(const float * x, const float * s, float * y, int64_t n) {
    const __m256 v = _mm256_loadu_ps(s);
    int64_t      p = 0;
    for (; p + 4 <= n; p += 4) {
        __m256 a = _mm256_loadu_ps(x + 8 * p), b = _mm256_loadu_ps(x + 8 * p + 8);
        __m256 c = _mm256_loadu_ps(x + 8 * p + 16), d = _mm256_loadu_ps(x + 8 * p + 24);
        _mm256_storeu_ps(y + 8 * p, _mm256_mul_ps(a, v));
        _mm256_storeu_ps(y + 8 * p + 8, _mm256_mul_ps(b, v));
        _mm256_storeu_ps(y + 8 * p + 16, _mm256_mul_ps(c, v));
        _mm256_storeu_ps(y + 8 * p + 24, _mm256_mul_ps(d, v));
    }
    for (; p < n; p++) _mm256_storeu_ps(y + 8 * p, _mm256_mul_ps(_mm256_loadu_ps(x + 8 * p), v));
}
#endif

/* n pixels of one block, all scaled by the 8 lanes of s; y may be x. */
static void scale_run(const float * x, const float * s, float * y, int64_t n) {
#ifdef EI_B8K_X86
    if (use_avx2()) {
        scale_run_avx2(x, s, y, n);
        return;
    }
#endif
    float v[EI_BLOCK8];
    for (int l = 0; l < EI_BLOCK8; l++) v[l] = s[l];
    for (int64_t p = 0; p < n; p++)
        for (int l = 0; l < EI_BLOCK8; l++) y[8 * p + l] = x[8 * p + l] * v[l];
}

/* Tasks are ranges of the flat pixel index over all (image, block) rows, so that a few blocks of
 * many pixels still split evenly. */
static void scale_pixels(void * ctx, int64_t q0, int64_t q1) {
    const scale_job * j = ctx;
    for (int64_t q = q0; q < q1;) {
        int64_t r = q / j->hw, p = q % j->hw;
        int64_t n = j->hw - p < q1 - q ? j->hw - p : q1 - q;
        scale_run(j->x + q * EI_BLOCK8, j->s + r * EI_BLOCK8, j->y + q * EI_BLOCK8, n);
        q += n;
    }
}

int32_t ei_blocked8_scale_operand(const ei_shape * a, const ei_shape * b, const ei_shape * y) {
    if (y->rank != 5 || y->dim[4] != EI_BLOCK8) return -1;
    for (int32_t k = 0; k < 2; k++) {
        const ei_shape * x = k ? b : a;
        const ei_shape * s = k ? a : b;
        if (ei_shape_equal(x, y) && s->rank == 5 && s->dim[0] == y->dim[0] && s->dim[1] == y->dim[1] &&
            s->dim[2] == 1 && s->dim[3] == 1 && s->dim[4] == EI_BLOCK8)
            return k;
    }
    return -1;
}

void ei_blocked8_scale(ei_threadpool * pool, const float * x, const float * s, float * y, int64_t rows, int64_t hw) {
    if (rows <= 0 || hw <= 0) return;
    scale_job j = {x, s, y, hw};
    ei_parallel_for(pool, rows * hw, EI_B8K_GRAIN_PIXELS, scale_pixels, &j);
}

/* ---- global pool ---- */

typedef struct gpool_job {
    const float * x;
    float *       y;
    int64_t       hw;
    bool          is_max;
} gpool_job;

#ifdef EI_B8K_X86
/* Four accumulators (pixels p, p+1, p+2, p+3 modulo 4) hide the add latency; they are combined
 * as (a0 + a1) + (a2 + a3), like the portable loop below. */
__attribute__((target("avx2"))) static void gpool_row_avx2(const float * x, int64_t n, bool is_max, float * out) {
    __m256 a0, a1, a2, a3;
    if (is_max) {
        a0 = a1 = a2 = a3 = _mm256_set1_ps(-FLT_MAX);
    } else {
        a0 = a1 = a2 = a3 = _mm256_setzero_ps();
    }
    int64_t p = 0;
    if (is_max) {
        for (; p + 4 <= n; p += 4) {
            a0 = _mm256_max_ps(_mm256_loadu_ps(x + 8 * p), a0);
            a1 = _mm256_max_ps(_mm256_loadu_ps(x + 8 * p + 8), a1);
            a2 = _mm256_max_ps(_mm256_loadu_ps(x + 8 * p + 16), a2);
            a3 = _mm256_max_ps(_mm256_loadu_ps(x + 8 * p + 24), a3);
        }
        for (; p < n; p++) a0 = _mm256_max_ps(_mm256_loadu_ps(x + 8 * p), a0);
        _mm256_storeu_ps(out, _mm256_max_ps(_mm256_max_ps(a0, a1), _mm256_max_ps(a2, a3)));
    } else {
        for (; p + 4 <= n; p += 4) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + 8 * p));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + 8 * p + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + 8 * p + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + 8 * p + 24));
        }
        for (; p < n; p++) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + 8 * p));
        _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
}
#endif

/* out[l] = sum (or max) over the n pixels of lane l. The max keeps the accumulator when a value
 * compares false (NaN), as _mm256_max_ps(v, acc) does. */
static void gpool_row(const float * x, int64_t n, bool is_max, float * out) {
#ifdef EI_B8K_X86
    if (use_avx2()) {
        gpool_row_avx2(x, n, is_max, out);
        return;
    }
#endif
    float acc[4][EI_BLOCK8];
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < EI_BLOCK8; l++) acc[k][l] = is_max ? -FLT_MAX : 0.0f;
    int64_t p = 0;
    for (; p + 4 <= n; p += 4)
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < EI_BLOCK8; l++) {
                float v = x[8 * (p + k) + l];
                acc[k][l] = is_max ? (v > acc[k][l] ? v : acc[k][l]) : acc[k][l] + v;
            }
    for (; p < n; p++)
        for (int l = 0; l < EI_BLOCK8; l++) {
            float v = x[8 * p + l];
            acc[0][l] = is_max ? (v > acc[0][l] ? v : acc[0][l]) : acc[0][l] + v;
        }
    for (int l = 0; l < EI_BLOCK8; l++) {
        if (is_max) {
            float m01 = acc[0][l] > acc[1][l] ? acc[0][l] : acc[1][l]; /* _mm256_max_ps(a, b): a > b ? a : b */
            float m23 = acc[2][l] > acc[3][l] ? acc[2][l] : acc[3][l];
            out[l] = m01 > m23 ? m01 : m23;
        } else {
            out[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
        }
    }
}

static void gpool_rows(void * ctx, int64_t r0, int64_t r1) {
    const gpool_job * j = ctx;
    const float       count = (float)j->hw;
    for (int64_t r = r0; r < r1; r++) {
        float * out = j->y + r * EI_BLOCK8;
        gpool_row(j->x + r * j->hw * EI_BLOCK8, j->hw, j->is_max, out);
        if (!j->is_max)
            for (int l = 0; l < EI_BLOCK8; l++) out[l] /= count;
    }
}

void ei_blocked8_global_pool(ei_threadpool * pool, const float * x, float * y, int64_t rows, int64_t hw, bool is_max) {
    if (rows <= 0 || hw <= 0) return;
    gpool_job j = {x, y, hw, is_max};
    int64_t   grain = (EI_B8K_GRAIN_PIXELS + hw - 1) / hw;
    ei_parallel_for(pool, rows, grain, gpool_rows, &j);
}
