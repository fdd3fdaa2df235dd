/* Concat and Split: along one axis every input (output) owns a contiguous run of
 * dim[axis] * inner elements per outer index, so both are row copies with memcpy. */

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

static void outer_inner(const ei_shape * s, int32_t axis, int64_t * outer, int64_t * inner) {
    *outer = 1;
    *inner = 1;
    for (int32_t i = 0; i < axis; i++) *outer *= s->dim[i];
    for (int32_t i = axis + 1; i < s->rank; i++) *inner *= s->dim[i];
}

/* ---- Concat ---- */

static ei_status * concat_axis(const ei_node * n, int32_t rank, int32_t * axis) {
    int64_t a;
    if (!ei_node_attr(n, "axis") && n->opset >= 4)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'axis' is required");
    EI_TRY(ei_attr_get_int(n, "axis", 1, &a));
    if (rank < 1) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "cannot concatenate scalars");
    return ei_op_axis(n, a, rank, axis);
}

static ei_status * concat_infer(ei_graph * g, ei_node * n) {
    const ei_value * x0 = ei_node_input(g, n, 0);
    if (!x0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 0 is missing");
    int32_t axis;
    EI_TRY(concat_axis(n, x0->shape.rank, &axis));
    ei_shape s = x0->shape;
    s.dim[axis] = 0;
    for (int32_t k = 0; k < n->n_inputs; k++) {
        const ei_value * x = ei_node_input(g, n, k);
        if (!x) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d is missing", k);
        if (x->dtype != x0->dtype)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d ('%s') is %s but input 0 is %s", k, x->name,
                                  ei_dtype_name(x->dtype), ei_dtype_name(x0->dtype));
        bool ok = x->shape.rank == x0->shape.rank;
        for (int32_t i = 0; ok && i < x->shape.rank; i++) ok = i == axis || x->shape.dim[i] == x0->shape.dim[i];
        if (!ok) {
            char a[160], b[160];
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "input %d ('%s') has shape %s, which does not match input 0's %s outside axis %d", k,
                                  x->name, ei_shape_format(&x->shape, a, sizeof a),
                                  ei_shape_format(&x0->shape, b, sizeof b), axis);
        }
        s.dim[axis] += x->shape.dim[axis];
    }
    ei_op_set_output(g, n, 0, x0->dtype, &s);
    return NULL;
}

static ei_status * concat_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                              const ei_exec * ex) {
    int32_t axis;
    EI_TRY(concat_axis(n, out[0]->shape.rank, &axis));
    int64_t outer, inner;
    outer_inner(&out[0]->shape, axis, &outer, &inner);
    int64_t esize = (int64_t)ei_dtype_size(out[0]->dtype);
    int64_t pitch = out[0]->shape.dim[axis] * inner * esize;
    char *  dst = out[0]->data;
    for (int32_t k = 0; k < n->n_inputs; k++) {
        int64_t run = in[k]->shape.dim[axis] * inner * esize;
        ei_dm_copy_rows(dst, pitch, in[k]->data, run, run, outer, ex->pool);
        dst += run;
    }
    return NULL;
}

const ei_op_def ei_op_def_CONCAT = {
    .name = "Concat",
    .in_min = 1,
    .in_max = -1,
    .out_min = 1,
    .out_max = 1,
    .infer = concat_infer,
    .run = concat_run,
};

/* ---- Split ---- */

typedef struct split_params {
    int64_t axis;
    int32_t axis_norm; /* set by infer */
    int64_t sizes[];   /* one per output, set by infer */
} split_params;

static ei_status * split_import(ei_node * n) {
    split_params * p;
    EI_TRY(ei_shp_params(n, sizeof *p + (size_t)n->n_outputs * sizeof p->sizes[0], (void **)&p));
    EI_TRY(ei_attr_get_int(n, "axis", 0, &p->axis));
    return NULL;
}

static ei_status * split_infer(ei_graph * g, ei_node * n) {
    split_params *   p = n->params;
    const ei_value * x = ei_node_input(g, n, 0);
    int32_t          axis;
    if (x->shape.rank < 1) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "cannot split a scalar");
    EI_TRY(ei_op_axis(n, p->axis, x->shape.rank, &axis));
    p->axis_norm = axis;
    int64_t dim = x->shape.dim[axis];
    int32_t nout = n->n_outputs;
    int64_t split[EI_SHP_MAX_INTS];
    int32_t count;
    EI_TRY(ei_shp_ints(g, n, "split", 1, 13, split, &count));
    if (count == 0 && nout > 0) count = -1; /* an empty list means "not given", as in ONNX Runtime */
    int64_t num_outputs = -1;
    if (n->opset >= 18) EI_TRY(ei_attr_get_int(n, "num_outputs", -1, &num_outputs));
    if (count >= 0) {
        if (num_outputs >= 0)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "give either the split sizes or num_outputs, not both");
        if (count != nout)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%d split sizes for %d outputs", count, nout);
        int64_t sum = 0;
        for (int32_t k = 0; k < count; k++) {
            if (split[k] < 0 || split[k] > dim)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "split size %d is %lld", k, (long long)split[k]);
            p->sizes[k] = split[k];
            sum += split[k];
        }
        if (sum != dim)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "split sizes sum to %lld but axis %d has length %lld",
                                  (long long)sum, axis, (long long)dim);
    } else if (n->opset >= 18) {
        if (num_outputs >= 0 && num_outputs != nout)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "num_outputs is %lld but the node has %d outputs",
                                  (long long)num_outputs, nout);
        /* Opset 18: chunks of ceil(dim / n), the last ones smaller. */
        int64_t chunk = (dim + nout - 1) / nout, left = dim;
        for (int32_t k = 0; k < nout; k++) {
            p->sizes[k] = left < chunk ? left : chunk;
            left -= p->sizes[k];
        }
    } else {
        if (dim % nout != 0)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "axis %d of length %lld does not split into %d equal parts",
                                  axis, (long long)dim, nout);
        for (int32_t k = 0; k < nout; k++) p->sizes[k] = dim / nout;
    }
    for (int32_t k = 0; k < nout; k++) {
        ei_shape s = x->shape;
        s.dim[axis] = p->sizes[k];
        ei_op_set_output(g, n, k, x->dtype, &s);
    }
    return NULL;
}

static ei_status * split_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    const split_params * p = n->params;
    int32_t              axis = p->axis_norm;
    int64_t              outer, inner;
    outer_inner(&in[0]->shape, axis, &outer, &inner);
    int64_t      esize = (int64_t)ei_dtype_size(in[0]->dtype);
    int64_t      pitch = in[0]->shape.dim[axis] * inner * esize;
    const char * src = in[0]->data;
    for (int32_t k = 0; k < n->n_outputs; k++) {
        int64_t run = p->sizes[k] * inner * esize;
        if (out[k]) ei_dm_copy_rows(out[k]->data, run, src, pitch, run, outer, ex->pool);
        src += run;
    }
    return NULL;
}

const ei_op_def ei_op_def_SPLIT = {
    .name = "Split",
    .in_min = 1,
    .in_max = 2,
    .out_min = 1,
    .out_max = 4096, /* the importer reads out_max literally (no -1 = variadic for outputs) */
    .import = split_import,
    .infer = split_infer,
    .run = split_run,
};
