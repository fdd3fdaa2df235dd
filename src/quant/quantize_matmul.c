/* The INT8 rewrite of MatMul nodes (quant/quantize.h): A [..., M, K] float with a table entry times
 * a constant float B [K, N] -> ei.MatMulInt8 (src/ops/matmul_int8.c), B symmetric per output
 * column in EI_INT8_WEIGHT_MAX steps (7 bits, for the same reason as convolutions: without VNNI
 * the u8 x s8 products are summed in saturating int16). MatMuls of two activations (attention's
 * Q x K^T and weights x V) stay float: their second operand has no fixed scale per column. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/graph_edit.h"
#include "ops/conv_int8.h"
#include "ops/fused.h"
#include "ops/op.h"
#include "quant/quantize_internal.h"

static bool is_candidate(const ei_graph * g, const ei_node * n) {
    if (n->folded || ei_node_is_removed(n) || n->def != &ei_op_def_MATMUL) return false;
    if (n->n_inputs != 2 || n->n_outputs != 1 || n->inputs[0] < 0 || n->inputs[1] < 0 || n->outputs[0] < 0)
        return false;
    ei_fused    f;
    ei_status * st = ei_fused_import(n, &f);
    if (st || f.residual) {
        ei_status_destroy(st);
        return false;
    }
    const ei_value * a = &g->values[n->inputs[0]];
    const ei_value * b = &g->values[n->inputs[1]];
    return a->dtype == EI_DTYPE_F32 && a->shape.rank >= 2 && !a->constant && b->constant && b->dtype == EI_DTYPE_F32 &&
           b->shape.rank == 2 && ei_shape_numel(&b->shape) > 0;
}

/* B [K, N] float -> q int8 [K, N] and per-column scales (a column of zeros gets scale 1). */
static ei_status * quantize_columns(const ei_tensor * b, ei_tensor ** q_out, ei_tensor ** s_out) {
    int64_t  k = b->shape.dim[0], n = b->shape.dim[1];
    ei_shape ss = {.rank = 1, .dim = {n}};
    EI_TRY(ei_tensor_create(EI_DTYPE_I8, &b->shape, q_out));
    ei_status * st = ei_tensor_create(EI_DTYPE_F32, &ss, s_out);
    if (st) {
        ei_tensor_destroy(*q_out);
        *q_out = NULL;
        return st;
    }
    const float * bd = b->data;
    int8_t *      qd = (*q_out)->data;
    float *       sd = (*s_out)->data;
    for (int64_t c = 0; c < n; c++) {
        float mx = 0.0f;
        for (int64_t i = 0; i < k; i++)
            if (fabsf(bd[i * n + c]) > mx) mx = fabsf(bd[i * n + c]);
        sd[c] = mx > 0.0f && isfinite(mx) ? mx / (float)EI_INT8_WEIGHT_MAX : 1.0f;
    }
    for (int64_t i = 0; i < k; i++)
        for (int64_t c = 0; c < n; c++) {
            float v = nearbyintf(bd[i * n + c] / sd[c]);
            if (!(v >= -EI_INT8_WEIGHT_MAX)) v = -EI_INT8_WEIGHT_MAX;
            if (v > EI_INT8_WEIGHT_MAX) v = EI_INT8_WEIGHT_MAX;
            qd[i * n + c] = (int8_t)v;
        }
    return NULL;
}

static ei_status * rewrite(ei_graph * g, int32_t idx, float a_scale, bool a_unsigned) {
    int32_t    b_old = g->nodes[idx].inputs[1];
    ei_tensor *q = NULL, *s = NULL;
    int32_t    qv, sv;
    char       name[512];
    EI_TRY(quantize_columns(g->values[b_old].constant, &q, &s));
    snprintf(name, sizeof name, "%s_int8_B", g->nodes[idx].name);
    ei_status * st = ei_graph_constant_add(g, name, q, &qv);
    if (st) {
        ei_tensor_destroy(s);
        return st;
    }
    snprintf(name, sizeof name, "%s_int8_B_scale", g->nodes[idx].name);
    EI_TRY(ei_graph_constant_add(g, name, s, &sv));
    ei_node * n = &g->nodes[idx];
    int32_t * grown = realloc(n->inputs, 3 * sizeof *grown);
    if (!grown) return ei_status_oom();
    n->inputs = grown;
    n->inputs[1] = qv;
    n->inputs[2] = sv;
    n->n_inputs = 3;
    /* The table's scale is the clipping threshold / 127; a never-negative A uses all 255 steps. */
    EI_TRY(ei_node_set_attr_float(n, "ei.a_scale", a_unsigned ? a_scale * 127.0f / 255.0f : a_scale));
    EI_TRY(ei_node_set_attr_int(n, "ei.a_unsigned", a_unsigned ? 1 : 0));
    EI_TRY(ei_node_set_op(n, "ei.MatMulInt8"));
    EI_TRY(ei_node_reimport(n));
    ei_quant_drop_if_unused(g, b_old);
    return NULL;
}

ei_status * ei_quantize_matmuls(ei_graph * g, const ei_calib_table * t, const char * keep_fp32, int32_t * done,
                                int32_t * candidates, int32_t * kept, int32_t * no_entry) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!is_candidate(g, n)) continue;
        ++*candidates;
        if (ei_quant_listed(keep_fp32, n->name)) {
            ++*kept;
            continue;
        }
        float scale;
        bool  u;
        if (!ei_quant_lookup(g, t, n->inputs[0], &scale, &u)) {
            ++*no_entry;
            continue;
        }
        if (!(scale > 0.0f && isfinite(scale)))
            return ei_node_errorf(n, EI_CODE_INVALID_ARGUMENT,
                                  "the calibration table's scale %g for input '%s' is not a positive number",
                                  (double)scale, g->values[n->inputs[0]].name);
        EI_TRY(rewrite(g, i, scale, u));
        ++*done;
    }
    return NULL;
}
