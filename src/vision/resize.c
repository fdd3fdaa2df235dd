/* cv2.resize for 8-bit images, bit-exact where practical (docs/preprocess.md has the measurements).
 *
 * Bilinear (INTER_LINEAR): half-pixel centres, fx = (dx + 0.5) * sw/dw - 0.5, clamped at the
 * borders; weights in 11-bit fixed point (x 2048, rounded). The horizontal pass keeps int sums
 * S = p0*a0 + p1*a1; the vertical pass combines two of them exactly as OpenCV's SIMD path does:
 *   out = sat_u8(( ((S0>>4)*b0 >> 16) + ((S1>>4)*b1 >> 16) + 2 ) >> 2).
 * Vertical weights are not clamped at the borders (OpenCV clamps the row index instead).
 * An exact 2x shrink in both directions is computed as area (OpenCV does the same).
 * Area (INTER_AREA) when shrinking: integer factors average whole cells with integer sums;
 * other factors use OpenCV's float weight tables (partial cells at the edges). When either axis
 * grows, area falls back to bilinear with OpenCV's "area mode" weights.
 * Nearest (INTER_NEAREST): sx = min(floor(dx * sw/dw), sw-1) (not half-pixel, as OpenCV). */
#include "vision/resize.h"

#include <math.h>
#include <stdlib.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define EI_HPASS_AVX2 1
#endif
#include <string.h>

#include "core/status.h"

static int ei_scalar_forced;

void ei_resize_force_scalar(int on) { ei_scalar_forced = on; }

