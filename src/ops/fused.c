#include "ops/fused.h"

#include "cpu/vmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char * const g_act_names[] = {
    [EI_ACT_NONE] = "",
    [EI_ACT_RELU] = "Relu",
    [EI_ACT_CLIP] = "Clip",
    [EI_ACT_LEAKY_RELU] = "LeakyRelu",
    [EI_ACT_HARD_SIGMOID] = "HardSigmoid",
    [EI_ACT_HARD_SWISH] = "HardSwish",
    [EI_ACT_SIGMOID] = "Sigmoid",
    [EI_ACT_SILU] = "Silu",
    [EI_ACT_GELU] = "Gelu",
    [EI_ACT_GELU_TANH] = "GeluTanh",
    [EI_ACT_TANH] = "Tanh",
};

const char * ei_act_name(ei_act_kind act) {
    return (unsigned)act < sizeof g_act_names / sizeof g_act_names[0] ? g_act_names[act] : "?";
}

ei_status * ei_fused_import(const ei_node * node, ei_fused * out) {
    memset(out, 0, sizeof *out);
    const char * name;
    int64_t      residual;
    EI_TRY(ei_attr_get_string(node, "ei.activation", "", &name));
    EI_TRY(ei_attr_get_float(node, "ei.alpha", 0.0f, &out->alpha));
    EI_TRY(ei_attr_get_float(node, "ei.beta", 0.0f, &out->beta));
    EI_TRY(ei_attr_get_int(node, "ei.residual", 0, &residual));
    out->residual = residual != 0;
    if (!name[0]) return NULL;
    for (size_t i = 1; i < sizeof g_act_names / sizeof g_act_names[0]; i++)
        if (!strcmp(name, g_act_names[i])) {
            out->act = (ei_act_kind)i;
            return NULL;
        }
    return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "unknown fused activation '%s'", name);
}

static ei_status * set_attr(ei_node * node, const char * name, ei_attr_type type, float f, int64_t i, const char * s) {
    ei_attr * a = NULL;
    for (int32_t k = 0; k < node->n_attrs; k++)
        if (!strcmp(node->attrs[k].name, name)) a = &node->attrs[k];
    if (!a) {
        ei_attr * grown = realloc(node->attrs, ((size_t)node->n_attrs + 1) * sizeof *grown);
        if (!grown) return ei_status_oom();
        node->attrs = grown;
        a = &node->attrs[node->n_attrs];
        memset(a, 0, sizeof *a);
        a->name = strdup(name);
        if (!a->name) return ei_status_oom();
        node->n_attrs++;
    }
    free(a->s);
    a->s = NULL;
    a->type = type;
    a->f = f;
    a->i = i;
    if (s) {
        a->s = strdup(s);
        if (!a->s) return ei_status_oom();
    }
    return NULL;
}

ei_status * ei_fused_set(ei_node * node, const ei_fused * f) {
    EI_TRY(set_attr(node, "ei.activation", EI_ATTR_STRING, 0, 0, ei_act_name(f->act)));
    EI_TRY(set_attr(node, "ei.alpha", EI_ATTR_FLOAT, f->alpha, 0, NULL));
    EI_TRY(set_attr(node, "ei.beta", EI_ATTR_FLOAT, f->beta, 0, NULL));
    return set_attr(node, "ei.residual", EI_ATTR_INT, 0, f->residual ? 1 : 0, NULL);
}

void ei_fused_act_apply(const ei_fused * f, float * y, int64_t n) {
    const float a = f->alpha, b = f->beta;
    switch (f->act) {
    case EI_ACT_NONE: return;
    case EI_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        return;
    case EI_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < a ? a : (y[i] > b ? b : y[i]);
        return;
    case EI_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0.0f ? a * y[i] : y[i];
        return;
    case EI_ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float t = a * y[i] + b;
            y[i] = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
        }
        return;
    case EI_ACT_HARD_SWISH:
        for (int64_t i = 0; i < n; i++) {
            float t = a * y[i] + b;
            y[i] *= t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
        }
        return;
    case EI_ACT_SIGMOID: ei_vec_sigmoid(y, n); return;
    case EI_ACT_SILU: ei_vec_silu(y, n); return;
    case EI_ACT_GELU:
        for (int64_t i = 0; i < n; i++) y[i] = 0.5f * y[i] * (1.0f + erff(y[i] * 0.70710678118654752f));
        return;
    case EI_ACT_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            float x = y[i];
            y[i] = 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
        }
        return;
    case EI_ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(y[i]);
        return;
    }
}
