/* Shared implementation of Resize (opsets 10-19) and Upsample (opsets 7-9). Both importers fill one
 * parameter struct, normalising every opset difference (input layout, default coordinate mode,
 * the pre-11 nearest rounding); infer reads the constant scales/sizes/roi and fixes per-axis
 * scales; run builds per-axis index and weight tables once and resamples. */
#ifndef EI_OPS_RESIZE_COMMON_H
#define EI_OPS_RESIZE_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

typedef enum ei_resize_mode {
    EI_RESIZE_NEAREST = 0,
    EI_RESIZE_LINEAR,
    EI_RESIZE_CUBIC,
} ei_resize_mode;

typedef enum ei_resize_coord {
    EI_COORD_HALF_PIXEL = 0,
    EI_COORD_HALF_PIXEL_SYMMETRIC,
    EI_COORD_PYTORCH_HALF_PIXEL,
    EI_COORD_ALIGN_CORNERS,
    EI_COORD_ASYMMETRIC,
    EI_COORD_TF_HALF_PIXEL_FOR_NN,
    EI_COORD_TF_CROP_AND_RESIZE,
} ei_resize_coord;

typedef enum ei_resize_nearest {
    /* Resize-10 and Upsample: truncate when upsampling, ceil when downsampling (what ONNX Runtime
     * does for these opsets, which predate the nearest_mode attribute). */
    EI_NEAREST_LEGACY = 0,
    EI_NEAREST_ROUND_PREFER_FLOOR,
    EI_NEAREST_ROUND_PREFER_CEIL,
    EI_NEAREST_FLOOR,
    EI_NEAREST_CEIL,
} ei_resize_nearest;

typedef enum ei_resize_policy {
    EI_POLICY_STRETCH = 0,
    EI_POLICY_NOT_LARGER,
    EI_POLICY_NOT_SMALLER,
} ei_resize_policy;

typedef struct ei_resize_params {
    /* set by import */
    bool              is_upsample;
    ei_resize_mode    mode;
    ei_resize_coord   coord;
    ei_resize_nearest nearest;
    ei_resize_policy  policy;
    float             cubic_a;
    float             extrapolation;
    bool              exclude_outside;
    bool              antialias;
    int32_t           in_roi, in_scales, in_sizes; /* input indices; -1 when the opset has none */
    int32_t           n_axes;                      /* -1: attribute absent (all axes) */
    int64_t           axes[EI_MAX_RANK];           /* as given; normalised by infer */
    int32_t           n_attr_scales;               /* Upsample-7 `scales` attribute; -1 when absent */
    float             attr_scales[EI_MAX_RANK];
    /* set by infer, for run */
    int32_t rank;
    float   scale[EI_MAX_RANK];     /* per axis, as used by the coordinate transformation */
    float   roi_start[EI_MAX_RANK]; /* normalised roi, only for tf_crop_and_resize */
    float   roi_end[EI_MAX_RANK];
} ei_resize_params;

/* Parses the attributes of either operator into p, following node->opset (the model's ai.onnx
 * version); `is_upsample` selects the Upsample rules. Errors name the node. */
ei_status * ei_resize_parse_attrs(ei_node * node, ei_resize_params * p, bool is_upsample);

ei_status * ei_resize_infer(ei_graph * g, ei_node * node);
ei_status * ei_resize_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex);

/* ---- internal to resize_common.c / resize_kernel.c ---- */

/* Source coordinate of output index x along axis `axis` (before rounding or clamping). */
float ei_resize_coord_of(const ei_resize_params * p, int32_t axis, float x, int64_t len_in, int64_t len_out);
/* True when the axis is copied unchanged (the coordinate transformation is the identity). */
bool ei_resize_axis_is_identity(const ei_resize_params * p, int32_t axis, int64_t len_in, int64_t len_out);

#endif
