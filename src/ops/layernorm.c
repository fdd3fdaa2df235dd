/* LayerNormalization (opset 17), float32 with stash_type 1: every row of the dims from `axis` on is
 * standardised (two passes: mean, then mean squared deviation) and scaled and shifted by Scale and
 * B, which broadcast unidirectionally to X. Optional outputs Mean and InvStdDev have X's shape with
 * the normalised dims set to 1. Rows with contiguous Scale/B take the AVX2 row kernel
 * (ei_vec_layernorm). */
#include <math.h>
#include <stdlib.h>

#include "cpu/vmath.h"
#include "ops/op.h"

typedef struct ln_params {
    int64_t axis;
    float   epsilon;
} ln_params;

static ei_status * ln_import(ei_node * node) {
    int64_t axis = -1, stash = 1;
    float   eps = 1e-5f;
    EI_TRY(ei_attr_get_int(node, "axis", -1, &axis));
    EI_TRY(ei_attr_get_float(node, "epsilon", 1e-5f, &eps));
    EI_TRY(ei_attr_get_int(node, "stash_type", 1, &stash));
    if (stash != 1)
        return ei_node_errorf(node, EI_CODE_UNSUPPORTED, "stash_type %lld is not supported (only 1, float32)",
                              (long long)stash);
    if (!(eps >= 0.0f) || !isfinite(eps))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "epsilon = %g; must be finite and >= 0", (double)eps);
    ln_params * p = malloc(sizeof *p);
    if (!p) return ei_status_oom();
    *p = (ln_params){axis, eps};
    return ei_op_install_params(node, p, NULL);
}

static ei_status * ln_check_param(const ei_graph * g, const ei_node * node, int32_t k, const ei_shape * xs) {
    const ei_value * v = ei_node_input(g, node, k);
    if (!v) return NULL;
    bool ok = v->shape.rank <= xs->rank;
    for (int32_t d = 0; ok && d < v->shape.rank; d++) {
        int64_t want = xs->dim[xs->rank - v->shape.rank + d];
        ok = v->shape.dim[d] == want || v->shape.dim[d] == 1;
    }
    char a[128], b[128];
    if (!ok)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "%s has shape %s, which does not broadcast to X's %s",
                              k == 1 ? "Scale" : "B", ei_shape_format(&v->shape, a, sizeof a),
                              ei_shape_format(xs, b, sizeof b));
    return NULL;
}

static ei_status * ln_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(ln_import(node));
    const ln_params * p = node->params;
    for (int32_t k = 0; k < 3; k++) EI_TRY(ei_op_check_dtype(g, node, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, node, 0);
    if (!x || !ei_node_input(g, node, 1))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "inputs X and Scale are required");
    int32_t axis;
    if (x->shape.rank == 0) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "X must have rank >= 1");
    EI_TRY(ei_op_axis(node, p->axis, x->shape.rank, &axis));
    EI_TRY(ln_check_param(g, node, 1, &x->shape));
    EI_TRY(ln_check_param(g, node, 2, &x->shape));
    ei_shape stat = x->shape;
    for (int32_t d = axis; d < stat.rank; d++) stat.dim[d] = 1;
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &x->shape);
    ei_op_set_output(g, node, 1, EI_DTYPE_F32, &stat);
    ei_op_set_output(g, node, 2, EI_DTYPE_F32, &stat);
    return NULL;
}

typedef struct ln_job {
    const float * x;
    const float * scale;
    const float * bias;
    float *       y;
    float *       mean_out;
    float *       inv_out;
    int64_t       n; /* normalised elements per row */
    float         eps;
    int32_t       axis;
    ei_shape      xs;
    int64_t       s_stride[EI_MAX_RANK], b_stride[EI_MAX_RANK]; /* broadcast strides over X */
    /* Within a row, Scale/B are either contiguous (the usual case) or read through offsets. */
    const int64_t * s_off;
    const int64_t * b_off;
} ln_job;

/* Offset of the row's first Scale/B element (outer dims only). */
static int64_t ln_row_base(const ln_job * j, const int64_t * stride, int64_t r) {
    int64_t off = 0;
    for (int32_t d = j->axis - 1; d >= 0; d--) {
        off += (r % j->xs.dim[d]) * stride[d];
        r /= j->xs.dim[d];
    }
    return off;
}

