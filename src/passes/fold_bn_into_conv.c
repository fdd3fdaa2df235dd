/* Folds an inference-mode BatchNormalization into the Conv or ConvTranspose that feeds it:
 * y = s * (conv(x, W) + B - mean) + bias with s = scale / sqrt(var + eps) per output channel is
 * conv(x, W') + B' with W' = s * W (per output channel) and B' = s * (B - mean) + bias. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

static const float * const_f32(const ei_graph * g, const ei_node * n, int32_t k, int64_t numel) {
    const ei_tensor * t = ei_node_input_const(g, n, k);
    if (!t || t->dtype != EI_DTYPE_F32 || ei_shape_numel(&t->shape) != numel) return NULL;
    return t->data;
}

static ei_status * fold_one(ei_graph * g, int32_t ci, int32_t bi, bool * done) {
    *done = false;
    const ei_node *   c = &g->nodes[ci];
    const ei_node *   bn = &g->nodes[bi];
    bool              transposed = !strcmp(c->op_type, "ConvTranspose");
    const ei_tensor * w = ei_node_input_const(g, c, 1);
    if (!w || w->dtype != EI_DTYPE_F32 || w->shape.rank < 3) return NULL;
    int64_t group;
    EI_TRY(ei_attr_get_int(c, "group", 1, &group));
    int64_t m = transposed ? w->shape.dim[1] * group : w->shape.dim[0];
    int64_t training;
    float   eps;
    EI_TRY(ei_attr_get_int(bn, "training_mode", 0, &training));
    EI_TRY(ei_attr_get_float(bn, "epsilon", 1e-5f, &eps));
    if (training || bn->n_inputs != 5) return NULL;
    for (int32_t k = 1; k < bn->n_outputs; k++)
        if (bn->outputs[k] >= 0 && ei_graph_use_count(g, bn->outputs[k]) > 0) return NULL;
    const float * scale = const_f32(g, bn, 1, m), *bias = const_f32(g, bn, 2, m);
    const float * mean = const_f32(g, bn, 3, m), *var = const_f32(g, bn, 4, m);
    const float * b = c->n_inputs > 2 && c->inputs[2] >= 0 ? const_f32(g, c, 2, m) : NULL;
    if (!scale || !bias || !mean || !var || (c->n_inputs > 2 && c->inputs[2] >= 0 && !b)) return NULL;

    ei_tensor *w2 = NULL, *b2 = NULL;
    ei_shape   bs = {.rank = 1, .dim = {m}};
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, &w->shape, &w2));
    ei_status * st = ei_tensor_create(EI_DTYPE_F32, &bs, &b2);
    if (st) {
        ei_tensor_destroy(w2);
        return st;
    }
    const float * ws = w->data;
    float *       wd = w2->data;
    float *       bd = b2->data;
    double *      s = malloc((size_t)m * sizeof *s);
    if (!s) {
        ei_tensor_destroy(w2);
        ei_tensor_destroy(b2);
        return ei_status_oom();
    }
    for (int64_t o = 0; o < m; o++) {
        s[o] = (double)scale[o] / sqrt((double)var[o] + (double)eps);
        bd[o] = (float)(s[o] * ((b ? (double)b[o] : 0.0) - (double)mean[o]) + (double)bias[o]);
    }
    int64_t numel = ei_shape_numel(&w->shape);
    if (!transposed) { /* W: [M, C/group, k...] */
        int64_t per = numel / m;
        for (int64_t i = 0; i < numel; i++) wd[i] = (float)((double)ws[i] * s[i / per]);
    } else { /* W: [C, M/group, k...]; output channel = (c / (C/group)) * (M/group) + j */
        int64_t cin = w->shape.dim[0], mg = w->shape.dim[1], per = numel / (cin * mg), cg = cin / group;
        for (int64_t i = 0; i < numel; i++) {
            int64_t ch = i / (mg * per), j = (i / per) % mg;
            wd[i] = (float)((double)ws[i] * s[(ch / cg) * mg + j]);
        }
    }
    free(s);
    char    name[256];
    int32_t wv, bv;
    snprintf(name, sizeof name, "%s_bnfold_W", c->name);
    EI_TRY(ei_graph_constant_add(g, name, w2, &wv));
    snprintf(name, sizeof name, "%s_bnfold_B", g->nodes[ci].name);
    EI_TRY(ei_graph_constant_add(g, name, b2, &bv));
    ei_node * cn = &g->nodes[ci];
    cn->inputs[1] = wv;
    EI_TRY(ei_node_set_input(cn, 2, bv));
    ei_pass_retarget_output(g, ci, g->nodes[bi].outputs[0]);
    ei_graph_node_remove(g, bi);
    *done = true;
    return NULL;
}

ei_status * ei_pass_fold_bn_into_conv(ei_graph * g, int32_t * applied) {
    *applied = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!ei_pass_is_op(n, "Conv") && !ei_pass_is_op(n, "ConvTranspose")) continue;
        if (n->n_outputs != 1 || n->outputs[0] < 0 || g->values[n->outputs[0]].dtype != EI_DTYPE_F32) continue;
        if (ei_node_attr(n, "ei.activation") || ei_node_attr(n, "ei.residual")) continue;
        int32_t bi = ei_pass_sole_consumer_of(g, n->outputs[0], "BatchNormalization");
        if (bi < 0 || g->nodes[bi].inputs[0] != n->outputs[0]) continue;
        bool done;
        EI_TRY(fold_one(g, i, bi, &done));
        if (done) ++*applied;
    }
    return NULL;
}
