/* Segmentation accuracy: a confusion matrix over label maps and per-class IoU / mIoU, and a reader
 * for label PNGs that keeps palette indices as they are (ei_image_load would expand a palette to
 * colours). */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "edgeinfer/eval.h"

#define LABEL_MAX_PIXELS ((int64_t)1 << 28)

ei_status * ei_seg_confusion_create(int32_t n_classes, ei_seg_confusion ** out) {
    *out = NULL;
    if (n_classes < 1 || n_classes > 255)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segmentation classes must be 1..255, not %d", (int)n_classes);
    ei_seg_confusion * c = calloc(1, sizeof *c);
    if (!c) return ei_status_oom();
    c->n_classes = n_classes;
    c->counts = calloc((size_t)n_classes * (size_t)n_classes, sizeof *c->counts);
    c->unassigned = calloc((size_t)n_classes, sizeof *c->unassigned);
    if (!c->counts || !c->unassigned) {
        ei_seg_confusion_destroy(c);
        return ei_status_oom();
    }
    *out = c;
    return NULL;
}

void ei_seg_confusion_destroy(ei_seg_confusion * c) {
    if (!c) return;
    free(c->counts);
    free(c->unassigned);
    free(c);
}

ei_status * ei_seg_confusion_add(ei_seg_confusion * c, const uint8_t * gt, int32_t gt_stride, const uint8_t * pred,
                                 int32_t pred_stride, int32_t width, int32_t height) {
    if (!c || width < 0 || height < 0 || ((!gt || !pred) && width && height))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_seg_confusion_add: bad arguments");
    int32_t n = c->n_classes;
    /* Checked first, so a refused image adds nothing. */
    for (int32_t y = 0; y < height; y++) {
        const uint8_t * g = gt + (size_t)y * (size_t)gt_stride;
        for (int32_t x = 0; x < width; x++)
            if (g[x] >= n && g[x] != EI_SEG_IGNORE)
                return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                                 "ground-truth label %d at (%d, %d) is not a class (0..%d) nor %d (ignored)", (int)g[x],
                                 (int)x, (int)y, (int)n - 1, EI_SEG_IGNORE);
    }
    for (int32_t y = 0; y < height; y++) {
        const uint8_t * g = gt + (size_t)y * (size_t)gt_stride;
        const uint8_t * p = pred + (size_t)y * (size_t)pred_stride;
        for (int32_t x = 0; x < width; x++) {
            if (g[x] == EI_SEG_IGNORE) {
                c->n_ignored++;
                continue;
            }
            c->n_pixels++;
            if (p[x] < n)
                c->counts[(size_t)g[x] * (size_t)n + p[x]]++;
            else
                c->unassigned[g[x]]++;
        }
    }
    return NULL;
}

void ei_seg_confusion_iou(const ei_seg_confusion * c, double * iou, double * miou) {
    int32_t n = c->n_classes;
    double  sum = 0;
    int32_t m = 0;
    for (int32_t k = 0; k < n; k++) {
        int64_t tp = c->counts[(size_t)k * (size_t)n + k], gt_k = c->unassigned[k], pred_k = 0;
        for (int32_t j = 0; j < n; j++) {
            gt_k += c->counts[(size_t)k * (size_t)n + j];
            pred_k += c->counts[(size_t)j * (size_t)n + k];
        }
        int64_t uni = gt_k + pred_k - tp;
        double  v = uni > 0 ? (double)tp / (double)uni : -1;
        if (iou) iou[k] = v;
        if (uni > 0) {
            sum += v;
            m++;
        }
    }
    if (miou) *miou = m ? sum / m : -1;
}

/* ---- label PNGs ---- */

typedef struct label_reader {
    char message[256];
} label_reader;

static void on_error(png_structp png, png_const_charp msg) {
    label_reader * r = png_get_error_ptr(png);
    snprintf(r->message, sizeof r->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

ei_status * ei_label_png_load(const char * path, uint8_t ** labels, int32_t * width, int32_t * height) {
    *labels = NULL;
    *width = *height = 0;
    FILE * f = fopen(path, "rb");
    if (!f) return ei_errorf(EI_CODE_NOT_FOUND, "cannot open label PNG '%s': %s", path, strerror(errno));
    uint8_t sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "'%s' is not a PNG file (label maps are 8-bit grey or palette PNGs)",
                         path);
    }
    label_reader r = {{0}};
    png_structp  png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    png_infop    info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return ei_status_oom();
    }
    uint8_t * volatile pix = NULL;
    png_bytep * volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(pix);
        free(rows);
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "corrupt label PNG '%s': %s", path, r.message);
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int         type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if ((int64_t)w * h > LABEL_MAX_PIXELS) png_error(png, "more than 2^28 pixels");
    if ((type != PNG_COLOR_TYPE_GRAY && type != PNG_COLOR_TYPE_PALETTE) || depth > 8) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "label PNG '%s' is %s with %d-bit samples; label maps are 8-bit grey or palette PNGs whose "
                         "values are class ids (255 = ignore)",
                         path,
                         type == PNG_COLOR_TYPE_RGB          ? "RGB"
                         : type == PNG_COLOR_TYPE_RGB_ALPHA  ? "RGBA"
                         : type == PNG_COLOR_TYPE_GRAY_ALPHA ? "grey+alpha"
                                                             : "grey or palette",
                         depth);
    }
    if (depth < 8) png_set_packing(png); /* one index per byte, values unchanged */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    pix = malloc((size_t)w * h + 1);
    rows = malloc(sizeof(png_bytep) * (h + 1));
    if (!pix || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pix + (size_t)y * w;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    *labels = pix;
    *width = (int32_t)w;
    *height = (int32_t)h;
    return NULL;
}
