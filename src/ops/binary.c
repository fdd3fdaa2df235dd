/* Broadcasting arithmetic: Add, Sub, Mul, Div, Mod, Pow.
 * Integer arithmetic wraps (computed in an unsigned type: signed overflow would be undefined in C);
 * integer Div truncates toward zero like ONNX Runtime, and division by zero is reported as an error
 * instead of trapping. float16/bfloat16 are computed in float32 by the engine. */
#include <math.h>
#include <stdlib.h>

#include "ops/blocked8.h"
#include "ops/eltwise_kernels.h"

typedef struct ew_err_param {
    int * err;
    int   fmod; /* Mod only */
} ew_err_param;

/* ---- Add, Sub, Mul ---- */
#define EW_ARITH_INT(E, T, UW, S)                                                                                      \
    EW_BINARY(add_##E, T, T, (T)((UW)x + (UW)y))                                                                       \
    EW_BINARY(sub_##E, T, T, (T)((UW)x - (UW)y))                                                                       \
    EW_BINARY(mul_##E, T, T, (T)((UW)x * (UW)y))
#define EW_ARITH_FLOAT(E, T)                                                                                           \
    EW_BINARY(add_##E, T, T, x + y)                                                                                    \
    EW_BINARY(sub_##E, T, T, x - y)                                                                                    \
    EW_BINARY(mul_##E, T, T, x * y)                                                                                    \
    EW_BINARY(div_##E, T, T, x / y)
EW_INT_TYPES(EW_ARITH_INT)
EW_FLOAT_TYPES(EW_ARITH_FLOAT)

/* ---- integer Div and Mod: per-element zero checks, so one plain loop with strides ---- */
#define EW_DIVMOD_INT(E, T, UW, S)                                                                                     \
    static void div_##E(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {         \
        const ew_err_param * p = prm;                                                                                  \
        T *                  o = o_;                                                                                   \
        const T *            a = in[0];                                                                                \
        const T *            b = in[1];                                                                                \
        const int64_t        sa = st[0], sb = st[1];                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            const T x = a[i * sa], y = b[i * sb];                                                                      \
            if (y == 0) {                                                                                              \
                ei_ew_raise(p->err);                                                                                   \
                o[i] = 0;                                                                                              \
            } else if ((S) && y == (T)-1) { /* INT_MIN / -1 overflows */                                               \
                o[i] = (T)(0u - (UW)x);                                                                                \
            } else {                                                                                                   \
                o[i] = (T)(x / y);                                                                                     \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
    static void mod_##E(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {         \
        const ew_err_param * p = prm;                                                                                  \
        T *                  o = o_;                                                                                   \
        const T *            a = in[0];                                                                                \
        const T *            b = in[1];                                                                                \
        const int64_t        sa = st[0], sb = st[1];                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            const T x = a[i * sa], y = b[i * sb];                                                                      \
            if (y == 0) {                                                                                              \
                ei_ew_raise(p->err);                                                                                   \
                o[i] = 0;                                                                                              \
                continue;                                                                                              \
            }                                                                                                          \
            T r = ((S) && y == (T)-1) ? (T)0 : (T)(x % y);                                                             \
            /* fmod=0: the result takes the divisor's sign (Python/numpy semantics) */                                 \
            if (!p->fmod && r != 0 && (EW_ISNEG_##S(r) != EW_ISNEG_##S(y))) r = (T)(r + y);                            \
            o[i] = r;                                                                                                  \
        }                                                                                                              \
    }
EW_INT_TYPES(EW_DIVMOD_INT)

/* Float Mod. fmod=0 is numpy's mod: fmod corrected toward the divisor's sign, zero takes the
 * divisor's sign; the spec's special cases (inf, zero divisor, NaN) fall out of fmod. */
#define EW_MOD_FLOAT(E, T, FMOD, COPYSIGN)                                                                             \
    static void mod_##E(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {         \
        const ew_err_param * p = prm;                                                                                  \
        T *                  o = o_;                                                                                   \
        const T *            a = in[0];                                                                                \
        const T *            b = in[1];                                                                                \
        const int64_t        sa = st[0], sb = st[1];                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            const T x = a[i * sa], y = b[i * sb];                                                                      \
            T       r = FMOD(x, y);                                                                                    \
            if (!p->fmod) {                                                                                            \
                if (r != 0) {                                                                                          \
                    if ((r < 0) != (y < 0)) r += y;                                                                    \
                } else {                                                                                               \
                    r = COPYSIGN((T)0, y);                                                                             \
                }                                                                                                      \
            }                                                                                                          \
            o[i] = r;                                                                                                  \
        }                                                                                                              \
    }
EW_MOD_FLOAT(F32, float, fmodf, copysignf)
EW_MOD_FLOAT(F64, double, fmod, copysign)

static const ei_ew_table k_add = EW_TABLE_ALL(add);
static const ei_ew_table k_sub = EW_TABLE_ALL(sub);
static const ei_ew_table k_mul = EW_TABLE_ALL(mul);
static const ei_ew_table k_div = EW_TABLE_ALL(div);
static const ei_ew_table k_mod = EW_TABLE_ALL(mod);

static ei_status * arith_import(ei_node * n) { return ei_ew_import_legacy_broadcast(n); }

EI_EW_BINARY_OP(ADD, "Add", k_add, EI_DTYPE_UNDEFINED)
EI_EW_BINARY_OP(SUB, "Sub", k_sub, EI_DTYPE_UNDEFINED)

/* Mul of a blocked activation [N, C/8, H, W, 8] by a per-channel operand [N, C/8, 1, 1, 8] (the
 * squeeze-and-excitation scale, src/passes/layout_blocked8.c), in either order: one 8-float vector
 * per block for all its pixels (ops/blocked8_kernels.c) instead of the broadcasting engine. The
 * session may run it in place on the big operand (src/runtime/session.c). */
static ei_status * MUL_infer(ei_graph * g, ei_node * n) { return ei_ew_binary_infer(g, n, k_mul, EI_DTYPE_UNDEFINED); }

static ei_status * MUL_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    (void)node;
    bool    f32 = in[0]->dtype == EI_DTYPE_F32 && in[1]->dtype == EI_DTYPE_F32 && out[0]->dtype == EI_DTYPE_F32;
    int32_t k = f32 ? ei_blocked8_scale_operand(&in[0]->shape, &in[1]->shape, &out[0]->shape) : -1;
    if (k < 0) return ei_ew_binary_run(in, out[0], ex, k_mul, NULL, EI_EW_GRAIN_CHEAP);
    const ei_shape * ys = &out[0]->shape;
    ei_blocked8_scale(ex ? ex->pool : NULL, in[k]->data, in[1 - k]->data, out[0]->data, ys->dim[0] * ys->dim[1],
                      ys->dim[2] * ys->dim[3]);
    return NULL;
}

const ei_op_def ei_op_def_MUL = {.name = "Mul",
                                 .in_min = 2,
                                 .in_max = 2,
                                 .out_min = 1,
                                 .out_max = 1,
                                 .import = ei_ew_import_legacy_broadcast,
                                 .infer = MUL_infer,
                                 .run = MUL_run};

static ei_status * div_infer(ei_graph * g, ei_node * n) { return ei_ew_binary_infer(g, n, k_div, EI_DTYPE_UNDEFINED); }

static ei_status * checked_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * out, const ei_exec * ex,
                               const ei_ew_fn * table, int fmod) {
    int          err = 0;
    ew_err_param p = {&err, fmod};
    EI_TRY(ei_ew_binary_run(in, out, ex, table, &p, EI_EW_GRAIN_CHEAP));
    if (err) return ei_node_errorf(node, EI_CODE_INVALID_ARGUMENT, "integer division by zero");
    return NULL;
}

static ei_status * div_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    return checked_run(node, in, out[0], ex, k_div, 0);
}

const ei_op_def ei_op_def_DIV = {.name = "Div",
                                 .in_min = 2,
                                 .in_max = 2,
                                 .out_min = 1,
                                 .out_max = 1,
                                 .import = arith_import,
                                 .infer = div_infer,
                                 .run = div_run};

typedef struct mod_params {
    int fmod;
} mod_params;

static ei_status * mod_import(ei_node * n) {
    int64_t f;
    EI_TRY(ei_attr_get_int(n, "fmod", 0, &f));
    if (f != 0 && f != 1)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'fmod' must be 0 or 1, not %lld", (long long)f);
    mod_params * p = malloc(sizeof *p);
    if (!p) return ei_status_oom();
    p->fmod = (int)f;
    n->params = p;
    return NULL;
}

static ei_status * mod_infer(ei_graph * g, ei_node * n) { return ei_ew_binary_infer(g, n, k_mod, EI_DTYPE_UNDEFINED); }

static ei_status * mod_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    const mod_params * p = node->params;
    return checked_run(node, in, out[0], ex, k_mod, p->fmod);
}

const ei_op_def ei_op_def_MOD = {.name = "Mod",
                                 .in_min = 2,
                                 .in_max = 2,
                                 .out_min = 1,
                                 .out_max = 1,
                                 .import = mod_import,
                                 .infer = mod_infer,
                                 .run = mod_run};

/* ---- Pow: the output has the base's dtype; the exponent may be any numeric dtype. Float bases
 * take a float exponent (float32 for float32/16/bf16, float64 for float64); integer bases take an
 * int64 exponent (exact powers by squaring) or a float64 one (pow, then saturating truncation).
 * An exponent of another dtype is converted once up front; it is nearly always a scalar. ---- */
EW_BINARY(pow_F32, float, float, powf(x, y))
EW_BINARY(pow_F64, double, double, pow(x, y))

static inline uint64_t ipow_u64(uint64_t b, int64_t e) {
    uint64_t r = 1;
    while (e > 0) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

#define EW_POW_INT(E, T, UW, S)                                                                                        \
    static void pow_##E##_int(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {   \
        (void)prm;                                                                                                     \
        T *             o = o_;                                                                                        \
        const T *       a = in[0];                                                                                     \
        const int64_t * b = in[1];                                                                                     \
        const int64_t   sa = st[0], sb = st[1];                                                                        \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            const T       x = a[i * sa];                                                                               \
            const int64_t y = b[i * sb];                                                                               \
            if (y >= 0)                                                                                                \
                o[i] = (T)ipow_u64((uint64_t)x, y);                                                                    \
            else /* truncation of 1/x^|y| */                                                                           \
                o[i] = x == 1 ? (T)1 : ((S) && x == (T)-1) ? (T)((y & 1) ? (T)-1 : (T)1) : (T)0;                       \
        }                                                                                                              \
    }                                                                                                                  \
    static void pow_##E##_flt(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {   \
        (void)prm;                                                                                                     \
        T *            o = o_;                                                                                         \
        const T *      a = in[0];                                                                                      \
        const double * b = in[1];                                                                                      \
        const int64_t  sa = st[0], sb = st[1];                                                                         \
        for (int64_t i = 0; i < n; i++) o[i] = ew_sat_##E(pow((double)a[i * sa], b[i * sb]));                          \
    }
