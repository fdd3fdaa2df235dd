/* ConvTranspose (opsets 1, 11, 22), float32, 1-D to 6-D: per batch and group, sgemm of the
 * transposed weights with a slice of input pixels into columns, then col2im scatters the columns
 * into the output. Pads follow the ONNX spec: from output_shape or SAME_* the total padding is
 * split with the odd element at the end for SAME_UPPER and at the beginning otherwise. */
#include <stdlib.h>
#include <string.h>

#include "cpu/sgemm.h"
#include "ops/conv_geometry.h"
#include "ops/fused_apply.h"
#include "ops/op.h"
#include "quant/half.h"

#define CONVT_COL_BUDGET ((int64_t)1 << 20)

typedef struct convt_params {
    ei_window_attrs win;
    int64_t         group;
    int32_t         n_output_padding, n_output_shape;
    int64_t         output_padding[EI_MAX_SPATIAL];
    int64_t         output_shape[EI_MAX_SPATIAL + 2];
    ei_fused        fused; /* ei.* attributes; the residual is input 3 */
} convt_params;

static ei_status * read_ints(const ei_node * node, const char * name, int32_t max, int64_t lo, int64_t * vals,
                             int32_t * count) {
    const int64_t * v;
    EI_TRY(ei_attr_get_ints(node, name, &v, count));
    if (*count > max)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute '%s' has %d values; at most %d are supported",
                              name, *count, max);
    for (int32_t i = 0; i < *count; i++) {
        if (v[i] < lo || v[i] > INT32_MAX)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute '%s'[%d] = %lld is out of range", name, i,
                                  (long long)v[i]);
        vals[i] = v[i];
    }
    return NULL;
}

static ei_status * convt_import(ei_node * node) {
    convt_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    ei_status * st = ei_window_attrs_read(node, true, &p->win);
    if (!st) st = ei_attr_get_int(node, "group", 1, &p->group);
    if (!st && (p->group < 1 || p->group > INT32_MAX))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "group = %lld; must be at least 1", (long long)p->group);
    if (!st) st = read_ints(node, "output_padding", EI_MAX_SPATIAL, 0, p->output_padding, &p->n_output_padding);
    if (!st) st = read_ints(node, "output_shape", EI_MAX_SPATIAL + 2, 1, p->output_shape, &p->n_output_shape);
    if (!st) st = ei_fused_import(node, &p->fused);
    return ei_op_install_params(node, p, st);
}

static ei_status * convt_geometry(const ei_node * node, const ei_shape * xs, const ei_shape * ws, const ei_shape * bs,
                                  ei_window_geom * geom) {
    const convt_params * p = node->params;
    char                 a[128], b[128];
    if (xs->rank < 3)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "input X has shape %s; ConvTranspose needs N x C x spatial...",
                              ei_shape_format(xs, a, sizeof a));
    if (ws->rank != xs->rank)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "weight W has shape %s, of a different rank than X %s",
                              ei_shape_format(ws, a, sizeof a), ei_shape_format(xs, b, sizeof b));
    int64_t c = xs->dim[1], g = p->group, m = ws->dim[1] * g;
    if (ws->dim[0] != c)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "weight W %s has %lld input channels; X %s has %lld",
                              ei_shape_format(ws, a, sizeof a), (long long)ws->dim[0], ei_shape_format(xs, b, sizeof b),
                              (long long)c);
    if (c % g != 0)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "group %lld does not divide the %lld input channels",
                              (long long)g, (long long)c);
    if (bs && (bs->rank != 1 || bs->dim[0] != m))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "bias B has shape %s; expected [%lld]",
                              ei_shape_format(bs, a, sizeof a), (long long)m);
    int32_t nsp = xs->rank - 2;
    EI_TRY(ei_window_setup(node, &p->win, nsp, xs->dim + 2, ws->dim + 2, geom));
    if (p->n_output_padding >= 0 && p->n_output_padding != nsp)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "output_padding has %d values for %d spatial axes",
                              p->n_output_padding, nsp);
    const int64_t * oshape = NULL;
    if (p->n_output_shape == nsp) {
        oshape = p->output_shape;
    } else if (p->n_output_shape == nsp + 2) {
        oshape = p->output_shape + 2; /* some exporters include N and C */
    } else if (p->n_output_shape >= 0) {
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "output_shape has %d values for %d spatial axes",
                              p->n_output_shape, nsp);
    }
    for (int32_t i = 0; i < nsp; i++) {
        if (geom->in[i] < 1) return ei_node_errorf(node, EI_CODE_UNSUPPORTED, "spatial axis %d of X is empty", i);
        int64_t     adj = p->n_output_padding >= 0 ? p->output_padding[i] : 0;
        int64_t     full = geom->stride[i] * (geom->in[i] - 1) + adj + (geom->kernel[i] - 1) * geom->dilation[i] + 1;
        ei_auto_pad ap = p->win.auto_pad;
        if (oshape || ap == EI_AUTO_PAD_SAME_UPPER || ap == EI_AUTO_PAD_SAME_LOWER) {
            /* A requested output_shape beyond the full extent leaves the extra positions at the bias;
             * SAME asks for in * stride but, as in ORT, never grows beyond the full extent. */
            geom->out[i] = oshape ? oshape[i] : geom->in[i] * geom->stride[i];
            if (!oshape && geom->out[i] > full) geom->out[i] = full;
            /* As ORT: at most what an output_padding below the stride could add. */
            int64_t most = full - adj + geom->stride[i] - 1;
            if (geom->out[i] > most)
                return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                                      "output_shape[%d] = %lld exceeds %lld, the largest size this input, kernel and "
                                      "stride produce",
                                      i, (long long)geom->out[i], (long long)most);
            int64_t total = full > geom->out[i] ? full - geom->out[i] : 0;
            geom->pad_begin[i] = ap == EI_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            geom->pad_end[i] = total - geom->pad_begin[i];
        } else {
            if (ap == EI_AUTO_PAD_VALID) geom->pad_begin[i] = geom->pad_end[i] = 0;
            geom->out[i] = full - geom->pad_begin[i] - geom->pad_end[i];
        }
        if (geom->out[i] < 1)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "output size on spatial axis %d would be %lld", i,
                                  (long long)geom->out[i]);
    }
    return NULL;
}

