#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

ei_status * ei_op_axis(const ei_node * n, int64_t axis, int32_t rank, int32_t * out) {
    int64_t r = rank;
    if (axis < -r || axis >= (r ? r : 1))
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int32_t)(axis < 0 ? axis + r : axis);
    return NULL;
}

ei_status * ei_op_broadcast(const ei_node * n, const ei_shape * a, const ei_shape * b, ei_shape * out) {
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    memset(out, 0, sizeof *out);
    out->rank = r;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
        if (da == db || db == 1) {
            out->dim[i] = da;
        } else if (da == 1) {
            out->dim[i] = db;
        } else {
            char sa[128], sb[128];
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "shapes %s and %s cannot be broadcast together",
                                  ei_shape_format(a, sa, sizeof sa), ei_shape_format(b, sb, sizeof sb));
        }
    }
    return NULL;
}

ei_status * ei_op_const_ints(const ei_graph * g, const ei_node * n, int32_t k, int64_t * vals, int32_t max,
                             int32_t * count) {
    *count = -1;
    const ei_value * v = ei_node_input(g, n, k);
    if (!v) return NULL;
    if (!v->constant)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED,
                              "input %d ('%s') must be known when the model loads (edgeinfer uses static "
                              "shapes); it is computed at run time here",
                              k, v->name);
    const ei_tensor * t = v->constant;
    if (t->dtype != EI_DTYPE_I64 && t->dtype != EI_DTYPE_I32)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d ('%s') should be int64 or int32, not %s", k, v->name,
                              ei_dtype_name(t->dtype));
    int64_t numel = ei_shape_numel(&t->shape);
    if (numel > max)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d ('%s') has %lld values; at most %d are allowed", k,
                              v->name, (long long)numel, max);
    for (int64_t i = 0; i < numel; i++) vals[i] = ei_tensor_get_i64(t, i);
    *count = (int32_t)numel;
    return NULL;
}

ei_status * ei_op_install_params(ei_node * node, void * p, ei_status * st) {
    if (st) {
        free(p);
        return st;
    }
    free(node->params);
    node->params = p;
    return NULL;
}

void ei_op_set_output(ei_graph * g, const ei_node * n, int32_t k, ei_dtype dt, const ei_shape * s) {
    ei_value * v = ei_node_output(g, n, k);
    if (!v) return;
    v->dtype = dt;
    v->shape = *s;
    v->shape_known = true;
}

void ei_op_set_output_constant(ei_graph * g, const ei_node * n, int32_t k, ei_tensor * t) {
    ei_op_set_output(g, n, k, t->dtype, &t->shape);
    ei_value * v = ei_node_output(g, n, k);
    if (!v) {
        ei_tensor_destroy(t);
        return;
    }
    ei_tensor_destroy(v->constant);
    v->constant = t;
}

void ei_shape_strides(const ei_shape * s, int64_t * strides) {
    int64_t st = 1;
    for (int32_t i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        st *= s->dim[i];
    }
}

void ei_shape_broadcast_strides(const ei_shape * in, const ei_shape * out, int64_t * strides) {
    int64_t own[EI_MAX_RANK];
    ei_shape_strides(in, own);
    int32_t off = out->rank - in->rank;
    for (int32_t i = 0; i < out->rank; i++) {
        int32_t j = i - off;
        strides[i] = (j >= 0 && in->dim[j] != 1) ? own[j] : 0;
    }
}

ei_status * ei_op_check_dtype(const ei_graph * g, const ei_node * n, int32_t k, ...) {
    const ei_value * v = ei_node_input(g, n, k);
    if (!v) return NULL;
    va_list ap;
    va_start(ap, k);
    char   allowed[256] = "";
    size_t used = 0;
    for (;;) {
        ei_dtype dt = (ei_dtype)va_arg(ap, int);
        if (dt == EI_DTYPE_UNDEFINED) break;
        if (dt == v->dtype) {
            va_end(ap);
            return NULL;
        }
        int w = snprintf(allowed + used, sizeof allowed - used, "%s%s", used ? ", " : "", ei_dtype_name(dt));
        if (w > 0 && (size_t)w < sizeof allowed - used) used += (size_t)w;
    }
    va_end(ap);
    return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input %d ('%s') has dtype %s; supported: %s", k, v->name,
                          ei_dtype_name(v->dtype), allowed);
}
