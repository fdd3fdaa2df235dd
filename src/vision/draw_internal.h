/* Shared by the drawing files: where each colour byte of a packed pixel lives. */
#ifndef EI_VISION_DRAW_INTERNAL_H
#define EI_VISION_DRAW_INTERNAL_H

#include "edgeinfer/draw.h"

typedef struct ei_draw_fmt {
    int32_t bpp;     /* bytes per pixel; 0 = a format drawing does not support */
    int32_t r, g, b; /* byte offsets within the pixel (GRAY: all 0) */
    int32_t gray;    /* 1: one luma byte */
} ei_draw_fmt;

/* The layout of img's pixels; bpp 0 for NULL/empty images and planar formats. */
ei_draw_fmt ei_draw_format(const ei_image * img);

/* ei_draw_detections' argument checks (image drawable, d non-NULL when n > 0). */
ei_status * ei_draw_check_detections(ei_image * img, const ei_detection * d, int32_t n);
/* One box and its caption ("name 0.87", or "class N 0.87" when name is NULL); img is drawable. */
void ei_draw_detection_one(ei_image * img, const ei_detection * b, const char * name);

#endif
