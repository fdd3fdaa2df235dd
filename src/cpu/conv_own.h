/* What our own ei.ConvBlocked8 kernels (src/cpu/winograd.c, src/cpu/stem.c) share: the checks
 * every one of them makes before taking a node, so that a node they accept is one whose inputs,
 * weights and fused epilogue they can all read the same way, and 64-byte aligned scratch. */
#ifndef EI_CPU_CONV_OWN_H
#define EI_CPU_CONV_OWN_H

#include <stdbool.h>
#include <stddef.h>

#include "cpu/kernel_table.h"
#include "ops/conv_geometry.h"
#include "ops/fused.h"

/* A float32 node with group 1, constant 4-D weights (float32, or bf16 / fp16 that prepare widens
 * exactly; not a node the half-precision rounding applies to), a float32 bias if any and a float32
 * residual shaped as the output, whose input is non-empty and whose 2-D window over the input's
 * dimensions 2 and 3 gives the output's: its fused epilogue in *f and the window in *geom. Input
 * and output layouts (plain or blocked) are the caller's to check. False for anything else. */
bool ei_conv_own_accepts(const ei_graph * g, const ei_node * node, ei_fused * f, ei_window_geom * geom);

/* At prepare, for a node ei_conv_own_accepts took: its fused epilogue, its window, and the input
 * indices of its bias and residual (-1 when it has none). */
ei_status * ei_conv_own_read(const ei_graph * g, const ei_node * node, ei_fused * f, ei_window_geom * geom,
                             int32_t * bias_in, int32_t * res_in);

/* The weights wt as float32: *wf = wt's own data, or a widened copy of bf16 / fp16 weights that
 * *owned then holds (free() it after packing; NULL when nothing was copied). */
ei_status * ei_conv_own_weights_f32(const ei_tensor * wt, const float ** wf, float ** owned);

/* n_floats zeroed floats, 64-byte aligned (free() releases them); NULL when out of memory. */
void * ei_conv_own_alloc_zero(size_t n_floats);

#endif
