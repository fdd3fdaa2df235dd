/* Class-score rows of the SSD and BOXES_SCORES decoders: the early-reject scan and the score
 * function. Most rows of a detector's output are confidently background, so the scan is where a
 * frame's time goes (SSDLite320: 3234 rows of 91 logits, 1.2 MB); it runs with AVX2 when the CPU
 * has it (runtime dispatch) and in plain C otherwise.
 *
 * Softmax bound: p_c = exp(x_c - max) / sum with sum >= 1, so p_c >= t_c needs x_c - max >= lim_c
 * (lim_c = ln t_c less a little slack, decoder.c). The AVX2 scan tests the same bound in one pass
 * as max_c(x_c - lim_c) >= max_c(x_c), keeping two running maxima. The bound only rejects rows;
 * rows that pass get the exact score, checked against t_c by the emitter, so both scans give the
 * same detections. A row where some x_c - max is NaN (a NaN logit, an infinite maximum, all -inf)
 * reports nothing, on both paths (libm's expf would give NaN scores for the whole row).
 *
 * Second bound, for rows that pass the first (near-flat rows, where every class is close to the
 * maximum: an untrained or unsure network): the sum itself is at least
 * S_lb = sum_j max(0, 1 + x_j - max) (e^z >= 1 + z and e^z > 0), so p_c >= t_c needs
 * x_c - max - lim_c >= ln S_lb as well. With g = max_c(x_c - max - lim_c), a row whose
 * e^(g + 1e-3) is below S_lb is rejected without any exponential (the 1e-3 covers the rounding of
 * g and of the float sum; lim's own slack already covers the exact path's). Like the first bound
 * it only rejects rows where no class can reach its threshold, so detections are unchanged; on
 * SSDLite320 with random weights it rejects every row, where the first bound rejected none.
 *
 * The exponentials of passing rows go through ei_vec_exp (AVX2 Cephes polynomial, relative error
 * about 2e-7, or libm expf): the arguments x_c - max are <= 0, inside its range. */
#include <math.h>

#include "cpu/vmath.h"
#include "vision/decode_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EI_SCAN_X86 1
#endif

static int ei_force_scalar;

void ei_score_scan_force_scalar(int on) { ei_force_scalar = on; }

static float ei_row_max(const float * raw, int32_t n) {
    /* Eight independent running maxima: the compiler vectorises per-lane selects, while a single
     * float max reduction would need -ffast-math to be reassociated. */
    float   m8[8];
    int32_t c = 0;
    for (int32_t j = 0; j < 8; j++) m8[j] = raw[0];
    for (; c + 8 <= n; c += 8)
        for (int32_t j = 0; j < 8; j++) m8[j] = raw[c + j] > m8[j] ? raw[c + j] : m8[j];
    float m = m8[0];
    for (int32_t j = 1; j < 8; j++) m = m8[j] > m ? m8[j] : m;
    for (; c < n; c++) m = raw[c] > m ? raw[c] : m;
    return m;
}

/* Scalar softmax scan: returns whether some class passes its bound, with the row maximum and
 * g = max_c(x_c - lim_c) - max (NaN-free rows; the caller rejects rows with a NaN later). */
static int ei_softmax_scan_scalar(const float * raw, int32_t n, const float * lim, float * max, float * g) {
    float m = ei_row_max(raw, n), h = -INFINITY;
    int   hit = 0;
    for (int32_t c = 0; c < n; c++) {
        hit |= raw[c] - m >= lim[c];
        float d = raw[c] - lim[c];
        h = d > h ? d : h;
    }
    *max = m;
    *g = h - m;
    return hit;
}

/* S_lb = sum_j max(0, 1 + x_j - m), the lower bound of the softmax sum (eight partial sums). */
static float ei_sum_bound_scalar(const float * raw, int32_t n, float m) {
    float   s8[8] = {0};
    int32_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int32_t j = 0; j < 8; j++) {
            float v = 1.0f + (raw[c + j] - m);
            s8[j] += v > 0.0f ? v : 0.0f;
        }
    float s = ((s8[0] + s8[4]) + (s8[1] + s8[5])) + ((s8[2] + s8[6]) + (s8[3] + s8[7]));
    for (; c < n; c++) {
        float v = 1.0f + (raw[c] - m);
        s += v > 0.0f ? v : 0.0f;
    }
    return s;
}

