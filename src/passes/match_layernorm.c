/* Replaces the decomposed LayerNorm that exporters write for opsets before 17,
 *   mu = ReduceMean(x); d = x - mu; var = ReduceMean(Pow(d, 2)); y = d / Sqrt(var + eps) * scale + bias
 * over the last axis, with one LayerNormalization node (opset 17, axis -1). */
#include <stdio.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

/* A ReduceMean over exactly the last axis of its input, keeping dims. */
static bool mean_last_axis(const ei_graph * g, const ei_node * r) {
    if (!ei_pass_is_op(r, "ReduceMean") || r->inputs[0] < 0) return false;
    int32_t         rank = g->values[r->inputs[0]].shape.rank;
    int64_t         keep, axis;
    const int64_t * axes;
    int32_t         count;
    ei_status *     st = ei_attr_get_int(r, "keepdims", 1, &keep);
    if (!st) st = ei_attr_get_ints(r, "axes", &axes, &count);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    if (count == 1) {
        axis = axes[0];
    } else if (count < 0 && r->n_inputs > 1 && r->inputs[1] >= 0) {
        const ei_tensor * t = g->values[r->inputs[1]].constant;
        if (!t || t->dtype != EI_DTYPE_I64 || ei_shape_numel(&t->shape) != 1) return false;
        axis = *(const int64_t *)t->data;
    } else {
        return false;
    }
    return keep == 1 && rank >= 1 && (axis == -1 || axis == rank - 1);
}

/* The constant of shape [D] (or broadcastable [1.., D]) that binary node n applies besides v. */
static int32_t vector_const(const ei_graph * g, const ei_node * n, int32_t v, int64_t d) {
    int32_t c = ei_pass_other_input(n, v);
    if (c < 0 || !g->values[c].constant || g->values[c].dtype != EI_DTYPE_F32) return -1;
    const ei_shape * s = &g->values[c].shape;
    if (s->rank != 1 || s->dim[0] != d) return -1;
    return c;
}

static ei_status * match_one(ei_graph * g, int32_t r1, bool * done) {
    *done = false;
    const ei_node * rn = &g->nodes[r1];
    if (!mean_last_axis(g, rn)) return NULL;
    int32_t x = rn->inputs[0], mu = rn->outputs[0];
    if (g->values[x].dtype != EI_DTYPE_F32) return NULL;
    int64_t d = g->values[x].shape.dim[g->values[x].shape.rank - 1];
    int32_t s = ei_pass_sole_consumer_of(g, mu, "Sub");
    if (s < 0 || g->nodes[s].inputs[0] != x || g->nodes[s].inputs[1] != mu) return NULL;
    int32_t dv = g->nodes[s].outputs[0], cons[3];
    if (ei_graph_use_count(g, dv) != 2 || ei_graph_consumers(g, dv, cons, 3) != 2) return NULL;
    int32_t p = ei_pass_is_op(&g->nodes[cons[0]], "Pow") ? cons[0] : cons[1];
    int32_t div = p == cons[0] ? cons[1] : cons[0];
    if (!ei_pass_is_op(&g->nodes[p], "Pow") || !ei_pass_is_op(&g->nodes[div], "Div")) return NULL;
    if (g->nodes[p].inputs[0] != dv || !ei_pass_const_near(g, g->nodes[p].inputs[1], 2.0f, 0.0f)) return NULL;
    int32_t r2 = ei_graph_single_consumer(g, g->nodes[p].outputs[0]);
    if (r2 < 0 || !mean_last_axis(g, &g->nodes[r2])) return NULL;
    int32_t add = ei_pass_sole_consumer_of(g, g->nodes[r2].outputs[0], "Add");
    float   eps;
    if (add < 0 || !ei_pass_const_scalar(g, ei_pass_other_input(&g->nodes[add], g->nodes[r2].outputs[0]), &eps))
        return NULL;
    int32_t sq = ei_pass_sole_consumer_of(g, g->nodes[add].outputs[0], "Sqrt");
    if (sq < 0 || ei_graph_single_consumer(g, g->nodes[sq].outputs[0]) != div) return NULL;
    if (g->nodes[div].inputs[0] != dv || g->nodes[div].inputs[1] != g->nodes[sq].outputs[0]) return NULL;
    int32_t mul = ei_pass_sole_consumer_of(g, g->nodes[div].outputs[0], "Mul");
    if (mul < 0) return NULL;
    int32_t scale = vector_const(g, &g->nodes[mul], g->nodes[div].outputs[0], d);
    if (scale < 0) return NULL;
    int32_t badd = ei_pass_sole_consumer_of(g, g->nodes[mul].outputs[0], "Add");
    if (badd < 0) return NULL;
    int32_t bias = vector_const(g, &g->nodes[badd], g->nodes[mul].outputs[0], d);
    if (bias < 0) return NULL;
    int32_t y = g->nodes[badd].outputs[0];
    if (!ei_shape_equal(&g->values[y].shape, &g->values[x].shape)) return NULL;

    int32_t old[] = {r1, s, p, r2, add, sq, div, mul, badd};
    char    name[256];
    snprintf(name, sizeof name, "%s_layernorm", g->nodes[r1].name);
    for (size_t k = 0; k < sizeof old / sizeof old[0]; k++) ei_graph_node_remove(g, old[k]);
    int32_t in[3] = {x, scale, bias}, ln;
    EI_TRY(ei_graph_node_new(g, "LayerNormalization", name, 17, in, 3, &y, 1, &ln));
    EI_TRY(ei_node_set_attr_int(&g->nodes[ln], "axis", -1));
    EI_TRY(ei_node_set_attr_float(&g->nodes[ln], "epsilon", eps));
    EI_TRY(ei_node_reimport(&g->nodes[ln]));
    *done = true;
    return NULL;
}

ei_status * ei_pass_match_layernorm(ei_graph * g, int32_t * applied) {
    *applied = 0;
    int32_t n = g->n_nodes; /* nodes added by the pass are not visited */
    for (int32_t i = 0; i < n; i++) {
        bool done;
        EI_TRY(match_one(g, i, &done));
        if (done) ++*applied;
    }
    return NULL;
}
