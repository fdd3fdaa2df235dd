/* Validation helpers shared by the shape-family operators (axes lists, int lists that moved
 * from attributes to inputs between opsets). */
#ifndef EI_OPS_SHAPE_COMMON_H
#define EI_OPS_SHAPE_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

/* Longest int list accepted from an attribute or constant input (pads, starts, shape, ...). */
#define EI_SHP_MAX_INTS 64

/* Normalises count axes (possibly negative) against rank into out[] and refuses duplicates;
 * `what` names the list in errors ("axes"). */
ei_status * ei_shp_axes(const ei_node * n, const char * what, const int64_t * axes, int32_t count, int32_t rank,
                        int32_t * out);

/* Reads an int list that is attribute `attr` before opset `input_since` and constant input
 * `input` from then on. *count = -1 when absent. vals holds EI_SHP_MAX_INTS. */
ei_status * ei_shp_ints(const ei_graph * g, const ei_node * n, const char * attr, int32_t input, int64_t input_since,
                        int64_t * vals, int32_t * count);

/* A node's params struct, zeroed, owned by the node; *out typed by the caller. */
ei_status * ei_shp_params(ei_node * n, size_t size, void ** out);

#endif
