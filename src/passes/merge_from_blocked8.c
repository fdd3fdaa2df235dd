/* Runs after the layout plan and merges what follows its ei.FromBlocked8 conversions into them:
 *   - a channel Concat whose inputs all come from ei.FromBlocked8 nodes (detection heads: boxes 4,
 *     objectness 1, classes 80 channels, which cannot be concatenated blocked) becomes one
 *     ei.FromBlocked8 with several inputs that unpacks each into its channel range;
 *   - a Transpose to NHWC (perm 0, 2, 3, 1) of an ei.FromBlocked8 output becomes that conversion
 *     with nhwc = 1, which writes NHWC straight from the blocks (SSD heads, and YOLOX's after
 *     sink_transpose.c); also when a Reshape first splits the channels into [anchors, values]
 *     and the Transpose moves those behind H and W (torchvision's SSD heads).
 * The values in between must have no other reader. */
#include <stdio.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "ops/blocked8.h"
#include "ops/op.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

#define EI_MERGE_MAX_INPUTS 64

/* The ei.FromBlocked8 (NCHW) producing v when v has no other reader, else -1. */
static int32_t from_blocked_of(const ei_graph * g, int32_t v) {
    if (v < 0 || ei_graph_use_count(g, v) != 1) return -1;
    int32_t p = ei_graph_live_producer(g, v);
    if (p < 0 || g->nodes[p].def != &ei_op_def_FROM_BLOCKED8 || g->nodes[p].outputs[0] != v) return -1;
    int64_t     nhwc;
    ei_status * st = ei_attr_get_int(&g->nodes[p], "nhwc", 0, &nhwc);
    if (st) {
        ei_status_destroy(st);
        return -1;
    }
    return nhwc ? -1 : p;
}

/* Appends the channel counts of ei.FromBlocked8 node n to ch[*count...]. */
static bool channels_of(const ei_node * n, int64_t * ch, int32_t * count) {
    const ei_attr * a = ei_node_attr(n, "channels");
    if (!a || *count + n->n_inputs > EI_MERGE_MAX_INPUTS) return false;
    if (a->type == EI_ATTR_INT && n->n_inputs == 1) {
        ch[(*count)++] = a->i;
        return true;
    }
    if (a->type != EI_ATTR_INTS || a->n != n->n_inputs) return false;
    for (int32_t k = 0; k < a->n; k++) ch[(*count)++] = a->ints[k];
    return true;
}

static ei_status * merge_concat(ei_graph * g, int32_t ci, bool * done) {
    *done = false;
    const ei_node * cat = &g->nodes[ci];
    int64_t         axis;
    EI_TRY(ei_attr_get_int(cat, "axis", 0, &axis));
    if ((axis != 1 && axis != -3) || cat->n_outputs != 1 || cat->n_inputs < 1 || cat->n_inputs > EI_MERGE_MAX_INPUTS)
        return NULL;
    int32_t from[EI_MERGE_MAX_INPUTS], ins[EI_MERGE_MAX_INPUTS], n_in = 0;
    int64_t ch[EI_MERGE_MAX_INPUTS];
    for (int32_t k = 0; k < cat->n_inputs; k++) {
        from[k] = from_blocked_of(g, cat->inputs[k]);
        if (from[k] < 0) return NULL;
        for (int32_t j = 0; j < k; j++)
            if (from[j] == from[k]) return NULL;
        int32_t before = n_in;
        if (!channels_of(&g->nodes[from[k]], ch, &n_in)) return NULL;
        for (int32_t j = 0; j < g->nodes[from[k]].n_inputs; j++) ins[before + j] = g->nodes[from[k]].inputs[j];
    }
    char    name[256];
    int32_t out = cat->outputs[0], n_from = cat->n_inputs, idx;
    int64_t opset = cat->opset;
    snprintf(name, sizeof name, "%s.from_b8", cat->name);
    for (int32_t k = 0; k < n_from; k++) ei_graph_node_remove(g, from[k]);
    ei_graph_node_remove(g, ci);
    EI_TRY(ei_graph_node_new(g, "ei.FromBlocked8", name, opset, ins, n_in, &out, 1, &idx));
    EI_TRY(ei_node_set_attr_ints(&g->nodes[idx], "channels", ch, n_in));
    EI_TRY(ei_node_reimport(&g->nodes[idx]));
    *done = true;
    return NULL;
}

/* Whether perm moves axes 1 .. rank-3 behind the last two: (0, r-2, r-1, 1, ..., r-3), the NHWC
 * transpose of a tensor whose channel axis a Reshape split into rank - 3 factors. */