int ei_resize_avx2(void) {
#ifdef EI_HPASS_AVX2
    return !ei_scalar_forced && __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

enum { MODE_COPY, MODE_NEAREST, MODE_LINEAR, MODE_AREA_FAST, MODE_AREA };
enum { COEF_BITS = 11, COEF_SCALE = 1 << COEF_BITS };

typedef struct area_tab {
    int32_t di, si;
    float   alpha;
} area_tab;

struct ei_resizer {
    const uint8_t * src;
    size_t          sstride;
    int32_t         sw, sh, dw, dh;
    int             cn, mode;
    /* a row callback instead of src: it fills only the ncols touched source columns */
    ei_resizer_source_fn fn;
    void *               ctx;
    int32_t *            cols, ncols;
    uint8_t *            scratch;
    /* planar rows (3 channels, linear): per output pixel the two source byte offsets and the
     * weight pair (a0 | a1 << 16); pixels [0, nsafe) may read 4 bytes at each offset */
    int                 planar, avx2;
    int32_t             nfast; /* pixels [0, nfast): taps adjacent (or a1 = 0), 8 bytes readable at px0 */
    ei_resizer_hpass_fn hfn;   /* planar: the horizontal pass from a callback, on source columns */
    void *              hctx;
    int32_t *           px0, *px1, *pw, nsafe;
    int32_t             n; /* dw * cn */
    uint8_t *           out;
    /* nearest and linear: per output element, source element offsets and weights */
    int32_t *xo0, *xo1;
    int16_t *xa0, *xa1;
    int32_t *y0, *y1; /* per output row: source rows */
    int16_t *yb0, *yb1;
    int32_t *hrow[2], hsy[2];
    /* area */
    int32_t   ix, iy;
    area_tab *xtab, *ytab;
    int32_t   nxtab, nytab;
    int32_t * ystart; /* dh + 1 indices into ytab */
    float *   buf, *sum;
};

/* OpenCV's computeResizeAreaTab. */
static int32_t area_tab_fill(int32_t ssize, int32_t dsize, int cn, double scale, area_tab * tab) {
    int32_t k = 0;
    for (int32_t dx = 0; dx < dsize; dx++) {
        double  fsx1 = dx * scale, fsx2 = fsx1 + scale;
        double  cell = fmin(scale, ssize - fsx1);
        int32_t sx1 = (int32_t)ceil(fsx1), sx2 = (int32_t)floor(fsx2);
        if (sx2 > ssize - 1) sx2 = ssize - 1;
        if (sx1 > sx2) sx1 = sx2;
        if (sx1 - fsx1 > 1e-3) tab[k++] = (area_tab){dx * cn, (sx1 - 1) * cn, (float)((sx1 - fsx1) / cell)};
        for (int32_t sx = sx1; sx < sx2; sx++) tab[k++] = (area_tab){dx * cn, sx * cn, (float)(1.0 / cell)};
        if (fsx2 - sx2 > 1e-3)
            tab[k++] = (area_tab){dx * cn, sx2 * cn, (float)(fmin(fmin(fsx2 - sx2, 1.), cell) / cell)};
    }
    return k;
}

/* Source index and fraction for output index d, as OpenCV computes them (float fraction). */
static void linear_coord(int32_t d, double scale, double inv_scale, int area_mode, int32_t * s, float * f) {
    if (!area_mode) {
        float fx = (float)((d + 0.5) * scale - 0.5);
        int   sx = (int)floorf(fx);
        *s = sx;
        *f = fx - (float)sx;
    } else {
        int   sx = (int)floor(d * scale);
        float fx = (float)((d + 1) - (sx + 1) * inv_scale);
        *s = sx;
        *f = fx <= 0 ? 0.f : fx - floorf(fx);
    }
}

static int16_t coef(float v) { return (int16_t)lrintf(v * COEF_SCALE); }

static ei_status * setup_linear(ei_resizer * r, int area_mode) {
    double  sx_scale = 1. / ((double)r->dw / r->sw), sy_scale = 1. / ((double)r->dh / r->sh);
    double  inv_x = (double)r->dw / r->sw, inv_y = (double)r->dh / r->sh;
    int32_t cn = r->cn;
    r->xo0 = malloc(sizeof(int32_t) * (size_t)r->n);
    r->xo1 = malloc(sizeof(int32_t) * (size_t)r->n);
    r->xa0 = malloc(sizeof(int16_t) * (size_t)r->n);
    r->xa1 = malloc(sizeof(int16_t) * (size_t)r->n);
    r->y0 = malloc(sizeof(int32_t) * (size_t)r->dh);
    r->y1 = malloc(sizeof(int32_t) * (size_t)r->dh);
    r->yb0 = malloc(sizeof(int16_t) * (size_t)r->dh);
    r->yb1 = malloc(sizeof(int16_t) * (size_t)r->dh);
    r->hrow[0] = malloc(sizeof(int32_t) * (size_t)r->n);
    r->hrow[1] = malloc(sizeof(int32_t) * (size_t)r->n);
    if (!r->xo0 || !r->xo1 || !r->xa0 || !r->xa1 || !r->y0 || !r->y1 || !r->yb0 || !r->yb1 || !r->hrow[0] ||
        !r->hrow[1])
        return ei_errorf(EI_CODE_OUT_OF_MEMORY, "resize tables for %dx%d", r->dw, r->dh);
    for (int32_t dx = 0; dx < r->dw; dx++) {
        int32_t sx;
        float   fx;
        linear_coord(dx, sx_scale, inv_x, area_mode, &sx, &fx);
        if (sx < 0) fx = 0, sx = 0;
        if (sx >= r->sw - 1) fx = 0, sx = r->sw - 1;
        int32_t sx1 = sx + 1 < r->sw ? sx + 1 : sx;
        for (int32_t c = 0; c < cn; c++) {
            r->xo0[dx * cn + c] = sx * cn + c;
            r->xo1[dx * cn + c] = sx1 * cn + c;
            r->xa0[dx * cn + c] = coef(1.f - fx);
            r->xa1[dx * cn + c] = coef(fx);
        }
    }
    for (int32_t dy = 0; dy < r->dh; dy++) {
        int32_t sy;
        float   fy;
        linear_coord(dy, sy_scale, inv_y, area_mode, &sy, &fy);
        r->yb0[dy] = coef(1.f - fy);
        r->yb1[dy] = coef(fy);
        r->y0[dy] = sy < 0 ? 0 : sy >= r->sh ? r->sh - 1 : sy;
        r->y1[dy] = sy + 1 < 0 ? 0 : sy + 1 >= r->sh ? r->sh - 1 : sy + 1;
    }
    r->hsy[0] = r->hsy[1] = -1;
    return NULL;
}

static ei_status * setup(ei_resizer * r, ei_resize_filter filter) {
    double  scale_x = 1. / ((double)r->dw / r->sw), scale_y = 1. / ((double)r->dh / r->sh);
    int32_t iscale_x = (int32_t)lrint(scale_x), iscale_y = (int32_t)lrint(scale_y);
    int     area_fast =
        fabs(scale_x - iscale_x) < 2.2204460492503131e-16 && fabs(scale_y - iscale_y) < 2.2204460492503131e-16;
    if (r->sw == r->dw && r->sh == r->dh) {
        r->mode = MODE_COPY;
        return NULL;
    }
    if (filter == EI_RESIZE_NEAREST) {
        r->mode = MODE_NEAREST;
        r->xo0 = malloc(sizeof(int32_t) * (size_t)r->n);
        r->y0 = malloc(sizeof(int32_t) * (size_t)r->dh);
        if (!r->xo0 || !r->y0) return ei_errorf(EI_CODE_OUT_OF_MEMORY, "resize tables for %dx%d", r->dw, r->dh);
        for (int32_t dx = 0; dx < r->dw; dx++) {
            int32_t sx = (int32_t)floor(dx * scale_x);
            if (sx > r->sw - 1) sx = r->sw - 1;
            for (int c = 0; c < r->cn; c++) r->xo0[dx * r->cn + c] = sx * r->cn + c;
        }
        for (int32_t dy = 0; dy < r->dh; dy++) {
            int32_t sy = (int32_t)floor(dy * scale_y);
            r->y0[dy] = sy > r->sh - 1 ? r->sh - 1 : sy;
        }
        return NULL;
    }
    if (filter == EI_RESIZE_BILINEAR && area_fast && iscale_x == 2 && iscale_y == 2) filter = EI_RESIZE_AREA;
    if (filter == EI_RESIZE_AREA && scale_x >= 1 && scale_y >= 1) {
        if (area_fast) {
            r->mode = MODE_AREA_FAST;
            r->ix = iscale_x;
            r->iy = iscale_y;
            return NULL;
        }
        r->mode = MODE_AREA;
        r->xtab = malloc(sizeof(area_tab) * ((size_t)r->sw * 2 + 2));
        r->ytab = malloc(sizeof(area_tab) * ((size_t)r->sh * 2 + 2));
        r->ystart = malloc(sizeof(int32_t) * ((size_t)r->dh + 1));
        r->buf = malloc(sizeof(float) * (size_t)r->n);
        r->sum = malloc(sizeof(float) * (size_t)r->n);
        if (!r->xtab || !r->ytab || !r->ystart || !r->buf || !r->sum)
            return ei_errorf(EI_CODE_OUT_OF_MEMORY, "resize tables for %dx%d", r->dw, r->dh);
        r->nxtab = area_tab_fill(r->sw, r->dw, r->cn, scale_x, r->xtab);
        r->nytab = area_tab_fill(r->sh, r->dh, 1, scale_y, r->ytab);
        for (int32_t dy = 0, k = 0; dy <= r->dh; dy++) {
            while (k < r->nytab && r->ytab[k].di < dy) k++;
            r->ystart[dy] = k;
        }
        return NULL;
    }
    r->mode = MODE_LINEAR;
    return setup_linear(r, filter == EI_RESIZE_AREA);
}

ei_status * ei_resizer_create(const uint8_t * src, int32_t sw, int32_t sh, size_t sstride, int cn, int32_t dw,
                              int32_t dh, ei_resize_filter filter, ei_resizer ** out) {
    *out = NULL;
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || cn < 1 || cn > 4)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "resize: %dx%d to %dx%d with %d channels is not valid", sw, sh, dw,
                         dh, cn);
    if (filter != EI_RESIZE_NEAREST && filter != EI_RESIZE_BILINEAR && filter != EI_RESIZE_AREA)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "resize: unknown filter %d (0 nearest, 1 bilinear, 2 area)",
                         (int)filter);
    ei_resizer * r = calloc(1, sizeof *r);
    if (!r) return ei_errorf(EI_CODE_OUT_OF_MEMORY, "resize: out of memory");
    r->src = src;
    r->sstride = sstride;
    r->sw = sw, r->sh = sh, r->dw = dw, r->dh = dh, r->cn = cn;
    r->n = dw * cn;
    r->out = malloc((size_t)r->n);
    ei_status * st = r->out ? setup(r, filter) : ei_errorf(EI_CODE_OUT_OF_MEMORY, "resize: out of memory");
    if (st) {
        ei_resizer_destroy(r);
        return st;
    }
    *out = r;
    return NULL;
}

