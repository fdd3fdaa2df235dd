/* Folds a channel Concat followed by a 1x1 Conv into the per-channel linear maps that make the
 * Concat's inputs (SegFormer's decoder: four MatMul + bias per encoder stage, resized to one
 * resolution, concatenated to 1024 channels and mixed down by a 1x1 Conv to 256).
 *
 * A per-pixel channel-linear map L commutes with every op that moves pixels without mixing
 * channels: Transpose and Reshape that keep the channel axis whole, and linear or nearest Resize
 * (each output pixel is a combination of input pixels whose weights sum to 1, so a per-channel
 * bias passes through unchanged). With W_f = [W_0 | W_1 | ...] split by the Concat's slices,
 *     Conv1x1(Concat_i(Resize_i(L_i(x_i)))) + b = Sum_i Resize_i((W_i L_i)(x_i)) + b,
 * so the big Conv at the Concat's resolution becomes small matrix products at each branch's own
 * resolution followed by an elementwise sum, and no Concat.
 *
 * A branch is the chain that writes one Concat input. Walking back from the Concat, it may pass
 * Transpose, Reshape (the channel axis kept as one axis of the same size), Resize (linear or
 * nearest, the channel extent unchanged, not tf_crop_and_resize, no antialias, no axes, stretch
 * policy) and Add of a per-channel constant (a bias), each value read only by the next op of the
 * chain, down to its head: a MatMul by a constant [K, C] matrix (channels on the last axis) or a
 * Conv of group 1 with constant weights. The head's weights and biases are multiplied by W_i and
 * the ops in between carry M channels instead of C. When the head is a MatMul whose input comes,
 * through Transposes and Reshapes only, from an [N, K, spatial...] tensor x in the same pixel
 * order as the branch's value before its first Resize (checked by moving pixel indices through the
 * ops), the MatMul and those layout ops become one 1x1 Conv on x. A branch without a head (an op
 * that is not linear per pixel, or a value with another reader) keeps its slice of W_f as a new
 * 1x1 Conv, placed before the branch's trailing Resizes when it has some, so it runs at the
 * branch's own resolution.
 *
 * The branch results are summed by Add nodes, the one written by a Conv last so that
 * fuse_residual folds that Add (and the activation after it) into the Conv. The Conv's bias goes
 * into one branch's bias. The rewrite happens when at least one branch has a head and what it
 * adds in multiply-accumulates (heads computing M channels instead of C, new Convs, one per summed
 * element for the Adds) is less than what the removed Conv cost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "ops/conv_geometry.h"
#include "ops/resize_common.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

#define MAX_BRANCHES 64
#define MAX_CHAIN    32
#define MAX_OLD      (4 * (MAX_BRANCHES * (2 * MAX_CHAIN + 1) + 1))

typedef enum branch_kind {
    BRANCH_REWEIGHT, /* the head (MatMul or Conv) stays, with new weights */
    BRANCH_NEW_CONV, /* a new 1x1 Conv on src writes the chain's value before ops[n_keep - 1] */
} branch_kind;

typedef struct branch {
    int32_t     value;      /* the Concat input */
    int64_t     off, width; /* its channels in the Concat */
    branch_kind kind;
    int32_t     head;  /* MatMul or Conv node, -1 for none */
    int32_t     n_ops; /* chain nodes from the Concat back to the head: ops[0] writes value */
    int32_t     ops[MAX_CHAIN];
    int32_t     axes[MAX_CHAIN]; /* channel axis of ops[k]'s output */
    int32_t     n_pre;           /* NEW_CONV from a MatMul: layout nodes between src and the MatMul */
    int32_t     pre[MAX_CHAIN];
    int32_t     n_keep; /* ops[0 .. n_keep) stay (REWEIGHT: all of them) */
    int32_t     src;    /* NEW_CONV: the value the new Conv reads */
    int32_t     out;    /* the value holding the branch's M channels after the rewrite */
} branch;

typedef struct fold {
    ei_graph *    g;
    int32_t       conv, concat;
    int64_t       m, c_total; /* Conv output channels, Concat channels */
    const float * wf;         /* [M, C_total] */
    const float * bf;         /* [M] or NULL */
    int32_t       n;
    branch        br[MAX_BRANCHES];
    int32_t       old[MAX_OLD]; /* constants read by the nodes the rewrite changes or removes */
} fold;

/* Reads of v by live nodes that run (folded nodes computed their outputs at load time and are not
 * affected), plus one when v is a graph output. */
static int32_t run_uses(const ei_graph * g, int32_t v) {
    int32_t count = (g->values[v].flags & EI_VALUE_GRAPH_OUTPUT) ? 1 : 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (ei_node_is_removed(n) || n->folded) continue;
        for (int32_t k = 0; k < n->n_inputs; k++) count += n->inputs[k] == v;
    }
    return count;
}

static const ei_tensor * f32_const(const ei_graph * g, int32_t v) {
    if (v < 0 || !g->values[v].constant || g->values[v].constant->dtype != EI_DTYPE_F32) return NULL;
    return g->values[v].constant;
}

static bool int_const(const ei_graph * g, int32_t v) {
    return v >= 0 && g->values[v].constant && g->values[v].constant->dtype == EI_DTYPE_I64;
}

