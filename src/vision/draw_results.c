/* Drawing inference results: detection boxes with captions, and segmentation overlays. */
#include <math.h>
#include <stdio.h>

#include "core/status.h"
#include "vision/draw_internal.h"

static ei_status * check_image(const ei_image * img, const char * what) {
    if (!img) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: image is NULL", what);
    if (!ei_draw_format(img).bpp)
        return ei_errorf(
            EI_CODE_UNSUPPORTED,
            "%s: cannot draw on a %dx%d image of pixel format %d (packed RGB, BGR, RGBA, BGRA, gray, NV12 or I420)",
            what, (int)img->width, (int)img->height, (int)img->format);
    return NULL;
}

/* A box coordinate to a pixel index, kept well inside int32 so the primitives' arithmetic is safe. */
static int32_t to_pixel(float v) {
    if (v < -1e8f) return -100000000;
    if (v > 1e8f) return 100000000;
    return (int32_t)lrintf(v);
}

ei_status * ei_draw_check_detections(ei_image * img, const ei_detection * d, int32_t n) {
    EI_TRY(check_image(img, "draw detections"));
    if (n < 0 || (n > 0 && !d))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "draw detections: %d boxes at %p", (int)n, (const void *)d);
    return NULL;
}

void ei_draw_detection_one(ei_image * img, const ei_detection * b, const char * name) {
    ei_draw_detection(img, b, name, NULL);
}

void ei_draw_detection(ei_image * img, const ei_detection * b, const char * name, const ei_draw_style * style) {
    if (!b || !ei_draw_format(img).bpp) return;
    if (isnan(b->x1) || isnan(b->y1) || isnan(b->x2) || isnan(b->y2)) return;
    const int32_t side = img->width < img->height ? img->width : img->height;
    int32_t       thickness = side / 300 > 2 ? side / 300 : 2;
    int32_t       scale = side / 540 > 1 ? side / 540 : 1;
    if (style && style->thickness > 0) thickness = style->thickness;
    if (style && style->text_scale > 0) scale = style->text_scale;
    const ei_rgb colour = ei_palette_color(b->class_id < 0 ? -1 : b->class_id + 1);
    int32_t      x1 = to_pixel(b->x1), y1 = to_pixel(b->y1), x2 = to_pixel(b->x2), y2 = to_pixel(b->y2);
    if (x2 < x1) {
        int32_t t = x1;
        x1 = x2, x2 = t;
    }
    if (y2 < y1) {
        int32_t t = y1;
        y1 = y2, y2 = t;
    }
    if (!style || !style->no_box) ei_draw_rect(img, x1, y1, x2, y2, colour, thickness);
    if (style && style->no_caption) return;

    char text[96];
    if (name)
        snprintf(text, sizeof text, "%.80s %.2f", name, (double)b->score);
    else
        snprintf(text, sizeof text, "class %d %.2f", (int)b->class_id, (double)b->score);
    int32_t tw, th;
    ei_draw_text_size(text, scale, &tw, &th);
    const int32_t cw = tw + 2 * scale, ch = th + 2 * scale;
    /* Above the box when it fits, else inside its top edge; pulled left to stay on screen. */
    int32_t cx = x1 < 0 ? 0 : x1, cy = y1 - ch >= 0 ? y1 - ch : (y1 < 0 ? 0 : y1);
    if (cx + cw > img->width) cx = img->width - cw > 0 ? img->width - cw : 0;
    const unsigned luma = 299u * colour.r + 587u * colour.g + 114u * colour.b;
    const ei_rgb   fg = luma > 128000u ? (ei_rgb){0, 0, 0} : (ei_rgb){255, 255, 255};
    ei_draw_caption(img, cx, cy, text, fg, colour, scale);
}

ei_status * ei_draw_detections_named(ei_image * img, const ei_detection * d, int32_t n, const char * const * names,
                                     int32_t n_names) {
    EI_TRY(ei_draw_check_detections(img, d, n));
    for (int32_t i = 0; i < n; i++) {
        const int32_t c = d[i].class_id;
        ei_draw_detection_one(img, &d[i], names && c >= 0 && c < n_names ? names[c] : NULL);
    }
    return NULL;
}

/* The overlay on NV12/I420: luma blended per pixel as in RGB; each chroma sample blended with the
 * colours of the painted pixels of its 2x2 block (the mean of the per-pixel blends, so a block
 * half covered gets half the tint). a is alpha in 1/256. */