static void ln_rows(void * ctx, int64_t r0, int64_t r1) {
    const ln_job * j = ctx;
    const int64_t  n = j->n;
    for (int64_t r = r0; r < r1; r++) {
        const float * x = j->x + r * n;
        float *       y = j->y + r * n;
        const float * s = j->scale + ln_row_base(j, j->s_stride, r);
        const float * b = j->bias ? j->bias + ln_row_base(j, j->b_stride, r) : NULL;
        if (!j->s_off && !j->b_off) {
            /* Scale and B contiguous over the row (the usual case): the vectorised row kernel. */
            ei_vec_layernorm(x, y, n, s, b, j->eps, j->mean_out ? j->mean_out + r : NULL,
                             j->inv_out ? j->inv_out + r : NULL);
            continue;
        }
        float sum = 0.0f;
        for (int64_t i = 0; i < n; i++) sum += x[i];
        float mean = sum / (float)n, sq = 0.0f;
        for (int64_t i = 0; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
        float inv = 1.0f / sqrtf(sq / (float)n + j->eps);
        if (j->mean_out) j->mean_out[r] = mean;
        if (j->inv_out) j->inv_out[r] = inv;
        for (int64_t i = 0; i < n; i++) {
            float v = (x[i] - mean) * inv * s[j->s_off ? j->s_off[i] : i];
            y[i] = b ? v + b[j->b_off ? j->b_off[i] : i] : v;
        }
    }
}

/* Offsets within a row of a broadcast parameter, or NULL (and *dense) when they are 0..n-1. */
static ei_status * ln_offsets(const ln_job * j, const int64_t * stride, int64_t ** out) {
    *out = NULL;
    int64_t own = 1;
    bool    dense = true;
    for (int32_t d = j->xs.rank - 1; d >= j->axis; d--) {
        if (stride[d] != own && j->xs.dim[d] != 1) dense = false;
        own *= j->xs.dim[d];
    }
    if (dense) return NULL;
    int64_t * off = malloc((size_t)j->n * sizeof(int64_t));
    if (!off) return ei_status_oom();
    int64_t idx[EI_MAX_RANK] = {0}, cur = 0;
    for (int64_t i = 0; i < j->n; i++) {
        off[i] = cur;
        for (int32_t d = j->xs.rank - 1; d >= j->axis; d--) {
            cur += stride[d];
            if (++idx[d] < j->xs.dim[d]) break;
            cur -= stride[d] * idx[d];
            idx[d] = 0;
        }
    }
    *out = off;
    return NULL;
}

static ei_status * ln_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex) {
    const ln_params * p = node->params;
    ln_job            j = {0};
    j.xs = in[0]->shape;
    EI_TRY(ei_op_axis(node, p->axis, j.xs.rank, &j.axis));
    j.x = in[0]->data;
    j.scale = in[1]->data;
    j.bias = node->n_inputs > 2 && in[2] ? in[2]->data : NULL;
    j.y = out[0]->data;
    j.mean_out = node->n_outputs > 1 && out[1] ? out[1]->data : NULL;
    j.inv_out = node->n_outputs > 2 && out[2] ? out[2]->data : NULL;
    j.eps = p->epsilon;
    j.n = 1;
    for (int32_t d = j.axis; d < j.xs.rank; d++) j.n *= j.xs.dim[d];
    int64_t rows = j.n ? ei_shape_numel(&j.xs) / j.n : 0;
    if (j.n == 0) {
        /* No elements to normalise: statistics of an empty set. */
        for (int64_t r = 0; j.mean_out && r < ei_tensor_numel(out[1]); r++) j.mean_out[r] = NAN;
        for (int64_t r = 0; j.inv_out && r < ei_tensor_numel(out[2]); r++) j.inv_out[r] = NAN;
        return NULL;
    }
    ei_shape_broadcast_strides(&in[1]->shape, &j.xs, j.s_stride);
    if (j.bias) ei_shape_broadcast_strides(&in[2]->shape, &j.xs, j.b_stride);
    int64_t *   s_off = NULL, *b_off = NULL;
    ei_status * st = ln_offsets(&j, j.s_stride, &s_off);
    if (!st && j.bias) st = ln_offsets(&j, j.b_stride, &b_off);
    if (!st) {
        j.s_off = s_off;
        j.b_off = b_off;
        ei_parallel_for(ex->pool, rows, 1 + 8192 / j.n, ln_rows, &j);
    }
    free(s_off);
    free(b_off);
    return st;
}

const ei_op_def ei_op_def_LAYER_NORMALIZATION = {
    .name = "LayerNormalization",
    .in_min = 2,
    .in_max = 3,
    .out_min = 1,
    .out_max = 3,
    .import = ln_import,
    .infer = ln_infer,
    .run = ln_run,
};
