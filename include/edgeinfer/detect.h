/* Detection post-processing: network output tensors -> boxes with class and score.
 * Decoders are chosen by a typed parameter struct (filled from the config file); they return data
 * and never draw. Coordinates are pixels of the network input unless a function says otherwise;
 * ei_detections_to_image moves them onto the original frame. */
#ifndef EDGEINFER_DETECT_H
#define EDGEINFER_DETECT_H

#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/preprocess.h"
#include "edgeinfer/status.h"
#include "edgeinfer/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_detection {
    float   x1, y1, x2, y2; /* corners, x2 >= x1, y2 >= y1 */
    float   score;
    int32_t class_id; /* 0-based index into the label list */
} ei_detection;

/* A growable array. Zero-initialise it; free it with ei_detections_free. */
typedef struct ei_detections {
    ei_detection * items;
    int32_t        count;
    int32_t        capacity;
} ei_detections;

EI_API EI_NODISCARD ei_status * ei_detections_push(ei_detections * list, const ei_detection * d);
EI_API EI_NODISCARD ei_status * ei_detections_reserve(ei_detections * list, int32_t capacity);
EI_API void                     ei_detections_free(ei_detections * list); /* NULL-safe; zeroes it */

/* Maps boxes from network pixels to image pixels; clip = 1 clamps them to the image. */
EI_API void ei_detections_to_image(const ei_frame_transform * xf, ei_detection * d, int32_t n, int clip);

/* nvinfer's [class-attrs-*] keys, with nvinfer's defaults (ei_class_attrs_default). */
typedef struct ei_class_attrs {
    float   pre_cluster_threshold;  /* 0.2: candidates below are dropped before NMS */
    float   post_cluster_threshold; /* 0.0: kept boxes below are dropped after NMS */
    float   nms_iou_threshold;      /* 0.3 */
    int32_t topk;                   /* -1: keep all; else at most topk of this class after NMS */
    float   min_w, min_h;           /* detected-min-w/h in image pixels; 0 = no limit */
    float   max_w, max_h;           /* detected-max-w/h; 0 = no limit */
} ei_class_attrs;
EI_API ei_class_attrs ei_class_attrs_default(void);

/* Greedy NMS. Sorts d by score (descending; ties keep the input order), suppresses every box whose
 * IoU with a kept box of the same class (any class when class_agnostic) exceeds iou_threshold,
 * compacts the kept boxes to the front and returns how many; topk > 0 stops after topk kept.
 * O(n log n + n*k) for k kept boxes, no allocation. */
EI_API int32_t ei_nms(ei_detection * d, int32_t n, float iou_threshold, int class_agnostic, int32_t topk);
EI_API float   ei_box_iou(const ei_detection * a, const ei_detection * b);

/* Per-class NMS and filtering as nvinfer's cluster-mode=2 does it: pre-cluster threshold,
 * NMS with each class's IoU threshold (or across classes when class_agnostic, with each box's own
 * class threshold), post-cluster threshold, size limits (applied in image pixels, so call it after
 * ei_detections_to_image), per-class topk, then the overall topk (<= 0: all). attrs has n_classes
 * entries; boxes of other classes are dropped. Returns the kept count (compacted in place). */
EI_API int32_t ei_cluster(ei_detection * d, int32_t n, const ei_class_attrs * attrs, int32_t n_classes,
                          int class_agnostic, int32_t topk);

/* ---- SSD priors (anchors) ---- */

#define EI_PRIOR_MAX_LEVELS 8
#define EI_PRIOR_MAX_SIZES  8

typedef enum ei_prior_style {
    EI_PRIOR_TORCHVISION = 0, /* torchvision DefaultBoxGenerator (SSD300-VGG16, SSDLite320) */
    EI_PRIOR_PYTORCH_SSD,     /* qfgaohao/pytorch-ssd and jetson-inference (SSD-MobileNet v1/v2) */
    EI_PRIOR_MIN_BOXES,       /* Ultra-Light-Fast face detector: square priors of given pixel sizes */
} ei_prior_style;

typedef struct ei_prior_level {
    int32_t fm_w, fm_h;                /* feature-map size (cells) */
    float   step_x, step_y;            /* input pixels per cell; 0 = input size / feature-map size */
    float   min_size;                  /* PYTORCH_SSD: pixels */
    float   max_size;                  /* PYTORCH_SSD: pixels; 0 = no sqrt(min*max) prior */
    float   scale;                     /* TORCHVISION: fraction of the input; 0 = from min_ratio/max_ratio */
    float   sizes[EI_PRIOR_MAX_SIZES]; /* MIN_BOXES: square prior sizes in pixels */
    int32_t n_sizes;
    float   aspect_ratios[EI_PRIOR_MAX_SIZES]; /* TORCHVISION / PYTORCH_SSD: each r adds r and 1/r */
    int32_t n_aspect_ratios;
} ei_prior_level;

