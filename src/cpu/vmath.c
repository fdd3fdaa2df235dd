#include "cpu/vmath.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EI_VMATH_X86 1
#endif

static float sigmoid1(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

#ifdef EI_VMATH_X86
/* The core of exp8 and of the sigmoid family: n = round(x / ln2) and exp(x - n ln2), x already
 * clamped by the caller. */
__attribute__((target("avx2,fma"))) static inline __m256 exp_reduced8(__m256 x, __m256 * n_out) {
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    *n_out = n;
    return _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
}

/* exp(x) for 8 floats: x = n ln2 + r, |r| <= ln2/2, exp(r) by Cephes' degree-5 polynomial, 2^n
 * through the exponent bits. Relative error <= 3e-7 over [-87.3, 88.7] (tests/kernels_seg
 * measures it against double exp); below -87.3 the result is 0 (the true value is under 1.2e-38),
 * above 88.72 +inf, and NaN stays NaN (min/max return their second operand when one is NaN, so
 * the clamp keeps x there). */
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.72283935546875f);
    __m256       under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256       over = _mm256_cmp_ps(x, _mm256_set1_ps(88.72283935546875f), _CMP_GT_OQ);
    x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    __m256 n;
    __m256 p = exp_reduced8(x, &n);
    /* 2^n as 2^(n/2) 2^(n - n/2): n reaches 128 near the top of the range, beyond one exponent. */
    __m256i ni = _mm256_cvtps_epi32(n), nh = _mm256_srai_epi32(ni, 1);
    __m256i e1 = _mm256_slli_epi32(_mm256_add_epi32(nh, _mm256_set1_epi32(127)), 23);
    __m256i e2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, nh), _mm256_set1_epi32(127)), 23);
    p = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e1)), _mm256_castsi256_ps(e2));
    __m256 y = _mm256_andnot_ps(under, p);
    return _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), over);
}

/* Lane masks for the last n % 8 elements of a row (maskload/maskstore). */
__attribute__((target("avx2,fma"))) static inline __m256i tail_mask(int64_t rem) {
    static const int32_t k_lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(const void *)(k_lanes + 8 - rem));
}

__attribute__((target("avx2,fma"))) static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma"))) static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 1 + exp(-x) for the sigmoid family. exp8's care for the whole float range is not needed here:
 * with -x clamped to [-87.3, 88] one exponent scale holds 2^n, and 1 + exp(-x) is finite, so the
 * clamps, the split scale and the infinity blends go. SiLU is YOLOX's activation after each of
 * its 104 convolutions (8.7 M values an inference): this form, 4 vectors a step so that the
 * dependent chains overlap, takes about 0.6 of exp8's time (docs/cpu-kernels.md, "SiLU"). */
__attribute__((target("avx2,fma"))) static inline __m256 one_plus_exp_neg8(__m256 x) {
    __m256  t = _mm256_min_ps(_mm256_set1_ps(88.0f),
                              _mm256_max_ps(_mm256_set1_ps(-87.3f), _mm256_xor_ps(x, _mm256_set1_ps(-0.0f))));
    __m256  n;
    __m256  p = exp_reduced8(t, &n);
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_fmadd_ps(p, _mm256_castsi256_ps(e), _mm256_set1_ps(1.0f));
}

/* sigmoid(x) = 1 / d, silu(x) = x / d. */
__attribute__((target("avx2,fma"))) static inline __m256 sig8(__m256 x, int silu) {
    return _mm256_div_ps(silu ? x : _mm256_set1_ps(1.0f), one_plus_exp_neg8(x));
}

__attribute__((target("avx2,fma"))) static void sigmoid_avx2(float * y, int64_t n, int silu) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a = sig8(_mm256_loadu_ps(y + i), silu), b = sig8(_mm256_loadu_ps(y + i + 8), silu);
        __m256 c = sig8(_mm256_loadu_ps(y + i + 16), silu), d = sig8(_mm256_loadu_ps(y + i + 24), silu);
        _mm256_storeu_ps(y + i, a);
        _mm256_storeu_ps(y + i + 8, b);
        _mm256_storeu_ps(y + i + 16, c);
        _mm256_storeu_ps(y + i + 24, d);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, sig8(_mm256_loadu_ps(y + i), silu));
    for (; i < n; i++) y[i] = silu ? y[i] * sigmoid1(y[i]) : sigmoid1(y[i]);
}

