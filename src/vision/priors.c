/* SSD priors (anchors) in the three styles our models were trained with. Each reproduces its
 * source's order and arithmetic, since a prior out of place decodes every box after it wrongly:
 *   TORCHVISION  torchvision DefaultBoxGenerator: per cell (rows outer) the pairs
 *                (s_k, s_k), (s'_k, s'_k) with s'_k = sqrt(s_k s_{k+1}), then (s_k sqrt(r), s_k / sqrt(r))
 *                and its transpose for each ratio r; clip clamps only w and h.
 *   PYTORCH_SSD  pytorch-ssd generate_ssd_priors: per cell min, sqrt(min max), then per ratio
 *                (w sqrt(r), h / sqrt(r)) and (w / sqrt(r), h sqrt(r)) of the min box; clip clamps all four.
 *   MIN_BOXES    Ultra-Light-Fast face detector: per cell one square prior per size; clamps all four.
 * Centres are (i + 0.5) / f with f = image / step (or the feature-map size when step is 0). */
#include <math.h>
#include <stdlib.h>

#include "core/status.h"
#include "edgeinfer/detect.h"

static float ei_clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

static int32_t ei_priors_per_cell(const ei_prior_spec * spec, const ei_prior_level * l) {
    switch (spec->style) {
    case EI_PRIOR_TORCHVISION: return 2 + 2 * l->n_aspect_ratios;
    case EI_PRIOR_PYTORCH_SSD: return (l->max_size > 0.0f ? 2 : 1) + 2 * l->n_aspect_ratios;
    case EI_PRIOR_MIN_BOXES: return l->n_sizes;
    }
    return 0;
}

static ei_status * ei_priors_check(const ei_prior_spec * spec) {
    if (spec->style != EI_PRIOR_TORCHVISION && spec->style != EI_PRIOR_PYTORCH_SSD && spec->style != EI_PRIOR_MIN_BOXES)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: unknown style %d", (int)spec->style);
    if (spec->image_w <= 0 || spec->image_h <= 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: image size %dx%d must be positive", spec->image_w,
                         spec->image_h);
    if (spec->n_levels <= 0 || spec->n_levels > EI_PRIOR_MAX_LEVELS)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: %d levels; expected 1 to %d", spec->n_levels,
                         EI_PRIOR_MAX_LEVELS);
    for (int32_t k = 0; k < spec->n_levels; k++) {
        const ei_prior_level * l = &spec->level[k];
        if (l->fm_w <= 0 || l->fm_h <= 0 || l->fm_w > 100000 || l->fm_h > 100000)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: level %d feature map %dx%d must be 1..100000 cells", k,
                             l->fm_w, l->fm_h);
        if (l->step_x < 0.0f || l->step_y < 0.0f)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: level %d has a negative step", k);
        if (l->n_sizes < 0 || l->n_sizes > EI_PRIOR_MAX_SIZES || l->n_aspect_ratios < 0 ||
            l->n_aspect_ratios > EI_PRIOR_MAX_SIZES)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "priors: level %d: %d sizes and %d aspect ratios; at most %d each", k, l->n_sizes,
                             l->n_aspect_ratios, EI_PRIOR_MAX_SIZES);
        for (int32_t r = 0; r < l->n_aspect_ratios; r++)
            if (!(l->aspect_ratios[r] > 0.0f))
                return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: level %d aspect ratio %g must be positive", k,
                                 (double)l->aspect_ratios[r]);
        if (spec->style == EI_PRIOR_MIN_BOXES && l->n_sizes == 0)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: level %d has no min_boxes sizes", k);
        if (spec->style == EI_PRIOR_PYTORCH_SSD && !(l->min_size > 0.0f))
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: level %d min_size %g must be positive", k,
                             (double)l->min_size);
    }
    return NULL;
}

/* torchvision scales: explicit per level, else min_ratio + (max_ratio - min_ratio) k / (n - 1)
 * (or [min, max] for one level), with 1.0 appended after the last. */
static void ei_torchvision_scales(const ei_prior_spec * spec, double * s) {
    int32_t n = spec->n_levels;
    int     explicit_scales = 1;
    for (int32_t k = 0; k < n; k++) explicit_scales &= spec->level[k].scale > 0.0f;
    if (explicit_scales) {
        for (int32_t k = 0; k < n; k++) s[k] = spec->level[k].scale;
        s[n] = spec->last_scale > 0.0f ? spec->last_scale : 1.0;
    } else if (n > 1) {
        double range = (double)spec->max_ratio - (double)spec->min_ratio;
        for (int32_t k = 0; k < n; k++) s[k] = (double)spec->min_ratio + range * k / (n - 1.0);
        s[n] = 1.0;
    } else {
        s[0] = spec->min_ratio;
        s[1] = spec->max_ratio;
    }
}

