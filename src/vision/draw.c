/* Drawing primitives: filled and outlined rectangles, 8x8-font text and captions. Every primitive
 * clips in 64-bit arithmetic first, so no coordinate can index outside the image.
 *
 * NV12 and I420 are drawn in place: luma per pixel, chroma per 2x2 block (a span that touches a
 * block, even by one pixel on an odd coordinate, colours all of it). Chroma planes are
 * ceil(w/2) x ceil(h/2), so odd-sized views are safe too. */
#include <string.h>

#include "vision/draw_internal.h"
#include "vision/font8x8.h"

ei_draw_fmt ei_draw_format(const ei_image * img) {
    ei_draw_fmt f = {0, 0, 0, 0, 0, 0};
    if (!img || !img->plane[0] || img->width <= 0 || img->height <= 0) return f;
    switch (img->format) {
    case EI_PIXEL_RGB: f = (ei_draw_fmt){3, 0, 1, 2, 0, 0}; break;
    case EI_PIXEL_BGR: f = (ei_draw_fmt){3, 2, 1, 0, 0, 0}; break;
    case EI_PIXEL_RGBA: f = (ei_draw_fmt){4, 0, 1, 2, 0, 0}; break;
    case EI_PIXEL_BGRA: f = (ei_draw_fmt){4, 2, 1, 0, 0, 0}; break;
    case EI_PIXEL_GRAY: f = (ei_draw_fmt){1, 0, 0, 0, 1, 0}; break;
    case EI_PIXEL_NV12:
        if (img->plane[1]) f = (ei_draw_fmt){1, 0, 0, 0, 0, 1};
        break;
    case EI_PIXEL_I420:
        if (img->plane[1] && img->plane[2]) f = (ei_draw_fmt){1, 0, 0, 0, 0, 2};
        break;
    default: break;
    }
    return f;
}

