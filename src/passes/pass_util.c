#include "passes/pass_util.h"

#include <math.h>
#include <string.h>

#include "ir/graph_edit.h"

bool ei_pass_is_op(const ei_node * n, const char * op_type) {
    return !ei_node_is_removed(n) && !n->folded && n->domain[0] == '\0' && !strcmp(n->op_type, op_type);
}

int32_t ei_pass_sole_consumer_of(const ei_graph * g, int32_t v, const char * op_type) {
    int32_t c = ei_graph_single_consumer(g, v);
    return c >= 0 && ei_pass_is_op(&g->nodes[c], op_type) ? c : -1;
}

bool ei_pass_const_scalar(const ei_graph * g, int32_t v, float * out) {
    if (v < 0) return false;
    const ei_tensor * t = g->values[v].constant;
    if (!t || t->dtype != EI_DTYPE_F32 || ei_shape_numel(&t->shape) != 1) return false;
    *out = *(const float *)t->data;
    return true;
}

bool ei_pass_transpose_perm(const ei_node * n, int32_t rank, int32_t * perm) {
    const int64_t * p;
    int32_t         np;
    ei_status *     st = ei_attr_get_ints(n, "perm", &p, &np);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    if (np < 0) {
        for (int32_t i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return true;
    }
    if (np != rank) return false;
    bool seen[EI_MAX_RANK] = {false};
    for (int32_t i = 0; i < rank; i++) {
        if (p[i] < 0 || p[i] >= rank || seen[p[i]]) return false;
        seen[p[i]] = true;
        perm[i] = (int32_t)p[i];
    }
    return true;
}

bool ei_pass_const_near(const ei_graph * g, int32_t v, float want, float tol) {
    float x;
    return ei_pass_const_scalar(g, v, &x) && fabsf(x - want) <= tol;
}

int32_t ei_pass_other_input(const ei_node * n, int32_t v) {
    if (n->n_inputs != 2) return -1;
    if (n->inputs[0] == v && n->inputs[1] != v) return n->inputs[1];
    if (n->inputs[1] == v && n->inputs[0] != v) return n->inputs[0];
    return -1;
}

void ei_pass_retarget_output(ei_graph * g, int32_t idx, int32_t to) {
    ei_node * n = &g->nodes[idx];
    int32_t   old = n->outputs[0];
    if (old >= 0 && g->values[old].producer == idx) g->values[old].producer = -1;
    n->outputs[0] = to;
    g->values[to].producer = idx;
}

bool ei_pass_bypass(ei_graph * g, int32_t idx, int32_t in, int32_t out) {
    const ei_value * vo = &g->values[out];
    if (!(vo->flags & EI_VALUE_GRAPH_OUTPUT)) {
        ei_graph_replace_uses(g, out, in);
        ei_graph_node_remove(g, idx);
        return true;
    }
    /* `out` is a graph output: rename by letting in's producer write it. */
    const ei_value * vi = &g->values[in];
    int32_t          p = ei_graph_live_producer(g, in);
    if (p < 0 || vi->constant || (vi->flags & (EI_VALUE_GRAPH_OUTPUT | EI_VALUE_GRAPH_INPUT))) return false;
    ei_node * pn = &g->nodes[p];
    int32_t   k = 0;
    while (k < pn->n_outputs && pn->outputs[k] != in) k++;
    if (k == pn->n_outputs) return false;
    ei_graph_node_remove(g, idx);
    ei_graph_replace_uses(g, in, out);
    pn->outputs[k] = out;
    g->values[out].producer = p;
    g->values[in].producer = -1;
    return true;
}

bool ei_pass_find_gelu(const ei_graph * g, int32_t div_idx, ei_gelu_match * m) {
    const ei_node * d = &g->nodes[div_idx];
    if (d->n_inputs != 2 || d->n_outputs != 1) return false;
    if (ei_pass_is_op(d, "Div")) {
        if (!ei_pass_const_near(g, d->inputs[1], 1.41421356f, 1e-4f)) return false;
    } else if (ei_pass_is_op(d, "Mul")) {
        if (!ei_pass_const_near(g, d->inputs[1], 0.70710678f, 1e-5f)) return false;
    } else {
        return false;
    }
    int32_t x = d->inputs[0];
    int32_t e = ei_pass_sole_consumer_of(g, d->outputs[0], "Erf");
    if (e < 0) return false;
    int32_t a = ei_pass_sole_consumer_of(g, g->nodes[e].outputs[0], "Add");
    if (a < 0) return false;
    int32_t ev = g->nodes[e].outputs[0], av = g->nodes[a].outputs[0];
    if (!ei_pass_const_near(g, ei_pass_other_input(&g->nodes[a], ev), 1.0f, 1e-6f)) return false;
    int32_t m1 = ei_pass_sole_consumer_of(g, av, "Mul");
    if (m1 < 0) return false;
    int32_t other = ei_pass_other_input(&g->nodes[m1], av);
    int32_t m2 = -1;
    if (other == x) { /* (x * A) * 0.5 */
        m2 = ei_pass_sole_consumer_of(g, g->nodes[m1].outputs[0], "Mul");
        if (m2 < 0 || !ei_pass_const_near(g, ei_pass_other_input(&g->nodes[m2], g->nodes[m1].outputs[0]), 0.5f, 1e-6f))
            return false;
    } else if (ei_pass_const_near(g, other, 0.5f, 1e-6f)) { /* x * (A * 0.5) */
        m2 = ei_pass_sole_consumer_of(g, g->nodes[m1].outputs[0], "Mul");
        if (m2 < 0 || ei_pass_other_input(&g->nodes[m2], g->nodes[m1].outputs[0]) != x) return false;
    } else { /* (x * 0.5) * A: m1 here is the last Mul */
        int32_t h = other >= 0 ? g->values[other].producer : -1;
        if (h < 0 || !ei_pass_is_op(&g->nodes[h], "Mul") || ei_graph_single_consumer(g, other) != m1) return false;
        if (ei_pass_other_input(&g->nodes[h], x) < 0 ||
            !ei_pass_const_near(g, ei_pass_other_input(&g->nodes[h], x), 0.5f, 1e-6f))
            return false;
        m2 = m1;
        m1 = h;
    }
    m->x = x;
    m->y = g->nodes[m2].outputs[0];
    m->nodes[0] = div_idx;
    m->nodes[1] = e;
    m->nodes[2] = a;
    m->nodes[3] = m1;
    m->nodes[4] = m2;
    /* x must have the right shape to stay elementwise: the constants are scalars, so the result has
     * x's shape whenever every node is elementwise, which the checks above ensure. */
    return g->values[m->y].dtype == EI_DTYPE_F32 && ei_shape_equal(&g->values[m->y].shape, &g->values[x].shape);
}
