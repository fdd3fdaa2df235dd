/* Activations (and a residual input) that graph passes fuse into Conv, ConvTranspose, Gemm and
 * MatMul. They live in the node as attributes, so engine files store them like any other attribute:
 *
 *   "ei.activation"  string: Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Silu, Gelu,
 *                    GeluTanh, Tanh
 *   "ei.alpha", "ei.beta"  floats: Clip min/max; LeakyRelu alpha; HardSigmoid and HardSwish
 *                    (x * HardSigmoid(x)) alpha/beta
 *   "ei.residual"    int 1: the node has one extra, last input R of the output's shape, and computes
 *                    act(op(x) + R): Conv + Add (+ Relu) in residual blocks
 *
 * The reference kernels apply them with ei_fused_act_apply; optimised kernels map them to their
 * own post-ops (oneDNN eltwise/sum). */
#ifndef EI_OPS_FUSED_H
#define EI_OPS_FUSED_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"

typedef enum ei_act_kind {
    EI_ACT_NONE = 0,
    EI_ACT_RELU,
    EI_ACT_CLIP,         /* min(max(x, alpha), beta) */
    EI_ACT_LEAKY_RELU,   /* x < 0 ? alpha * x : x */
    EI_ACT_HARD_SIGMOID, /* max(0, min(1, alpha * x + beta)) */
    EI_ACT_HARD_SWISH,   /* x * max(0, min(1, alpha * x + beta)) */
    EI_ACT_SIGMOID,
    EI_ACT_SILU,      /* x * sigmoid(x) */
    EI_ACT_GELU,      /* 0.5 x (1 + erf(x / sqrt 2)) */
    EI_ACT_GELU_TANH, /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    EI_ACT_TANH,
} ei_act_kind;

typedef struct ei_fused {
    ei_act_kind act;
    float       alpha, beta;
    bool        residual; /* last input is added before the activation */
} ei_fused;

/* Reads the ei.* attributes of node (absent: no activation, no residual). */
ei_status * ei_fused_import(const ei_node * node, ei_fused * out);
/* Sets the ei.* attributes on node (used by the fusion passes), replacing earlier ones. */
ei_status * ei_fused_set(ei_node * node, const ei_fused * f);
/* y[i] = act(y[i]) for i < n. */
void         ei_fused_act_apply(const ei_fused * f, float * y, int64_t n);
const char * ei_act_name(ei_act_kind act);

#endif
