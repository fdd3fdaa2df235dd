/* BF16 / FP16 engines, build time: the weights of the heavy operators rounded to half precision
 * (src/quant/half.h). */
#include "quant/half.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/isa.h"
#include "ir/graph_edit.h"
#include "runtime/model_internal.h"

/* The operators whose constant weight (input 1) is stored in half precision. */
static bool is_candidate(const ei_node * n) {
    const ei_op_def * d = n->def;
    return d == &ei_op_def_CONV || d == &ei_op_def_CONV_BLOCKED8 || d == &ei_op_def_CONV_TRANSPOSE ||
           d == &ei_op_def_MATMUL || d == &ei_op_def_GEMM;
}

/* One comma-separated item of list (spaces around it trimmed): [*b, *e). Returns the rest. */
static const char * next_item(const char * list, const char ** b, const char ** e) {
    const char * end = strchr(list, ',');
    if (!end) end = list + strlen(list);
    *b = list, *e = end;
    while (*b < *e && (**b == ' ' || **b == '\t')) (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
    return *end ? end + 1 : end;
}

static int32_t find_node(const ei_graph * g, const char * b, size_t len) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const char * name = g->nodes[i].name;
        if (g->nodes[i].def && strlen(name) == len && !strncmp(name, b, len)) return i;
    }
    return -1;
}

/* kept[i] = true for every node keep_fp32 names; an unknown name is an error naming it, with a
 * few names the list could have meant (node names are those of the optimised graph). */
static ei_status * mark_kept(const ei_graph * g, const char * keep_fp32, bool * kept) {
    for (const char * p = keep_fp32; p && *p;) {
        const char *b, *e;
        p = next_item(p, &b, &e);
        if (b == e) continue;
        int32_t idx = find_node(g, b, (size_t)(e - b));
        if (idx >= 0) {
            kept[idx] = true;
            continue;
        }
        char    some[256] = "";
        size_t  used = 0;
        int32_t shown = 0;
        for (int32_t i = 0; i < g->n_nodes && shown < 4; i++)
            if (g->nodes[i].def && !g->nodes[i].folded && is_candidate(&g->nodes[i]) && used < sizeof some) {
                int w = snprintf(some + used, sizeof some - used, "%s'%s'", shown ? ", " : "", g->nodes[i].name);
                if (w > 0) used += (size_t)w;
                shown++;
            }
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "keep_fp32: the optimised graph has no node named '%.*s' (names are those of the "
                         "optimised graph; its convolutions and matmuls include %s)",
                         (int)(e - b), b, shown ? some : "none");
    }
    return NULL;
}

/* Whether some finite weight of t rounds to infinity in fp16 (beyond 65504 + half a step). */
static bool overflows_f16(const ei_tensor * t) {
    const float * s = t->data;
    int64_t       n = ei_shape_numel(&t->shape);
    for (int64_t i = 0; i < n; i++)
        if (isfinite(s[i]) && fabsf(s[i]) >= 65520.0f) return true;
    return false;
}

/* A half-precision copy of the fp32 tensor t, rounded to nearest even. */
static ei_status * rounded_copy(const ei_tensor * t, ei_precision p, ei_tensor ** out) {
    EI_TRY(ei_tensor_create(p == EI_PRECISION_BF16 ? EI_DTYPE_BF16 : EI_DTYPE_F16, &t->shape, out));
    const float * s = t->data;
    uint16_t *    d = (*out)->data;
    int64_t       n = ei_shape_numel(&t->shape);
    if (p == EI_PRECISION_BF16)
        for (int64_t i = 0; i < n; i++) d[i] = ei_f32_to_bf16(s[i]);
    else
        for (int64_t i = 0; i < n; i++) d[i] = ei_f32_to_f16(s[i]);
    return NULL;
}