__attribute__((target("avx2,fma"))) static void exp_avx2(float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = expf(y[i]);
}

/* Softmax of one row: max, then exp(x - max) stored and summed, then scaled by 1/sum (log: (x -
 * max) - log(sum)). Two accumulators per pass hide the add latency; the tail goes through masked
 * loads so every element takes the same polynomial. */
__attribute__((target("avx2,fma"))) static void softmax_row_avx2(const float * x, float * y, int64_t n, int log) {
    const int64_t nv = n & ~(int64_t)7, rem = n - nv;
    const __m256i tm = tail_mask(rem);
    __m256        m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    int64_t       i = 0;
    for (; i + 16 <= nv; i += 16) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    }
    if (i < nv) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    float mx = hmax8(_mm256_max_ps(m0, m1));
    for (i = nv; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    const __m256 vm = _mm256_set1_ps(mx);
    __m256       s0 = _mm256_setzero_ps(), s1 = s0;
    for (i = 0; i + 16 <= nv; i += 16) {
        __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm));
        if (!log) {
            _mm256_storeu_ps(y + i, e0);
            _mm256_storeu_ps(y + i + 8, e1);
        }
        s0 = _mm256_add_ps(s0, e0);
        s1 = _mm256_add_ps(s1, e1);
    }
    if (i < nv) {
        __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        if (!log) _mm256_storeu_ps(y + i, e0);
        s0 = _mm256_add_ps(s0, e0);
    }
    if (rem) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(tm));
        if (!log) _mm256_maskstore_ps(y + nv, tm, e);
        s1 = _mm256_add_ps(s1, e);
    }
    float sum = hsum8(_mm256_add_ps(s0, s1));
    if (log) {
        const __m256 ls = _mm256_set1_ps(logf(sum));
        for (i = 0; i < nv; i += 8)
            _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), ls));
        if (rem) _mm256_maskstore_ps(y + nv, tm, _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), vm), ls));
        return;
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i < nv; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
    if (rem) _mm256_maskstore_ps(y + nv, tm, _mm256_mul_ps(_mm256_maskload_ps(y + nv, tm), inv));
}

/* GELU, 0.5 x (1 + erf(x / sqrt 2)), with erf(z) = z P(z^2) / Q(z^2) on z clamped to [-4, 4]
 * (Eigen's rational approximation, as in XNNPACK and TensorFlow): |erf error| <= 5e-7, so the
 * GELU error is at most about 3e-7 |x| + 1 ulp (tests/kernels_seg checks 1e-6 absolute on |x| <= 2,
 * 1e-6 |x| beyond). NaN and +-inf follow the formula. */
__attribute__((target("avx2,fma"))) static inline __m256 gelu8(__m256 x) {
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    z = _mm256_min_ps(_mm256_set1_ps(4.0f), _mm256_max_ps(_mm256_set1_ps(-4.0f), z));
    __m256 z2 = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-1.60960333262415e-02f));
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(-1.42647390514189e-02f));
    __m256 erf = _mm256_div_ps(_mm256_mul_ps(z, p), q);
    __m256 hx = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(hx, erf, hx);
}

__attribute__((target("avx2,fma"))) static void gelu_avx2(const float * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = gelu8(_mm256_loadu_ps(x + i)), b = gelu8(_mm256_loadu_ps(x + i + 8));
        _mm256_storeu_ps(y + i, a);
        _mm256_storeu_ps(y + i + 8, b);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i tm = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, tm, gelu8(_mm256_maskload_ps(x + i, tm)));
    }
}

