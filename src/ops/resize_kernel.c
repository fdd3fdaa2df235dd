/* Resize / Upsample kernels. Every resampled axis gets a table of source indices and weights
 * (built once per run); nearest mode gathers through per-axis offset tables; linear mode on two
 * adjacent axes (NCHW or NHWC images) takes a bilinear fast path; everything else (cubic,
 * antialias, N-D linear) runs one separable pass per resampled axis; NCHW bilinear upsampling
 * blends cached horizontally interpolated rows with vector kernels (src/cpu/vmath.c). Weights and operation order
 * follow ONNX Runtime's CPU kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/vmath.h"
#include "ops/resize_common.h"

/* Output elements per parallel chunk: enough to amortise scheduling. */
#define EI_RESIZE_GRAIN_ELEMS 16384

static int64_t grain_rows(int64_t row_elems) {
    int64_t g = EI_RESIZE_GRAIN_ELEMS / (row_elems > 0 ? row_elems : 1);
    return g > 0 ? g : 1;
}

/* Converts an already rounded coordinate to an index in [0, hi]; NaN and far-out values clamp. */
static int64_t clamp_index(float v, int64_t hi) {
    if (!(v >= 0.0f)) return 0;
    if (v >= (float)hi) return hi;
    return (int64_t)v;
}

static bool out_of_range(float x, int64_t len_in) { return x < 0.0f || x > (float)(len_in - 1); }

/* ---------------------------------------------------------------------------------------------
 * Per-axis tap tables: output o reads cnt[o] input indices idx[o*win + k] with weights w[o*win + k]. */

typedef struct axis_taps {
    int32_t   win;
    int64_t * idx;
    float *   w;
    int32_t * cnt;
    uint8_t * extrap; /* tf_crop_and_resize: 1 where the source coordinate is outside the input */
} axis_taps;

static void taps_free(axis_taps * t) {
    free(t->idx);
    free(t->w);
    free(t->cnt);
    free(t->extrap);
    memset(t, 0, sizeof *t);
}

static ei_status * taps_alloc(axis_taps * t, int32_t win, int64_t len_out) {
    memset(t, 0, sizeof *t);
    t->win = win;
    size_t n = (size_t)win * (size_t)len_out;
    t->idx = malloc(n * sizeof *t->idx);
    t->w = malloc(n * sizeof *t->w);
    t->cnt = malloc((size_t)len_out * sizeof *t->cnt);
    t->extrap = calloc((size_t)len_out, 1);
    if (!t->idx || !t->w || !t->cnt || !t->extrap) {
        taps_free(t);
        return ei_status_oom();
    }
    return NULL;
}

static void build_linear(const ei_resize_params * p, int32_t axis, int64_t len_in, int64_t len_out, axis_taps * t) {
    const bool crop = p->coord == EI_COORD_TF_CROP_AND_RESIZE;
    for (int64_t o = 0; o < len_out; o++) {
        float xf = ei_resize_coord_of(p, axis, (float)o, len_in, len_out);
        t->extrap[o] = crop && out_of_range(xf, len_in);
        float xc = xf;
        if (!(xc >= 0.0f)) xc = 0.0f;
        if (xc > (float)(len_in - 1)) xc = (float)(len_in - 1);
        int64_t x1 = clamp_index(xc, len_in - 1);
        int64_t x2 = x1 + 1 < len_in ? x1 + 1 : len_in - 1;
        float   d1 = fabsf(xc - (float)x1), d2 = fabsf(xc - (float)x2);
        if (x1 == x2) d1 = d2 = 0.5f;
        t->idx[2 * o] = x1;
        t->w[2 * o] = d2;
        t->idx[2 * o + 1] = x2;
        t->w[2 * o + 1] = d1;
        t->cnt[o] = 2;
    }
}

static void cubic_coeffs(float s, float a, float c[4]) {
    s = fabsf(s);
    c[0] = ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a;
    c[1] = ((a + 2) * s - (a + 3)) * s * s + 1;
    c[2] = ((a + 2) * (1 - s) - (a + 3)) * (1 - s) * (1 - s) + 1;
    c[3] = ((a * (2 - s) - 5 * a) * (2 - s) + 8 * a) * (2 - s) - 4 * a;
}

