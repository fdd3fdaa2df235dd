/* 4:2:0 frames as resizer sources: only the pixels the taps touch are converted (yuv_taps.h).
 * R = 1.164 (Y-16) + 1.596 (V-128), G = 1.164 (Y-16) - 0.813 (V-128) - 0.391 (U-128),
 * B = 1.164 (Y-16) + 2.018 (U-128), in OpenCV's 20-bit fixed point, clamped to 0..255. */
#include "vision/yuv_taps.h"

#include <string.h>

#include "vision/resize.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define EI_YUV_AVX2 1
#endif

enum { YUV_SHIFT = 20, YUV_CY = 1220542, YUV_CUB = 2116026, YUV_CUG = -409993, YUV_CVG = -852492, YUV_CVR = 1673527 };

/* The rows of frame row sy: Y, chroma (U, and V at +1 for NV12), the chroma step. */
typedef struct yuv_row {
    const uint8_t *y, *u, *v;
    int            step;
} yuv_row;

static yuv_row row_of(const ei_image * img, int32_t sy) {
    yuv_row r;
    r.y = img->plane[0] + (size_t)sy * (size_t)img->stride[0];
    r.u = img->plane[1] + (size_t)(sy / 2) * (size_t)img->stride[1];
    r.v = r.u + 1, r.step = 2;
    if (img->format == EI_PIXEL_I420) r.v = img->plane[2] + (size_t)(sy / 2) * (size_t)img->stride[2], r.step = 1;
    return r;
}

static inline int clamp255(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

static inline void pixel(const yuv_row * r, int32_t x, int rgb[3]) {
    int u = r->u[(x >> 1) * r->step] - 128, v = r->v[(x >> 1) * r->step] - 128, yy = r->y[x] - 16;
    int y = (yy < 0 ? 0 : yy) * YUV_CY + (1 << (YUV_SHIFT - 1));
    rgb[0] = clamp255((y + YUV_CVR * v) >> YUV_SHIFT);
    rgb[1] = clamp255((y + YUV_CVG * v + YUV_CUG * u) >> YUV_SHIFT);
    rgb[2] = clamp255((y + YUV_CUB * u) >> YUV_SHIFT);
}

/* Y, U, V bytes to R, G, B: branch-free, vectorised (an AVX2 clone where available). */
EI_VEC_CLONES static void yuv_to_rgb(const uint8_t * restrict Y, const uint8_t * restrict U, const uint8_t * restrict V,
                                     int32_t n, uint8_t * restrict out) {
    for (int32_t k = 0; k < n; k++) {
        int u = U[k] - 128, v = V[k] - 128, yy = Y[k] - 16;
        int y = (yy < 0 ? 0 : yy) * YUV_CY + (1 << (YUV_SHIFT - 1));
        int r = (y + YUV_CVR * v) >> YUV_SHIFT, g = (y + YUV_CVG * v + YUV_CUG * u) >> YUV_SHIFT,
            b = (y + YUV_CUB * u) >> YUV_SHIFT;
        r = r < 0 ? 0 : r, g = g < 0 ? 0 : g, b = b < 0 ? 0 : b;
        out[3 * k + 0] = (uint8_t)(r > 255 ? 255 : r);
        out[3 * k + 1] = (uint8_t)(g > 255 ? 255 : g);
        out[3 * k + 2] = (uint8_t)(b > 255 ? 255 : b);
    }
}

void ei_yuv_rows(void * ctx, int32_t sy, const int32_t * cols, int32_t ncols, uint8_t * out) {
    const ei_yuv_source * ys = ctx;
    yuv_row               r = row_of(ys->img, sy);
    uint8_t *             Y = ys->buf, *U = Y + ncols, *V = U + ncols;
    for (int32_t k = 0; k < ncols; k++) {
        int32_t x = cols[k];
        Y[k] = r.y[x];
        U[k] = r.u[(x >> 1) * r.step];
        V[k] = r.v[(x >> 1) * r.step];
    }
    yuv_to_rgb(Y, U, V, ncols, out);
}

#ifdef EI_YUV_AVX2
/* R, G, B (int32 lanes, 0..255) of Y, U, V lanes: the scalar formula, lane by lane. */
__attribute__((target("avx2"))) static inline void rgb8(__m256i Y, __m256i U, __m256i V, __m256i out[3]) {
    const __m256i zero = _mm256_setzero_si256(), max = _mm256_set1_epi32(255);
    __m256i       u = _mm256_sub_epi32(U, _mm256_set1_epi32(128)), v = _mm256_sub_epi32(V, _mm256_set1_epi32(128));
    __m256i       y = _mm256_max_epi32(_mm256_sub_epi32(Y, _mm256_set1_epi32(16)), zero);
    y = _mm256_add_epi32(_mm256_mullo_epi32(y, _mm256_set1_epi32(YUV_CY)), _mm256_set1_epi32(1 << (YUV_SHIFT - 1)));
    __m256i r = _mm256_add_epi32(y, _mm256_mullo_epi32(v, _mm256_set1_epi32(YUV_CVR)));
    __m256i g = _mm256_add_epi32(y, _mm256_add_epi32(_mm256_mullo_epi32(v, _mm256_set1_epi32(YUV_CVG)),
                                                     _mm256_mullo_epi32(u, _mm256_set1_epi32(YUV_CUG))));
    __m256i b = _mm256_add_epi32(y, _mm256_mullo_epi32(u, _mm256_set1_epi32(YUV_CUB)));
    out[0] = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(r, YUV_SHIFT), zero), max);
    out[1] = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(g, YUV_SHIFT), zero), max);
    out[2] = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(b, YUV_SHIFT), zero), max);
}

