/* ei_model: an ONNX file imported into edgeinfer's graph IR, with shapes inferred and constant
 * sub-graphs folded. Immutable once loaded; may be shared by several sessions and threads. */
#ifndef EDGEINFER_MODEL_H
#define EDGEINFER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/status.h"
#include "edgeinfer/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_model ei_model;

typedef struct ei_model_options {
    uint32_t size; /* sizeof(ei_model_options); set by ei_model_options_default() */
    /* Fixes symbolic or unknown input dimensions, e.g. "input:1x3x240x320,mask:1x10". Dimensions
     * the file leaves symbolic and this does not fix are set to 1. NULL = none. Copied. */
    const char * input_shapes;
    bool         fold_constants; /* evaluate sub-graphs that depend only on constants (default true) */
    /* Inputs whose values are fixed when the model loads (they become constants and disappear
     * from the model's inputs), e.g. a `scales` input. Names and tensors are copied. */
    int32_t                   n_frozen_inputs;
    const char * const *      frozen_input_names;
    const ei_tensor * const * frozen_input_values;
    /* Graph optimisation after shape inference (docs/passes.md): 0 none, 1 every pass that keeps
     * ONNX's layouts, 2 also the blocked-layout plan for oneDNN (docs/cpu-kernels.md; default 2).
     * Results stay the same up to float32 rounding; graph input and output names are kept. */
    int32_t optimization_level;
} ei_model_options;

EI_API ei_model_options ei_model_options_default(void);

/* Reads and imports an ONNX model. opt may be NULL for defaults. Weights stay in the mapped file
 * where the file layout allows. The caller owns *out and frees it with ei_model_destroy. */
EI_API EI_NODISCARD ei_status * ei_model_load_file(const char * path, const ei_model_options * opt, ei_model ** out);
/* The same from memory. data is copied; base_dir (may be NULL) is where external-data files are
 * looked up. */
EI_API EI_NODISCARD ei_status * ei_model_load_memory(const void * data, size_t size, const char * base_dir,
                                                     const ei_model_options * opt, ei_model ** out);
EI_API void                     ei_model_destroy(ei_model * m); /* NULL-safe */

/* Graph inputs (initializers excluded) and outputs, in file order. Strings are owned by m. */
EI_API int32_t          ei_model_input_count(const ei_model * m);
EI_API int32_t          ei_model_output_count(const ei_model * m);
EI_API const char *     ei_model_input_name(const ei_model * m, int32_t i);
EI_API const char *     ei_model_output_name(const ei_model * m, int32_t i);
EI_API ei_dtype         ei_model_input_dtype(const ei_model * m, int32_t i);
EI_API ei_dtype         ei_model_output_dtype(const ei_model * m, int32_t i);
EI_API const ei_shape * ei_model_input_shape(const ei_model * m, int32_t i);
EI_API const ei_shape * ei_model_output_shape(const ei_model * m, int32_t i);

/* Facts for `edgeinfer info`. Strings are owned by m. */
typedef struct ei_model_summary {
    int64_t      ir_version;
    const char * producer_name;
    const char * producer_version;
    int32_t      opset_count;
    const char * opset_domain[16]; /* "" is the default ai.onnx domain */
    int64_t      opset_version[16];
    int32_t      node_count;        /* nodes in the file */
    int32_t      folded_node_count; /* nodes computed at load time */
    int64_t      param_count;       /* elements in initializers and Constant nodes */
    int64_t      macs;              /* multiply-accumulates of one inference (Conv, ConvTranspose, MatMul, Gemm) */
    /* Nodes that run at inference (not computed at load time) before and after graph optimisation,
     * and what the passes did, e.g. "BN folded 35, activations fused 110" ("" when nothing). */
    int32_t      nodes_before_optimization;
    int32_t      nodes_after_optimization;
    const char * optimization_report;
} ei_model_summary;

EI_API void ei_model_get_summary(const ei_model * m, ei_model_summary * out);

/* Operator histogram over the nodes after optimisation: op types in order of first appearance. */
EI_API int32_t      ei_model_op_type_count(const ei_model * m);
EI_API const char * ei_model_op_type_name(const ei_model * m, int32_t i);
EI_API int32_t      ei_model_op_type_nodes(const ei_model * m, int32_t i);

#ifdef __cplusplus
}
#endif
#endif