static ei_status * convt_infer(ei_graph * gr, ei_node * node) {
    if (!node->params) EI_TRY(convt_import(node));
    for (int32_t k = 0; k < 3; k++)
        EI_TRY(k == 1 ? ei_half_check_weight(gr, node, k)
                      : ei_op_check_dtype(gr, node, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(gr, node, 0);
    const ei_value * w = ei_node_input(gr, node, 1);
    const ei_value * b = ei_node_input(gr, node, 2);
    ei_window_geom   geom;
    EI_TRY(convt_geometry(node, &x->shape, &w->shape, b ? &b->shape : NULL, &geom));
    const convt_params * p = node->params;
    ei_shape             ys = x->shape;
    ys.dim[1] = w->shape.dim[1] * p->group;
    for (int32_t i = 0; i < geom.nsp; i++) ys.dim[2 + i] = geom.out[i];
    EI_TRY(ei_fused_check_residual(gr, node, &p->fused, 3, &ys));
    ei_op_set_output(gr, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

typedef struct col2im_job {
    const ei_window_geom * g;
    const float *          col; /* rows (output channel, kernel tap), columns input pixels [q0, q1) */
    float *                y;   /* the group's first output channel */
    int64_t                q0, q1, kprod, pout;
} col2im_job;

/* Output channels [m0, m1): each owns its output plane, so workers never write the same element. */
static void col2im_channels(void * ctx, int64_t m0, int64_t m1) {
    const col2im_job *     j = ctx;
    const ei_window_geom * g = j->g;
    int32_t                last = g->nsp - 1;
    int64_t                out_stride[EI_MAX_SPATIAL], iw_n = g->in[last], qn = j->q1 - j->q0;
    out_stride[last] = 1;
    for (int32_t d = last - 1; d >= 0; d--) out_stride[d] = out_stride[d + 1] * g->out[d + 1];
    for (int64_t m = m0; m < m1; m++) {
        float * ym = j->y + m * j->pout;
        for (int64_t t = 0; t < j->kprod; t++) {
            int64_t tap[EI_MAX_SPATIAL], rem = t;
            for (int32_t d = last; d >= 0; d--) {
                tap[d] = rem % g->kernel[d];
                rem /= g->kernel[d];
            }
            const float * src = j->col + (m * j->kprod + t) * qn;
            int64_t       off = tap[last] * g->dilation[last] - g->pad_begin[last], s = g->stride[last], lo, hi;
            ei_window_valid_range(off, s, g->out[last], iw_n, &lo, &hi);
            int64_t line = j->q0 / iw_n, i[EI_MAX_SPATIAL];
            for (int32_t d = last - 1; d >= 0; d--) {
                i[d] = line % g->in[d];
                line /= g->in[d];
            }
            int64_t q = j->q0, iw0 = j->q0 % iw_n;
            while (q < j->q1) {
                int64_t iw1 = iw0 + (j->q1 - q) < iw_n ? iw0 + (j->q1 - q) : iw_n;
                bool    inside = true;
                int64_t base = 0;
                for (int32_t d = 0; d < last; d++) {
                    int64_t o = i[d] * g->stride[d] - g->pad_begin[d] + tap[d] * g->dilation[d];
                    if (o < 0 || o >= g->out[d]) inside = false;
                    base += o * out_stride[d];
                }
                int64_t a = lo < iw0 ? iw0 : lo, b = hi > iw1 ? iw1 : hi;
                if (inside && a < b) {
                    /* Indices, not offset pointers: base + off alone may point before the plane. */
                    float * yd = ym + base + off + a * s;
                    for (int64_t iw = a; iw < b; iw++, yd += s) *yd += src[iw - iw0];
                }
                src += iw1 - iw0;
                q += iw1 - iw0;
                iw0 = 0;
                for (int32_t d = last - 1; d >= 0; d--) {
                    if (++i[d] < g->in[d]) break;
                    i[d] = 0;
                }
            }
        }
    }
}

static ei_status * convt_run_plain(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                   const ei_exec * ex) {
    const ei_tensor *X = in[0], *W = in[1], *B = in[2];
    ei_window_geom   geom;
    EI_TRY(convt_geometry(node, &X->shape, &W->shape, B ? &B->shape : NULL, &geom));
    const convt_params * p = node->params;
    const float *        x = X->data;
    const float *        w = W->data;
    const float *        b = B ? B->data : NULL;
    float *              y = out[0]->data;
    int64_t n = X->shape.dim[0], c = X->shape.dim[1], groups = p->group, cg = c / groups, mg = W->shape.dim[1];
    int64_t m = mg * groups, kprod = ei_dims_product(geom.kernel, geom.nsp), kdim = mg * kprod;
    int64_t pin = ei_dims_product(geom.in, geom.nsp), pout = ei_dims_product(geom.out, geom.nsp);
    if (n * m * pout == 0) return NULL;
    memset(y, 0, (size_t)(n * m * pout) * sizeof *y);
    if (kdim > 0 && cg > 0) {
        int64_t chunk = CONVT_COL_BUDGET / kdim, min_chunk = pin < 64 ? pin : 64;
        if (chunk < min_chunk) chunk = min_chunk;
        if (chunk > pin) chunk = pin;
        float * col = malloc((size_t)(kdim * chunk) * sizeof *col);
        if (!col)
            return ei_node_errorf(node, EI_CODE_OUT_OF_MEMORY, "no memory for %lld floats of col2im scratch",
                                  (long long)(kdim * chunk));
        for (int64_t ni = 0; ni < n; ni++) {
            for (int64_t gi = 0; gi < groups; gi++) {
                const float * xg = x + (ni * c + gi * cg) * pin;
                const float * wg = w + gi * cg * kdim;
                float *       yg = y + (ni * m + gi * mg) * pout;
                for (int64_t q0 = 0; q0 < pin; q0 += chunk) {
                    int64_t q1 = q0 + chunk < pin ? q0 + chunk : pin, qn = q1 - q0;
                    ei_sgemm(ex->pool, true, false, kdim, qn, cg, 1.0f, wg, kdim, xg + q0, pin, 0.0f, col, qn);
                    col2im_job j = {&geom, col, yg, q0, q1, kprod, pout};
                    ei_parallel_for(ex->pool, mg, ei_grain((double)kprod * (double)qn), col2im_channels, &j);
                }
            }
        }
        free(col);
    }
    if (b) {
        for (int64_t ni = 0; ni < n; ni++)
            for (int64_t mi = 0; mi < m; mi++) {
                float * ym = y + (ni * m + mi) * pout;
                for (int64_t i = 0; i < pout; i++) ym[i] += b[mi];
            }
    }
    return NULL;
}

static ei_status * convt_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    EI_TRY(convt_run_plain(node, in, out, ex));
    const convt_params * p = node->params;
    ei_fused_finish(&p->fused, p->fused.residual ? in[3] : NULL, out[0], ex->pool);
    return NULL;
}

/* Weights of a bf16 / fp16 engine are widened per run (src/quant/half.h). */
static ei_status * convt_run_entry(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                   const ei_exec * ex) {
    if (ei_half_needed(node, in, 1)) return ei_half_run(convt_run, 1, node, in, out, ex);
    return convt_run(node, in, out, ex);
}

static int64_t convt_macs(const ei_graph * gr, const ei_node * node) {
    const ei_value * x = ei_node_input(gr, node, 0);
    const ei_value * w = ei_node_input(gr, node, 1);
    if (!x || !w || w->shape.rank < 2) return 0;
    /* Every input element meets (output channels per group x kernel elements) weights; counting
     * output elements instead would include the zeros a stride inserts. */
    return ei_shape_numel(&x->shape) * ei_dims_product(w->shape.dim + 1, w->shape.rank - 1);
}

const ei_op_def ei_op_def_CONV_TRANSPOSE = {
    .name = "ConvTranspose",
    .in_min = 2,
    .in_max = 4, /* 4: the ei.residual input */
    .out_min = 1,
    .out_max = 1,
    .import = convt_import,
    .infer = convt_infer,
    .run = convt_run_entry,
    .macs = convt_macs,
};
