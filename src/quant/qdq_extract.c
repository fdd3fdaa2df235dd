/* QDQ pairs -> calibration table (src/quant/qdq.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "ops/op.h"
#include "passes/pass_manager.h"
#include "passes/pass_util.h"
#include "quant/qdq.h"
#include "runtime/model_internal.h"

static bool is_q(const ei_node * n) { return n->def == ei_op_get(EI_OP_QUANTIZE_LINEAR); }
static bool is_dq(const ei_node * n) { return n->def == ei_op_get(EI_OP_DEQUANTIZE_LINEAR); }

int32_t ei_qdq_node_count(const ei_graph * g) {
    int32_t c = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        c += !ei_node_is_removed(&g->nodes[i]) && (is_q(&g->nodes[i]) || is_dq(&g->nodes[i]));
    return c;
}

int32_t ei_qdq_activation_count(const ei_graph * g) {
    int32_t c = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        c += !ei_node_is_removed(&g->nodes[i]) && !g->nodes[i].folded && is_q(&g->nodes[i]);
    return c;
}

void ei_qdq_table_scale(float s, int32_t zp, bool is_signed, float * scale, bool * is_unsigned) {
    const int32_t qmin = is_signed ? -128 : 0, qmax = is_signed ? 127 : 255;
    if (is_signed && zp == 0) {
        *scale = s;
        *is_unsigned = false;
        return;
    }
    double lo = (double)(qmin - zp) * s, hi = (double)(qmax - zp) * s;
    double threshold = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    *scale = (float)(threshold / 127.0);
    *is_unsigned = lo >= 0.0;
}

/* Per-tensor constant scale and zero point (0 when omitted) of a Q or DQ node; false when not. The
 * zero point's dtype is the quantised tensor's, which Q and DQ of a pair share. */
static bool pair_params(const ei_graph * g, const ei_node * n, float * s, int32_t * zp) {
    const ei_tensor * st = ei_node_input_const(g, n, 1);
    if (!st || st->dtype != EI_DTYPE_F32 || ei_shape_numel(&st->shape) != 1) return false;
    *s = ((const float *)st->data)[0];
    *zp = 0;
    if (n->n_inputs <= 2 || n->inputs[2] < 0) return true;
    const ei_tensor * zt = ei_node_input_const(g, n, 2);
    if (!zt || ei_shape_numel(&zt->shape) != 1) return false;
    if (zt->dtype == EI_DTYPE_I8)
        *zp = ((const int8_t *)zt->data)[0];
    else if (zt->dtype == EI_DTYPE_U8)
        *zp = ((const uint8_t *)zt->data)[0];
    else
        return false;
    return true;
}

/* Whether value v is written by a Sigmoid or HardSigmoid (within [0, 1]); *hs its node when a
 * HardSigmoid. */
static bool unit_range(const ei_graph * g, int32_t v, const ei_node ** hs) {
    int32_t p = v >= 0 ? ei_graph_live_producer(g, v) : -1;
    *hs = NULL;
    if (p < 0) return false;
    if (ei_pass_is_op(&g->nodes[p], "HardSigmoid")) *hs = &g->nodes[p];
    return *hs || ei_pass_is_op(&g->nodes[p], "Sigmoid");
}

/* The least value x's producer can write, when known: 0 for Sigmoid, HardSigmoid, Softmax and
 * Relu; SiLU's minimum for Mul(a, Sigmoid(a)), HardSwish's for HardSwish and Mul(a, HardSigmoid(a))
 * (-beta^2 / (4 alpha)); for Mul(a, b) with b in [0, 1] (a squeeze-excitation scale) the lesser of
 * 0 and a's least value. */
