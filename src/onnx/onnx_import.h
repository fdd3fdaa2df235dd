/* ONNX model (parsed wire structs) -> graph IR. */
#ifndef EI_ONNX_IMPORT_H
#define EI_ONNX_IMPORT_H

#include "edgeinfer/model.h"
#include "ir/graph.h"
#include "onnx/onnx_tensor.h"

/* Largest IR version and default-domain opset this importer has been checked against. */
#define EI_ONNX_MAX_IR_VERSION 14
#define EI_ONNX_MAX_OPSET      28

/* Builds, sorts and infers the graph. Initializer data is borrowed from the parsed buffer when
 * `borrow` (the buffer must then outlive the graph), else copied. */
ei_status * ei_onnx_import(const ei_onnx_model * m, ei_mapped_files * mf, bool borrow, const ei_model_options * opt,
                           ei_graph ** out);

#endif
