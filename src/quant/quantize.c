/* The INT8 rewrite (quant/quantize.h): Conv / ei.ConvBlocked8 -> ei.ConvInt8 with int8 weights;
 * MatMul -> ei.MatMulInt8 in quantize_matmul.c. */
#include "quant/quantize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "ops/conv_int8.h"
#include "ops/op.h"
#include "quant/quantize_internal.h"

bool ei_quant_listed(const char * list, const char * name) {
    size_t nl = strlen(name);
    for (const char * p = list; p && *p;) {
        const char * end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char * b = p;
        const char * e = end;
        while (b < e && (*b == ' ' || *b == '\t')) b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if ((size_t)(e - b) == nl && !strncmp(b, name, nl)) return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

bool ei_quant_lookup(const ei_graph * g, const ei_calib_table * t, int32_t v, float * scale, bool * is_unsigned) {
    if (ei_calib_table_get(t, g->values[v].name, scale, is_unsigned)) return true;
    int32_t p = g->values[v].producer;
    if (p < 0 || p >= g->n_nodes || ei_node_is_removed(&g->nodes[p])) return false;
    const ei_node * n = &g->nodes[p];
    if ((n->def == &ei_op_def_TO_BLOCKED8 || n->def == &ei_op_def_FROM_BLOCKED8) && n->n_inputs == 1 &&
        n->inputs[0] >= 0)
        return ei_calib_table_get(t, g->values[n->inputs[0]].name, scale, is_unsigned);
    return false;
}

/* The name of the table entry ei_quant_lookup found for value v (v's own or its layout source's). */
static const char * entry_name(const ei_graph * g, const ei_calib_table * t, int32_t v) {
    if (ei_calib_table_get(t, g->values[v].name, NULL, NULL)) return g->values[v].name;
    int32_t p = g->values[v].producer;
    return p >= 0 && p < g->n_nodes && g->nodes[p].n_inputs == 1 && g->nodes[p].inputs[0] >= 0
               ? g->values[g->nodes[p].inputs[0]].name
               : g->values[v].name;
}

bool ei_quantize_is_candidate(const ei_graph * g, const ei_node * n) {
    if (n->folded || ei_node_is_removed(n)) return false;
    if (n->def != &ei_op_def_CONV && n->def != &ei_op_def_CONV_BLOCKED8) return false;
    if (n->n_outputs != 1 || n->outputs[0] < 0 || n->n_inputs < 2 || n->inputs[0] < 0 || n->inputs[1] < 0) return false;
    const ei_value * x = &g->values[n->inputs[0]];
    const ei_value * w = &g->values[n->inputs[1]];
    return x->dtype == EI_DTYPE_F32 && (x->shape.rank == 4 || x->shape.rank == 5) && w->constant &&
           w->dtype == EI_DTYPE_F32 && w->shape.rank == 4 && ei_shape_numel(&w->shape) > 0;
}

/* W [M, ...] float -> q int8 and per-channel scales (a channel of zeros gets scale 1). */
ei_status * ei_quantize_conv_weights(const ei_tensor * w, ei_tensor ** q_out, ei_tensor ** s_out) {
    int64_t  m = w->shape.dim[0], per = ei_shape_numel(&w->shape) / m;
    ei_shape ss = {.rank = 1, .dim = {m}};
    EI_TRY(ei_tensor_create(EI_DTYPE_I8, &w->shape, q_out));
    ei_status * st = ei_tensor_create(EI_DTYPE_F32, &ss, s_out);
    if (st) {
        ei_tensor_destroy(*q_out);
        *q_out = NULL;
        return st;
    }
    const float * wd = w->data;
    int8_t *      qd = (*q_out)->data;
    float *       sd = (*s_out)->data;
    for (int64_t o = 0; o < m; o++) {
        const float * row = wd + o * per;
        float         mx = 0.0f;
        for (int64_t i = 0; i < per; i++)
            if (fabsf(row[i]) > mx) mx = fabsf(row[i]);
        float s = mx > 0.0f && isfinite(mx) ? mx / (float)EI_INT8_WEIGHT_MAX : 1.0f;
        sd[o] = s;
        for (int64_t i = 0; i < per; i++) {
            float v = nearbyintf(row[i] / s);
            if (!(v >= -EI_INT8_WEIGHT_MAX)) v = -EI_INT8_WEIGHT_MAX;
            if (v > EI_INT8_WEIGHT_MAX) v = EI_INT8_WEIGHT_MAX;
            qd[o * per + i] = (int8_t)v;
        }
    }
    return NULL;
}

bool ei_quantize_bias_delta(const ei_tensor * w, const ei_tensor * q, const ei_tensor * s, int64_t group,
                            const float * mean, const float * mean_q, int32_t channels, float * delta) {
    int64_t m = w->shape.dim[0], cg = w->shape.dim[1], k = w->shape.dim[2] * w->shape.dim[3];
    if (group < 1 || m % group || cg * group != channels) return false;
    const float *  wd = w->data;
    const int8_t * qd = q->data;
    const float *  sd = s->data;
    for (int64_t o = 0; o < m; o++) {
        int64_t c0 = o / (m / group) * cg;
        double  d = 0.0;
        for (int64_t c = 0; c < cg; c++) {
            double sw = 0.0, sq = 0.0;
            for (int64_t j = 0; j < k; j++) sw += wd[(o * cg + c) * k + j], sq += qd[(o * cg + c) * k + j];
            d += sw * mean[c0 + c] - sq * (double)sd[o] * mean_q[c0 + c];
        }
        delta[o] = (float)d;
    }
    return true;
}

/* Drops the float weights once nothing reads them (engine files would store them otherwise). */
void ei_quant_drop_if_unused(ei_graph * g, int32_t v) {
    ei_value * val = &g->values[v];
    if (val->flags & (EI_VALUE_GRAPH_INPUT | EI_VALUE_GRAPH_OUTPUT)) return;
    if (ei_graph_use_count(g, v) > 0 || !val->constant) return;
    ei_tensor_destroy(val->constant);
    val->constant = NULL;
}

/* With channel means in the table for X: a new bias constant B + delta (ei_quantize_bias_delta) for
 * the convolution at idx, whose int8 weights are q, s; -1 when there is nothing to correct (no
 * means, no constant bias, or means that do not fit). */
static ei_status * corrected_bias(ei_graph * g, int32_t idx, const ei_calib_table * t, const char * x_entry,
                                  const ei_tensor * q, const ei_tensor * s, int32_t * out) {
    *out = -1;
    const ei_node * n = &g->nodes[idx];
    const float *   mean, *mean_q;
    int32_t         ch = ei_calib_table_means(t, x_entry, &mean, &mean_q);
    ei_fused        f;
    EI_TRY(ei_fused_import(n, &f));
    int32_t n_base = f.residual ? n->n_inputs - 1 : n->n_inputs;
    int32_t bv = n_base > 2 ? n->inputs[2] : -1;
    if (ch <= 0 || bv < 0) return NULL;
    const ei_tensor * b = g->values[bv].constant;
    const ei_tensor * w = g->values[n->inputs[1]].constant;
    int64_t           group = 1;
    EI_TRY(ei_attr_get_int(n, "group", 1, &group));
    if (!b || b->dtype != EI_DTYPE_F32 || ei_tensor_numel(b) != w->shape.dim[0]) return NULL;
    ei_tensor * nb = NULL;
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, &b->shape, &nb));
    float * d = nb->data;
    if (!ei_quantize_bias_delta(w, q, s, group, mean, mean_q, ch, d)) {
        ei_tensor_destroy(nb);
        return NULL;
    }
    const float * bd = b->data;
    for (int64_t o = 0; o < w->shape.dim[0]; o++) d[o] += bd[o];
    char name[512];
    snprintf(name, sizeof name, "%s_int8_B", n->name);
    return ei_graph_constant_add(g, name, nb, out);
}

