/* Expand and Tile: replicated copies, both expressed as strided copies with zero strides (Tile
 * views each output axis of length r*d as an (r, d) pair whose r part has stride 0), so
 * contiguous runs of the input are still copied with memcpy. */
#include <string.h>

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

/* ---- Expand ---- */

static ei_status * expand_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int64_t          dims[EI_SHP_MAX_INTS];
    int32_t          count;
    EI_TRY(ei_op_const_ints(g, n, 1, dims, EI_SHP_MAX_INTS, &count));
    if (count < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "the shape input is missing");
    if (count > EI_MAX_RANK)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "shape has rank %d; at most %d is supported", count, EI_MAX_RANK);
    for (int32_t i = 0; i < count; i++)
        if (dims[i] < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "shape[%d] is %lld", i, (long long)dims[i]);
    ei_shape want = ei_shape_make(count, dims), s;
    EI_TRY(ei_op_broadcast(n, &x->shape, &want, &s));
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * expand_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                              const ei_exec * ex) {
    (void)n;
    int64_t strides[EI_MAX_RANK];
    ei_shape_broadcast_strides(&in[0]->shape, &out[0]->shape, strides);
    ei_dm_strided_copy(out[0]->data, in[0]->data, ei_dtype_size(in[0]->dtype), out[0]->shape.rank, out[0]->shape.dim,
                       strides, ex->pool);
    return NULL;
}

const ei_op_def ei_op_def_EXPAND = {
    .name = "Expand",
    .in_min = 2,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .infer = expand_infer,
    .run = expand_run,
};

/* ---- Tile ---- */

static ei_status * tile_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int64_t          reps[EI_SHP_MAX_INTS];
    int32_t          count;
    EI_TRY(ei_op_const_ints(g, n, 1, reps, EI_SHP_MAX_INTS, &count));
    if (count != x->shape.rank)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "repeats has %d values but the input has rank %d", count,
                              x->shape.rank);
    ei_shape s = x->shape;
    for (int32_t i = 0; i < count; i++) {
        if (reps[i] < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "repeats[%d] is %lld", i, (long long)reps[i]);
        if (s.dim[i] && reps[i] > INT64_MAX / s.dim[i])
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "repeats[%d] = %lld overflows the output size", i,
                                  (long long)reps[i]);
        s.dim[i] *= reps[i];
    }
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * tile_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    (void)n;
    const ei_shape * is = &in[0]->shape;
    int64_t          in_strides[EI_MAX_RANK], dims[EI_DM_MAX_RANK], strides[EI_DM_MAX_RANK];
    int32_t          r = 0;
    if (ei_tensor_numel(out[0]) == 0) return NULL;
    ei_shape_strides(is, in_strides);
    for (int32_t k = 0; k < is->rank; k++) {
        dims[r] = out[0]->shape.dim[k] / is->dim[k]; /* the repeat count */
        strides[r++] = 0;
        dims[r] = is->dim[k];
        strides[r++] = in_strides[k];
    }
    ei_dm_strided_copy(out[0]->data, in[0]->data, ei_dtype_size(in[0]->dtype), r, dims, strides, ex->pool);
    return NULL;
}

const ei_op_def ei_op_def_TILE = {
    .name = "Tile",
    .in_min = 2,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .infer = tile_infer,
    .run = tile_run,
};
