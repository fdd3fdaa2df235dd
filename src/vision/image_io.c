/* Image files: reading whole files, choosing the decoder by magic bytes, and saving through a
 * temporary file that is renamed into place only when complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_atomic.h"
#include "core/status.h"
#include "edgeinfer/image.h"
#include "vision/image_internal.h"

static const uint8_t k_png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static ei_status * decode(const uint8_t * b, size_t n, ei_pixel_format want, int32_t min_w, int32_t min_h,
                          ei_image * out) {
    if (!out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "decoding an image: out is NULL");
    memset(out, 0, sizeof *out);
    if (!ei_image_format_is_packed(want))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "decoding an image: format %s is not rgb, bgr, rgba, bgra or gray",
                         ei_pixel_format_name(want));
    if (!b && n) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "decoding an image: bytes are NULL");
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return ei_jpeg_decode(b, n, want, min_w, min_h, out);
    if (n >= 8 && memcmp(b, k_png_magic, 8) == 0) return ei_png_decode(b, n, want, out);
    return ei_errorf(EI_CODE_UNSUPPORTED, "not a JPEG or PNG image (%zu bytes, unknown signature)", n);
}

ei_status * ei_image_decode(const void * bytes, size_t n_bytes, ei_pixel_format want, ei_image * out) {
    return decode(bytes, n_bytes, want, 0, 0, out);
}

ei_status * ei_image_decode_scaled(const void * bytes, size_t n_bytes, ei_pixel_format want, int32_t min_width,
                                   int32_t min_height, ei_image * out) {
    return decode(bytes, n_bytes, want, min_width, min_height, out);
}

static ei_status * read_file(const char * path, uint8_t ** bytes, size_t * n) {
    FILE * f = fopen(path, "rb");
    if (!f) return ei_errorf(errno == ENOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO, "%s: %s", path, strerror(errno));
    struct stat s;
    if (fstat(fileno(f), &s) != 0 || !S_ISREG(s.st_mode)) {
        fclose(f);
        return ei_errorf(EI_CODE_IO, "%s: not a regular file", path);
    }
    size_t    size = (size_t)s.st_size;
    uint8_t * b = malloc(size ? size : 1);
    if (!b) {
        fclose(f);
        return ei_errorf(EI_CODE_OUT_OF_MEMORY, "%s: %zu bytes", path, size);
    }
    size_t got = fread(b, 1, size, f);
    fclose(f);
    if (got != size) {
        free(b);
        return ei_errorf(EI_CODE_IO, "%s: read %zu of %zu bytes", path, got, size);
    }
    *bytes = b;
    *n = size;
    return NULL;
}

static ei_status * load(const char * path, ei_pixel_format want, int32_t min_w, int32_t min_h, ei_image * out) {
    if (!path || !out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_load: NULL path or output");
    memset(out, 0, sizeof *out);
    uint8_t * b = NULL;
    size_t    n = 0;
    EI_TRY(read_file(path, &b, &n));
    ei_status * st = decode(b, n, want, min_w, min_h, out);
    free(b);
    return ei_status_wrapf(st, "%s", path);
}

ei_status * ei_image_load(const char * path, ei_pixel_format want, ei_image * out) {
    return load(path, want, 0, 0, out);
}

ei_status * ei_image_load_scaled(const char * path, ei_pixel_format want, int32_t min_width, int32_t min_height,
                                 ei_image * out) {
    return load(path, want, min_width, min_height, out);
}

static int has_ext(const char * path, const char * ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

typedef struct image_write {
    const ei_image * img;
    int              jpeg, quality;
} image_write;

static ei_status * write_image(FILE * f, void * user) {
    const image_write * w = user;
    return w->jpeg ? ei_jpeg_encode(w->img, w->quality, f) : ei_png_encode(w->img, f);
}

ei_status * ei_image_save(const ei_image * img, const char * path, int quality) {
    if (!img || !path || !img->plane[0]) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_image_save: NULL argument");
    int jpeg = has_ext(path, ".jpg") || has_ext(path, ".jpeg");
    if (!jpeg && !has_ext(path, ".png"))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: unknown image extension (want .png, .jpg or .jpeg)", path);
    if (img->format != EI_PIXEL_RGB && img->format != EI_PIXEL_BGR && img->format != EI_PIXEL_GRAY)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: cannot save a %s image (rgb, bgr or gray only)", path,
                         ei_pixel_format_name(img->format));
    if (quality < 0 || quality > 100)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: JPEG quality %d is not in 1..100 (0 = 90)", path, quality);
    image_write w = {img, jpeg, quality ? quality : 90};
    return ei_status_wrapf(ei_file_write_atomic(path, write_image, &w), "%s", path);
}
