/* YOLO decoding, one row per candidate box:
 *   YOLOX   [tx ty tw th obj cls...] per grid cell, grids of net/stride cells for each stride (rows
 *           outer), cx = (tx + gx) s, cy = (ty + gy) s, w = exp(tw) s, h = exp(th) s; score obj * cls.
 *   YOLOv5  [cx cy w h obj cls...] already decoded in input pixels; score obj * cls.
 *   YOLOv8  [cx cy w h cls...] already decoded, no objectness; score cls.
 * yolo_sigmoid applies a sigmoid to obj and cls first (raw exports). By default each row gives its
 * best class (the one with the highest score among the reported classes), as the upstream demos
 * do; yolo_multi_label gives every class that reaches its threshold. */
#include <math.h>

#include "core/status.h"
#include "vision/decode_internal.h"

static float ei_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static ei_status * ei_yolo_row(const ei_decode_job * job, const ei_decode_view * v, int64_t i, int has_obj,
                               const float box_in[4], int box_is_center) {
    const float * row = v->data + i * v->row_stride;
    const int64_t cs = v->col_stride;
    const int     sig = job->p->yolo_sigmoid;
    float         obj = 1.0f;
    if (has_obj) {
        obj = row[4 * cs];
        if (sig) obj = ei_sigmoid(obj);
        /* Class scores are at most 1, so obj below every threshold rejects the row. */
        if (!(obj >= job->min_thr)) return NULL;
    }
    const float * cls = row + (has_obj ? 5 : 4) * cs;
    float         box[4];
    if (box_is_center) {
        box[0] = box_in[0] - 0.5f * box_in[2];
        box[1] = box_in[1] - 0.5f * box_in[3];
        box[2] = box_in[0] + 0.5f * box_in[2];
        box[3] = box_in[1] + 0.5f * box_in[3];
    } else {
        for (int k = 0; k < 4; k++) box[k] = box_in[k];
    }
    if (job->p->yolo_multi_label) {
        for (int32_t c = 0; c < job->n_classes; c++) {
            float s = cls[c * cs];
            if (sig) s = ei_sigmoid(s);
            s *= obj;
            if (!(s >= job->thr[c])) continue;
            ei_detection d = {box[0], box[1], box[2], box[3], s, c};
            EI_TRY(ei_detections_push(job->out, &d));
        }
        return NULL;
    }
    int32_t best = -1;
    float   best_raw = -INFINITY;
    for (int32_t c = 0; c < job->n_classes; c++) {
        float s = cls[c * cs];
        if (isfinite(job->thr[c]) && s > best_raw) best_raw = s, best = c;
    }
    if (best < 0) return NULL;
    float s = (sig ? ei_sigmoid(best_raw) : best_raw) * obj;
    if (!(s >= job->thr[best])) return NULL;
    ei_detection d = {box[0], box[1], box[2], box[3], s, best};
    return ei_detections_push(job->out, &d);
}

ei_status * ei_decode_yolo(const ei_decode_job * job, const ei_decode_view * v) {
    const ei_decoder_params * p = job->p;
    const int64_t             cs = v->col_stride;
    if (p->kind == EI_DECODER_YOLOX) {
        int64_t i = 0;
        for (int32_t k = 0; k < p->n_strides; k++) {
            int32_t     s = p->strides[k];
            int32_t     gw = (int32_t)job->net_w / s, gh = (int32_t)job->net_h / s;
            const float fs = (float)s;
            for (int32_t gy = 0; gy < gh; gy++) {
                for (int32_t gx = 0; gx < gw; gx++, i++) {
                    const float * row = v->data + i * v->row_stride;
                    float         obj = p->yolo_sigmoid ? ei_sigmoid(row[4 * cs]) : row[4 * cs];
                    if (!(obj >= job->min_thr)) continue;
                    float box[4] = {(row[0] + (float)gx) * fs, (row[cs] + (float)gy) * fs, expf(row[2 * cs]) * fs,
                                    expf(row[3 * cs]) * fs};
                    EI_TRY(ei_yolo_row(job, v, i, 1, box, 1));
                }
            }
        }
        return NULL;
    }
    const int has_obj = p->kind == EI_DECODER_YOLOV5;
    for (int64_t i = 0; i < v->rows; i++) {
        const float * row = v->data + i * v->row_stride;
        float         box[4] = {row[0], row[cs], row[2 * cs], row[3 * cs]};
        EI_TRY(ei_yolo_row(job, v, i, has_obj, box, 1));
    }
    return NULL;
}
