/* 4:2:0 frames as resizer sources: only the pixels the taps touch are converted (yuv_taps.h).
 * R = 1.164 (Y-16) + 1.596 (V-128), G = 1.164 (Y-16) - 0.813 (V-128) - 0.391 (U-128),
 * B = 1.164 (Y-16) + 2.018 (U-128), in OpenCV's 20-bit fixed point, clamped to 0..255. */
#include "vision/yuv_taps.h"

#include <stdlib.h>
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
EI_VEC_CLONES void ei_yuv_to_rgb(const uint8_t * restrict Y, const uint8_t * restrict U, const uint8_t * restrict V,
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
    ei_yuv_to_rgb(Y, U, V, ncols, out);
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

/* ---- the window path: no per-pixel loads ----
 * The taps of 8 output pixels usually lie within 32 bytes of each plane's row (shrinks by up to
 * about 4). Per group of 8 pixels a table holds, for each plane, a window start and two pshufb
 * masks that pick the tap bytes out of the window's two 16-byte halves (each broadcast to both
 * lanes, as pshufb stays within a lane), straight into the dwords the conversion reads: Y as
 * (Y0, Y1, 0, 0), NV12 chroma as (U0, V0, U1, V1), I420 as (U0, U1, 0, 0) and (V0, V1, 0, 0).
 * The same bytes as hpass_avx2's loads, so the same sums. A window starts at the group's first
 * tap, moved left to end at the row's end where needed; groups whose taps span 32 bytes or more,
 * and rows shorter than 32 bytes, keep hpass_avx2. Built once per resizer: the taps are the same
 * for every row. */
enum { WIN = 32 };

typedef struct yuv_group {
    uint8_t mask[3][2][WIN]; /* plane (Y, NV12 UV or I420 U, I420 V), window half */
    int32_t base[3];         /* window starts */
    int32_t ok;              /* every tap inside its windows */
} yuv_group;

/* Window start for taps at bytes first..last of a row of len bytes; -1 when they do not fit. */
static int32_t window_base(int32_t first, int32_t last, int32_t len) {
    int32_t b = first + WIN <= len ? first : len - WIN;
    return b >= 0 && last - b < WIN ? b : -1;
}

/* The group of output pixels x0[0..7], x1[0..7]. */
static void group_build(const ei_image * img, const int32_t * x0, const int32_t * x1, yuv_group * g) {
    int     nv12 = img->format == EI_PIXEL_NV12;
    int32_t w = img->width, cw = (w + 1) / 2;
    memset(g->mask, 0x80, sizeof g->mask);
    g->base[0] = window_base(x0[0], x1[7], w);
    if (nv12) {
        g->base[1] = window_base(2 * (x0[0] >> 1), 2 * (x1[7] >> 1) + 1, 2 * cw);
        g->base[2] = 0;
    } else {
        g->base[1] = g->base[2] = window_base(x0[0] >> 1, x1[7] >> 1, cw);
    }
    g->ok = g->base[0] >= 0 && g->base[1] >= 0 && g->base[2] >= 0;
    for (int k = 0; g->ok && k < 8; k++) {
        int32_t a = x0[k], b = x1[k], off[3][4] = {{a - g->base[0], b - g->base[0], -1, -1}};
        if (nv12) {
            int32_t c0 = 2 * (a >> 1) - g->base[1], c1 = 2 * (b >> 1) - g->base[1];
            off[1][0] = c0, off[1][1] = c0 + 1, off[1][2] = c1, off[1][3] = c1 + 1;
            off[2][0] = off[2][1] = off[2][2] = off[2][3] = -1;
        } else {
            off[1][0] = (a >> 1) - g->base[1], off[1][1] = (b >> 1) - g->base[1], off[1][2] = off[1][3] = -1;
            off[2][0] = (a >> 1) - g->base[2], off[2][1] = (b >> 1) - g->base[2], off[2][2] = off[2][3] = -1;
        }
        for (int p = 0; p < 3; p++)
            for (int j = 0; j < 4; j++) {
                size_t  at = (size_t)(16 * (k / 4) + 4 * (k % 4) + j);
                int32_t o = off[p][j];
                g->mask[p][0][at] = o >= 0 && o < 16 ? (uint8_t)o : 0x80;
                g->mask[p][1][at] = o >= 16 && o < WIN ? (uint8_t)(o - 16) : 0x80;
            }
    }
}

/* The tables for the n output pixels of x0/x1 (n / 8 groups); 0 when out of memory (the caller
 * then keeps hpass_avx2). */
static int groups_ready(ei_yuv_source * ys, const int32_t * x0, const int32_t * x1, int32_t n) {
    if (ys->groups && ys->groups_x0 == x0) return 1;
    free(ys->groups);
    ys->n_groups = n / 8;
    ys->groups_x0 = x0;
    ys->groups = malloc(sizeof(yuv_group) * (size_t)(ys->n_groups > 0 ? ys->n_groups : 1));
    if (!ys->groups) return 0;
    yuv_group * g = ys->groups;
    for (int32_t k = 0; k < ys->n_groups; k++) group_build(ys->img, x0 + 8 * k, x1 + 8 * k, &g[k]);
    return 1;
}

void ei_yuv_source_release(ei_yuv_source * ys) {
    free(ys->buf);
    free(ys->groups);
    ys->buf = NULL;
    ys->groups = NULL;
    ys->groups_x0 = NULL;
    ys->n_groups = 0;
}

#ifdef EI_YUV_AVX2
/* The dwords of one plane's window at p (32 readable bytes) through the group's masks m. */
__attribute__((target("avx2"))) static inline __m256i window8(const uint8_t * p, const uint8_t (*m)[WIN]) {
    __m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p));
    __m256i hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
    return _mm256_or_si256(_mm256_shuffle_epi8(lo, _mm256_loadu_si256((const __m256i *)(const void *)m[0])),
                           _mm256_shuffle_epi8(hi, _mm256_loadu_si256((const __m256i *)(const void *)m[1])));
}

