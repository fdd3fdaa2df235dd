/* Images: 8-bit frames in the pixel formats cameras, decoders and files produce, and JPEG/PNG
 * files in and out. An ei_image is a small value type that either views memory someone else owns
 * (owned == NULL) or owns one allocation (made by ei_image_alloc / ei_image_load). */
#ifndef EDGEINFER_IMAGE_H
#define EDGEINFER_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ei_pixel_format {
    EI_PIXEL_RGB = 0, /* packed, 3 bytes per pixel */
    EI_PIXEL_BGR,     /* packed, OpenCV's order */
    EI_PIXEL_RGBA,    /* packed, 4 bytes; alpha ignored */
    EI_PIXEL_BGRA,
    EI_PIXEL_GRAY, /* 1 byte per pixel */
    EI_PIXEL_NV12, /* Y plane, then interleaved UV at half resolution (BT.601 limited range) */
    EI_PIXEL_I420, /* Y, U, V planes, U and V at half resolution (BT.601 limited range) */
    EI_PIXEL_FORMAT_COUNT
} ei_pixel_format;

typedef struct ei_image {
    ei_pixel_format format;
    int32_t         width, height;
    uint8_t *       plane[3];  /* packed formats and GRAY use plane[0]; NV12: Y, UV; I420: Y, U, V */
    int32_t         stride[3]; /* bytes from one row to the next, per plane */
    void *          owned;     /* the allocation this image frees; NULL for a view */
} ei_image;

EI_API const char * ei_pixel_format_name(ei_pixel_format f); /* "rgb", "nv12", ...; "invalid" */
/* Parses a name as printed by ei_pixel_format_name (case-insensitive); returns 0 on success. */
EI_API int ei_pixel_format_parse(const char * name, ei_pixel_format * out);
EI_API int ei_pixel_format_channels(ei_pixel_format f); /* 3, 4 or 1; 3 for NV12/I420 (after conversion) */

/* Allocates an image with tightly packed rows (odd sizes are refused for NV12/I420). The caller
 * frees it with ei_image_free. */
EI_API EI_NODISCARD ei_status * ei_image_alloc(ei_pixel_format f, int32_t width, int32_t height, ei_image * out);
/* Frees what the image owns (nothing for a view) and zeroes the struct. NULL-safe. */
EI_API void ei_image_free(ei_image * img);

/* Decodes a JPEG or PNG (chosen by the file's content, not its name) into `want` (RGB, BGR, RGBA,
 * BGRA or GRAY). The caller owns *out. Corrupt, truncated or oversized files (more than 2^28
 * pixels) fail with a message naming the file. */
EI_API EI_NODISCARD ei_status * ei_image_load(const char * path, ei_pixel_format want, ei_image * out);
EI_API EI_NODISCARD ei_status * ei_image_decode(const void * bytes, size_t n_bytes, ei_pixel_format want,
                                                ei_image * out);
/* As ei_image_load / ei_image_decode, but a JPEG may be decoded smaller with libjpeg-turbo's DCT
 * scaling (1/2, 1/4 or 1/8; much faster) as long as the result stays at least min_width x
 * min_height; 0 for either means no constraint on that side. PNGs are decoded at full size. The
 * decoded pixels differ slightly from a full decode followed by a resize (docs/preprocess.md
 * measures it); map detections back with ei_frame_transform_set_source and the file's size. */
EI_API EI_NODISCARD ei_status * ei_image_load_scaled(const char * path, ei_pixel_format want, int32_t min_width,
                                                     int32_t min_height, ei_image * out);
EI_API EI_NODISCARD ei_status * ei_image_decode_scaled(const void * bytes, size_t n_bytes, ei_pixel_format want,
                                                       int32_t min_width, int32_t min_height, ei_image * out);

/* Writes RGB, BGR or GRAY as PNG or JPEG, chosen by the extension (.png, .jpg, .jpeg); quality is
 * JPEG's 1..100 (0 = 90). Written to a temporary file and renamed: a failure leaves nothing. */
EI_API EI_NODISCARD ei_status * ei_image_save(const ei_image * img, const char * path, int quality);

/* Converts any format into a packed RGB, BGR, RGBA, BGRA or GRAY image of the same size (dst must
 * be allocated with that size and format). NV12/I420 use BT.601 limited range with OpenCV's
 * fixed-point coefficients (as cv2.COLOR_YUV2RGB_NV12); GRAY is 0.299 R + 0.587 G + 0.114 B as in
 * cv2.COLOR_RGB2GRAY; alpha is set to 255. */
EI_API EI_NODISCARD ei_status * ei_image_convert(const ei_image * src, ei_image * dst);

#ifdef __cplusplus
}
#endif
#endif
