/* Shape and Size: with static shapes their outputs are known at load time, so infer stores them
 * as constants and the node folds away; run only matters if a caller runs the node directly. */
#include <string.h>

#include "ops/op.h"

/* ---- Shape ---- */

static void shape_range(const ei_node * n, int32_t rank, int64_t * start, int64_t * end) {
    int64_t s = 0, e = rank;
    if (n->opset >= 15) {
        /* Attribute types were checked by infer. */
        ei_status_destroy(ei_attr_get_int(n, "start", 0, &s));
        ei_status_destroy(ei_attr_get_int(n, "end", rank, &e));
    }
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    s = s < 0 ? 0 : s > rank ? rank : s;
    e = e < 0 ? 0 : e > rank ? rank : e;
    *start = s;
    *end = e > s ? e : s;
}

static void shape_fill(const ei_shape * in, int64_t start, int64_t end, ei_tensor * out) {
    int64_t * d = out->data;
    for (int64_t i = start; i < end; i++) d[i - start] = in->dim[i];
}

static ei_status * shape_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int64_t          start, end, tmp;
    EI_TRY(ei_attr_get_int(n, "start", 0, &tmp));
    EI_TRY(ei_attr_get_int(n, "end", 0, &tmp));
    shape_range(n, x->shape.rank, &start, &end);
    ei_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 1;
    s.dim[0] = end - start;
    ei_tensor * t;
    EI_TRY(ei_tensor_create(EI_DTYPE_I64, &s, &t));
    shape_fill(&x->shape, start, end, t);
    ei_op_set_output_constant(g, n, 0, t);
    return NULL;
}

static ei_status * shape_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    (void)ex;
    int64_t start, end;
    shape_range(n, in[0]->shape.rank, &start, &end);
    shape_fill(&in[0]->shape, start, end, out[0]);
    return NULL;
}

const ei_op_def ei_op_def_SHAPE = {
    .name = "Shape",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .infer = shape_infer,
    .run = shape_run,
};

/* ---- Size ---- */

static ei_status * size_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    ei_shape         s;
    memset(&s, 0, sizeof s);
    ei_tensor * t;
    EI_TRY(ei_tensor_create(EI_DTYPE_I64, &s, &t));
    *(int64_t *)t->data = ei_shape_numel(&x->shape);
    ei_op_set_output_constant(g, n, 0, t);
    return NULL;
}

static ei_status * size_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    (void)n;
    (void)ex;
    *(int64_t *)out[0]->data = ei_tensor_numel(in[0]);
    return NULL;
}

const ei_op_def ei_op_def_SIZE = {
    .name = "Size",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .infer = size_infer,
    .run = size_run,
};