ei_status * ei_half_convert(ei_graph * g, ei_precision p, const char * keep_fp32, bool round_inputs,
                            ei_half_report * rep) {
    ei_half_report r;
    memset(&r, 0, sizeof r);
    if (p != EI_PRECISION_BF16 && p != EI_PRECISION_FP16)
        return ei_errorf(EI_CODE_INTERNAL, "ei_half_convert: precision %s is not bf16 or fp16", ei_precision_name(p));
    bool * kept = calloc((size_t)g->n_nodes + 1, 1);
    if (!kept) return ei_status_oom();
    ei_status * st = mark_kept(g, keep_fp32, kept);
    for (int32_t i = 0; i < g->n_nodes && !st; i++) {
        ei_node * n = &g->nodes[i];
        if (!n->def || n->folded || !is_candidate(n) || n->n_inputs < 2 || n->inputs[1] < 0) continue;
        ei_value * w = &g->values[n->inputs[1]];
        if (!w->constant || w->dtype != EI_DTYPE_F32 || w->constant->dtype != EI_DTYPE_F32) continue;
        if (kept[i]) {
            r.kept++;
            continue;
        }
        /* Another reader (a node that stays fp32, or a graph output) would see the rounded values. */
        if (ei_graph_use_count(g, n->inputs[1]) != 1) {
            r.shared++;
            continue;
        }
        /* fp16 would turn such weights into infinities: that node keeps fp32. */
        if (p == EI_PRECISION_FP16 && overflows_f16(w->constant)) {
            r.overflow++;
            continue;
        }
        ei_tensor * h = NULL;
        st = rounded_copy(w->constant, p, &h);
        if (!st && round_inputs) st = ei_node_set_attr_int(n, EI_HALF_ROUND_ATTR, (int64_t)p);
        if (st) {
            ei_tensor_destroy(h);
            break;
        }
        r.converted++;
        r.bytes_fp32 += (int64_t)w->constant->nbytes;
        r.bytes_half += (int64_t)h->nbytes;
        ei_tensor_destroy(w->constant);
        w->constant = h;
        w->dtype = h->dtype;
    }
    free(kept);
    if (rep) *rep = r;
    return st;
}

ei_status * ei_half_check_weight(const ei_graph * g, const ei_node * n, int32_t k) {
    const ei_value * v = ei_node_input(g, n, k);
    if (v && (v->dtype == EI_DTYPE_BF16 || v->dtype == EI_DTYPE_F16) && v->constant && v->constant->dtype == v->dtype)
        return NULL;
    return ei_op_check_dtype(g, n, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED);
}

void ei_half_describe(const ei_model * m, char * buf, size_t n) {
    const ei_graph * g = m->g;
    ei_precision     p = (ei_precision)m->build.precision;
    int32_t          converted = 0, rounding = 0, fp32_left = 0;
    int64_t          bytes = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * nd = &g->nodes[i];
        if (!nd->def || nd->folded || !is_candidate(nd) || nd->n_inputs < 2 || nd->inputs[1] < 0) continue;
        const ei_value * w = &g->values[nd->inputs[1]];
        if (!w->constant) continue;
        if (w->dtype == EI_DTYPE_BF16 || w->dtype == EI_DTYPE_F16) {
            converted++;
            bytes += (int64_t)w->constant->nbytes;
            if (ei_half_round_mode(nd) != EI_PRECISION_FP32) rounding++;
        } else {
            fp32_left++;
        }
    }
    const char * name = ei_precision_name(p);
    uint64_t     isa = ei_isa_detect();
    bool         native = p == EI_PRECISION_BF16 ? (isa & (EI_ISA_AVX512_BF16 | EI_ISA_AMX_BF16)) != 0 : false;
    snprintf(buf, n,
             "precision %s: weights of %d convolutions/matmuls stored in %s (%.1f MB); %d kept fp32; biases, "
             "LayerNorm, Softmax, reductions and all other layers stay fp32; %s\n"
             "note: %s: compute stays fp32, so this engine is no faster than fp32 (the file is about half the size)",
             name, converted, name, (double)bytes / 1e6, fp32_left,
             rounding ? "activations are rounded at those layers' inputs, as native hardware would"
                      : "activations stay fp32 (weights-only)",
             native                   ? "this CPU has bf16 arithmetic, but this edgeinfer has no bf16 kernels"
             : p == EI_PRECISION_BF16 ? "this CPU has no native bf16 arithmetic (no AVX512_BF16, no AMX)"
                                      : "this CPU has no native fp16 arithmetic (no AVX512-FP16)");
}