#ifdef EI_SCAN_X86
__attribute__((target("avx2,fma"))) static float ei_hmax8(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

__attribute__((target("avx2,fma"))) static int ei_softmax_scan_avx2(const float * raw, int32_t n, const float * lim,
                                                                    float * max, float * g) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256       m0 = ninf, m1 = ninf, h0 = ninf, h1 = ninf;
    int32_t      c = 0;
    for (; c + 16 <= n; c += 16) { /* two chains per maximum hide the max latency */
        __m256 x0 = _mm256_loadu_ps(raw + c), x1 = _mm256_loadu_ps(raw + c + 8);
        m0 = _mm256_max_ps(m0, x0);
        m1 = _mm256_max_ps(m1, x1);
        h0 = _mm256_max_ps(h0, _mm256_sub_ps(x0, _mm256_loadu_ps(lim + c)));
        h1 = _mm256_max_ps(h1, _mm256_sub_ps(x1, _mm256_loadu_ps(lim + c + 8)));
    }
    for (; c + 8 <= n; c += 8) {
        __m256 x = _mm256_loadu_ps(raw + c);
        m0 = _mm256_max_ps(m0, x);
        h0 = _mm256_max_ps(h0, _mm256_sub_ps(x, _mm256_loadu_ps(lim + c)));
    }
    if (c < n) { /* the last 1..7 columns, masked: no read past the row */
        __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256  x = _mm256_blendv_ps(ninf, _mm256_maskload_ps(raw + c, keep), _mm256_castsi256_ps(keep));
        __m256  l = _mm256_maskload_ps(lim + c, keep); /* masked lanes: -inf - 0 = -inf */
        m0 = _mm256_max_ps(m0, x);
        h0 = _mm256_max_ps(h0, _mm256_sub_ps(x, l));
    }
    float m = ei_hmax8(_mm256_max_ps(m0, m1)), h = ei_hmax8(_mm256_max_ps(h0, h1));
    *max = m;
    *g = h - m;
    return h >= m;
}

/* ei_sum_bound_scalar in AVX2: masked tail lanes read -inf, which adds max(0, -inf) = 0. */
__attribute__((target("avx2,fma"))) static float ei_sum_bound_avx2(const float * raw, int32_t n, float m) {
    const __m256 one_m = _mm256_set1_ps(1.0f), vm = _mm256_set1_ps(m), zero = _mm256_setzero_ps();
    __m256       s0 = zero, s1 = zero;
    int32_t      c = 0;
    for (; c + 16 <= n; c += 16) {
        s0 = _mm256_add_ps(s0, _mm256_max_ps(_mm256_add_ps(one_m, _mm256_sub_ps(_mm256_loadu_ps(raw + c), vm)), zero));
        s1 = _mm256_add_ps(s1,
                           _mm256_max_ps(_mm256_add_ps(one_m, _mm256_sub_ps(_mm256_loadu_ps(raw + c + 8), vm)), zero));
    }
    for (; c + 8 <= n; c += 8)
        s0 = _mm256_add_ps(s0, _mm256_max_ps(_mm256_add_ps(one_m, _mm256_sub_ps(_mm256_loadu_ps(raw + c), vm)), zero));
    if (c < n) {
        __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256  x =
            _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(raw + c, keep), _mm256_castsi256_ps(keep));
        s0 = _mm256_add_ps(s0, _mm256_max_ps(_mm256_add_ps(one_m, _mm256_sub_ps(x, vm)), zero));
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

static int ei_has_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}
#endif

int ei_decode_scores_row(ei_score_fn fn, const float * raw, int32_t n, const float * thr, const float * lim,
                         float * dst) {
    if (fn == EI_SCORE_SOFTMAX) {
        float m, g, s_lb;
        int   hit;
#ifdef EI_SCAN_X86
        int avx2 = !ei_force_scalar && ei_has_avx2();
        if (avx2)
            hit = ei_softmax_scan_avx2(raw, n, lim, &m, &g);
        else
#endif
            hit = ei_softmax_scan_scalar(raw, n, lim, &m, &g);
        if (!hit) return 0;
            /* The second bound (a NaN anywhere leaves the comparison false: the exact path rejects). */
#ifdef EI_SCAN_X86
        if (avx2)
            s_lb = ei_sum_bound_avx2(raw, n, m);
        else
#endif
            s_lb = ei_sum_bound_scalar(raw, n, m);
        if (expf(g + 1e-3f) < s_lb) return 0;
        int bad = 0;
        for (int32_t c = 0; c < n; c++) {
            dst[c] = raw[c] - m;
            bad |= dst[c] != dst[c];
        }
        if (bad) return 0; /* a NaN, or an infinite maximum: no score is defined */
        ei_vec_exp(dst, n);
        /* Eight partial sums (vectorised; one running sum is a serial chain of n adds). */
        float   s8[8] = {0};
        int32_t c = 0;
        for (; c + 8 <= n; c += 8)
            for (int32_t j = 0; j < 8; j++) s8[j] += dst[c + j];
        float sum = ((s8[0] + s8[4]) + (s8[1] + s8[5])) + ((s8[2] + s8[6]) + (s8[3] + s8[7]));
        for (; c < n; c++) sum += dst[c];
        float inv = 1.0f / sum;
        for (c = 0; c < n; c++) dst[c] *= inv;
        return 1;
    }
    if (fn == EI_SCORE_SIGMOID) {
        int hit = 0;
        for (int32_t c = 0; c < n; c++) hit |= raw[c] >= lim[c];
        if (!hit) return 0;
        for (int32_t c = 0; c < n; c++) dst[c] = 1.0f / (1.0f + expf(-raw[c]));
        return 1;
    }
    int hit = 0;
    for (int32_t c = 0; c < n; c++) hit |= raw[c] >= thr[c];
    if (!hit) return 0;
    for (int32_t c = 0; c < n; c++) dst[c] = raw[c];
    return 1;
}
