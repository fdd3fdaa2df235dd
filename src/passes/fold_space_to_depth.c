/* Folds a space-to-depth stem (YOLOX's "Focus") into the convolution that reads it. The stem takes
 * the four 2x2 phases of the image X [N, C, H, W] with Slice chains (step 2, start 0 or 1 on each
 * spatial axis), concatenates them along channels into [N, 4C, H/2, W/2] and convolves that with
 * W [M, 4C, kh, kw] (stride s, pads p, group 1, dilation 1). Since phase (dy, dx) at row r, column
 * c is X[2r + dy, 2c + dx], the same output is a convolution of X itself with kernel 2kh x 2kw,
 * stride 2s and pads 2p:
 *     W'[o, c, 2ky + dy, 2kx + dx] = W[o, phase(dy, dx) * C + c, ky, kx]
 * where phase(dy, dx) is the position of that phase in the Concat (read from the Slices' starts).
 * Rows or columns outside X are exactly those of phase rows outside [0, H/2), so the zero padding
 * agrees, and the output sizes agree as well. The MACs are the same, but the convolution now reads
 * C (3) plain image channels instead of 4C (12): no Slice, Concat or reorder of the 4C-channel
 * tensor, and oneDNN's first-convolution kernel. Any unmet condition leaves the graph untouched. */
#include <stdio.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "ops/conv_geometry.h"
#include "ops/shape_common.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

/* One phase of X: the Slice nodes (1 or 2) between X and the Concat input, and its offsets. */
typedef struct s2d_phase {
    int32_t src;      /* the sliced value X */
    int32_t nodes[2]; /* the Slices, Concat side first */
    int32_t n_nodes;
    int32_t dy, dx;
} s2d_phase;

static bool status_ok(ei_status * st) {
    if (!st) return true;
    ei_status_destroy(st);
    return false;
}

/* Adds what Slice node n does to the phase: every entry of its axes must be spatial axis 2 or 3
 * with step 2 and start 0 or 1, or a no-op (step 1 over the whole axis). start[a] = -1 while axis
 * a is untouched; false for anything else, or an axis sliced twice. */
static bool slice_entries(const ei_graph * g, const ei_node * n, int64_t start[4]) {
    if (n->opset < 10 || n->n_outputs != 1) return false;
    const ei_value * x = ei_node_input(g, n, 0);
    const ei_value * y = &g->values[n->outputs[0]];
    if (!x || !x->shape_known || x->shape.rank != 4 || !y->shape_known || y->shape.rank != 4) return false;
    int64_t starts[EI_SHP_MAX_INTS], axes[EI_SHP_MAX_INTS], steps[EI_SHP_MAX_INTS];
    int32_t ns, na, nst, norm[EI_SHP_MAX_INTS];
    if (!status_ok(ei_shp_ints(g, n, "starts", 1, 10, starts, &ns))) return false;
    if (!status_ok(ei_shp_ints(g, n, "axes", 3, 10, axes, &na))) return false;
    if (!status_ok(ei_op_const_ints(g, n, 4, steps, EI_SHP_MAX_INTS, &nst))) return false;
    if (ns < 1 || ns > 4 || nst != ns || (na >= 0 && na != ns)) return false;
    if (na < 0)
        for (int32_t i = 0; i < ns; i++) axes[i] = i;
    if (!status_ok(ei_shp_axes(n, "axes", axes, ns, 4, norm))) return false;
    for (int32_t i = 0; i < ns; i++) {
        int32_t a = norm[i];
        int64_t dim = x->shape.dim[a], s = starts[i] < 0 ? starts[i] + dim : starts[i];
        if (steps[i] == 1 && s <= 0 && y->shape.dim[a] == dim) continue; /* the whole axis */
        if (a < 2 || steps[i] != 2 || (s != 0 && s != 1) || start[a] >= 0) return false;
        /* With step 2 from 0 or 1, H/2 elements of an even axis means every phase row is taken. */
        if (dim % 2 || dim < 2 || y->shape.dim[a] != dim / 2) return false;
        start[a] = s;
    }
    return true;
}

/* Follows Concat input v back through at most two Slices that together take one 2x2 phase of a
 * rank-4 value; every value in between must have no other reader. */
static bool find_phase(const ei_graph * g, int32_t v, s2d_phase * ph) {
    int64_t start[4] = {-1, -1, -1, -1};
    ph->n_nodes = 0;
    while (start[2] < 0 || start[3] < 0) {
        if (v < 0 || ph->n_nodes == 2 || ei_graph_use_count(g, v) != 1) return false;
        int32_t p = ei_graph_live_producer(g, v);
        if (p < 0 || !ei_pass_is_op(&g->nodes[p], "Slice") || g->nodes[p].outputs[0] != v) return false;
        if (!slice_entries(g, &g->nodes[p], start)) return false;
        ph->nodes[ph->n_nodes++] = p;
        v = g->nodes[p].inputs[0];
    }
    ph->src = v;
    ph->dy = (int32_t)start[2];
    ph->dx = (int32_t)start[3];
    return true;
}

/* The Conv's geometry when it can take the fold: rank 4, constant float W [M, 4C, kh, kw], group 1,
 * dilations 1, explicit pads. */