static bool producer_min(const ei_graph * g, int32_t x, float * min, int32_t depth) {
    int32_t p = ei_graph_live_producer(g, x);
    if (p < 0 || depth > 3) return false;
    const ei_node * n = &g->nodes[p];
    if (ei_pass_is_op(n, "Sigmoid") || ei_pass_is_op(n, "HardSigmoid") || ei_pass_is_op(n, "Softmax") ||
        ei_pass_is_op(n, "Relu")) {
        *min = 0.0f;
        return true;
    }
    if (ei_pass_is_op(n, "HardSwish")) {
        *min = -0.375f; /* x (x + 3) / 6 at x = -1.5 */
        return true;
    }
    if (!ei_pass_is_op(n, "Mul") || n->n_inputs != 2) return false;
    for (int32_t k = 0; k < 2; k++) {
        int32_t         a = n->inputs[k];
        const ei_node * hs;
        if (a < 0 || !unit_range(g, n->inputs[1 - k], &hs)) continue;
        int32_t sp = ei_graph_live_producer(g, n->inputs[1 - k]);
        if (g->nodes[sp].inputs[0] == a) { /* a * Sigmoid(a), a * HardSigmoid(a) */
            float alpha = 0.2f, beta = 0.5f;
            if (!hs) {
                *min = -0.2784645f; /* x * sigmoid(x) at x = -1.2785 */
                return true;
            }
            ei_status * st = ei_attr_get_float(hs, "alpha", 0.2f, &alpha);
            if (!st) st = ei_attr_get_float(hs, "beta", 0.5f, &beta);
            ei_status_destroy(st);
            /* the vertex of x (alpha x + beta) lies in the linear part for beta in [0, 2] */
            if (st || !(alpha > 0.0f) || !(beta >= 0.0f && beta <= 2.0f)) continue;
            *min = -beta * beta / (4.0f * alpha);
            return true;
        }
        float am;
        if (producer_min(g, a, &am, depth + 1)) {
            *min = am < 0.0f ? am : 0.0f;
            return true;
        }
    }
    return false;
}

/* Replaces DequantizeLinear node di (output y) by Clip(x, 0, hi) -> y. */
static ei_status * clamp_node(ei_graph * g, int32_t di, int32_t x, int32_t y, float hi) {
    char     name[512];
    int64_t  opset = g->nodes[di].opset > 13 ? g->nodes[di].opset : 13; /* Clip bounds are inputs from 11 */
    ei_shape scalar = {0};
    int32_t  ids[3] = {x, -1, -1};
    float    bounds[2] = {0.0f, hi};
    for (int32_t k = 0; k < 2; k++) {
        ei_tensor * t = NULL;
        EI_TRY(ei_tensor_create(EI_DTYPE_F32, &scalar, &t));
        ((float *)t->data)[0] = bounds[k];
        snprintf(name, sizeof name, "%s.%s", g->nodes[di].name, k ? "max" : "min");
        EI_TRY(ei_graph_constant_add(g, name, t, &ids[k + 1]));
    }
    snprintf(name, sizeof name, "%s.clip", g->nodes[di].name);
    ei_graph_node_remove(g, di);
    int32_t idx;
    EI_TRY(ei_graph_node_new(g, "Clip", name, opset, ids, 3, &y, 1, &idx));
    return ei_node_reimport(&g->nodes[idx]);
}