typedef struct ei_prior_spec {
    ei_prior_style style;
    int32_t        image_w, image_h; /* network input size */
    int32_t        n_levels;
    ei_prior_level level[EI_PRIOR_MAX_LEVELS];
    float          min_ratio, max_ratio; /* TORCHVISION scales when level[].scale are 0 (0.2, 0.95 for SSDLite) */
    int            clip;                 /* clamp priors to [0, 1] */
    /* TORCHVISION with explicit level[].scale: the scale after the last level (s_{n}), which sizes
     * the last level's sqrt(s_k * s_{k+1}) prior (1.05 for SSD300); 0 = 1.0, as torchvision appends. */
    float last_scale;
} ei_prior_spec;

/* Generates the priors as n rows of normalised (cx, cy, w, h), in the order the network emits
 * them. The caller frees *out with free(). */
EI_API EI_NODISCARD ei_status * ei_priors_generate(const ei_prior_spec * spec, float ** out, int32_t * n);

/* ---- decoders ---- */

typedef enum ei_decoder_kind {
    EI_DECODER_SSD = 0,      /* raw box regressions + class scores, decoded against priors */
    EI_DECODER_BOXES_SCORES, /* boxes already decoded (corner form) + class scores */
    EI_DECODER_YOLOX,        /* [N, 5+C] rows per grid cell: tx ty tw th obj cls..., strides 8/16/32 */
    EI_DECODER_YOLOV5,       /* [N, 5+C] rows already decoded: cx cy w h (pixels) obj cls... */
    EI_DECODER_YOLOV8,       /* [4+C, N] (or [N, 4+C]) already decoded: cx cy w h (pixels) cls... */
    EI_DECODER_CUSTOM,       /* a parser plugin (parser.h) */
} ei_decoder_kind;

typedef enum ei_score_fn {
    EI_SCORE_NONE = 0, /* scores are probabilities already */
    EI_SCORE_SOFTMAX,  /* softmax over the classes of each box */
    EI_SCORE_SIGMOID,  /* sigmoid of each score */
} ei_score_fn;

typedef struct ei_decoder_params {
    uint32_t        size; /* sizeof(ei_decoder_params); set by ei_decoder_params_default */
    ei_decoder_kind kind;
    int32_t         num_classes;      /* classes in the score tensor, background included */
    int32_t         background_class; /* SSD / BOXES_SCORES: this class is never reported; -1 = none */
    ei_score_fn     score_fn;
    /* Output tensors by name; NULL picks them by shape (boxes: last dim 4). */
    const char * boxes_output;
    const char * scores_output;
    /* SSD: priors and variances (0.1 and 0.2 by default). */
    ei_prior_spec priors;
    float         center_variance, size_variance;
    /* BOXES_SCORES: 1 if coordinates are fractions of the input (multiply by its size). */
    int boxes_normalized;
    /* YOLOX: grid strides (8, 16, 32) and whether obj/cls still need a sigmoid (0: the graph did it). */
    int32_t strides[4];
    int32_t n_strides;
    int     yolo_sigmoid;
    /* YOLO decoders: 0 = one candidate per box, its best class (as the YOLOX/YOLOv5/v8 demos do);
     * 1 = one candidate per class whose score reaches that class's threshold (mAP evaluation style). */
    int yolo_multi_label;
} ei_decoder_params;

/* kind SSD, background 0, no score function, variances 0.1 / 0.2, boxes normalised, strides 8/16/32. */
EI_API ei_decoder_params ei_decoder_params_default(void);

typedef struct ei_decoder ei_decoder;

/* Validates params against nothing but themselves (priors generated here). The caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_decoder_create(const ei_decoder_params * params, ei_decoder ** out);
EI_API void                     ei_decoder_destroy(ei_decoder * dec); /* NULL-safe */

/* Decodes batch item `batch` of the network outputs into candidate boxes in network-input pixels
 * (net_w x net_h), keeping those whose score reaches the threshold of their class (attrs[c].
 * pre_cluster_threshold; classes >= n_classes are ignored; attrs NULL: 0.2 for every class). YOLO kinds
 * read one output (boxes_output if set, else the first of rank 2 or 3) and give each box's best class
 * unless yolo_multi_label. Appends to out; does not run NMS.
 * Output tensors whose shapes do not match the decoder (wrong prior count, wrong class count,
 * missing output) fail with a message naming the tensor, its shape and what was expected. */
EI_API EI_NODISCARD ei_status * ei_decoder_run(ei_decoder * dec, const ei_tensor * const * outputs,
                                               const char * const * output_names, int32_t n_outputs, int32_t batch,
                                               int32_t net_w, int32_t net_h, const ei_class_attrs * attrs,
                                               int32_t n_classes, ei_detections * out);

#ifdef __cplusplus
}
#endif
#endif