/* LayerNorm of one row, two passes (mean, then mean squared deviation) as the scalar path. */
__attribute__((target("avx2,fma"))) static void layernorm_row_avx2(const float * x, float * y, int64_t n,
                                                                   const float * scale, const float * bias, float eps,
                                                                   float * mean_out, float * inv_out) {
    const int64_t nv = n & ~(int64_t)7, rem = n - nv;
    const __m256i tm = tail_mask(rem);
    __m256        s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t       i = 0;
    for (; i + 16 <= nv; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    if (i < nv) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    if (rem) s1 = _mm256_add_ps(s1, _mm256_maskload_ps(x + nv, tm));
    const float  mean = hsum8(_mm256_add_ps(s0, s1)) / (float)n;
    const __m256 vm = _mm256_set1_ps(mean);
    s0 = s1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= nv; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    if (i < nv) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        s0 = _mm256_fmadd_ps(d0, d0, s0);
    }
    if (rem) {
        __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), vm), _mm256_castsi256_ps(tm));
        s1 = _mm256_fmadd_ps(d, d, s1);
    }
    const float inv = 1.0f / sqrtf(hsum8(_mm256_add_ps(s0, s1)) / (float)n + eps);
    if (mean_out) *mean_out = mean;
    if (inv_out) *inv_out = inv;
    const __m256 vi = _mm256_set1_ps(inv);
    for (i = 0; i < nv; i += 8) {
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi);
        t = bias ? _mm256_fmadd_ps(t, _mm256_loadu_ps(scale + i), _mm256_loadu_ps(bias + i))
                 : _mm256_mul_ps(t, _mm256_loadu_ps(scale + i));
        _mm256_storeu_ps(y + i, t);
    }
    if (rem) {
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), vm), vi);
        t = bias ? _mm256_fmadd_ps(t, _mm256_maskload_ps(scale + nv, tm), _mm256_maskload_ps(bias + nv, tm))
                 : _mm256_mul_ps(t, _mm256_maskload_ps(scale + nv, tm));
        _mm256_maskstore_ps(y + nv, tm, t);
    }
}

/* 8x8 block: d[c * ld + r] = s[r * ls + c]. */
__attribute__((target("avx2,fma"))) static inline void transpose8x8(const float * s, int64_t ls, float * d,
                                                                    int64_t ld) {
    __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ls), r2 = _mm256_loadu_ps(s + 2 * ls);
    __m256 r3 = _mm256_loadu_ps(s + 3 * ls), r4 = _mm256_loadu_ps(s + 4 * ls), r5 = _mm256_loadu_ps(s + 5 * ls);
    __m256 r6 = _mm256_loadu_ps(s + 6 * ls), r7 = _mm256_loadu_ps(s + 7 * ls);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + ld, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* The inner loop walks contiguously the side whose other stride is longer (src rows when lds >
 * ldd): a long, often power-of-two stride stepped in the inner loop maps every access of the
 * tile to the same cache sets (measured on [256, 16384] -> [16384, 256]: 4.3 -> 2.6 ms). */
__attribute__((target("avx2,fma"))) static void transpose_avx2(const float * src, int64_t lds, float * dst, int64_t ldd,
                                                               int64_t rows, int64_t cols) {
    const int64_t r8 = rows & ~(int64_t)7, c8 = cols & ~(int64_t)7;
    if (lds > ldd) {
        for (int64_t r = 0; r < r8; r += 8)
            for (int64_t c = 0; c < c8; c += 8) transpose8x8(src + r * lds + c, lds, dst + c * ldd + r, ldd);
    } else {
        for (int64_t c = 0; c < c8; c += 8)
            for (int64_t r = 0; r < r8; r += 8) transpose8x8(src + r * lds + c, lds, dst + c * ldd + r, ldd);
    }
    for (int64_t r = r8; r < rows; r++)
        for (int64_t c = 0; c < c8; c++) dst[c * ldd + r] = src[r * lds + c];
    for (int64_t c = c8; c < cols; c++)
        for (int64_t r = 0; r < rows; r++) dst[c * ldd + r] = src[r * lds + c];
}

/* y = a * wa + b * wb */
__attribute__((target("avx2,fma"))) static void lerp_avx2(float * y, const float * a, float wa, const float * b,
                                                          float wb, int64_t n) {
    const __m256 va = _mm256_set1_ps(wa), vb = _mm256_set1_ps(wb);
    int64_t      i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(a + i), va, _mm256_mul_ps(_mm256_loadu_ps(b + i), vb)));
        _mm256_storeu_ps(
            y + i + 8, _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), va, _mm256_mul_ps(_mm256_loadu_ps(b + i + 8), vb)));
    }
    for (; i < n; i++) y[i] = a[i] * wa + b[i] * wb;
}

