/* The INT8 rewrite of ei_engine_build (docs/precision.md, "INT8 execution"). */
#ifndef EI_QUANT_QUANTIZE_H
#define EI_QUANT_QUANTIZE_H

#include <stdint.h>

#include "edgeinfer/calib.h"
#include "ir/graph.h"

typedef struct ei_quantize_stats {
    int32_t convs;             /* convolutions now ei.ConvInt8 */
    int32_t candidates;        /* 2-D convolutions with constant float weights */
    int32_t kept_fp32;         /* candidates (convolutions and MatMuls) named in keep_fp32 */
    int32_t no_entry;          /* candidates whose input has no table entry */
    int32_t requant_fused;     /* int8 convolutions writing uint8/int8 for int8 readers */
    int32_t matmuls;           /* MatMuls now ei.MatMulInt8 */
    int32_t matmul_candidates; /* MatMuls with a constant float [K, N] right operand */
    int32_t bias_corrected;    /* int8 convolutions whose bias was corrected (channel means in the table) */
    int32_t clips_dropped;     /* Clip(x, 0, hi) before int8 convolutions whose uint8 quantisation clamps the same */
} ei_quantize_stats;

/* The convolutions the rewrite turns into ei.ConvInt8 when their input has an entry: Conv and
 * ei.ConvBlocked8 with a float 4-D / 5-D input and constant 4-D float weights (calibration and the
 * sensitivity analysis use the same test). */
bool ei_quantize_is_candidate(const ei_graph * g, const ei_node * n);

/* W [M, C/group, kH, kW] float -> q int8 of W's shape and scales [M]: symmetric per output channel,
 * scale = max |W[m]| / EI_INT8_WEIGHT_MAX (1 for a channel of zeros), q = round(w / scale). */
ei_status * ei_quantize_conv_weights(const ei_tensor * w, ei_tensor ** q, ei_tensor ** s);

/* Bias correction of a convolution with float weights w, int8 weights q with scales s (from
 * ei_quantize_conv_weights), given the per-channel means of its input (mean) and of the input once
 * quantised (mean_q) over the calibration images: delta[m] = sum over the input channels c of m's
 * group and the kernel taps of (w * mean[c] - q * s[m] * mean_q[c]), the mean error of output
 * channel m that adding delta to the bias cancels (zero padding at the borders is ignored). False
 * (delta untouched) when channels is not W's input channel count. */
bool ei_quantize_bias_delta(const ei_tensor * w, const ei_tensor * q, const ei_tensor * s, int64_t group,
                            const float * mean, const float * mean_q, int32_t channels, float * delta);

/* Rewrites every Conv and ei.ConvBlocked8 of the optimised graph g with 2-D constant float weights
 * whose input activation has an entry in t and whose name is not in keep_fp32 (comma-separated,
 * may be NULL) into ei.ConvInt8 (src/ops/conv_int8.c): weights symmetric per output channel in
 * EI_INT8_WEIGHT_MAX steps, the input per tensor (uint8 when the table says it is never negative);
 * likewise every MatMul whose right operand is a constant float [K, N] into ei.MatMulInt8
 * (src/ops/matmul_int8.c, weights per output column). Then re-infers g. With channel means in t
 * (ei_calib_table_set_means), each rewritten convolution that has a constant bias gets a new one,
 * corrected by ei_quantize_bias_delta. */
ei_status * ei_quantize_int8(ei_graph * g, const ei_calib_table * t, const char * keep_fp32, ei_quantize_stats * stats);

#endif
