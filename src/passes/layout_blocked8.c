/* The graph-level layout plan: finds regions where activations can stay in oneDNN's blocked nChw8c
 * layout (ops/blocked8.h) and rewrites them so that each conversion happens once, at a region's
 * edge, instead of twice per convolution.
 *
 * Walking the nodes in topological order, a node joins the blocked layout when
 *   - it is a 2-D Conv with constant weights (group 1, depthwise, or groups of multiples of 8
 *     channels): it becomes ei.ConvBlocked8, whatever its input's layout; or
 *   - one of its activation inputs is already blocked and the op gives the same result per channel
 *     on blocked data: elementwise activations, Add/Sub/Mul (operands of the same channel count, or
 *     a one-element constant; Div only by such a constant), Concat on channels (every input but
 *     the last a multiple of 8 channels, so that no padding lane lands inside), MaxPool and
 *     AveragePool (given a third window axis of size 1 over the lanes), GlobalAveragePool and
 *     GlobalMaxPool (rewritten as such a pool over H x W), nearest Resize by scales on H and W
 *     (given a fifth scale 1 over the lanes).
 * A blocked node writes a new 5-D value; the original 4-D value is then produced by an
 * ei.FromBlocked8 when anything plain (or the graph's output) still reads it. A plain value read by
 * a blocked node goes through one ei.ToBlocked8, except the input of a Conv whose channels are not a
 * multiple of 8 (an image), which oneDNN reads plain.
 *
 * Padding lanes: ei.ToBlocked8 and blocked convolutions write zeros there; the elementwise ops above
 * keep them finite (Sigmoid makes them 0.5); a Conv multiplies them by zero-padded weights, pooling
 * and elementwise ops never move a lane to another, and ei.FromBlocked8 drops them.
 *
 * Runs only when ei.ConvBlocked8 has a fast kernel (ei_cpu_has_blocked8_conv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/kernel_table.h"
#include "ir/graph_edit.h"
#include "ops/blocked8.h"
#include "ops/op.h"
#include "ops/resize_common.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

typedef enum role {
    ROLE_NONE,
    ROLE_CONV,
    ROLE_UNARY,
    ROLE_BINARY,
    ROLE_CONCAT,
    ROLE_POOL,
    ROLE_GLOBAL_POOL,
    ROLE_RESIZE,
} role;

typedef struct plan {
    ei_graph * g;
    int32_t    n_values; /* values that existed before the pass */
    int32_t *  twin;     /* per value: its blocked counterpart, or -1 */
    bool *     produced; /* per value: its producer runs blocked (twin is that producer's output) */
} plan;

static bool is_f32_4d(const ei_graph * g, int32_t v) {
    return v >= 0 && g->values[v].dtype == EI_DTYPE_F32 && g->values[v].shape.rank == 4;
}

static bool is_scalar_const(const ei_graph * g, int32_t v) {
    return v >= 0 && g->values[v].constant && g->values[v].dtype == EI_DTYPE_F32 &&
           ei_shape_numel(&g->values[v].shape) == 1 && g->values[v].shape.rank <= 4;
}

static bool conv_ok(const ei_graph * g, const ei_node * n) {
    if (n->n_outputs != 1 || n->outputs[0] < 0 || n->n_inputs < 2 || !is_f32_4d(g, n->inputs[0])) return false;
    const ei_value * w = &g->values[n->inputs[1]];
    if (n->inputs[1] < 0 || !w->constant || w->shape.rank != 4 || w->dtype != EI_DTYPE_F32) return false;
    int64_t     group;
    ei_status * st = ei_attr_get_int(n, "group", 1, &group);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    int64_t c = g->values[n->inputs[0]].shape.dim[1], m = w->shape.dim[0];
    if (group == 1) return true;
    if (group == c && m == c) return c % EI_BLOCK8 == 0; /* depthwise */
    return (c / group) % EI_BLOCK8 == 0 && (m / group) % EI_BLOCK8 == 0;
}

static bool clip_ok(const ei_graph * g, const ei_node * n) {
    for (int32_t k = 1; k < n->n_inputs; k++)
        if (n->inputs[k] >= 0 && !is_scalar_const(g, n->inputs[k])) return false;
    return true;
}

/* Add/Sub/Mul/Div: every operand the output's channel count (4-D) or a one-element constant. */
static bool binary_ok(const ei_graph * g, const ei_node * n, bool is_div) {
    if (n->n_inputs != 2 || !is_f32_4d(g, n->outputs[0])) return false;
    int64_t c = g->values[n->outputs[0]].shape.dim[1];
    for (int32_t k = 0; k < 2; k++) {
        int32_t v = n->inputs[k];
        if (is_scalar_const(g, v)) continue;
        if (is_div && k == 1) return false; /* padding lanes would divide by zero */
        if (!is_f32_4d(g, v) || g->values[v].shape.dim[1] != c) return false;
    }
    return true;
}