/* The window path's constants, read from memory (folded into the instructions) rather than built
 * in registers: with them all in registers the loop ran out and rebuilt them every group. */
#define EI_X8(v)                                                                                                       \
    { v, v, v, v, v, v, v, v }
static const int32_t ei_yuv_k[9][8] __attribute__((aligned(32))) = {
    EI_X8(YUV_CY),  EI_X8(1 << (YUV_SHIFT - 1)),           EI_X8(YUV_CVR), EI_X8(YUV_CVG), EI_X8(YUV_CUG),
    EI_X8(YUV_CUB), EI_X8(0x00ff00ff) /* 255 per int16 */, EI_X8(0xff),    EI_X8(128)};
#undef EI_X8
enum { K_CY, K_HALF, K_CVR, K_CVG, K_CUG, K_CUB, K_255W, K_LO, K_128 };

#if defined(__clang__)
#define EI_NOIPA __attribute__((noinline))
#else
#define EI_NOIPA __attribute__((noipa))
#endif
#define kv(i) _mm256_load_si256((const __m256i *)(const void *)K[i])

/* One channel's tap pair from the unshifted sums a (tap 0) and b (tap 1), as the dword
 * (p0 | p1 << 16) madd wants: floor(a / 2^16) (srai) in the low half and b's high half, which is
 * floor(b / 2^16), then both >> 4 (int16), so floor(v / 2^20) exactly, clamped to 0..255. The sums
 * lie within +-2^29, so every step is exact in int16. */
__attribute__((target("avx2"))) static inline __m256i pair_of(const int32_t (*K)[8], __m256i a, __m256i b) {
    __m256i t = _mm256_blend_epi16(_mm256_srai_epi32(a, 16), b, 0xAA);
    t = _mm256_srai_epi16(t, YUV_SHIFT - 16);
    return _mm256_min_epi16(_mm256_max_epi16(t, _mm256_setzero_si256()), kv(K_255W));
}

/* R, G, B tap pairs of Y (already max(Y - 16, 0)), U, V (already less 128) of both taps: the
 * scalar formula lane by lane. */