enum { AT_X, AT_EVEN, AT_HALF }; /* dwords8 offsets: x, x rounded down to even, x / 2 */

static inline int32_t load32(const uint8_t * p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The 4 bytes at b + offset(x[k]) for the 8 columns x[0..7]: plain loads, which are cheaper than
 * vpgatherdd here (the gathers were half of this pass). */
__attribute__((target("avx2"))) static inline __m256i dwords8(const uint8_t * b, const int32_t * x, int at) {
    int32_t o[8];
    for (int k = 0; k < 8; k++) o[k] = at == AT_X ? x[k] : at == AT_EVEN ? x[k] & ~1 : x[k] >> 1;
    return _mm256_setr_epi32(load32(b + o[0]), load32(b + o[1]), load32(b + o[2]), load32(b + o[3]), load32(b + o[4]),
                             load32(b + o[5]), load32(b + o[6]), load32(b + o[7]));
}

/* Y, U, V of the 8 pixels at columns x[0..7]: 4-byte loads, the low byte kept (callers make sure
 * the 4 bytes lie inside the rows). */
__attribute__((target("avx2"))) static inline void yuv8(const yuv_row * r, const int32_t * x, __m256i * Y, __m256i * U,
                                                        __m256i * V) {
    const __m256i lo = _mm256_set1_epi32(0xff);
    *Y = _mm256_and_si256(dwords8(r->y, x, AT_X), lo);
    if (r->step == 2) {
        __m256i uv = dwords8(r->u, x, AT_EVEN);
        *U = _mm256_and_si256(uv, lo);
        *V = _mm256_and_si256(_mm256_srli_epi32(uv, 8), lo);
    } else {
        *U = _mm256_and_si256(dwords8(r->u, x, AT_HALF), lo);
        *V = _mm256_and_si256(dwords8(r->v, x, AT_HALF), lo);
    }
}

/* R, G, B of the pixels at columns x (p0) and x + 1 (p1) from the same 4-byte loads: Y bytes
 * 0 and 1; the chroma of x + 1 is the same sample when x is even, the next one (2 bytes on in
 * NV12, 1 in I420) when it is odd. */
__attribute__((target("avx2"))) static inline void yuv8_pair(const yuv_row * r, const int32_t * x, __m256i ix,
                                                             __m256i p0[3], __m256i p1[3]) {
    const __m256i lo = _mm256_set1_epi32(0xff), odd = _mm256_and_si256(ix, _mm256_set1_epi32(1));
    __m256i       U0, V0, U1, V1;
    __m256i       y = dwords8(r->y, x, AT_X);
    if (r->step == 2) {
        __m256i uv = dwords8(r->u, x, AT_EVEN);
        __m256i uv1 = _mm256_srlv_epi32(uv, _mm256_slli_epi32(odd, 4));
        U0 = _mm256_and_si256(uv, lo), V0 = _mm256_and_si256(_mm256_srli_epi32(uv, 8), lo);
        U1 = _mm256_and_si256(uv1, lo), V1 = _mm256_and_si256(_mm256_srli_epi32(uv1, 8), lo);
    } else {
        __m256i u = dwords8(r->u, x, AT_HALF);
        __m256i v = dwords8(r->v, x, AT_HALF);
        __m256i sh = _mm256_slli_epi32(odd, 3);
        U0 = _mm256_and_si256(u, lo), V0 = _mm256_and_si256(v, lo);
        U1 = _mm256_and_si256(_mm256_srlv_epi32(u, sh), lo), V1 = _mm256_and_si256(_mm256_srlv_epi32(v, sh), lo);
    }
    rgb8(_mm256_and_si256(y, lo), U0, V0, p0);
    rgb8(_mm256_and_si256(_mm256_srli_epi32(y, 8), lo), U1, V1, p1);
}

/* Output pixels [0, safe) in eights: both taps converted, each channel's pair (p0, p1) as int16
 * times the weight pair (a0, a1) by madd, exactly p0 a0 + p1 a1. Returns the pixels done. */
__attribute__((target("avx2"))) static int32_t hpass_avx2(const yuv_row * r, const int32_t * x0, const int32_t * x1,
                                                          const int32_t * pw, int32_t n, int32_t safe, int32_t * D) {
    int32_t i = 0;
    for (; i + 8 <= safe; i += 8) {
        __m256i Y, U, V, p0[3], p1[3], w = _mm256_loadu_si256((const __m256i *)(pw + i));
        __m256i ix0 = _mm256_loadu_si256((const __m256i *)(x0 + i)),
                ix1 = _mm256_loadu_si256((const __m256i *)(x1 + i));
        if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(ix1, _mm256_add_epi32(ix0, _mm256_set1_epi32(1)))) == -1) {
            /* x1 = x0 + 1 in all eight (everywhere but the right border): one load serves both taps */
            yuv8_pair(r, x0 + i, ix0, p0, p1);
        } else {
            yuv8(r, x0 + i, &Y, &U, &V);
            rgb8(Y, U, V, p0);
            yuv8(r, x1 + i, &Y, &U, &V);
            rgb8(Y, U, V, p1);
        }
        for (int c = 0; c < 3; c++)
            _mm256_storeu_si256((__m256i *)(D + (size_t)c * (size_t)n + (size_t)i),
                                _mm256_madd_epi16(_mm256_or_si256(p0[c], _mm256_slli_epi32(p1[c], 16)), w));
    }
    return i;
}
#endif

void ei_yuv_hpass(void * ctx, int32_t sy, const int32_t * x0, const int32_t * x1, const int32_t * pw, int32_t n,
                  int32_t * D) {
    const ei_yuv_source * ys = ctx;
    yuv_row               r = row_of(ys->img, sy);
    int32_t               i = 0;
#ifdef EI_YUV_AVX2
    if (ei_resize_avx2()) {
        /* 4-byte reads at x (Y), 2 (x/2) (NV12 UV) or x/2 (I420): inside the rows while x + 8 <= width */
        int32_t safe = n;
        while (safe > 0 && x1[safe - 1] + 8 > ys->img->width) safe--;
        i = hpass_avx2(&r, x0, x1, pw, n, safe, D);
    }
#endif
    for (; i < n; i++) {
        int     a[3], b[3];
        int32_t w0 = (int32_t)((uint32_t)pw[i] & 0xffff), w1 = (int32_t)((uint32_t)pw[i] >> 16);
        pixel(&r, x0[i], a);
        pixel(&r, x1[i], b);
        for (int c = 0; c < 3; c++) D[(size_t)c * (size_t)n + (size_t)i] = a[c] * w0 + b[c] * w1;
    }
}