static void build_cubic(const ei_resize_params * p, int32_t axis, int64_t len_in, int64_t len_out, axis_taps * t) {
    const bool crop = p->coord == EI_COORD_TF_CROP_AND_RESIZE;
    for (int64_t o = 0; o < len_out; o++) {
        float xf = ei_resize_coord_of(p, axis, (float)o, len_in, len_out);
        t->extrap[o] = crop && out_of_range(xf, len_in);
        float fl = floorf(xf);
        float c[4];
        cubic_coeffs(xf - fl, p->cubic_a, c);
        /* Far outside the input every tap clamps to the same edge; keep the integer in range. */
        float   lim = (float)len_in + 4.0f;
        int64_t base = fl < -4.0f ? -4 : fl > lim ? (int64_t)lim : (int64_t)fl;
        float   sum = 1.0f;
        if (p->exclude_outside) {
            sum = 0.0f;
            for (int k = 0; k < 4; k++) {
                int64_t pos = base - 1 + k;
                if (pos < 0 || pos >= len_in) c[k] = 0.0f;
                sum += c[k];
            }
            if (sum == 0.0f) sum = 1.0f;
        }
        for (int k = 0; k < 4; k++) {
            int64_t pos = base - 1 + k;
            t->idx[4 * o + k] = pos < 0 ? 0 : pos >= len_in ? len_in - 1 : pos;
            t->w[4 * o + k] = c[k] / sum;
        }
        t->cnt[o] = 4;
    }
}

static float aa_filter(ei_resize_mode mode, float a, float x) {
    if (x < 0.0f) x = -x;
    if (mode == EI_RESIZE_LINEAR) return x < 1.0f ? 1.0f - x : 0.0f;
    if (x < 1.0f) return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1;
    if (x < 2.0f) return (((x - 5.0f) * x + 8.f) * x - 4.f) * a;
    return 0.0f;
}

/* Window of the antialiasing filter (ONNX Runtime's / Pillow's): the kernel is stretched by
 * 1/scale when downscaling; taps outside the input fold onto the edge pixels unless
 * exclude_outside drops them; weights are normalised to sum 1. */
static int32_t aa_window(const ei_resize_params * p, int32_t axis, float * support, float * inv_scale) {
    const float support_size = p->mode == EI_RESIZE_LINEAR ? 2.0f : 4.0f;
    const float scale = 1.0f / p->scale[axis];
    *support = scale >= 1.0f ? (support_size * 0.5f) * scale : support_size * 0.5f;
    *inv_scale = scale >= 1.0f ? 1.0f / scale : 1.0f;
    return (int32_t)ceilf(*support) * 2 + 1;
}

static int64_t floor_index(float v, int64_t len_in, int32_t win) {
    /* floorf() result kept within a range that cannot overflow the conversion; a window that starts
     * or ends beyond the limit lies wholly outside the input, where the limit changes nothing. */
    float lim = (float)len_in + (float)win + 8.0f;
    if (!(v > -lim)) return -(int64_t)lim;
    if (v > lim) return (int64_t)lim;
    return (int64_t)v;
}

