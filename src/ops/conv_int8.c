/* ei.ConvInt8: a 2-D convolution computed in int8, made by the INT8 rewrite (src/quant/quantize.c)
 * from a Conv or ei.ConvBlocked8 with constant weights. Inputs:
 *   0 X         float32, plain [N, C, H, W] or blocked [N, C/8, H, W, 8] (ops/blocked8.h)
 *   1 W         int8 [M, C/group, kH, kW], symmetric per output channel (q = round(w / w_scale[m]))
 *   2 w_scale   float32 [M]
 *   3 B         float32 [M] (optional)
 *   4 R         the residual (with ei.residual), of Y's shape and layout
 * Attributes: those of Conv (kernel_shape, strides, pads, dilations, group, auto_pad), the fused
 * ones of ops/fused.h, and
 *   "ei.x_scale"     float > 0: X is quantised as q = clamp(round_half_even(x / x_scale))
 *   "ei.x_unsigned"  int 1: q in [0, 255] (uint8; X is never negative), else [-127, 127] (int8)
 *   "ei.blocked"     int 1: Y (and R) are blocked [N, M/8, H', W', 8], else plain [N, M, H', W']
 *   "ei.y_scale"     float > 0 (optional): Y is quantised here for the int8 convolutions that read
 *                    it (the requantisation fused by the rewrite): uint8 when "ei.y_unsigned" is 1,
 *                    else int8, NHWC [N, H', W', M]; such a Y is read as X without quantising again
 * Y = act(x_scale * w_scale[m] * sum(qx * qw) + B[m] + R), float32 (or quantised as above).
 *
 * The reference kernel below is exact integer arithmetic (int32 accumulation) followed by one float
 * multiply-add per output; oneDNN's kernel (src/cpu/dnnl/dnnl_conv_int8.c) computes the same
 * integers, so the two agree up to float rounding of the epilogue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/blocked8.h"
#include "ops/conv_geometry.h"
#include "ops/conv_int8.h"
#include "ops/fused_apply.h"
#include "ops/op.h"

static ei_status * import(ei_node * node) {
    ei_conv_int8_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    int64_t     u = 0, blocked = 0;
    ei_status * st = ei_window_attrs_read(node, true, &p->win);
    if (!st) st = ei_attr_get_int(node, "group", 1, &p->group);
    if (!st && (p->group < 1 || p->group > INT32_MAX))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "group = %lld; must be at least 1", (long long)p->group);
    if (!st) st = ei_fused_import(node, &p->fused);
    if (!st) st = ei_attr_get_float(node, "ei.x_scale", 0.0f, &p->x_scale);
    if (!st && !(p->x_scale > 0.0f && isfinite(p->x_scale)))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "ei.x_scale = %g; must be finite and above zero",
                            (double)p->x_scale);
    if (!st) st = ei_attr_get_int(node, "ei.x_unsigned", 0, &u);
    if (!st) st = ei_attr_get_int(node, "ei.blocked", 0, &blocked);
    p->x_unsigned = u != 0;
    p->blocked = blocked != 0;
    if (!st) st = ei_attr_get_float(node, "ei.y_scale", 0.0f, &p->y_scale);
    if (!st && !(p->y_scale >= 0.0f && isfinite(p->y_scale)))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "ei.y_scale = %g; must be finite and not negative",
                            (double)p->y_scale);
    if (!st) st = ei_attr_get_int(node, "ei.y_unsigned", 0, &u);
    p->y_unsigned = u != 0;
    if (!st && p->y_scale > 0.0f && (p->fused.residual || p->blocked))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "a quantised Y (ei.y_scale) is plain NHWC, without residual");
    return ei_op_install_params(node, p, st);
}

/* Channels of X given W and group: plain dim 1, NHWC dim 3, or the blocked shape's channels. */
static ei_status * plain_x(const ei_node * node, const ei_shape * xs, ei_dtype x_dtype, const ei_shape * ws,
                           int64_t group, ei_shape * plain) {
    char a[128], b[128];
    if (ws->rank != 4)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "weight W has shape %s; only 2-D convolutions run in int8",
                              ei_shape_format(ws, a, sizeof a));
    if (ei_conv_int8_is_quantised(x_dtype)) {
        if (xs->rank != 4)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "quantised input X has shape %s; expected N x H x W x C",
                                  ei_shape_format(xs, a, sizeof a));
        *plain = (ei_shape){.rank = 4, .dim = {xs->dim[0], xs->dim[3], xs->dim[1], xs->dim[2]}};
        return NULL;
    }
    if (xs->rank == 4) {
        *plain = *xs;
        return NULL;
    }
    int64_t c = ws->dim[1] * group;
    if (xs->rank != 5 || xs->dim[4] != EI_BLOCK8 || xs->dim[1] != ei_blocks8(c))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X has shape %s; W %s needs %lld channels",
                              ei_shape_format(xs, a, sizeof a), ei_shape_format(ws, b, sizeof b), (long long)c);
    *plain = (ei_shape){.rank = 4, .dim = {xs->dim[0], c, xs->dim[2], xs->dim[3]}};
    return NULL;
}

