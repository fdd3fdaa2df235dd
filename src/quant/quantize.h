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
} ei_quantize_stats;

/* Rewrites every Conv and ei.ConvBlocked8 of the optimised graph g with 2-D constant float weights
 * whose input activation has an entry in t and whose name is not in keep_fp32 (comma-separated,
 * may be NULL) into ei.ConvInt8 (src/ops/conv_int8.c): weights symmetric per output channel in
 * EI_INT8_WEIGHT_MAX steps, the input per tensor (uint8 when the table says it is never negative);
 * likewise every MatMul whose right operand is a constant float [K, N] into ei.MatMulInt8
 * (src/ops/matmul_int8.c, weights per output column). Then re-infers g. */
ei_status * ei_quantize_int8(ei_graph * g, const ei_calib_table * t, const char * keep_fp32, ei_quantize_stats * stats);

#endif
