/* Semantic segmentation post-processing: per-pixel class scores -> a label map on the original
 * frame, per-class pixel counts. Drawing the map is draw.h's job. */
#ifndef EDGEINFER_SEGMENT_H
#define EDGEINFER_SEGMENT_H

#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/preprocess.h"
#include "edgeinfer/status.h"
#include "edgeinfer/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EI_SEG_NONE        255 /* label of a pixel whose best score is below the threshold */
#define EI_SEG_MAX_CLASSES 255

typedef struct ei_segment_params {
    uint32_t  size;      /* sizeof(ei_segment_params); set by ei_segment_params_default */
    ei_layout layout;    /* of the score tensor: [1|N, C, H, W] (NCHW) or [N, H, W, C] (NHWC) */
    float     threshold; /* nvinfer segmentation-threshold: best score below it -> EI_SEG_NONE; with one
                            channel, a pixel is class 1 when its score exceeds it, else class 0 */
    int sigmoid;         /* one-channel models: apply a sigmoid to the logit before thresholding */
    int upsample_scores; /* 1: bilinear-upsample the scores to the frame then argmax (smooth
                            edges); 0: argmax at network size, then nearest to the frame */
} ei_segment_params;

/* NCHW, threshold -INFINITY (plain argmax) except 0.5 for one channel, no sigmoid, upsample_scores 1. */
EI_API ei_segment_params ei_segment_params_default(void);

typedef struct ei_seg_map {
    int32_t   width, height; /* the original frame */
    int32_t   n_classes;     /* 2 for a one-channel model (background, foreground) */
    uint8_t * labels;        /* width*height class ids (EI_SEG_NONE where below the threshold) */
    int64_t * pixel_count;   /* n_classes counts over the frame (EI_SEG_NONE pixels not counted) */
} ei_seg_map;

/* Decodes batch item `batch` of scores into a map of the original frame, undoing the letterbox of
 * xf: pixels of the frame map through xf to network coordinates, so padding never shows. The
 * caller frees out with ei_seg_map_free. More than EI_SEG_MAX_CLASSES channels is refused. */
EI_API EI_NODISCARD ei_status * ei_segment_decode(const ei_segment_params * params, const ei_tensor * scores,
                                                  int32_t batch, const ei_frame_transform * xf, ei_seg_map * out);
EI_API void                     ei_seg_map_free(ei_seg_map * map); /* NULL-safe; zeroes it */

#ifdef __cplusplus
}
#endif
#endif