ei_status * ei_priors_generate(const ei_prior_spec * spec, float ** out, int32_t * n) {
    if (!spec || !out || !n) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_priors_generate: NULL argument");
    *out = NULL;
    *n = 0;
    EI_TRY(ei_priors_check(spec));
    int64_t total = 0;
    for (int32_t k = 0; k < spec->n_levels; k++) {
        const ei_prior_level * l = &spec->level[k];
        total += (int64_t)l->fm_w * l->fm_h * ei_priors_per_cell(spec, l);
    }
    if (total <= 0 || total > INT32_MAX / 4)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "priors: the spec gives %lld priors; expected 1 to %d",
                         (long long)total, INT32_MAX / 4);
    float * p = malloc((size_t)total * 4 * sizeof(float));
    if (!p) return ei_status_oom();

    double scales[EI_PRIOR_MAX_LEVELS + 1] = {0};
    if (spec->style == EI_PRIOR_TORCHVISION) ei_torchvision_scales(spec, scales);
    const float iw = (float)spec->image_w, ih = (float)spec->image_h;
    int64_t     o = 0;
    for (int32_t k = 0; k < spec->n_levels; k++) {
        const ei_prior_level * l = &spec->level[k];
        /* Per-cell (w, h) pairs, computed once per level as the sources do. */
        float   wh[2 * (2 + 2 * EI_PRIOR_MAX_SIZES)];
        int32_t nwh = 0;
        if (spec->style == EI_PRIOR_TORCHVISION) {
            float sk = (float)scales[k], sp = (float)sqrt(scales[k] * scales[k + 1]);
            wh[nwh++] = sk, wh[nwh++] = sk, wh[nwh++] = sp, wh[nwh++] = sp;
            for (int32_t r = 0; r < l->n_aspect_ratios; r++) {
                double sq = sqrt((double)l->aspect_ratios[r]);
                float  w = (float)(scales[k] * sq), h = (float)(scales[k] / sq);
                wh[nwh++] = w, wh[nwh++] = h, wh[nwh++] = h, wh[nwh++] = w;
            }
            if (spec->clip)
                for (int32_t i = 0; i < nwh; i++) wh[i] = ei_clamp01(wh[i]);
        } else if (spec->style == EI_PRIOR_PYTORCH_SSD) {
            float w = l->min_size / iw, h = l->min_size / ih;
            wh[nwh++] = w, wh[nwh++] = h;
            if (l->max_size > 0.0f) {
                float s = (float)sqrt((double)l->max_size * l->min_size);
                wh[nwh++] = s / iw, wh[nwh++] = s / ih;
            }
            for (int32_t r = 0; r < l->n_aspect_ratios; r++) {
                float sq = (float)sqrt((double)l->aspect_ratios[r]);
                wh[nwh++] = w * sq, wh[nwh++] = h / sq;
                wh[nwh++] = w / sq, wh[nwh++] = h * sq;
            }
        } else {
            for (int32_t s = 0; s < l->n_sizes; s++) wh[nwh++] = l->sizes[s] / iw, wh[nwh++] = l->sizes[s] / ih;
        }
        float fx = l->step_x > 0.0f ? iw / l->step_x : (float)l->fm_w;
        float fy = l->step_y > 0.0f ? ih / l->step_y : (float)l->fm_h;
        int   clamp_all = spec->clip && spec->style != EI_PRIOR_TORCHVISION;
        for (int32_t j = 0; j < l->fm_h; j++) {
            float cy = ((float)j + 0.5f) / fy;
            for (int32_t i = 0; i < l->fm_w; i++) {
                float cx = ((float)i + 0.5f) / fx;
                for (int32_t q = 0; q < nwh; q += 2) {
                    float v[4] = {cx, cy, wh[q], wh[q + 1]};
                    for (int32_t c = 0; c < 4; c++) p[o++] = clamp_all ? ei_clamp01(v[c]) : v[c];
                }
            }
        }
    }
    *out = p;
    *n = (int32_t)total;
    return NULL;
}
