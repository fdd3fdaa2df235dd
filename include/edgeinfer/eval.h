/* Accuracy evaluation: COCO box metrics computed exactly as pycocotools' COCOeval (iouType "bbox")
 * does, and mIoU of segmentation label maps. docs/eval.md describes the protocol step by step. */
#ifndef EDGEINFER_EVAL_H
#define EDGEINFER_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- COCO ground truth and results ------------------------------------------------------------ */

typedef struct ei_coco_image {
    int64_t id;
    char *  file_name; /* "" when the file has none */
    int32_t width, height;
} ei_coco_image;

typedef struct ei_coco_category {
    int64_t id;
    char *  name; /* "" when the file has none */
} ei_coco_category;

/* One box: a ground-truth annotation or a detection. bbox is [x, y, width, height] in pixels. */
typedef struct ei_coco_box {
    int64_t id; /* annotation id; detections are numbered 1, 2, ... in file order (as loadRes does) */
    int64_t image_id;
    int64_t category_id;
    double  bbox[4];
    double  area;    /* ground truth: the file's `area` field (not the box's); detections: w*h */
    double  score;   /* detections only */
    bool    iscrowd; /* ground truth only */
} ei_coco_box;

typedef struct ei_coco_gt {
    ei_coco_image *    images;
    int32_t            n_images;
    ei_coco_box *      anns;
    int32_t            n_anns;
    ei_coco_category * cats;
    int32_t            n_cats;
} ei_coco_gt;

/* Detections in COCO results format, in file (or insertion) order. */
typedef struct ei_coco_dets {
    ei_coco_box * items;
    int32_t       count, capacity;
    int32_t       n_unknown_category; /* results whose category is not in the gt: kept, never evaluated */
    int64_t       first_unknown_category;
} ei_coco_dets;

/* Reads a COCO instances file (`images`, `annotations` with id/image_id/category_id/bbox/area and
 * optional iscrowd, `categories`). Errors name the file, line and column. Caller frees *out. */
EI_API EI_NODISCARD ei_status * ei_coco_gt_load(const char * path, ei_coco_gt ** out);
EI_API EI_NODISCARD ei_status * ei_coco_gt_parse(const char * text, size_t n, const char * name, ei_coco_gt ** out);
EI_API void                     ei_coco_gt_destroy(ei_coco_gt * gt); /* NULL-safe */
/* The image with this id, or NULL. */
EI_API const ei_coco_image * ei_coco_gt_find_image(const ei_coco_gt * gt, int64_t image_id);

/* Reads a results file: a JSON list of {image_id, category_id, bbox, score} as pycocotools'
 * loadRes reads it (id = position + 1, area = w*h, iscrowd 0). An image_id that is not in gt is an
 * error (pycocotools asserts the same); a category_id that is not among gt's categories is counted
 * in n_unknown_category and kept, but never evaluated (as in pycocotools); when every detection has an
 * unknown category the file is refused (a wrong category mapping). Caller frees *out. */
EI_API EI_NODISCARD ei_status * ei_coco_dets_load(const char * path, const ei_coco_gt * gt, ei_coco_dets ** out);
EI_API EI_NODISCARD ei_status * ei_coco_dets_parse(const char * text, size_t n, const char * name,
                                                   const ei_coco_gt * gt, ei_coco_dets ** out);
/* An empty list to fill with ei_coco_dets_add. */
EI_API EI_NODISCARD ei_status * ei_coco_dets_create(ei_coco_dets ** out);
/* Appends a detection; its id is count + 1 and its area w*h. Scores must be finite. */
EI_API EI_NODISCARD ei_status * ei_coco_dets_add(ei_coco_dets * d, int64_t image_id, int64_t category_id,
                                                 const double bbox[4], double score);
EI_API void                     ei_coco_dets_destroy(ei_coco_dets * d); /* NULL-safe */
/* Writes d as a COCO results file (temporary file + rename). */
EI_API EI_NODISCARD ei_status * ei_coco_dets_save(const ei_coco_dets * d, const char * path);

/* ---- COCO box evaluation ---------------------------------------------------------------------- */

#define EI_COCO_N_STATS 12

/* pycocotools' summarize() numbers, in its order: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100,
 * ARs, ARm, ARl; -1 where undefined (no ground truth in the category/area range). */
typedef struct ei_coco_metrics {
    double  stats[EI_COCO_N_STATS];
    int32_t n_images;     /* images evaluated (all of gt) */
    int32_t n_categories; /* categories evaluated (all of gt) */
    int64_t n_gt;         /* annotations of those images and categories */
    int64_t n_dets;       /* detections of those images and categories */
} ei_coco_metrics;

/* COCOeval(gt, dets, "bbox"): evaluate(), accumulate(), summarize() with the default parameters
 * (IoU 0.50:0.05:0.95, 101 recall points, areas all/small/medium/large at 32^2 and 96^2, maxDets
 * 1/10/100, every image and category of gt). */
EI_API EI_NODISCARD ei_status * ei_coco_evaluate(const ei_coco_gt * gt, const ei_coco_dets * dets,
                                                 ei_coco_metrics * out);
/* "AP", "AP50", ... for stat i (NULL outside 0..11). */
EI_API const char * ei_coco_stat_name(int32_t i);
/* Line i of pycocotools' summary, e.g.
 * " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.306" (no newline). */
EI_API void ei_coco_format_stat(const ei_coco_metrics * m, int32_t i, char * buf, size_t n);

/* ---- Segmentation: confusion matrix and IoU --------------------------------------------------- */

#define EI_SEG_IGNORE 255 /* ground-truth label excluded from every count */

typedef struct ei_seg_confusion {
    int32_t   n_classes;
    int64_t * counts;     /* n_classes x n_classes, [gt][pred] */
    int64_t * unassigned; /* n_classes: gt pixels of the class whose prediction is no class (>= n_classes) */
    int64_t   n_ignored;  /* gt pixels labelled EI_SEG_IGNORE */
    int64_t   n_pixels;   /* counted pixels (not ignored) */
} ei_seg_confusion;

EI_API EI_NODISCARD ei_status * ei_seg_confusion_create(int32_t n_classes, ei_seg_confusion ** out);
EI_API void                     ei_seg_confusion_destroy(ei_seg_confusion * c); /* NULL-safe */
/* Adds one image: gt and pred are width x height class ids with their row strides in bytes. gt
 * values must be < n_classes or EI_SEG_IGNORE (else an error naming the value and where it is); a
 * pred value >= n_classes counts as "no class" (a miss for the gt class). */
EI_API EI_NODISCARD ei_status * ei_seg_confusion_add(ei_seg_confusion * c, const uint8_t * gt, int32_t gt_stride,
                                                     const uint8_t * pred, int32_t pred_stride, int32_t width,
                                                     int32_t height);
/* Per-class IoU = TP / (TP + FP + FN) into iou[0..n_classes) (-1 where the class is neither in gt
 * nor predicted: union 0), and the mean over classes with union > 0 (-1 when none). */
EI_API void ei_seg_confusion_iou(const ei_seg_confusion * c, double * iou, double * miou);

/* Reads a label PNG: 8-bit grey or palette (the palette index is the class, as in PASCAL VOC's
 * SegmentationClass files), one byte per pixel, rows packed (stride = width). Other PNG types are
 * refused. Caller frees *labels with free(). */
EI_API EI_NODISCARD ei_status * ei_label_png_load(const char * path, uint8_t ** labels, int32_t * width,
                                                  int32_t * height);

#ifdef __cplusplus
}
#endif
#endif
