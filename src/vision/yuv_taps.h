/* 4:2:0 frames (NV12, I420) as the source of the streaming resizer, so pre-processing never
 * converts a whole frame: only the source pixels the resize taps touch are converted to RGB, with
 * OpenCV's fixed-point BT.601 formula (as image_convert.c), so the result is bit-identical to
 * cv2.cvtColor(YUV2RGB) followed by cv2.resize. */
#ifndef EI_VISION_YUV_TAPS_H
#define EI_VISION_YUV_TAPS_H

#include <stdint.h>

#include "edgeinfer/image.h"

typedef struct ei_yuv_source {
    const ei_image * img; /* NV12 or I420, borrowed */
    uint8_t *        buf; /* ei_yuv_rows scratch: 3 bytes per column asked for, owned by the caller */
    /* ei_yuv_hpass's per-group shuffle tables, built on its first call (the taps are the same for
     * every row); released by ei_yuv_source_release */
    void *          groups;
    const int32_t * groups_x0;
    int32_t         n_groups;
} ei_yuv_source;

/* Frees what ei_yuv_hpass built and buf; leaves the source empty (img kept). */
void ei_yuv_source_release(ei_yuv_source * ys);

/* R, G, B of n pixels whose Y, U and V bytes are given one per pixel (chroma already repeated). */
void ei_yuv_to_rgb(const uint8_t * restrict Y, const uint8_t * restrict U, const uint8_t * restrict V, int32_t n,
                   uint8_t * restrict out);
/* An ei_resizer_source_fn (ctx: ei_yuv_source): R, G, B of pixels (cols[k], sy). */
void ei_yuv_rows(void * ctx, int32_t sy, const int32_t * cols, int32_t ncols, uint8_t * out);
/* An ei_resizer_hpass_fn (ctx: ei_yuv_source): the horizontal bilinear pass of row sy straight
 * from the planes, R, G and B sums into D, D + n, D + 2n. AVX2 where the CPU has it. */
void ei_yuv_hpass(void * ctx, int32_t sy, const int32_t * x0, const int32_t * x1, const int32_t * pw, int32_t n,
                  int32_t * D);

#endif