static bool is_nhwc_perm(const int64_t * perm, int32_t rank) {
    if (rank < 4 || perm[0] != 0 || perm[1] != rank - 2 || perm[2] != rank - 1) return false;
    for (int32_t k = 3; k < rank; k++)
        if (perm[k] != k - 2) return false;
    return true;
}

/* SSD heads: v [N, C, H, W] from ei.FromBlocked8, optionally Reshape to [N, c1, ..., cm, H, W]
 * (c1 * ... * cm = C), then Transpose to [N, H, W, c1, ..., cm]. The conversion writes NHWC
 * [N, H, W, C] and the Reshape (if any) gives it the transpose's shape. */
static ei_status * merge_transpose(ei_graph * g, int32_t ti, bool * done) {
    *done = false;
    const ei_node * t = &g->nodes[ti];
    if (t->n_inputs != 1 || t->n_outputs != 1) return NULL;
    const int64_t * perm;
    int32_t         np;
    EI_TRY(ei_attr_get_ints(t, "perm", &perm, &np));
    if (!is_nhwc_perm(perm, np)) return NULL;
    int32_t w = t->inputs[0], ri = -1, v = w, out = t->outputs[0];
    if (np > 4) { /* through the Reshape that split the channels */
        ri = ei_graph_live_producer(g, w);
        if (ri < 0 || !ei_pass_is_op(&g->nodes[ri], "Reshape") || ei_graph_use_count(g, w) != 1) return NULL;
        v = g->nodes[ri].inputs[0];
    }
    int32_t f = from_blocked_of(g, v);
    if (f < 0) return NULL;
    ei_shape        vsh = g->values[v].shape, wsh = g->values[w].shape; /* copies: adding values moves them */
    const ei_shape *vs = &vsh, *ws = &wsh;
    if (!g->values[v].shape_known || vs->rank != 4 || !g->values[w].shape_known || ws->rank != np) return NULL;
    if (ri >= 0) {
        int64_t c = 1;
        for (int32_t k = 1; k < np - 2; k++) c *= ws->dim[k];
        if (ws->dim[0] != vs->dim[0] || c != vs->dim[1] || ws->dim[np - 2] != vs->dim[2] ||
            ws->dim[np - 1] != vs->dim[3])
            return NULL;
        for (int32_t k = 0; k < np; k++)
            if (ws->dim[k] < 1) return NULL; /* a 0 in Reshape's shape would copy */
    }
    ei_graph_node_remove(g, ti);
    if (ri < 0) {
        ei_pass_retarget_output(g, f, out);
    } else {
        char        name[256];
        int32_t     u, s;
        ei_tensor * shape = NULL;
        ei_shape    ss = {.rank = 1, .dim = {np}};
        int64_t     dims[EI_MAX_RANK];
        dims[0] = ws->dim[0]; /* [N, H, W, c1, ..., cm]: perm, which went with the Transpose */
        dims[1] = ws->dim[np - 2];
        dims[2] = ws->dim[np - 1];
        for (int32_t k = 3; k < np; k++) dims[k] = ws->dim[k - 2];
        snprintf(name, sizeof name, "%s.nhwc", g->values[v].name);
        EI_TRY(ei_graph_value_add_unique(g, name, &u));
        ei_pass_retarget_output(g, f, u);
        EI_TRY(ei_tensor_create(EI_DTYPE_I64, &ss, &shape));
        memcpy(shape->data, dims, (size_t)np * sizeof dims[0]);
        snprintf(name, sizeof name, "%s.nhwc_shape", g->values[v].name);
        EI_TRY(ei_graph_constant_add(g, name, shape, &s));
        ei_node * r = &g->nodes[ri];
        r->inputs[0] = u;
        r->inputs[1] = s;
        ei_pass_retarget_output(g, ri, out);
    }
    EI_TRY(ei_node_set_attr_int(&g->nodes[f], "nhwc", 1));
    EI_TRY(ei_node_reimport(&g->nodes[f]));
    *done = true;
    return NULL;
}

ei_status * ei_pass_merge_from_blocked8(ei_graph * g, int32_t * applied) {
    *applied = 0;
    int32_t n = g->n_nodes; /* the nodes this pass adds are no candidates */
    for (int32_t i = 0; i < n; i++) {
        if (!ei_pass_is_op(&g->nodes[i], "Concat")) continue;
        bool done;
        EI_TRY(merge_concat(g, i, &done));
        if (done) ++*applied;
    }
    n = g->n_nodes;
    for (int32_t i = 0; i < n; i++) {
        if (!ei_pass_is_op(&g->nodes[i], "Transpose")) continue;
        bool done;
        EI_TRY(merge_transpose(g, i, &done));
        if (done) ++*applied;
    }
    return NULL;
}
