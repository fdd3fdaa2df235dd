/* Tensors: a dtype, a static shape and a dense row-major buffer. */
#ifndef EDGEINFER_TENSOR_H
#define EDGEINFER_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EI_MAX_RANK 8

/* X-macro: enum name, printable name, element size in bytes, ONNX TensorProto.DataType. */
#define EI_DTYPE_LIST(X)                                                                                               \
    X(UNDEFINED, "undefined", 0, 0)                                                                                    \
    X(F32, "float32", 4, 1)                                                                                            \
    X(U8, "uint8", 1, 2)                                                                                               \
    X(I8, "int8", 1, 3)                                                                                                \
    X(U16, "uint16", 2, 4)                                                                                             \
    X(I16, "int16", 2, 5)                                                                                              \
    X(I32, "int32", 4, 6)                                                                                              \
    X(I64, "int64", 8, 7)                                                                                              \
    X(BOOL, "bool", 1, 9)                                                                                              \
    X(F16, "float16", 2, 10)                                                                                           \
    X(F64, "float64", 8, 11)                                                                                           \
    X(U32, "uint32", 4, 12)                                                                                            \
    X(U64, "uint64", 8, 13)                                                                                            \
    X(BF16, "bfloat16", 2, 16)

typedef enum ei_dtype {
#define EI_X(e, name, size, onnx) EI_DTYPE_##e,
    EI_DTYPE_LIST(EI_X)
#undef EI_X
        EI_DTYPE_COUNT
} ei_dtype;

/* A shape is a small value type; rank 0 is a scalar with one element. */
typedef struct ei_shape {
    int32_t rank;
    int64_t dim[EI_MAX_RANK];
} ei_shape;

typedef struct ei_tensor ei_tensor;

EI_API const char * ei_dtype_name(ei_dtype dt); /* "float32"; "invalid" when out of range */
EI_API size_t       ei_dtype_size(ei_dtype dt); /* bytes per element; 0 for UNDEFINED */
EI_API int64_t      ei_shape_numel(const ei_shape * s);
/* Writes "1x3x224x224" ("scalar" for rank 0) into buf; returns buf. */
EI_API char * ei_shape_format(const ei_shape * s, char * buf, size_t buf_size);

/* Allocates a zero-filled tensor. The caller owns *out and frees it with ei_tensor_destroy. */
EI_API EI_NODISCARD ei_status * ei_tensor_create(ei_dtype dt, const ei_shape * shape, ei_tensor ** out);
EI_API void                     ei_tensor_destroy(ei_tensor * t); /* NULL-safe */

EI_API ei_dtype         ei_tensor_dtype(const ei_tensor * t);
EI_API const ei_shape * ei_tensor_shape(const ei_tensor * t); /* valid while t lives */
EI_API void *           ei_tensor_data(ei_tensor * t);
EI_API const void *     ei_tensor_data_const(const ei_tensor * t);
EI_API size_t           ei_tensor_nbytes(const ei_tensor * t);
EI_API int64_t          ei_tensor_numel(const ei_tensor * t);

/* Reads a tensor from a NumPy .npy file or an ONNX TensorProto .pb file (chosen by extension).
 * The caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_tensor_load_file(const char * path, ei_tensor ** out);
/* Writes t as .npy or .pb (chosen by extension). Writes to a temporary file and renames it, so a
 * failed write leaves nothing half-written. name is stored in .pb files (may be NULL). */
EI_API EI_NODISCARD ei_status * ei_tensor_save_file(const ei_tensor * t, const char * name, const char * path);

#ifdef __cplusplus
}
#endif
#endif
