/* |x| statistics of calibration tensors and the threshold searches (calib_internal.h).
 *
 * The entropy search is TensorRT's (GTC 2017, "8-bit inference with TensorRT"; the same as
 * pytorch-quantization's entropy calibrator): a histogram of |x| in 2048 bins, candidate thresholds
 * at every bin edge from 128 to 2048 bins, KL(P || Q) between the clipped reference P (outliers
 * folded into its last bin) and Q, the first i bins merged into 128 levels and expanded back over
 * the non-empty bins. As pytorch-quantization does, the zero bin's count is replaced by the next
 * bin's before the search (ReLU outputs are mostly exact zeros: that spike otherwise dominates
 * the reference distribution and drags the threshold down to a fraction of the useful range,
 * which took YOLOX-nano's int8 mAP to 0), and never-negative tensors, which the int8 kernels
 * quantise to uint8, are compared against 256 levels instead of 128; candidates still start at
 * bin 128. Not the MXNet / ONNX Runtime variant (a signed histogram of x with windows
 * symmetric about zero and smoothed distributions).
 *
 * KL for one candidate is computed in O(levels) rather than O(i) from prefix sums: with c' the
 * reference counts (N in total), q the expanded candidate counts (sum S = counts of the first i
 * bins) and G_k / nz_k the count / non-empty bins of level k,
 *   KL = (1/N) * [sum c' log c' - N log N + N log S - sum_k G_k log(G_k / nz_k) - out * log q_last]
 * where out is the outlier count added to the last bin and q_last the expanded count there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "quant/calib_internal.h"

int32_t ei_calib_bin(float ax, float range, int32_t n_bins) {
    if (!(range > 0.0f)) return 0;
    double t = (double)ax * (double)n_bins / (double)range;
    if (!(t < (double)n_bins)) return n_bins - 1;
    return t < 0.0 ? 0 : (int32_t)t;
}

void ei_absstat_observe_range(ei_absstat * s, const float * x, size_t n) {
    float amax = s->amax;
    bool  neg = s->negative;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax) amax = a; /* false for NaN */
        neg |= x[i] < 0.0f;
    }
    s->amax = amax;
    s->negative = neg;
    s->seen = true;
}

ei_status * ei_absstat_observe_hist(ei_absstat * s, const float * x, size_t n) {
    if (!s->hist) {
        s->hist = calloc(EI_CALIB_BINS, sizeof *s->hist);
        if (!s->hist) return ei_status_oom();
    }
    uint64_t * h = s->hist;
    float      range = s->range;
    if (!(range > 0.0f)) {
        for (size_t i = 0; i < n; i++) h[0] += !isnan(x[i]);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (!isnan(a)) h[ei_calib_bin(a, range, EI_CALIB_BINS)]++;
    }
    return NULL;
}

void ei_absstat_free(ei_absstat * s) {
    if (!s) return;
    free(s->hist);
    s->hist = NULL;
}

static double xlogx(double v) { return v > 0.0 ? v * log(v) : 0.0; }

int32_t ei_calib_entropy_bins(const uint64_t * hist_in, int32_t n_bins, int32_t levels) {
    if (n_bins <= EI_CALIB_LEVELS || levels < 1) return n_bins;
    /* Prefix sums: counts, non-empty bins, c log c. */
    double *   cnt = malloc((size_t)(n_bins + 1) * sizeof *cnt);
    double *   nz = malloc((size_t)(n_bins + 1) * sizeof *nz);
    double *   clc = malloc((size_t)(n_bins + 1) * sizeof *clc);
    int32_t    best = n_bins;
    uint64_t * hist = malloc((size_t)n_bins * sizeof *hist);
    if (!cnt || !nz || !clc || !hist) goto done; /* no memory: no clipping (the minmax threshold) */
    memcpy(hist, hist_in, (size_t)n_bins * sizeof *hist);
    hist[0] = hist[1];
    cnt[0] = nz[0] = clc[0] = 0.0;
    for (int32_t j = 0; j < n_bins; j++) {
        double c = (double)hist[j];
        cnt[j + 1] = cnt[j] + c;
        nz[j + 1] = nz[j] + (hist[j] != 0);
        clc[j + 1] = clc[j] + xlogx(c);
    }
    double total = cnt[n_bins];
    if (total <= 0.0) goto done;
    double best_kl = INFINITY;
    for (int32_t i = EI_CALIB_LEVELS; i <= n_bins; i++) {
        double in = cnt[i], out = total - in, last = (double)hist[i - 1];
        if (in <= 0.0 || (last == 0.0 && out > 0.0)) continue; /* P > 0 where Q = 0: infinite */
        double a = clc[i - 1] + xlogx(last + out);
        double b = 0.0, q_last = 0.0;
        for (int32_t k = 0; k < levels; k++) {
            int32_t j0 = (int32_t)(((int64_t)k * i + levels - 1) / levels);
            int32_t j1 = (int32_t)(((int64_t)(k + 1) * i + levels - 1) / levels);
            double  g = cnt[j1] - cnt[j0], z = nz[j1] - nz[j0];
            if (g > 0.0) b += g * log(g / z);
            if (k == levels - 1) q_last = z > 0.0 ? g / z : 0.0;
        }
        if (out > 0.0) b += out * log(q_last);
        double kl = (a - xlogx(total) + total * log(in) - b) / total;
        if (kl < best_kl) {
            best_kl = kl;
            best = i;
        }
    }
done:
    free(hist);
    free(cnt);
    free(nz);
    free(clc);
    return best;
}

int32_t ei_calib_percentile_bins(const uint64_t * hist, int32_t n_bins, double pct) {
    uint64_t total = 0;
    for (int32_t j = 0; j < n_bins; j++) total += hist[j];
    if (!total) return n_bins;
    uint64_t cum = 0;
    for (int32_t j = 0; j < n_bins; j++) {
        cum += hist[j];
        if ((double)cum / (double)total >= pct / 100.0) return j + 1;
    }
    return n_bins;
}

float ei_absstat_threshold(const ei_absstat * s, ei_calib_method method) {
    if (!(s->amax > 0.0f)) return 1.0f;
    int32_t bins = EI_CALIB_BINS;
    switch (method) {
    case EI_CALIB_ENTROPY:
        if (s->hist) bins = ei_calib_entropy_bins(s->hist, EI_CALIB_BINS, s->negative ? 128 : 256);
        break;
    case EI_CALIB_PERCENTILE:
        if (s->hist) bins = ei_calib_percentile_bins(s->hist, EI_CALIB_BINS, EI_CALIB_PERCENTILE_CUT);
        break;
    case EI_CALIB_MINMAX:
    default: return s->amax;
    }
    if (bins >= EI_CALIB_BINS) return s->range;
    return (float)((double)bins * (double)s->range / (double)EI_CALIB_BINS);
}
