/* Comparisons (Equal, Less, Greater, LessOrEqual, GreaterOrEqual) and logic (And, Or, Xor, Not),
 * all with numpy broadcasting and a bool output. bool is stored one byte per element; any
 * nonzero byte counts as true so that foreign bool buffers behave. */
#include "ops/eltwise_kernels.h"

#define EW_CMP(E, T)                                                                                                   \
    EW_BINARY(eq_##E, T, uint8_t, x == y)                                                                              \
    EW_BINARY(lt_##E, T, uint8_t, x < y)                                                                               \
    EW_BINARY(gt_##E, T, uint8_t, x > y)                                                                               \
    EW_BINARY(le_##E, T, uint8_t, x <= y)                                                                              \
    EW_BINARY(ge_##E, T, uint8_t, x >= y)
#define EW_CMP_INT(E, T, UW, S) EW_CMP(E, T)
EW_INT_TYPES(EW_CMP_INT)
EW_FLOAT_TYPES(EW_CMP)

EW_BINARY(eq_BOOL, uint8_t, uint8_t, (x != 0) == (y != 0))
EW_BINARY(and_BOOL, uint8_t, uint8_t, (x != 0) & (y != 0))
EW_BINARY(or_BOOL, uint8_t, uint8_t, (x != 0) | (y != 0))
EW_BINARY(xor_BOOL, uint8_t, uint8_t, (x != 0) ^ (y != 0))
EW_UNARY(not_BOOL, uint8_t, x == 0)

static const ei_ew_table k_eq = {
    [EI_DTYPE_I8] = eq_I8,   [EI_DTYPE_I16] = eq_I16, [EI_DTYPE_I32] = eq_I32,  [EI_DTYPE_I64] = eq_I64,
    [EI_DTYPE_U8] = eq_U8,   [EI_DTYPE_U16] = eq_U16, [EI_DTYPE_U32] = eq_U32,  [EI_DTYPE_U64] = eq_U64,
    [EI_DTYPE_F32] = eq_F32, [EI_DTYPE_F64] = eq_F64, [EI_DTYPE_BOOL] = eq_BOOL};
static const ei_ew_table k_lt = EW_TABLE_ALL(lt);
static const ei_ew_table k_gt = EW_TABLE_ALL(gt);
static const ei_ew_table k_le = EW_TABLE_ALL(le);
static const ei_ew_table k_ge = EW_TABLE_ALL(ge);
static const ei_ew_table k_and = {[EI_DTYPE_BOOL] = and_BOOL};
static const ei_ew_table k_or = {[EI_DTYPE_BOOL] = or_BOOL};
static const ei_ew_table k_xor = {[EI_DTYPE_BOOL] = xor_BOOL};
static const ei_ew_table k_not = {[EI_DTYPE_BOOL] = not_BOOL};

EI_EW_BINARY_OP(EQUAL, "Equal", k_eq, EI_DTYPE_BOOL)
EI_EW_BINARY_OP(LESS, "Less", k_lt, EI_DTYPE_BOOL)
EI_EW_BINARY_OP(GREATER, "Greater", k_gt, EI_DTYPE_BOOL)
EI_EW_BINARY_OP(LESS_OR_EQUAL, "LessOrEqual", k_le, EI_DTYPE_BOOL)
EI_EW_BINARY_OP(GREATER_OR_EQUAL, "GreaterOrEqual", k_ge, EI_DTYPE_BOOL)
EI_EW_BINARY_OP(AND, "And", k_and, EI_DTYPE_BOOL)
EI_EW_BINARY_OP(OR, "Or", k_or, EI_DTYPE_BOOL)
EI_EW_BINARY_OP(XOR, "Xor", k_xor, EI_DTYPE_BOOL)

static ei_status * not_infer(ei_graph * g, ei_node * n) { return ei_ew_unary_infer(g, n, k_not, EI_DTYPE_BOOL); }

static ei_status * not_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    (void)node;
    return ei_ew_unary_run(in, out[0], ex, k_not, NULL, EI_EW_GRAIN_CHEAP);
}

const ei_op_def ei_op_def_NOT = {
    .name = "Not", .in_min = 1, .in_max = 1, .out_min = 1, .out_max = 1, .infer = not_infer, .run = not_run};