ei_status * ei_qdq_extract(ei_graph * g, ei_calib_table * table, ei_qdq_stats * stats) {
    memset(stats, 0, sizeof *stats);
    bool changed = false;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * d = &g->nodes[i];
        if (ei_node_is_removed(d) || !is_dq(d)) continue;
        if (d->folded) {
            stats->weights++;
            continue;
        }
        int32_t q_out = d->inputs[0], y = d->outputs[0];
        int32_t qi = ei_graph_live_producer(g, q_out);
        if (qi < 0 || !is_q(&g->nodes[qi]) || y < 0) continue;
        const ei_node * q = &g->nodes[qi];
        float           qs, ds;
        int32_t         qz, dz;
        if (!pair_params(g, q, &qs, &qz) || !pair_params(g, d, &ds, &dz) || qs != ds || qz != dz) continue;
        int32_t x = q->inputs[0];
        if (g->values[x].dtype != EI_DTYPE_F32) continue;
        bool  is_signed = g->values[q_out].dtype == EI_DTYPE_I8;
        float scale;
        bool  is_unsigned;
        ei_qdq_table_scale(qs, qz, is_signed, &scale, &is_unsigned);
        /* A never-negative range clamps at 0, so the pair may stand for an activation the quantiser
         * removed (ONNX Runtime drops Relu and Clip(0, c) before uint8 pairs): it becomes Clip(x, 0,
         * hi) writing the DQ's output, which the activation fusion then folds into the producer. */
        int32_t entry = x;
        /* No clamp where x's producer never writes below -s / 2 (a Sigmoid, a SiLU before a pair
         * whose zero point 0 only says that its scale exceeds twice SiLU's minimum): the clamp then
         * moves no value by more than the rounding of the removed pair, it stands for no removed
         * activation, and the pair's upper saturation is left out as for every other pair. The
         * activation fusion then sees x * Sigmoid(x) again. */
        float x_min;
        bool  clamp = is_unsigned && !(producer_min(g, x, &x_min, 0) && x_min >= -0.5f * qs);
        if (clamp) {
            float hi = (float)((is_signed ? 127 : 255) - qz) * qs;
            EI_TRY(clamp_node(g, i, x, y, hi));
            entry = y;
        } else if (g->values[y].flags & EI_VALUE_GRAPH_OUTPUT) {
            /* A graph output keeps its name: x's producer writes it (x's readers read it). */
            if (!ei_pass_bypass(g, i, x, y)) continue;
            entry = y;
        } else {
            ei_graph_replace_uses(g, y, x);
            ei_graph_node_remove(g, i);
        }
        const char * name = g->values[entry].name;
        float        old;
        bool         old_unsigned;
        if (ei_calib_table_get(table, name, &old, &old_unsigned)) {
            /* Quantised again by another pair: keep the wider range. */
            if (old >= scale) scale = old, is_unsigned = old_unsigned;
        } else {
            stats->tensors++;
            stats->asymmetric += qz != 0 && qz != (is_signed ? -128 : 0);
        }
        EI_TRY(ei_calib_table_set(table, name, scale, is_unsigned));
        stats->pairs++;
        changed = true;
    }
    /* Quantize nodes whose every reader was a removed DequantizeLinear. */
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * q = &g->nodes[i];
        if (ei_node_is_removed(q) || !is_q(q) || q->folded) continue;
        if (q->outputs[0] >= 0 && ei_graph_use_count(g, q->outputs[0]) == 0) {
            ei_graph_node_remove(g, i);
            changed = true;
        }
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        stats->kept += !ei_node_is_removed(n) && !n->folded && (is_q(n) || is_dq(n));
    }
    if (changed) {
        EI_TRY(ei_graph_compact(g));
        EI_TRY(ei_graph_reinfer(g));
    }
    return NULL;
}

/* The tensor a chain of Slices (each read by nothing else) ends at, reading up from v: -1 when v is
 * not written by such a chain. */
static int32_t slice_root(const ei_graph * g, int32_t v) {
    int32_t root = -1;
    for (int32_t depth = 0; depth < 4; depth++) {
        int32_t p = v >= 0 ? ei_graph_live_producer(g, v) : -1;
        if (p < 0 || !ei_pass_is_op(&g->nodes[p], "Slice") || ei_graph_use_count(g, v) != 1) return root;
        root = v = g->nodes[p].inputs[0];
    }
    return -1;
}

/* Whether every reader of v is a Slice. */
static bool read_by_slices_only(const ei_graph * g, int32_t v) {
    int32_t readers[16];
    int32_t k = ei_graph_consumers(g, v, readers, 16);
    if (k < 1 || k > 16 || (g->values[v].flags & EI_VALUE_GRAPH_OUTPUT)) return false;
    for (int32_t r = 0; r < k; r++)
        if (!ei_pass_is_op(&g->nodes[readers[r]], "Slice") || g->nodes[readers[r]].inputs[0] != v) return false;
    return true;
}

