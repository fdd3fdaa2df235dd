#include "ops/fused_apply.h"

ei_status * ei_fused_check_residual(const ei_graph * g, const ei_node * node, const ei_fused * f, int32_t k,
                                    const ei_shape * ys) {
    char a[128], b[128];
    if (!f->residual) {
        if (node->n_inputs > k)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "has %d inputs; at most %d without ei.residual",
                                  node->n_inputs, k);
        return NULL;
    }
    const ei_value * r = ei_node_input(g, node, k);
    if (node->n_inputs != k + 1 || !r)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "ei.residual needs input %d (the residual)", k);
    if (r->dtype != EI_DTYPE_F32 || !ei_shape_equal(&r->shape, ys))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "residual input %s %s must be float32 of the output shape %s", r->name,
                              ei_shape_format(&r->shape, a, sizeof a), ei_shape_format(ys, b, sizeof b));
    return NULL;
}

void ei_fused_finish(const ei_fused * f, const ei_tensor * r, ei_tensor * y) {
    int64_t n = ei_shape_numel(&y->shape);
    float * yd = y->data;
    if (f->residual && r) {
        const float * rd = r->data;
        for (int64_t i = 0; i < n; i++) yd[i] += rd[i];
    }
    ei_fused_act_apply(f, yd, n);
}