static bool float_value(const ei_graph * g, int32_t v) {
    return v >= 0 && g->values[v].shape_known && g->values[v].dtype == EI_DTYPE_F32 && !g->values[v].constant;
}

static int64_t attr_int(const ei_node * n, const char * name, int64_t def) {
    int64_t     v = def;
    ei_status * st = ei_attr_get_int(n, name, def, &v);
    if (st) {
        ei_status_destroy(st);
        return def - 1; /* a value no caller accepts */
    }
    return v;
}

/* Every element of the INTS attribute equals want (true when absent). */
static bool ints_all(const ei_node * n, const char * name, int64_t want) {
    const int64_t * v;
    int32_t         count;
    ei_status *     st = ei_attr_get_ints(n, name, &v, &count);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    for (int32_t i = 0; i < count; i++)
        if (v[i] != want) return false;
    return true;
}

static bool no_fused_attrs(const ei_node * n) {
    for (int32_t k = 0; k < n->n_attrs; k++)
        if (!strncmp(n->attrs[k].name, "ei.", 3)) return false;
    return true;
}

/* Resize that only mixes pixels with weights summing to 1 and keeps the channel axis's extent. */
static bool resize_ok(const ei_graph * g, const ei_node * n, int32_t axis) {
    const ei_resize_params * p = n->params;
    if (!p || p->is_upsample || n->n_outputs != 1) return false;
    if (p->mode != EI_RESIZE_NEAREST && p->mode != EI_RESIZE_LINEAR) return false;
    if (p->coord == EI_COORD_TF_CROP_AND_RESIZE || p->antialias || p->n_axes >= 0 || p->policy != EI_POLICY_STRETCH)
        return false;
    const ei_value * x = ei_node_input(g, n, 0);
    const ei_value * y = &g->values[n->outputs[0]];
    if (!x || !x->shape_known || x->shape.rank != y->shape.rank || x->shape.dim[axis] != y->shape.dim[axis])
        return false;
    for (int32_t k = 1; k < n->n_inputs; k++) /* scales and sizes known at load time */
        if (n->inputs[k] >= 0 && !g->values[n->inputs[k]].constant) return false;
    return true;
}

/* A constant that adds one value per channel on axis `axis` of an output of rank `rank` with c
 * channels (numpy broadcasting: every other dimension 1). */
static bool bias_const(const ei_graph * g, int32_t v, int32_t axis, int32_t rank, int64_t c) {
    const ei_tensor * t = f32_const(g, v);
    if (!t || t->shape.rank > rank) return false;
    int32_t at = axis - (rank - t->shape.rank);
    for (int32_t i = 0; i < t->shape.rank; i++)
        if (t->shape.dim[i] != 1 && !(i == at && t->shape.dim[i] == c)) return false;
    return true;
}

/* The Add node n adds a per-channel constant to a value of its own shape: that value, else -1. */
static int32_t bias_add_input(const ei_graph * g, const ei_node * n, int32_t axis, int64_t c) {
    if (n->n_inputs != 2 || n->n_outputs != 1) return -1;
    const ei_value * y = &g->values[n->outputs[0]];
    for (int32_t k = 0; k < 2; k++) {
        int32_t x = n->inputs[k], b = n->inputs[1 - k];
        if (float_value(g, x) && ei_shape_equal(&g->values[x].shape, &y->shape) &&
            bias_const(g, b, axis, y->shape.rank, c))
            return x;
    }
    return -1;
}

/* A Reshape's input axis holding the output's channel axis `axis` whole, or -1. */
static int32_t reshape_axis(const ei_graph * g, const ei_node * n, int32_t axis) {
    const ei_value * x = ei_node_input(g, n, 0);
    const ei_value * y = &g->values[n->outputs[0]];
    if (!x || !x->shape_known || n->n_inputs < 2 || !int_const(g, n->inputs[1])) return -1;
    int64_t c = y->shape.dim[axis], before = ei_dims_product(y->shape.dim, axis);
    for (int32_t k = 0; k < x->shape.rank; k++)
        if (x->shape.dim[k] == c && ei_dims_product(x->shape.dim, k) == before) return k;
    return -1;
}

/* One step back through a layout op (Transpose, Reshape) from its output's channel axis: the
 * input's channel axis, or -1 when n is no such op or splits the axis. */
static int32_t layout_step(const ei_graph * g, const ei_node * n, int32_t axis) {
    if (n->n_outputs != 1 || n->n_inputs < 1 || !float_value(g, n->inputs[0])) return -1;
    if (ei_pass_is_op(n, "Transpose")) {
        int32_t perm[EI_MAX_RANK], rank = g->values[n->outputs[0]].shape.rank;
        return ei_pass_transpose_perm(n, rank, perm) ? perm[axis] : -1;
    }
    if (ei_pass_is_op(n, "Reshape")) return reshape_axis(g, n, axis);
    return -1;
}

/* A head: MatMul by a constant [K, C] matrix with channels on the last axis, or a Conv of group 1
 * with constant weights [C, ...] and channels on axis 1. */
