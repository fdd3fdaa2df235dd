/* Drawing results onto frames: boxes with "label score" captions in a built-in bitmap font, and
 * alpha-blended segmentation overlays. Works in place on packed RGB/BGR(A), gray, and on NV12 and
 * I420 frames (no colour conversion: a streaming OSD draws on the decoder's frames directly). */
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

/* The primitives below draw on packed RGB, BGR, RGBA, BGRA (alpha untouched), GRAY (the colour's
 * BT.601 luma), NV12 and I420 images in place; on a NULL image or an empty one they draw nothing.
 * On NV12/I420 the colour becomes BT.601 limited-range Y/U/V (the inverse of ei_image_convert, so
 * it converts back within a few levels); luma is written per pixel and chroma per 2x2 block: a
 * shape whose edge falls on an odd coordinate colours the whole chroma block it touches, so the
 * colour may bleed one pixel beyond it (luma never does). Chroma planes are ceil(w/2) x ceil(h/2).
 * Everything is clipped to the image: any coordinates are safe, nothing is written outside. */

/* Text in the built-in 8x8 bitmap font (printable ASCII; others drawn as '?'), scaled by an integer
 * factor (< 1 is taken as 1), clipped to the image. (x, y) is the top-left corner of the first
 * glyph; glyphs advance 8*scale pixels; only the set bits are drawn (the background shows through). */
EI_API void ei_draw_text(ei_image * img, int32_t x, int32_t y, const char * text, ei_rgb color, int32_t scale);
/* Width and height in pixels of text drawn at this scale (8*scale*strlen, 8*scale). */
EI_API void ei_draw_text_size(const char * text, int32_t scale, int32_t * width, int32_t * height);
/* A caption: a filled box of bg with a margin of `scale` pixels around the text, text in fg; (x, y)
 * is the box's top-left corner. */
EI_API void ei_draw_caption(ei_image * img, int32_t x, int32_t y, const char * text, ei_rgb fg, ei_rgb bg,
                            int32_t scale);
/* A rectangle outline with inclusive corners (x1, y1) and (x2, y2) (either order); the border is
 * `thickness` pixels wide (< 1 is taken as 1) and grows inwards from those corners. */
EI_API void ei_draw_rect(ei_image * img, int32_t x1, int32_t y1, int32_t x2, int32_t y2, ei_rgb color,
                         int32_t thickness);
/* A filled rectangle, inclusive corners (either order). */
EI_API void ei_draw_fill_rect(ei_image * img, int32_t x1, int32_t y1, int32_t x2, int32_t y2, ei_rgb color);

/* Boxes in image pixels, coloured by class, captioned "name 0.87" (labels may be NULL: "class 3").
 * Class c uses palette entry c + 1, since entry 0 is black (VOC's background). The line width is
 * max(2, min(w, h) / 300) and the font scale max(1, min(w, h) / 540) for a w x h image. The caption
 * sits above the box, or inside its top when there is no room, in the box's colour with black or
 * white text (whichever contrasts more). Boxes with NaN coordinates are skipped. Fails on a NULL
 * image, d == NULL with n > 0, n < 0, or a format other than RGB/BGR/RGBA/BGRA/GRAY/NV12/I420. */
EI_API EI_NODISCARD ei_status * ei_draw_detections(ei_image * img, const ei_detection * d, int32_t n,
                                                   const ei_labels * labels);
/* The same with names from an array: names[c] for 0 <= c < n_names when not NULL, else "class c".
 * names may be NULL. ei_draw_detections uses this; it needs no ei_labels. */
EI_API EI_NODISCARD ei_status * ei_draw_detections_named(ei_image * img, const ei_detection * d, int32_t n,
                                                         const char * const * names, int32_t n_names);
/* How ei_draw_detection draws a box; a zeroed struct (or NULL) is ei_draw_detections' look. */
typedef struct ei_draw_style {
    int32_t thickness;  /* border width in pixels; 0 = automatic (as above) */
    int32_t text_scale; /* font scale; 0 = automatic (as above) */
    int32_t no_box;     /* non-zero: no outline */
    int32_t no_caption; /* non-zero: no caption */
} ei_draw_style;
/* One box as ei_draw_detections draws it, captioned "name 0.87" ("class N 0.87" when name is NULL),
 * with the given style (NULL = automatic). Draws nothing on an undrawable image or NaN coordinates. */
EI_API void ei_draw_detection(ei_image * img, const ei_detection * d, const char * name, const ei_draw_style * style);

/* Blends palette colours over the frame: out = (1 - alpha) * pixel + alpha * colour, for every
 * pixel whose class is not background_class (-1: colour every class) nor EI_SEG_NONE. The map must
 * have the image's size. In integers, with a = lrintf(alpha * 256) (0..256):
 *   out = (pixel * (256 - a) + colour * a + 128) >> 8
 * so alpha 0 leaves the pixel and alpha 1 gives the colour exactly. On NV12/I420 luma blends per
 * pixel the same way with the colour's Y; each chroma sample blends with the mean over its 2x2
 * block (painted pixels contribute their colour's U/V, others the sample itself). alpha outside
 * [0, 1] (or NaN), a size mismatch, or a format other than RGB/BGR/RGBA/BGRA/NV12/I420 (GRAY
 * included) fail with a message. */
EI_API EI_NODISCARD ei_status * ei_draw_seg_overlay(ei_image * img, const ei_seg_map * map, float alpha,
                                                    int32_t background_class);

#ifdef __cplusplus
}
#endif
#endif