static ei_status * rewrite(ei_graph * g, int32_t idx, float x_scale, bool x_unsigned, const ei_calib_table * t,
                           const char * x_entry, int32_t * corrected) {
    ei_node *         n = &g->nodes[idx];
    bool              blocked = n->def == &ei_op_def_CONV_BLOCKED8;
    int32_t           w_old = n->inputs[1];
    ei_fused          f;
    ei_tensor *       q = NULL, *s = NULL;
    int32_t           qv, sv;
    char              name[512];
    const ei_tensor * w = g->values[w_old].constant;
    EI_TRY(ei_fused_import(n, &f));
    EI_TRY(ei_quantize_conv_weights(w, &q, &s));
    snprintf(name, sizeof name, "%s_int8_W", n->name);
    ei_status * st = ei_graph_constant_add(g, name, q, &qv);
    if (st) {
        ei_tensor_destroy(s);
        return st;
    }
    snprintf(name, sizeof name, "%s_int8_W_scale", g->nodes[idx].name);
    EI_TRY(ei_graph_constant_add(g, name, s, &sv));
    int32_t nbias;
    EI_TRY(corrected_bias(g, idx, t, x_entry, g->values[qv].constant, g->values[sv].constant, &nbias));
    n = &g->nodes[idx];
    int32_t   res = f.residual ? n->inputs[n->n_inputs - 1] : -1;
    int32_t   n_base = f.residual ? n->n_inputs - 1 : n->n_inputs;
    int32_t   bias_old = n_base > 2 ? n->inputs[2] : -1;
    int32_t   bias = nbias >= 0 ? nbias : bias_old;
    int32_t   ins[5] = {n->inputs[0], qv, sv, bias, res};
    int32_t   n_ins = f.residual ? 5 : (bias >= 0 ? 4 : 3);
    int32_t * grown = realloc(n->inputs, 5 * sizeof *grown);
    if (!grown) return ei_status_oom();
    n->inputs = grown;
    memcpy(n->inputs, ins, sizeof ins);
    n->n_inputs = n_ins;
    EI_TRY(ei_node_set_attr_float(n, "ei.x_scale", x_unsigned ? x_scale * 127.0f / 255.0f : x_scale));
    EI_TRY(ei_node_set_attr_int(n, "ei.x_unsigned", x_unsigned ? 1 : 0));
    EI_TRY(ei_node_set_attr_int(n, "ei.blocked", blocked ? 1 : 0));
    EI_TRY(ei_node_set_op(n, "ei.ConvInt8"));
    EI_TRY(ei_node_reimport(n));
    ei_quant_drop_if_unused(g, w_old);
    if (nbias >= 0) {
        ei_quant_drop_if_unused(g, bias_old);
        ++*corrected;
    }
    return NULL;
}

