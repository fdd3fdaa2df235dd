/* Colour conversion between ei_image formats, row by row through an RGB row.
 * YUV (NV12, I420) is BT.601 limited range with OpenCV's fixed-point coefficients (20-bit, the
 * ones cv2.COLOR_YUV2RGB_NV12 uses), so frames convert exactly as OpenCV converts them:
 *   R = 1.164 (Y-16) + 1.596 (V-128), G = 1.164 (Y-16) - 0.813 (V-128) - 0.391 (U-128),
 *   B = 1.164 (Y-16) + 2.018 (U-128).
 * GRAY from colour is OpenCV's 0.299 R + 0.587 G + 0.114 B in 15-bit fixed point (the coefficients of
 * its cvtColor in 4.x: the 14-bit ones of older releases differ by 1 on about 0.3% of pixels); from YUV it is
 * computed from the converted RGB (not the raw limited-range Y), as for any other colour frame. */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "edgeinfer/image.h"
#include "vision/image_internal.h"
#include "vision/yuv_taps.h"

/* A 4:2:0 row: the chroma repeated per pixel in chunks, then yuv_taps.c's vectorised formula (a
 * per-pixel loop with the chroma index took about 45 instructions a pixel). */
static void yuv_row_to_rgb(const uint8_t * yrow, const uint8_t * urow, const uint8_t * vrow, int uv_step, int32_t w,
                           uint8_t * rgb) {
    enum { CHUNK = 256 };
    uint8_t U[CHUNK], V[CHUNK];
    for (int32_t x0 = 0; x0 < w; x0 += CHUNK) {
        int32_t n = w - x0 < CHUNK ? w - x0 : CHUNK;
        for (int32_t k = 0; k < n; k++) {
            size_t c = (size_t)((x0 + k) >> 1) * (size_t)uv_step;
            U[k] = urow[c];
            V[k] = vrow[c];
        }
        ei_yuv_to_rgb(yrow + x0, U, V, n, rgb + 3 * (size_t)x0);
    }
}

/* Row y of src as R, G, B bytes. */
static void row_to_rgb(const ei_image * src, int32_t y, uint8_t * rgb) {
    int32_t         w = src->width;
    const uint8_t * p = src->plane[0] + (size_t)y * (size_t)src->stride[0];
    switch (src->format) {
    case EI_PIXEL_RGB: memcpy(rgb, p, (size_t)w * 3); break;
    case EI_PIXEL_BGR:
    case EI_PIXEL_RGBA:
    case EI_PIXEL_BGRA: {
        int n = ei_pixel_format_channels(src->format);
        int swap = src->format != EI_PIXEL_RGBA;
        for (int32_t x = 0; x < w; x++) {
            rgb[3 * x + 0] = p[n * x + (swap ? 2 : 0)];
            rgb[3 * x + 1] = p[n * x + 1];
            rgb[3 * x + 2] = p[n * x + (swap ? 0 : 2)];
        }
        break;
    }
    case EI_PIXEL_GRAY:
        for (int32_t x = 0; x < w; x++) rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = p[x];
        break;
    case EI_PIXEL_NV12: {
        const uint8_t * uv = src->plane[1] + (size_t)(y / 2) * (size_t)src->stride[1];
        yuv_row_to_rgb(p, uv, uv + 1, 2, w, rgb);
        break;
    }
    case EI_PIXEL_I420:
        yuv_row_to_rgb(p, src->plane[1] + (size_t)(y / 2) * (size_t)src->stride[1],
                       src->plane[2] + (size_t)(y / 2) * (size_t)src->stride[2], 1, w, rgb);
        break;
    default: break;
    }
}

static void rgb_to_row(const uint8_t * rgb, int32_t w, ei_pixel_format f, uint8_t * d) {
    switch (f) {
    case EI_PIXEL_RGB: memcpy(d, rgb, (size_t)w * 3); break;
    case EI_PIXEL_GRAY:
        for (int32_t x = 0; x < w; x++)
            d[x] = (uint8_t)((rgb[3 * x] * 9798 + rgb[3 * x + 1] * 19235 + rgb[3 * x + 2] * 3735 + (1 << 14)) >> 15);
        break;
    default: {
        int n = ei_pixel_format_channels(f);
        int swap = f == EI_PIXEL_BGR || f == EI_PIXEL_BGRA;
        for (int32_t x = 0; x < w; x++) {
            d[n * x + 0] = rgb[3 * x + (swap ? 2 : 0)];
            d[n * x + 1] = rgb[3 * x + 1];
            d[n * x + 2] = rgb[3 * x + (swap ? 0 : 2)];
            if (n == 4) d[n * x + 3] = 255;
        }
    }
    }
}

ei_status * ei_image_convert(const ei_image * src, ei_image * dst) {
    if (!src || !dst || !src->plane[0] || !dst->plane[0])
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_convert: NULL image");
    if ((unsigned)src->format >= EI_PIXEL_FORMAT_COUNT)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_convert: invalid source format %d", (int)src->format);
    if (!ei_image_format_is_packed(dst->format))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "ei_image_convert: destination format %s is not rgb, bgr, rgba, bgra or gray",
                         ei_pixel_format_name(dst->format));
    if (src->width != dst->width || src->height != dst->height)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_convert: source is %dx%d but destination is %dx%d",
                         src->width, src->height, dst->width, dst->height);
    int32_t w = src->width;
    if (src->format == dst->format) {
        size_t row = (size_t)w * (size_t)ei_pixel_format_channels(src->format);
        for (int32_t y = 0; y < src->height; y++)
            memcpy(dst->plane[0] + (size_t)y * (size_t)dst->stride[0],
                   src->plane[0] + (size_t)y * (size_t)src->stride[0], row);
        return NULL;
    }
    uint8_t * rgb = malloc((size_t)w * 3);
    if (!rgb) return ei_errorf(EI_CODE_OUT_OF_MEMORY, "ei_image_convert: row buffer for width %d", w);
    for (int32_t y = 0; y < src->height; y++) {
        row_to_rgb(src, y, rgb);
        rgb_to_row(rgb, w, dst->format, dst->plane[0] + (size_t)y * (size_t)dst->stride[0]);
    }
    free(rgb);
    return NULL;
}
