/* Fuses the activation that follows a Conv, ConvTranspose, Gemm or MatMul into it (the ei.*
 * attributes of src/ops/fused.h), so the kernel applies it while the output is still in cache:
 * single activation nodes, and the decomposed forms x * Sigmoid(x) (SiLU), x * HardSigmoid(x)
 * (HardSwish) and 0.5 * x * (1 + erf(x / sqrt 2)) (GELU). */
#include <float.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "ops/fused.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

bool ei_pass_fusable_producer(const ei_node * n) {
    return ei_pass_is_op(n, "Conv") || ei_pass_is_op(n, "ConvTranspose") || ei_pass_is_op(n, "Gemm") ||
           ei_pass_is_op(n, "MatMul");
}

bool ei_pass_single_activation(const ei_graph * g, const ei_node * a, ei_fused * f) {
    memset(f, 0, sizeof *f);
    if (ei_node_is_removed(a) || a->folded || a->domain[0] || a->n_outputs != 1 || a->n_inputs < 1) return false;
    ei_status * st = NULL;
    const char *op = a->op_type, *approx;
    if (!strcmp(op, "Relu")) {
        f->act = EI_ACT_RELU;
    } else if (!strcmp(op, "Sigmoid")) {
        f->act = EI_ACT_SIGMOID;
    } else if (!strcmp(op, "Tanh")) {
        f->act = EI_ACT_TANH;
    } else if (!strcmp(op, "LeakyRelu")) {
        f->act = EI_ACT_LEAKY_RELU;
        st = ei_attr_get_float(a, "alpha", 0.01f, &f->alpha);
    } else if (!strcmp(op, "HardSigmoid") || !strcmp(op, "HardSwish")) {
        f->act = !strcmp(op, "HardSigmoid") ? EI_ACT_HARD_SIGMOID : EI_ACT_HARD_SWISH;
        f->alpha = 1.0f / 6.0f;
        f->beta = 0.5f;
        if (f->act == EI_ACT_HARD_SIGMOID) {
            st = ei_attr_get_float(a, "alpha", 0.2f, &f->alpha);
            if (!st) st = ei_attr_get_float(a, "beta", 0.5f, &f->beta);
        }
    } else if (!strcmp(op, "Gelu")) {
        st = ei_attr_get_string(a, "approximate", "none", &approx);
        f->act = !st && !strcmp(approx, "tanh") ? EI_ACT_GELU_TANH : EI_ACT_GELU;
    } else if (!strcmp(op, "Clip")) {
        f->act = EI_ACT_CLIP;
        f->alpha = -FLT_MAX;
        f->beta = FLT_MAX;
        if (a->opset < 11) {
            st = ei_attr_get_float(a, "min", -FLT_MAX, &f->alpha);
            if (!st) st = ei_attr_get_float(a, "max", FLT_MAX, &f->beta);
        } else {
            if (a->n_inputs > 1 && a->inputs[1] >= 0 && !ei_pass_const_scalar(g, a->inputs[1], &f->alpha)) return false;
            if (a->n_inputs > 2 && a->inputs[2] >= 0 && !ei_pass_const_scalar(g, a->inputs[2], &f->beta)) return false;
        }
    } else {
        return false;
    }
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    return true;
}

/* x * Act(x) with Act Sigmoid or HardSigmoid: s is the activation node reading x. */
static bool match_gated(const ei_graph * g, int32_t x, int32_t s, ei_fused * f, int32_t nodes[2], int32_t * y) {
    const ei_node * sn = &g->nodes[s];
    if (sn->inputs[0] != x) return false;
    if (ei_pass_is_op(sn, "Sigmoid")) {
        memset(f, 0, sizeof *f);
        f->act = EI_ACT_SILU;
    } else if (ei_pass_is_op(sn, "HardSigmoid")) {
        if (!ei_pass_single_activation(g, sn, f)) return false;
        f->act = EI_ACT_HARD_SWISH;
    } else {
        return false;
    }
    int32_t m = ei_pass_sole_consumer_of(g, sn->outputs[0], "Mul");
    if (m < 0 || ei_pass_other_input(&g->nodes[m], sn->outputs[0]) != x) return false;
    nodes[0] = s;
    nodes[1] = m;
    *y = g->nodes[m].outputs[0];
    return true;
}

ei_status * ei_pass_fuse_activation(ei_graph * g, int32_t * applied) {
    *applied = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!ei_pass_fusable_producer(n) || n->n_outputs != 1 || n->outputs[0] < 0) continue;
        if (ei_node_attr(n, "ei.activation")) continue;
        int32_t x = n->outputs[0];
        if (g->values[x].dtype != EI_DTYPE_F32 || (g->values[x].flags & EI_VALUE_GRAPH_OUTPUT)) continue;
        int32_t  cons[3], nc = ei_graph_consumers(g, x, cons, 3);
        ei_fused f;
        int32_t  remove[5], n_remove = 0, y = -1;
        if (nc == 1 && ei_graph_use_count(g, x) == 1 && g->nodes[cons[0]].inputs[0] == x &&
            ei_pass_single_activation(g, &g->nodes[cons[0]], &f)) {
            remove[n_remove++] = cons[0];
            y = g->nodes[cons[0]].outputs[0];
        } else if (nc == 2 && ei_graph_use_count(g, x) == 2) {
            for (int32_t k = 0; k < 2 && y < 0; k++) {
                ei_gelu_match gm;
                if (match_gated(g, x, cons[k], &f, remove, &y)) {
                    n_remove = 2;
                } else if (ei_pass_find_gelu(g, cons[k], &gm) && gm.x == x) {
                    memset(&f, 0, sizeof f);
                    f.act = EI_ACT_GELU;
                    memcpy(remove, gm.nodes, sizeof gm.nodes);
                    n_remove = 5;
                    y = gm.y;
                }
            }
        }
        if (y < 0) continue;
        int64_t residual;
        EI_TRY(ei_attr_get_int(n, "ei.residual", 0, &residual));
        f.residual = residual != 0;
        ei_node * fn = &g->nodes[i];
        EI_TRY(ei_fused_set(fn, &f));
        EI_TRY(ei_node_reimport(fn));
        for (int32_t k = 0; k < n_remove; k++) ei_graph_node_remove(g, remove[k]);
        ei_pass_retarget_output(g, i, y);
        ++*applied;
    }
    return NULL;
}
