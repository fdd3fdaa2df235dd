/* Softmax and LogSoftmax, float32. Before opset 13 the input is coerced to 2-D at `axis` (default
 * 1) and each row of the flattened trailing dims is normalised; from 13 the op runs along the
 * single dim `axis` (default -1). Both become [outer, n, inner] with the reduction over n.
 * Numerically stable: the maximum is subtracted before exponentiation, as ORT does. Rows along
 * the last axis take the AVX2 kernel (ei_vec_softmax: exp polynomial, relative error <= 3e-7). */
#include <math.h>
#include <stdlib.h>

#include "cpu/vmath.h"
#include "ops/op.h"

typedef struct softmax_params {
    int64_t axis;
    bool    coerce_2d; /* opset < 13 */
    bool    log;
} softmax_params;

static ei_status * softmax_import_common(ei_node * node, bool log) {
    softmax_params * p = malloc(sizeof *p);
    if (!p) return ei_status_oom();
    p->coerce_2d = node->opset < 13;
    p->log = log;
    ei_status * st = ei_attr_get_int(node, "axis", p->coerce_2d ? 1 : -1, &p->axis);
    return ei_op_install_params(node, p, st);
}

static ei_status * softmax_import(ei_node * node) { return softmax_import_common(node, false); }
static ei_status * log_softmax_import(ei_node * node) { return softmax_import_common(node, true); }

/* outer x n x inner view of shape s. */
static ei_status * softmax_view(const ei_node * node, const softmax_params * p, const ei_shape * s, int64_t * outer,
                                int64_t * n, int64_t * inner) {
    int32_t axis;
    EI_TRY(ei_op_axis(node, p->axis, s->rank, &axis));
    *outer = *n = *inner = 1;
    for (int32_t d = 0; d < s->rank; d++) {
        if (d < axis)
            *outer *= s->dim[d];
        else if (d == axis || p->coerce_2d)
            *n *= s->dim[d];
        else
            *inner *= s->dim[d];
    }
    return NULL;
}

static ei_status * softmax_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(softmax_import_common(node, node->def == &ei_op_def_LOG_SOFTMAX));
    EI_TRY(ei_op_check_dtype(g, node, 0, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, node, 0);
    if (!x) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input is required");
    int64_t outer, n, inner;
    EI_TRY(softmax_view(node, node->params, &x->shape, &outer, &n, &inner));
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &x->shape);
    return NULL;
}

typedef struct softmax_job {
    const float * x;
    float *       y;
    int64_t       n, inner;
    bool          log;
    float *       scratch;  /* 2 * inner floats per outer index when inner > 1 */
    int64_t       chunk;    /* columns per task when inner > 1 */
    int64_t       n_chunks; /* tasks per outer index */
} softmax_job;

/* Contiguous rows (inner == 1): the vectorised row kernel of src/cpu/vmath.c. */
static void softmax_rows(void * ctx, int64_t r0, int64_t r1) {
    const softmax_job * j = ctx;
    for (int64_t r = r0; r < r1; r++) ei_vec_softmax(j->x + r * j->n, j->y + r * j->n, j->n, j->log);
}

/* Strided reduction (inner > 1): each pass walks rows of contiguous elements, keeping the running
 * max and sum of every column in scratch. Task t is a chunk of columns of one outer index, so that
 * a single outer index (softmax over channels) still spreads over the pool. */
static void softmax_planes(void * ctx, int64_t t0, int64_t t1) {
    const softmax_job * j = ctx;
    const int64_t       n = j->n, inner = j->inner, nch = j->n_chunks;
    for (int64_t t = t0; t < t1; t++) {
        int64_t       o = t / nch, c0 = (t % nch) * j->chunk;
        int64_t       w = inner - c0 < j->chunk ? inner - c0 : j->chunk;
        const float * x = j->x + o * n * inner + c0;
        float *       y = j->y + o * n * inner + c0;
        float *       mx = j->scratch + o * 2 * inner + c0;
        float *       sum = mx + inner;
        for (int64_t c = 0; c < w; c++) {
            mx[c] = -INFINITY;
            sum[c] = 0.0f;
        }
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < w; c++) mx[c] = x[i * inner + c] > mx[c] ? x[i * inner + c] : mx[c];
        for (int64_t i = 0; i < n; i++) {
            for (int64_t c = 0; c < w; c++) {
                float e = expf(x[i * inner + c] - mx[c]);
                sum[c] += e;
                if (!j->log) y[i * inner + c] = e;
            }
        }
        if (j->log) {
            for (int64_t c = 0; c < w; c++) sum[c] = logf(sum[c]);
            for (int64_t i = 0; i < n; i++)
                for (int64_t c = 0; c < w; c++) y[i * inner + c] = (x[i * inner + c] - mx[c]) - sum[c];
        } else {
            for (int64_t c = 0; c < w; c++) sum[c] = 1.0f / sum[c];
            for (int64_t i = 0; i < n; i++)
                for (int64_t c = 0; c < w; c++) y[i * inner + c] *= sum[c];
        }
    }
}

static ei_status * softmax_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                               const ei_exec * ex) {
    const softmax_params * p = node->params;
    int64_t                outer, n, inner;
    EI_TRY(softmax_view(node, p, &in[0]->shape, &outer, &n, &inner));
    if (outer * n * inner == 0) return NULL;
    softmax_job j = {in[0]->data, out[0]->data, n, inner, p->log, NULL, inner, 1};
    int64_t     grain = 1 + 16384 / (n * inner);
    if (inner == 1) {
        ei_parallel_for(ex->pool, outer, grain, softmax_rows, &j);
        return NULL;
    }
    j.scratch = malloc((size_t)(outer * 2 * inner) * sizeof(float));
    if (!j.scratch) return ei_status_oom();
    if (outer < 16 && inner > 2048) j.chunk = 1024;
    j.n_chunks = (inner + j.chunk - 1) / j.chunk;
    ei_parallel_for(ex->pool, outer * j.n_chunks, 1 + 16384 / (n * j.chunk), softmax_planes, &j);
    free(j.scratch);
    return NULL;
}

const ei_op_def ei_op_def_SOFTMAX = {
    .name = "Softmax",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = softmax_import,
    .infer = softmax_infer,
    .run = softmax_run,
};

const ei_op_def ei_op_def_LOG_SOFTMAX = {
    .name = "LogSoftmax",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = log_softmax_import,
    .infer = softmax_infer,
    .run = softmax_run,
};