void ei_resizer_destroy(ei_resizer * r) {
    if (!r) return;
    free(r->out);
    free(r->xo0), free(r->xo1), free(r->xa0), free(r->xa1);
    free(r->y0), free(r->y1), free(r->yb0), free(r->yb1);
    free(r->hrow[0]), free(r->hrow[1]);
    free(r->xtab), free(r->ytab), free(r->ystart), free(r->buf), free(r->sum);
    free(r->cols), free(r->scratch), free(r->px0), free(r->px1), free(r->pw);
    free(r);
}

void ei_resizer_rebind(ei_resizer * r, const uint8_t * src, size_t sstride) {
    r->src = src;
    r->sstride = sstride;
    r->hsy[0] = r->hsy[1] = -1;
}

static const uint8_t * src_row(const ei_resizer * r, int32_t y) {
    if (!r->fn) return r->src + (size_t)y * r->sstride;
    r->fn(r->ctx, y, r->cols, r->ncols, r->scratch);
    return r->scratch;
}

int ei_resizer_has_taps(const ei_resizer * r) { return r->mode == MODE_LINEAR || r->mode == MODE_NEAREST; }

ei_status * ei_resizer_set_source(ei_resizer * r, ei_resizer_source_fn fn, void * ctx) {
    if (!ei_resizer_has_taps(r))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "resize: a row source needs bilinear or nearest taps");
    int32_t cn = r->cn, *o[2] = {r->xo0, r->mode == MODE_LINEAR ? r->xo1 : NULL};
    r->cols = malloc(sizeof(int32_t) * (size_t)r->dw * 2);
    r->scratch = malloc((size_t)r->dw * 2 * (size_t)cn + 4); /* + 4: the AVX2 pass reads 4-byte words */
    if (!r->cols || !r->scratch) return ei_errorf(EI_CODE_OUT_OF_MEMORY, "resize: out of memory");
    /* Offsets are non-decreasing in dx (xo0 <= xo1 <= next xo0 ... per pixel), so the touched
     * columns come out sorted; each offset is remapped to its column's index. */
    r->ncols = 0;
    for (int32_t dx = 0; dx < r->dw; dx++)
        for (int k = 0; k < 2; k++) {
            if (!o[k]) continue;
            int32_t x = o[k][dx * cn] / cn;
            int32_t j = r->ncols;
            while (j > 0 && r->cols[j - 1] > x) j--; /* sorted insert point (in practice: the end) */
            if (!(j > 0 && r->cols[j - 1] == x)) {
                memmove(r->cols + j + 1, r->cols + j, sizeof(int32_t) * (size_t)(r->ncols - j));
                r->cols[j] = x;
                r->ncols++;
            }
        }
    for (int k = 0; k < 2; k++) {
        if (!o[k]) continue;
        for (int32_t dx = 0, j = 0; dx < r->dw; dx++) {
            int32_t x = o[k][dx * cn] / cn;
            while (r->cols[j] < x) j++;
            if (r->cols[j] > x) j = 0; /* not monotonic: search again */
            while (r->cols[j] != x) j++;
            for (int32_t c = 0; c < cn; c++) o[k][dx * cn + c] = j * cn + c;
        }
    }
    r->fn = fn;
    r->ctx = ctx;
    return NULL;
}