ei_status * ei_conv_int8_geometry(const ei_node * node, const ei_shape * xs, ei_dtype x_dtype, const ei_shape * ws,
                                  ei_shape * xplain, ei_window_geom * geom) {
    const ei_conv_int8_params * p = node->params;
    EI_TRY(plain_x(node, xs, x_dtype, ws, p->group, xplain));
    int64_t c = xplain->dim[1], m = ws->dim[0], g = p->group;
    if (c % g || m % g || ws->dim[1] != c / g)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "%lld input channels, %lld output channels and W's %lld channels per group do not "
                              "match group %lld",
                              (long long)c, (long long)m, (long long)ws->dim[1], (long long)g);
    return ei_window_resolve(node, &p->win, EI_WINDOW_CONV, 2, xplain->dim + 2, ws->dim + 2, geom);
}

ei_status * ei_int8_check_scales(const ei_node * node, const ei_value * s, int64_t n, const char * what) {
    if (s->shape.rank != 1 || s->shape.dim[0] != n)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "%s must have %lld elements", what, (long long)n);
    const float * sv = s->constant->data;
    for (int64_t i = 0; i < n; i++)
        if (!(sv[i] > 0.0f && isfinite(sv[i])))
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "%s[%lld] = %g; must be finite and above zero", what,
                                  (long long)i, (double)sv[i]);
    return NULL;
}

static ei_status * infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(import(node));
    const ei_conv_int8_params * p = node->params;
    EI_TRY(ei_op_check_dtype(g, node, 0, EI_DTYPE_F32, EI_DTYPE_U8, EI_DTYPE_I8, EI_DTYPE_UNDEFINED));
    EI_TRY(ei_op_check_dtype(g, node, 1, EI_DTYPE_I8, EI_DTYPE_UNDEFINED));
    EI_TRY(ei_op_check_dtype(g, node, 2, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    EI_TRY(ei_op_check_dtype(g, node, 3, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, node, 0);
    const ei_value * w = ei_node_input(g, node, 1);
    const ei_value * s = ei_node_input(g, node, 2);
    const ei_value * b = ei_node_input(g, node, 3);
    if (!w || !w->constant || !s || !s->constant)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "W and w_scale must be constants");
    ei_shape       xs;
    ei_window_geom geom;
    if (ei_conv_int8_is_quantised(x->dtype) && (x->dtype == EI_DTYPE_U8) != p->x_unsigned)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X is %s but ei.x_unsigned is %d",
                              ei_dtype_name(x->dtype), (int)p->x_unsigned);
    EI_TRY(ei_conv_int8_geometry(node, &x->shape, x->dtype, &w->shape, &xs, &geom));
    int64_t m = w->shape.dim[0];
    EI_TRY(ei_int8_check_scales(node, s, m, "w_scale"));
    if (b && (b->shape.rank != 1 || b->shape.dim[0] != m))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "bias B must have %lld elements", (long long)m);
    ei_shape ys = {.rank = 4, .dim = {xs.dim[0], m, geom.out[0], geom.out[1]}};
    if (p->blocked) ys = (ei_shape){.rank = 5, .dim = {ys.dim[0], ei_blocks8(m), ys.dim[2], ys.dim[3], EI_BLOCK8}};
    EI_TRY(ei_fused_check_residual(g, node, &p->fused, 4, &ys));
    if (p->y_scale > 0.0f) {
        ei_shape nhwc = {.rank = 4, .dim = {ys.dim[0], geom.out[0], geom.out[1], m}};
        ei_op_set_output(g, node, 0, p->y_unsigned ? EI_DTYPE_U8 : EI_DTYPE_I8, &nhwc);
        return NULL;
    }
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

