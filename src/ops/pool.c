/* MaxPool (float32, uint8, int8; optional int64 Indices), AveragePool, LpPool, GlobalAveragePool
 * and GlobalMaxPool, 1-D to 3-D. Inputs are viewed as 3-D, 1-D and 2-D ones with leading axes of
 * size one. Per axis and output position, tables hold the range of kernel taps that land inside
 * the input (and inside input + pads, for count_include_pad), so no inner loop checks bounds.
 * float32 without Indices runs by output rows, one vectorisable pass per tap; Indices and the
 * 8-bit types run window by window. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/blocked8.h"
#include "ops/conv_geometry.h"
#include "ops/op.h"

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

typedef struct pool_params {
    ei_window_attrs win;
    pool_kind       kind;
    bool            ceil_mode;
    bool            count_include_pad;
    bool            col_major; /* storage_order = 1: Indices in column-major order */
    int64_t         p;         /* LpPool exponent */
} pool_params;

static ei_status * get_flag(const ei_node * node, const char * name, bool * out) {
    int64_t v;
    EI_TRY(ei_attr_get_int(node, name, 0, &v));
    if (v != 0 && v != 1)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute '%s' = %lld; must be 0 or 1", name, (long long)v);
    *out = v == 1;
    return NULL;
}

static ei_status * pool_import_kind(ei_node * node, pool_kind kind) {
    pool_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    p->kind = kind;
    /* dilations exist from MaxPool-10, LpPool-18 and AveragePool-19 on. */
    int64_t     dil_since = kind == POOL_MAX ? 10 : kind == POOL_LP ? 18 : 19;
    ei_status * st = ei_window_attrs_read(node, node->opset >= dil_since, &p->win);
    if (!st) st = get_flag(node, "ceil_mode", &p->ceil_mode);
    if (!st && kind == POOL_AVG) st = get_flag(node, "count_include_pad", &p->count_include_pad);
    if (!st && kind == POOL_MAX) st = get_flag(node, "storage_order", &p->col_major);
    if (!st && kind == POOL_LP) {
        st = ei_attr_get_int(node, "p", 2, &p->p);
        if (!st && (p->p < 1 || p->p > 1024))
            st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "p = %lld; must be in [1, 1024]", (long long)p->p);
    }
    return ei_op_install_params(node, p, st);
}

static ei_status * maxpool_import(ei_node * node) { return pool_import_kind(node, POOL_MAX); }
static ei_status * avgpool_import(ei_node * node) { return pool_import_kind(node, POOL_AVG); }
static ei_status * lppool_import(ei_node * node) { return pool_import_kind(node, POOL_LP); }

static ei_status * pool_geometry(const ei_node * node, const ei_shape * xs, ei_window_geom * g) {
    const pool_params * p = node->params;
    char                buf[128];
    if (xs->rank < 3)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X has shape %s; pooling needs N x C x spatial...",
                              ei_shape_format(xs, buf, sizeof buf));
    if (xs->rank > 5)
        return ei_node_errorf(node, EI_CODE_UNSUPPORTED, "input X has %d spatial axes; at most 3 are supported",
                              xs->rank - 2);
    EI_TRY(ei_window_resolve(node, &p->win, p->ceil_mode ? EI_WINDOW_POOL_CEIL : EI_WINDOW_POOL, xs->rank - 2,
                             xs->dim + 2, NULL, g));
    if (p->win.auto_pad == EI_AUTO_PAD_NOTSET)
        for (int32_t i = 0; i < g->nsp; i++)
            if (g->pad_begin[i] >= g->kernel[i] || g->pad_end[i] >= g->kernel[i])
                return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                                      "pads (%lld, %lld) on spatial axis %d must be smaller than the kernel size %lld",
                                      (long long)g->pad_begin[i], (long long)g->pad_end[i], i, (long long)g->kernel[i]);
    return NULL;
}

