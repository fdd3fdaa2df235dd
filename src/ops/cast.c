/* Cast and CastLike between every numeric dtype plus bool, and the conversion routine the rest of
 * the family uses for mixed-dtype operands. float8, int4/int2 and string have no ei_dtype, so
 * casts to them are refused at import.
 *
 * ONNX leaves float -> integer undefined out of range; C does too, so instead of inheriting the
 * platform's behaviour we truncate toward zero and saturate to the target range, NaN -> 0.
 * Integer -> integer wraps (two's complement), anything -> bool is x != 0 (NaN -> true). */
#include <limits.h>
#include <string.h>

#include "ops/eltwise_kernels.h"

/* Source classes: F native float, H float16, B16 bfloat16, I integer, BL bool. Float classes load
 * as double (exact for every float dtype); integer classes load as their own type so that int64
 * and uint64 convert without a detour through double. */
#define LOAD_F(x)   ((double)(x))
#define LOAD_H(x)   ((double)ei_f16_to_f32(x))
#define LOAD_B16(x) ((double)ei_bf16_to_f32(x))
#define LOAD_I(x)   (x)
#define LOAD_BL(x)  ((uint8_t)((x) != 0))
#define ISF_F       1
#define ISF_H       1
#define ISF_B16     1
#define ISF_I       0
#define ISF_BL      0

#define ST_F32(v, isf)  ((float)(v))
#define ST_F64(v, isf)  ((double)(v))
#define ST_F16(v, isf)  ei_f32_to_f16((float)(v))
#define ST_BF16(v, isf) ei_f32_to_bf16((float)(v))
#define ST_I8(v, isf)   ((isf) ? ew_sat_I8((double)(v)) : (int8_t)(v))
#define ST_I16(v, isf)  ((isf) ? ew_sat_I16((double)(v)) : (int16_t)(v))
#define ST_I32(v, isf)  ((isf) ? ew_sat_I32((double)(v)) : (int32_t)(v))
#define ST_I64(v, isf)  ((isf) ? ew_sat_I64((double)(v)) : (int64_t)(v))
#define ST_U8(v, isf)   ((isf) ? ew_sat_U8((double)(v)) : (uint8_t)(v))
#define ST_U16(v, isf)  ((isf) ? ew_sat_U16((double)(v)) : (uint16_t)(v))
#define ST_U32(v, isf)  ((isf) ? ew_sat_U32((double)(v)) : (uint32_t)(v))
#define ST_U64(v, isf)  ((isf) ? ew_sat_U64((double)(v)) : (uint64_t)(v))
#define ST_BOOL(v, isf) ((uint8_t)((v) != 0))

/* Two copies of the type list, so that one can be expanded inside the other. */
// clang-format off
#define CV_TYPES_A(X) \
    X(F32, float, F) \
    X(F64, double, F) \
    X(F16, uint16_t, H) \
    X(BF16, uint16_t, B16) \
    X(I8, int8_t, I) \
    X(I16, int16_t, I) \
    X(I32, int32_t, I) \
    X(I64, int64_t, I) \
    X(U8, uint8_t, I) \
    X(U16, uint16_t, I) \
    X(U32, uint32_t, I) \
    X(U64, uint64_t, I) \
    X(BOOL, uint8_t, BL)
// clang-format on
// clang-format off
#define CV_TYPES_B(X, ...) \
    X(__VA_ARGS__, F32, float) \
    X(__VA_ARGS__, F64, double) \
    X(__VA_ARGS__, F16, uint16_t) \
    X(__VA_ARGS__, BF16, uint16_t) \
    X(__VA_ARGS__, I8, int8_t) \
    X(__VA_ARGS__, I16, int16_t) \
    X(__VA_ARGS__, I32, int32_t) \
    X(__VA_ARGS__, I64, int64_t) \
    X(__VA_ARGS__, U8, uint8_t) \
    X(__VA_ARGS__, U16, uint16_t) \
    X(__VA_ARGS__, U32, uint32_t) \
    X(__VA_ARGS__, U64, uint64_t) \
    X(__VA_ARGS__, BOOL, uint8_t)
// clang-format on

typedef void (*cv_fn)(const void * src, void * dst, int64_t n);

#define CV_CELL(SE, ST, SC, DE, DT)                                                                                    \
    static void cv_##SE##_##DE(const void * src, void * dst, int64_t n) {                                              \
        const ST * s = src;                                                                                            \
        DT *       d = dst;                                                                                            \
        for (int64_t i = 0; i < n; i++) d[i] = ST_##DE(LOAD_##SC(s[i]), ISF_##SC);                                     \
    }
