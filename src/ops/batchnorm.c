/* BatchNormalization, inference mode only (opsets 9, 14, 15), float32. Training mode (the
 * training_mode attribute from opset 14, extra outputs before it) is refused as unsupported.
 * Folded per channel into y = x * a + b the way ORT does, so results match it to the last bits. */
#include <math.h>
#include <stdlib.h>

#include "ops/op.h"

typedef struct bn_params {
    float epsilon;
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
    if (!st && (training != 0 || (node->opset < 14 && extra_outputs)))
        st = ei_node_errorf(node, EI_CODE_UNSUPPORTED,
                            "training mode (batch statistics and running mean/var outputs) is not supported");
    if (!st && extra_outputs)
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "running mean/var outputs exist only in training mode");
    if (!st && !(p->epsilon >= 0.0f && isfinite(p->epsilon)))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "epsilon = %g; must be finite and >= 0", (double)p->epsilon);
    if (st) {
        free(p);
        return st;
    }
    free(node->params);
    node->params = p;
    return NULL;
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
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input %s has shape %s; expected [%lld] for %lld channels",
                                  names[k], ei_shape_format(&v->shape, buf, sizeof buf), (long long)c, (long long)c);
    }
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &x->shape);
    return NULL;
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
    bn_job j = {X->data, in[1]->data, in[2]->data, in[3]->data, in[4]->data, out[0]->data, p->epsilon,
                X->shape.dim[1], plane};
    ei_parallel_for(ex->pool, X->shape.dim[0] * X->shape.dim[1], plane >= 32768 ? 1 : 1 + 32768 / (plane + 1), bn_planes, &j);
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