static ei_status * build_aa(const ei_resize_params * p, int32_t axis, int64_t len_in, int64_t len_out, axis_taps * t) {
    float       support, inv_scale;
    int32_t     win = aa_window(p, axis, &support, &inv_scale);
    const bool  crop = p->coord == EI_COORD_TF_CROP_AND_RESIZE;
    const float scale = 1.0f / p->scale[axis];
    float *     buf = malloc((size_t)win * sizeof *buf);
    if (!buf) return ei_status_oom();
    for (int64_t o = 0; o < len_out; o++) {
        float xf = scale == 1.0f ? (float)o : ei_resize_coord_of(p, axis, (float)o, len_in, len_out);
        t->extrap[o] = crop && out_of_range(xf, len_in);
        float   center = 0.5f + xf;
        int64_t xmin_real = floor_index(floorf(center - support + 0.5f), len_in, win);
        int64_t xmax_real = floor_index(floorf(center + support + 0.5f), len_in, win);
        int64_t span = xmax_real - xmin_real;
        xmax_real = xmin_real + (span < 0 ? 0 : span > win ? win : span);
        int64_t xmin_cut = xmin_real < 0 ? 0 : xmin_real > len_in ? len_in : xmin_real;
        int64_t xmax_cut = xmax_real < 0 ? 0 : xmax_real > len_in ? len_in : xmax_real;
        int64_t xmin = p->exclude_outside ? xmin_cut : xmin_real;
        int64_t count = (p->exclude_outside ? xmax_cut : xmax_real) - xmin;
        for (int32_t x = 0; x < win; x++) buf[x] = 0.0f;
        float total = 0.0f;
        for (int64_t x = 0; x < count; x++) {
            float v = aa_filter(p->mode, p->cubic_a, ((float)(x + xmin) - center + 0.5f) * inv_scale);
            buf[x] = v;
            total += v;
        }
        if (!p->exclude_outside && xmin_cut < xmax_cut) {
            /* Taps left of 0 and right of len_in-1 fold onto the edge pixels. */
            int64_t neg = -xmin < 0 ? 0 : -xmin > count - 1 ? count - 1 : -xmin;
            for (int64_t x = 0; x < neg; x++) buf[neg] += buf[x];
            int64_t over = count + xmin - len_in;
            over = over < 0 ? 0 : over > count - 1 ? count - 1 : over;
            for (int64_t x = count - over; x < count; x++) buf[count - over - 1] += buf[x];
            if (neg > 0 || over > 0)
                for (int64_t x = 0; x < xmax_cut - xmin_cut; x++) buf[x] = buf[x + neg];
        }
        const float inv_total = total == 0.0f ? 1.0f : 1.0f / total;
        int64_t *   idx = t->idx + (size_t)win * (size_t)o;
        float *     w = t->w + (size_t)win * (size_t)o;
        /* An empty window (only when it lies wholly outside the input) yields 0, as in ONNX Runtime. */
        for (int64_t x = 0; x < xmax_cut - xmin_cut; x++) {
            idx[x] = xmin_cut + x;
            w[x] = buf[x] * inv_total;
        }
        t->cnt[o] = (int32_t)(xmax_cut - xmin_cut);
    }
    free(buf);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * One separable pass: src viewed as [outer, len_in, inner] -> dst [outer, len_out, inner]. */

typedef struct pass_ctx {
    const float *     src;
    float *           dst;
    int64_t           len_in, len_out, inner;
    const axis_taps * t;
} pass_ctx;

static void pass_inner1(void * vctx, int64_t b, int64_t e) {
    const pass_ctx *  c = vctx;
    const axis_taps * t = c->t;
    for (int64_t r = b; r < e; r++) {
        const float * s = c->src + r * c->len_in;
        float *       d = c->dst + r * c->len_out;
        for (int64_t o = 0; o < c->len_out; o++) {
            const int64_t * idx = t->idx + (size_t)t->win * (size_t)o;
            const float *   w = t->w + (size_t)t->win * (size_t)o;
            float           acc = 0.0f;
            for (int32_t k = 0; k < t->cnt[o]; k++) acc += w[k] * s[idx[k]];
            d[o] = acc;
        }
    }
}

static void pass_rows(void * vctx, int64_t b, int64_t e) {
    const pass_ctx *  c = vctx;
    const axis_taps * t = c->t;
    const int64_t     inner = c->inner;
    int64_t           outer = b / c->len_out, o = b % c->len_out;
    for (int64_t r = b; r < e; r++) {
        const float *   s = c->src + outer * c->len_in * inner;
        float *         d = c->dst + r * inner;
        const int64_t * idx = t->idx + (size_t)t->win * (size_t)o;
        const float *   w = t->w + (size_t)t->win * (size_t)o;
        if (t->cnt[o] == 0) {
            for (int64_t j = 0; j < inner; j++) d[j] = 0.0f;
        } else {
            const float * s0 = s + idx[0] * inner;
            const float   w0 = w[0];
            for (int64_t j = 0; j < inner; j++) d[j] = w0 * s0[j];
        }
        for (int32_t k = 1; k < t->cnt[o]; k++) {
            const float * sk = s + idx[k] * inner;
            const float   wk = w[k];
            for (int64_t j = 0; j < inner; j++) d[j] += wk * sk[j];
        }
        if (++o == c->len_out) {
            o = 0;
            outer++;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Bilinear on two adjacent axes [outer, H, W, inner] (NCHW: inner 1; NHWC: inner C). */

typedef struct bilinear_ctx {
    const float *     src;
    float *           dst;
    int64_t           h_in, w_in, h_out, w_out, inner;
    const axis_taps * ty;
    const axis_taps * tx;
} bilinear_ctx;

static void bilinear_rows(void * vctx, int64_t b, int64_t e) {
    const bilinear_ctx * c = vctx;
    const int64_t        inner = c->inner, row_in = c->w_in * inner;
    int64_t              n = b / c->h_out, y = b % c->h_out;
    for (int64_t r = b; r < e; r++) {
        const float * img = c->src + n * c->h_in * row_in;
        const float * r1 = img + c->ty->idx[2 * y] * row_in;
        const float * r2 = img + c->ty->idx[2 * y + 1] * row_in;
        const float   dy2 = c->ty->w[2 * y], dy1 = c->ty->w[2 * y + 1];
        float *       d = c->dst + r * c->w_out * inner;
        if (inner == 1) {
            for (int64_t x = 0; x < c->w_out; x++) {
                const int64_t x1 = c->tx->idx[2 * x], x2 = c->tx->idx[2 * x + 1];
                const float   dx2 = c->tx->w[2 * x], dx1 = c->tx->w[2 * x + 1];
                d[x] = dx2 * dy2 * r1[x1] + dx1 * dy2 * r1[x2] + dx2 * dy1 * r2[x1] + dx1 * dy1 * r2[x2];
            }
        } else {
            for (int64_t x = 0; x < c->w_out; x++) {
                const int64_t x1 = c->tx->idx[2 * x] * inner, x2 = c->tx->idx[2 * x + 1] * inner;
                const float   dx2 = c->tx->w[2 * x], dx1 = c->tx->w[2 * x + 1];
                const float   w11 = dx2 * dy2, w21 = dx1 * dy2, w12 = dx2 * dy1, w22 = dx1 * dy1;
                float *       dd = d + x * inner;
                for (int64_t j = 0; j < inner; j++)
                    dd[j] = w11 * r1[x1 + j] + w21 * r1[x2 + j] + w12 * r2[x1 + j] + w22 * r2[x2 + j];
            }
        }
        if (++y == c->h_out) {
            y = 0;
            n++;
        }
    }
}

/* Vertical upsampling of NCHW images (inner 1, h_out >= h_in), separably: each source row that an
 * output row needs is interpolated horizontally once (gathers through int32 tables) and kept in
 * one of two cached rows, and every output row is then a vectorised blend of two cached rows.
 * Consecutive output rows share their source rows, so most rows cost one blend. Rows are split
 * into fixed chunks, each with its own two cached rows. The sums are those of the 4-tap form
 * grouped as dy2 (dx2 r1[x1] + dx1 r1[x2]) + dy1 (dx2 r2[x1] + dx1 r2[x2]): within a few ulp. */
typedef struct bilinear_up_ctx {
    const bilinear_ctx * b;
    int32_t *            xi0;
    int32_t *            xi1;
    float *              xw0;
    float *              xw1;
    float *              cache; /* per chunk: two rows of w_out */
    int64_t              chunk_rows, total_rows;
} bilinear_up_ctx;

/* The cached horizontal interpolation of source row `key` (image n * h_in + row), computed into a
 * slot other than `keep` when it is not there yet. */
static const float * up_row(const bilinear_up_ctx * u, float * slots, int64_t * keys, int64_t key, int keep) {
    for (int k = 0; k < 2; k++)
        if (keys[k] == key) return slots + k * u->b->w_out;
    int k = keep == 0 ? 1 : 0;
    keys[k] = key;
    float * h = slots + k * u->b->w_out;
    ei_vec_gather_lerp(h, u->b->src + key * u->b->w_in, u->xi0, u->xw0, u->xi1, u->xw1, u->b->w_out);
    return h;
}

static void bilinear_up_chunks(void * vctx, int64_t c0, int64_t c1) {
    const bilinear_up_ctx * u = vctx;
    const bilinear_ctx *    c = u->b;
    for (int64_t ch = c0; ch < c1; ch++) {
        float * slots = u->cache + ch * 2 * c->w_out;
        int64_t keys[2] = {-1, -1};
        int64_t r_end = (ch + 1) * u->chunk_rows < u->total_rows ? (ch + 1) * u->chunk_rows : u->total_rows;
        for (int64_t r = ch * u->chunk_rows; r < r_end; r++) {
            int64_t       n = r / c->h_out, y = r % c->h_out;
            int64_t       k1 = n * c->h_in + c->ty->idx[2 * y], k2 = n * c->h_in + c->ty->idx[2 * y + 1];
            const float * h1 = up_row(u, slots, keys, k1, keys[0] == k2 ? 0 : keys[1] == k2 ? 1 : -1);
            int           slot1 = h1 == slots ? 0 : 1;
            const float * h2 = up_row(u, slots, keys, k2, slot1);
            ei_vec_lerp(c->dst + r * c->w_out, h1, c->ty->w[2 * y], h2, c->ty->w[2 * y + 1], c->w_out);
        }
    }
}

/* false when the tables do not fit (int32 indices) or memory is short: the caller takes the 4-tap
 * loop. */
static bool bilinear_up(const bilinear_ctx * b, int64_t outer, ei_threadpool * pool) {
    if (b->inner != 1 || b->h_out < b->h_in || b->w_in > INT32_MAX) return false;
    bilinear_up_ctx u = {.b = b, .total_rows = outer * b->h_out};
    u.chunk_rows = grain_rows(b->w_out);
    int64_t chunks = (u.total_rows + u.chunk_rows - 1) / u.chunk_rows;
    u.xi0 = malloc((size_t)b->w_out * sizeof *u.xi0);
    u.xi1 = malloc((size_t)b->w_out * sizeof *u.xi1);
    u.xw0 = malloc((size_t)b->w_out * sizeof *u.xw0);
    u.xw1 = malloc((size_t)b->w_out * sizeof *u.xw1);
    u.cache = malloc((size_t)(chunks * 2 * b->w_out) * sizeof *u.cache);
    bool ok = u.xi0 && u.xi1 && u.xw0 && u.xw1 && u.cache;
    if (ok) {
        for (int64_t x = 0; x < b->w_out; x++) {
            u.xi0[x] = (int32_t)b->tx->idx[2 * x];
            u.xi1[x] = (int32_t)b->tx->idx[2 * x + 1];
            u.xw0[x] = b->tx->w[2 * x];
            u.xw1[x] = b->tx->w[2 * x + 1];
        }
        ei_parallel_for(pool, chunks, 1, bilinear_up_chunks, &u);
    }
    free(u.xi0);
    free(u.xi1);
    free(u.xw0);
    free(u.xw1);
    free(u.cache);
    return ok;
}

/* ---------------------------------------------------------------------------------------------
 * Nearest: per-axis input offsets (elements) or -1 for extrapolated positions. */

static int64_t nearest_pixel(const ei_resize_params * p, float x, bool downsample, int64_t len_in) {
    float r;
    switch (p->nearest) {
    case EI_NEAREST_LEGACY: r = downsample ? ceilf(x) : truncf(x); break;
    case EI_NEAREST_ROUND_PREFER_CEIL: r = roundf(x); break;
    case EI_NEAREST_FLOOR: r = floorf(x); break;
    case EI_NEAREST_CEIL: r = ceilf(x); break;
    case EI_NEAREST_ROUND_PREFER_FLOOR:
    default: r = (x == floorf(x) + 0.5f) ? floorf(x) : roundf(x); break;
    }
    return clamp_index(r, len_in - 1);
}

typedef struct nearest_ctx {
    const uint8_t * src;
    uint8_t *       dst;
    size_t          esize;
    int32_t         last; /* index of the innermost resampled axis */
    int64_t         out_dim[EI_MAX_RANK];
    int64_t *       map[EI_MAX_RANK];
    int64_t         block;   /* elements copied per gathered position */
    uint8_t         fill[8]; /* extrapolation value in the output dtype */
} nearest_ctx;

static void fill_block(uint8_t * d, const uint8_t * fill, size_t esize, int64_t n) {
    for (int64_t i = 0; i < n; i++) memcpy(d + (size_t)i * esize, fill, esize);
}

/* Single-element gathers by element size; fixed-size memcpy compiles to plain moves and keeps
 * the byte copies free of aliasing questions. */
#define EI_GATHER_ROW(E)                                                                                               \
    static void gather_row##E(uint8_t * dst, const uint8_t * src, const int64_t * map, int64_t n,                      \
                              const uint8_t * fill) {                                                                  \
        for (int64_t x = 0; x < n; x++) {                                                                              \
            int64_t m = map[x];                                                                                        \
            memcpy(dst + (size_t)x * E, m < 0 ? fill : src + (size_t)m * E, E);                                        \
        }                                                                                                              \
    }
EI_GATHER_ROW(1)
EI_GATHER_ROW(2)
EI_GATHER_ROW(4)
EI_GATHER_ROW(8)
#undef EI_GATHER_ROW

static void nearest_rows(void * vctx, int64_t b, int64_t e) {
    const nearest_ctx * c = vctx;
    const int32_t       last = c->last;
    const int64_t       w_out = c->out_dim[last];
    const size_t        esize = c->esize, bbytes = (size_t)c->block * esize;
    const int64_t *     map_last = c->map[last];
    int64_t             coord[EI_MAX_RANK];
    int64_t             rem = b;
    for (int32_t d = last - 1; d >= 0; d--) {
        coord[d] = rem % c->out_dim[d];
        rem /= c->out_dim[d];
    }
    for (int64_t r = b; r < e; r++) {
        int64_t base = 0;
        bool    extrap = false;
        for (int32_t d = 0; d < last; d++) {
            int64_t m = c->map[d][coord[d]];
            if (m < 0) extrap = true;
            base += m;
        }
        uint8_t *       dst = c->dst + (size_t)r * (size_t)w_out * bbytes;
        const uint8_t * src = c->src + (size_t)base * esize;
        if (extrap) {
            fill_block(dst, c->fill, esize, w_out * c->block);
        } else if (c->block == 1) {
            switch (esize) {
            case 1: gather_row1(dst, src, map_last, w_out, c->fill); break;
            case 2: gather_row2(dst, src, map_last, w_out, c->fill); break;
            case 4: gather_row4(dst, src, map_last, w_out, c->fill); break;
            default: gather_row8(dst, src, map_last, w_out, c->fill); break;
            }
        } else {
            for (int64_t x = 0; x < w_out; x++) {
                int64_t m = map_last[x];
                if (m < 0)
                    fill_block(dst + (size_t)x * bbytes, c->fill, esize, c->block);
                else
                    memcpy(dst + (size_t)x * bbytes, src + (size_t)m * esize, bbytes);
            }
        }
        for (int32_t d = last - 1; d >= 0; d--) {
            if (++coord[d] < c->out_dim[d]) break;
            coord[d] = 0;
        }
    }
}

/* The extrapolation value converted to the output dtype (as a C cast would). */
static void extrapolation_bytes(ei_dtype dt, float v, uint8_t out[8]) {
    memset(out, 0, 8);
    switch (dt) {
    case EI_DTYPE_F32: memcpy(out, &v, 4); break;
    case EI_DTYPE_F64: {
        double d = v;
        memcpy(out, &d, 8);
        break;
    }
    case EI_DTYPE_F16: {
        uint16_t h = ei_f32_to_f16(v);
        memcpy(out, &h, 2);
        break;
    }
    case EI_DTYPE_BF16: {
        uint16_t h = ei_f32_to_bf16(v);
        memcpy(out, &h, 2);
        break;
    }
    case EI_DTYPE_BOOL: out[0] = v != 0.0f; break;
    default: {
        /* Integers: truncate, then wrap to the type's width as ONNX Runtime's static_cast does on
         * common hardware (values beyond int64 saturate instead of being undefined). */
        double   d = isfinite(v) ? trunc((double)v) : 0.0;
        int64_t  i = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (int64_t)d;
        uint64_t u = (uint64_t)i;
        switch (ei_dtype_size(dt)) {
        case 1: {
            uint8_t t = (uint8_t)u;
            memcpy(out, &t, 1);
            break;
        }
        case 2: {
            uint16_t t = (uint16_t)u;
            memcpy(out, &t, 2);
            break;
        }
        case 4: {
            uint32_t t = (uint32_t)u;
            memcpy(out, &t, 4);
            break;
        }
        default: memcpy(out, &u, 8); break;
        }
    }
    }
}

static ei_status * run_nearest(const ei_resize_params * p, const ei_tensor * x, ei_tensor * y, const bool * ident,
                               const ei_exec * ex) {
    const int32_t rank = p->rank;
    const bool    crop = p->coord == EI_COORD_TF_CROP_AND_RESIZE;
    nearest_ctx   c;
    memset(&c, 0, sizeof c);
    c.src = x->data;
    c.dst = y->data;
    c.esize = ei_dtype_size(x->dtype);
    extrapolation_bytes(x->dtype, p->extrapolation, c.fill);
    /* Trailing unchanged axes are copied as one block per gathered position. */
    int32_t last = rank - 1;
    c.block = 1;
    while (last > 0 && ident[last]) c.block *= x->shape.dim[last--];
    c.last = last;
    int64_t     stride = c.block;
    ei_status * st = NULL;
    for (int32_t d = last; d >= 0; d--) {
        const int64_t len_in = x->shape.dim[d], len_out = y->shape.dim[d];
        c.out_dim[d] = len_out;
        c.map[d] = malloc((size_t)len_out * sizeof(int64_t));
        if (!c.map[d]) {
            st = ei_status_oom();
            goto done;
        }
        for (int64_t o = 0; o < len_out; o++) {
            if (ident[d]) {
                c.map[d][o] = o * stride;
                continue;
            }
            float xf = ei_resize_coord_of(p, d, (float)o, len_in, len_out);
            if (crop && out_of_range(xf, len_in))
                c.map[d][o] = -1;
            else
                c.map[d][o] = nearest_pixel(p, xf, p->scale[d] < 1.0f, len_in) * stride;
        }
        stride *= len_in;
    }
    int64_t rows = 1;
    for (int32_t d = 0; d < last; d++) rows *= c.out_dim[d];
    ei_parallel_for(ex->pool, rows, grain_rows(c.out_dim[last] * c.block), nearest_rows, &c);
done:
    for (int32_t d = 0; d < rank; d++) free(c.map[d]);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Float modes. */

static void fill_extrapolated(const ei_resize_params * p, const ei_shape * ys, float * y, const axis_taps * taps,
                              const bool * ident) {
    for (int32_t d = 0; d < ys->rank; d++) {
        if (ident[d]) continue;
        int64_t outer = 1, inner = 1;
        for (int32_t i = 0; i < d; i++) outer *= ys->dim[i];
        for (int32_t i = d + 1; i < ys->rank; i++) inner *= ys->dim[i];
        for (int64_t b = 0; b < outer; b++)
            for (int64_t o = 0; o < ys->dim[d]; o++) {
                if (!taps[d].extrap[o]) continue;
                float * dst = y + (b * ys->dim[d] + o) * inner;
                for (int64_t j = 0; j < inner; j++) dst[j] = p->extrapolation;
            }
    }
}

static ei_status * run_float(const ei_resize_params * p, const ei_tensor * x, ei_tensor * y, const bool * ident,
                             const ei_exec * ex) {
    const int32_t rank = p->rank;
    axis_taps     taps[EI_MAX_RANK];
    memset(taps, 0, sizeof taps);
    float *     tmp[2] = {NULL, NULL};
    ei_status * st = NULL;
    int32_t     n_resampled = 0, first = -1;
    for (int32_t d = 0; d < rank; d++) {
        if (ident[d]) continue;
        const int64_t len_in = x->shape.dim[d], len_out = y->shape.dim[d];
        n_resampled++;
        if (first < 0) first = d;
        if (p->antialias) {
            float   support, inv;
            int32_t win = aa_window(p, d, &support, &inv);
            if ((st = taps_alloc(&taps[d], win, len_out))) goto done;
            if ((st = build_aa(p, d, len_in, len_out, &taps[d]))) goto done;
        } else if (p->mode == EI_RESIZE_CUBIC) {
            if ((st = taps_alloc(&taps[d], 4, len_out))) goto done;
            build_cubic(p, d, len_in, len_out, &taps[d]);
        } else {
            if ((st = taps_alloc(&taps[d], 2, len_out))) goto done;
            build_linear(p, d, len_in, len_out, &taps[d]);
        }
    }

    if (!p->antialias && p->mode == EI_RESIZE_LINEAR && n_resampled == 2 && first + 1 < rank && !ident[first + 1]) {
        bilinear_ctx c = {.src = x->data,
                          .dst = y->data,
                          .h_in = x->shape.dim[first],
                          .w_in = x->shape.dim[first + 1],
                          .h_out = y->shape.dim[first],
                          .w_out = y->shape.dim[first + 1],
                          .inner = 1,
                          .ty = &taps[first],
                          .tx = &taps[first + 1]};
        int64_t      outer = 1;
        for (int32_t d = 0; d < first; d++) outer *= x->shape.dim[d];
        for (int32_t d = first + 2; d < rank; d++) c.inner *= x->shape.dim[d];
        if (!bilinear_up(&c, outer, ex->pool))
            ei_parallel_for(ex->pool, outer * c.h_out, grain_rows(c.w_out * c.inner), bilinear_rows, &c);
    } else {
        /* Innermost axis first, as ONNX Runtime's bicubic does (x, then y). */
        ei_shape cur = x->shape;
        int64_t  max_tmp = 0;
        int32_t  passes_left = n_resampled;
        for (int32_t d = rank - 1; d >= 0; d--) {
            if (ident[d]) continue;
            cur.dim[d] = y->shape.dim[d];
            if (--passes_left > 0 && ei_shape_numel(&cur) > max_tmp) max_tmp = ei_shape_numel(&cur);
        }
        if (max_tmp > 0) {
            for (int i = 0; i < (n_resampled > 2 ? 2 : 1); i++) {
                tmp[i] = malloc((size_t)max_tmp * sizeof(float));
                if (!tmp[i]) {
                    st = ei_status_oom();
                    goto done;
                }
            }
        }
        cur = x->shape;
        const float * src = x->data;
        int32_t       which = 0;
        passes_left = n_resampled;
        for (int32_t d = rank - 1; d >= 0; d--) {
            if (ident[d]) continue;
            pass_ctx c = {.src = src, .len_in = cur.dim[d], .len_out = y->shape.dim[d], .inner = 1, .t = &taps[d]};
            int64_t  outer = 1;
            for (int32_t i = 0; i < d; i++) outer *= cur.dim[i];
            for (int32_t i = d + 1; i < rank; i++) c.inner *= cur.dim[i];
            c.dst = --passes_left == 0 ? (float *)y->data : tmp[which];
            if (c.inner == 1)
                ei_parallel_for(ex->pool, outer, grain_rows(c.len_out), pass_inner1, &c);
            else
                ei_parallel_for(ex->pool, outer * c.len_out, grain_rows(c.inner), pass_rows, &c);
            cur.dim[d] = y->shape.dim[d];
            src = c.dst;
            which ^= 1;
        }
    }
    if (p->coord == EI_COORD_TF_CROP_AND_RESIZE) fill_extrapolated(p, &y->shape, y->data, taps, ident);
done:
    for (int32_t d = 0; d < rank; d++) taps_free(&taps[d]);
    free(tmp[0]);
    free(tmp[1]);
    return st;
}

ei_status * ei_resize_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex) {
    const ei_resize_params * p = node->params;
    const ei_tensor *        x = in[0];
    ei_tensor *              y = out[0];
    if (ei_shape_numel(&y->shape) == 0) return NULL;
    if (x->shape.rank != p->rank || y->shape.rank != p->rank)
        return ei_node_errorf(node, EI_CODE_INTERNAL, "tensor ranks differ from the ones inferred");
    bool ident[EI_MAX_RANK];
    bool all_ident = true, same_shape = true;
    for (int32_t d = 0; d < p->rank; d++) {
        ident[d] = ei_resize_axis_is_identity(p, d, x->shape.dim[d], y->shape.dim[d]);
        all_ident = all_ident && ident[d];
        same_shape = same_shape && x->shape.dim[d] == y->shape.dim[d];
    }
    /* Like ONNX Runtime, an output of the input's shape is a copy, whatever the scales were
     * (e.g. scale 1.2 on an extent of 2 still gives 2). */
    if (all_ident || same_shape) {
        memcpy(y->data, x->data, (size_t)ei_shape_numel(&y->shape) * ei_dtype_size(x->dtype));
        return NULL;
    }
    if (p->mode == EI_RESIZE_NEAREST) return run_nearest(p, x, y, ident, ex);
    return run_float(p, x, y, ident, ex);
}
