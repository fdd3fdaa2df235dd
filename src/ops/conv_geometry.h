/* Sliding-window geometry shared by Conv, ConvTranspose and the pooling operators: reading and
 * validating kernel_shape / strides / dilations / pads / auto_pad, and resolving them against an
 * input shape into per-axis output sizes and effective pads. */
#ifndef EI_OPS_CONV_GEOMETRY_H
#define EI_OPS_CONV_GEOMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

#define EI_MAX_SPATIAL (EI_MAX_RANK - 2)

typedef enum ei_auto_pad {
    EI_AUTO_PAD_NOTSET = 0,
    EI_AUTO_PAD_SAME_UPPER,
    EI_AUTO_PAD_SAME_LOWER,
    EI_AUTO_PAD_VALID,
} ei_auto_pad;

/* The window attributes as the node spells them; counts are -1 for an absent attribute. The number
 * of spatial axes is only known once the input shape is, so lengths are checked by ei_window_resolve. */
typedef struct ei_window_attrs {
    int32_t     n_kernel, n_strides, n_dilations, n_pads;
    int64_t     kernel[EI_MAX_SPATIAL];
    int64_t     strides[EI_MAX_SPATIAL];
    int64_t     dilations[EI_MAX_SPATIAL];
    int64_t     pads[2 * EI_MAX_SPATIAL]; /* all begins, then all ends */
    ei_auto_pad auto_pad;
} ei_window_attrs;

/* Geometry for one input shape: everything a kernel needs, per spatial axis. */
typedef struct ei_window_geom {
    int32_t nsp;
    int64_t in[EI_MAX_SPATIAL];
    int64_t out[EI_MAX_SPATIAL];
    int64_t kernel[EI_MAX_SPATIAL];
    int64_t stride[EI_MAX_SPATIAL];
    int64_t dilation[EI_MAX_SPATIAL];
    int64_t pad_begin[EI_MAX_SPATIAL];
    int64_t pad_end[EI_MAX_SPATIAL];
} ei_window_geom;

/* Which output-size rule ei_window_resolve applies. */
typedef enum ei_window_kind {
    EI_WINDOW_CONV, /* floor; SAME gives ceil(in / stride) */
    EI_WINDOW_POOL, /* like Conv, but ceil_mode may round up (last window starting inside) */
    EI_WINDOW_POOL_CEIL,
} ei_window_kind;

/* Reads the attributes of node n (dilations only when `with_dilations`) and validates their values:
 * kernel >= 1, strides >= 1, dilations >= 1, pads >= 0, all below 2^31, a known auto_pad. */
ei_status * ei_window_attrs_read(const ei_node * n, bool with_dilations, ei_window_attrs * a);

/* Fills g->kernel/stride/dilation and the explicit pads for nsp spatial axes, checking attribute
 * lengths. `kernel` (may be NULL) is the kernel given by a weight tensor; when both it and
 * kernel_shape are present they must agree. Pads are the explicit ones (auto_pad not applied). */
ei_status * ei_window_setup(const ei_node * n, const ei_window_attrs * a, int32_t nsp, const int64_t * in,
                            const int64_t * kernel, ei_window_geom * g);

/* ei_window_setup, then auto_pad and output sizes by the rule of `kind`; every output size must be
 * at least 1. */
ei_status * ei_window_resolve(const ei_node * n, const ei_window_attrs * a, ei_window_kind kind, int32_t nsp,
                              const int64_t * in, const int64_t * kernel, ei_window_geom * g);

/* Product of d[0..n). */
int64_t ei_dims_product(const int64_t * d, int32_t n);

/* The output indices o in [0, out) whose tap o * stride + off lands inside [0, size): [*lo, *hi). */
static inline void ei_window_valid_range(int64_t off, int64_t stride, int64_t size, int64_t out, int64_t * lo,
                                         int64_t * hi) {
    int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t h = off < size ? (size - off + stride - 1) / stride : 0;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* ei_parallel_for grain for items of about `work` elementary steps each: enough items per chunk
 * for some 32k steps. Takes a double so that products of hostile sizes cannot overflow. */
static inline int64_t ei_grain(double work) { return work >= 32768.0 ? 1 : 1 + (int64_t)(32768.0 / (work + 1.0)); }

/* Floor and ceiling division for a possibly negative numerator and a positive denominator. */
static inline int64_t ei_floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline int64_t ei_ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

#endif
