/* The tensor struct, shared by every module of the library. */
#ifndef EI_CORE_TENSOR_H
#define EI_CORE_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "edgeinfer/tensor.h"

struct ei_tensor {
    ei_dtype dtype;
    ei_shape shape;
    void *   data; /* dense, row-major; may be NULL when numel == 0 */
    size_t   nbytes;
    bool     owns_data; /* false: data points into a mapped file or another buffer */
};

/* A tensor that borrows data (not freed by ei_tensor_destroy). */
ei_status * ei_tensor_wrap(ei_dtype dt, const ei_shape * shape, void * data, ei_tensor ** out);
/* Deep copy. */
ei_status * ei_tensor_clone(const ei_tensor * src, ei_tensor ** out);
/* numel * element size, or an error when it overflows or exceeds limit_bytes. */
ei_status * ei_shape_nbytes_checked(const ei_shape * s, ei_dtype dt, size_t limit_bytes, size_t * out);
bool        ei_shape_equal(const ei_shape * a, const ei_shape * b);
ei_shape    ei_shape_make(int32_t rank, const int64_t * dims);
bool        ei_dtype_is_float(ei_dtype dt); /* F32, F16, BF16, F64 */
/* Maps ONNX TensorProto.DataType to ei_dtype; EI_DTYPE_UNDEFINED when unsupported. */
ei_dtype ei_dtype_from_onnx(int32_t onnx_type);
int32_t  ei_dtype_to_onnx(ei_dtype dt);

/* fp16 / bf16 <-> fp32, round to nearest even. */
float    ei_f16_to_f32(uint16_t h);
uint16_t ei_f32_to_f16(float f);
float    ei_bf16_to_f32(uint16_t b);
uint16_t ei_f32_to_bf16(float f);

/* Reads element i of any numeric dtype as double / int64 (for generic code paths, not hot loops). */
double  ei_tensor_get_f64(const ei_tensor * t, int64_t i);
int64_t ei_tensor_get_i64(const ei_tensor * t, int64_t i);

#endif
