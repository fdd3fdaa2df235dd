/* JPEG through libjpeg-turbo. libjpeg reports errors by calling error_exit, which by default
 * exit()s: our error manager longjmps back into the function that set it up, which frees what it
 * allocated and returns a status carrying libjpeg's message. A truncated stream is only a warning
 * to libjpeg (it pads with grey); we make that one an error too. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
/* after jpeglib.h, which it needs */
#include <jerror.h>

#include "core/status.h"
#include "vision/image_internal.h"

typedef struct jpeg_error {
    struct jpeg_error_mgr mgr;
    jmp_buf               jump;
    char                  message[JMSG_LENGTH_MAX];
} jpeg_error;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_error * e = (jpeg_error *)cinfo->err;
    e->mgr.format_message(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    jpeg_error * e = (jpeg_error *)cinfo->err;
    if (level < 0 && e->mgr.msg_code == JWRN_JPEG_EOF) {
        e->mgr.format_message(cinfo, e->message);
        longjmp(e->jump, 1);
    }
    if (level < 0) e->mgr.num_warnings++;
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void error_init(jpeg_error * e) {
    jpeg_std_error(&e->mgr);
    e->mgr.error_exit = on_error_exit;
    e->mgr.emit_message = on_emit_message;
    e->mgr.output_message = on_output_message;
    e->message[0] = 0;
}

static J_COLOR_SPACE color_space_for(ei_pixel_format f) {
    switch (f) {
    case EI_PIXEL_RGB: return JCS_EXT_RGB;
    case EI_PIXEL_BGR: return JCS_EXT_BGR;
    case EI_PIXEL_RGBA: return JCS_EXT_RGBX;
    case EI_PIXEL_BGRA: return JCS_EXT_BGRX;
    default: return JCS_GRAYSCALE;
    }
}

/* Smallest of 1/8, 1/4, 1/2, 1 that keeps the image at least min_w x min_h (libjpeg rounds the
 * scaled size up). Only powers of two: libjpeg-turbo has SIMD IDCTs for those alone. */
static unsigned pick_scale_num(int32_t w, int32_t h, int32_t min_w, int32_t min_h) {
    if (min_w <= 0 && min_h <= 0) return 8;
    for (unsigned num = 1; num < 8; num *= 2) {
        int64_t sw = ((int64_t)w * num + 7) / 8, sh = ((int64_t)h * num + 7) / 8;
        if (sw >= min_w && sh >= min_h) return num;
    }
    return 8;
}

ei_status * ei_jpeg_decode(const uint8_t * bytes, size_t n, ei_pixel_format want, int32_t min_w, int32_t min_h,
                           ei_image * out) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    jpeg_error                    err;
    ei_image * volatile img = out;
    error_init(&err);
    cinfo.err = &err.mgr;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        ei_image_free(img);
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "corrupt JPEG: %s", err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    if ((int64_t)cinfo.image_width * cinfo.image_height > EI_IMAGE_MAX_PIXELS) {
        ei_status * st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "JPEG of %ux%u is more than 2^28 pixels",
                                   cinfo.image_width, cinfo.image_height);
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : color_space_for(want);
    cinfo.scale_num = pick_scale_num((int32_t)cinfo.image_width, (int32_t)cinfo.image_height, min_w, min_h);
    cinfo.scale_denom = 8;
    jpeg_start_decompress(&cinfo);
    /* CMYK (Adobe, stored inverted) goes through an RGB image of our own. */
    ei_pixel_format fmt = cmyk ? EI_PIXEL_RGB : want;
    ei_status *     st = ei_image_alloc(fmt, (int32_t)cinfo.output_width, (int32_t)cinfo.output_height, out);
    if (st) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    uint8_t * cmyk_row = NULL;
    if (cmyk) {
        cmyk_row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, cinfo.output_width * 4, 1)[0];
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t * row = out->plane[0] + (size_t)cinfo.output_scanline * (size_t)out->stride[0];
        if (!cmyk) {
            jpeg_read_scanlines(&cinfo, &row, 1);
            continue;
        }
        jpeg_read_scanlines(&cinfo, &cmyk_row, 1);
        for (uint32_t x = 0; x < cinfo.output_width; x++) {
            unsigned k = cmyk_row[4 * x + 3];
            for (int c = 0; c < 3; c++) row[3 * x + c] = (uint8_t)((cmyk_row[4 * x + c] * k + 127) / 255);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (cmyk && want != EI_PIXEL_RGB) {
        ei_image conv;
        st = ei_image_alloc(want, out->width, out->height, &conv);
        if (!st) st = ei_image_convert(out, &conv);
        ei_image_free(out);
        if (st) {
            ei_image_free(&conv);
            return st;
        }
        *out = conv;
    }
    return NULL;
}

ei_status * ei_jpeg_encode(const ei_image * img, int quality, FILE * f) {
    struct jpeg_compress_struct cinfo;
    jpeg_error                  err;
    error_init(&err);
    cinfo.err = &err.mgr;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        return ei_errorf(EI_CODE_IO, "writing JPEG: %s", err.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)img->width;
    cinfo.image_height = (JDIMENSION)img->height;
    cinfo.input_components = ei_pixel_format_channels(img->format);
    cinfo.in_color_space = color_space_for(img->format);
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = img->plane[0] + (size_t)cinfo.next_scanline * (size_t)img->stride[0];
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return NULL;
}
