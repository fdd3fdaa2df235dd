/* Runs after merge_from_blocked8.c and removes the Concat that gathers detection heads:
 *
 *   ei.FromBlocked8 (nhwc = 1) -> Reshape ... -> Concat <- Reshape ... <- ei.FromBlocked8 (nhwc = 1)
 *
 * (torchvision's SSD heads: per level [N, H, W, A * K] NHWC, reshaped to [N, H * W * A, K] and
 * concatenated along axis 1). Each image of the Concat's output is then the concatenation of the
 * levels' NHWC images, flattened, because Reshape keeps the element order and every dimension in
 * front of the axis multiplies to N. One ei.FromBlocked8 with flat = 1 writes each level straight
 * into its slice of the output (ops/blocked8.c): the Reshapes and the Concat's copy disappear.
 *
 * Conditions: each Concat input comes through Reshape / Flatten / Squeeze / Unsqueeze nodes (or
 * none) from an ei.FromBlocked8 with one input and nhwc = 1, every value on the way read only
 * there; all levels have the same N; the dimensions before the axis multiply to N in the output
 * and in every input. */
#include <stdio.h>

#include "ir/graph_edit.h"
#include "ops/op.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

#define EI_CONCAT_B8_MAX_INPUTS 64

static bool is_reshape_like(const ei_node * n) {
    return ei_pass_is_op(n, "Reshape") || ei_pass_is_op(n, "Flatten") || ei_pass_is_op(n, "Squeeze") ||
           ei_pass_is_op(n, "Unsqueeze");
}

/* Product of dims [0, axis). */
static int64_t outer(const ei_shape * s, int32_t axis) {
    int64_t p = 1;
    for (int32_t k = 0; k < axis; k++) p *= s->dim[k];
    return p;
}

static int64_t attr_or(const ei_node * n, const char * name, int64_t def) {
    int64_t     v;
    ei_status * st = ei_attr_get_int(n, name, def, &v);
    if (st) {
        ei_status_destroy(st);
        return -1;
    }
    return v;
}

/* The single-input NHWC ei.FromBlocked8 that v comes from through reshape-like nodes only read on
 * the way; -1 otherwise. The reshape-like nodes go to chain[*n_chain...]. */
static int32_t source_of(const ei_graph * g, int32_t v, int32_t * chain, int32_t * n_chain, int32_t max_chain) {
    for (;;) {
        if (v < 0 || ei_graph_use_count(g, v) != 1) return -1;
        int32_t p = ei_graph_live_producer(g, v);
        if (p < 0) return -1;
        const ei_node * n = &g->nodes[p];
        if (n->def == &ei_op_def_FROM_BLOCKED8)
            return n->n_inputs == 1 && n->n_outputs == 1 && attr_or(n, "nhwc", 0) == 1 && attr_or(n, "flat", 0) == 0
                       ? p
                       : -1;
        if (!is_reshape_like(n) || n->n_outputs != 1 || *n_chain >= max_chain) return -1;
        chain[(*n_chain)++] = p;
        v = n->inputs[0];
    }
}

static ei_status * rewrite_concat(ei_graph * g, int32_t ci, bool * done) {
    *done = false;
    const ei_node * cat = &g->nodes[ci];
    if (cat->n_outputs != 1 || cat->n_inputs < 1 || cat->n_inputs > EI_CONCAT_B8_MAX_INPUTS) return NULL;
    const ei_value * ov = &g->values[cat->outputs[0]];
    if (!ov->shape_known || ov->dtype != EI_DTYPE_F32) return NULL;
    int64_t axis = attr_or(cat, "axis", 0);
    if (axis < 0) axis += ov->shape.rank;
    if (axis < 0 || axis >= ov->shape.rank) return NULL;
    int32_t from[EI_CONCAT_B8_MAX_INPUTS], ins[EI_CONCAT_B8_MAX_INPUTS];
    int32_t chain[4 * EI_CONCAT_B8_MAX_INPUTS], n_chain = 0;
    int64_t ch[EI_CONCAT_B8_MAX_INPUTS], n_img = -1;
    for (int32_t k = 0; k < cat->n_inputs; k++) {
        int32_t v = cat->inputs[k];
        from[k] = source_of(g, v, chain, &n_chain, 4 * EI_CONCAT_B8_MAX_INPUTS);
        if (from[k] < 0 || !g->values[v].shape_known) return NULL;
        const ei_node * f = &g->nodes[from[k]];
        ins[k] = f->inputs[0];
        const ei_value * x = &g->values[ins[k]];
        const ei_attr *  a = ei_node_attr(f, "channels");
        if (!x->shape_known || x->shape.rank != 5 || !a) return NULL;
        if (a->type == EI_ATTR_INT)
            ch[k] = a->i;
        else if (a->type == EI_ATTR_INTS && a->n == 1)
            ch[k] = a->ints[0];
        else
            return NULL;
        if (n_img < 0) n_img = x->shape.dim[0];
        if (x->shape.dim[0] != n_img || outer(&g->values[v].shape, (int32_t)axis) != n_img) return NULL;
    }
    if (outer(&ov->shape, (int32_t)axis) != n_img) return NULL;
    char     name[256];
    int32_t  out = cat->outputs[0], n_in = cat->n_inputs, idx;
    int64_t  opset = cat->opset;
    ei_shape os = ov->shape;
    snprintf(name, sizeof name, "%s.from_b8", cat->name);
    for (int32_t k = 0; k < n_in; k++) ei_graph_node_remove(g, from[k]);
    for (int32_t k = 0; k < n_chain; k++) ei_graph_node_remove(g, chain[k]);
    ei_graph_node_remove(g, ci);
    EI_TRY(ei_graph_node_new(g, "ei.FromBlocked8", name, opset, ins, n_in, &out, 1, &idx));
    EI_TRY(ei_node_set_attr_ints(&g->nodes[idx], "channels", ch, n_in));
    EI_TRY(ei_node_set_attr_int(&g->nodes[idx], "nhwc", 1));
    EI_TRY(ei_node_set_attr_int(&g->nodes[idx], "flat", 1));
    EI_TRY(ei_node_set_attr_ints(&g->nodes[idx], "shape", os.dim, os.rank));
    EI_TRY(ei_node_reimport(&g->nodes[idx]));
    *done = true;
    return NULL;
}

ei_status * ei_pass_concat_from_blocked8(ei_graph * g, int32_t * applied) {
    *applied = 0;
    int32_t n = g->n_nodes, concats = 0, froms = 0; /* the nodes this pass adds are no candidates */
    for (int32_t i = 0; i < n; i++) {
        concats += ei_pass_is_op(&g->nodes[i], "Concat");
        froms += !ei_node_is_removed(&g->nodes[i]) && g->nodes[i].def == &ei_op_def_FROM_BLOCKED8;
    }
    if (!concats || !froms) return NULL;
    /* The values the layout passes added have no shapes until inference runs again. */
    EI_TRY(ei_graph_reinfer(g));
    for (int32_t i = 0; i < n; i++) {
        if (!ei_pass_is_op(&g->nodes[i], "Concat")) continue;
        bool done;
        EI_TRY(rewrite_concat(g, i, &done));
        if (done) ++*applied;
    }
    return NULL;
}
