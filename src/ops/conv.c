/* Conv (opsets 1, 11, 22), float32, 1-D to 6-D. Three kernels:
 * - depthwise (one input channel per group, 1-D/2-D): direct, parallel over output channels;
 * - 1x1, stride 1, no padding: one sgemm per batch and group straight on the input;
 * - everything else: im2col over a bounded slice of output pixels, then sgemm.
 * Batch and group loops run in parallel themselves when there are enough of them, each worker
 * calling sgemm serially; otherwise sgemm and im2col parallelise inside each product. */
#include <stdlib.h>
#include <string.h>

#include "cpu/sgemm.h"
#include "ops/conv_geometry.h"
#include "ops/fused_apply.h"
#include "ops/op.h"
#include "quant/half.h"

/* im2col scratch is capped at about this many floats per worker by slicing output pixels. */
#define CONV_COL_BUDGET ((int64_t)1 << 20)

typedef struct conv_params {
    ei_window_attrs win;
    int64_t         group;
    ei_fused        fused; /* ei.* attributes; the residual is input 3 */
} conv_params;

static ei_status * conv_import(ei_node * node) {
    conv_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    ei_status * st = ei_window_attrs_read(node, true, &p->win);
    if (!st) st = ei_attr_get_int(node, "group", 1, &p->group);
    if (!st && (p->group < 1 || p->group > INT32_MAX))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "group = %lld; must be at least 1", (long long)p->group);
    if (!st) st = ei_fused_import(node, &p->fused);
    return ei_op_install_params(node, p, st);
}

/* Shape checks shared by infer and run; fills the geometry. */
static ei_status * conv_geometry(const ei_node * node, const ei_shape * xs, const ei_shape * ws, const ei_shape * bs,
                                 ei_window_geom * geom) {
    const conv_params * p = node->params;
    char                a[128], b[128];
    if (xs->rank < 3)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X has shape %s; Conv needs N x C x spatial...",
                              ei_shape_format(xs, a, sizeof a));
    if (ws->rank != xs->rank)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "weight W has shape %s, of a different rank than X %s",
                              ei_shape_format(ws, a, sizeof a), ei_shape_format(xs, b, sizeof b));
    int64_t c = xs->dim[1], m = ws->dim[0], g = p->group;
    if (c % g != 0)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "group %lld does not divide the %lld input channels",
                              (long long)g, (long long)c);
    if (m % g != 0)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "group %lld does not divide the %lld output channels",
                              (long long)g, (long long)m);
    if (ws->dim[1] != c / g)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "weight W %s expects %lld input channels per group; X %s with group %lld has %lld",
                              ei_shape_format(ws, a, sizeof a), (long long)ws->dim[1], ei_shape_format(xs, b, sizeof b),
                              (long long)g, (long long)(c / g));
    if (bs && (bs->rank != 1 || bs->dim[0] != m))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "bias B has shape %s; expected [%lld]",
                              ei_shape_format(bs, a, sizeof a), (long long)m);
    return ei_window_resolve(node, &p->win, EI_WINDOW_CONV, xs->rank - 2, xs->dim + 2, ws->dim + 2, geom);
}

