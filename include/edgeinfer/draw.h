/* Drawing results onto frames: boxes with "label score" captions in a built-in bitmap font, and
 * alpha-blended segmentation overlays. Works on packed RGB and BGR images in place. */
#ifndef EDGEINFER_DRAW_H
#define EDGEINFER_DRAW_H

#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/detect.h"
#include "edgeinfer/image.h"
#include "edgeinfer/labels.h"
#include "edgeinfer/segment.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_rgb {
    uint8_t r, g, b;
} ei_rgb;

/* A fixed palette: colour of class id (PASCAL VOC's colour map, so VOC masks look as usual). */
EI_API ei_rgb ei_palette_color(int32_t class_id);

/* Text in the built-in 8x8 bitmap font (printable ASCII; others drawn as '?'), scaled by an integer
 * factor, clipped to the image. */
EI_API void ei_draw_text(ei_image * img, int32_t x, int32_t y, const char * text, ei_rgb color, int32_t scale);
EI_API void ei_draw_rect(ei_image * img, int32_t x1, int32_t y1, int32_t x2, int32_t y2, ei_rgb color,
                         int32_t thickness);
/* Boxes in image pixels, coloured by class, captioned "name 0.87" (labels may be NULL: "class 3"). */
EI_API EI_NODISCARD ei_status * ei_draw_detections(ei_image * img, const ei_detection * d, int32_t n,
                                                   const ei_labels * labels);
/* Blends palette colours over the frame: out = (1 - alpha) * pixel + alpha * colour, for every
 * pixel whose class is not background_class (-1: colour every class) nor EI_SEG_NONE. The map must
 * have the image's size. */
EI_API EI_NODISCARD ei_status * ei_draw_seg_overlay(ei_image * img, const ei_seg_map * map, float alpha,
                                                    int32_t background_class);

#ifdef __cplusplus
}
#endif
#endif