EW_INT_TYPES(EW_POW_INT)

#define EW_TAB_POW(E, T, UW, S) [EI_DTYPE_##E] = pow_##E##_int,
static const ei_ew_table k_pow_int = {EW_INT_TYPES(EW_TAB_POW)};
#undef EW_TAB_POW
#define EW_TAB_POW(E, T, UW, S) [EI_DTYPE_##E] = pow_##E##_flt,
static const ei_ew_table k_pow_flt = {EW_INT_TYPES(EW_TAB_POW)};
#undef EW_TAB_POW
static bool pow_exp_ok(ei_dtype dt) { return dt != EI_DTYPE_BOOL && dt > EI_DTYPE_UNDEFINED && dt < EI_DTYPE_COUNT; }

static ei_status * pow_infer(ei_graph * g, ei_node * n) {
    const ei_value * a = ei_node_input(g, n, 0);
    const ei_value * b = ei_node_input(g, n, 1);
    if (!a || !b) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "both inputs are required");
    if (a->dtype == EI_DTYPE_BOOL || !pow_exp_ok(a->dtype))
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input 0 ('%s') has unsupported dtype %s", a->name,
                              ei_dtype_name(a->dtype));
    if (!pow_exp_ok(b->dtype))
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input 1 ('%s') has unsupported dtype %s", b->name,
                              ei_dtype_name(b->dtype));
    ei_shape s;
    EI_TRY(ei_op_broadcast(n, &a->shape, &b->shape, &s));
    ei_op_set_output(g, n, 0, a->dtype, &s);
    return NULL;
}