int32_t ei_quantize_value(float x, float inv_scale, bool is_unsigned) {
    float q = nearbyintf(x * inv_scale); /* round half to even in the default rounding mode */
    float lo = is_unsigned ? 0.0f : -127.0f, hi = is_unsigned ? 255.0f : 127.0f;
    if (!(q >= lo)) q = lo; /* NaN goes to the low end */
    if (q > hi) q = hi;
    return (int32_t)q;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static void quantize_row_avx2(const float * x, uint8_t * q, int64_t n, float inv,
                                                                  bool u) {
    __m256  vi = _mm256_set1_ps(inv), lo = _mm256_set1_ps(u ? 0.0f : -127.0f), hi = _mm256_set1_ps(u ? 255.0f : 127.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256  v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vi), lo), hi);
        __m256i i32 = _mm256_cvtps_epi32(v);
        __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
        _mm_storel_epi64((__m128i *)(void *)(q + i), u ? _mm_packus_epi16(i16, i16) : _mm_packs_epi16(i16, i16));
    }
    for (; i < n; i++) q[i] = (uint8_t)ei_quantize_value(x[i], inv, u);
}
#endif

void ei_quantize_row(const float * x, void * q, int64_t n, float inv_scale, bool is_unsigned) {
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2")) {
        quantize_row_avx2(x, q, n, inv_scale, is_unsigned);
        return;
    }
#endif
    uint8_t * d = q;
    for (int64_t i = 0; i < n; i++) d[i] = (uint8_t)ei_quantize_value(x[i], inv_scale, is_unsigned);
}

typedef struct ref_job {
    const ei_conv_int8_params * p;
    const ei_window_geom *      g;
    const int32_t *             qx; /* plain [N, C, H, W] */
    const int8_t *              w;
    const float *               ws, *b;
    float *                     y; /* plain [N, M, OH, OW] */
    int64_t                     c, m, cg, mg;
} ref_job;

/* Rows are (n, m, oh). */
static void ref_rows(void * ctx, int64_t r0, int64_t r1) {
    const ref_job *        j = ctx;
    const ei_window_geom * g = j->g;
    int64_t                oh_n = g->out[0], ow_n = g->out[1], h = g->in[0], wd = g->in[1];
    int64_t                kh_n = g->kernel[0], kw_n = g->kernel[1];
    for (int64_t r = r0; r < r1; r++) {
        int64_t         oh = r % oh_n, m = (r / oh_n) % j->m, n = r / (oh_n * j->m);
        int64_t         c0 = (m / j->mg) * j->cg;
        const int8_t *  wm = j->w + m * j->cg * kh_n * kw_n;
        float           scale = j->p->x_scale * j->ws[m];
        float           bias = j->b ? j->b[m] : 0.0f;
        float *         yr = j->y + ((n * j->m + m) * oh_n + oh) * ow_n;
        const int32_t * xn = j->qx + n * j->c * h * wd;
        for (int64_t ow = 0; ow < ow_n; ow++) {
            int32_t acc = 0;
            for (int64_t ci = 0; ci < j->cg; ci++) {
                const int32_t * xc = xn + (c0 + ci) * h * wd;
                for (int64_t kh = 0; kh < kh_n; kh++) {
                    int64_t ih = oh * g->stride[0] - g->pad_begin[0] + kh * g->dilation[0];
                    if (ih < 0 || ih >= h) continue;
                    for (int64_t kw = 0; kw < kw_n; kw++) {
                        int64_t iw = ow * g->stride[1] - g->pad_begin[1] + kw * g->dilation[1];
                        if (iw < 0 || iw >= wd) continue;
                        acc += xc[ih * wd + iw] * (int32_t)wm[(ci * kh_n + kh) * kw_n + kw];
                    }
                }
            }
            yr[ow] = (float)acc * scale + bias;
        }
    }
}

typedef struct quant_job {
    const float * x;
    int32_t *     q;
    float         inv;
    bool          u;
} quant_job;

static void quant_range(void * ctx, int64_t b, int64_t e) {
    const quant_job * j = ctx;
    for (int64_t i = b; i < e; i++) j->q[i] = ei_quantize_value(j->x[i], j->inv, j->u);
}

