/* Pieces of the INT8 rewrite shared by its files (quantize.c: convolutions, quantize_matmul.c). */
#ifndef EI_QUANT_QUANTIZE_INTERNAL_H
#define EI_QUANT_QUANTIZE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "edgeinfer/calib.h"
#include "ir/graph.h"

/* Whether name is one of the comma-separated items of list (NULL: none). */
bool ei_quant_listed(const char * list, const char * name);
/* The table's scale and sign for value v, or for the value a layout conversion made it from. */
bool ei_quant_lookup(const ei_graph * g, const ei_calib_table * t, int32_t v, float * scale, bool * is_unsigned);
/* Drops the constant of value v when nothing reads it any more. */
void ei_quant_drop_if_unused(ei_graph * g, int32_t v);
/* Rewrites MatMul nodes with a constant float [K, N] right operand into ei.MatMulInt8; counts in
 * *done, *candidates, *kept (named in keep_fp32) and *no_entry. */
ei_status * ei_quantize_matmuls(ei_graph * g, const ei_calib_table * t, const char * keep_fp32, int32_t * done,
                                int32_t * candidates, int32_t * kept, int32_t * no_entry);

#endif
