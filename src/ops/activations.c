/* Activations: Relu, LeakyRelu, PRelu, Sigmoid, HardSigmoid, HardSwish, Softplus, Softsign, Elu,
 * Selu, Celu, ThresholdedRelu, Mish, Gelu. Float types (Relu and PRelu also integers);
 * float16/bfloat16 run through the float32 kernels. NaN propagates wherever the formula allows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/vmath.h"
#include "ops/eltwise_kernels.h"

typedef struct act_params {
    float alpha, beta, gamma;
    int   tanh_approx; /* Gelu */
} act_params;

/* Sigmoid never evaluates exp of a large positive number, so it neither overflows nor loses the
 * small tail: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise, written with one e = exp(-|x|) and a
 * select so the loop has no data-dependent branch. Softplus likewise avoids exp overflow. */
#define EW_ACT_FLOAT(E, T, SUF)                                                                                        \
    EW_UNARY(relu_##E, T, x < 0 ? (T)0 : x)                                                                            \
    EW_UNARY_P(sigmoid_##E, T, T, void, (void)0,                                                                       \
               (x >= 0 ? (T)1 : exp##SUF(-fabs##SUF(x))) / ((T)1 + exp##SUF(-fabs##SUF(x))))                           \
    EW_UNARY(hardswish_##E, T, x *(x / (T)6 + (T)0.5 < 0 ? (T)0 : x / (T)6 + (T)0.5 > 1 ? (T)1 : x / (T)6 + (T)0.5))   \
    EW_UNARY(softplus_##E, T, x > 0 ? x + log1p##SUF(exp##SUF(-x)) : log1p##SUF(exp##SUF(x)))                          \
    EW_UNARY(softsign_##E, T, x / ((T)1 + fabs##SUF(x)))                                                               \
    EW_UNARY(mish_##E, T, x * tanh##SUF(x > 0 ? x + log1p##SUF(exp##SUF(-x)) : log1p##SUF(exp##SUF(x))))               \
    EW_UNARY_P(leaky_##E, T, T, act_params, const T alpha = (T)p->alpha, x >= 0 ? x : alpha * x)                       \
    EW_UNARY_P(hardsigmoid_##E, T, T, act_params, const T alpha = (T)p->alpha;                                         \
               const T beta = (T)p->beta, alpha * x + beta < 0   ? (T)0                                                \
                                          : alpha * x + beta > 1 ? (T)1                                                \
                                                                 : alpha * x + beta)                                   \
    EW_UNARY_P(elu_##E, T, T, act_params, const T alpha = (T)p->alpha, x >= 0 ? x : alpha * expm1##SUF(x))             \
    EW_UNARY_P(selu_##E, T, T, act_params, const T alpha = (T)p->alpha;                                                \
               const T gamma = (T)p->gamma, x > 0 ? gamma * x : gamma * (alpha * exp##SUF(x) - alpha))                 \
    EW_UNARY_P(celu_##E, T, T, act_params, const T alpha = (T)p->alpha, x > 0 ? x : alpha * expm1##SUF(x / alpha))     \
    EW_UNARY_P(thrrelu_##E, T, T, act_params, const T alpha = (T)p->alpha, x > alpha ? x : (T)0)                       \
    EW_UNARY_P(gelu_##E, T, T, act_params, (void)0,                                                                    \
               p->tanh_approx ? (T)0.5 * x *((T)1 + tanh##SUF((T)0.7978845608028654 * (x + (T)0.044715 * x * x * x)))  \
                              : (T)0.5 * x * ((T)1 + erf##SUF(x * (T)0.70710678118654752440)))                         \
    EW_BINARY(prelu_##E, T, T, x < 0 ? y * x : x)
EW_ACT_FLOAT(F32, float, f)
EW_ACT_FLOAT(F64, double, )

#define EW_ACT_INT(E, T, UW, S)                                                                                        \
    EW_UNARY(relu_##E, T, x < 0 ? (T)0 : x)                                                                            \
    EW_BINARY(prelu_##E, T, T, x < 0 ? (T)((UW)y * (UW)x) : x)
EW_SINT_TYPES(EW_ACT_INT)
/* PRelu-16 also lists unsigned 32/64-bit types, for which it is the identity. */
EW_BINARY(prelu_U32, uint32_t, uint32_t, ((void)y, x))
EW_BINARY(prelu_U64, uint64_t, uint64_t, ((void)y, x))

static const ei_ew_table k_relu = EW_TABLE_SIGNED(relu);
static const ei_ew_table k_prelu = {
    [EI_DTYPE_I8] = prelu_I8,   [EI_DTYPE_I16] = prelu_I16, [EI_DTYPE_I32] = prelu_I32, [EI_DTYPE_I64] = prelu_I64,
    [EI_DTYPE_U32] = prelu_U32, [EI_DTYPE_U64] = prelu_U64, [EI_DTYPE_F32] = prelu_F32, [EI_DTYPE_F64] = prelu_F64};
static const ei_ew_table k_sigmoid = EW_TABLE_FLT(sigmoid);
static const ei_ew_table k_hardswish = EW_TABLE_FLT(hardswish);
static const ei_ew_table k_softplus = EW_TABLE_FLT(softplus);
static const ei_ew_table k_softsign = EW_TABLE_FLT(softsign);
static const ei_ew_table k_mish = EW_TABLE_FLT(mish);
static const ei_ew_table k_leaky = EW_TABLE_FLT(leaky);
static const ei_ew_table k_hardsigmoid = EW_TABLE_FLT(hardsigmoid);
static const ei_ew_table k_elu = EW_TABLE_FLT(elu);
static const ei_ew_table k_selu = EW_TABLE_FLT(selu);
static const ei_ew_table k_celu = EW_TABLE_FLT(celu);
static const ei_ew_table k_thrrelu = EW_TABLE_FLT(thrrelu);
/* Gelu float32: the exact-erf form goes through the vectorised kernel (ei_vec_gelu, absolute error
 * about 3e-7 |x|); the tanh form keeps the scalar formula. */
static void gelu_vec_F32(void * o, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {
    const act_params * p = prm;
    if (p->tanh_approx || !st[0]) {
        gelu_F32(o, in, st, n, prm);
        return;
    }
    ei_vec_gelu(in[0], o, n);
}
static const ei_ew_table k_gelu = {[EI_DTYPE_F32] = gelu_vec_F32, [EI_DTYPE_F64] = gelu_F64};

static ei_status * act_import(ei_node * n, float alpha, float beta, float gamma) {
    act_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    n->params = p;
    EI_TRY(ei_attr_get_float(n, "alpha", alpha, &p->alpha));
    EI_TRY(ei_attr_get_float(n, "beta", beta, &p->beta));
    EI_TRY(ei_attr_get_float(n, "gamma", gamma, &p->gamma));
    return NULL;
}

/* SYM, ONNX name, kernels, grain, import expression (NULL for none). */
#define EW_ACT_OP(SYM, ONNX, TABLE, GRAIN, IMPORT)                                                                     \
    static ei_status * SYM##_infer(ei_graph * g, ei_node * n) {                                                        \
        return ei_ew_unary_infer(g, n, TABLE, EI_DTYPE_UNDEFINED);                                                     \
    }                                                                                                                  \
    static ei_status * SYM##_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,          \
                                 const ei_exec * ex) {                                                                 \
        return ei_ew_unary_run(in, out[0], ex, TABLE, node->params, GRAIN);                                            \
    }                                                                                                                  \
    const ei_op_def ei_op_def_##SYM = {.name = ONNX,                                                                   \
                                       .in_min = 1,                                                                    \
                                       .in_max = 1,                                                                    \
                                       .out_min = 1,                                                                   \
                                       .out_max = 1,                                                                   \
                                       .import = IMPORT,                                                               \
                                       .infer = SYM##_infer,                                                           \
                                       .run = SYM##_run};

static ei_status * leaky_import(ei_node * n) { return act_import(n, 0.01f, 0, 0); }
static ei_status * hardsigmoid_import(ei_node * n) { return act_import(n, 0.2f, 0.5f, 0); }
static ei_status * elu_import(ei_node * n) { return act_import(n, 1.0f, 0, 0); }
static ei_status * selu_import(ei_node * n) {
    return act_import(n, 1.67326319217681884765625f, 0, 1.05070102214813232421875f);
}
static ei_status * celu_import(ei_node * n) {
    EI_TRY(act_import(n, 1.0f, 0, 0));
    if (((act_params *)n->params)->alpha == 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'alpha' must not be 0");
    return NULL;
}
static ei_status * thrrelu_import(ei_node * n) { return act_import(n, 1.0f, 0, 0); }

static ei_status * gelu_import(ei_node * n) {
    EI_TRY(act_import(n, 0, 0, 0));
    const char * approx;
    EI_TRY(ei_attr_get_string(n, "approximate", "none", &approx));
    if (strcmp(approx, "tanh") == 0)
        ((act_params *)n->params)->tanh_approx = 1;
    else if (strcmp(approx, "none") != 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'approximate' must be 'none' or 'tanh', not '%s'",
                              approx);
    return NULL;
}

EW_ACT_OP(RELU, "Relu", k_relu, EI_EW_GRAIN_CHEAP, NULL)
EW_ACT_OP(SIGMOID, "Sigmoid", k_sigmoid, EI_EW_GRAIN_MATH, NULL)
EW_ACT_OP(HARD_SWISH, "HardSwish", k_hardswish, EI_EW_GRAIN_CHEAP, NULL)
EW_ACT_OP(SOFTPLUS, "Softplus", k_softplus, EI_EW_GRAIN_MATH, NULL)
EW_ACT_OP(SOFTSIGN, "Softsign", k_softsign, EI_EW_GRAIN_CHEAP, NULL)
EW_ACT_OP(MISH, "Mish", k_mish, EI_EW_GRAIN_MATH, NULL)
EW_ACT_OP(LEAKY_RELU, "LeakyRelu", k_leaky, EI_EW_GRAIN_CHEAP, leaky_import)
EW_ACT_OP(HARD_SIGMOID, "HardSigmoid", k_hardsigmoid, EI_EW_GRAIN_CHEAP, hardsigmoid_import)
EW_ACT_OP(ELU, "Elu", k_elu, EI_EW_GRAIN_MATH, elu_import)
EW_ACT_OP(SELU, "Selu", k_selu, EI_EW_GRAIN_MATH, selu_import)
EW_ACT_OP(CELU, "Celu", k_celu, EI_EW_GRAIN_MATH, celu_import)
EW_ACT_OP(THRESHOLDED_RELU, "ThresholdedRelu", k_thrrelu, EI_EW_GRAIN_CHEAP, thrrelu_import)
EW_ACT_OP(GELU, "Gelu", k_gelu, EI_EW_GRAIN_MATH, gelu_import)

/* PRelu: slope broadcasts to X (unidirectionally: the output has X's shape). */
static ei_status * prelu_infer(ei_graph * g, ei_node * n) {
    EI_TRY(ei_ew_binary_infer(g, n, k_prelu, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, n, 0);
    const ei_value * s = ei_node_input(g, n, 1);
    if (!ei_shape_equal(&ei_node_output(g, n, 0)->shape, &x->shape)) {
        char sx[128], ss[128];
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "slope of shape %s does not broadcast to X of shape %s",
                              ei_shape_format(&s->shape, ss, sizeof ss), ei_shape_format(&x->shape, sx, sizeof sx));
    }
    return NULL;
}

static ei_status * prelu_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    (void)node;
    return ei_ew_binary_run(in, out[0], ex, k_prelu, NULL, EI_EW_GRAIN_CHEAP);
}

const ei_op_def ei_op_def_PRELU = {
    .name = "PRelu", .in_min = 2, .in_max = 2, .out_min = 1, .out_max = 1, .infer = prelu_infer, .run = prelu_run};