static bool head_ok(const ei_graph * g, const ei_node * n, int32_t axis, int64_t c) {
    if (n->n_outputs != 1 || n->n_inputs < 2 || !float_value(g, n->inputs[0])) return false;
    int32_t           rank = g->values[n->outputs[0]].shape.rank;
    const ei_tensor * w = f32_const(g, n->inputs[1]);
    if (!w) return false;
    if (ei_pass_is_op(n, "MatMul"))
        return axis == rank - 1 && w->shape.rank == 2 && w->shape.dim[1] == c &&
               g->values[n->inputs[0]].shape.rank >= 2;
    if (ei_pass_is_op(n, "Conv")) {
        if (axis != 1 || w->shape.dim[0] != c || attr_int(n, "group", 1) != 1 || !no_fused_attrs(n)) return false;
        if (n->n_inputs > 3) return false;
        if (n->n_inputs == 3 && n->inputs[2] >= 0) {
            const ei_tensor * b = f32_const(g, n->inputs[2]);
            if (!b || ei_shape_numel(&b->shape) != c) return false;
        }
        return true;
    }
    return false;
}

/* Walks the branch back from the Concat input; fills ops and head (-1 when it stops elsewhere).
 * Each value on the way must have exactly one reader that runs: the next op of the chain. */
static void walk_branch(const ei_graph * g, branch * b) {
    int32_t v = b->value, axis = 1;
    b->n_ops = 0;
    b->head = -1;
    for (;;) {
        int32_t p = ei_graph_live_producer(g, v);
        if (run_uses(g, v) != 1 || p < 0) return;
        const ei_node * n = &g->nodes[p];
        if (n->n_outputs != 1 || n->outputs[0] != v || !float_value(g, v)) return;
        if (head_ok(g, n, axis, b->width)) {
            b->head = p;
            return;
        }
        if (b->n_ops == MAX_CHAIN) return;
        int32_t next = -1, next_axis = axis;
        if (ei_pass_is_op(n, "Transpose") || ei_pass_is_op(n, "Reshape")) {
            next_axis = layout_step(g, n, axis);
            if (next_axis >= 0) next = n->inputs[0];
        } else if (ei_pass_is_op(n, "Resize")) {
            if (resize_ok(g, n, axis) && float_value(g, n->inputs[0])) next = n->inputs[0];
        } else if (ei_pass_is_op(n, "Add")) {
            next = bias_add_input(g, n, axis, b->width);
        }
        if (next < 0) return;
        b->ops[b->n_ops] = p;
        b->axes[b->n_ops] = axis;
        b->n_ops++;
        v = next;
        axis = next_axis;
    }
}

/* out = in permuted: out's axis i is in's axis perm[i]; s is in's shape. */
static void permute_indices(const int32_t * in, int32_t * out, const ei_shape * s, const int32_t * perm) {
    int32_t r = s->rank;
    int64_t stride[EI_MAX_RANK], dim[EI_MAX_RANK], idx[EI_MAX_RANK] = {0}, at = 0;
    for (int32_t i = r - 1, st = 1; i >= 0; i--) {
        stride[i] = st;
        st *= s->dim[i];
    }
    for (int32_t i = 0; i < r; i++) dim[i] = s->dim[perm[i]];
    int64_t n = ei_dims_product(s->dim, r);
    for (int64_t k = 0; k < n; k++) {
        at = 0;
        for (int32_t i = 0; i < r; i++) at += idx[i] * stride[perm[i]];
        out[k] = in[at];
        for (int32_t i = r - 1; i >= 0; i--) {
            if (++idx[i] < dim[i]) break;
            idx[i] = 0;
        }
    }
}

/* Shape of value v with its channel axis set to 1. */
static ei_shape pixel_shape(const ei_graph * g, int32_t v, int32_t axis) {
    ei_shape s = g->values[v].shape;
    s.dim[axis] = 1;
    return s;
}

/* Applies the layout node n (channel axis of its output: axis) to the pixel indices. */
static bool move_pixels(const ei_graph * g, const ei_node * n, int32_t axis, int32_t ** cur, int32_t ** tmp,
                        ei_shape * s) {
    if (ei_pass_is_op(n, "Transpose")) {
        int32_t perm[EI_MAX_RANK];
        if (!ei_pass_transpose_perm(n, s->rank, perm)) return false;
        permute_indices(*cur, *tmp, s, perm);
        int32_t * t = *cur;
        *cur = *tmp;
        *tmp = t;
    } else if (!ei_pass_is_op(n, "Reshape") && !ei_pass_is_op(n, "Add")) {
        return false;
    }
    *s = pixel_shape(g, n->outputs[0], axis); /* Reshape and Add keep the order */
    return true;
}

/* Whether the pixels of src (channels on axis 1) reach target (channels on axis 1) in the same
 * order through pre[n_pre-1 .. 0], the MatMul head and ops[n_ops-1 .. n_keep]: pixel indices are
 * moved through the layout ops and must arrive unpermuted in a tensor of target's shape. */
