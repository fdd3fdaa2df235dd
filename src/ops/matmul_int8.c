/* ei.MatMulInt8: a MatMul with a constant 2-D right operand computed in int8, made by the INT8
 * rewrite (src/quant/quantize_matmul.c) from MatMul nodes whose B is a float constant [K, N] (the
 * linear layers of transformers: projections, MLPs). Inputs:
 *   0 A         float32 [..., M, K]
 *   1 B         int8 [K, N], symmetric per output column (q = round(b / b_scale[n]))
 *   2 b_scale   float32 [N]
 * Attributes: the fused ones of ops/fused.h (an activation; no residual), and
 *   "ei.a_scale"     float > 0: A is quantised as q = clamp(round_half_even(a / a_scale))
 *   "ei.a_unsigned"  int 1: q in [0, 255] (uint8; A is never negative), else [-127, 127] (int8)
 * Y = act(a_scale * b_scale[n] * sum_k(qa[.., m, k] * qb[k, n])), float32 [..., M, N].
 *
 * The reference kernel is exact integer arithmetic (int32 accumulation) and one float multiply per
 * output; oneDNN's kernel (src/cpu/dnnl/dnnl_matmul_int8.c) computes the same integers. */
#include <math.h>

#include "ops/conv_int8.h"
#include "ops/fused_apply.h"
#include "ops/matmul_int8.h"
#include "ops/op.h"

static ei_status * import(ei_node * node) {
    ei_matmul_int8_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    int64_t     u = 0;
    ei_status * st = ei_fused_import(node, &p->fused);
    if (!st && p->fused.residual)
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "an int8 MatMul takes no fused residual");
    if (!st) st = ei_attr_get_float(node, "ei.a_scale", 0.0f, &p->a_scale);
    if (!st && !(p->a_scale > 0.0f && isfinite(p->a_scale)))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "ei.a_scale = %g; must be finite and above zero",
                            (double)p->a_scale);
    if (!st) st = ei_attr_get_int(node, "ei.a_unsigned", 0, &u);
    p->a_unsigned = u != 0;
    return ei_op_install_params(node, p, st);
}

static ei_status * infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(import(node));
    EI_TRY(ei_op_check_dtype(g, node, 0, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    EI_TRY(ei_op_check_dtype(g, node, 1, EI_DTYPE_I8, EI_DTYPE_UNDEFINED));
    EI_TRY(ei_op_check_dtype(g, node, 2, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * a = ei_node_input(g, node, 0);
    const ei_value * b = ei_node_input(g, node, 1);
    const ei_value * s = ei_node_input(g, node, 2);
    char             as[128], bs[128];
    if (!b || !b->constant || !s || !s->constant)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "B and b_scale must be constants");
    if (b->shape.rank != 2 || a->shape.rank < 2 || a->shape.dim[a->shape.rank - 1] != b->shape.dim[0])
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "A %s and B %s: expected A [..., M, K] and B [K, N]",
                              ei_shape_format(&a->shape, as, sizeof as), ei_shape_format(&b->shape, bs, sizeof bs));
    int64_t n = b->shape.dim[1];
    EI_TRY(ei_int8_check_scales(node, s, n, "b_scale"));
    ei_shape ys = a->shape;
    ys.dim[ys.rank - 1] = n;
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

typedef struct ref_job {
    const ei_matmul_int8_params * p;
    const float *                 a;
    const int8_t *                b;
    const float *                 bs;
    float *                       y;
    int64_t                       k, n;
} ref_job;

/* Rows of A (all leading dims flattened): quantised, multiplied, scaled, activated. Columns and K
 * go in chunks through stack buffers, so that a task allocates nothing. */
#define REF_COLS 256
#define REF_K    512

static void ref_rows(void * ctx, int64_t r0, int64_t r1) {
    const ref_job * j = ctx;
    int32_t         qa[REF_K], acc[REF_COLS];
    float           inv = 1.0f / j->p->a_scale;
    for (int64_t r = r0; r < r1; r++) {
        const float * ar = j->a + r * j->k;
        float *       yr = j->y + r * j->n;
        for (int64_t c0 = 0; c0 < j->n; c0 += REF_COLS) {
            int64_t nc = j->n - c0 < REF_COLS ? j->n - c0 : REF_COLS;
            for (int64_t c = 0; c < nc; c++) acc[c] = 0;
            for (int64_t k0 = 0; k0 < j->k; k0 += REF_K) {
                int64_t nk = j->k - k0 < REF_K ? j->k - k0 : REF_K;
                for (int64_t i = 0; i < nk; i++) qa[i] = ei_quantize_value(ar[k0 + i], inv, j->p->a_unsigned);
                for (int64_t i = 0; i < nk; i++) {
                    const int8_t * br = j->b + (k0 + i) * j->n + c0;
                    int32_t        q = qa[i];
                    for (int64_t c = 0; c < nc; c++) acc[c] += q * (int32_t)br[c];
                }
            }
            for (int64_t c = 0; c < nc; c++) yr[c0 + c] = (float)acc[c] * (j->p->a_scale * j->bs[c0 + c]);
        }
        ei_fused_act_apply(&j->p->fused, yr, j->n);
    }
}

static ei_status * run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                       const ei_exec * ex) {
    const ei_tensor * B = in[1];
    int64_t           k = B->shape.dim[0], n = B->shape.dim[1];
    int64_t           rows = n > 0 ? ei_shape_numel(&out[0]->shape) / n : 0;
    ref_job           j = {node->params, in[0]->data, B->data, in[2]->data, out[0]->data, k, n};
    ei_parallel_for(ex->pool, rows, ei_grain((double)(k * n + 1)), ref_rows, &j);
    return NULL;
}

static int64_t macs(const ei_graph * g, const ei_node * node) {
    const ei_value * b = ei_node_input(g, node, 1);
    const ei_value * y = ei_node_output((ei_graph *)g, node, 0);
    if (!b || !y || b->shape.rank != 2) return 0;
    return ei_shape_numel(&y->shape) * b->shape.dim[0];
}

const ei_op_def ei_op_def_MATMUL_INT8 = {
    .name = "ei.MatMulInt8",
    .in_min = 3,
    .in_max = 3,
    .out_min = 1,
    .out_max = 1,
    .import = import,
    .infer = infer,
    .run = run,
    .macs = macs,
};