static ei_status * pool_infer(ei_graph * gr, ei_node * node) {
    if (!node->params) {
        pool_kind k = node->def == &ei_op_def_MAX_POOL  ? POOL_MAX
                      : node->def == &ei_op_def_LP_POOL ? POOL_LP
                                                        : POOL_AVG;
        EI_TRY(pool_import_kind(node, k));
    }
    const pool_params * p = node->params;
    if (p->kind == POOL_MAX)
        EI_TRY(ei_op_check_dtype(gr, node, 0, EI_DTYPE_F32, EI_DTYPE_U8, EI_DTYPE_I8, EI_DTYPE_UNDEFINED));
    else
        EI_TRY(ei_op_check_dtype(gr, node, 0, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(gr, node, 0);
    ei_window_geom   g;
    EI_TRY(pool_geometry(node, &x->shape, &g));
    ei_shape ys = x->shape;
    for (int32_t i = 0; i < g.nsp; i++) ys.dim[2 + i] = g.out[i];
    ei_op_set_output(gr, node, 0, x->dtype, &ys);
    if (p->kind == POOL_MAX) ei_op_set_output(gr, node, 1, EI_DTYPE_I64, &ys);
    return NULL;
}

/* One axis of the 3-D kernel; per output position o the taps [lo[o], hi[o]) are inside the input
 * and [0, hip[o]) inside input + pads. */
typedef struct pool_axis {
    int64_t   in, out, k, stride, dil, pad;
    int64_t * lo;
    int64_t * hi;
    int64_t * hip;
} pool_axis;

/* A tap along the last axis that lands inside the input for outputs [lo, hi); `first` is its input
 * position for output lo. */
typedef struct pool_tap {
    int64_t first, lo, hi;
} pool_tap;

typedef struct pool_job {
    const pool_params * p;
    pool_axis           ax[3];
    const void *        x;
    void *              y;
    int64_t *           idx; /* NULL when Indices is not requested */
    pool_tap *          taps;
    int64_t             n_taps;
    float *             count2; /* AveragePool: per output along the last axis, the taps it counts */
} pool_job;

#define POOL_LOOP_BEGIN                                                                                                \
    const pool_axis *A0 = &j->ax[0], *A1 = &j->ax[1], *A2 = &j->ax[2];                                                 \
    int64_t          in_plane = A0->in * A1->in * A2->in;                                                              \
    int64_t          out_plane = A0->out * A1->out * A2->out;                                                          \
    for (int64_t q = q0; q < q1; q++) {                                                                                \
        int64_t yi = q * out_plane;                                                                                    \
        for (int64_t o0 = 0; o0 < A0->out; o0++) {                                                                     \
            int64_t s0 = o0 * A0->stride - A0->pad;                                                                    \
            for (int64_t o1 = 0; o1 < A1->out; o1++) {                                                                 \
                int64_t s1 = o1 * A1->stride - A1->pad;                                                                \
                for (int64_t o2 = 0; o2 < A2->out; o2++, yi++) {                                                       \
                    int64_t s2 = o2 * A2->stride - A2->pad;

#define POOL_LOOP_END                                                                                                  \
    }                                                                                                                  \
    }                                                                                                                  \
    }                                                                                                                  \
    }

/* Max over the taps inside the input; Indices as ONNX defines them, over the whole tensor. */
#define DEFINE_MAX_PLANES(NAME, T, LOWEST)                                                                             \
    static void NAME(void * ctx, int64_t q0, int64_t q1) {                                                             \
        const pool_job * j = ctx;                                                                                      \
        const T *        x = j->x;                                                                                     \
        T *              y = j->y;                                                                                     \
        POOL_LOOP_BEGIN                                                                                                \
        T       best = LOWEST;                                                                                         \
        int64_t bi = -1;                                                                                               \
        for (int64_t t0 = A0->lo[o0]; t0 < A0->hi[o0]; t0++) {                                                         \
            int64_t i0 = s0 + t0 * A0->dil;                                                                            \
            for (int64_t t1 = A1->lo[o1]; t1 < A1->hi[o1]; t1++) {                                                     \
                int64_t   i1 = s1 + t1 * A1->dil;                                                                      \
                const T * row = x + q * in_plane + (i0 * A1->in + i1) * A2->in;                                        \
                for (int64_t t2 = A2->lo[o2]; t2 < A2->hi[o2]; t2++) {                                                 \
                    int64_t i2 = s2 + t2 * A2->dil;                                                                    \
                    if (row[i2] > best || bi < 0) {                                                                    \
                        best = row[i2];                                                                                \
                        bi = j->p->col_major ? i0 + i1 * A0->in + i2 * A0->in * A1->in                                 \
                                             : (i0 * A1->in + i1) * A2->in + i2;                                       \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        y[yi] = best;                                                                                                  \
        if (j->idx) j->idx[yi] = bi >= 0 ? q * in_plane + bi : -1;                                                     \
        POOL_LOOP_END                                                                                                  \
    }

DEFINE_MAX_PLANES(max_planes_f32, float, -FLT_MAX)
DEFINE_MAX_PLANES(max_planes_u8, uint8_t, 0)
DEFINE_MAX_PLANES(max_planes_i8, int8_t, INT8_MIN)

/* float32 without Indices, one output row at a time: for every input row that the windows of the
 * row meet and every tap along the last axis, one pass over the outputs that tap reaches inside
 * the input. The passes are plain loops the compiler vectorises (register-blocked accumulators
 * measured slower: GCC keeps them scalar), and visit taps in window order, so sums match the
 * per-window loops exactly. ACC(a, v) folds input value v into accumulator a. */
#define POOL_ROW_KERNEL(ACC)                                                                                           \
    do {                                                                                                               \
        for (int64_t t0 = A0->lo[o0]; t0 < A0->hi[o0]; t0++) {                                                         \
            int64_t i0 = s0 + t0 * A0->dil;                                                                            \
            for (int64_t t1 = A1->lo[o1]; t1 < A1->hi[o1]; t1++) {                                                     \
                int64_t       i1 = s1 + t1 * A1->dil;                                                                  \
                const float * row = x + q * in_plane + (i0 * A1->in + i1) * A2->in;                                    \
                for (int64_t t = 0; t < j->n_taps; t++) {                                                              \
                    const pool_tap * tp = &j->taps[t];                                                                 \
                    const float *    xs = row + tp->first; /* first tap inside the row */                              \
                    if (st == 1) {                                                                                     \
                        for (int64_t ow = tp->lo; ow < tp->hi; ow++) ACC(yr[ow], xs[ow - tp->lo]);                     \
                    } else {                                                                                           \
                        for (int64_t ow = tp->lo; ow < tp->hi; ow++, xs += st) ACC(yr[ow], *xs);                       \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    } while (0)

#define ACC_MAX(a, v) ((a) = (v) > (a) ? (v) : (a))
#define ACC_SUM(a, v) ((a) += (v))
#define ACC_ABS(a, v) ((a) += fabsf(v))
#define ACC_SQR(a, v) ((a) += (v) * (v))
#define ACC_POW(a, v) ((a) += powf(fabsf(v), pw))

static void row_planes(void * ctx, int64_t q0, int64_t q1) {
    const pool_job *  j = ctx;
    const pool_axis * A0 = &j->ax[0];
    const pool_axis * A1 = &j->ax[1];
    const pool_axis * A2 = &j->ax[2];
    const float *     x = j->x;
    pool_kind         kind = j->p->kind;
    int64_t           pexp = j->p->p, in_plane = A0->in * A1->in * A2->in, ow_n = A2->out, st = A2->stride;
    float             pw = (float)pexp, init = kind == POOL_MAX ? -FLT_MAX : 0.0f;
    for (int64_t q = q0; q < q1; q++) {
        for (int64_t o0 = 0; o0 < A0->out; o0++) {
            int64_t s0 = o0 * A0->stride - A0->pad;
            for (int64_t o1 = 0; o1 < A1->out; o1++) {
                int64_t s1 = o1 * A1->stride - A1->pad;
                float * yr = (float *)j->y + ((q * A0->out + o0) * A1->out + o1) * ow_n;
                for (int64_t ow = 0; ow < ow_n; ow++) yr[ow] = init;
                if (kind == POOL_MAX)
                    POOL_ROW_KERNEL(ACC_MAX);
                else if (kind == POOL_AVG)
                    POOL_ROW_KERNEL(ACC_SUM);
                else if (pexp == 1)
                    POOL_ROW_KERNEL(ACC_ABS);
                else if (pexp == 2)
                    POOL_ROW_KERNEL(ACC_SQR);
                else
                    POOL_ROW_KERNEL(ACC_POW);
                if (kind == POOL_AVG) {
                    bool    with_pad = j->p->count_include_pad;
                    int64_t c01 =
                        with_pad ? A0->hip[o0] * A1->hip[o1] : (A0->hi[o0] - A0->lo[o0]) * (A1->hi[o1] - A1->lo[o1]);
                    float c01f = (float)c01;
                    /* no tap inside (possible only with dilations): 0 / 0, NaN, as in ORT */
                    for (int64_t ow = 0; ow < ow_n; ow++) yr[ow] = yr[ow] / (c01f * j->count2[ow]);
                } else if (kind == POOL_LP && pexp == 2) {
                    for (int64_t ow = 0; ow < ow_n; ow++) yr[ow] = sqrtf(yr[ow]);
                } else if (kind == POOL_LP && pexp != 1) {
                    for (int64_t ow = 0; ow < ow_n; ow++) yr[ow] = powf(yr[ow], 1.0f / pw);
                }
            }
        }
    }
}

/* Max and average pooling of the blocked layout (src/passes/layout_blocked8.c): [N, C/8, H, W, 8]
 * pooled with a window of size 1 over the 8 lanes. The lanes are one vector, and the window is
 * separable, so each plane is reduced along W into a buffer of H x OW vectors, then along H: a
 * 13 x 13 window costs 26 vector operations per output instead of 169, a global pool H x W + H.
 * Sums are taken in another order than the per-window loop, which moves averages by an ulp or so. */
#define POOL_LANES 8

static bool lanes_eligible(const pool_job * j, const ei_tensor * X) {
    const pool_axis * a2 = &j->ax[2];
    return X->dtype == EI_DTYPE_F32 && !j->idx && X->shape.rank == 5 && a2->in == POOL_LANES && a2->out == POOL_LANES &&
           a2->k == 1 && a2->stride == 1 && a2->dil == 1 && a2->pad == 0 &&
           (j->p->kind == POOL_MAX || j->p->kind == POOL_AVG);
}

static void lanes_planes(void * ctx, int64_t q0, int64_t q1) {
    const pool_job *  j = ctx;
    const pool_axis * A0 = &j->ax[0];
    const pool_axis * A1 = &j->ax[1];
    bool              is_max = j->p->kind == POOL_MAX, with_pad = j->p->count_include_pad;
    float             init = is_max ? -FLT_MAX : 0.0f;
    float *           tmp = malloc((size_t)(A0->in * A1->out) * POOL_LANES * sizeof *tmp);
    if (!tmp) {
        row_planes(ctx, q0, q1); /* the general loop needs no buffer */
        return;
    }
    for (int64_t q = q0; q < q1; q++) {
        const float * x = (const float *)j->x + q * A0->in * A1->in * POOL_LANES;
        float *       y = (float *)j->y + q * A0->out * A1->out * POOL_LANES;
        for (int64_t i0 = 0; i0 < A0->in; i0++) {
            const float * row = x + i0 * A1->in * POOL_LANES;
            for (int64_t o1 = 0; o1 < A1->out; o1++) {
                float         acc[POOL_LANES];
                float *       t = tmp + (i0 * A1->out + o1) * POOL_LANES;
                const float * v = row + (o1 * A1->stride - A1->pad + A1->lo[o1] * A1->dil) * POOL_LANES;
                for (int l = 0; l < POOL_LANES; l++) acc[l] = init;
                for (int64_t t1 = A1->lo[o1]; t1 < A1->hi[o1]; t1++, v += A1->dil * POOL_LANES) {
                    if (is_max)
                        for (int l = 0; l < POOL_LANES; l++) acc[l] = v[l] > acc[l] ? v[l] : acc[l];
                    else
                        for (int l = 0; l < POOL_LANES; l++) acc[l] += v[l];
                }
                memcpy(t, acc, sizeof acc);
            }
        }
        for (int64_t o0 = 0; o0 < A0->out; o0++) {
            int64_t s0 = o0 * A0->stride - A0->pad;
            for (int64_t o1 = 0; o1 < A1->out; o1++) {
                float acc[POOL_LANES];
                for (int l = 0; l < POOL_LANES; l++) acc[l] = init;
                for (int64_t t0 = A0->lo[o0]; t0 < A0->hi[o0]; t0++) {
                    const float * v = tmp + ((s0 + t0 * A0->dil) * A1->out + o1) * POOL_LANES;
                    if (is_max)
                        for (int l = 0; l < POOL_LANES; l++) acc[l] = v[l] > acc[l] ? v[l] : acc[l];
                    else
                        for (int l = 0; l < POOL_LANES; l++) acc[l] += v[l];
                }
                float * out = y + (o0 * A1->out + o1) * POOL_LANES;
                if (is_max) {
                    memcpy(out, acc, sizeof acc);
                } else {
                    /* no tap inside (possible only with dilations): 0 / 0, NaN, as in ORT */
                    float c = with_pad ? (float)(A0->hip[o0] * A1->hip[o1])
                                       : (float)((A0->hi[o0] - A0->lo[o0]) * (A1->hi[o1] - A1->lo[o1]));
                    for (int l = 0; l < POOL_LANES; l++) out[l] = acc[l] / c;
                }
            }
        }
    }
    free(tmp);
}

/* A global pool of the blocked layout: [N, C/8, H, W, 8] with the window H x W x 1, no pads,
 * no dilation and no Indices (the layout pass's GlobalAveragePool / GlobalMaxPool). Then the
 * window covers each block's pixels once whatever the strides, and one vector reduction per block
 * does it (ops/blocked8_kernels.c). */
static bool is_blocked8_global(const ei_node * node, const ei_tensor * X, const ei_window_geom * g) {
    const pool_params * p = node->params;
    if (X->dtype != EI_DTYPE_F32 || X->shape.rank != 5 || g->nsp != 3 || g->in[2] != EI_BLOCK8) return false;
    if (p->kind == POOL_LP || (p->kind == POOL_MAX && node->n_outputs > 1)) return false;
    for (int32_t i = 0; i < 3; i++)
        if (g->kernel[i] != (i < 2 ? g->in[i] : 1) || g->dilation[i] != 1 || g->pad_begin[i] || g->pad_end[i] ||
            g->out[i] != (i < 2 ? 1 : EI_BLOCK8))
            return false;
    return true;
}

static ei_status * pool_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    const pool_params * p = node->params;
    const ei_tensor *   X = in[0];
    ei_window_geom      g;
    EI_TRY(pool_geometry(node, &X->shape, &g));
    if (is_blocked8_global(node, X, &g)) {
        ei_blocked8_global_pool(ex ? ex->pool : NULL, X->data, out[0]->data, X->shape.dim[0] * X->shape.dim[1],
                                g.in[0] * g.in[1], p->kind == POOL_MAX);
        return NULL;
    }
    pool_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.x = X->data;
    j.y = out[0]->data;
    j.idx = p->kind == POOL_MAX && node->n_outputs > 1 && out[1] ? out[1]->data : NULL;
    int64_t planes = X->shape.dim[0] * X->shape.dim[1], total_out = 0;
    int32_t lead = 3 - g.nsp;
    for (int32_t a = 0; a < 3; a++) total_out += a < lead ? 1 : g.out[a - lead];
    if (planes * ei_dims_product(g.out, g.nsp) == 0) return NULL;
    int64_t * tables = malloc((size_t)(3 * total_out) * sizeof *tables);
    if (!tables) return ei_node_errorf(node, EI_CODE_OUT_OF_MEMORY, "no memory for pooling tables");
    int64_t * next = tables;
    double    taps = 1.0;
    for (int32_t a = 0; a < 3; a++) {
        pool_axis * ax = &j.ax[a];
        int32_t     d = a - lead;
        int64_t     k = d >= 0 ? g.kernel[d] : 1, pad_end = d >= 0 ? g.pad_end[d] : 0;
        ax->in = d >= 0 ? g.in[d] : 1;
        ax->out = d >= 0 ? g.out[d] : 1;
        ax->k = k;
        ax->stride = d >= 0 ? g.stride[d] : 1;
        ax->dil = d >= 0 ? g.dilation[d] : 1;
        ax->pad = d >= 0 ? g.pad_begin[d] : 0;
        ax->lo = next;
        ax->hi = next + ax->out;
        ax->hip = next + 2 * ax->out;
        next += 3 * ax->out;
        taps *= (double)k;
        for (int64_t o = 0; o < ax->out; o++) {
            int64_t s = o * ax->stride - ax->pad;
            /* taps t with 0 <= s + t * dil < in, and with s + t * dil < in + pad_end */
            int64_t lo = s >= 0 ? 0 : (-s + ax->dil - 1) / ax->dil;
            int64_t hi = ax->in > s ? (ax->in - s + ax->dil - 1) / ax->dil : 0;
            int64_t hip = ax->in + pad_end > s ? (ax->in + pad_end - s + ax->dil - 1) / ax->dil : 0;
            ax->hi[o] = hi < k ? hi : k;
            ax->lo[o] = lo < ax->hi[o] ? lo : ax->hi[o];
            ax->hip[o] = hip < k ? hip : k;
        }
    }
    /* Only taps that some output reaches inside the input: bounded by the sizes, not the kernel. */
    const pool_axis * a2 = &j.ax[2];
    int64_t           t_lo = ei_ceil_div(a2->pad - (a2->out - 1) * a2->stride, a2->dil);
    int64_t           t_hi = ei_ceil_div(a2->pad + a2->in, a2->dil);
    if (t_lo < 0) t_lo = 0;
    if (t_hi > a2->k) t_hi = a2->k;
    if (t_hi > t_lo) {
        j.taps = malloc((size_t)(t_hi - t_lo) * sizeof *j.taps);
        if (!j.taps) {
            free(tables);
            return ei_node_errorf(node, EI_CODE_OUT_OF_MEMORY, "no memory for pooling tables");
        }
    }
    for (int64_t t = t_lo; t < t_hi; t++) {
        int64_t    off = t * a2->dil - a2->pad;
        pool_tap * tp = &j.taps[j.n_taps];
        ei_window_valid_range(off, a2->stride, a2->in, a2->out, &tp->lo, &tp->hi);
        tp->first = off + tp->lo * a2->stride;
        if (tp->lo < tp->hi) j.n_taps++;
    }
    if (p->kind == POOL_AVG) {
        j.count2 = malloc((size_t)a2->out * sizeof *j.count2);
        if (!j.count2) {
            free(j.taps);
            free(tables);
            return ei_node_errorf(node, EI_CODE_OUT_OF_MEMORY, "no memory for pooling tables");
        }
        for (int64_t o = 0; o < a2->out; o++)
            j.count2[o] = (float)(p->count_include_pad ? a2->hip[o] : a2->hi[o] - a2->lo[o]);
    }
    ei_range_fn fn = lanes_eligible(&j, X) ? lanes_planes : row_planes;
    if (X->dtype == EI_DTYPE_U8)
        fn = max_planes_u8;
    else if (X->dtype == EI_DTYPE_I8)
        fn = max_planes_i8;
    else if (j.idx)
        fn = max_planes_f32;
    ei_parallel_for(ex->pool, planes, ei_grain((double)ei_dims_product(g.out, g.nsp) * taps), fn, &j);
    free(j.count2);
    free(j.taps);
    free(tables);
    return NULL;
}

const ei_op_def ei_op_def_MAX_POOL = {
    .name = "MaxPool",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 2,
    .import = maxpool_import,
    .infer = pool_infer,
    .run = pool_run,
};

const ei_op_def ei_op_def_AVERAGE_POOL = {
    .name = "AveragePool",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = avgpool_import,
    .infer = pool_infer,
    .run = pool_run,
};

const ei_op_def ei_op_def_LP_POOL = {
    .name = "LpPool",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = lppool_import,
    .infer = pool_infer,
    .run = pool_run,
};

/* ---- global pooling: one reduction per (batch, channel) plane ---- */

typedef struct global_job {
    const float * x;
    float *       y;
    int64_t       plane;
    bool          is_max;
} global_job;

static void global_planes(void * ctx, int64_t q0, int64_t q1) {
    const global_job * j = ctx;
    for (int64_t q = q0; q < q1; q++) {
        const float * x = j->x + q * j->plane;
        if (j->is_max) {
            float m = j->plane > 0 ? x[0] : -FLT_MAX;
            for (int64_t i = 1; i < j->plane; i++) m = x[i] > m ? x[i] : m;
            j->y[q] = m;
        } else {
            float s = 0.0f;
            for (int64_t i = 0; i < j->plane; i++) s += x[i];
            j->y[q] = s / (float)j->plane;
        }
    }
}

static ei_status * global_infer(ei_graph * gr, ei_node * node) {
    EI_TRY(ei_op_check_dtype(gr, node, 0, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(gr, node, 0);
    char             buf[128];
    if (x->shape.rank < 3)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X has shape %s; pooling needs N x C x spatial...",
                              ei_shape_format(&x->shape, buf, sizeof buf));
    ei_shape ys = x->shape;
    for (int32_t i = 2; i < ys.rank; i++) ys.dim[i] = 1;
    ei_op_set_output(gr, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

static ei_status * global_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                              const ei_exec * ex) {
    const ei_tensor * X = in[0];
    global_job        j = {X->data, out[0]->data, ei_dims_product(X->shape.dim + 2, X->shape.rank - 2),
                           node->def == &ei_op_def_GLOBAL_MAX_POOL};
    int64_t           planes = X->shape.dim[0] * X->shape.dim[1];
    ei_parallel_for(ex->pool, planes, ei_grain((double)j.plane), global_planes, &j);
    return NULL;
}

const ei_op_def ei_op_def_GLOBAL_AVERAGE_POOL = {
    .name = "GlobalAveragePool",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .infer = global_infer,
    .run = global_run,
};

const ei_op_def ei_op_def_GLOBAL_MAX_POOL = {
    .name = "GlobalMaxPool",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .infer = global_infer,
    .run = global_run,
};
