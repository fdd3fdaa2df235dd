/* Identity and Dropout (inference: the data passes through unchanged and the optional mask is all
 * true). Training-mode Dropout with a nonzero ratio is random and refused. */
#include <string.h>

#include "ops/eltwise.h"

static ei_status * identity_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    if (!x) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 0 is required");
    ei_op_set_output(g, n, 0, x->dtype, &x->shape);
    return NULL;
}

static ei_status * identity_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                const ei_exec * ex) {
    (void)node;
    (void)ex;
    /* The memory plan may give the output the input's own bytes (runtime/memplan.h). */
    if (out[0]->nbytes && out[0]->data != in[0]->data) memcpy(out[0]->data, in[0]->data, out[0]->nbytes);
    return NULL;
}

const ei_op_def ei_op_def_IDENTITY = {.name = "Identity",
                                      .in_min = 1,
                                      .in_max = 1,
                                      .out_min = 1,
                                      .out_max = 1,
                                      .infer = identity_infer,
                                      .run = identity_run};

/* Dropout-12 takes ratio (default 0.5) and training_mode (default false) as inputs; earlier
 * versions had attributes that only matter in training. The mask is bool from opset 10, the data
 * dtype before. */
static bool dropout_training_const(const ei_graph * g, const ei_node * n, bool * training, double * ratio) {
    const ei_tensor * tm = n->n_inputs > 2 ? ei_node_input_const(g, n, 2) : NULL;
    const ei_tensor * r = n->n_inputs > 1 ? ei_node_input_const(g, n, 1) : NULL;
    *training = false;
    *ratio = 0.5;
    if (n->n_inputs > 2 && ei_node_input(g, n, 2) && !tm) return false;
    if (n->n_inputs > 1 && ei_node_input(g, n, 1) && !r) return false;
    if (tm) *training = ei_tensor_get_i64(tm, 0) != 0;
    if (r) *ratio = ei_tensor_get_f64(r, 0);
    return true;
}

static ei_status * dropout_infer(ei_graph * g, ei_node * n) {
    EI_TRY(identity_infer(g, n));
    const ei_value * x = ei_node_input(g, n, 0);
    if (n->opset >= 12) {
        const ei_value * r = n->n_inputs > 1 ? ei_node_input(g, n, 1) : NULL;
        const ei_value * t = n->n_inputs > 2 ? ei_node_input(g, n, 2) : NULL;
        if (r && (!ei_dtype_is_float(r->dtype) || ei_shape_numel(&r->shape) != 1))
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 1 ('%s', ratio) must be a float scalar", r->name);
        if (t && (t->dtype != EI_DTYPE_BOOL || ei_shape_numel(&t->shape) != 1))
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 2 ('%s', training_mode) must be a bool scalar",
                                  t->name);
        bool   training;
        double ratio;
        if (dropout_training_const(g, n, &training, &ratio) && training && ratio != 0)
            return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "training-mode Dropout (random masking) is not supported");
    }
    ei_op_set_output(g, n, 1, n->opset >= 10 ? EI_DTYPE_BOOL : x->dtype, &x->shape);
    return NULL;
}

static ei_status * dropout_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                               const ei_exec * ex) {
    if (node->opset >= 12 && node->n_inputs > 2 && in[2] && ((const uint8_t *)in[2]->data)[0]) {
        double ratio = node->n_inputs > 1 && in[1] ? ei_tensor_get_f64(in[1], 0) : 0.5;
        if (ratio != 0)
            return ei_node_errorf(node, EI_CODE_UNSUPPORTED, "training-mode Dropout (random masking) is not supported");
    }
    EI_TRY(identity_run(node, in, out, ex));
    ei_tensor * mask = node->n_outputs > 1 ? out[1] : NULL;
    if (!mask) return NULL;
    int64_t n = ei_shape_numel(&mask->shape);
    if (mask->dtype == EI_DTYPE_BOOL) {
        if (n) memset(mask->data, 1, (size_t)n);
        return NULL;
    }
    uint8_t one_b = 1;
    union {
        uint8_t b[8];
        double  align;
    } one;
    size_t es = ei_dtype_size(mask->dtype);
    ei_ew_convert(&one_b, EI_DTYPE_BOOL, one.b, mask->dtype, 1);
    for (int64_t i = 0; i < n; i++) memcpy((char *)mask->data + (size_t)i * es, one.b, es);
    return NULL;
}

const ei_op_def ei_op_def_DROPOUT = {.name = "Dropout",
                                     .in_min = 1,
                                     .in_max = 3,
                                     .out_min = 1,
                                     .out_max = 2,
                                     .infer = dropout_infer,
                                     .run = dropout_run};