static uint8_t clamp_u8(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

ei_yuv ei_draw_rgb_to_yuv(ei_rgb c) {
    /* BT.601 limited range in 16-bit fixed point (Y = 16 + 0.2568 R + 0.5041 G + 0.0979 B, ...):
     * the inverse of image_convert.c's coefficients, so a colour survives the round trip. */
    const int32_t r = c.r, g = c.g, b = c.b;
    ei_yuv        o;
    o.y = clamp_u8(((16829 * r + 33039 * g + 6416 * b + 32768) >> 16) + 16);
    o.u = clamp_u8((-9714 * r - 19070 * g + 28784 * b + (128 << 16) + 32768) >> 16);
    o.v = clamp_u8((28784 * r - 24103 * g - 4681 * b + (128 << 16) + 32768) >> 16);
    return o;
}

/* fill_clipped for NV12/I420, on an already clipped span. */
static void fill_yuv(ei_image * img, const ei_draw_fmt * f, int64_t x1, int64_t y1, int64_t x2, int64_t y2, ei_rgb c) {
    const ei_yuv q = ei_draw_rgb_to_yuv(c);
    const size_t n = (size_t)(x2 - x1 + 1);
    for (int64_t y = y1; y <= y2; y++) memset(img->plane[0] + y * img->stride[0] + x1, q.y, n);
    const int64_t cx1 = x1 >> 1, cx2 = x2 >> 1, cn = cx2 - cx1 + 1;
    for (int64_t cy = y1 >> 1; cy <= y2 >> 1; cy++) {
        if (f->yuv == 2) {
            memset(img->plane[1] + cy * img->stride[1] + cx1, q.u, (size_t)cn);
            memset(img->plane[2] + cy * img->stride[2] + cx1, q.v, (size_t)cn);
        } else {
            uint8_t * p = img->plane[1] + cy * img->stride[1] + 2 * cx1;
            for (int64_t i = 0; i < cn; i++, p += 2) p[0] = q.u, p[1] = q.v;
        }
    }
}

/* Fills the clipped span [x1, x2] x [y1, y2] (inclusive, any values, x1 <= x2 and y1 <= y2). */
static void fill_clipped(ei_image * img, const ei_draw_fmt * f, int64_t x1, int64_t y1, int64_t x2, int64_t y2,
                         ei_rgb c) {
    if (x1 < 0) x1 = 0;
    if (y1 < 0) y1 = 0;
    if (x2 > img->width - 1) x2 = img->width - 1;
    if (y2 > img->height - 1) y2 = img->height - 1;
    if (x1 > x2 || y1 > y2) return;
    if (f->yuv) {
        fill_yuv(img, f, x1, y1, x2, y2, c);
        return;
    }
    const uint8_t luma = (uint8_t)((299u * c.r + 587u * c.g + 114u * c.b + 500u) / 1000u);
    for (int64_t y = y1; y <= y2; y++) {
        uint8_t * p = img->plane[0] + y * img->stride[0] + x1 * f->bpp;
        for (int64_t x = x1; x <= x2; x++, p += f->bpp) {
            if (f->gray) {
                p[0] = luma;
            } else {
                p[f->r] = c.r;
                p[f->g] = c.g;
                p[f->b] = c.b;
            }
        }
    }
}

void ei_draw_fill_rect(ei_image * img, int32_t x1, int32_t y1, int32_t x2, int32_t y2, ei_rgb color) {
    ei_draw_fmt f = ei_draw_format(img);
    if (!f.bpp) return;
    if (x2 < x1) {
        int32_t t = x1;
        x1 = x2, x2 = t;
    }
    if (y2 < y1) {
        int32_t t = y1;
        y1 = y2, y2 = t;
    }
    fill_clipped(img, &f, x1, y1, x2, y2, color);
}

void ei_draw_rect(ei_image * img, int32_t x1, int32_t y1, int32_t x2, int32_t y2, ei_rgb color, int32_t thickness) {
    ei_draw_fmt f = ei_draw_format(img);
    if (!f.bpp) return;
    if (x2 < x1) {
        int32_t t = x1;
        x1 = x2, x2 = t;
    }
    if (y2 < y1) {
        int32_t t = y1;
        y1 = y2, y2 = t;
    }
    const int64_t t = thickness < 1 ? 1 : thickness;
    const int64_t a = x1, b = y1, c = x2, d = y2;
    /* A border thicker than half the box fills it. */
    if (2 * t >= c - a + 1 || 2 * t >= d - b + 1) {
        fill_clipped(img, &f, a, b, c, d, color);
        return;
    }
    fill_clipped(img, &f, a, b, c, b + t - 1, color);         /* top */
    fill_clipped(img, &f, a, d - t + 1, c, d, color);         /* bottom */
    fill_clipped(img, &f, a, b + t, a + t - 1, d - t, color); /* left */
    fill_clipped(img, &f, c - t + 1, b + t, c, d - t, color); /* right */
}

void ei_draw_text_size(const char * text, int32_t scale, int32_t * width, int32_t * height) {
    if (scale < 1) scale = 1;
    size_t  n = text ? strlen(text) : 0;
    int64_t w = (int64_t)n * 8 * scale;
    if (width) *width = w > INT32_MAX ? INT32_MAX : (int32_t)w;
    if (height) *height = 8 * scale;
}

void ei_draw_text(ei_image * img, int32_t x, int32_t y, const char * text, ei_rgb color, int32_t scale) {
    ei_draw_fmt f = ei_draw_format(img);
    if (!f.bpp || !text) return;
    if (scale < 1) scale = 1;
    const int64_t s = scale;
    int64_t       gx = x;
    for (const char * p = text; *p; p++, gx += 8 * s) {
        if (gx >= img->width) break; /* the rest is right of the image */
        if (gx + 8 * s <= 0) continue;
        unsigned ch = (unsigned char)*p;
        if (ch < EI_FONT8X8_FIRST || ch > EI_FONT8X8_LAST) ch = '?';
        const uint8_t * glyph = ei_font8x8[ch - EI_FONT8X8_FIRST];
        for (int64_t row = 0; row < 8; row++) {
            const int64_t py = (int64_t)y + row * s;
            if (py >= img->height || py + s <= 0) continue;
            for (int64_t col = 0; col < 8; col++)
                if (glyph[row] >> col & 1u)
                    fill_clipped(img, &f, gx + col * s, py, gx + col * s + s - 1, py + s - 1, color);
        }
    }
}

void ei_draw_caption(ei_image * img, int32_t x, int32_t y, const char * text, ei_rgb fg, ei_rgb bg, int32_t scale) {
    ei_draw_fmt f = ei_draw_format(img);
    if (!f.bpp || !text) return;
    if (scale < 1) scale = 1;
    int32_t tw, th;
    ei_draw_text_size(text, scale, &tw, &th);
    fill_clipped(img, &f, x, y, (int64_t)x + tw + 2 * scale - 1, (int64_t)y + th + 2 * scale - 1, bg);
    int64_t tx = (int64_t)x + scale, ty = (int64_t)y + scale;
    if (tx <= INT32_MAX && ty <= INT32_MAX) ei_draw_text(img, (int32_t)tx, (int32_t)ty, text, fg, scale);
}
