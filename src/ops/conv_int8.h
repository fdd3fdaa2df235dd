/* ei.ConvInt8 (src/ops/conv_int8.c): what the op, the INT8 rewrite and the oneDNN kernel share. */
#ifndef EI_OPS_CONV_INT8_H
#define EI_OPS_CONV_INT8_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/conv_geometry.h"
#include "ops/fused.h"

/* Largest |q| of a quantised weight: 7 bits. Without VNNI, x86 int8 kernels multiply u8 by s8 with
 * vpmaddubsw, which adds two products into a saturating int16: 255 * 127 * 2 overflows it, 255 * 63 * 2
 * does not (oneDNN's "Nuances of int8 computations"). docs/precision.md. */
#define EI_INT8_WEIGHT_MAX 63

typedef struct ei_conv_int8_params {
    ei_window_attrs win;
    int64_t         group;
    ei_fused        fused; /* the residual is input 4 */
    float           x_scale;
    bool            x_unsigned;
    bool            blocked; /* Y and R in the 8-channel blocked layout */
} ei_conv_int8_params;

/* X's plain shape (from a plain or blocked X) and the window geometry; validates channels. */
ei_status * ei_conv_int8_geometry(const ei_node * node, const ei_shape * xs, const ei_shape * ws, ei_shape * xplain,
                                  ei_window_geom * geom);

/* clamp(round_half_even(x * inv_scale)) to [0, 255] (unsigned) or [-127, 127]; NaN gives the low end. */
int32_t ei_quantize_value(float x, float inv_scale, bool is_unsigned);

#endif