/* y[i] = s[i0[i]] * w0[i] + s[i1[i]] * w1[i] */
__attribute__((target("avx2,fma"))) static void gather_lerp_avx2(float * y, const float * s, const int32_t * i0,
                                                                 const float * w0, const int32_t * i1, const float * w1,
                                                                 int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_i32gather_ps(s, _mm256_loadu_si256((const __m256i *)(const void *)(i0 + i)), 4);
        __m256 b = _mm256_i32gather_ps(s, _mm256_loadu_si256((const __m256i *)(const void *)(i1 + i)), 4);
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(w0 + i), _mm256_mul_ps(b, _mm256_loadu_ps(w1 + i))));
    }
    for (; i < n; i++) y[i] = s[i0[i]] * w0[i] + s[i1[i]] * w1[i];
}

static int g_simd_enabled = 1;

static int has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached && g_simd_enabled;
}
#endif

void ei_vmath_set_simd(int enable) {
#ifdef EI_VMATH_X86
    g_simd_enabled = enable != 0;
#else
    (void)enable;
#endif
}

void ei_vec_sigmoid(float * y, int64_t n) {
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        sigmoid_avx2(y, n, 0);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = sigmoid1(y[i]);
}

void ei_vec_silu(float * y, int64_t n) {
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        sigmoid_avx2(y, n, 1);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] *= sigmoid1(y[i]);
}

void ei_vec_exp(float * y, int64_t n) {
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        exp_avx2(y, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = expf(y[i]);
}

void ei_vec_softmax(const float * x, float * y, int64_t n, int log) {
    if (n <= 0) return;
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        softmax_row_avx2(x, y, n, log);
        return;
    }
#endif
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float sum = 0.0f;
    if (log) {
        for (int64_t i = 0; i < n; i++) sum += expf(x[i] - mx);
        /* (x - max) - log(sum), not x - (max + log(sum)): exact where x is the maximum. */
        float ls = logf(sum);
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mx) - ls;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        y[i] = expf(x[i] - mx);
        sum += y[i];
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++) y[i] *= inv;
}

void ei_vec_gelu(const float * x, float * y, int64_t n) {
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        gelu_avx2(x, y, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void ei_vec_layernorm(const float * x, float * y, int64_t n, const float * scale, const float * bias, float eps,
                      float * mean_out, float * inv_out) {
    if (n <= 0) return;
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        layernorm_row_avx2(x, y, n, scale, bias, eps, mean_out, inv_out);
        return;
    }
#endif
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    float mean = sum / (float)n, sq = 0.0f;
    for (int64_t i = 0; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
    float inv = 1.0f / sqrtf(sq / (float)n + eps);
    if (mean_out) *mean_out = mean;
    if (inv_out) *inv_out = inv;
    if (bias)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * scale[i] + bias[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * scale[i];
}

void ei_vec_transpose32(const void * src, int64_t lds, void * dst, int64_t ldd, int64_t rows, int64_t cols) {
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        /* The intrinsics' loads and stores may alias any type. */
        transpose_avx2(src, lds, dst, ldd, rows, cols);
        return;
    }
#endif
    /* 8x8 blocks keep the strided side of the copy within a few cache lines; 4-byte memcpy (a
     * plain move) copies any element type bit for bit. */
    const char * s = src;
    char *       d = dst;
    for (int64_t c0 = 0; c0 < cols; c0 += 8) {
        int64_t c1 = c0 + 8 < cols ? c0 + 8 : cols;
        for (int64_t r0 = 0; r0 < rows; r0 += 8) {
            int64_t r1 = r0 + 8 < rows ? r0 + 8 : rows;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++) memcpy(d + 4 * (c * ldd + r), s + 4 * (r * lds + c), 4);
        }
    }
}

void ei_vec_lerp(float * y, const float * a, float wa, const float * b, float wb, int64_t n) {
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        lerp_avx2(y, a, wa, b, wb, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = a[i] * wa + b[i] * wb;
}

void ei_vec_gather_lerp(float * y, const float * s, const int32_t * i0, const float * w0, const int32_t * i1,
                        const float * w1, int64_t n) {
#ifdef EI_VMATH_X86
    if (has_avx2_fma()) {
        gather_lerp_avx2(y, s, i0, w0, i1, w1, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = s[i0[i]] * w0[i] + s[i1[i]] * w1[i];
}