static bool conv_fits(const ei_graph * g, const ei_node * c, int64_t cin4, ei_window_attrs * a) {
    if (c->n_inputs < 2 || c->n_outputs != 1) return false;
    const ei_tensor * w = ei_node_input_const(g, c, 1);
    if (!w || w->dtype != EI_DTYPE_F32 || w->shape.rank != 4 || w->shape.dim[1] != cin4) return false;
    int64_t group;
    if (!status_ok(ei_attr_get_int(c, "group", 1, &group)) || group != 1) return false;
    if (!status_ok(ei_window_attrs_read(c, true, a)) || a->auto_pad != EI_AUTO_PAD_NOTSET) return false;
    if ((a->n_kernel >= 0 && a->n_kernel != 2) || (a->n_strides >= 0 && a->n_strides != 2) ||
        (a->n_pads >= 0 && a->n_pads != 4) || (a->n_dilations >= 0 && a->n_dilations != 2))
        return false;
    for (int32_t i = 0; i < 2; i++) {
        if (a->n_dilations >= 0 && a->dilations[i] != 1) return false;
        if (a->n_kernel >= 0 && a->kernel[i] != w->shape.dim[2 + i]) return false;
        if (a->strides[i] > INT32_MAX / 2 || a->pads[i] > INT32_MAX / 2 || a->pads[2 + i] > INT32_MAX / 2) return false;
    }
    if (a->n_strides < 0) a->strides[0] = a->strides[1] = 1;
    return true;
}

static ei_status * fold_one(ei_graph * g, int32_t ci, bool * done) {
    *done = false;
    const ei_node * cat = &g->nodes[ci];
    int64_t         axis;
    EI_TRY(ei_attr_get_int(cat, "axis", 0, &axis));
    if (cat->n_inputs != 4 || cat->n_outputs != 1 || (axis != 1 && axis != -3)) return NULL;
    int32_t cv = ei_graph_single_consumer(g, cat->outputs[0]);
    if (cv < 0 || ei_graph_use_count(g, cat->outputs[0]) != 1 || !ei_pass_is_op(&g->nodes[cv], "Conv") ||
        g->nodes[cv].inputs[0] != cat->outputs[0])
        return NULL;
    s2d_phase ph[4];
    int32_t   order[4] = {-1, -1, -1, -1}; /* Concat position of phase dy * 2 + dx */
    for (int32_t k = 0; k < 4; k++) {
        if (!find_phase(g, cat->inputs[k], &ph[k]) || ph[k].src != ph[0].src) return NULL;
        int32_t slot = ph[k].dy * 2 + ph[k].dx;
        if (order[slot] >= 0) return NULL;
        order[slot] = k;
    }
    const ei_value * x = &g->values[ph[0].src];
    if (!x->shape_known || x->dtype != EI_DTYPE_F32 || x->shape.rank != 4) return NULL;
    const ei_node * conv = &g->nodes[cv];
    int64_t         cin = x->shape.dim[1];
    ei_window_attrs a;
    if (!conv_fits(g, conv, 4 * cin, &a)) return NULL;

    const ei_tensor * w = ei_node_input_const(g, conv, 1);
    int64_t           m = w->shape.dim[0], kh = w->shape.dim[2], kw = w->shape.dim[3];
    ei_shape          ws = {.rank = 4, .dim = {m, cin, 2 * kh, 2 * kw}};
    ei_tensor *       w2 = NULL;
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, &ws, &w2));
    const float * src = w->data;
    float *       dst = w2->data;
    for (int64_t o = 0; o < m; o++)
        for (int64_t c = 0; c < cin; c++)
            for (int64_t r = 0; r < 2 * kh; r++)
                for (int64_t q = 0; q < 2 * kw; q++) {
                    int64_t k = order[(r % 2) * 2 + q % 2];
                    dst[((o * cin + c) * 2 * kh + r) * 2 * kw + q] =
                        src[((o * 4 * cin + k * cin + c) * kh + r / 2) * kw + q / 2];
                }
    char    name[256];
    int32_t wv;
    snprintf(name, sizeof name, "%s_s2d_W", conv->name);
    EI_TRY(ei_graph_constant_add(g, name, w2, &wv));

    int64_t kernel[2] = {2 * kh, 2 * kw}, strides[2] = {2 * a.strides[0], 2 * a.strides[1]};
    int64_t pads[4] = {0, 0, 0, 0};
    if (a.n_pads >= 0)
        for (int32_t i = 0; i < 4; i++) pads[i] = 2 * a.pads[i];
    ei_node * cn = &g->nodes[cv];
    EI_TRY(ei_node_set_attr_ints(cn, "kernel_shape", kernel, 2));
    EI_TRY(ei_node_set_attr_ints(cn, "strides", strides, 2));
    EI_TRY(ei_node_set_attr_ints(cn, "pads", pads, 4));
    cn->inputs[0] = ph[0].src;
    cn->inputs[1] = wv;
    EI_TRY(ei_node_reimport(cn));
    for (int32_t k = 0; k < 4; k++)
        for (int32_t j = 0; j < ph[k].n_nodes; j++) ei_graph_node_remove(g, ph[k].nodes[j]);
    ei_graph_node_remove(g, ci);
    *done = true;
    return NULL;
}

ei_status * ei_pass_fold_space_to_depth(ei_graph * g, int32_t * applied) {
    *applied = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (!ei_pass_is_op(&g->nodes[i], "Concat")) continue;
        bool done;
        EI_TRY(fold_one(g, i, &done));
        if (done) ++*applied;
    }
    return NULL;
}