/* Whether node idx is a Clip(x, 0, hi) with constant float bounds; *hi its upper one. */
static bool zero_clip(const ei_graph * g, int32_t idx, float * hi) {
    if (idx < 0) return false;
    const ei_node * n = &g->nodes[idx];
    if (!ei_pass_is_op(n, "Clip") || n->n_inputs != 3 || n->n_outputs != 1 || n->outputs[0] < 0) return false;
    const ei_tensor * lo = ei_node_input_const(g, n, 1);
    const ei_tensor * up = ei_node_input_const(g, n, 2);
    if (!lo || !up || lo->dtype != EI_DTYPE_F32 || up->dtype != EI_DTYPE_F32 || ei_tensor_numel(lo) != 1 ||
        ei_tensor_numel(up) != 1 || ((const float *)lo->data)[0] != 0.0f)
        return false;
    *hi = ((const float *)up->data)[0];
    return true;
}

/* A uint8 stem: Clip(0, h) (the pair on a Concat) of Concat(Clip(0, h_i) (the pairs on Slices) of
 * Slice chains of one tensor X), every h_i >= h and X read by these chains only. It is the Concat
 * of the Slices of Clip(X, 0, h): the Clip moves to X, the others go, and the Concat writes the
 * outer Clip's output (whose table entry it is), so that the space-to-depth fold sees Slices and a
 * Concat again; the int8 rewrite then drops the Clip before the folded int8 convolution. */
static ei_status * hoist_stem_clamps(ei_graph * g, int32_t * hoisted) {
    *hoisted = 0;
    for (int32_t c = 0; c < g->n_nodes; c++) {
        const ei_node * cn = &g->nodes[c];
        if (!ei_pass_is_op(cn, "Concat") || cn->n_outputs != 1 || cn->outputs[0] < 0 || cn->n_inputs < 1) continue;
        int32_t vc = cn->outputs[0], kc = ei_graph_single_consumer(g, vc), x = -1;
        float   h, hi;
        if (!zero_clip(g, kc, &h) || g->nodes[kc].inputs[0] != vc) continue;
        for (int32_t k = 0; k < cn->n_inputs; k++) {
            int32_t ki = cn->inputs[k] >= 0 ? ei_graph_live_producer(g, cn->inputs[k]) : -1;
            int32_t root = -1;
            if (zero_clip(g, ki, &hi) && hi >= h && ei_graph_use_count(g, cn->inputs[k]) == 1)
                root = slice_root(g, g->nodes[ki].inputs[0]);
            if (root < 0 || (x >= 0 && root != x)) {
                x = -1;
                break;
            }
            x = root;
        }
        int32_t readers[16];
        if (x < 0 || g->values[x].dtype != EI_DTYPE_F32 || !read_by_slices_only(g, x) ||
            ei_graph_consumers(g, x, readers, 16) != cn->n_inputs)
            continue;
        /* Clip(X, 0, h) -> X', read by the Slices that read X */
        char    name[512];
        int32_t xc, idx, ins[3] = {x, g->nodes[kc].inputs[1], g->nodes[kc].inputs[2]};
        int32_t y = g->nodes[kc].outputs[0];
        snprintf(name, sizeof name, "%s.clamped", g->values[x].name);
        EI_TRY(ei_graph_value_add_unique(g, name, &xc));
        snprintf(name, sizeof name, "%s.hoisted", g->nodes[kc].name);
        EI_TRY(ei_graph_node_new(g, "Clip", name, g->nodes[kc].opset, ins, 3, &xc, 1, &idx));
        EI_TRY(ei_node_reimport(&g->nodes[idx]));
        for (int32_t r = 0; r < 16 && r < g->nodes[c].n_inputs; r++) g->nodes[readers[r]].inputs[0] = xc;
        for (int32_t k = 0; k < g->nodes[c].n_inputs; k++) {
            int32_t vi = g->nodes[c].inputs[k], ki = ei_graph_live_producer(g, vi);
            int32_t si = g->nodes[ki].inputs[0];
            ei_graph_node_remove(g, ki);
            ei_graph_replace_uses(g, vi, si);
        }
        ei_graph_node_remove(g, kc);
        ei_pass_retarget_output(g, c, y);
        ++*hoisted;
    }
    if (*hoisted) {
        EI_TRY(ei_graph_compact(g));
        EI_TRY(ei_graph_reinfer(g));
    }
    return NULL;
}

