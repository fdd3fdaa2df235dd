#include "cpu/conv_own.h"

#include <stdlib.h>
#include <string.h>

#include "quant/half.h"

#define OWN_ALIGN 64

static bool is_f32(const ei_graph * g, int32_t v) { return v >= 0 && g->values[v].dtype == EI_DTYPE_F32; }

bool ei_conv_own_accepts(const ei_graph * g, const ei_node * node, ei_fused * f, ei_window_geom * geom) {
    if (node->n_outputs < 1 || node->n_inputs < 2 || !is_f32(g, node->inputs[0]) || node->inputs[1] < 0 ||
        !is_f32(g, node->outputs[0]))
        return false;
    ei_dtype wdt = g->values[node->inputs[1]].dtype;
    if (wdt != EI_DTYPE_F32 && wdt != EI_DTYPE_BF16 && wdt != EI_DTYPE_F16) return false;
    if (ei_half_round_mode(node) != EI_PRECISION_FP32) return false;
    const ei_value * x = &g->values[node->inputs[0]];
    const ei_value * w = &g->values[node->inputs[1]];
    const ei_value * y = &g->values[node->outputs[0]];
    if (!w->constant || w->shape.rank != 4 || x->shape.rank < 4 || y->shape.rank < 4 || ei_shape_numel(&x->shape) <= 0)
        return false;
    int64_t     group = 1;
    int32_t     bias_in, res_in;
    ei_status * st = ei_attr_get_int(node, "group", 1, &group);
    if (!st) st = ei_conv_own_read(g, node, f, geom, &bias_in, &res_in);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    int32_t n_base = f->residual ? node->n_inputs - 1 : node->n_inputs;
    if (group != 1 || n_base > 3 || (bias_in >= 0 && !is_f32(g, node->inputs[bias_in]))) return false;
    if (res_in >= 0 &&
        (!is_f32(g, node->inputs[res_in]) || !ei_shape_equal(&g->values[node->inputs[res_in]].shape, &y->shape)))
        return false;
    return geom->out[0] == y->shape.dim[2] && geom->out[1] == y->shape.dim[3];
}

ei_status * ei_conv_own_read(const ei_graph * g, const ei_node * node, ei_fused * f, ei_window_geom * geom,
                             int32_t * bias_in, int32_t * res_in) {
    const ei_shape * xs = &g->values[node->inputs[0]].shape;
    const ei_shape * ws = &g->values[node->inputs[1]].shape;
    ei_window_attrs  a;
    ei_status *      st = ei_fused_import(node, f);
    if (!st) st = ei_window_attrs_read(node, true, &a);
    if (!st) st = ei_window_resolve(node, &a, EI_WINDOW_CONV, 2, xs->dim + 2, ws->dim + 2, geom);
    if (st) return st;
    int32_t n_base = f->residual ? node->n_inputs - 1 : node->n_inputs;
    *bias_in = n_base == 3 && node->inputs[2] >= 0 ? 2 : -1;
    *res_in = f->residual ? node->n_inputs - 1 : -1;
    return NULL;
}

ei_status * ei_conv_own_weights_f32(const ei_tensor * wt, const float ** wf, float ** owned) {
    *wf = wt->data;
    *owned = NULL;
    if (wt->dtype == EI_DTYPE_F32) return NULL;
    int64_t n_w = ei_shape_numel(&wt->shape);
    if (!(*owned = malloc((size_t)n_w * sizeof **owned))) return ei_status_oom();
    ei_half_widen(wt->dtype, wt->data, *owned, n_w);
    *wf = *owned;
    return NULL;
}

void * ei_conv_own_alloc_zero(size_t n_floats) {
    size_t bytes = (n_floats * sizeof(float) + OWN_ALIGN - 1) / OWN_ALIGN * OWN_ALIGN;
    void * p = aligned_alloc(OWN_ALIGN, bytes ? bytes : OWN_ALIGN);
    if (p) memset(p, 0, bytes);
    return p;
}
