/* PNG through libpng. libpng reports errors by longjmp to png_jmpbuf; each function here sets that
 * up before its first libpng call and frees everything on the way back. Palette, grey below 8 bits
 * and tRNS are expanded, 16-bit samples keep their high byte (as OpenCV does), alpha is dropped
 * (ei_image ignores alpha), and the grey or RGB result is converted to the wanted format. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "vision/image_internal.h"

typedef struct png_reader {
    const uint8_t * bytes;
    size_t          n, pos;
    char            message[256];
} png_reader;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_reader * r = png_get_error_ptr(png);
    snprintf(r->message, sizeof r->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void on_png_read(png_structp png, png_bytep dst, png_size_t len) {
    png_reader * r = png_get_io_ptr(png);
    if (len > r->n - r->pos) png_error(png, "file is truncated");
    memcpy(dst, r->bytes + r->pos, len);
    r->pos += len;
}

ei_status * ei_png_decode(const uint8_t * bytes, size_t n, ei_pixel_format want, ei_image * out) {
    memset(out, 0, sizeof *out);
    /* IHDR is always the first chunk: refuse huge images before libpng reads any further. */
    if (n >= 24 && memcmp(bytes + 12, "IHDR", 4) == 0) {
        uint32_t w = (uint32_t)bytes[16] << 24 | (uint32_t)bytes[17] << 16 | (uint32_t)bytes[18] << 8 | bytes[19];
        uint32_t h = (uint32_t)bytes[20] << 24 | (uint32_t)bytes[21] << 16 | (uint32_t)bytes[22] << 8 | bytes[23];
        if ((int64_t)w * h > EI_IMAGE_MAX_PIXELS)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "PNG of %ux%u is more than 2^28 pixels", (unsigned)w,
                             (unsigned)h);
    }
    png_reader  r = {bytes, n, 0, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_png_error, on_png_warning);
    if (!png) return ei_errorf(EI_CODE_OUT_OF_MEMORY, "PNG: cannot create a reader");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ei_errorf(EI_CODE_OUT_OF_MEMORY, "PNG: cannot create a reader");
    }
    /* Kept in memory that survives the longjmp: the decoded image and its row pointers. */
    ei_image * volatile native = calloc(1, sizeof(ei_image));
    png_bytep * volatile rows = NULL;
    if (!native) {
        png_destroy_read_struct(&png, &info, NULL);
        return ei_errorf(EI_CODE_OUT_OF_MEMORY, "PNG: cannot create a reader");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        ei_image_free(native);
        free(native);
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "corrupt PNG: %s", r.message);
    }
    png_set_read_fn(png, &r, on_png_read);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((int64_t)w * h > EI_IMAGE_MAX_PIXELS) {
        png_destroy_read_struct(&png, &info, NULL);
        free(native);
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "PNG of %ux%u is more than 2^28 pixels", (unsigned)w, (unsigned)h);
    }
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int             channels = png_get_channels(png, info);
    ei_pixel_format fmt = channels == 1 ? EI_PIXEL_GRAY : EI_PIXEL_RGB;
    if (channels != 1 && channels != 3) png_error(png, "unexpected channel count after expansion");
    ei_status * st = ei_image_alloc(fmt, (int32_t)w, (int32_t)h, native);
    if (st) {
        png_destroy_read_struct(&png, &info, NULL);
        free(native);
        return st;
    }
    rows = malloc(sizeof(png_bytep) * h);
    if (!rows) png_error(png, "out of memory for row pointers");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = native->plane[0] + (size_t)y * (size_t)native->stride[0];
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    ei_image img = *native;
    free(native);
    if (img.format == want) {
        *out = img;
        return NULL;
    }
    st = ei_image_alloc(want, img.width, img.height, out);
    if (!st) st = ei_image_convert(&img, out);
    ei_image_free(&img);
    if (st) ei_image_free(out);
    return st;
}

typedef struct png_writer {
    char message[256];
} png_writer;

static void on_png_write_error(png_structp png, png_const_charp msg) {
    png_writer * wr = png_get_error_ptr(png);
    snprintf(wr->message, sizeof wr->message, "%s", msg);
    png_longjmp(png, 1);
}

ei_status * ei_png_encode(const ei_image * img, FILE * f) {
    png_writer  wr = {{0}};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &wr, on_png_write_error, on_png_warning);
    if (!png) return ei_errorf(EI_CODE_OUT_OF_MEMORY, "PNG: cannot create a writer");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return ei_errorf(EI_CODE_OUT_OF_MEMORY, "PNG: cannot create a writer");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return ei_errorf(EI_CODE_IO, "writing PNG: %s", wr.message);
    }
    png_init_io(png, f);
    int gray = img->format == EI_PIXEL_GRAY;
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 gray ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    if (img->format == EI_PIXEL_BGR) png_set_bgr(png);
    for (int32_t y = 0; y < img->height; y++) png_write_row(png, img->plane[0] + (size_t)y * (size_t)img->stride[0]);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return NULL;
}