static bool same_pixel_order(const ei_graph * g, const branch * b, const int32_t * pre_axes, int32_t target) {
    ei_shape s = pixel_shape(g, b->src, 1);
    int64_t  n = ei_shape_numel(&s);
    if (n <= 0 || n > ((int64_t)1 << 26)) return false;
    int32_t *cur = malloc((size_t)n * sizeof *cur), *tmp = malloc((size_t)n * sizeof *tmp);
    bool     ok = cur && tmp;
    for (int64_t k = 0; ok && k < n; k++) cur[k] = (int32_t)k;
    for (int32_t k = b->n_pre - 1; ok && k >= 0; k--)
        ok = move_pixels(g, &g->nodes[b->pre[k]], pre_axes[k], &cur, &tmp, &s);
    if (ok) {
        int32_t y = g->nodes[b->head].outputs[0];
        s = pixel_shape(g, y, g->values[y].shape.rank - 1);
    }
    for (int32_t k = b->n_ops - 1; ok && k >= b->n_keep; k--)
        ok = move_pixels(g, &g->nodes[b->ops[k]], b->axes[k], &cur, &tmp, &s);
    ei_shape want = pixel_shape(g, target, 1);
    ok = ok && ei_shape_equal(&s, &want);
    for (int64_t k = 0; ok && k < n; k++) ok = cur[k] == (int32_t)k;
    free(cur);
    free(tmp);
    return ok;
}

/* A MatMul branch whose pixels keep their order up to its first Resize: the MatMul and the layout
 * ops around it become one 1x1 Conv on the [N, K, spatial...] tensor they start from. */
static void try_conv_from_matmul(const ei_graph * g, branch * b) {
    b->n_keep = 0;
    for (int32_t k = 0; k < b->n_ops; k++)
        if (ei_pass_is_op(&g->nodes[b->ops[k]], "Resize")) b->n_keep = k + 1;
    int32_t target = b->n_keep ? g->nodes[b->ops[b->n_keep - 1]].inputs[0] : b->value;
    int32_t t_axis = b->n_keep ? b->axes[b->n_keep - 1] : 1;
    if (t_axis != 1 || g->values[target].shape.rank < 3) return;
    /* Back from the MatMul's input through Transposes and Reshapes; the furthest start that
     * passes the check wins (SegFormer: [N, C, H, W] -> [N, C, HW] -> [N, HW, C]). */
    int32_t pre[MAX_CHAIN], pre_axes[MAX_CHAIN], n_pre = 0, cand[MAX_CHAIN + 1], n_cand = 0;
    int32_t v = g->nodes[b->head].inputs[0], axis = g->values[v].shape.rank - 1;
    for (;;) {
        if (axis == 1 && g->values[v].shape.rank == g->values[target].shape.rank) cand[n_cand++] = n_pre;
        int32_t p = ei_graph_live_producer(g, v);
        if (p < 0 || n_pre == MAX_CHAIN || run_uses(g, v) != 1) break;
        const ei_node * n = &g->nodes[p];
        int32_t         next_axis = layout_step(g, n, axis);
        if (next_axis < 0 || n->outputs[0] != v) break;
        pre[n_pre] = p;
        pre_axes[n_pre] = axis;
        n_pre++;
        v = n->inputs[0];
        axis = next_axis;
    }
    for (int32_t c = n_cand - 1; c >= 0; c--) {
        b->n_pre = cand[c];
        memcpy(b->pre, pre, (size_t)b->n_pre * sizeof *pre);
        b->src = b->n_pre ? g->nodes[pre[b->n_pre - 1]].inputs[0] : g->nodes[b->head].inputs[0];
        if (same_pixel_order(g, b, pre_axes, target)) {
            b->kind = BRANCH_NEW_CONV;
            return;
        }
    }
    b->n_pre = 0;
    b->n_keep = b->n_ops;
}

/* Sorts out one branch: a head re-weighted in place, a MatMul turned into a Conv, or (no head) a
 * new Conv before the branch's trailing Resizes. */
static void plan_branch(const ei_graph * g, branch * b) {
    walk_branch(g, b);
    b->kind = BRANCH_REWEIGHT;
    b->n_pre = 0;
    b->n_keep = b->n_ops;
    if (b->head >= 0 && ei_pass_is_op(&g->nodes[b->head], "MatMul")) try_conv_from_matmul(g, b);
    if (b->head >= 0) return;
    b->kind = BRANCH_NEW_CONV;
    b->n_keep = 0;
    while (b->n_keep < b->n_ops && ei_pass_is_op(&g->nodes[b->ops[b->n_keep]], "Resize")) b->n_keep++;
    b->n_ops = b->n_keep; /* what lies before stays as it is */
    b->src = b->n_keep ? g->nodes[b->ops[b->n_keep - 1]].inputs[0] : b->value;
}

/* Multiply-accumulates the rewrite adds to the branch: its head computes M channels instead of C
 * (a MatMul turned into a Conv does the same products), a new Conv M from C. */
static int64_t branch_macs(const ei_graph * g, const fold * f, const branch * b) {
    if (b->head < 0) return ei_shape_numel(&g->values[b->src].shape) * f->m;
    const ei_node * h = &g->nodes[b->head];
    int64_t         per_channel; /* products per output channel */
    if (ei_pass_is_op(h, "MatMul"))
        per_channel = ei_shape_numel(&g->values[h->inputs[0]].shape);
    else
        per_channel = ei_shape_numel(&g->values[h->outputs[0]].shape) / b->width *
                      (ei_shape_numel(&g->values[h->inputs[1]].shape) / b->width);
    return per_channel * (f->m - b->width);
}

