/* Unary math: Neg, Abs, Sign (integers too), Sqrt, Exp, Log, Reciprocal, Floor, Ceil, Round, Erf,
 * Tanh (float types). float32 uses the float libm functions, like ONNX Runtime; float16/bfloat16
 * are computed in float32 by the engine. */
#include <math.h>

#include "ops/eltwise_kernels.h"

/* Negation of INT_MIN and |INT_MIN| wrap (two's complement) instead of overflowing. */
#define EW_SIGNED_INT(E, T, UW, S)                                                                                     \
    EW_UNARY(neg_##E, T, (T)(0u - (UW)x))                                                                              \
    EW_UNARY(abs_##E, T, x < 0 ? (T)(0u - (UW)x) : x)                                                                  \
    EW_UNARY(sign_##E, T, (T)((x > 0) - (x < 0)))
EW_SINT_TYPES(EW_SIGNED_INT)
#define EW_UNSIGNED_INT(E, T)                                                                                          \
    EW_UNARY(abs_##E, T, x)                                                                                            \
    EW_UNARY(sign_##E, T, (T)(x > 0))
EW_UNSIGNED_INT(U8, uint8_t)
EW_UNSIGNED_INT(U16, uint16_t)
EW_UNSIGNED_INT(U32, uint32_t)
EW_UNSIGNED_INT(U64, uint64_t)

/* Sign keeps NaN (numpy does); 0 stays 0. */
#define EW_FLOAT_MATH(E, T, SUF)                                                                                       \
    EW_UNARY(neg_##E, T, -x)                                                                                           \
    EW_UNARY(abs_##E, T, fabs##SUF(x))                                                                                 \
    EW_UNARY(sign_##E, T, x > 0 ? (T)1 : x < 0 ? (T)-1 : x == 0 ? (T)0 : x)                                            \
    EW_UNARY(sqrt_##E, T, sqrt##SUF(x))                                                                                \
    EW_UNARY(exp_##E, T, exp##SUF(x))                                                                                  \
    EW_UNARY(log_##E, T, log##SUF(x))                                                                                  \
    EW_UNARY(recip_##E, T, (T)1 / x)                                                                                   \
    EW_UNARY(floor_##E, T, floor##SUF(x))                                                                              \
    EW_UNARY(ceil_##E, T, ceil##SUF(x))                                                                                \
    EW_UNARY(round_##E, T, nearbyint##SUF(x)) /* half to even in the default mode */                                   \
    EW_UNARY(erf_##E, T, erf##SUF(x))                                                                                  \
    EW_UNARY(tanh_##E, T, tanh##SUF(x))
EW_FLOAT_MATH(F32, float, f)
EW_FLOAT_MATH(F64, double, )

static const ei_ew_table k_neg = EW_TABLE_SIGNED(neg);
static const ei_ew_table k_abs = EW_TABLE_ALL(abs);
static const ei_ew_table k_sign = EW_TABLE_ALL(sign);
static const ei_ew_table k_sqrt = EW_TABLE_FLT(sqrt);
static const ei_ew_table k_exp = EW_TABLE_FLT(exp);
static const ei_ew_table k_log = EW_TABLE_FLT(log);
static const ei_ew_table k_recip = EW_TABLE_FLT(recip);
static const ei_ew_table k_floor = EW_TABLE_FLT(floor);
static const ei_ew_table k_ceil = EW_TABLE_FLT(ceil);
static const ei_ew_table k_round = EW_TABLE_FLT(round);
static const ei_ew_table k_erf = EW_TABLE_FLT(erf);
static const ei_ew_table k_tanh = EW_TABLE_FLT(tanh);

#define EW_UNARY_OP(SYM, ONNX, TABLE, GRAIN)                                                                           \
    static ei_status * SYM##_infer(ei_graph * g, ei_node * n) {                                                        \
        return ei_ew_unary_infer(g, n, TABLE, EI_DTYPE_UNDEFINED);                                                     \
    }                                                                                                                  \
    static ei_status * SYM##_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,          \
                                 const ei_exec * ex) {                                                                 \
        (void)node;                                                                                                    \
        return ei_ew_unary_run(in, out[0], ex, TABLE, NULL, GRAIN);                                                    \
    }                                                                                                                  \
    const ei_op_def ei_op_def_##SYM = {                                                                                \
        .name = ONNX, .in_min = 1, .in_max = 1, .out_min = 1, .out_max = 1, .infer = SYM##_infer, .run = SYM##_run};
EW_UNARY_OP(NEG, "Neg", k_neg, EI_EW_GRAIN_CHEAP)
EW_UNARY_OP(ABS, "Abs", k_abs, EI_EW_GRAIN_CHEAP)
EW_UNARY_OP(SIGN, "Sign", k_sign, EI_EW_GRAIN_CHEAP)
EW_UNARY_OP(SQRT, "Sqrt", k_sqrt, EI_EW_GRAIN_MATH)
EW_UNARY_OP(EXP, "Exp", k_exp, EI_EW_GRAIN_MATH)
EW_UNARY_OP(LOG, "Log", k_log, EI_EW_GRAIN_MATH)
EW_UNARY_OP(RECIPROCAL, "Reciprocal", k_recip, EI_EW_GRAIN_CHEAP)
EW_UNARY_OP(FLOOR, "Floor", k_floor, EI_EW_GRAIN_CHEAP)
EW_UNARY_OP(CEIL, "Ceil", k_ceil, EI_EW_GRAIN_CHEAP)
EW_UNARY_OP(ROUND, "Round", k_round, EI_EW_GRAIN_CHEAP)
EW_UNARY_OP(ERF, "Erf", k_erf, EI_EW_GRAIN_MATH)
EW_UNARY_OP(TANH, "Tanh", k_tanh, EI_EW_GRAIN_MATH)
