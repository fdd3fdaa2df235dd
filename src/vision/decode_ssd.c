/* SSD decoding: box regressions against priors, and the class-score rows shared with BOXES_SCORES.
 *   cx = dx * center_variance * prior_w + prior_cx     w = exp(dw * size_variance) * prior_w
 *   cy = dy * center_variance * prior_h + prior_cy     h = exp(dh * size_variance) * prior_h
 * then corners, scaled from fractions of the input to its pixels (no clipping, as the sources do).
 * torchvision's box coder weights (10, 10, 5, 5) are these variances inverted (0.1, 0.2).
 *
 * Early rejection keeps the per-frame cost near a plain scan of the scores: with softmax,
 * p_c = exp(x_c - max) / sum and sum >= 1, so p_c >= t needs x_c >= max + ln t; with sigmoid,
 * x_c >= logit(t). Rows where no class passes that bound (most rows: background) are skipped
 * without one exp(); rows that pass get the exact score and are checked against t itself. */
#include <math.h>

#include "core/status.h"
#include "vision/decode_internal.h"

int ei_decode_scores_row(ei_score_fn fn, const float * raw, int32_t n, const float * thr, const float * lim,
                         float * dst) {
    if (fn == EI_SCORE_SOFTMAX) {
        /* Eight independent running maxima: the compiler vectorises per-lane selects, while a
         * single float max reduction would need -ffast-math to be reassociated. */
        float   m8[8];
        int32_t c = 0;
        for (int32_t j = 0; j < 8; j++) m8[j] = raw[0];
        for (; c + 8 <= n; c += 8)
            for (int32_t j = 0; j < 8; j++) m8[j] = raw[c + j] > m8[j] ? raw[c + j] : m8[j];
        float m = m8[0];
        for (int32_t j = 1; j < 8; j++) m = m8[j] > m ? m8[j] : m;
        for (; c < n; c++) m = raw[c] > m ? raw[c] : m;
        int hit = 0;
        for (c = 0; c < n; c++) hit |= raw[c] - m >= lim[c];
        if (!hit) return 0;
        float sum = 0.0f;
        for (c = 0; c < n; c++) sum += dst[c] = expf(raw[c] - m);
        float inv = 1.0f / sum;
        for (c = 0; c < n; c++) dst[c] *= inv;
        return 1;
    }
    if (fn == EI_SCORE_SIGMOID) {
        int hit = 0;
        for (int32_t c = 0; c < n; c++) hit |= raw[c] >= lim[c];
        if (!hit) return 0;
        for (int32_t c = 0; c < n; c++) dst[c] = 1.0f / (1.0f + expf(-raw[c]));
        return 1;
    }
    int hit = 0;
    for (int32_t c = 0; c < n; c++) hit |= raw[c] >= thr[c];
    if (!hit) return 0;
    for (int32_t c = 0; c < n; c++) dst[c] = raw[c];
    return 1;
}

/* Emits one candidate per class of the row that reaches its threshold. */
static ei_status * ei_emit_classes(const ei_decode_job * job, const float * prob, const float box[4]) {
    for (int32_t c = 0; c < job->n_classes; c++) {
        if (!(prob[c] >= job->thr[c])) continue;
        ei_detection d = {box[0], box[1], box[2], box[3], prob[c], c};
        EI_TRY(ei_detections_push(job->out, &d));
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
