/* Internals shared by the image files: the decoders behind ei_image_decode and the pixel-size
 * limit they all enforce before allocating. */
#ifndef EI_VISION_IMAGE_INTERNAL_H
#define EI_VISION_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "edgeinfer/image.h"

/* Files announcing more pixels than this are refused before any allocation (2^28). */
#define EI_IMAGE_MAX_PIXELS ((int64_t)1 << 28)

/* Decoders: bytes -> `want` (RGB, BGR, RGBA, BGRA or GRAY). min_w/min_h > 0 let the JPEG decoder
 * shrink by a power of two with DCT scaling, never below min_w x min_h; 0 means full size. */
ei_status * ei_jpeg_decode(const uint8_t * bytes, size_t n, ei_pixel_format want, int32_t min_w, int32_t min_h,
                           ei_image * out);
ei_status * ei_png_decode(const uint8_t * bytes, size_t n, ei_pixel_format want, ei_image * out);

/* Encoders: write img (RGB, BGR or GRAY) to an open file. */
ei_status * ei_jpeg_encode(const ei_image * img, int quality, FILE * f);
ei_status * ei_png_encode(const ei_image * img, FILE * f);

/* True for the packed formats a decoder can return. */
int ei_image_format_is_packed(ei_pixel_format f);

#endif
