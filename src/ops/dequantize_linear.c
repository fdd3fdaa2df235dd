/* DequantizeLinear (opsets 10, 13, 19, 21 without blocks): y = (x - zero_point) * scale in float32,
 * as ONNX Runtime computes it (the difference in int32, then one float multiplication). x int8,
 * uint8 or int32 (QDQ models' biases; its zero point must be 0); scale float32 per tensor or per
 * slice of `axis`; zero point optional, of x's dtype and the scale's shape. The checks are
 * QuantizeLinear's (src/ops/quantize_linear.c). A DequantizeLinear of constant weights is folded
 * into float weights when the model loads, like any node whose inputs are all constant. */
#include <stdlib.h>

#include "ops/qdq_common.h"

static ei_status * dq_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    if (!x) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 0 (x) is required");
    if (x->dtype != EI_DTYPE_I8 && x->dtype != EI_DTYPE_U8 && x->dtype != EI_DTYPE_I32)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input '%s' is %s; int8, uint8 and int32 are supported", x->name,
                              ei_dtype_name(x->dtype));
    ei_qdq_layout l;
    EI_TRY(ei_qdq_check(g, n, x->dtype, &l));
    const ei_tensor * z = ei_node_input_const(g, n, 2);
    if (x->dtype == EI_DTYPE_I32 && ei_node_input(g, n, 2)) {
        bool zero = z != NULL;
        for (int64_t i = 0; zero && i < ei_shape_numel(&z->shape); i++) zero = ((const int32_t *)z->data)[i] == 0;
        if (!zero)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "the zero point of int32 input '%s' must be a constant 0",
                                  x->name);
    }
    ei_op_set_output(g, n, 0, EI_DTYPE_F32, &x->shape);
    return NULL;
}

typedef struct dq_ctx {
    const void *  x;
    const float * s;
    const void *  z; /* NULL: zero */
    float *       y;
    ei_dtype      dt;
    ei_qdq_layout l;
} dq_ctx;

#define DQ_ROW(T)                                                                                                      \
    do {                                                                                                               \
        const T * x = (const T *)c->x + r * c->l.inner;                                                                \
        int32_t   zp = c->z ? (int32_t)((const T *)c->z)[ch] : 0;                                                      \
        for (int64_t i = 0; i < c->l.inner; i++) y[i] = (float)((int32_t)x[i] - zp) * s;                               \
    } while (0)

static void dq_rows(void * ctx, int64_t b, int64_t e) {
    const dq_ctx * c = ctx;
    for (int64_t r = b; r < e; r++) {
        int64_t ch = r % c->l.channels;
        float   s = c->s[ch];
        float * y = c->y + r * c->l.inner;
        if (c->dt == EI_DTYPE_I8)
            DQ_ROW(int8_t);
        else if (c->dt == EI_DTYPE_U8)
            DQ_ROW(uint8_t);
        else
            DQ_ROW(int32_t);
    }
}

static ei_status * dq_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex) {
    EI_TRY(ei_qdq_check_scales(node, in[1]));
    dq_ctx c = {.x = in[0]->data,
                .s = in[1]->data,
                .z = in[2] ? in[2]->data : NULL,
                .y = out[0]->data,
                .dt = in[0]->dtype,
                .l = ei_qdq_layout_of(node, in[0], in[1])};
    size_t esz = ei_dtype_size(c.dt);
    if (!c.l.per_axis) {
        int64_t total = c.l.outer;
        c.l.inner = total < 4096 ? total : 4096;
        c.l.outer = c.l.inner ? total / c.l.inner : 0;
        ei_parallel_for(ex ? ex->pool : NULL, c.l.outer, 16, dq_rows, &c);
        int64_t done = c.l.outer * c.l.inner;
        if (done < total) {
            dq_ctx tail = c;
            tail.x = (const char *)c.x + (size_t)done * esz;
            tail.y += done;
            tail.l.inner = total - done;
            dq_rows(&tail, 0, 1);
        }
        return NULL;
    }
    int64_t grain = c.l.inner >= 4096 ? 1 : 4096 / (c.l.inner ? c.l.inner : 1);
    ei_parallel_for(ex ? ex->pool : NULL, c.l.outer * c.l.channels, grain, dq_rows, &c);
    return NULL;
}

const ei_op_def ei_op_def_DEQUANTIZE_LINEAR = {
    .name = "DequantizeLinear",
    .in_min = 2,
    .in_max = 3,
    .out_min = 1,
    .out_max = 1,
    .import = ei_qdq_import,
    .infer = dq_infer,
    .run = dq_run,
};