/* Requantisation fused: an ei.ConvInt8 whose output is read only by ei.ConvInt8 nodes, each as its
 * X (all with one scale and sign: the table's entry for that value), writes that uint8/int8 NHWC
 * tensor itself, and its readers skip their quantisation. Not with a residual (added in float to a
 * float Y). */
static ei_status * fuse_requant(ei_graph * g, int32_t * fused) {
    *fused = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ei_node * n = &g->nodes[i];
        if (n->def != &ei_op_def_CONV_INT8 || n->folded || ei_node_is_removed(n)) continue;
        const ei_conv_int8_params * p = n->params;
        int32_t                     y = n->outputs[0];
        if (!p || p->fused.residual || p->y_scale > 0.0f || y < 0 || (g->values[y].flags & EI_VALUE_GRAPH_OUTPUT))
            continue;
        int32_t readers[64];
        int32_t k = ei_graph_consumers(g, y, readers, 64);
        if (k < 1 || k > 64) continue;
        bool  ok = true;
        float scale = 0.0f;
        bool  u = false;
        for (int32_t r = 0; r < k && ok; r++) {
            const ei_node *             c = &g->nodes[readers[r]];
            const ei_conv_int8_params * cp = c->params;
            ok = c->def == &ei_op_def_CONV_INT8 && cp && c->inputs[0] == y;
            for (int32_t in = 1; ok && in < c->n_inputs; in++) ok = c->inputs[in] != y;
            if (!ok) break;
            if (r == 0) scale = cp->x_scale, u = cp->x_unsigned;
            ok = cp->x_scale == scale && cp->x_unsigned == u;
        }
        if (!ok) continue;
        EI_TRY(ei_node_set_attr_float(n, "ei.y_scale", scale));
        EI_TRY(ei_node_set_attr_int(n, "ei.y_unsigned", u ? 1 : 0));
        EI_TRY(ei_node_set_attr_int(n, "ei.blocked", 0));
        EI_TRY(ei_node_reimport(n));
        ++*fused;
    }
    return NULL;
}

/* Whether every reader of v clamps what it reads from v to [0, top] or narrower anyway: int8
 * convolutions reading v as X quantised to uint8 over [0, 255 x_scale] with 255 x_scale <= top, or
 * Concat / Slice / Reshape / layout conversions passing v on (as data) to such readers. */
