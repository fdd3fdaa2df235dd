/* The graph optimisation passes. Each rewrites g in place, counts the rewrites it made in
 * *applied, and leaves removed nodes as tombstones for the pass manager to compact. */
#ifndef EI_PASSES_PASSES_H
#define EI_PASSES_PASSES_H

#include <stdint.h>

#include "ir/graph.h"

ei_status * ei_pass_eliminate_identity(ei_graph * g, int32_t * applied);
ei_status * ei_pass_fold_bn_into_conv(ei_graph * g, int32_t * applied);
ei_status * ei_pass_fold_space_to_depth(ei_graph * g, int32_t * applied);
ei_status * ei_pass_fold_linear_concat(ei_graph * g, int32_t * applied);
ei_status * ei_pass_fuse_activation(ei_graph * g, int32_t * applied);
ei_status * ei_pass_fuse_residual(ei_graph * g, int32_t * applied);
ei_status * ei_pass_match_layernorm(ei_graph * g, int32_t * applied);
ei_status * ei_pass_match_gelu(ei_graph * g, int32_t * applied);
ei_status * ei_pass_sink_transpose(ei_graph * g, int32_t * applied);
ei_status * ei_pass_layout_blocked8(ei_graph * g, int32_t * applied);
ei_status * ei_pass_merge_from_blocked8(ei_graph * g, int32_t * applied);
ei_status * ei_pass_concat_from_blocked8(ei_graph * g, int32_t * applied);

#endif