int ei_resizer_set_hpass(ei_resizer * r, ei_resizer_hpass_fn fn, void * ctx) {
    if (r->mode != MODE_LINEAR || r->cn != 3 || r->planar || r->fn) return 0;
    if (!ei_resizer_set_planar(r)) return 0;
    for (int32_t dx = 0; dx < r->dw; dx++) r->px0[dx] /= 3, r->px1[dx] /= 3; /* offsets to columns */
    r->hfn = fn;
    r->hctx = ctx;
    return 1;
}

int ei_resizer_set_planar(ei_resizer * r) {
    if (r->mode != MODE_LINEAR || r->cn != 3 || r->planar) return r->planar;
    r->px0 = malloc(sizeof(int32_t) * (size_t)r->dw);
    r->px1 = malloc(sizeof(int32_t) * (size_t)r->dw);
    r->pw = malloc(sizeof(int32_t) * (size_t)r->dw);
    if (!r->px0 || !r->px1 || !r->pw) return 0; /* packed rows then; freed by destroy */
    /* bytes readable in a source row (offsets are relative to it) */
    int64_t row = r->fn ? (int64_t)r->ncols * 3 + 4 : (int64_t)r->sw * 3;
    r->nsafe = r->nfast = 0;
    for (int32_t dx = 0; dx < r->dw; dx++) {
        r->px0[dx] = r->xo0[dx * 3];
        r->px1[dx] = r->xo1[dx * 3];
        r->pw[dx] = (int32_t)((uint32_t)(uint16_t)r->xa0[dx * 3] | ((uint32_t)(uint16_t)r->xa1[dx * 3] << 16));
        if (r->px0[dx] + 4 <= row && r->px1[dx] + 4 <= row && r->nsafe == dx) r->nsafe = dx + 1;
        /* The second tap is the next pixel, except where it is clamped at the right border, and
         * there its weight is 0: one 8-byte read at px0 then holds both taps. */
        int adjacent = r->px1[dx] == r->px0[dx] + 3 || r->xa1[dx * 3] == 0;
        if (adjacent && r->px0[dx] + 8 <= row && r->nfast == dx) r->nfast = dx + 1;
    }
    r->avx2 = ei_resize_avx2();
    r->planar = 1;
    return 1;
}