static ei_status * run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                       const ei_exec * ex) {
    const ei_conv_int8_params * p = node->params;
    const ei_tensor *           X = in[0], *W = in[1];
    ei_shape                    xs;
    ei_window_geom              geom;
    EI_TRY(ei_conv_int8_geometry(node, &X->shape, X->dtype, &W->shape, &xs, &geom));
    int64_t   n = xs.dim[0], c = xs.dim[1], hw = xs.dim[2] * xs.dim[3], m = W->shape.dim[0];
    int64_t   ohw = geom.out[0] * geom.out[1];
    float *   xplain = NULL, *yplain = NULL, *rplain = NULL;
    int32_t * qx = malloc((size_t)(n * c * hw) * sizeof *qx + 1);
    if (!qx) return ei_status_oom();
    const float * xf = X->data;
    if (X->shape.rank == 5) {
        xplain = malloc((size_t)(n * c * hw) * sizeof *xplain + 1);
        if (!xplain) goto oom;
        ei_blocked8_unpack(ex->pool, X->data, xplain, n, c, hw);
        xf = xplain;
    }
    if (ei_conv_int8_is_quantised(X->dtype)) { /* NHWC integers: transposed as they are */
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = 0; i < hw; i++)
                for (int64_t ch = 0; ch < c; ch++) {
                    int64_t k = (b * hw + i) * c + ch;
                    qx[(b * c + ch) * hw + i] =
                        X->dtype == EI_DTYPE_U8 ? ((const uint8_t *)X->data)[k] : ((const int8_t *)X->data)[k];
                }
    } else {
        quant_job qj = {xf, qx, 1.0f / p->x_scale, p->x_unsigned};
        ei_parallel_for(ex->pool, n * c * hw, 16384, quant_range, &qj);
    }
    float * yf = out[0]->data;
    if (p->blocked || p->y_scale > 0.0f) {
        yplain = malloc((size_t)(n * m * ohw) * sizeof *yplain + 1);
        if (!yplain) goto oom;
        yf = yplain;
    }
    ref_job rj = {p, &geom, qx, W->data, in[2]->data, in[3] ? in[3]->data : NULL, yf, c, m, c / p->group, m / p->group};
    ei_parallel_for(ex->pool, n * m * geom.out[0],
                    ei_grain((double)geom.out[1] * (double)(rj.cg * geom.kernel[0] * geom.kernel[1])), ref_rows, &rj);
    /* The residual and activation on the plain result, then the layout. */
    ei_shape          yps = {.rank = 4, .dim = {n, m, geom.out[0], geom.out[1]}};
    ei_tensor         yt = {.dtype = EI_DTYPE_F32, .shape = yps, .data = yf, .nbytes = (size_t)(n * m * ohw) * 4};
    const ei_tensor * r = p->fused.residual ? in[4] : NULL;
    ei_tensor         rt;
    if (r && p->blocked) {
        rplain = malloc((size_t)(n * m * ohw) * sizeof *rplain + 1);
        if (!rplain) goto oom;
        ei_blocked8_unpack(ex->pool, r->data, rplain, n, m, ohw);
        rt = (ei_tensor){.dtype = EI_DTYPE_F32, .shape = yps, .data = rplain, .nbytes = yt.nbytes};
        r = &rt;
    }
    ei_fused_finish(&p->fused, r, &yt, ex->pool);
    if (p->blocked) ei_blocked8_pack(ex->pool, yplain, out[0]->data, n, m, ohw);
    if (p->y_scale > 0.0f) { /* plain -> NHWC, then quantised */
        float * t = malloc((size_t)(n * m * ohw) * sizeof *t + 1);
        if (!t) goto oom;
        for (int64_t b = 0; b < n; b++)
            for (int64_t ch = 0; ch < m; ch++)
                for (int64_t i = 0; i < ohw; i++) t[(b * ohw + i) * m + ch] = yplain[(b * m + ch) * ohw + i];
        ei_quantize_row(t, out[0]->data, n * m * ohw, 1.0f / p->y_scale, p->y_unsigned);
        free(t);
    }
    free(qx);
    free(xplain);
    free(yplain);
    free(rplain);
    return NULL;
oom:
    free(qx);
    free(xplain);
    free(yplain);
    free(rplain);
    return ei_node_errorf(node, EI_CODE_OUT_OF_MEMORY, "no memory for the int8 convolution's buffers");
}

static int64_t macs(const ei_graph * g, const ei_node * node) {
    const ei_value * w = ei_node_input(g, node, 1);
    const ei_value * y = ei_node_output((ei_graph *)g, node, 0);
    if (!w || !y || w->shape.rank != 4 || y->shape.rank < 4) return 0;
    /* Y is [N, M, OH, OW], blocked [N, M/8, OH, OW, 8], or quantised NHWC [N, OH, OW, M]. */
    int64_t ohw =
        ei_conv_int8_is_quantised(y->dtype) ? y->shape.dim[1] * y->shape.dim[2] : y->shape.dim[2] * y->shape.dim[3];
    return y->shape.dim[0] * w->shape.dim[0] * ohw * w->shape.dim[1] * w->shape.dim[2] * w->shape.dim[3];
}

const ei_op_def ei_op_def_CONV_INT8 = {
    .name = "ei.ConvInt8",
    .in_min = 3,
    .in_max = 5,
    .out_min = 1,
    .out_max = 1,
    .import = import,
    .infer = infer,
    .run = run,
    .macs = macs,
};
