#include "cpu/vmath.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EI_VMATH_X86 1
#endif

static float sigmoid1(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

#ifdef EI_VMATH_X86
/* exp(x) for 8 floats: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-5 polynomial, 2^n through
 * the exponent bits. Inputs are clamped to [-87.3, 88.7] so 2^n stays a normal float. */
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
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
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) static void sigmoid_avx2(float * y, int64_t n, int silu) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    int64_t      i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(y + i);
        __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_xor_ps(x, sign))));
        _mm256_storeu_ps(y + i, silu ? _mm256_mul_ps(x, s) : s);
    }
    for (; i < n; i++) y[i] = silu ? y[i] * sigmoid1(y[i]) : sigmoid1(y[i]);
}

__attribute__((target("avx2,fma"))) static void exp_avx2(float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = expf(y[i]);
}

static int has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}
#endif

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