#ifdef EI_HPASS_AVX2
/* Two pixels' 8 bytes (p0 at bytes 0..2, p1 at 3..5) in the low and high halves. */
__attribute__((target("avx2"))) static inline __m128i load_pair(const uint8_t * S, int32_t a, int32_t b) {
    __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)(S + a));
    return _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(v), (const double *)(const void *)(S + b)));
}

/* Pixels [0, nfast) eight at a time without gathers: one 8-byte load per pixel holds both taps;
 * pshufb spreads each channel's bytes (p0, p1) into int16 pairs in pixel order, and madd with
 * the weight pair (a0, a1) gives p0 a0 + p1 a1, exactly the scalar sum. */
__attribute__((target("avx2"))) static int32_t hpass_pairs_avx2(const ei_resizer * r, const uint8_t * S, int32_t * D) {
    int32_t         dw = r->dw, x = 0;
    const int32_t * o = r->px0;
    const char      z = (char)0x80;
    /* lo holds pixels (0, 1 | 4, 5) and fills bytes 0..7 of each lane; hi (2, 3 | 6, 7) bytes 8..15 */
    __m256i shl[3], shh[3];
    for (int k = 0; k < 3; k++) {
        char c = (char)k;
        shl[k] = _mm256_setr_epi8(c, z, (char)(c + 3), z, (char)(c + 8), z, (char)(c + 11), z, z, z, z, z, z, z, z, z,
                                  c, z, (char)(c + 3), z, (char)(c + 8), z, (char)(c + 11), z, z, z, z, z, z, z, z, z);
        shh[k] = _mm256_setr_epi8(z, z, z, z, z, z, z, z, c, z, (char)(c + 3), z, (char)(c + 8), z, (char)(c + 11), z,
                                  z, z, z, z, z, z, z, z, c, z, (char)(c + 3), z, (char)(c + 8), z, (char)(c + 11), z);
    }
    for (; x + 8 <= r->nfast; x += 8) {
        const int32_t * p = o + x;
        __m256i         lo =
            _mm256_inserti128_si256(_mm256_castsi128_si256(load_pair(S, p[0], p[1])), load_pair(S, p[4], p[5]), 1);
        __m256i hi =
            _mm256_inserti128_si256(_mm256_castsi128_si256(load_pair(S, p[2], p[3])), load_pair(S, p[6], p[7]), 1);
        __m256i w = _mm256_loadu_si256((const __m256i *)(r->pw + x));
        for (int c = 0; c < 3; c++) {
            __m256i pr = _mm256_or_si256(_mm256_shuffle_epi8(lo, shl[c]), _mm256_shuffle_epi8(hi, shh[c]));
            _mm256_storeu_si256((__m256i *)(D + c * dw + x), _mm256_madd_epi16(pr, w));
        }
    }
    return x;
}

/* The pairs path first; then, for pixels whose taps are not adjacent (a row source with gaps
 * between the touched columns) or near the row's end, eight at a time with one 4-byte gather per
 * tap, each channel's byte pair as int16 (p0, p1) times the weight pair (a0, a1) by madd. */
__attribute__((target("avx2"))) static int32_t hpass_planar_avx2(const ei_resizer * r, const uint8_t * S, int32_t * D) {
    int32_t       dw = r->dw, x = hpass_pairs_avx2(r, S, D);
    const __m256i lo = _mm256_set1_epi32(0xff);
    for (; x + 8 <= r->nsafe; x += 8) {
        __m256i g0 = _mm256_i32gather_epi32((const int *)S, _mm256_loadu_si256((const __m256i *)(r->px0 + x)), 1);
        __m256i g1 = _mm256_i32gather_epi32((const int *)S, _mm256_loadu_si256((const __m256i *)(r->px1 + x)), 1);
        __m256i w = _mm256_loadu_si256((const __m256i *)(r->pw + x));
        for (int c = 0; c < 3; c++) {
            __m256i a = _mm256_and_si256(_mm256_srli_epi32(g0, 8 * c), lo);
            __m256i b = _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(g1, 8 * c), lo), 16);
            _mm256_storeu_si256((__m256i *)(D + c * dw + x), _mm256_madd_epi16(_mm256_or_si256(a, b), w));
        }
    }
    return x;
}
#endif