/* Finds the pattern at Conv node ci; f is filled when the rewrite applies. */
static bool match(ei_graph * g, int32_t ci, fold * f) {
    const ei_node * c = &g->nodes[ci];
    if (!ei_pass_is_op(c, "Conv") || c->n_outputs != 1 || c->n_inputs < 2 || c->n_inputs > 3 || !no_fused_attrs(c))
        return false;
    const ei_value *  x = ei_node_input(g, c, 0);
    const ei_tensor * w = f32_const(g, c->inputs[1]);
    if (!float_value(g, c->inputs[0]) || !w || !float_value(g, c->outputs[0])) return false;
    int32_t r = x->shape.rank;
    if (r < 3 || w->shape.rank != r || ei_dims_product(w->shape.dim + 2, r - 2) != 1 ||
        w->shape.dim[1] != x->shape.dim[1] || w->shape.dim[0] < 1 || ei_shape_numel(&x->shape) < 1)
        return false;
    const char * pad_mode;
    ei_status *  st = ei_attr_get_string(c, "auto_pad", "NOTSET", &pad_mode);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    if ((strcmp(pad_mode, "NOTSET") && strcmp(pad_mode, "VALID")) || attr_int(c, "group", 1) != 1 ||
        !ints_all(c, "strides", 1) || !ints_all(c, "pads", 0))
        return false;
    f->bf = NULL;
    if (c->n_inputs == 3 && c->inputs[2] >= 0) {
        const ei_tensor * bt = f32_const(g, c->inputs[2]);
        if (!bt || ei_shape_numel(&bt->shape) != w->shape.dim[0]) return false;
        f->bf = bt->data;
    }
    int32_t cat = ei_graph_live_producer(g, c->inputs[0]);
    if (cat < 0 || !ei_pass_is_op(&g->nodes[cat], "Concat") || run_uses(g, c->inputs[0]) != 1) return false;
    const ei_node * cn = &g->nodes[cat];
    int64_t         axis = attr_int(cn, "axis", -1000);
    if (axis < 0) axis += r;
    if (axis != 1 || cn->n_inputs < 2 || cn->n_inputs > MAX_BRANCHES) return false;
    f->g = g;
    f->conv = ci;
    f->concat = cat;
    f->m = w->shape.dim[0];
    f->c_total = w->shape.dim[1];
    f->wf = w->data;
    f->n = cn->n_inputs;
    int64_t off = 0, after = 0, heads = 0;
    int64_t pixels = ei_shape_numel(&g->values[c->outputs[0]].shape) / f->m;
    for (int32_t i = 0; i < f->n; i++) {
        branch * b = &f->br[i];
        memset(b, 0, sizeof *b);
        b->value = cn->inputs[i];
        if (!float_value(g, b->value) || g->values[b->value].shape.rank != r) return false;
        b->off = off;
        b->width = g->values[b->value].shape.dim[1];
        if (b->width < 1) return false;
        off += b->width;
        plan_branch(g, b);
        heads += b->head >= 0;
        after += branch_macs(g, f, b);
    }
    if (off != f->c_total || heads == 0) return false;
    /* One multiply-accumulate per summed element stands for the Adds. */
    return after + (f->n - 1) * pixels * f->m < pixels * f->m * f->c_total;
}

static double wf_at(const fold * f, const branch * b, int64_t m, int64_t c) {
    return (double)f->wf[m * f->c_total + b->off + c];
}

/* A new float32 constant of shape s; *data points at its elements (owned by the graph). */
static ei_status * new_const_f32(ei_graph * g, const char * base, const ei_shape * s, float ** data, int32_t * id) {
    ei_tensor * t;
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, s, &t));
    *data = t->data;
    return ei_graph_constant_add(g, base, t, id);
}

/* A new int64 constant holding the dimensions of s (a Reshape shape or Resize sizes). */
static ei_status * new_const_dims(ei_graph * g, const char * base, const ei_shape * s, int32_t * id) {
    ei_tensor * t;
    ei_shape    ts = {.rank = 1, .dim = {s->rank}};
    EI_TRY(ei_tensor_create(EI_DTYPE_I64, &ts, &t));
    memcpy(t->data, s->dim, (size_t)s->rank * sizeof s->dim[0]);
    return ei_graph_constant_add(g, base, t, id);
}

static ei_status * new_value(ei_graph * g, const char * base, const ei_shape * s, int32_t * v) {
    EI_TRY(ei_graph_value_add_unique(g, base, v));
    g->values[*v].dtype = EI_DTYPE_F32;
    g->values[*v].shape = *s;
    g->values[*v].shape_known = true;
    return NULL;
}

/* dst[m] += Sum_c W_b[m, c] * bias[c] for a per-channel constant (one value or one per channel). */
static void mix_bias(const fold * f, const branch * b, const ei_tensor * t, double * dst) {
    const float * d = t->data;
    bool          one = ei_shape_numel(&t->shape) == 1;
    for (int64_t m = 0; m < f->m; m++)
        for (int64_t c = 0; c < b->width; c++) dst[m] += wf_at(f, b, m, c) * (double)d[one ? 0 : c];
}

/* The index of the constant input of a bias Add. */
static int32_t bias_input(const ei_graph * g, const ei_node * n) { return g->values[n->inputs[0]].constant ? 0 : 1; }

/* Makes chain op ops[k] carry M channels: its output's channel axis, a Reshape's shape, a Resize's
 * sizes, a bias's values (plus the Conv's bias when *bias_pending). */