static bool concat_ok(const ei_graph * g, const ei_node * n) {
    int64_t axis;
    if (!is_f32_4d(g, n->outputs[0])) return false;
    ei_status * st = ei_attr_get_int(n, "axis", 0, &axis);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    if (axis != 1 && axis != -3) return false;
    for (int32_t k = 0; k < n->n_inputs; k++) {
        int32_t v = n->inputs[k];
        if (!is_f32_4d(g, v)) return false;
        if (k + 1 < n->n_inputs && g->values[v].shape.dim[1] % EI_BLOCK8) return false;
    }
    return true;
}

static bool pool_ok(const ei_graph * g, const ei_node * n) {
    if (n->n_outputs != 1 || !is_f32_4d(g, n->inputs[0])) return false;
    const ei_attr * k = ei_node_attr(n, "kernel_shape");
    return k && k->type == EI_ATTR_INTS && k->n == 2;
}

/* Resize (opset 11 on) in nearest mode by constant scales [1, 1, sh, sw], without roi or axes: the same resize of the
 * blocked tensor with scales [1, 1, sh, sw, 1] copies whole 8-lane pixels (its trailing unchanged axis is copied as one
 * block). */
static bool resize_ok(const ei_graph * g, const ei_node * n) {
    const ei_resize_params * p = n->params;
    if (!p || p->is_upsample || n->opset < 11 || n->n_outputs != 1 || !is_f32_4d(g, n->inputs[0])) return false;
    /* Coordinate transformations that map every index of an axis of scale 1 to itself, so that the
     * lanes are copied as the channels were. */
    bool coord_ok = p->coord == EI_COORD_ASYMMETRIC || p->coord == EI_COORD_HALF_PIXEL ||
                    p->coord == EI_COORD_PYTORCH_HALF_PIXEL || p->coord == EI_COORD_ALIGN_CORNERS;
    if (p->mode != EI_RESIZE_NEAREST || !coord_ok || p->n_axes >= 0) return false;
    if (p->in_scales < 0 || p->in_scales >= n->n_inputs ||
        (p->in_sizes >= 0 && p->in_sizes < n->n_inputs && n->inputs[p->in_sizes] >= 0))
        return false;
    if (p->in_roi >= 0 && p->in_roi < n->n_inputs && n->inputs[p->in_roi] >= 0) {
        const ei_tensor * roi = g->values[n->inputs[p->in_roi]].constant;
        if (!roi || ei_shape_numel(&roi->shape) != 0) return false;
    }
    const ei_tensor * sc = ei_node_input_const(g, n, p->in_scales);
    if (!sc || sc->dtype != EI_DTYPE_F32 || ei_shape_numel(&sc->shape) != 4) return false;
    const float * v = sc->data;
    return v[0] == 1.0f && v[1] == 1.0f && v[2] > 0.0f && v[3] > 0.0f;
}

static role role_of(const ei_graph * g, const ei_node * n) {
    if (n->folded || ei_node_is_removed(n) || n->n_inputs < 1 || n->n_outputs < 1 || n->outputs[0] < 0)
        return ROLE_NONE;
    const ei_op_def * d = n->def;
    if (d == &ei_op_def_CONV) return conv_ok(g, n) ? ROLE_CONV : ROLE_NONE;
    if (n->n_outputs != 1) return ROLE_NONE;
    if (d == &ei_op_def_RELU || d == &ei_op_def_LEAKY_RELU || d == &ei_op_def_SIGMOID || d == &ei_op_def_HARD_SIGMOID ||
        d == &ei_op_def_HARD_SWISH || d == &ei_op_def_TANH || d == &ei_op_def_ELU || d == &ei_op_def_SELU ||
        d == &ei_op_def_SOFTPLUS || d == &ei_op_def_MISH || d == &ei_op_def_GELU)
        return n->n_inputs == 1 && is_f32_4d(g, n->inputs[0]) ? ROLE_UNARY : ROLE_NONE;
    if (d == &ei_op_def_CLIP) return is_f32_4d(g, n->inputs[0]) && clip_ok(g, n) ? ROLE_UNARY : ROLE_NONE;
    if (d == &ei_op_def_ADD || d == &ei_op_def_SUB || d == &ei_op_def_MUL || d == &ei_op_def_DIV)
        return binary_ok(g, n, d == &ei_op_def_DIV) ? ROLE_BINARY : ROLE_NONE;
    if (d == &ei_op_def_CONCAT) return concat_ok(g, n) ? ROLE_CONCAT : ROLE_NONE;
    if (d == &ei_op_def_MAX_POOL || d == &ei_op_def_AVERAGE_POOL) return pool_ok(g, n) ? ROLE_POOL : ROLE_NONE;
    if (d == &ei_op_def_GLOBAL_AVERAGE_POOL || d == &ei_op_def_GLOBAL_MAX_POOL)
        return is_f32_4d(g, n->inputs[0]) ? ROLE_GLOBAL_POOL : ROLE_NONE;
    if (d == &ei_op_def_RESIZE) return resize_ok(g, n) ? ROLE_RESIZE : ROLE_NONE;
    return ROLE_NONE;
}

