/* Shared by the drawing files: where each colour byte of a packed pixel lives. */
#ifndef EI_VISION_DRAW_INTERNAL_H
#define EI_VISION_DRAW_INTERNAL_H

#include "edgeinfer/draw.h"

typedef struct ei_draw_fmt {
    int32_t bpp;     /* bytes per pixel; 0 = a format drawing does not support */
    int32_t r, g, b; /* byte offsets within the pixel (GRAY: all 0) */
    int32_t gray;    /* 1: one luma byte */
    int32_t yuv;     /* 1: NV12 (UV interleaved in plane 1), 2: I420 (U, V in planes 1, 2); bpp is then 1 */
} ei_draw_fmt;

/* The layout of img's pixels; bpp 0 for NULL/empty images and unsupported formats. */
ei_draw_fmt ei_draw_format(const ei_image * img);

/* A colour in BT.601 limited range, the inverse of ei_image_convert's YUV -> RGB. */
typedef struct ei_yuv {
    uint8_t y, u, v;
} ei_yuv;
ei_yuv ei_draw_rgb_to_yuv(ei_rgb c);

/* ei_draw_detections' argument checks (image drawable, d non-NULL when n > 0). */
ei_status * ei_draw_check_detections(ei_image * img, const ei_detection * d, int32_t n);
/* One box and its caption ("name 0.87", or "class N 0.87" when name is NULL); img is drawable. */
void ei_draw_detection_one(ei_image * img, const ei_detection * b, const char * name);

#endif
