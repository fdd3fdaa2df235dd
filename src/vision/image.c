/* ei_image: pixel-format names, allocation and freeing. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"
#include "edgeinfer/image.h"
#include "vision/image_internal.h"

static const char * const k_format_names[EI_PIXEL_FORMAT_COUNT] = {"rgb",  "bgr",  "rgba", "bgra",
                                                                   "gray", "nv12", "i420"};

const char * ei_pixel_format_name(ei_pixel_format f) {
    return (unsigned)f < EI_PIXEL_FORMAT_COUNT ? k_format_names[f] : "invalid";
}

int ei_pixel_format_parse(const char * name, ei_pixel_format * out) {
    if (!name || !out) return -1;
    for (int i = 0; i < EI_PIXEL_FORMAT_COUNT; i++) {
        if (strcasecmp(name, k_format_names[i]) == 0) {
            *out = (ei_pixel_format)i;
            return 0;
        }
    }
    if (strcasecmp(name, "grey") == 0) {
        *out = EI_PIXEL_GRAY;
        return 0;
    }
    return -1;
}

int ei_pixel_format_channels(ei_pixel_format f) {
    switch (f) {
    case EI_PIXEL_RGBA:
    case EI_PIXEL_BGRA: return 4;
    case EI_PIXEL_GRAY: return 1;
    default: return 3;
    }
}

int ei_image_format_is_packed(ei_pixel_format f) {
    return f == EI_PIXEL_RGB || f == EI_PIXEL_BGR || f == EI_PIXEL_RGBA || f == EI_PIXEL_BGRA || f == EI_PIXEL_GRAY;
}

ei_status * ei_image_alloc(ei_pixel_format f, int32_t width, int32_t height, ei_image * out) {
    if (!out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_alloc: out is NULL");
    memset(out, 0, sizeof *out);
    if ((unsigned)f >= EI_PIXEL_FORMAT_COUNT)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_alloc: invalid pixel format %d", (int)f);
    if (width <= 0 || height <= 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_alloc: size %dx%d is not positive", width, height);
    if ((int64_t)width * height > EI_IMAGE_MAX_PIXELS)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_alloc: %dx%d is more than 2^28 pixels", width, height);
    int yuv = f == EI_PIXEL_NV12 || f == EI_PIXEL_I420;
    if (yuv && ((width | height) & 1))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_alloc: %s needs an even size, got %dx%d",
                         ei_pixel_format_name(f), width, height);
    size_t    w = (size_t)width, h = (size_t)height;
    size_t    bytes = yuv ? w * h * 3 / 2 : w * h * (size_t)ei_pixel_format_channels(f);
    uint8_t * p = malloc(bytes);
    if (!p)
        return ei_errorf(EI_CODE_OUT_OF_MEMORY, "ei_image_alloc: %zu bytes for a %dx%d image", bytes, width, height);
    out->format = f;
    out->width = width;
    out->height = height;
    out->owned = p;
    out->plane[0] = p;
    if (f == EI_PIXEL_NV12) {
        out->stride[0] = out->stride[1] = width;
        out->plane[1] = p + w * h;
    } else if (f == EI_PIXEL_I420) {
        out->stride[0] = width;
        out->stride[1] = out->stride[2] = width / 2;
        out->plane[1] = p + w * h;
        out->plane[2] = p + w * h + (w / 2) * (h / 2);
    } else {
        out->stride[0] = width * ei_pixel_format_channels(f);
    }
    return NULL;
}

void ei_image_free(ei_image * img) {
    if (!img) return;
    free(img->owned);
    memset(img, 0, sizeof *img);
}