#define CV_ROW(SE, ST, SC) CV_TYPES_B(CV_CELL, SE, ST, SC)
CV_TYPES_A(CV_ROW)

#define CV_TCELL(SE, DE, DT) [EI_DTYPE_##DE] = cv_##SE##_##DE,
#define CV_TROW(SE, ST, SC)  [EI_DTYPE_##SE] = {CV_TYPES_B(CV_TCELL, SE)},
static const cv_fn g_cv[EI_DTYPE_COUNT][EI_DTYPE_COUNT] = {CV_TYPES_A(CV_TROW)};

void ei_ew_convert(const void * src, ei_dtype sdt, void * dst, ei_dtype ddt, int64_t n) {
    if (n <= 0) return;
    if (sdt == ddt) {
        memcpy(dst, src, (size_t)n * ei_dtype_size(sdt));
        return;
    }
    cv_fn fn = g_cv[sdt][ddt];
    EI_ASSERT(fn);
    fn(src, dst, n);
}

typedef struct cv_ctx {
    const char * src;
    char *       dst;
    ei_dtype     sdt, ddt;
} cv_ctx;

static void cv_range(void * ctx, int64_t b, int64_t e) {
    const cv_ctx * c = ctx;
    ei_ew_convert(c->src + (size_t)b * ei_dtype_size(c->sdt), c->sdt, c->dst + (size_t)b * ei_dtype_size(c->ddt),
                  c->ddt, e - b);
}

void ei_ew_convert_par(const ei_exec * ex, const void * src, ei_dtype sdt, void * dst, ei_dtype ddt, int64_t n) {
    cv_ctx c = {src, dst, sdt, ddt};
    ei_parallel_for(ex ? ex->pool : NULL, n, EI_EW_GRAIN_CHEAP, cv_range, &c);
}

static bool cv_supported(ei_dtype dt) { return dt > EI_DTYPE_UNDEFINED && dt < EI_DTYPE_COUNT; }

typedef struct cast_params {
    ei_dtype to;
} cast_params;

static ei_status * cast_import(ei_node * n) {
    int64_t to;
    EI_TRY(ei_attr_get_int(n, "to", -1, &to));
    if (to < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'to' is missing");
    ei_dtype dt = to <= INT32_MAX ? ei_dtype_from_onnx((int32_t)to) : EI_DTYPE_UNDEFINED;
    if (!cv_supported(dt))
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED,
                              "cast to ONNX data type %lld is not supported (string, float8, int4 and "
                              "complex types are not)",
                              (long long)to);
    cast_params * p = malloc(sizeof *p);
    if (!p) return ei_status_oom();
    p->to = dt;
    n->params = p;
    return NULL;
}

static ei_status * cast_check_input(const ei_graph * g, const ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    if (!x) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 0 is required");
    if (!cv_supported(x->dtype))
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input 0 ('%s') has unsupported dtype %s", x->name,
                              ei_dtype_name(x->dtype));
    return NULL;
}

static ei_status * cast_infer(ei_graph * g, ei_node * n) {
    EI_TRY(cast_check_input(g, n));
    const cast_params * p = n->params;
    ei_op_set_output(g, n, 0, p->to, &ei_node_input(g, n, 0)->shape);
    return NULL;
}

static ei_status * castlike_infer(ei_graph * g, ei_node * n) {
    EI_TRY(cast_check_input(g, n));
    const ei_value * like = ei_node_input(g, n, 1);
    if (!like) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 1 (target_type) is required");
    if (!cv_supported(like->dtype))
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input 1 ('%s') has unsupported dtype %s", like->name,
                              ei_dtype_name(like->dtype));
    ei_op_set_output(g, n, 0, like->dtype, &ei_node_input(g, n, 0)->shape);
    return NULL;
}

static ei_status * cast_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    (void)node;
    ei_ew_convert_par(ex, in[0]->data, in[0]->dtype, out[0]->data, out[0]->dtype, ei_shape_numel(&in[0]->shape));
    return NULL;
}

const ei_op_def ei_op_def_CAST = {
    .name = "Cast",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = cast_import,
    .infer = cast_infer,
    .run = cast_run,
};

const ei_op_def ei_op_def_CAST_LIKE = {
    .name = "CastLike",
    .in_min = 2,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .infer = castlike_infer,
    .run = cast_run,
};