static ei_status * update_op(fold * f, const branch * b, int32_t k, bool * bias_pending, const char * base) {
    ei_graph * g = f->g;
    int32_t    idx = b->ops[k], axis = b->axes[k], out = g->nodes[idx].outputs[0];
    char       name[300];
    g->values[out].shape.dim[axis] = f->m;
    ei_shape  s = g->values[out].shape;
    ei_node * n = &g->nodes[idx];
    if (ei_pass_is_op(n, "Reshape") && f->m != b->width) {
        int32_t c;
        snprintf(name, sizeof name, "%.200s_fold_shape", base);
        EI_TRY(new_const_dims(g, name, &s, &c));
        g->nodes[idx].inputs[1] = c;
    } else if (ei_pass_is_op(n, "Resize") && f->m != b->width) {
        const ei_resize_params * p = n->params;
        if (p->in_sizes >= 0 && p->in_sizes < n->n_inputs && n->inputs[p->in_sizes] >= 0) {
            int32_t c, at = p->in_sizes;
            snprintf(name, sizeof name, "%.200s_fold_sizes", base);
            EI_TRY(new_const_dims(g, name, &s, &c));
            g->nodes[idx].inputs[at] = c;
        }
    } else if (ei_pass_is_op(n, "Add")) {
        int32_t           bi = bias_input(g, n);
        const ei_tensor * t = g->values[n->inputs[bi]].constant;
        ei_shape          bs = t->shape;
        int32_t           at = axis - (s.rank - bs.rank);
        if (at >= 0) {
            bs.dim[at] = f->m;
        } else { /* one value for every channel: [M, 1, ...] from the channel axis on */
            bs.rank = s.rank - axis;
            for (int32_t i = 0; i < bs.rank; i++) bs.dim[i] = i ? 1 : f->m;
        }
        double * acc = calloc((size_t)f->m, sizeof *acc);
        if (!acc) return ei_status_oom();
        mix_bias(f, b, t, acc);
        if (*bias_pending)
            for (int64_t m = 0; m < f->m; m++) acc[m] += (double)f->bf[m];
        *bias_pending = false;
        float *     d;
        int32_t     c;
        ei_status * st;
        snprintf(name, sizeof name, "%.200s_fold_bias", base);
        st = new_const_f32(g, name, &bs, &d, &c);
        if (!st) {
            for (int64_t m = 0; m < f->m; m++) d[m] = (float)acc[m];
            g->nodes[idx].inputs[bi] = c;
        }
        free(acc);
        EI_TRY(st);
    }
    return NULL;
}

/* The head re-weighted in place: MatMul B [K, C] -> B W_b^T [K, M]; Conv W [C, ...] -> W_b W and
 * bias W_b b (+ the Conv's bias when asked). */
static ei_status * reweight_head(fold * f, const branch * b, bool * bias_pending, const char * base) {
    ei_graph *        g = f->g;
    const ei_node *   h = &g->nodes[b->head];
    const ei_tensor * w = g->values[h->inputs[1]].constant;
    const float *     wd = w->data;
    bool              mm = ei_pass_is_op(h, "MatMul");
    int32_t           y = h->outputs[0], wv, bv = -1;
    char              name[300];
    ei_shape          ws = w->shape;
    float *           d;
    int64_t           c_n = b->width, m_n = f->m;
    snprintf(name, sizeof name, "%.200s_fold_W", base);
    if (mm) { /* [K, C] -> [K, M] */
        int64_t k_n = ws.dim[0];
        ws.dim[1] = m_n;
        EI_TRY(new_const_f32(g, name, &ws, &d, &wv));
        for (int64_t k = 0; k < k_n; k++)
            for (int64_t m = 0; m < m_n; m++) {
                double s = 0.0;
                for (int64_t c = 0; c < c_n; c++) s += (double)wd[k * c_n + c] * wf_at(f, b, m, c);
                d[k * m_n + m] = (float)s;
            }
        g->values[y].shape.dim[g->values[y].shape.rank - 1] = m_n;
    } else { /* [C, R] -> [M, R] */
        int64_t r_n = ei_shape_numel(&ws) / c_n;
        ws.dim[0] = m_n;
        EI_TRY(new_const_f32(g, name, &ws, &d, &wv));
        for (int64_t m = 0; m < m_n; m++)
            for (int64_t r = 0; r < r_n; r++) {
                double s = 0.0;
                for (int64_t c = 0; c < c_n; c++) s += wf_at(f, b, m, c) * (double)wd[c * r_n + r];
                d[m * r_n + r] = (float)s;
            }
        const ei_tensor * bt = h->n_inputs > 2 && h->inputs[2] >= 0 ? g->values[h->inputs[2]].constant : NULL;
        ei_shape          bs = {.rank = 1, .dim = {m_n}};
        double *          acc = calloc((size_t)m_n, sizeof *acc);
        if (!acc) return ei_status_oom();
        if (bt) mix_bias(f, b, bt, acc);
        if (*bias_pending)
            for (int64_t m = 0; m < m_n; m++) acc[m] += (double)f->bf[m];
        *bias_pending = false;
        snprintf(name, sizeof name, "%.200s_fold_B", base);
        ei_status * st = new_const_f32(g, name, &bs, &d, &bv);
        for (int64_t m = 0; !st && m < m_n; m++) d[m] = (float)acc[m];
        free(acc);
        EI_TRY(st);
        g->values[y].shape.dim[1] = m_n;
    }
    ei_node * hn = &g->nodes[b->head];
    hn->inputs[1] = wv;
    if (bv >= 0) EI_TRY(ei_node_set_input(hn, 2, bv));
    return NULL;
}