/* The horizontal pass into planar channel rows (see ei_resizer_set_planar). */
static void hpass_planar(ei_resizer * r, const uint8_t * S, int32_t * D) {
    int32_t x = 0, dw = r->dw;
#ifdef EI_HPASS_AVX2
    if (r->avx2) x = hpass_planar_avx2(r, S, D);
#endif
    for (; x < dw; x++) {
        const uint8_t *p0 = S + r->px0[x], *p1 = S + r->px1[x];
        int32_t        w0 = r->xa0[x * 3], w1 = r->xa1[x * 3];
        D[x] = p0[0] * w0 + p1[0] * w1;
        D[dw + x] = p0[1] * w0 + p1[1] * w1;
        D[2 * dw + x] = p0[2] * w0 + p1[2] * w1;
    }
}

/* The horizontal pass of source row sy into slot. */
static void hpass(ei_resizer * r, int32_t sy, int slot) {
    const uint8_t * restrict S = src_row(r, sy);
    int32_t * restrict D = r->hrow[slot];
    const int32_t * restrict o0 = r->xo0, * restrict o1 = r->xo1;
    const int16_t * restrict a0 = r->xa0, * restrict a1 = r->xa1;
    if (r->hfn) {
        r->hfn(r->hctx, sy, r->px0, r->px1, r->pw, r->dw, D);
    } else if (r->planar) {
        hpass_planar(r, S, D);
    } else if (r->cn == 3) { /* one offset and weight pair per pixel: the common case, twice as fast */
        for (int32_t i = 0; i < r->n; i += 3) {
            const uint8_t *p0 = S + o0[i], *p1 = S + o1[i];
            int32_t        w0 = a0[i], w1 = a1[i];
            D[i] = p0[0] * w0 + p1[0] * w1;
            D[i + 1] = p0[1] * w0 + p1[1] * w1;
            D[i + 2] = p0[2] * w0 + p1[2] * w1;
        }
    } else {
        for (int32_t i = 0; i < r->n; i++) D[i] = S[o0[i]] * a0[i] + S[o1[i]] * a1[i];
    }
    r->hsy[slot] = sy;
}

/* The vertical pass, branch-free so the compiler vectorises it (an AVX2 clone where the CPU has it). */
EI_VEC_CLONES static void vpass(const int32_t * restrict S0, const int32_t * restrict S1, int32_t b0, int32_t b1,
                                uint8_t * restrict D, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        int32_t v = ((((int32_t)(int16_t)(S0[i] >> 4)) * b0) >> 16) + ((((int32_t)(int16_t)(S1[i] >> 4)) * b1) >> 16);
        v = (v + 2) >> 2;
        v = v < 0 ? 0 : v;
        D[i] = (uint8_t)(v > 255 ? 255 : v);
    }
}

static int cached_slot(const ei_resizer * r, int32_t sy) { return r->hsy[0] == sy ? 0 : r->hsy[1] == sy ? 1 : -1; }

/* Makes sure both source rows of output row dy are in the cache (each source row goes through the
 * horizontal pass once: rows come in increasing order); their slots into *a, *b. */
static void hrows(ei_resizer * r, int32_t dy, int * a, int * b) {
    int32_t sy0 = r->y0[dy], sy1 = r->y1[dy];
    int     s0 = cached_slot(r, sy0), s1 = cached_slot(r, sy1);
    if (s0 < 0 && s1 < 0) {
        s0 = 0;
        hpass(r, sy0, 0);
        s1 = sy1 == sy0 ? 0 : 1;
        if (s1) hpass(r, sy1, 1);
    } else if (s0 < 0) {
        s0 = 1 - s1;
        hpass(r, sy0, s0);
    } else if (s1 < 0) {
        s1 = 1 - s0;
        hpass(r, sy1, s1);
    }
    *a = s0, *b = s1;
}

