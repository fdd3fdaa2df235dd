/* QDQ models -> float graph + calibration table (docs/precision.md, "QDQ models").
 *
 * A model quantised by another tool (onnxruntime.quantization.quantize_static, ...) marks every
 * quantised activation x with a pair QuantizeLinear(x, s, z) -> DequantizeLinear(., s, z) and
 * stores its weights as DequantizeLinear(w_int8, s_w, 0). Constant folding already turns the
 * weight DequantizeLinear into float weights (w_int8 * s_w, the same float32 products ONNX Runtime
 * computes). ei_qdq_extract removes the activation pairs, so that x flows in float again, and
 * records each pair's scale in an ei_calib_table under x's name, as calibration would have: the
 * int8 rewrite of ei_engine_build then quantises the convolutions with the model's own scales. */
#ifndef EI_QUANT_QDQ_H
#define EI_QUANT_QDQ_H

#include <stdint.h>

#include "edgeinfer/calib.h"
#include "edgeinfer/model.h"
#include "ir/graph.h"

typedef struct ei_qdq_stats {
    int32_t pairs;      /* QuantizeLinear -> DequantizeLinear pairs removed */
    int32_t tensors;    /* activation tensors given a table entry */
    int32_t asymmetric; /* of which with a zero point that is neither 0 nor the type's minimum */
    int32_t weights;    /* DequantizeLinear of constant data folded into float constants at load */
    int32_t kept;       /* QuantizeLinear / DequantizeLinear left to run as float operators */
} ei_qdq_stats;

/* QuantizeLinear and DequantizeLinear nodes of g that are not removed, folded or not. */
int32_t ei_qdq_node_count(const ei_graph * g);
/* QuantizeLinear nodes that run (not folded): 0 for a model whose only QDQ nodes dequantise
 * weights (weight-only quantisation: plain float once folded). */
int32_t ei_qdq_activation_count(const ei_graph * g);

/* The table entry of a pair with scale s, zero point zp of an int8 (is_signed) or uint8 type:
 * int8 with zero point 0: scale s (threshold 127 s); a zero point at the type's minimum (uint8 0,
 * int8 -128): never negative, threshold 255 s, scale 255 s / 127; any other zero point: the
 * symmetric threshold max(|lo|, |hi|) of the represented range [lo, hi] = [(qmin - zp) s,
 * (qmax - zp) s], scale threshold / 127. */
void ei_qdq_table_scale(float s, int32_t zp, bool is_signed, float * scale, bool * is_unsigned);

/* Removes every activation pair Q(x, s, z) -> DQ(., s, z) with constant per-tensor s and z that
 * match on both sides (readers of the DQ output read x), records x's scale in table, and counts in
 * stats. A never-negative range (zero point at the type's minimum) becomes Clip(x, 0, hi) writing
 * the DQ's output, recorded under that name: it may stand for a Relu or Clip the quantiser removed.
 * A pair before a graph output keeps the output's name (x's producer writes it; recorded under it).
 * Per-axis pairs, pairs with differing scales and pairs on graph inputs that are outputs stay (they
 * run as float operators). A tensor quantised by several pairs keeps the largest threshold.
 * Compacts and re-infers g when it changed. */
ei_status * ei_qdq_extract(ei_graph * g, ei_calib_table * table, ei_qdq_stats * stats);

/* Loads a QDQ model for an int8 build: imports it like ei_model_load_file at optimisation level 0
 * (constant folding included), runs ei_qdq_extract, then the optimisation passes at opt's level,
 * so that the table's names are those of the optimised float graph. Caller owns *out and *table. */
ei_status * ei_qdq_load_model(const char * path, const ei_model_options * opt, ei_model ** out, ei_calib_table ** table,
                              ei_qdq_stats * stats);

#endif
