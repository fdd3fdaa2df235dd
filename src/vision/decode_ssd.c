/* SSD decoding: box regressions against priors, and the class-score rows shared with BOXES_SCORES.
 *   cx = dx * center_variance * prior_w + prior_cx     w = exp(dw * size_variance) * prior_w
 *   cy = dy * center_variance * prior_h + prior_cy     h = exp(dh * size_variance) * prior_h
 * then corners, scaled from fractions of the input to its pixels (no clipping, as the sources do).
 * torchvision's box coder weights (10, 10, 5, 5) are these variances inverted (0.1, 0.2).
 *
 * Score rows go through ei_decode_scores_row (score_scan.c), which rejects rows that cannot reach
 * any threshold before computing a score (most rows: background). */
#include <math.h>

#include "core/status.h"
#include "vision/decode_internal.h"

/* Emits one candidate per class of the row that reaches its threshold. Classes are tested eight at
 * a time without branches (vectorised compares) and only blocks with a hit are walked one by one:
 * a row has one or two classes above threshold among up to thousands. */
static ei_status * ei_emit_classes(const ei_decode_job * job, const float * prob, const float box[4]) {
    const int32_t n = job->n_classes;
    const float * thr = job->thr;
    int32_t       c0 = 0;
    for (; c0 < n; c0 += 8) {
        int32_t end = c0 + 8 <= n ? c0 + 8 : n;
        if (end - c0 == 8) {
            int any = 0;
            for (int32_t j = 0; j < 8; j++) any |= prob[c0 + j] >= thr[c0 + j];
            if (!any) continue;
        }
        for (int32_t c = c0; c < end; c++) {
            if (!(prob[c] >= thr[c])) continue;
            ei_detection d = {box[0], box[1], box[2], box[3], prob[c], c};
            EI_TRY(ei_detections_push(job->out, &d));
        }
    }
    return NULL;
}

/* Score rows go through a small stack buffer; class counts beyond it were rejected by decoder.c. */
ei_status * ei_decode_ssd(const ei_decode_job * job, const ei_decode_view * boxes, const ei_decode_view * scores) {
    float       prob[EI_DECODER_MAX_CLASSES];
    const float cv = job->p->center_variance, sv = job->p->size_variance;
    for (int64_t i = 0; i < scores->rows; i++) {
        const float * raw = scores->data + i * scores->row_stride;
        if (!ei_decode_scores_row(job->p->score_fn, raw, job->n_classes, job->thr, job->lim, prob)) continue;
        const float * r = boxes->data + i * boxes->row_stride;
        const float * pr = job->priors + 4 * i;
        float         cx = r[0] * cv * pr[2] + pr[0];
        float         cy = r[1] * cv * pr[3] + pr[1];
        float         w = expf(r[2] * sv) * pr[2];
        float         h = expf(r[3] * sv) * pr[3];
        float box[4] = {(cx - 0.5f * w) * job->net_w, (cy - 0.5f * h) * job->net_h, (cx + 0.5f * w) * job->net_w,
                        (cy + 0.5f * h) * job->net_h};
        EI_TRY(ei_emit_classes(job, prob, box));
    }
    return NULL;
}

ei_status * ei_decode_boxes_scores(const ei_decode_job * job, const ei_decode_view * boxes,
                                   const ei_decode_view * scores) {
    float       prob[EI_DECODER_MAX_CLASSES];
    const float sx = job->p->boxes_normalized ? job->net_w : 1.0f;
    const float sy = job->p->boxes_normalized ? job->net_h : 1.0f;
    for (int64_t i = 0; i < scores->rows; i++) {
        const float * raw = scores->data + i * scores->row_stride;
        if (!ei_decode_scores_row(job->p->score_fn, raw, job->n_classes, job->thr, job->lim, prob)) continue;
        const float * r = boxes->data + i * boxes->row_stride;
        float box[4] = {fminf(r[0], r[2]) * sx, fminf(r[1], r[3]) * sy, fmaxf(r[0], r[2]) * sx, fmaxf(r[1], r[3]) * sy};
        EI_TRY(ei_emit_classes(job, prob, box));
    }
    return NULL;
}