/* A quantised Concat of Slices (or Slices of Slices) of one tensor X that only Slices read (YOLOX's
 * space-to-depth stem) holds X's values: X, when it has no entry of its own, gets the Concat's, so
 * that the convolution the passes fold the stem into (reading X) has its input's scale. */
static ei_status * alias_sliced_sources(const ei_graph * g, ei_calib_table * t) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!ei_pass_is_op(n, "Concat") || n->n_outputs != 1 || n->outputs[0] < 0 || n->n_inputs < 1) continue;
        float   scale;
        bool    is_unsigned;
        int32_t src = -1;
        if (!ei_calib_table_get(t, g->values[n->outputs[0]].name, &scale, &is_unsigned)) continue;
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t root = slice_root(g, n->inputs[k]);
            if (root < 0 || (src >= 0 && root != src)) {
                src = -1;
                break;
            }
            src = root;
        }
        if (src >= 0 && read_by_slices_only(g, src) && !ei_calib_table_get(t, g->values[src].name, NULL, NULL))
            EI_TRY(ei_calib_table_set(t, g->values[src].name, scale, is_unsigned));
    }
    return NULL;
}

ei_status * ei_qdq_load_model(const char * path, const ei_model_options * opt, ei_model ** out, ei_calib_table ** table,
                              ei_qdq_stats * stats) {
    *out = NULL;
    *table = NULL;
    ei_model_options mo = opt ? *opt : ei_model_options_default();
    int32_t          level = mo.optimization_level;
    mo.optimization_level = 0;
    ei_model * m = NULL;
    EI_TRY(ei_model_load_file(path, &mo, &m));
    ei_calib_table * t = NULL;
    ei_status *      st = ei_calib_table_create(&t);
    if (!st) st = ei_qdq_extract(m->g, t, stats);
    int32_t hoisted = 0;
    if (!st) st = hoist_stem_clamps(m->g, &hoisted);
    if (!st) st = alias_sliced_sources(m->g, t);
    ei_pass_stats ps;
    if (!st) st = ei_passes_run(m->g, level, &ps);
    if (st) {
        ei_calib_table_destroy(t);
        ei_model_destroy(m);
        return ei_status_wrapf(st, "QDQ model %s", path);
    }
    /* The layout plan feeds blocked convolutions "<name>.b8" copies of their inputs: the same
     * scale under that name too, as calibration of the optimised graph would have recorded. */
    int32_t entries = ei_calib_table_count(t);
    for (int32_t e = 0; e < entries && !st; e++) {
        char         name[512];
        const char * base = ei_calib_table_name(t, e);
        float        scale;
        bool         is_unsigned;
        snprintf(name, sizeof name, "%s.b8", base);
        if (ei_graph_value_find(m->g, name) >= 0 && ei_calib_table_get(t, base, &scale, &is_unsigned))
            st = ei_calib_table_set(t, name, scale, is_unsigned);
    }
    if (st) {
        ei_calib_table_destroy(t);
        ei_model_destroy(m);
        return st;
    }
    char passes[192];
    ei_pass_stats_format(&ps, passes, sizeof passes);
    snprintf(m->optimization_report, sizeof m->optimization_report, "QDQ pairs removed %d%s%s", stats->pairs,
             passes[0] ? ", " : "", passes);
    m->summary.optimization_report = m->optimization_report;
    m->summary.nodes_after_optimization = ps.nodes_after;
    *out = m;
    *table = t;
    return NULL;
}
