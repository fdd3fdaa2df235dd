/* Macros that stamp out typed run kernels for the elementwise engine (see eltwise.h). Each kernel
 * specialises its loop on which operands are broadcast within the run, so the hot loops are plain
 * strided-by-one loops the compiler can vectorise. Expressions see operands as x (and y). */
#ifndef EI_OPS_ELTWISE_KERNELS_H
#define EI_OPS_ELTWISE_KERNELS_H

#include <limits.h>

#include "ops/eltwise.h"

/* Saturating truncation of a double to each integer type. */
#define EW_SAT(NAME, T, LO, HI)                                                                                        \
    static inline T NAME(double v) {                                                                                   \
        if (v != v) return 0;                                                                                          \
        if (v <= (double)(LO)) return (LO);                                                                            \
        if (v >= (double)(HI)) return (HI);                                                                            \
        return (T)v;                                                                                                   \
    }
EW_SAT(ew_sat_I8, int8_t, INT8_MIN, INT8_MAX)
EW_SAT(ew_sat_I16, int16_t, INT16_MIN, INT16_MAX)
EW_SAT(ew_sat_I32, int32_t, INT32_MIN, INT32_MAX)
EW_SAT(ew_sat_I64, int64_t, INT64_MIN, INT64_MAX)
EW_SAT(ew_sat_U8, uint8_t, 0, UINT8_MAX)
EW_SAT(ew_sat_U16, uint16_t, 0, UINT16_MAX)
EW_SAT(ew_sat_U32, uint32_t, 0, UINT32_MAX)
EW_SAT(ew_sat_U64, uint64_t, 0, UINT64_MAX)

/* Integer types: enum suffix, C type, unsigned type wide enough for wrapping arithmetic without
 * int promotion overflow (uint16 * uint16 would overflow int), signedness. */
// clang-format off
#define EW_INT_TYPES(X) \
    X(I8, int8_t, uint32_t, 1) \
    X(I16, int16_t, uint32_t, 1) \
    X(I32, int32_t, uint32_t, 1) \
    X(I64, int64_t, uint64_t, 1) \
    X(U8, uint8_t, uint32_t, 0) \
    X(U16, uint16_t, uint32_t, 0) \
    X(U32, uint32_t, uint32_t, 0) \
    X(U64, uint64_t, uint64_t, 0)
// clang-format on
// clang-format off
#define EW_SINT_TYPES(X) \
    X(I8, int8_t, uint32_t, 1) \
    X(I16, int16_t, uint32_t, 1) \
    X(I32, int32_t, uint32_t, 1) \
    X(I64, int64_t, uint64_t, 1)
// clang-format on
/* x < 0 by the signedness flag of the type lists (avoids always-false compares on unsigned). */
#define EW_ISNEG_1(v)     ((v) < 0)
#define EW_ISNEG_0(v)     0
#define EW_FLOAT_TYPES(X) X(F32, float) X(F64, double)

/* Binary kernel NAME over inputs of type T producing TO: o = EXPR(x, y). */
#define EW_BINARY(NAME, T, TO, EXPR)                                                                                   \
    static void NAME(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {            \
        (void)prm;                                                                                                     \
        TO *      o = o_;                                                                                              \
        const T * a = in[0];                                                                                           \
        const T * b = in[1];                                                                                           \
        if (st[0] && st[1]) {                                                                                          \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                const T x = a[i], y = b[i];                                                                            \
                o[i] = (TO)(EXPR);                                                                                     \
            }                                                                                                          \
        } else if (st[0]) {                                                                                            \
            const T y = b[0];                                                                                          \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                const T x = a[i];                                                                                      \
                o[i] = (TO)(EXPR);                                                                                     \
            }                                                                                                          \
        } else if (st[1]) {                                                                                            \
            const T x = a[0];                                                                                          \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                const T y = b[i];                                                                                      \
                o[i] = (TO)(EXPR);                                                                                     \
            }                                                                                                          \
        } else {                                                                                                       \
            const T  x = a[0], y = b[0];                                                                               \
            const TO r = (TO)(EXPR);                                                                                   \
            for (int64_t i = 0; i < n; i++) o[i] = r;                                                                  \
        }                                                                                                              \
    }

/* Unary kernel NAME: o = EXPR(x); PT is the param struct type visible as p (use void for none). */
#define EW_UNARY_P(NAME, T, TO, PT, PRE, EXPR)                                                                         \
    static void NAME(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {            \
        const PT * p = prm;                                                                                            \
        (void)p;                                                                                                       \
        PRE;                                                                                                           \
        TO *      o = o_;                                                                                              \
        const T * a = in[0];                                                                                           \
        if (st[0]) {                                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                const T x = a[i];                                                                                      \
                o[i] = (TO)(EXPR);                                                                                     \
            }                                                                                                          \
        } else {                                                                                                       \
            const T  x = a[0];                                                                                         \
            const TO r = (TO)(EXPR);                                                                                   \
            for (int64_t i = 0; i < n; i++) o[i] = r;                                                                  \
        }                                                                                                              \
    }
#define EW_UNARY(NAME, T, EXPR) EW_UNARY_P(NAME, T, T, void, (void)0, EXPR)

/* Kernel tables from kernels named OP_<DTYPE>. */
#define EW_TABLE_ALL(OP)                                                                                               \
    {                                                                                                                  \
        [EI_DTYPE_I8] = OP##_I8, [EI_DTYPE_I16] = OP##_I16, [EI_DTYPE_I32] = OP##_I32, [EI_DTYPE_I64] = OP##_I64,      \
        [EI_DTYPE_U8] = OP##_U8, [EI_DTYPE_U16] = OP##_U16, [EI_DTYPE_U32] = OP##_U32, [EI_DTYPE_U64] = OP##_U64,      \
        [EI_DTYPE_F32] = OP##_F32, [EI_DTYPE_F64] = OP##_F64                                                           \
    }
#define EW_TABLE_FLT(OP)                                                                                               \
    { [EI_DTYPE_F32] = OP##_F32, [EI_DTYPE_F64] = OP##_F64 }
#define EW_TABLE_SIGNED(OP)                                                                                            \
    {                                                                                                                  \
        [EI_DTYPE_I8] = OP##_I8, [EI_DTYPE_I16] = OP##_I16, [EI_DTYPE_I32] = OP##_I32, [EI_DTYPE_I64] = OP##_I64,      \
        [EI_DTYPE_F32] = OP##_F32, [EI_DTYPE_F64] = OP##_F64                                                           \
    }

#endif
