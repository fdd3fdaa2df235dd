/* Moves the transpose at the end of a detection head to the feature maps it is made of. YOLOX
 * flattens each scale's [N, C, H, W] map to [N, C, H*W], concatenates the scales along the last
 * axis and transposes the result to [N, sum H*W, C]: one strided pass over the whole output.
 * Transposing each map to NHWC first gives the same tensor,
 *     Transpose(Concat_2(Reshape(x_i, [N, C, HW_i])), [0, 2, 1])
 *         = Concat_1(Reshape(Transpose(x_i, [0, 2, 3, 1]), [N, HW_i, C])),
 * and a transpose to NHWC right after the blocked layout's ei.FromBlocked8 is merged into it
 * (merge_from_blocked8.c), which writes NHWC directly. Intermediate values must have no other
 * reader; anything else leaves the graph untouched. */
#include <stdio.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

static bool has_perm(const ei_node * n, const int64_t * want, int32_t count) {
    int32_t perm[EI_MAX_RANK];
    if (!ei_pass_transpose_perm(n, count, perm)) return false;
    for (int32_t i = 0; i < count; i++)
        if (perm[i] != want[i]) return false;
    return true;
}

/* Value v, produced by a Reshape of a 4-D float x [N, C, H, W] to [N, C, H*W] and read only once:
 * that Reshape's index, else -1. */
static int32_t flattening_reshape(const ei_graph * g, int32_t v) {
    if (v < 0 || ei_graph_use_count(g, v) != 1) return -1;
    int32_t p = ei_graph_live_producer(g, v);
    if (p < 0 || !ei_pass_is_op(&g->nodes[p], "Reshape") || g->nodes[p].outputs[0] != v) return -1;
    const ei_value * x = ei_node_input(g, &g->nodes[p], 0);
    const ei_value * y = &g->values[v];
    if (!x || !x->shape_known || x->dtype != EI_DTYPE_F32 || x->shape.rank != 4) return -1;
    if (!y->shape_known || y->shape.rank != 3) return -1;
    const int64_t * d = x->shape.dim;
    if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[3] < 1) return -1; /* a 0 in Reshape's shape copies */
    return y->shape.dim[0] == d[0] && y->shape.dim[1] == d[1] && y->shape.dim[2] == d[2] * d[3] ? p : -1;
}

/* A new float value of shape s named after base. */
static ei_status * new_value(ei_graph * g, const char * base, const ei_shape * s, int32_t * v) {
    EI_TRY(ei_graph_value_add_unique(g, base, v));
    g->values[*v].dtype = EI_DTYPE_F32;
    g->values[*v].shape = *s;
    g->values[*v].shape_known = true;
    return NULL;
}

/* Transpose to NHWC and Reshape to [N, H*W, C] of x, the Concat input for Reshape node ri. */
static ei_status * nhwc_rows(ei_graph * g, int32_t ri, int64_t opset, int32_t * rows) {
    char     name[256];
    int32_t  x = g->nodes[ri].inputs[0], t, s, idx;
    ei_shape xs = g->values[x].shape;
    ei_shape ts = {.rank = 4, .dim = {xs.dim[0], xs.dim[2], xs.dim[3], xs.dim[1]}};
    ei_shape rs = {.rank = 3, .dim = {xs.dim[0], xs.dim[2] * xs.dim[3], xs.dim[1]}};
    snprintf(name, sizeof name, "%s.nhwc", g->values[x].name);
    EI_TRY(new_value(g, name, &ts, &t));
    snprintf(name, sizeof name, "%s.to_nhwc", g->values[x].name);
    EI_TRY(ei_graph_node_new(g, "Transpose", name, opset, &x, 1, &t, 1, &idx));
    static const int64_t perm[4] = {0, 2, 3, 1};
    EI_TRY(ei_node_set_attr_ints(&g->nodes[idx], "perm", perm, 4));
    EI_TRY(ei_node_reimport(&g->nodes[idx]));

    ei_shape    ss = {.rank = 1, .dim = {3}};
    ei_tensor * shape = NULL;
    EI_TRY(ei_tensor_create(EI_DTYPE_I64, &ss, &shape));
    memcpy(shape->data, rs.dim, 3 * sizeof rs.dim[0]);
    snprintf(name, sizeof name, "%s.rows_shape", g->values[x].name);
    EI_TRY(ei_graph_constant_add(g, name, shape, &s));
    snprintf(name, sizeof name, "%s.rows", g->values[x].name);
    EI_TRY(new_value(g, name, &rs, rows));
    int32_t ins[2] = {t, s};
    snprintf(name, sizeof name, "%s.to_rows", g->values[x].name);
    EI_TRY(ei_graph_node_new(g, "Reshape", name, opset, ins, 2, rows, 1, &idx));
    return ei_node_reimport(&g->nodes[idx]);
}

static ei_status * sink_one(ei_graph * g, int32_t ti, bool * done) {
    *done = false;
    static const int64_t swap[3] = {0, 2, 1};
    const ei_node *      t = &g->nodes[ti];
    if (t->n_inputs != 1 || t->n_outputs != 1 || !has_perm(t, swap, 3)) return NULL;
    int32_t u = t->inputs[0];
    int32_t ci = ei_graph_live_producer(g, u);
    if (ci < 0 || ei_graph_use_count(g, u) != 1 || !ei_pass_is_op(&g->nodes[ci], "Concat")) return NULL;
    const ei_node * cat = &g->nodes[ci];
    int64_t         axis;
    EI_TRY(ei_attr_get_int(cat, "axis", 0, &axis));
    if ((axis != 2 && axis != -1) || cat->n_outputs != 1 || cat->n_inputs < 1 || cat->n_inputs > 64) return NULL;
    int32_t reshapes[64], n = cat->n_inputs;
    for (int32_t k = 0; k < n; k++) {
        reshapes[k] = flattening_reshape(g, cat->inputs[k]);
        if (reshapes[k] < 0) return NULL;
        for (int32_t j = 0; j < k; j++)
            if (reshapes[j] == reshapes[k]) return NULL;
    }
    int64_t opset = t->opset, opset_c = cat->opset; /* the Reshapes read their shape: opset >= 5 */
    int32_t out = t->outputs[0], rows[64], idx;
    char    name[256];
    snprintf(name, sizeof name, "%s", cat->name);
    for (int32_t k = 0; k < n; k++) EI_TRY(nhwc_rows(g, reshapes[k], opset, &rows[k]));
    for (int32_t k = 0; k < n; k++) ei_graph_node_remove(g, reshapes[k]);
    ei_graph_node_remove(g, ci);
    ei_graph_node_remove(g, ti);
    EI_TRY(ei_graph_node_new(g, "Concat", name, opset_c, rows, n, &out, 1, &idx));
    EI_TRY(ei_node_set_attr_int(&g->nodes[idx], "axis", 1));
    EI_TRY(ei_node_reimport(&g->nodes[idx]));
    *done = true;
    return NULL;
}

ei_status * ei_pass_sink_transpose(ei_graph * g, int32_t * applied) {
    *applied = 0;
    int32_t n = g->n_nodes; /* the nodes this pass adds are no candidates */
    for (int32_t i = 0; i < n; i++) {
        if (!ei_pass_is_op(&g->nodes[i], "Transpose")) continue;
        bool done;
        EI_TRY(sink_one(g, i, &done));
        if (done) ++*applied;
    }
    return NULL;
}
