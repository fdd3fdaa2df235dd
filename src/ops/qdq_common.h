/* What QuantizeLinear and DequantizeLinear share: the axis attribute and the checks of the scale
 * and zero-point inputs against the data input (src/ops/quantize_linear.c defines them). */
#ifndef EI_OPS_QDQ_COMMON_H
#define EI_OPS_QDQ_COMMON_H

#include "ops/op.h"

typedef struct ei_qdq_params {
    int64_t axis; /* as given (default 1); normalised by ei_qdq_check */
} ei_qdq_params;

/* How one node's scale applies to its data input. */
typedef struct ei_qdq_layout {
    bool    per_axis;               /* false: one scale for the whole tensor */
    int32_t axis;                   /* normalised, when per_axis */
    int64_t outer, channels, inner; /* data = [outer, channels, inner]; channels 1 when per tensor */
} ei_qdq_layout;

/* Import of both operators: the axis attribute; opset 21's block_size (blocked quantisation) is
 * refused. */
ei_status * ei_qdq_import(ei_node * n);
/* Checks input 1 (scale: float32, scalar or 1-D of the axis' length, positive and finite when
 * constant) and input 2 (zero point: optional, the scale's shape, dtype zp_dtype) against input 0
 * and fills the layout. Errors name the node. */
ei_status * ei_qdq_check(const ei_graph * g, const ei_node * n, ei_dtype zp_dtype, ei_qdq_layout * out);
/* Error naming the node unless every scale is finite and > 0. */
ei_status * ei_qdq_check_scales(const ei_node * n, const ei_tensor * scale);
/* The layout of a kernel's tensors (shapes were checked by infer). */
ei_qdq_layout ei_qdq_layout_of(const ei_node * n, const ei_tensor * x, const ei_tensor * scale);

#endif