static void row_linear(ei_resizer * r, int32_t dy) {
    int s0, s1;
    hrows(r, dy, &s0, &s1);
    vpass(r->hrow[s0], r->hrow[s1], r->yb0[dy], r->yb1[dy], r->out, r->n);
}

/* vpass and normalisation in one loop: the byte vpass gives, then scale * ((float)v - offset). */
EI_VEC_CLONES static void vpass_f32(const int32_t * restrict S0, const int32_t * restrict S1, int32_t b0, int32_t b1,
                                    float scale, float offset, float * restrict D, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        int32_t v = ((((int32_t)(int16_t)(S0[i] >> 4)) * b0) >> 16) + ((((int32_t)(int16_t)(S1[i] >> 4)) * b1) >> 16);
        v = (v + 2) >> 2;
        v = v < 0 ? 0 : v;
        D[i] = scale * ((float)(v > 255 ? 255 : v) - offset);
    }
}

#ifdef EI_HPASS_AVX2
/* vpass_f32 sixteen at a time in int16 lanes, as OpenCV: S >> 4 fits int16 (S <= 255 * 2049), and
 * mulhi is the floor of (s * b) >> 16; the sums stay below 2100. Returns the values done. */
__attribute__((target("avx2"))) static int32_t vpass_f32_avx2(const int32_t * S0, const int32_t * S1, int32_t b0,
                                                              int32_t b1, float scale, float offset, float * D,
                                                              int32_t n) {
    const __m256i B0 = _mm256_set1_epi16((int16_t)b0), B1 = _mm256_set1_epi16((int16_t)b1);
    const __m256i two = _mm256_set1_epi16(2), zero = _mm256_setzero_si256(), max = _mm256_set1_epi16(255);
    const __m256  sc = _mm256_set1_ps(scale), of = _mm256_set1_ps(offset);
    int32_t       i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_packs_epi32(_mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(S0 + i)), 4),
                                       _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(S0 + i + 8)), 4));
        __m256i b = _mm256_packs_epi32(_mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(S1 + i)), 4),
                                       _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(S1 + i + 8)), 4));
        __m256i v = _mm256_add_epi16(_mm256_mulhi_epi16(a, B0), _mm256_mulhi_epi16(b, B1));
        v = _mm256_min_epi16(_mm256_max_epi16(_mm256_srai_epi16(_mm256_add_epi16(v, two), 2), zero), max);
        v = _mm256_permute4x64_epi64(v, 0xD8); /* packs interleaved the 128-bit lanes */
        __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)));
        __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(v, 1)));
        _mm256_storeu_ps(D + i, _mm256_mul_ps(sc, _mm256_sub_ps(f0, of)));
        _mm256_storeu_ps(D + i + 8, _mm256_mul_ps(sc, _mm256_sub_ps(f1, of)));
    }
    return i;
}
#endif

void ei_resizer_row_planar_f32(ei_resizer * r, int32_t dy, const int map[3], const float scale[3],
                               const float offset[3], float * const d[3]) {
    int s0, s1;
    hrows(r, dy, &s0, &s1);
    int32_t dw = r->dw, b0 = r->yb0[dy], b1 = r->yb1[dy];
    for (int k = 0; k < 3; k++) {
        const int32_t *S0 = r->hrow[s0] + (size_t)map[k] * (size_t)dw, *S1 = r->hrow[s1] + (size_t)map[k] * (size_t)dw;
        int32_t        i = 0;
#ifdef EI_HPASS_AVX2
        if (r->avx2) i = vpass_f32_avx2(S0, S1, b0, b1, scale[k], offset[k], d[k], dw);
#endif
        vpass_f32(S0 + i, S1 + i, b0, b1, scale[k], offset[k], d[k] + i, dw - i);
    }
}

/* The exact 2x shrink (bilinear becomes this, as in OpenCV): a 1280x720 camera into a 640 network,
 * 640x360 into 320. OpenCV's 2x2 path rounds half up. Specialised: the generic loop below took 17.5 M
 * instructions a 640x360 frame, this about a tenth (docs/preprocess.md, "Exact 2x shrink"). */