static ei_status * conv_infer(ei_graph * gr, ei_node * node) {
    if (!node->params) EI_TRY(conv_import(node));
    for (int32_t k = 0; k < 3; k++)
        EI_TRY(k == 1 ? ei_half_check_weight(gr, node, k)
                      : ei_op_check_dtype(gr, node, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(gr, node, 0);
    const ei_value * w = ei_node_input(gr, node, 1);
    const ei_value * b = ei_node_input(gr, node, 2);
    ei_window_geom   geom;
    EI_TRY(conv_geometry(node, &x->shape, &w->shape, b ? &b->shape : NULL, &geom));
    ei_shape ys = x->shape;
    ys.dim[1] = w->shape.dim[0];
    for (int32_t i = 0; i < geom.nsp; i++) ys.dim[2 + i] = geom.out[i];
    EI_TRY(ei_fused_check_residual(gr, node, &((const conv_params *)node->params)->fused, 3, &ys));
    ei_op_set_output(gr, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

/* ---- im2col ---- */

typedef struct im2col_job {
    const ei_window_geom * g;
    const float *          x;   /* the group's first input channel */
    float *                col; /* rows (channel, kernel tap), columns output pixels [p0, p1) */
    int64_t                p0, p1, kprod;
} im2col_job;

static void im2col_rows(void * ctx, int64_t r0, int64_t r1) {
    const im2col_job *     j = ctx;
    const ei_window_geom * g = j->g;
    int32_t                nsp = g->nsp, last = nsp - 1;
    int64_t                in_stride[EI_MAX_SPATIAL], ow_n = g->out[last], pn = j->p1 - j->p0;
    in_stride[last] = 1;
    for (int32_t d = last - 1; d >= 0; d--) in_stride[d] = in_stride[d + 1] * g->in[d + 1];
    int64_t plane = in_stride[0] * g->in[0];
    for (int64_t r = r0; r < r1; r++) {
        int64_t tap[EI_MAX_SPATIAL], rem = r % j->kprod;
        for (int32_t d = last; d >= 0; d--) {
            tap[d] = rem % g->kernel[d];
            rem /= g->kernel[d];
        }
        const float * xc = j->x + (r / j->kprod) * plane;
        float *       dst = j->col + r * pn;
        int64_t       off = tap[last] * g->dilation[last] - g->pad_begin[last], lo, hi;
        ei_window_valid_range(off, g->stride[last], g->in[last], ow_n, &lo, &hi);
        /* Coordinates of the first output line of the slice. */
        int64_t line = j->p0 / ow_n, o[EI_MAX_SPATIAL];
        for (int32_t d = last - 1; d >= 0; d--) {
            o[d] = line % g->out[d];
            line /= g->out[d];
        }
        int64_t p = j->p0, ow0 = j->p0 % ow_n;
        while (p < j->p1) {
            int64_t ow1 = ow0 + (j->p1 - p) < ow_n ? ow0 + (j->p1 - p) : ow_n;
            bool    inside = true;
            int64_t base = 0;
            for (int32_t d = 0; d < last; d++) {
                int64_t i = o[d] * g->stride[d] - g->pad_begin[d] + tap[d] * g->dilation[d];
                if (i < 0 || i >= g->in[d]) inside = false;
                base += i * in_stride[d];
            }
            int64_t a = lo < ow0 ? ow0 : (lo > ow1 ? ow1 : lo), b = hi > ow1 ? ow1 : (hi < a ? a : hi);
            if (!inside) a = b = ow1;
            for (int64_t ow = ow0; ow < a; ow++) *dst++ = 0.0f;
            if (a < b) {
                /* base + off + a * s is the first tap inside the input; base + off alone may not be. */
                int64_t       s = g->stride[last];
                const float * src = xc + base + off + a * s;
                if (s == 1) {
                    memcpy(dst, src, (size_t)(b - a) * sizeof *dst);
                    dst += b - a;
                } else {
                    for (int64_t ow = a; ow < b; ow++, src += s) *dst++ = *src;
                }
            }
            for (int64_t ow = b; ow < ow1; ow++) *dst++ = 0.0f;
            p += ow1 - ow0;
            ow0 = 0;
            for (int32_t d = last - 1; d >= 0; d--) {
                if (++o[d] < g->out[d]) break;
                o[d] = 0;
            }
        }
    }
}

/* ---- the general and 1x1 paths ---- */

typedef struct conv_run {
    const ei_window_geom * g;
    const float *          x;
    const float *          w;
    const float *          b;
    float *                y;
    float *                col; /* slot_floats per slot */
    int64_t                slot_floats;
    int64_t                n, c, m, groups, cg, mg, kprod, kdim, pin, pout, chunk, tasks, slots;
    bool                   direct; /* 1x1, stride 1, no pads: the input is already the column matrix */
} conv_run;

static void add_bias_rows(float * y, int64_t rows, int64_t ld, int64_t cols, const float * b) {
    for (int64_t r = 0; r < rows; r++) {
        float * yr = y + r * ld;
        float   bv = b[r];
        for (int64_t i = 0; i < cols; i++) yr[i] += bv;
    }
}

/* One (batch, group) product. pool NULL when called from a parallel worker. */
static void conv_task(const conv_run * c, int64_t t, float * col, ei_threadpool * pool) {
    int64_t       n = t / c->groups, gi = t % c->groups;
    const float * xg = c->x + (n * c->c + gi * c->cg) * c->pin;
    const float * wg = c->w + gi * c->mg * c->kdim;
    float *       yg = c->y + (n * c->m + gi * c->mg) * c->pout;
    const float * bg = c->b ? c->b + gi * c->mg : NULL;
    if (c->direct) {
        ei_sgemm(pool, false, false, c->mg, c->pout, c->kdim, 1.0f, wg, c->kdim, xg, c->pin, 0.0f, yg, c->pout);
        if (bg) add_bias_rows(yg, c->mg, c->pout, c->pout, bg);
        return;
    }
    for (int64_t p0 = 0; p0 < c->pout; p0 += c->chunk) {
        int64_t    p1 = p0 + c->chunk < c->pout ? p0 + c->chunk : c->pout, pn = p1 - p0;
        im2col_job j = {c->g, xg, col, p0, p1, c->kprod};
        ei_parallel_for(pool, c->kdim, ei_grain((double)pn), im2col_rows, &j);
        ei_sgemm(pool, false, false, c->mg, pn, c->kdim, 1.0f, wg, c->kdim, col, pn, 0.0f, yg + p0, c->pout);
        if (bg) add_bias_rows(yg + p0, c->mg, c->pout, pn, bg);
    }
}

static void conv_slots(void * ctx, int64_t s0, int64_t s1) {
    const conv_run * c = ctx;
    float *          col = c->col ? c->col + s0 * c->slot_floats : NULL;
    for (int64_t s = s0; s < s1; s++)
        for (int64_t t = s * c->tasks / c->slots; t < (s + 1) * c->tasks / c->slots; t++) conv_task(c, t, col, NULL);
}

/* ---- depthwise ---- */

typedef struct dw_run {
    const float * x;
    const float * w;
    const float * b;
    float *       y;
    int64_t       c, m, mg, h, wd, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow;
    int64_t *     ow_range; /* per kernel column: outputs [lo, hi) whose tap is inside the row */
} dw_run;

/* Output rows [q0, q1) of all (batch, channel) planes: rows, not planes, so that a few large
 * channels still spread over every thread. */
static void dw_rows(void * ctx, int64_t q0, int64_t q1) {
    const dw_run * r = ctx;
    for (int64_t q = q0; q < q1; q++) {
        int64_t       plane = q / r->oh, oh = q % r->oh, n = plane / r->m, m = plane % r->m;
        const float * x = r->x + (n * r->c + m / r->mg) * r->h * r->wd;
        const float * w = r->w + m * r->kh * r->kw;
        float *       yr = r->y + q * r->ow;
        for (int64_t ow = 0; ow < r->ow; ow++) yr[ow] = 0.0f;
        for (int64_t kh = 0; kh < r->kh; kh++) {
            int64_t ih = oh * r->sh - r->pt + kh * r->dh;
            if (ih < 0 || ih >= r->h) continue;
            const float * xr = x + ih * r->wd;
            for (int64_t kw = 0; kw < r->kw; kw++) {
                float   wv = w[kh * r->kw + kw];
                int64_t off = kw * r->dw - r->pl, lo = r->ow_range[2 * kw], hi = r->ow_range[2 * kw + 1];
                if (lo >= hi) continue;
                const float * xs = xr + off + lo * r->sw; /* first tap inside the row */
                if (r->sw == 1) {
                    for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xs[ow - lo];
                } else {
                    for (int64_t ow = lo; ow < hi; ow++, xs += r->sw) yr[ow] += wv * *xs;
                }
            }
        }
        if (r->b) {
            float bv = r->b[m];
            for (int64_t ow = 0; ow < r->ow; ow++) yr[ow] += bv;
        }
    }
}

static ei_status * conv_depthwise(const ei_node * node, const ei_window_geom * g, const float * x, const float * w,
                                  const float * b, float * y, int64_t n, int64_t c, int64_t m, ei_threadpool * pool) {
    /* 1-D runs as 2-D with a height of one. */
    int32_t h = g->nsp - 2;
    dw_run  r = {x,
                 w,
                 b,
                 y,
                 c,
                 m,
                 m / c,
                h >= 0 ? g->in[h] : 1,
                 g->in[h + 1],
                h >= 0 ? g->kernel[h] : 1,
                 g->kernel[h + 1],
                h >= 0 ? g->stride[h] : 1,
                 g->stride[h + 1],
                h >= 0 ? g->dilation[h] : 1,
                 g->dilation[h + 1],
                h >= 0 ? g->pad_begin[h] : 0,
                 g->pad_begin[h + 1],
                h >= 0 ? g->out[h] : 1,
                 g->out[h + 1],
                 NULL};
    r.ow_range = malloc((size_t)(2 * r.kw) * sizeof *r.ow_range);
    if (!r.ow_range) return ei_node_errorf(node, EI_CODE_OUT_OF_MEMORY, "no memory for depthwise tables");
    for (int64_t kw = 0; kw < r.kw; kw++)
        ei_window_valid_range(kw * r.dw - r.pl, r.sw, r.wd, r.ow, &r.ow_range[2 * kw], &r.ow_range[2 * kw + 1]);
    ei_parallel_for(pool, n * m * r.oh, ei_grain((double)r.ow * (double)(r.kh * r.kw)), dw_rows, &r);
    free(r.ow_range);
    return NULL;
}

static ei_status * conv_run_plain(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                  const ei_exec * ex) {
    const ei_tensor *X = in[0], *W = in[1], *B = in[2];
    ei_window_geom   geom;
    EI_TRY(conv_geometry(node, &X->shape, &W->shape, B ? &B->shape : NULL, &geom));
    const conv_params * p = node->params;
    conv_run            c;
    memset(&c, 0, sizeof c);
    c.g = &geom;
    c.x = X->data;
    c.w = W->data;
    c.b = B ? B->data : NULL;
    c.y = out[0]->data;
    c.n = X->shape.dim[0];
    c.c = X->shape.dim[1];
    c.m = W->shape.dim[0];
    c.groups = p->group;
    c.cg = c.c / c.groups;
    c.mg = c.m / c.groups;
    c.kprod = ei_dims_product(geom.kernel, geom.nsp);
    c.kdim = c.cg * c.kprod;
    c.pin = ei_dims_product(geom.in, geom.nsp);
    c.pout = ei_dims_product(geom.out, geom.nsp);
    if (c.n * c.m * c.pout == 0) return NULL;
    if (c.cg == 1 && geom.nsp <= 2) {
        return conv_depthwise(node, &geom, c.x, c.w, c.b, c.y, c.n, c.c, c.m, ex->pool);
    }
    c.direct = true;
    for (int32_t i = 0; i < geom.nsp; i++)
        if (geom.kernel[i] != 1 || geom.stride[i] != 1 || geom.pad_begin[i] != 0 || geom.pad_end[i] != 0)
            c.direct = false;
    int32_t threads = ei_threadpool_size(ex->pool);
    c.tasks = c.n * c.groups;
    c.slots = (threads > 1 && c.tasks >= 2 * (int64_t)threads) ? threads : 1;
    if (!c.direct && c.kdim > 0) {
        int64_t min_chunk = c.pout < 64 ? c.pout : 64;
        c.chunk = CONV_COL_BUDGET / c.kdim;
        if (c.chunk < min_chunk) c.chunk = min_chunk;
        if (c.chunk > c.pout) c.chunk = c.pout;
        c.slot_floats = c.kdim * c.chunk;
        c.col = malloc((size_t)(c.slot_floats * c.slots) * sizeof(float));
        if (!c.col)
            return ei_node_errorf(node, EI_CODE_OUT_OF_MEMORY, "no memory for %lld floats of im2col scratch",
                                  (long long)(c.slot_floats * c.slots));
    } else if (!c.direct) {
        c.chunk = c.pout; /* no input channels: sgemm with k = 0 writes the zeros */
    }
    if (c.slots > 1) {
        ei_parallel_for(ex->pool, c.slots, 1, conv_slots, &c);
    } else {
        for (int64_t t = 0; t < c.tasks; t++) conv_task(&c, t, c.col, ex->pool);
    }
    free(c.col);
    return NULL;
}

static ei_status * conv_run_kernel(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                   const ei_exec * ex) {
    EI_TRY(conv_run_plain(node, in, out, ex));
    const conv_params * p = node->params;
    ei_fused_finish(&p->fused, p->fused.residual ? in[3] : NULL, out[0], ex->pool);
    return NULL;
}

/* Weights of a bf16 / fp16 engine are widened per run (src/quant/half.h). */
static ei_status * conv_run_entry(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                  const ei_exec * ex) {
    if (ei_half_needed(node, in, 1)) return ei_half_run(conv_run_kernel, 1, node, in, out, ex);
    return conv_run_kernel(node, in, out, ex);
}

static int64_t conv_macs(const ei_graph * gr, const ei_node * node) {
    const ei_value * x = ei_node_input(gr, node, 0);
    const ei_value * w = ei_node_input(gr, node, 1);
    const ei_value * y = node->n_outputs > 0 && node->outputs[0] >= 0 ? &gr->values[node->outputs[0]] : NULL;
    if (!x || !w || !y || w->shape.rank < 2) return 0;
    /* output elements x (input channels per group x kernel elements) */
    return ei_shape_numel(&y->shape) * ei_dims_product(w->shape.dim + 1, w->shape.rank - 1);
}

const ei_op_def ei_op_def_CONV = {
    .name = "Conv",
    .in_min = 2,
    .in_max = 4, /* 4: the ei.residual input */
    .out_min = 1,
    .out_max = 1,
    .import = conv_import,
    .infer = conv_infer,
    .run = conv_run_entry,
    .macs = conv_macs,
};
