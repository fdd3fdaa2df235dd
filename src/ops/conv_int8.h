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
    float           y_scale; /* > 0: Y is already quantised for the int8 convolutions reading it */
    bool            y_unsigned;
} ei_conv_int8_params;

/* Whether a value of dtype dt is an already quantised X / Y (uint8 or int8, NHWC). */
static inline bool ei_conv_int8_is_quantised(ei_dtype dt) { return dt == EI_DTYPE_U8 || dt == EI_DTYPE_I8; }

/* X's plain shape [N, C, H, W] (from a plain or blocked float X, or a quantised NHWC X of dtype
 * x_dtype) and the window geometry; validates channels. */
ei_status * ei_conv_int8_geometry(const ei_node * node, const ei_shape * xs, ei_dtype x_dtype, const ei_shape * ws,
                                  ei_shape * xplain, ei_window_geom * geom);

/* Error unless the constant value s holds n finite scales above zero (what: its name in messages). */
ei_status * ei_int8_check_scales(const ei_node * node, const ei_value * s, int64_t n, const char * what);

/* Quantises n floats to uint8 / int8 as ei_quantize_value does (AVX2 when the CPU has it). */
void ei_quantize_row(const float * x, void * q, int64_t n, float inv_scale, bool is_unsigned);

/* clamp(round_half_even(x * inv_scale)) to [0, 255] (unsigned) or [-127, 127]; NaN gives the low end. */
int32_t ei_quantize_value(float x, float inv_scale, bool is_unsigned);

#endif