static ei_status * pow_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    (void)node;
    ei_dtype   bdt = in[0]->dtype, edt = in[1]->dtype, want;
    ei_ew_call c = {.n_in = 2, .in = {in[0], in[1]}, .out = out[0], .grain = EI_EW_GRAIN_MATH, .widen = true};
    if (bdt == EI_DTYPE_F64) {
        want = EI_DTYPE_F64;
        c.fn = pow_F64;
    } else if (ei_dtype_is_float(bdt)) {
        want = ei_ew_is_half(edt) ? edt : EI_DTYPE_F32; /* the engine widens half exponents itself */
        c.fn = pow_F32;
    } else if (ei_dtype_is_float(edt)) {
        want = EI_DTYPE_F64;
        c.fn = k_pow_flt[bdt];
    } else {
        want = EI_DTYPE_I64;
        c.fn = k_pow_int[bdt];
    }
    EI_ASSERT(c.fn);
    ei_tensor * conv = NULL;
    if (edt != want) {
        EI_TRY(ei_tensor_create(want, &in[1]->shape, &conv));
        ei_ew_convert(in[1]->data, edt, conv->data, want, ei_shape_numel(&in[1]->shape));
        c.in[1] = conv;
    }
    ei_ew_run(ex, &c);
    ei_tensor_destroy(conv);
    return NULL;
}

const ei_op_def ei_op_def_POW = {.name = "Pow",
                                 .in_min = 2,
                                 .in_max = 2,
                                 .out_min = 1,
                                 .out_max = 1,
                                 .import = arith_import,
                                 .infer = pow_infer,
                                 .run = pow_run};
