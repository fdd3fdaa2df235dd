/* Where(cond, X, Y) with three-way numpy broadcasting; a pure select, so kernels are chosen by
 * element size and every dtype works. */
#include "ops/eltwise_kernels.h"

#define EW_WHERE(NAME, T)                                                                                              \
    static void NAME(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {            \
        (void)prm;                                                                                                     \
        T *             o = o_;                                                                                        \
        const uint8_t * c = in[0];                                                                                     \
        const T *       a = in[1];                                                                                     \
        const T *       b = in[2];                                                                                     \
        const int64_t   sc = st[0], sa = st[1], sb = st[2];                                                            \
        if (sc && sa && sb) {                                                                                          \
            for (int64_t i = 0; i < n; i++) o[i] = c[i] ? a[i] : b[i];                                                 \
        } else {                                                                                                       \
            for (int64_t i = 0; i < n; i++) o[i] = c[i * sc] ? a[i * sa] : b[i * sb];                                  \
        }                                                                                                              \
    }
EW_WHERE(where_1, uint8_t)
EW_WHERE(where_2, uint16_t)
EW_WHERE(where_4, uint32_t)
EW_WHERE(where_8, uint64_t)

static ei_ew_fn where_fn(ei_dtype dt) {
    switch (ei_dtype_size(dt)) {
    case 1: return where_1;
    case 2: return where_2;
    case 4: return where_4;
    case 8: return where_8;
    default: return NULL;
    }
}

static ei_status * where_infer(ei_graph * g, ei_node * n) {
    const ei_value * c = ei_node_input(g, n, 0);
    const ei_value * x = ei_node_input(g, n, 1);
    const ei_value * y = ei_node_input(g, n, 2);
    if (!c || !x || !y) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "all three inputs are required");
    EI_TRY(ei_op_check_dtype(g, n, 0, EI_DTYPE_BOOL, EI_DTYPE_UNDEFINED));
    EI_TRY(ei_ew_check_same_dtype(g, n, 1, 2));
    if (!where_fn(x->dtype))
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input 1 ('%s') has unsupported dtype %s", x->name,
                              ei_dtype_name(x->dtype));
    ei_shape s;
    EI_TRY(ei_ew_broadcast_inputs(g, n, 0, 3, &s));
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * where_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    (void)node;
    ei_ew_call c = {.n_in = 3,
                    .in = {in[0], in[1], in[2]},
                    .out = out[0],
                    .grain = EI_EW_GRAIN_CHEAP,
                    .fn = where_fn(in[1]->dtype)};
    ei_ew_run(ex, &c);
    return NULL;
}

const ei_op_def ei_op_def_WHERE = {
    .name = "Where", .in_min = 3, .in_max = 3, .out_min = 1, .out_max = 1, .infer = where_infer, .run = where_run};
