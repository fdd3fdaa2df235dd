/* Constant and ConstantOfShape. Constant's output is stored as a constant by infer, so it never
 * runs in a session; ConstantOfShape folds like any node with constant inputs. */
#include <string.h>

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

/* ---- Constant ---- */

typedef struct const_view {
    ei_dtype     dtype;
    ei_shape     shape;
    const void * data;
} const_view;

/* The one value attribute of a Constant node, as dtype + shape + borrowed bytes. */
static ei_status * constant_view(const ei_node * n, const_view * v) {
    static const char * const unsupported[] = {"sparse_value", "value_string", "value_strings"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (ei_node_attr(n, unsupported[i]))
            return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "attribute '%s' is not supported", unsupported[i]);
    memset(v, 0, sizeof *v);
    const ei_attr * found = NULL;
    for (int32_t i = 0; i < n->n_attrs; i++) {
        const ei_attr * a = &n->attrs[i];
        if (strncmp(a->name, "value", 5) != 0) continue;
        if (found)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attributes '%s' and '%s' both give the value", found->name,
                                  a->name);
        found = a;
    }
    if (!found) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "no value attribute");
    const ei_attr * a = found;
    if (strcmp(a->name, "value") == 0 && a->type == EI_ATTR_TENSOR && a->t) {
        v->dtype = a->t->dtype;
        v->shape = a->t->shape;
        v->data = a->t->data;
    } else if (strcmp(a->name, "value_float") == 0 && a->type == EI_ATTR_FLOAT) {
        v->dtype = EI_DTYPE_F32;
        v->data = &a->f;
    } else if (strcmp(a->name, "value_floats") == 0 && a->type == EI_ATTR_FLOATS) {
        v->dtype = EI_DTYPE_F32;
        v->shape.rank = 1;
        v->shape.dim[0] = a->n;
        v->data = a->floats;
    } else if (strcmp(a->name, "value_int") == 0 && a->type == EI_ATTR_INT) {
        v->dtype = EI_DTYPE_I64;
        v->data = &a->i;
    } else if (strcmp(a->name, "value_ints") == 0 && a->type == EI_ATTR_INTS) {
        v->dtype = EI_DTYPE_I64;
        v->shape.rank = 1;
        v->shape.dim[0] = a->n;
        v->data = a->ints;
    } else {
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute '%s' has an unexpected type", a->name);
    }
    return NULL;
}

static ei_status * constant_infer(ei_graph * g, ei_node * n) {
    const_view v;
    EI_TRY(constant_view(n, &v));
    ei_tensor * t;
    EI_TRY(ei_tensor_create(v.dtype, &v.shape, &t));
    if (t->nbytes) memcpy(t->data, v.data, t->nbytes);
    ei_op_set_output_constant(g, n, 0, t);
    return NULL;
}

static ei_status * constant_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                                const ei_exec * ex) {
    (void)in;
    (void)ex;
    const_view v;
    EI_TRY(constant_view(n, &v));
    if (out[0]->nbytes) memcpy(out[0]->data, v.data, out[0]->nbytes);
    return NULL;
}

const ei_op_def ei_op_def_CONSTANT = {
    .name = "Constant",
    .in_min = 0,
    .in_max = 0,
    .out_min = 1,
    .out_max = 1,
    .infer = constant_infer,
    .run = constant_run,
};

/* ---- ConstantOfShape ---- */

static ei_status * cos_value(const ei_node * n, ei_dtype * dt, const void ** data) {
    static const float zero = 0.0f;
    const ei_attr *    a = ei_node_attr(n, "value");
    *dt = EI_DTYPE_F32;
    *data = &zero;
    if (!a) return NULL;
    if (a->type != EI_ATTR_TENSOR || !a->t)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'value' should be a tensor of a supported dtype");
    if (ei_tensor_numel(a->t) != 1)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'value' must hold one element, not %lld",
                              (long long)ei_tensor_numel(a->t));
    *dt = a->t->dtype;
    *data = a->t->data;
    return NULL;
}

static ei_status * cos_infer(ei_graph * g, ei_node * n) {
    ei_dtype     dt;
    const void * data;
    EI_TRY(cos_value(n, &dt, &data));
    EI_TRY(ei_op_check_dtype(g, n, 0, EI_DTYPE_I64, EI_DTYPE_UNDEFINED));
    int64_t dims[EI_SHP_MAX_INTS];
    int32_t count;
    EI_TRY(ei_op_const_ints(g, n, 0, dims, EI_SHP_MAX_INTS, &count));
    if (count > EI_MAX_RANK)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "output rank %d exceeds the supported %d", count, EI_MAX_RANK);
    for (int32_t i = 0; i < count; i++)
        if (dims[i] < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "shape[%d] is %lld", i, (long long)dims[i]);
    ei_shape    s = ei_shape_make(count, dims);
    size_t      nbytes;
    ei_status * st = ei_shape_nbytes_checked(&s, dt, (size_t)1 << 40, &nbytes);
    if (st) {
        ei_status * wrapped = ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%s", ei_status_message(st));
        ei_status_destroy(st);
        return wrapped;
    }
    ei_op_set_output(g, n, 0, dt, &s);
    return NULL;
}

static ei_status * cos_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    (void)in;
    (void)ex;
    ei_dtype     dt;
    const void * data;
    EI_TRY(cos_value(n, &dt, &data));
    ei_dm_fill(out[0]->data, data, ei_dtype_size(dt), ei_tensor_numel(out[0]));
    return NULL;
}

const ei_op_def ei_op_def_CONSTANT_OF_SHAPE = {
    .name = "ConstantOfShape",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .infer = cos_infer,
    .run = cos_run,
};
