/* BF16 / FP16 engines, run time: widening weights and rounding activations (src/quant/half.h). */
#include "quant/half.h"

#include <string.h>

#include "engine/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EI_HALF_X86 1
#endif

ei_precision ei_half_round_mode(const ei_node * node) {
    const ei_attr * a = ei_node_attr(node, EI_HALF_ROUND_ATTR);
    if (a && a->type == EI_ATTR_INT && (a->i == EI_PRECISION_BF16 || a->i == EI_PRECISION_FP16))
        return (ei_precision)a->i;
    return EI_PRECISION_FP32;
}

#ifdef EI_HALF_X86
/* cpuid through the engine's ISA probe: clang's __builtin_cpu_supports has no "f16c". */
static bool has_f16c(void) {
    static int cached = -1;
    if (cached < 0) cached = (ei_isa_detect() & (EI_ISA_AVX | EI_ISA_F16C)) == (EI_ISA_AVX | EI_ISA_F16C);
    return cached == 1;
}
static bool has_avx2(void) { return __builtin_cpu_supports("avx2"); }

__attribute__((target("avx,f16c"))) static int64_t widen_f16_f16c(const uint16_t * s, float * d, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    return i;
}

__attribute__((target("avx,f16c"))) static int64_t round_f16_f16c(const float * s, float * d, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(d + i, _mm256_cvtph_ps(h));
    }
    return i;
}

/* As ei_f32_to_bf16 and back: add 0x7fff plus the lowest kept bit, drop the low half; NaNs are
 * quietened instead. */
__attribute__((target("avx2"))) static int64_t round_bf16_avx2(const float * s, float * d, int64_t n) {
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u), quiet = _mm256_set1_epi32(0x00400000);
    int64_t       i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256  f = _mm256_loadu_ps(s + i);
        __m256i x = _mm256_castps_si256(f);
        __m256i r = _mm256_add_epi32(x, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(x, 16), one)));
        __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
        r = _mm256_blendv_epi8(r, _mm256_or_si256(x, quiet), nan);
        _mm256_storeu_ps(d + i, _mm256_castsi256_ps(_mm256_and_si256(r, high)));
    }
    return i;
}
#endif

void ei_half_widen(ei_dtype dt, const uint16_t * src, float * dst, int64_t n) {
    int64_t i = 0;
    if (dt == EI_DTYPE_BF16) {
        for (; i < n; i++) {
            uint32_t bits = (uint32_t)src[i] << 16;
            memcpy(&dst[i], &bits, 4);
        }
        return;
    }
#ifdef EI_HALF_X86
    if (has_f16c()) i = widen_f16_f16c(src, dst, n);
#endif
    for (; i < n; i++) dst[i] = ei_f16_to_f32(src[i]);
}

void ei_half_round(ei_precision p, const float * src, float * dst, int64_t n) {
    int64_t i = 0;
    if (p == EI_PRECISION_BF16) {
#ifdef EI_HALF_X86
        if (has_avx2()) i = round_bf16_avx2(src, dst, n);
#endif
        for (; i < n; i++) dst[i] = ei_bf16_to_f32(ei_f32_to_bf16(src[i]));
    } else if (p == EI_PRECISION_FP16) {
#ifdef EI_HALF_X86
        if (has_f16c()) i = round_f16_f16c(src, dst, n);
#endif
        for (; i < n; i++) dst[i] = ei_f16_to_f32(ei_f32_to_f16(src[i]));
    } else if (dst != src) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
    }
}

typedef struct round_job {
    ei_precision  p;
    const float * src;
    float *       dst;
} round_job;

static void round_range(void * ctx, int64_t begin, int64_t end) {
    const round_job * j = ctx;
    ei_half_round(j->p, j->src + begin, j->dst + begin, end - begin);
}

void ei_half_round_parallel(ei_threadpool * pool, ei_precision p, const float * src, float * dst, int64_t n) {
    round_job j = {p, src, dst};
    /* 64K floats (256 KB) per task: a pass over them takes some 25 us, far above the hand-off. */
    ei_parallel_for(pool, n, (int64_t)1 << 16, round_range, &j);
}

bool ei_half_needed(const ei_node * node, const ei_tensor * const * in, int32_t w) {
    return (w < node->n_inputs && in[w] && in[w]->dtype != EI_DTYPE_F32) ||
           ei_half_round_mode(node) != EI_PRECISION_FP32;
}

ei_status * ei_half_run(ei_kernel_fn fn, int32_t w, const ei_node * node, const ei_tensor * const * in,
                        ei_tensor * const * out, const ei_exec * ex) {
    enum { MAX_IN = 8 };
    if (node->n_inputs >= MAX_IN || w >= node->n_inputs)
        return ei_node_errorf(node, EI_CODE_INTERNAL, "ei_half_run: %d inputs", node->n_inputs);
    const ei_tensor * ins[MAX_IN] = {0}; /* kernels read optional inputs past n_inputs as NULL */
    for (int32_t k = 0; k < node->n_inputs; k++) ins[k] = in[k];
    ei_tensor *  wide = NULL, *x = NULL;
    ei_status *  st = NULL;
    ei_precision mode = ei_half_round_mode(node);
    if (in[w] && (in[w]->dtype == EI_DTYPE_BF16 || in[w]->dtype == EI_DTYPE_F16)) {
        st = ei_tensor_create(EI_DTYPE_F32, &in[w]->shape, &wide);
        if (!st) {
            ei_half_widen(in[w]->dtype, in[w]->data, wide->data, ei_shape_numel(&in[w]->shape));
            ins[w] = wide;
        }
    }
    if (!st && mode != EI_PRECISION_FP32 && in[0] && in[0]->dtype == EI_DTYPE_F32) {
        st = ei_tensor_create(EI_DTYPE_F32, &in[0]->shape, &x);
        if (!st) {
            ei_half_round_parallel(ex->pool, mode, in[0]->data, x->data, ei_shape_numel(&in[0]->shape));
            ins[0] = x;
        }
    }
    if (!st) st = fn(node, ins, out, ex);
    ei_tensor_destroy(wide);
    ei_tensor_destroy(x);
    return st;
}