/* A new 1x1 Conv on src: from a MatMul head (its B and the biases of the dropped chain ops) or,
 * without a head, the branch's slice of the Conv's weights. */
static ei_status * new_conv(fold * f, branch * b, bool * bias_pending, int64_t opset, const char * base) {
    ei_graph * g = f->g;
    int32_t    rank = g->values[b->src].shape.rank, wv, bv = -1, out, idx;
    int64_t    k_n = g->values[b->src].shape.dim[1], m_n = f->m, c_n = b->width;
    ei_shape   ws = {.rank = rank};
    char       name[300];
    float *    d;
    for (int32_t i = 0; i < rank; i++) ws.dim[i] = 1;
    ws.dim[0] = m_n;
    ws.dim[1] = k_n;
    snprintf(name, sizeof name, "%.200s_fold_W", base);
    EI_TRY(new_const_f32(g, name, &ws, &d, &wv));
    double * acc = calloc((size_t)m_n, sizeof *acc);
    if (!acc) return ei_status_oom();
    bool has_bias = *bias_pending;
    if (b->head >= 0) {
        const float * bd = g->values[g->nodes[b->head].inputs[1]].constant->data; /* [K, C] */
        for (int64_t m = 0; m < m_n; m++)
            for (int64_t k = 0; k < k_n; k++) {
                double s = 0.0;
                for (int64_t c = 0; c < c_n; c++) s += wf_at(f, b, m, c) * (double)bd[k * c_n + c];
                d[m * k_n + k] = (float)s;
            }
        for (int32_t k = b->n_keep; k < b->n_ops; k++) {
            const ei_node * n = &g->nodes[b->ops[k]];
            if (!ei_pass_is_op(n, "Add")) continue;
            mix_bias(f, b, g->values[n->inputs[bias_input(g, n)]].constant, acc);
            has_bias = true;
        }
    } else {
        for (int64_t m = 0; m < m_n; m++)
            for (int64_t c = 0; c < c_n; c++) d[m * c_n + c] = (float)wf_at(f, b, m, c);
    }
    if (*bias_pending)
        for (int64_t m = 0; m < m_n; m++) acc[m] += (double)f->bf[m];
    *bias_pending = false;
    ei_status * st = NULL;
    if (has_bias) {
        ei_shape bs = {.rank = 1, .dim = {m_n}};
        snprintf(name, sizeof name, "%.200s_fold_B", base);
        st = new_const_f32(g, name, &bs, &d, &bv);
        for (int64_t m = 0; !st && m < m_n; m++) d[m] = (float)acc[m];
    }
    free(acc);
    EI_TRY(st);
    if (b->head >= 0) { /* the conv writes the value before the first Resize; what made it goes */
        out = b->n_keep ? g->nodes[b->ops[b->n_keep - 1]].inputs[0] : b->value;
        for (int32_t k = b->n_keep; k < b->n_ops; k++) ei_graph_node_remove(g, b->ops[k]);
        for (int32_t k = 0; k < b->n_pre; k++) ei_graph_node_remove(g, b->pre[k]);
        ei_graph_node_remove(g, b->head);
        g->values[out].shape.dim[1] = m_n;
    } else {
        ei_shape s = g->values[b->src].shape;
        s.dim[1] = m_n;
        snprintf(name, sizeof name, "%.200s_fold_branch", base);
        EI_TRY(new_value(g, name, &s, &out));
        if (b->n_keep) g->nodes[b->ops[b->n_keep - 1]].inputs[0] = out;
    }
    int32_t ins[3] = {b->src, wv, bv};
    snprintf(name, sizeof name, "%.200s_fold_conv", base);
    EI_TRY(ei_graph_node_new(g, "Conv", name, opset, ins, bv >= 0 ? 3 : 2, &out, 1, &idx));
    EI_TRY(ei_node_reimport(&g->nodes[idx]));
    b->out = b->head < 0 && !b->n_keep ? out : b->value;
    return NULL;
}

/* conv_name: the removed Conv's name, which new constants and nodes are named after. */
static ei_status * rewrite_branch(fold * f, int32_t i, bool * bias_pending, int64_t opset, const char * conv_name) {
    branch * b = &f->br[i];
    char     base[256];
    snprintf(base, sizeof base, "%.200s_b%d", conv_name, i);
    b->out = b->value;
    if (b->kind == BRANCH_NEW_CONV) {
        EI_TRY(new_conv(f, b, bias_pending, opset, base));
    } else {
        EI_TRY(reweight_head(f, b, bias_pending, base));
    }
    for (int32_t k = b->n_keep - 1; k >= 0; k--) EI_TRY(update_op(f, b, k, bias_pending, base));
    return NULL;
}

/* The branch that can take the Conv's bias: a new Conv, else a Conv head, else a MatMul branch with
 * a bias Add; -1 for none. */
static int32_t bias_branch(const fold * f) {
    const ei_graph * g = f->g;
    for (int32_t i = 0; i < f->n; i++)
        if (f->br[i].kind == BRANCH_NEW_CONV) return i;
    for (int32_t i = 0; i < f->n; i++)
        if (f->br[i].head >= 0 && ei_pass_is_op(&g->nodes[f->br[i].head], "Conv")) return i;
    for (int32_t i = 0; i < f->n; i++)
        for (int32_t k = 0; k < f->br[i].n_keep; k++)
            if (ei_pass_is_op(&g->nodes[f->br[i].ops[k]], "Add")) return i;
    return -1;
}