static bool clamped_by_readers(const ei_graph * g, int32_t v, float top, int32_t depth) {
    int32_t readers[64];
    int32_t k = ei_graph_consumers(g, v, readers, 64);
    if (k < 1 || k > 64 || depth > 4 || (g->values[v].flags & EI_VALUE_GRAPH_OUTPUT)) return false;
    for (int32_t r = 0; r < k; r++) {
        const ei_node * c = &g->nodes[readers[r]];
        if (c->def == &ei_op_def_CONV_INT8) {
            const ei_conv_int8_params * cp = c->params;
            if (!cp || !cp->x_unsigned || c->inputs[0] != v || !(255.0f * cp->x_scale <= top * (1.0f + 1e-5f)))
                return false;
            for (int32_t in = 1; in < c->n_inputs; in++)
                if (c->inputs[in] == v) return false;
        } else if (c->def == &ei_op_def_CONCAT || c->def == &ei_op_def_SLICE || c->def == &ei_op_def_RESHAPE ||
                   c->def == &ei_op_def_TO_BLOCKED8 || c->def == &ei_op_def_FROM_BLOCKED8) {
            for (int32_t in = c->def == &ei_op_def_CONCAT ? c->n_inputs : 1; in < c->n_inputs; in++)
                if (c->inputs[in] == v) return false; /* read as a shape or index */
            if (c->n_outputs != 1 || c->outputs[0] < 0 || !clamped_by_readers(g, c->outputs[0], top, depth + 1))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* A Clip(x, 0, hi) (constant bounds) whose readers clamp to [0, hi] anyway (clamped_by_readers)
 * changes nothing and goes (its readers read x). The QDQ extraction leaves such Clips for uint8
 * pairs with zero point 0 on values of unknown sign (an image input and its slices). Readers first
 * (reverse node order), so that a Clip before a Concat before a Clip goes too. */
static ei_status * drop_redundant_clips(ei_graph * g, int32_t * dropped) {
    *dropped = 0;
    for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
        ei_node * n = &g->nodes[i];
        if (ei_node_is_removed(n) || n->folded || n->def != &ei_op_def_CLIP || n->n_inputs != 3 || n->n_outputs != 1)
            continue;
        const ei_tensor * lo = ei_node_input_const(g, n, 1);
        const ei_tensor * hi = ei_node_input_const(g, n, 2);
        int32_t           x = n->inputs[0], y = n->outputs[0];
        if (!lo || !hi || lo->dtype != EI_DTYPE_F32 || hi->dtype != EI_DTYPE_F32 || ei_tensor_numel(lo) != 1 ||
            ei_tensor_numel(hi) != 1 || ((const float *)lo->data)[0] != 0.0f || x < 0 || y < 0 ||
            g->values[x].dtype != EI_DTYPE_F32 || !clamped_by_readers(g, y, ((const float *)hi->data)[0], 0))
            continue;
        ei_graph_replace_uses(g, y, x);
        ei_graph_node_remove(g, i);
        ++*dropped;
    }
    if (*dropped) EI_TRY(ei_graph_compact(g));
    return NULL;
}

ei_status * ei_quantize_int8(ei_graph * g, const ei_calib_table * t, const char * keep_fp32,
                             ei_quantize_stats * stats) {
    memset(stats, 0, sizeof *stats);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!ei_quantize_is_candidate(g, n)) continue;
        stats->candidates++;
        if (ei_quant_listed(keep_fp32, n->name)) {
            stats->kept_fp32++;
            continue;
        }
        float scale;
        bool  u;
        if (!ei_quant_lookup(g, t, n->inputs[0], &scale, &u)) {
            stats->no_entry++;
            continue;
        }
        if (!(scale > 0.0f && isfinite(scale)))
            return ei_node_errorf(n, EI_CODE_INVALID_ARGUMENT,
                                  "the calibration table's scale %g for input '%s' is not a positive number",
                                  (double)scale, g->values[n->inputs[0]].name);
        EI_TRY(rewrite(g, i, scale, u, t, entry_name(g, t, n->inputs[0]), &stats->bias_corrected));
        stats->convs++;
    }
    if (stats->convs) {
        EI_TRY(drop_redundant_clips(g, &stats->clips_dropped));
        EI_TRY(fuse_requant(g, &stats->requant_fused));
    }
    EI_TRY(ei_quantize_matmuls(g, t, keep_fp32, &stats->matmuls, &stats->matmul_candidates, &stats->kept_fp32,
                               &stats->no_entry));
    if (stats->convs || stats->matmuls) EI_TRY(ei_graph_reinfer(g));
    return NULL;
}
