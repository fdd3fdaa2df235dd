/* INT8 calibration internals (src/quant): per-tensor |x| statistics and the three ways of turning
 * them into a clipping threshold (docs/precision.md, "INT8 calibration"). Exposed for the tests,
 * which check the thresholds against a numpy oracle. */
#ifndef EI_QUANT_CALIB_INTERNAL_H
#define EI_QUANT_CALIB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/calib.h"
#include "edgeinfer/session.h"

/* Bins of the |x| histogram, as TensorRT's entropy calibrator. */
#define EI_CALIB_BINS 2048
/* Quantised levels of the KL search (int8 magnitude range 0..127) and its first candidate bin. */
#define EI_CALIB_LEVELS 128
/* The percentile method's cut. */
#define EI_CALIB_PERCENTILE_CUT 99.99

/* Statistics of one float tensor over all calibration images. */
typedef struct ei_absstat {
    float      amax;     /* max |x| (NaN never counted) */
    bool       negative; /* a value < 0 was seen */
    bool       seen;     /* observed at least once */
    uint64_t * hist;     /* EI_CALIB_BINS counts of |x| over [0, range], or NULL (first pass) */
    float      range;    /* the histogram's upper end (the amax of the first pass) */
} ei_absstat;

/* Pass 1: max |x| and sign of n floats. NaNs are ignored. */
void ei_absstat_observe_range(ei_absstat * s, const float * x, size_t n);
/* Pass 2: adds n floats to the histogram (allocated on first use; values above range, which the
 * first pass makes impossible, land in the last bin). bin = min(floor(|x| * BINS / range), BINS-1)
 * computed in double; with range 0 every value lands in bin 0. */
ei_status * ei_absstat_observe_hist(ei_absstat * s, const float * x, size_t n);
void        ei_absstat_free(ei_absstat * s);

/* Bin of |x| for a histogram of n_bins over [0, range] (the rule above). */
int32_t ei_calib_bin(float ax, float range, int32_t n_bins);

/* Entropy threshold (TensorRT's IInt8EntropyCalibrator2 search): for every i in [levels, n_bins],
 * P = hist[0..i) with the counts of hist[i..) added to P[i-1]; Q = hist[0..i) merged into `levels`
 * groups (bin j goes to group floor(j * levels / i)), each group's count spread evenly over its
 * non-empty bins; KL(P || Q) on the normalised P and Q (infinite where P > 0 and Q = 0). Returns
 * the smallest i with the least KL, as a bin count: threshold = i * range / n_bins. An empty
 * histogram returns n_bins. */
int32_t ei_calib_entropy_bins(const uint64_t * hist, int32_t n_bins, int32_t levels);
/* Percentile threshold: the smallest k with cumsum(hist)[k] / total >= pct / 100 (in double),
 * returned as k + 1 (threshold = (k + 1) * range / n_bins); n_bins for an empty histogram. */
int32_t ei_calib_percentile_bins(const uint64_t * hist, int32_t n_bins, double pct);

/* The clipping threshold of s for a method (minmax: amax; entropy / percentile: from the
 * histogram, which must have been collected). An all-zero tensor (amax 0) gets 1.0, so that the
 * scale (threshold / 127) stays > 0; any scale represents zeros exactly. */
float ei_absstat_threshold(const ei_absstat * s, ei_calib_method method);

/* Sensitivity analysis (src/quant/sensitivity.c, docs/precision.md): s is a session of the fp32
 * model the table t was calibrated on (its observer is replaced during the call and removed after);
 * with o->sens_weights, sessions of model (n_threads threads) are also created with the simulated
 * int8 weights swapped into model's graph for their lifetime (put back before returning);
 * inputs are n_inputs pre-processed input batches for input_name. Measures, per distinct input of
 * an int8-convertible convolution that has an entry in t, the worst output cosine with fp32 when
 * only it is fake-quantised, then removes from t, most damaging first, the entries needed to bring
 * the all-quantised cosine to o->sens_target_cosine (at most o->sens_max_float of them; < 0: a
 * quarter), records them as t's note and fills the sens_* fields of rep. */
ei_status * ei_calib_sensitivity(const ei_model * model, ei_session * s, int32_t n_threads, const char * input_name,
                                 const ei_tensor * const * inputs, int32_t n_inputs, const ei_calib_options * o,
                                 ei_calib_table * t, ei_calib_report * rep);

#endif