static void seg_overlay_yuv(ei_image * img, const ei_draw_fmt * f, const ei_seg_map * map, uint32_t a,
                            int32_t background_class) {
    const uint32_t na = 256u - a;
    uint32_t       pre_y[256];
    uint16_t       cu[256], cv[256];
    uint8_t        paint[256];
    for (int32_t k = 0; k < 256; k++) {
        const ei_yuv q = ei_draw_rgb_to_yuv(ei_palette_color(k));
        pre_y[k] = q.y * a + 128u;
        cu[k] = q.u;
        cv[k] = q.v;
        paint[k] = k != EI_SEG_NONE && k != background_class;
    }
    const int32_t w = img->width, h = img->height;
    for (int32_t y = 0; y < h; y++) {
        const uint8_t * lab = map->labels + (int64_t)y * map->width;
        uint8_t *       p = img->plane[0] + (int64_t)y * img->stride[0];
        for (int32_t x = 0; x < w; x++) {
            const uint8_t k = lab[x];
            if (paint[k]) p[x] = (uint8_t)((p[x] * na + pre_y[k]) >> 8);
        }
    }
    const int32_t cw = (w + 1) / 2, chh = (h + 1) / 2;
    for (int32_t cy = 0; cy < chh; cy++) {
        const uint8_t * l0 = map->labels + (int64_t)(2 * cy) * map->width;
        const uint8_t * l1 = 2 * cy + 1 < h ? l0 + map->width : NULL;
        uint8_t *       pu = img->plane[1] + (int64_t)cy * img->stride[1];
        uint8_t *       pv = f->yuv == 2 ? img->plane[2] + (int64_t)cy * img->stride[2] : pu + 1;
        const int32_t   step = f->yuv == 2 ? 1 : 2;
        for (int32_t cx = 0; cx < cw; cx++) {
            /* Pixels of the block inside the image, and the painted ones' colours. */
            uint32_t n = 0, np = 0, su = 0, sv = 0;
            for (int32_t dy = 0; dy < 2; dy++) {
                const uint8_t * l = dy ? l1 : l0;
                if (!l) continue;
                for (int32_t dx = 0; dx < 2 && 2 * cx + dx < w; dx++) {
                    const uint8_t k = l[2 * cx + dx];
                    n++;
                    if (paint[k]) np++, su += cu[k], sv += cv[k];
                }
            }
            if (!np) continue;
            /* out = c * (1 - alpha * np / n) + alpha * sum / n, in 1/(256 n). */
            const uint32_t keep = 256u * n - a * np, den = 256u * n;
            uint8_t *      u = pu + (int64_t)cx * step;
            uint8_t *      v = pv + (int64_t)cx * step;
            *u = (uint8_t)((*u * keep + a * su + den / 2) / den);
            *v = (uint8_t)((*v * keep + a * sv + den / 2) / den);
        }
    }
}

ei_status * ei_draw_seg_overlay(ei_image * img, const ei_seg_map * map, float alpha, int32_t background_class) {
    EI_TRY(check_image(img, "segmentation overlay"));
    if (img->format == EI_PIXEL_GRAY)
        return ei_errorf(EI_CODE_UNSUPPORTED, "segmentation overlay: a gray image cannot show class colours");
    if (!map || !map->labels)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segmentation overlay: the map is NULL or has no labels");
    if (map->width != img->width || map->height != img->height)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segmentation overlay: map is %dx%d but the image is %dx%d",
                         (int)map->width, (int)map->height, (int)img->width, (int)img->height);
    if (!(alpha >= 0.0f && alpha <= 1.0f))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "segmentation overlay: alpha %g is outside [0, 1]", (double)alpha);
    const ei_draw_fmt f = ei_draw_format(img);
    const uint32_t    a = (uint32_t)lrintf(alpha * 256.0f), na = 256u - a;
    if (f.yuv) {
        seg_overlay_yuv(img, &f, map, a, background_class);
        return NULL;
    }
    /* Premultiplied colour per label: colour * a + 128, so each channel costs one multiply-add. */
    uint32_t pre[256][3];
    uint8_t  paint[256];
    for (int32_t k = 0; k < 256; k++) {
        ei_rgb c = ei_palette_color(k);
        pre[k][0] = c.r * a + 128u;
        pre[k][1] = c.g * a + 128u;
        pre[k][2] = c.b * a + 128u;
        paint[k] = k != EI_SEG_NONE && k != background_class;
    }
    for (int32_t y = 0; y < img->height; y++) {
        const uint8_t * lab = map->labels + (int64_t)y * map->width;
        uint8_t *       p = img->plane[0] + (int64_t)y * img->stride[0];
        for (int32_t x = 0; x < img->width; x++, p += f.bpp) {
            const uint8_t k = lab[x];
            if (!paint[k]) continue;
            p[f.r] = (uint8_t)((p[f.r] * na + pre[k][0]) >> 8);
            p[f.g] = (uint8_t)((p[f.g] * na + pre[k][1]) >> 8);
            p[f.b] = (uint8_t)((p[f.b] * na + pre[k][2]) >> 8);
        }
    }
    return NULL;
}
