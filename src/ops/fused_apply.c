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

typedef struct finish_job {
    const ei_fused * f;
    const float *    r;
    float *          y;
} finish_job;

static void finish_range(void * ctx, int64_t b, int64_t e) {
    const finish_job * j = ctx;
    if (j->r)
        for (int64_t i = b; i < e; i++) j->y[i] += j->r[i];
    ei_fused_act_apply(j->f, j->y + b, e - b);
}

void ei_fused_finish(const ei_fused * f, const ei_tensor * r, ei_tensor * y, ei_threadpool * pool) {
    if (f->act == EI_ACT_NONE && !(f->residual && r)) return;
    finish_job j = {f, f->residual && r ? r->data : NULL, y->data};
    /* Chunks of 16K floats: big enough to amortise the hand-off, small enough to stay in L2. */
    ei_parallel_for(pool, ei_shape_numel(&y->shape), 16384, finish_range, &j);
}
