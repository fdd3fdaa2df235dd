/* Shared between decoder.c (dispatch, output lookup) and the decode_*.c files (one per format). */
#ifndef EI_VISION_DECODE_INTERNAL_H
#define EI_VISION_DECODE_INTERNAL_H

#include "edgeinfer/detect.h"

/* Class-score rows are staged in a stack buffer of this many floats; more classes are refused. */
#define EI_DECODER_MAX_CLASSES 4096

/* One output viewed as rows x cols of floats for one batch item; a transposed view ([cols, rows]
 * in memory, as YOLOv8's [4+C, N]) has col_stride = rows and row_stride = 1. */
typedef struct ei_decode_view {
    const float * data;
    int64_t       rows, cols;
    int64_t       row_stride, col_stride;
    const char *  name; /* for messages */
    char          shape[96];
} ei_decode_view;

/* What every decoder gets for one run. thr[c] is the score class c must reach (INFINITY for
 * classes that are never reported); lim[c] is the matching bound on the raw score that lets a
 * decoder reject a row before computing any score function (see decode_ssd.c). */
typedef struct ei_decode_job {
    const ei_decoder_params * p;
    const float *             priors; /* SSD only: n_priors rows of (cx, cy, w, h) normalised */
    int32_t                   n_priors;
    const float *             thr;
    const float *             lim;
    float                     min_thr;   /* the lowest finite thr[c] */
    int32_t                   n_classes; /* columns of class scores */
    float                     net_w, net_h;
    ei_detections *           out;
} ei_decode_job;

ei_status * ei_decode_ssd(const ei_decode_job * job, const ei_decode_view * boxes, const ei_decode_view * scores);
ei_status * ei_decode_boxes_scores(const ei_decode_job * job, const ei_decode_view * boxes,
                                   const ei_decode_view * scores);
ei_status * ei_decode_yolo(const ei_decode_job * job, const ei_decode_view * rows);

/* Applies the score function to one row of n raw scores into dst; returns 0 without touching dst
 * when no class can reach its threshold (the early rejection), else 1. */
int ei_decode_scores_row(ei_score_fn fn, const float * raw, int32_t n, const float * thr, const float * lim,
                         float * dst);

/* Tests only: nonzero makes ei_decode_scores_row use its scalar scan even where AVX2 is there, so
 * both paths are checked on one machine. Process-wide; not for concurrent use. */
void ei_score_scan_force_scalar(int on);

#endif