/* The inputs of n that carry activations (the others are weights or scalar constants). */
static bool is_activation_input(const ei_graph * g, const ei_node * n, role r, int32_t k) {
    int32_t v = n->inputs[k];
    if (v < 0) return false;
    switch (r) {
    case ROLE_CONV: return k == 0 || k == 3;
    case ROLE_UNARY:
    case ROLE_POOL:
    case ROLE_GLOBAL_POOL:
    case ROLE_RESIZE: return k == 0;
    case ROLE_BINARY: return !is_scalar_const(g, v);
    case ROLE_CONCAT: return true;
    case ROLE_NONE: return false;
    }
    return false;
}

/* The blocked counterpart of plain value v, adding one ei.ToBlocked8 the first time. */
static ei_status * blocked_of(plan * p, int32_t v, int64_t opset, int32_t * out) {
    if (p->twin[v] < 0) {
        ei_graph * g = p->g;
        char       name[256];
        int32_t    b, idx;
        snprintf(name, sizeof name, "%s.b8", g->values[v].name);
        EI_TRY(ei_graph_value_add_unique(g, name, &b));
        snprintf(name, sizeof name, "%s.to_b8", g->values[v].name);
        EI_TRY(ei_graph_node_new(g, "ei.ToBlocked8", name, opset, &v, 1, &b, 1, &idx));
        p->twin[v] = b;
    }
    *out = p->twin[v];
    return NULL;
}

/* Pools: a third window axis of size 1 over the lanes. */
static ei_status * rewrite_pool(ei_node * n) {
    static const char * const names[] = {"kernel_shape", "strides", "dilations"};
    for (int32_t i = 0; i < 3; i++) {
        const ei_attr * a = ei_node_attr(n, names[i]);
        if (!a) continue;
        if (a->type != EI_ATTR_INTS || a->n != 2) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "bad %s", names[i]);
        int64_t v[3] = {a->ints[0], a->ints[1], 1};
        EI_TRY(ei_node_set_attr_ints(n, names[i], v, 3));
    }
    const ei_attr * a = ei_node_attr(n, "pads");
    if (a) {
        if (a->type != EI_ATTR_INTS || a->n != 4) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "bad pads");
        int64_t v[6] = {a->ints[0], a->ints[1], 0, a->ints[2], a->ints[3], 0};
        EI_TRY(ei_node_set_attr_ints(n, "pads", v, 6));
    }
    return NULL;
}

/* Resize: scales [1, 1, sh, sw] -> [1, 1, sh, sw, 1]. */
static ei_status * rewrite_resize(ei_graph * g, int32_t idx) {
    const ei_resize_params * p = g->nodes[idx].params;
    int32_t                  k = p->in_scales, v;
    const float *            old = g->values[g->nodes[idx].inputs[k]].constant->data;
    ei_shape                 s = {.rank = 1, .dim = {5}};
    ei_tensor *              t = NULL;
    char                     name[256];
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, &s, &t));
    float * sc = t->data;
    for (int32_t i = 0; i < 4; i++) sc[i] = old[i];
    sc[4] = 1.0f;
    snprintf(name, sizeof name, "%s.scales_b8", g->nodes[idx].name);
    EI_TRY(ei_graph_constant_add(g, name, t, &v));
    g->nodes[idx].inputs[k] = v;
    return ei_node_reimport(&g->nodes[idx]);
}

static ei_status * rewrite_global_pool(ei_node * n, const ei_shape * xs) {
    int64_t k[3] = {xs->dim[2], xs->dim[3], 1};
    EI_TRY(ei_node_set_op(n, n->def == &ei_op_def_GLOBAL_MAX_POOL ? "MaxPool" : "AveragePool"));
    return ei_node_set_attr_ints(n, "kernel_shape", k, 3);
}

