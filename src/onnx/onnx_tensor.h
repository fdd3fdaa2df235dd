/* TensorProto -> ei_tensor, shared by the importer (initializers, attributes) and .pb file I/O. */
#ifndef EI_ONNX_TENSOR_H
#define EI_ONNX_TENSOR_H

#include "core/tensor.h"
#include "onnx/onnx_pb.h"

/* Keeps external-data files mapped for as long as the tensors that point into them live. */
typedef struct ei_mapped_files ei_mapped_files;

ei_status * ei_mapped_files_create(const char * base_dir, ei_mapped_files ** out);
void        ei_mapped_files_destroy(ei_mapped_files * mf);

/* Converts t. Where `borrow` is true and raw_data is suitably aligned, the tensor points into the
 * parsed buffer (which must outlive it) instead of copying. External data is resolved relative to
 * mf's base directory (mf may be NULL: external data is then refused). `what` names the tensor in
 * messages ("initializer 'conv1.weight'"). */
ei_status * ei_onnx_tensor_convert(const ei_onnx_tensor * t, bool borrow, ei_mapped_files * mf, const char * what,
                                   ei_tensor ** out);

/* Copies a wire string into a new NUL-terminated string (NULL on allocation failure). */
char * ei_pb_strdup(ei_pb_bytes b);

#endif
