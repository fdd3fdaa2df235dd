/* BatchNormalization (opsets 9, 14, 15), float32. Inference mode is folded per channel into
 * y = x * a + b the way ORT does, so results match it to the last bits. Training mode
 * (training_mode = 1 from opset 14) normalises with the batch statistics and writes the updated
 * running mean/var; before opset 14 training mode (signalled by extra outputs) is refused. */
#include <math.h>
#include <stdlib.h>

#include "ops/op.h"

typedef struct bn_params {
    float epsilon;
    float momentum;
    bool  training;
} bn_params;

static ei_status * bn_import(ei_node * node) {
    bn_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    int64_t     training = 0;
    bool        extra_outputs = false;
    ei_status * st = ei_attr_get_float(node, "epsilon", 1e-5f, &p->epsilon);
    for (int32_t k = 1; k < node->n_outputs; k++)
        if (node->outputs[k] >= 0) extra_outputs = true;
    if (!st && node->opset >= 14) st = ei_attr_get_int(node, "training_mode", 0, &training);
    if (!st) st = ei_attr_get_float(node, "momentum", 0.9f, &p->momentum);
    p->training = training != 0;
    if (!st && node->opset < 14 && extra_outputs)
        st = ei_node_errorf(node, EI_CODE_UNSUPPORTED,
                            "training mode before opset 14 (mean/var/saved outputs) is not supported");
    if (!st && node->opset >= 14 && extra_outputs && !p->training)
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "running mean/var outputs exist only in training mode");
    if (!st && node->n_outputs > 3 && node->opset >= 14)
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "has %d outputs; at most 3 from opset 14", node->n_outputs);
    if (!st && !(p->epsilon >= 0.0f && isfinite(p->epsilon)))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "epsilon = %g; must be finite and >= 0", (double)p->epsilon);
    return ei_op_install_params(node, p, st);
}

static ei_status * bn_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(bn_import(node));
    static const char * const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int32_t k = 0; k < 5; k++) {
        if (!ei_node_input(g, node, k))
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input %s is required", names[k]);
        EI_TRY(ei_op_check_dtype(g, node, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    }
    const ei_value * x = ei_node_input(g, node, 0);
    char             buf[128];
    if (x->shape.rank < 2)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X has shape %s; expected N x C x ...",
                              ei_shape_format(&x->shape, buf, sizeof buf));
    int64_t c = x->shape.dim[1];
    for (int32_t k = 1; k < 5; k++) {
        const ei_value * v = ei_node_input(g, node, k);
        if (v->shape.rank != 1 || v->shape.dim[0] != c)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                                  "input %s has shape %s; expected [%lld] for %lld channels", names[k],
                                  ei_shape_format(&v->shape, buf, sizeof buf), (long long)c, (long long)c);
    }
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &x->shape);
    ei_shape cs = ei_shape_make(1, &c);
    ei_op_set_output(g, node, 1, EI_DTYPE_F32, &cs);
    ei_op_set_output(g, node, 2, EI_DTYPE_F32, &cs);
    return NULL;
}

/* Batch mean and population variance per channel, accumulated in double so that large batches
 * do not lose precision; then the running statistics update of the ONNX spec. */
static void bn_batch_stats(const ei_tensor * x, const bn_params * p, const float * run_mean, const float * run_var,
                           float * mean, float * var, ei_tensor * const * out) {
    int64_t n = x->shape.dim[0], c = x->shape.dim[1], plane = 1;
    for (int32_t d = 2; d < x->shape.rank; d++) plane *= x->shape.dim[d];
    const float * xd = x->data;
    double        count = (double)(n * plane);
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0, ss = 0;
        for (int64_t b = 0; b < n; b++) {
            const float * row = xd + (b * c + ch) * plane;
            for (int64_t i = 0; i < plane; i++) s += row[i];
        }
        double m = count > 0 ? s / count : 0;
        for (int64_t b = 0; b < n; b++) {
            const float * row = xd + (b * c + ch) * plane;
            for (int64_t i = 0; i < plane; i++) ss += (row[i] - m) * (row[i] - m);
        }
        mean[ch] = (float)m;
        var[ch] = count > 0 ? (float)(ss / count) : 0.0f;
        if (out[1]) ((float *)out[1]->data)[ch] = run_mean[ch] * p->momentum + mean[ch] * (1.0f - p->momentum);
        if (out[2]) ((float *)out[2]->data)[ch] = run_var[ch] * p->momentum + var[ch] * (1.0f - p->momentum);
    }
}

typedef struct bn_job {
    const float *x, *scale, *bias, *mean, *var;
    float *      y;
    float        eps;
    int64_t      c, plane;
} bn_job;

static void bn_planes(void * ctx, int64_t q0, int64_t q1) {
    const bn_job * j = ctx;
    for (int64_t q = q0; q < q1; q++) {
        int64_t       ch = q % j->c;
        float         a = (1.0f / sqrtf(j->var[ch] + j->eps)) * j->scale[ch];
        float         b = j->bias[ch] - j->mean[ch] * a;
        const float * x = j->x + q * j->plane;
        float *       y = j->y + q * j->plane;
        for (int64_t i = 0; i < j->plane; i++) y[i] = x[i] * a + b;
    }
}

static ei_status * bn_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex) {
    const bn_params * p = node->params;
    const ei_tensor * X = in[0];
    int64_t           plane = 1;
    for (int32_t d = 2; d < X->shape.rank; d++) plane *= X->shape.dim[d];
    const float *mean = in[3]->data, *var = in[4]->data;
    float *      stats = NULL;
    if (p->training) {
        stats = malloc(2 * (size_t)X->shape.dim[1] * sizeof(float) + 1);
        if (!stats) return ei_status_oom();
        bn_batch_stats(X, p, mean, var, stats, stats + X->shape.dim[1], out);
        mean = stats;
        var = stats + X->shape.dim[1];
    }
    bn_job j = {X->data, in[1]->data, in[2]->data, mean, var, out[0]->data, p->epsilon, X->shape.dim[1], plane};
    ei_parallel_for(ex->pool, X->shape.dim[0] * X->shape.dim[1], plane >= 32768 ? 1 : 1 + 32768 / (plane + 1),
                    bn_planes, &j);
    free(stats);
    return NULL;
}

const ei_op_def ei_op_def_BATCH_NORMALIZATION = {
    .name = "BatchNormalization",
    .in_min = 5,
    .in_max = 5,
    .out_min = 1,
    .out_max = 5,
    .import = bn_import,
    .infer = bn_infer,
    .run = bn_run,
};
