/* Variadic Min, Max, Sum, Mean with numpy broadcasting over all inputs: the output is built
 * pairwise in place (out = in0 op in1, then out = out op ink), each step one engine pass. Min and
 * Max propagate NaN like numpy's minimum/maximum. */
#include <string.h>

#include "ops/eltwise_kernels.h"

#define EW_MINMAX_INT(E, T, UW, S)                                                                                     \
    EW_BINARY(min_##E, T, T, x < y ? x : y)                                                                            \
    EW_BINARY(max_##E, T, T, x > y ? x : y)
EW_INT_TYPES(EW_MINMAX_INT)
#define EW_MINMAX_FLOAT(E, T)                                                                                          \
    EW_BINARY(min_##E, T, T, (x != x || x < y) ? x : y)                                                                \
    EW_BINARY(max_##E, T, T, (x != x || x > y) ? x : y)                                                                \
    EW_BINARY(sum_##E, T, T, x + y)
EW_FLOAT_TYPES(EW_MINMAX_FLOAT)

static const ei_ew_table k_min = EW_TABLE_ALL(min);
static const ei_ew_table k_max = EW_TABLE_ALL(max);
static const ei_ew_table k_sum = EW_TABLE_FLT(sum); /* Sum and Mean are defined for float types */

typedef struct mean_param {
    double n;
} mean_param;
EW_UNARY_P(div_n_F32, float, float, mean_param, const float cnt = (float)p->n, x / cnt)
EW_UNARY_P(div_n_F64, double, double, mean_param, const double cnt = p->n, x / cnt)
static const ei_ew_table k_div_n = EW_TABLE_FLT(div_n);

static ei_status * variadic_infer(ei_graph * g, ei_node * n, const ei_ew_fn * table) {
    if (n->n_inputs < 1) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "needs at least one input");
    for (int32_t k = 0; k < n->n_inputs; k++) {
        if (!ei_node_input(g, n, k)) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d is omitted", k);
        EI_TRY(ei_ew_check_same_dtype(g, n, 0, k));
    }
    EI_TRY(ei_ew_check_dtype(g, n, 0, table));
    ei_shape s;
    EI_TRY(ei_ew_broadcast_inputs(g, n, 0, n->n_inputs, &s));
    ei_op_set_output(g, n, 0, ei_node_input(g, n, 0)->dtype, &s);
    return NULL;
}

/* Half-precision Sum and Mean accumulate in float32 and round once at the end, like ONNX Runtime;
 * rounding after every pairwise step loses visible precision when terms cancel. */
static ei_status * variadic_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * out, const ei_exec * ex,
                                const ei_ew_fn * table, bool mean) {
    if (node->n_inputs == 1) {
        if (out->nbytes) memcpy(out->data, in[0]->data, out->nbytes);
        return NULL;
    }
    ei_ew_call c = {.n_in = 2, .in = {in[0], in[1]}, .out = out, .grain = EI_EW_GRAIN_CHEAP};
    c.fn = ei_ew_lookup(table, in[0]->dtype, &c.widen);
    EI_ASSERT(c.fn);
    ei_tensor * acc = NULL;
    if (c.widen && (table == k_sum)) {
        EI_TRY(ei_tensor_create(EI_DTYPE_F32, &out->shape, &acc));
        c.out = acc;
    }
    ei_ew_run(ex, &c);
    for (int32_t k = 2; k < node->n_inputs; k++) {
        c.in[0] = c.out;
        c.in[1] = in[k];
        ei_ew_run(ex, &c);
    }
    if (mean) {
        mean_param        p = {(double)node->n_inputs};
        const ei_tensor * o = c.out;
        EI_TRY(ei_ew_unary_run(&o, c.out, ex, k_div_n, &p, EI_EW_GRAIN_CHEAP));
    }
    if (acc) {
        ei_ew_convert_par(ex, acc->data, EI_DTYPE_F32, out->data, out->dtype, ei_shape_numel(&out->shape));
        ei_tensor_destroy(acc);
    }
    return NULL;
}

#define EW_VARIADIC_OP(SYM, ONNX, TABLE)                                                                               \
    static ei_status * SYM##_infer(ei_graph * g, ei_node * n) { return variadic_infer(g, n, TABLE); }                  \
    static ei_status * SYM##_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,          \
                                 const ei_exec * ex) {                                                                 \
        return variadic_run(node, in, out[0], ex, TABLE, false);                                                       \
    }                                                                                                                  \
    const ei_op_def ei_op_def_##SYM = {                                                                                \
        .name = ONNX, .in_min = 1, .in_max = -1, .out_min = 1, .out_max = 1, .infer = SYM##_infer, .run = SYM##_run};
EW_VARIADIC_OP(MIN, "Min", k_min)
EW_VARIADIC_OP(MAX, "Max", k_max)
EW_VARIADIC_OP(SUM, "Sum", k_sum)

static ei_status * mean_infer(ei_graph * g, ei_node * n) { return variadic_infer(g, n, k_sum); }

static ei_status * mean_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    return variadic_run(node, in, out[0], ex, k_sum, true);
}

const ei_op_def ei_op_def_MEAN = {
    .name = "Mean", .in_min = 1, .in_max = -1, .out_min = 1, .out_max = 1, .infer = mean_infer, .run = mean_run};
