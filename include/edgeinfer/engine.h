/* Engine files: a model imported, optimised and shape-inferred once by `edgeinfer build`, saved
 * with its weights so that loading is an mmap and a few checks (docs/engine-format.md). A loaded
 * engine is an ordinary ei_model: sessions use it unchanged. */
#ifndef EDGEINFER_ENGINE_H
#define EDGEINFER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/calib.h"
#include "edgeinfer/model.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the engine file layout; files of another version are refused (rebuild them). */
#define EI_ENGINE_FORMAT_VERSION 1u

/* Numeric precision of an engine's heavy operators (docs/precision.md). Values are stored in
 * engine files: never renumber. */
typedef enum ei_precision {
    EI_PRECISION_FP32 = 0,
    EI_PRECISION_BF16 = 1, /* weights in bf16; LayerNorm, Softmax and reductions stay fp32 */
    EI_PRECISION_FP16 = 2, /* weights in fp16; the same layers stay fp32 */
    EI_PRECISION_INT8 = 3, /* convolutions and matmuls in int8, scales from an ei_calib_table */
    EI_PRECISION_COUNT
} ei_precision;

/* "fp32", "bf16", "fp16", "int8" ("?" for other values). */
EI_API const char * ei_precision_name(ei_precision p);
/* Parses a name as above (case-insensitive); false when unknown. */
EI_API bool ei_precision_parse(const char * name, ei_precision * out);

typedef struct ei_engine_build_options {
    uint32_t     size; /* sizeof(ei_engine_build_options); set by ei_engine_build_options_default() */
    ei_precision precision;
    int32_t      batch;              /* > 0: first dimension of every input not named in input_shapes; 0: as declared */
    int32_t      n_threads;          /* recorded for sessions of the engine (0: one per core) */
    const char * input_shapes;       /* as ei_model_options.input_shapes; NULL = none */
    int32_t      optimization_level; /* as ei_model_options.optimization_level (default 2) */
    /* INT8: activation scales by tensor name of the optimised fp32 graph (include/edgeinfer/calib.h);
     * required for EI_PRECISION_INT8, ignored otherwise. Borrowed for the call. */
    const ei_calib_table * calib;
    /* Comma-separated node names of the optimised graph that stay fp32 whatever the precision;
     * NULL = none. */
    const char * keep_fp32;
    /* BF16 / FP16: false (default) rounds the data input of every converted operator to bf16 /
     * fp16 before the fp32 compute, so that accuracy is what a CPU with native bf16 / fp16
     * arithmetic would give; true rounds the weights only (docs/precision.md). */
    bool half_fp32_activations;
} ei_engine_build_options;

EI_API ei_engine_build_options ei_engine_build_options_default(void);

/* Imports onnx_path with the options (input shapes, batch) into *out, ready to save. The model
 * remembers the options and the SHA-256 of the ONNX bytes. Caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_engine_build(const char * onnx_path, const ei_engine_build_options * opt,
                                                ei_model ** out);
/* Writes m as an engine file (temporary file + rename: never half-written). m must come from
 * ei_engine_build or ei_model_load_engine (they know the ONNX bytes' hash and the options). */
EI_API EI_NODISCARD ei_status * ei_model_save_engine(const ei_model * m, const char * path);
/* Maps an engine file and rebuilds the model from it: no parsing of ONNX, no sorting, no shape
 * inference, no folding; weights stay in the mapping. Refuses corrupt, truncated, foreign,
 * other-version and other-CPU files, each with its own message. Caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_model_load_engine(const char * path, ei_model ** out);
/* True when the file starts with the engine magic (cheap: reads 8 bytes). */
EI_API bool ei_file_is_engine(const char * path);
/* Threads recorded at build time for sessions of m (0: one per core, or not an engine). */
EI_API int32_t ei_model_engine_threads(const ei_model * m);
/* Precision m was built with (FP32 for a plain ONNX load). */
EI_API ei_precision ei_model_engine_precision(const ei_model * m);

/* What ei_engine_cache_get did. */
typedef struct ei_engine_cache_info {
    bool   built;       /* true: the engine was (re)built now; false: loaded from the cache */
    char   reason[256]; /* why it was built, e.g. "no engine for this model and options", "model changed" */
    char   path[4096];  /* the engine file in the cache */
    double load_ms;     /* time to load the cached engine (or to build and save it) */
} ei_engine_cache_info;

/* Returns the model for onnx_path and opt from cache_dir (created if missing), building and
 * saving the engine when none is there, when the ONNX changed, or when the cached file is
 * unusable (corrupt, other version or CPU). info may be NULL. Caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_engine_cache_get(const char * cache_dir, const char * onnx_path,
                                                    const ei_engine_build_options * opt, ei_model ** out,
                                                    ei_engine_cache_info * info);

#ifdef __cplusplus
}
#endif
#endif
