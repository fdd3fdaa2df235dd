/* The inference config: an INI file in DeepStream nvinfer's dialect ([property], [class-attrs-all],
 * [class-attrs-N]) read into typed values. nvinfer's keys keep nvinfer's meaning and defaults; keys
 * edgeinfer adds (decoder, priors, mean/std, ...) follow its naming. docs/config-keys.md lists every
 * key. The config only describes: it opens no model and checks nothing against one. */
#ifndef EDGEINFER_CONFIG_H
#define EDGEINFER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/detect.h"
#include "edgeinfer/engine.h"
#include "edgeinfer/preprocess.h"
#include "edgeinfer/segment.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nvinfer's network-mode values; ei_infer_config.precision says what edgeinfer builds for each
 * (int8 needs int8-calib-file). */
typedef enum ei_network_mode {
    EI_NETWORK_MODE_FP32 = 0,
    EI_NETWORK_MODE_INT8 = 1,
    EI_NETWORK_MODE_FP16 = 2,
} ei_network_mode;

/* nvinfer's network-type values (3, instance segmentation, is refused). */
typedef enum ei_network_type {
    EI_NETWORK_TYPE_DETECTOR = 0,
    EI_NETWORK_TYPE_CLASSIFIER = 1,
    EI_NETWORK_TYPE_SEGMENTATION = 2,
    EI_NETWORK_TYPE_OTHER = 100, /* raw outputs only, no post-processing */
} ei_network_type;

/* nvinfer's cluster-mode values edgeinfer implements (0 GroupRectangles, 1 DBSCAN and 3 the hybrid
 * are refused with a message). */
typedef enum ei_cluster_mode {
    EI_CLUSTER_MODE_NMS = 2,
    EI_CLUSTER_MODE_NONE = 4,
} ei_cluster_mode;

/* Filled by the loader and owned by it: every pointer in it (strings, arrays, the output names in
 * decoder) stays valid until ei_infer_config_destroy. Read it; do not free or reassign its members. */
typedef struct ei_infer_config {
    uint32_t size; /* sizeof(ei_infer_config) */

    char * config_path; /* the path given to load/parse (NULL if parse got none) */
    char * base_dir;    /* absolute folder relative paths were resolved against (the config's) */

    /* Paths, resolved against base_dir as nvinfer does; NULL when not given. */
    char * onnx_file;         /* onnx-file */
    char * model_engine_file; /* model-engine-file */
    char * labelfile_path;    /* labelfile-path */
    char * custom_lib_path;   /* custom-lib-path */
    char * int8_calib_file;   /* int8-calib-file: an edgeinfer calibration cache (include/edgeinfer/calib.h) */
    char * parse_bbox_func_name;

    int32_t         batch_size;        /* batch-size, 1 */
    ei_network_mode network_mode;      /* as written (0) */
    ei_precision    precision;         /* what edgeinfer builds: network-mode 0 fp32, 1 int8, 2 fp16 */
    ei_network_type network_type;      /* 0 */
    int32_t         infer_dims[3];     /* infer-dims C;H;W; 0 when not given (take them from the model) */
    char **         output_blob_names; /* output-blob-names, n_output_blob_names entries */
    int32_t         n_output_blob_names;
    ei_cluster_mode cluster_mode;         /* 2 (NMS): nvinfer's default 0 is GroupRectangles, not implemented */
    int32_t         interval;             /* frames skipped between inferences, 0 */
    int32_t         gie_unique_id;        /* 1 */
    int32_t         num_detected_classes; /* 0 when not given (then required for detectors) */

    /* net-scale-factor and offsets as written (1 and 0 when absent); preprocess holds the result,
     * which mean/std may have set instead. */
    float   net_scale_factor;
    float   offsets[3];
    int32_t n_offsets;

    /* width/height from infer-dims (0 when not given: the caller takes them from the model input). */
    ei_preprocess_spec preprocess;
    /* boxes_output / scores_output point into this config. priors.image_w/h come from infer-dims. */
    ei_decoder_params decoder;
    ei_segment_params segment;
    /* One entry per class (num_detected_classes entries; NULL when 0): [class-attrs-all] first,
     * then [class-attrs-N] overrides. */
    ei_class_attrs * class_attrs;
    int32_t          n_class_attrs;
    int32_t          nms_class_agnostic; /* nms-class-agnostic, 0 */
    int32_t          overall_topk;       /* overall-topk: at most this many boxes per frame; -1 = all */

    char ** warnings; /* what the loader let pass: unknown keys, ignored nvinfer keys, ... */
    int32_t n_warnings;
} ei_infer_config;

/* Reads and parses the file at path, then checks that the files it names exist
 * (ei_infer_config_check_files). The caller owns *out (ei_infer_config_destroy). On failure *out is
 * NULL and the status names file, group, key and value. */
EI_API EI_NODISCARD ei_status * ei_infer_config_load(const char * path, ei_infer_config ** out);

/* Parses n bytes of INI text. path (may be NULL) is used in messages and its folder resolves relative
 * paths (the working directory when NULL). Touches no file: existence is ei_infer_config_check_files'
 * job, so a config can be parsed where its model is absent. The caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_infer_config_parse(const char * text, size_t n, const char * path,
                                                      ei_infer_config ** out);

/* Checks that the model exists (onnx-file, or model-engine-file when no onnx-file is given: an engine
 * that is named but absent is built from the onnx-file, as nvinfer does), and that labelfile-path and
 * custom-lib-path exist when given. Fails with EI_CODE_NOT_FOUND naming the key and the resolved path. */
EI_API EI_NODISCARD ei_status * ei_infer_config_check_files(const ei_infer_config * cfg);

EI_API void ei_infer_config_destroy(ei_infer_config * cfg); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
