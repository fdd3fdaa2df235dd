/* ei_infer: the whole per-frame job for one model, configured by an inference config (config.h):
 * frames in (any ei_pixel_format), pre-processing, the network, the decoder (built in or a parser
 * plugin), clustering, and results out on the original frames' coordinates. The CLI's `detect`
 * and `segment` and the GStreamer element are thin layers over it. */
#ifndef EDGEINFER_INFER_H
#define EDGEINFER_INFER_H

#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/config.h"
#include "edgeinfer/detect.h"
#include "edgeinfer/image.h"
#include "edgeinfer/labels.h"
#include "edgeinfer/model.h"
#include "edgeinfer/preprocess.h"
#include "edgeinfer/segment.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_infer ei_infer;

typedef struct ei_infer_options {
    uint32_t     size;      /* sizeof(ei_infer_options); set by ei_infer_options_default */
    int32_t      n_threads; /* 0: the engine's, else one per core */
    const char * cache_dir; /* engine cache for onnx-file (NULL: no cache) */
    /* Progress and decisions (engine built or loaded, and why). NULL: silent. */
    void (*log)(void * user, const char * message);
    void * log_user;
} ei_infer_options;

EI_API ei_infer_options ei_infer_options_default(void);

/* What one frame produced. Zero-initialise it before the first ei_infer_run; the run resets it
 * and ei_frame_result_free releases it. */
typedef struct ei_frame_result {
    ei_detections      detections; /* detectors: boxes in the frame's pixels, clustered */
    ei_seg_map         seg;        /* segmentation networks: the label map of the frame */
    int32_t            top_class;  /* classifiers: the best class (-1 below classifier threshold) */
    float              top_score;
    ei_frame_transform transform; /* network <-> frame coordinates */
} ei_frame_result;

EI_API void ei_frame_result_free(ei_frame_result * r); /* NULL-safe; leaves it zeroed */

/* Per-stage time of the last ei_infer_run, for the whole batch (milliseconds). */
typedef struct ei_infer_timing {
    double preprocess_ms;
    double infer_ms;
    double postprocess_ms;
} ei_infer_timing;

/* Opens the model the config names (model-engine-file, rebuilt from onnx-file when it is missing,
 * stale or unusable; or onnx-file through the cache or imported directly), checks it against the
 * config (input size and layout, output names, class count, label count) and prepares the decoder.
 * cfg must outlive the ei_infer. The caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_infer_create(const ei_infer_config * cfg, const ei_infer_options * opt,
                                                ei_infer ** out);
EI_API void                     ei_infer_destroy(ei_infer * inf); /* NULL-safe */

/* Runs n frames (1 <= n <= the batch size) and fills results[0..n-1]. */
EI_API EI_NODISCARD ei_status * ei_infer_run(ei_infer * inf, const ei_image * frames, int32_t n,
                                             ei_frame_result * results);

EI_API int32_t                    ei_infer_batch_size(const ei_infer * inf);
EI_API const ei_model *           ei_infer_model(const ei_infer * inf);
EI_API const ei_labels *          ei_infer_labels(const ei_infer * inf); /* NULL without a label file */
EI_API const ei_preprocess_spec * ei_infer_preprocess(const ei_infer * inf);
EI_API ei_network_type            ei_infer_network_type(const ei_infer * inf);
EI_API int32_t                    ei_infer_num_classes(const ei_infer * inf);
EI_API ei_infer_timing            ei_infer_last_timing(const ei_infer * inf);
/* The network input of the last run (float32, batch-size frames), for checking pre-processing. */
EI_API const ei_tensor * ei_infer_input_tensor(const ei_infer * inf);
/* Output i of the last run, borrowed until the next run. */
EI_API const ei_tensor * ei_infer_output(const ei_infer * inf, int32_t i);

#ifdef __cplusplus
}
#endif
#endif
