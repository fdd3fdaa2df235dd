/* Gemm (opsets 9, 11, 13), float32: Y = alpha * op(A) * op(B) + beta * C, A and B 2-D, C optional
 * (required before opset 11) and unidirectionally broadcast to [M, N]. C is copied into Y first so
 * that ei_sgemm adds the product to it in place. */
#include <stdlib.h>

#include "cpu/sgemm.h"
#include "ops/fused_apply.h"
#include "ops/op.h"
#include "quant/half.h"

typedef struct gemm_params {
    float    alpha, beta;
    bool     trans_a, trans_b;
    ei_fused fused; /* ei.* attributes; the residual is input 3 */
} gemm_params;

static ei_status * gemm_import(ei_node * node) {
    int64_t ta = 0, tb = 0;
    float   alpha = 1.0f, beta = 1.0f;
    EI_TRY(ei_attr_get_int(node, "transA", 0, &ta));
    EI_TRY(ei_attr_get_int(node, "transB", 0, &tb));
    EI_TRY(ei_attr_get_float(node, "alpha", 1.0f, &alpha));
    EI_TRY(ei_attr_get_float(node, "beta", 1.0f, &beta));
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "transA = %lld, transB = %lld; each must be 0 or 1",
                              (long long)ta, (long long)tb);
    ei_fused f;
    EI_TRY(ei_fused_import(node, &f));
    gemm_params * p = malloc(sizeof *p);
    if (!p) return ei_status_oom();
    *p = (gemm_params){alpha, beta, ta != 0, tb != 0, f};
    return ei_op_install_params(node, p, NULL);
}

static ei_status * gemm_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(gemm_import(node));
    const gemm_params * p = node->params;
    for (int32_t k = 0; k < 3; k++)
        EI_TRY(k == 1 ? ei_half_check_weight(g, node, k)
                      : ei_op_check_dtype(g, node, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * a = ei_node_input(g, node, 0);
    const ei_value * b = ei_node_input(g, node, 1);
    const ei_value * c = ei_node_input(g, node, 2);
    if (!a || !b) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "inputs A and B are required");
    if (!c && node->opset < 11)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input C is required before opset 11");
    char sa[128], sb[128];
    if (a->shape.rank != 2 || b->shape.rank != 2)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "A and B must be 2-D; got shapes %s and %s",
                              ei_shape_format(&a->shape, sa, sizeof sa), ei_shape_format(&b->shape, sb, sizeof sb));
    int64_t m = a->shape.dim[p->trans_a ? 1 : 0], ka = a->shape.dim[p->trans_a ? 0 : 1];
    int64_t kb = b->shape.dim[p->trans_b ? 1 : 0], n = b->shape.dim[p->trans_b ? 0 : 1];
    if (ka != kb)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "inner dimensions differ: op(A) is %lldx%lld, op(B) is %lldx%lld (A %s, B %s, "
                              "transA %d, transB %d)",
                              (long long)m, (long long)ka, (long long)kb, (long long)n,
                              ei_shape_format(&a->shape, sa, sizeof sa), ei_shape_format(&b->shape, sb, sizeof sb),
                              p->trans_a, p->trans_b);
    int64_t  dims[2] = {m, n};
    ei_shape out = ei_shape_make(2, dims);
    if (c) {
        bool ok = c->shape.rank <= 2;
        for (int32_t d = 0; ok && d < c->shape.rank; d++) {
            int64_t want = out.dim[2 - c->shape.rank + d];
            ok = c->shape.dim[d] == want || c->shape.dim[d] == 1;
        }
        if (!ok)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "C has shape %s, which does not broadcast to %s",
                                  ei_shape_format(&c->shape, sa, sizeof sa), ei_shape_format(&out, sb, sizeof sb));
    }
    EI_TRY(ei_fused_check_residual(g, node, &p->fused, 3, &out));
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &out);
    return NULL;
}

static ei_status * gemm_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    const gemm_params * p = node->params;
    const ei_tensor *   a = in[0], *b = in[1], *c = node->n_inputs > 2 ? in[2] : NULL;
    ei_tensor *         y = out[0];
    int64_t             m = y->shape.dim[0], n = y->shape.dim[1];
    int64_t             k = a->shape.dim[p->trans_a ? 0 : 1];
    float *             yd = y->data;
    float               beta = p->beta;
    if (m == 0 || n == 0) return NULL;
    if (c && beta != 0.0f) {
        int64_t       st[2];
        const float * cd = c->data;
        ei_shape_broadcast_strides(&c->shape, &y->shape, st);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) yd[i * n + j] = cd[i * st[0] + j * st[1]];
    } else {
        beta = 0.0f;
    }
    ei_sgemm(ex->pool, p->trans_a, p->trans_b, m, n, k, p->alpha, a->data, a->shape.dim[1], b->data, b->shape.dim[1],
             beta, yd, n);
    ei_fused_finish(&p->fused, p->fused.residual ? in[3] : NULL, y, ex->pool);
    return NULL;
}

/* Weights of a bf16 / fp16 engine are widened per run (src/quant/half.h). */
static ei_status * gemm_run_entry(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                  const ei_exec * ex) {
    if (ei_half_needed(node, in, 1)) return ei_half_run(gemm_run, 1, node, in, out, ex);
    return gemm_run(node, in, out, ex);
}

static int64_t gemm_macs(const ei_graph * g, const ei_node * node) {
    const ei_value *    a = ei_node_input(g, node, 0);
    const ei_value *    b = ei_node_input(g, node, 1);
    const gemm_params * p = node->params;
    if (!a || !b || !p || a->shape.rank != 2 || b->shape.rank != 2) return 0;
    return a->shape.dim[p->trans_a ? 1 : 0] * a->shape.dim[p->trans_a ? 0 : 1] * b->shape.dim[p->trans_b ? 0 : 1];
}

const ei_op_def ei_op_def_GEMM = {
    .name = "Gemm",
    .in_min = 2,
    .in_max = 4, /* 4: the ei.residual input */
    .out_min = 1,
    .out_max = 1,
    .import = gemm_import,
    .infer = gemm_infer,
    .run = gemm_run_entry,
    .macs = gemm_macs,
};