/* Moves node idx into the blocked layout. */
static ei_status * make_blocked(plan * p, int32_t idx, role r) {
    ei_graph * g = p->g;
    ei_shape   xs = g->values[g->nodes[idx].inputs[0]].shape; /* before input 0 becomes blocked */
    for (int32_t k = 0; k < g->nodes[idx].n_inputs; k++) {
        const ei_node * n = &g->nodes[idx];
        if (!is_activation_input(g, n, r, k)) continue;
        int32_t v = n->inputs[k];
        /* A Conv reads an image-like input (channels not a multiple of 8) plain. */
        if (r == ROLE_CONV && k == 0 && !p->produced[v] && g->values[v].shape.dim[1] % EI_BLOCK8) continue;
        int32_t b;
        EI_TRY(blocked_of(p, v, n->opset, &b));
        g->nodes[idx].inputs[k] = b;
    }
    ei_node * n = &g->nodes[idx];
    if (r == ROLE_CONV) {
        EI_TRY(ei_node_set_op(n, "ei.ConvBlocked8"));
        EI_TRY(ei_node_reimport(n));
    } else if (r == ROLE_POOL) {
        EI_TRY(rewrite_pool(n));
        EI_TRY(ei_node_reimport(n));
    } else if (r == ROLE_GLOBAL_POOL) {
        EI_TRY(rewrite_global_pool(n, &xs));
        EI_TRY(ei_node_reimport(n));
    } else if (r == ROLE_RESIZE) {
        EI_TRY(rewrite_resize(g, idx));
    }
    int32_t y = n->outputs[0], b;
    char    name[256];
    snprintf(name, sizeof name, "%s.b8", g->values[y].name);
    EI_TRY(ei_graph_value_add_unique(g, name, &b));
    g->nodes[idx].outputs[0] = b;
    g->values[b].producer = idx;
    g->values[y].producer = -1;
    p->twin[y] = b;
    p->produced[y] = true;
    return NULL;
}

/* Whether n should run blocked: a Conv always, anything else when it reads a blocked activation. */
static bool joins(const plan * p, const ei_node * n, role r) {
    if (r == ROLE_NONE) return false;
    if (r == ROLE_CONV) return true;
    for (int32_t k = 0; k < n->n_inputs; k++)
        if (is_activation_input(p->g, n, r, k) && n->inputs[k] < p->n_values && p->produced[n->inputs[k]]) return true;
    return false;
}

/* Values made blocked that plain readers (or the graph's outputs) still read get an ei.FromBlocked8. */
static ei_status * close_regions(plan * p) {
    ei_graph * g = p->g;
    for (int32_t v = 0; v < p->n_values; v++) {
        if (!p->produced[v] || ei_graph_use_count(g, v) == 0) continue;
        char    name[256];
        int32_t idx, b = p->twin[v];
        int64_t opset = g->nodes[g->values[b].producer].opset;
        snprintf(name, sizeof name, "%s.from_b8", g->values[v].name);
        EI_TRY(ei_graph_node_new(g, "ei.FromBlocked8", name, opset, &b, 1, &v, 1, &idx));
        EI_TRY(ei_node_set_attr_int(&g->nodes[idx], "channels", g->values[v].shape.dim[1]));
        EI_TRY(ei_node_reimport(&g->nodes[idx]));
    }
    return NULL;
}

ei_status * ei_pass_layout_blocked8(ei_graph * g, int32_t * applied) {
    *applied = 0;
    if (!ei_cpu_has_blocked8_conv()) return NULL;
    plan      p = {g, g->n_values, NULL, NULL};
    int32_t   n_nodes = g->n_nodes;
    int32_t * order = malloc(((size_t)n_nodes + 1) * sizeof *order);
    p.twin = malloc(((size_t)p.n_values + 1) * sizeof *p.twin);
    p.produced = calloc((size_t)p.n_values + 1, sizeof *p.produced);
    ei_status * st = (!order || !p.twin || !p.produced) ? ei_status_oom() : NULL;
    if (!st) {
        memcpy(order, g->order, (size_t)n_nodes * sizeof *order);
        for (int32_t v = 0; v < p.n_values; v++) p.twin[v] = -1;
    }
    for (int32_t oi = 0; !st && oi < n_nodes; oi++) {
        int32_t idx = order[oi];
        role    r = role_of(g, &g->nodes[idx]);
        if (!joins(&p, &g->nodes[idx], r)) continue;
        st = make_blocked(&p, idx, r);
        ++*applied;
    }
    if (!st && *applied) st = close_regions(&p);
    free(order);
    free(p.twin);
    free(p.produced);
    return st;
}
