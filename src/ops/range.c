/* Range: the output length depends on the values of start, limit and delta, so all three must be
 * known at load time; the node then folds to a constant. */
#include <math.h>
#include <string.h>

#include "ops/op.h"

static ei_status * range_count(const ei_node * n, const ei_tensor * start, const ei_tensor * limit,
                               const ei_tensor * delta, int64_t * count) {
    if (ei_dtype_is_float(start->dtype)) {
        double s = ei_tensor_get_f64(start, 0), l = ei_tensor_get_f64(limit, 0), d = ei_tensor_get_f64(delta, 0);
        if (d == 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "delta is 0");
        double c = ceil((l - s) / d);
        if (!(c == c) || fabs(c) > 1e15)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "start %g, limit %g, delta %g give no usable length", s, l,
                                  d);
        *count = c > 0 ? (int64_t)c : 0;
        return NULL;
    }
    int64_t s = ei_tensor_get_i64(start, 0), l = ei_tensor_get_i64(limit, 0), d = ei_tensor_get_i64(delta, 0);
    *count = 0;
    if (d == 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "delta is 0");
    /* Unsigned differences stay exact over the whole int64 range. */
    uint64_t span, step;
    if (d > 0) {
        if (l <= s) return NULL;
        span = (uint64_t)l - (uint64_t)s;
        step = (uint64_t)d;
    } else {
        if (l >= s) return NULL;
        span = (uint64_t)s - (uint64_t)l;
        step = (uint64_t)0 - (uint64_t)d;
    }
    uint64_t c = (span - 1) / step + 1;
    if (c > (uint64_t)INT64_MAX) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "the range is too long");
    *count = (int64_t)c;
    return NULL;
}

static ei_status * range_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    EI_TRY(ei_op_check_dtype(g, n, 0, EI_DTYPE_F32, EI_DTYPE_F64, EI_DTYPE_F16, EI_DTYPE_BF16, EI_DTYPE_I16,
                             EI_DTYPE_I32, EI_DTYPE_I64, EI_DTYPE_UNDEFINED));
    for (int32_t k = 0; k < 3; k++) {
        const ei_value * v = ei_node_input(g, n, k);
        if (!v) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d is missing", k);
        if (v->dtype != x->dtype)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d ('%s') is %s but start is %s", k, v->name,
                                  ei_dtype_name(v->dtype), ei_dtype_name(x->dtype));
        if (ei_shape_numel(&v->shape) != 1)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d ('%s') must be a scalar", k, v->name);
        if (!v->constant)
            return ei_node_errorf(n, EI_CODE_UNSUPPORTED,
                                  "input %d ('%s') must be known when the model loads (edgeinfer uses static "
                                  "shapes); it is computed at run time here",
                                  k, v->name);
    }
    int64_t count = 0;
    EI_TRY(range_count(n, ei_node_input_const(g, n, 0), ei_node_input_const(g, n, 1), ei_node_input_const(g, n, 2),
                       &count));
    ei_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 1;
    s.dim[0] = count;
    size_t      nbytes;
    ei_status * st = ei_shape_nbytes_checked(&s, x->dtype, (size_t)1 << 40, &nbytes);
    if (st) {
        ei_status * wrapped = ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%s", ei_status_message(st));
        ei_status_destroy(st);
        return wrapped;
    }
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * range_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    (void)n;
    (void)ex;
    int64_t count = ei_tensor_numel(out[0]);
    void *  d = out[0]->data;
    if (ei_dtype_is_float(in[0]->dtype)) {
        double s = ei_tensor_get_f64(in[0], 0), dl = ei_tensor_get_f64(in[2], 0);
        for (int64_t i = 0; i < count; i++) {
            double v = s + (double)i * dl;
            switch (out[0]->dtype) {
            case EI_DTYPE_F32: ((float *)d)[i] = (float)v; break;
            case EI_DTYPE_F64: ((double *)d)[i] = v; break;
            case EI_DTYPE_F16: ((uint16_t *)d)[i] = ei_f32_to_f16((float)v); break;
            default: ((uint16_t *)d)[i] = ei_f32_to_bf16((float)v); break;
            }
        }
        return NULL;
    }
    /* Unsigned arithmetic wraps instead of overflowing; every value produced lies between start and limit. */
    uint64_t s = (uint64_t)ei_tensor_get_i64(in[0], 0), dl = (uint64_t)ei_tensor_get_i64(in[2], 0);
    for (int64_t i = 0; i < count; i++) {
        int64_t v = (int64_t)(s + (uint64_t)i * dl);
        switch (out[0]->dtype) {
        case EI_DTYPE_I16: ((int16_t *)d)[i] = (int16_t)v; break;
        case EI_DTYPE_I32: ((int32_t *)d)[i] = (int32_t)v; break;
        default: ((int64_t *)d)[i] = v; break;
        }
    }
    return NULL;
}

const ei_op_def ei_op_def_RANGE = {
    .name = "Range",
    .in_min = 3,
    .in_max = 3,
    .out_min = 1,
    .out_max = 1,
    .infer = range_infer,
    .run = range_run,
};
