/* Pre-processing: one image (any ei_pixel_format) to one slot of a float32 network input,
 *   resize (optionally letterboxed) -> channel order -> y = scale[c] * (x - offset[c]) -> layout,
 * and the transform that maps network coordinates back to the original image. */
#ifndef EDGEINFER_PREPROCESS_H
#define EDGEINFER_PREPROCESS_H

#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/image.h"
#include "edgeinfer/status.h"
#include "edgeinfer/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values follow nvinfer's scaling-filter where it has them (0 nearest, 1 bilinear). */
typedef enum ei_resize_filter {
    EI_RESIZE_NEAREST = 0,
    EI_RESIZE_BILINEAR = 1, /* half-pixel centres, as OpenCV INTER_LINEAR and PIL */
    EI_RESIZE_AREA = 2,     /* pixel-area averaging when shrinking (OpenCV INTER_AREA); bilinear when growing */
} ei_resize_filter;

typedef enum ei_layout {
    EI_LAYOUT_NCHW = 0,
    EI_LAYOUT_NHWC = 1,
} ei_layout;

typedef struct ei_preprocess_spec {
    uint32_t         size;          /* sizeof(ei_preprocess_spec); set by ei_preprocess_spec_default */
    int32_t          width, height; /* the network input */
    ei_pixel_format  color;         /* channel order the network expects: RGB, BGR or GRAY */
    ei_layout        layout;
    ei_resize_filter filter;
    int32_t          keep_aspect;   /* letterbox: scale by min(W/w, H/h) and pad the rest */
    int32_t          symmetric_pad; /* letterbox centred; 0 = image at the top-left */
    float            pad_value[3];  /* padding in 0..255 pixel units, per network channel, before normalising */
    /* y = scale[c] * (x - offset[c]), per NETWORK channel (c = 0 is B for a BGR network, as nvinfer's
     * offsets), applied to the uint8 resized pixel (rounded as cv2.resize rounds). */
    float scale[3];
    float offset[3];
} ei_preprocess_spec;

/* RGB, NCHW, bilinear, no letterbox, pad 0, scale 1, offset 0, width = height = 0 (must be set). */
EI_API ei_preprocess_spec ei_preprocess_spec_default(void);
/* Sets scale/offset from (x/255 - mean[c]) / std[c]; fails when a std is 0. */
EI_API EI_NODISCARD ei_status * ei_preprocess_spec_set_mean_std(ei_preprocess_spec * spec, const float mean[3],
                                                                const float std[3]);
EI_API int                      ei_preprocess_spec_channels(const ei_preprocess_spec * spec); /* 1 for GRAY, else 3 */

/* Network pixel (xn, yn) lands on image pixel ((xn - pad_x) / scale_x, (yn - pad_y) / scale_y). */
typedef struct ei_frame_transform {
    int32_t src_width, src_height; /* the original image */
    int32_t net_width, net_height;
    float   scale_x, scale_y; /* network pixels per image pixel */
    float   pad_x, pad_y;     /* network pixels before the image starts (letterbox) */
} ei_frame_transform;

EI_API void ei_frame_to_image(const ei_frame_transform * xf, float xn, float yn, float * xi, float * yi);
/* The inverse: image pixel to network pixel. */
EI_API void ei_frame_to_network(const ei_frame_transform * xf, float xi, float yi, float * xn, float * yn);
/* Re-targets a transform computed for a reduced decode (ei_image_load_scaled) to the original
 * src_width x src_height image, so ei_frame_to_image lands on original-image pixels. */
EI_API void ei_frame_transform_set_source(ei_frame_transform * xf, int32_t src_width, int32_t src_height);
/* The transform ei_preprocess uses for an image of this size (no pixels touched). Letterbox: as
 * YOLOX, r = min(W/w, H/h), the image is resized to (int)(w*r) x (int)(h*r) (truncated, at least
 * 1) and scale_x = scale_y = r (what YOLOX divides by); symmetric padding puts it at
 * ((W - rw) / 2, (H - rh) / 2), rounded down. Without letterbox scale_x = W/w, scale_y = H/h. */
EI_API ei_frame_transform ei_preprocess_transform(const ei_preprocess_spec * spec, int32_t src_width,
                                                  int32_t src_height);

/* Resizes a packed image (RGB, BGR, RGBA, BGRA or GRAY) into dst of the same format, allocated by
 * the caller at the wanted size; matches cv2.resize with INTER_NEAREST / INTER_LINEAR / INTER_AREA
 * (docs/preprocess.md gives the measured differences). */
EI_API EI_NODISCARD ei_status * ei_image_resize(const ei_image * src, ei_image * dst, ei_resize_filter filter);

/* Writes one frame into dst: width*height*channels floats in spec->layout (one batch slot).
 * xf (may be NULL) receives the transform. */
EI_API EI_NODISCARD ei_status * ei_preprocess(const ei_preprocess_spec * spec, const ei_image * src, float * dst,
                                              ei_frame_transform * xf);
/* Fills a float32 tensor of shape [n, C, H, W] (NCHW) or [n, H, W, C] (NHWC) from n images; xf
 * receives n transforms. Fails, naming both shapes, when dst does not match the spec. */
EI_API EI_NODISCARD ei_status * ei_preprocess_batch(const ei_preprocess_spec * spec, const ei_image * images, int32_t n,
                                                    ei_tensor * dst, ei_frame_transform * xf);

#ifdef __cplusplus
}
#endif
#endif
