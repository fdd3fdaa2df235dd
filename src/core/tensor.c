#include "core/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int64_t ei_shape_numel(const ei_shape * s) {
    int64_t n = 1;
    for (int32_t i = 0; i < s->rank; i++) n *= s->dim[i];
    return n;
}

char * ei_shape_format(const ei_shape * s, char * buf, size_t buf_size) {
    if (!buf_size) return buf;
    buf[0] = 0;
    if (s->rank == 0) {
        snprintf(buf, buf_size, "scalar");
        return buf;
    }
    size_t used = 0;
    for (int32_t i = 0; i < s->rank && used < buf_size; i++) {
        int n = snprintf(buf + used, buf_size - used, i ? "x%lld" : "%lld", (long long)s->dim[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

bool ei_shape_equal(const ei_shape * a, const ei_shape * b) {
    if (a->rank != b->rank) return false;
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

ei_shape ei_shape_make(int32_t rank, const int64_t * dims) {
    ei_shape s;
    memset(&s, 0, sizeof s);
    s.rank = rank;
    for (int32_t i = 0; i < rank; i++) s.dim[i] = dims[i];
    return s;
}

ei_status * ei_shape_nbytes_checked(const ei_shape * s, ei_dtype dt, size_t limit_bytes, size_t * out) {
    char buf[160];
    if (s->rank < 0 || s->rank > EI_MAX_RANK)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "rank %d is outside 0..%d", s->rank, EI_MAX_RANK);
    uint64_t n = ei_dtype_size(dt);
    if (!n) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "dtype %s has no element size", ei_dtype_name(dt));
    for (int32_t i = 0; i < s->rank; i++) {
        if (s->dim[i] < 0)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "shape %s has a negative dimension",
                             ei_shape_format(s, buf, sizeof buf));
        if (s->dim[i] && n > limit_bytes / (uint64_t)s->dim[i])
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "shape %s of %s needs more than %zu bytes",
                             ei_shape_format(s, buf, sizeof buf), ei_dtype_name(dt), limit_bytes);
        n *= (uint64_t)s->dim[i];
    }
    if (n > limit_bytes)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "shape %s of %s needs more than %zu bytes",
                         ei_shape_format(s, buf, sizeof buf), ei_dtype_name(dt), limit_bytes);
    *out = (size_t)n;
    return NULL;
}

ei_status * ei_tensor_create(ei_dtype dt, const ei_shape * shape, ei_tensor ** out) {
    *out = NULL;
    if ((unsigned)dt >= EI_DTYPE_COUNT || dt == EI_DTYPE_UNDEFINED)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "cannot create a tensor of dtype %d", (int)dt);
    size_t nbytes;
    EI_TRY(ei_shape_nbytes_checked(shape, dt, (size_t)1 << 40, &nbytes));
    ei_tensor * t = calloc(1, sizeof *t);
    if (!t) return ei_status_oom();
    t->dtype = dt;
    t->shape = *shape;
    t->nbytes = nbytes;
    t->owns_data = true;
    /* 64-byte alignment for vector kernels; at least one byte so data is never NULL. */
    size_t alloc = (nbytes + 63) & ~(size_t)63;
    t->data = aligned_alloc(64, alloc ? alloc : 64);
    if (!t->data) {
        free(t);
        return ei_status_oom();
    }
    memset(t->data, 0, alloc ? alloc : 64);
    *out = t;
    return NULL;
}

ei_status * ei_tensor_wrap(ei_dtype dt, const ei_shape * shape, void * data, ei_tensor ** out) {
    *out = NULL;
    size_t nbytes;
    EI_TRY(ei_shape_nbytes_checked(shape, dt, (size_t)1 << 40, &nbytes));
    ei_tensor * t = calloc(1, sizeof *t);
    if (!t) return ei_status_oom();
    t->dtype = dt;
    t->shape = *shape;
    t->nbytes = nbytes;
    t->data = data;
    t->owns_data = false;
    *out = t;
    return NULL;
}

ei_status * ei_tensor_clone(const ei_tensor * src, ei_tensor ** out) {
    EI_TRY(ei_tensor_create(src->dtype, &src->shape, out));
    if (src->nbytes) memcpy((*out)->data, src->data, src->nbytes);
    return NULL;
}

void ei_tensor_destroy(ei_tensor * t) {
    if (!t) return;
    if (t->owns_data) free(t->data);
    free(t);
}

ei_dtype         ei_tensor_dtype(const ei_tensor * t) { return t->dtype; }
const ei_shape * ei_tensor_shape(const ei_tensor * t) { return &t->shape; }
void *           ei_tensor_data(ei_tensor * t) { return t->data; }
const void *     ei_tensor_data_const(const ei_tensor * t) { return t->data; }
size_t           ei_tensor_nbytes(const ei_tensor * t) { return t->nbytes; }
int64_t          ei_tensor_numel(const ei_tensor * t) { return ei_shape_numel(&t->shape); }

double ei_tensor_get_f64(const ei_tensor * t, int64_t i) {
    const void * p = t->data;
    switch (t->dtype) {
    case EI_DTYPE_F32: return ((const float *)p)[i];
    case EI_DTYPE_F64: return ((const double *)p)[i];
    case EI_DTYPE_F16: return ei_f16_to_f32(((const uint16_t *)p)[i]);
    case EI_DTYPE_BF16: return ei_bf16_to_f32(((const uint16_t *)p)[i]);
    case EI_DTYPE_U8: return ((const uint8_t *)p)[i];
    case EI_DTYPE_I8: return ((const int8_t *)p)[i];
    case EI_DTYPE_U16: return ((const uint16_t *)p)[i];
    case EI_DTYPE_I16: return ((const int16_t *)p)[i];
    case EI_DTYPE_I32: return ((const int32_t *)p)[i];
    case EI_DTYPE_I64: return (double)((const int64_t *)p)[i];
    case EI_DTYPE_U32: return ((const uint32_t *)p)[i];
    case EI_DTYPE_U64: return (double)((const uint64_t *)p)[i];
    case EI_DTYPE_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return 0;
    }
}

int64_t ei_tensor_get_i64(const ei_tensor * t, int64_t i) {
    const void * p = t->data;
    switch (t->dtype) {
    case EI_DTYPE_I64: return ((const int64_t *)p)[i];
    case EI_DTYPE_I32: return ((const int32_t *)p)[i];
    case EI_DTYPE_U64: return (int64_t)((const uint64_t *)p)[i];
    case EI_DTYPE_U32: return ((const uint32_t *)p)[i];
    case EI_DTYPE_I16: return ((const int16_t *)p)[i];
    case EI_DTYPE_U16: return ((const uint16_t *)p)[i];
    case EI_DTYPE_I8: return ((const int8_t *)p)[i];
    case EI_DTYPE_U8: return ((const uint8_t *)p)[i];
    case EI_DTYPE_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return (int64_t)ei_tensor_get_f64(t, i);
    }
}
