/* Transpose: a permuted copy. The copy kernel merges axes that stay adjacent, so NCHW<->NHWC
 * ([0,2,3,1], [0,3,1,2]) and 2-D transposes run as blocked batched matrix transposes. */
#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

typedef struct transpose_params {
    int32_t n_perm; /* -1: reverse the axes */
    int64_t perm[EI_MAX_RANK];
} transpose_params;

static ei_status * transpose_import(ei_node * n) {
    transpose_params * p;
    EI_TRY(ei_shp_params(n, sizeof *p, (void **)&p));
    const int64_t * perm;
    EI_TRY(ei_attr_get_ints(n, "perm", &perm, &p->n_perm));
    if (p->n_perm > EI_MAX_RANK)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "perm has %d entries; at most rank %d is supported", p->n_perm,
                              EI_MAX_RANK);
    for (int32_t i = 0; i < p->n_perm; i++) p->perm[i] = perm[i];
    return NULL;
}

static ei_status * resolve_perm(const ei_node * n, int32_t rank, int32_t * perm) {
    const transpose_params * p = n->params;
    if (p->n_perm < 0) {
        for (int32_t i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return NULL;
    }
    if (p->n_perm != rank)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "perm has %d entries but the input has rank %d", p->n_perm,
                              rank);
    return ei_shp_axes(n, "perm", p->perm, rank, rank, perm);
}

static ei_status * transpose_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int32_t          perm[EI_MAX_RANK];
    EI_TRY(resolve_perm(n, x->shape.rank, perm));
    ei_shape s = x->shape;
    for (int32_t i = 0; i < s.rank; i++) s.dim[i] = x->shape.dim[perm[i]];
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * transpose_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                                 const ei_exec * ex) {
    int32_t perm[EI_MAX_RANK];
    EI_TRY(resolve_perm(n, in[0]->shape.rank, perm));
    ei_dm_transpose(out[0]->data, in[0]->data, ei_dtype_size(in[0]->dtype), in[0]->shape.rank, in[0]->shape.dim, perm,
                    ex->pool);
    return NULL;
}

const ei_op_def ei_op_def_TRANSPOSE = {
    .name = "Transpose",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = transpose_import,
    .infer = transpose_infer,
    .run = transpose_run,
};