/* Adds the constant inputs of node idx to list (at most max). */
static void collect_constants(const ei_graph * g, int32_t idx, int32_t * list, int32_t * n, int32_t max) {
    const ei_node * nd = &g->nodes[idx];
    for (int32_t k = 0; k < nd->n_inputs && *n < max; k++)
        if (nd->inputs[k] >= 0 && g->values[nd->inputs[k]].constant) list[(*n)++] = nd->inputs[k];
}

/* Frees the data of the constants that nothing reads any more (engine files store every constant
 * value: the old weights would otherwise stay in them, in fp32 even in bf16 / fp16 engines). */
static void drop_dead_constants(ei_graph * g, const int32_t * list, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        ei_value * v = &g->values[list[i]];
        if (!v->constant || (v->flags & (EI_VALUE_GRAPH_INPUT | EI_VALUE_GRAPH_OUTPUT)) ||
            ei_graph_use_count(g, list[i]) > 0)
            continue;
        ei_tensor_destroy(v->constant);
        v->constant = NULL;
        v->flags &= ~(uint32_t)EI_VALUE_INITIALIZER;
    }
}

static ei_status * apply(fold * f) {
    ei_graph * g = f->g;
    int32_t *  old = f->old, n_old = 0, max_old = MAX_OLD;
    collect_constants(g, f->conv, old, &n_old, max_old);
    for (int32_t i = 0; i < f->n; i++) {
        const branch * b = &f->br[i];
        for (int32_t k = 0; k < b->n_ops; k++) collect_constants(g, b->ops[k], old, &n_old, max_old);
        for (int32_t k = 0; k < b->n_pre; k++) collect_constants(g, b->pre[k], old, &n_old, max_old);
        if (b->head >= 0) collect_constants(g, b->head, old, &n_old, max_old);
    }
    int32_t y = g->nodes[f->conv].outputs[0], r = g->values[y].shape.rank;
    int64_t opset = g->nodes[f->conv].opset;
    char    base[256], name[300];
    snprintf(base, sizeof base, "%s", g->nodes[f->conv].name);
    int32_t absorb = f->bf ? bias_branch(f) : -1;
    ei_graph_node_remove(g, f->conv);
    ei_graph_node_remove(g, f->concat);
    for (int32_t i = 0; i < f->n; i++) {
        bool pending = i == absorb;
        EI_TRY(rewrite_branch(f, i, &pending, opset, base));
    }
    /* Sum the branches, the one a Conv writes last (fuse_residual then folds the Add into it). */
    int32_t order[MAX_BRANCHES] = {0}, n = 0, last = -1;
    for (int32_t i = 0; i < f->n; i++) {
        int32_t p = ei_graph_live_producer(g, f->br[i].out);
        if (last < 0 && p >= 0 && ei_pass_is_op(&g->nodes[p], "Conv"))
            last = i;
        else
            order[n++] = i;
    }
    if (last >= 0) order[n++] = last;
    bool    final_bias = f->bf && absorb < 0;
    int32_t acc = f->br[order[0]].out, idx;
    for (int32_t i = 1; i < n; i++) {
        int32_t dst = y, ins[2] = {acc, f->br[order[i]].out};
        if (i < n - 1 || final_bias) {
            snprintf(name, sizeof name, "%.200s_fold_sum", base);
            EI_TRY(new_value(g, name, &g->values[y].shape, &dst));
        }
        snprintf(name, sizeof name, "%.200s_fold_add%d", base, i);
        EI_TRY(ei_graph_node_new(g, "Add", name, opset, ins, 2, &dst, 1, &idx));
        EI_TRY(ei_node_reimport(&g->nodes[idx]));
        acc = dst;
    }
    if (final_bias) {
        ei_shape bs = {.rank = r - 1};
        float *  d;
        int32_t  bv;
        for (int32_t i = 0; i < bs.rank; i++) bs.dim[i] = i ? 1 : f->m;
        snprintf(name, sizeof name, "%.200s_fold_B", base);
        EI_TRY(new_const_f32(g, name, &bs, &d, &bv));
        for (int64_t m = 0; m < f->m; m++) d[m] = f->bf[m];
        int32_t ins[2] = {acc, bv};
        snprintf(name, sizeof name, "%.200s_fold_bias_add", base);
        EI_TRY(ei_graph_node_new(g, "Add", name, opset, ins, 2, &y, 1, &idx));
        EI_TRY(ei_node_reimport(&g->nodes[idx]));
    }
    drop_dead_constants(g, old, n_old);
    return NULL;
}

ei_status * ei_pass_fold_linear_concat(ei_graph * g, int32_t * applied) {
    *applied = 0;
    fold * f = malloc(sizeof *f);
    if (!f) return ei_status_oom();
    int32_t     n = g->n_nodes; /* nodes added by the pass are not visited */
    ei_status * st = NULL;
    for (int32_t i = 0; i < n && !st; i++) {
        if (!match(g, i, f)) continue;
        st = apply(f);
        if (!st) ++*applied;
    }
    free(f);
    return st;
}