__attribute__((target("avx2"))) static inline void rgb_pairs(const int32_t (*K)[8], __m256i y0, __m256i y1, __m256i u0,
                                                             __m256i v0, __m256i u1, __m256i v1, __m256i out[3]) {
    __m256i a = _mm256_add_epi32(_mm256_mullo_epi32(y0, kv(K_CY)), kv(K_HALF));
    __m256i b = _mm256_add_epi32(_mm256_mullo_epi32(y1, kv(K_CY)), kv(K_HALF));
    out[0] = pair_of(K, _mm256_add_epi32(a, _mm256_mullo_epi32(v0, kv(K_CVR))),
                     _mm256_add_epi32(b, _mm256_mullo_epi32(v1, kv(K_CVR))));
    out[1] = pair_of(
        K, _mm256_add_epi32(a, _mm256_add_epi32(_mm256_mullo_epi32(v0, kv(K_CVG)), _mm256_mullo_epi32(u0, kv(K_CUG)))),
        _mm256_add_epi32(b, _mm256_add_epi32(_mm256_mullo_epi32(v1, kv(K_CVG)), _mm256_mullo_epi32(u1, kv(K_CUG)))));
    out[2] = pair_of(K, _mm256_add_epi32(a, _mm256_mullo_epi32(u0, kv(K_CUB))),
                     _mm256_add_epi32(b, _mm256_mullo_epi32(u1, kv(K_CUB))));
}

/* Groups [0, n_groups) that have windows, until the first that does not; returns the pixels done.
 * K is ei_yuv_k, passed in (and the function kept out of inter-procedural analysis) so that the
 * constants stay memory operands. */
EI_NOIPA __attribute__((target("avx2"))) static int32_t hpass_window_avx2(const int32_t (*K)[8], const yuv_row * r,
                                                                          const yuv_group * g, int32_t n_groups,
                                                                          const int32_t * pw, int32_t n, int32_t * D) {
    int32_t k = 0;
    for (; k < n_groups && g[k].ok; k++) {
        const yuv_group * q = &g[k];
        const __m256i     lo = kv(K_LO), c128 = kv(K_128);
        /* max(Y - 16, 0) on the bytes: the zero bytes stay zero */
        __m256i y = _mm256_subs_epu8(window8(r->y + q->base[0], q->mask[0]), _mm256_set1_epi8(16)), u0, v0, u1, v1;
        if (r->step == 2) {
            /* bytes less 128 as int8 (xor), sign-extended out of their dword */
            __m256i uv = _mm256_xor_si256(window8(r->u + q->base[1], q->mask[1]), _mm256_set1_epi8((char)0x80));
            u0 = _mm256_srai_epi32(_mm256_slli_epi32(uv, 24), 24);
            v0 = _mm256_srai_epi32(_mm256_slli_epi32(uv, 16), 24);
            u1 = _mm256_srai_epi32(_mm256_slli_epi32(uv, 8), 24);
            v1 = _mm256_srai_epi32(uv, 24);
        } else {
            __m256i u = window8(r->u + q->base[1], q->mask[1]), v = window8(r->v + q->base[2], q->mask[2]);
            u0 = _mm256_sub_epi32(_mm256_and_si256(u, lo), c128), u1 = _mm256_sub_epi32(_mm256_srli_epi32(u, 8), c128);
            v0 = _mm256_sub_epi32(_mm256_and_si256(v, lo), c128), v1 = _mm256_sub_epi32(_mm256_srli_epi32(v, 8), c128);
        }
        __m256i p[3], w = _mm256_loadu_si256((const __m256i *)(pw + 8 * k));
        rgb_pairs(K, _mm256_and_si256(y, lo), _mm256_srli_epi32(y, 8), u0, v0, u1, v1, p);
        for (int c = 0; c < 3; c++)
            _mm256_storeu_si256((__m256i *)(D + (size_t)c * (size_t)n + (size_t)(8 * k)), _mm256_madd_epi16(p[c], w));
    }
    return 8 * k;
}
#endif

void ei_yuv_hpass(void * ctx, int32_t sy, const int32_t * x0, const int32_t * x1, const int32_t * pw, int32_t n,
                  int32_t * D) {
    ei_yuv_source * ys = ctx;
    yuv_row         r = row_of(ys->img, sy);
    int32_t         i = 0;
#ifdef EI_YUV_AVX2
    if (ei_resize_avx2()) {
        if (groups_ready(ys, x0, x1, n)) i = hpass_window_avx2(ei_yuv_k, &r, ys->groups, ys->n_groups, pw, n, D);
        /* 4-byte reads at x (Y), 2 (x/2) (NV12 UV) or x/2 (I420): inside the rows while x + 8 <= width */
        int32_t safe = n;
        while (safe > i && x1[safe - 1] + 8 > ys->img->width) safe--;
        i += hpass_avx2(&r, x0 + i, x1 + i, pw + i, n, safe - i, D + i);
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