static void row_area_2x2(ei_resizer * r, int32_t dy) {
    const uint8_t * restrict a = src_row(r, 2 * dy);
    const uint8_t * restrict b = src_row(r, 2 * dy + 1);
    uint8_t * restrict o = r->out;
    int32_t cn = r->cn;
    if (cn == 3) {
        for (int32_t dx = 0; dx < r->dw; dx++, a += 6, b += 6, o += 3) {
            o[0] = (uint8_t)((a[0] + a[3] + b[0] + b[3] + 2) >> 2);
            o[1] = (uint8_t)((a[1] + a[4] + b[1] + b[4] + 2) >> 2);
            o[2] = (uint8_t)((a[2] + a[5] + b[2] + b[5] + 2) >> 2);
        }
        return;
    }
    for (int32_t dx = 0; dx < r->dw; dx++, a += 2 * cn, b += 2 * cn, o += cn)
        for (int32_t c = 0; c < cn; c++) o[c] = (uint8_t)((a[c] + a[c + cn] + b[c] + b[c + cn] + 2) >> 2);
}

static void row_area_fast(ei_resizer * r, int32_t dy) {
    int32_t ix = r->ix, iy = r->iy, cn = r->cn, area = ix * iy;
    if (area == 4 && ix == 2 && !r->fn) { /* src_row's scratch holds one row at a time */
        row_area_2x2(r, dy);
        return;
    }
    float scale = 1.f / (float)area;
    for (int32_t dx = 0; dx < r->dw; dx++) {
        for (int32_t c = 0; c < cn; c++) {
            int32_t sum = 0;
            for (int32_t k = 0; k < iy; k++) {
                const uint8_t * S = src_row(r, dy * iy + k) + (size_t)(dx * ix) * (size_t)cn + (size_t)c;
                for (int32_t j = 0; j < ix; j++) sum += S[j * cn];
            }
            /* OpenCV's 2x2 SIMD path rounds half up; its generic path rounds sum*scale to nearest. */
            r->out[dx * cn + c] = area == 4 ? (uint8_t)((sum + 2) >> 2) : (uint8_t)lrintf((float)sum * scale);
        }
    }
}

static void row_area(ei_resizer * r, int32_t dy) {
    float * sum = r->sum;
    memset(sum, 0, sizeof(float) * (size_t)r->n);
    for (int32_t j = r->ystart[dy]; j < r->ystart[dy + 1]; j++) {
        const uint8_t * S = src_row(r, r->ytab[j].si);
        float           beta = r->ytab[j].alpha;
        memset(r->buf, 0, sizeof(float) * (size_t)r->n);
        for (int32_t k = 0; k < r->nxtab; k++) {
            int32_t di = r->xtab[k].di, si = r->xtab[k].si;
            float   a = r->xtab[k].alpha;
            for (int32_t c = 0; c < r->cn; c++) r->buf[di + c] += (float)S[si + c] * a;
        }
        for (int32_t i = 0; i < r->n; i++) sum[i] += beta * r->buf[i];
    }
    for (int32_t i = 0; i < r->n; i++) {
        long v = lrintf(sum[i]);
        r->out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

const uint8_t * ei_resizer_row(ei_resizer * r, int32_t dy) {
    switch (r->mode) {
    case MODE_COPY: return src_row(r, dy);
    case MODE_NEAREST: {
        const uint8_t * S = src_row(r, r->y0[dy]);
        for (int32_t i = 0; i < r->n; i++) r->out[i] = S[r->xo0[i]];
        break;
    }
    case MODE_LINEAR: row_linear(r, dy); break;
    case MODE_AREA_FAST: row_area_fast(r, dy); break;
    default: row_area(r, dy); break;
    }
    return r->out;
}

ei_status * ei_image_resize(const ei_image * src, ei_image * dst, ei_resize_filter filter) {
    if (!src || !dst || !src->plane[0] || !dst->plane[0])
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_resize: NULL image");
    if (src->format != dst->format || src->format == EI_PIXEL_NV12 || src->format == EI_PIXEL_I420 ||
        (unsigned)src->format >= EI_PIXEL_FORMAT_COUNT)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_resize: %s to %s (packed formats, the same on both sides)",
                         ei_pixel_format_name(src->format), ei_pixel_format_name(dst->format));
    int          cn = ei_pixel_format_channels(src->format);
    ei_resizer * r = NULL;
    EI_TRY(ei_resizer_create(src->plane[0], src->width, src->height, (size_t)src->stride[0], cn, dst->width,
                             dst->height, filter, &r));
    for (int32_t y = 0; y < dst->height; y++)
        memcpy(dst->plane[0] + (size_t)y * (size_t)dst->stride[0], ei_resizer_row(r, y),
               (size_t)dst->width * (size_t)cn);
    ei_resizer_destroy(r);
    return NULL;
}
