/* Drawing: pixels of rectangles, glyphs, captions, detections and overlays, in RGB and BGR, with
 * clipping at every edge (ASan builds check that nothing is written out of bounds). */
#include <stdint.h>
#include <stdlib.h>

#include "edgeinfer/draw.h"
#include "ei_test.h"

/* A heap image with exact-size rows, so ASan sees any write past the pixels. */
static ei_image make_image(ei_pixel_format f, int32_t w, int32_t h, uint8_t fill) {
    int      bpp = f == EI_PIXEL_GRAY ? 1 : (f == EI_PIXEL_RGBA || f == EI_PIXEL_BGRA) ? 4 : 3;
    ei_image img;
    memset(&img, 0, sizeof img);
    img.format = f;
    img.width = w;
    img.height = h;
    img.stride[0] = w * bpp;
    img.plane[0] = malloc((size_t)w * h * bpp);
    memset(img.plane[0], fill, (size_t)w * h * bpp);
    return img;
}

static const uint8_t * px(const ei_image * img, int x, int y) {
    int bpp = img->stride[0] / img->width;
    return img->plane[0] + y * img->stride[0] + x * bpp;
}

static int is_rgb(const ei_image * img, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    const uint8_t * p = px(img, x, y);
    if (img->format == EI_PIXEL_BGR) return p[0] == b && p[1] == g && p[2] == r;
    return p[0] == r && p[1] == g && p[2] == b;
}

static void test_palette(void) {
    ei_rgb c = ei_palette_color(0);
    EI_CHECK(c.r == 0 && c.g == 0 && c.b == 0);
    c = ei_palette_color(1);
    EI_CHECK(c.r == 128 && c.g == 0 && c.b == 0);
    c = ei_palette_color(12); /* VOC dog */
    EI_CHECK(c.r == 64 && c.g == 0 && c.b == 128);
    c = ei_palette_color(15); /* VOC person */
    EI_CHECK(c.r == 192 && c.g == 128 && c.b == 128);
    c = ei_palette_color(255);
    EI_CHECK(c.r == 224 && c.g == 224 && c.b == 192);
    c = ei_palette_color(-1);
    EI_CHECK(c.r == 255 && c.g == 255 && c.b == 255);
}

static void test_rect(void) {
    for (int f = 0; f < 2; f++) {
        ei_image img = make_image(f ? EI_PIXEL_BGR : EI_PIXEL_RGB, 20, 16, 7);
        ei_draw_rect(&img, 2, 3, 12, 10, (ei_rgb){10, 20, 30}, 2);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 20; x++) {
                int inside = x >= 2 && x <= 12 && y >= 3 && y <= 10;
                int hollow = x >= 4 && x <= 10 && y >= 5 && y <= 8;
                if (inside && !hollow)
                    EI_CHECK(is_rgb(&img, x, y, 10, 20, 30));
                else
                    EI_CHECK(is_rgb(&img, x, y, 7, 7, 7));
            }
        /* Corners given in the other order draw the same box. */
        ei_image img2 = make_image(img.format, 20, 16, 7);
        ei_draw_rect(&img2, 12, 10, 2, 3, (ei_rgb){10, 20, 30}, 2);
        EI_CHECK(memcmp(img.plane[0], img2.plane[0], 20 * 16 * 3) == 0);
        free(img.plane[0]);
        free(img2.plane[0]);
    }
}

static void test_rect_clipping(void) {
    ei_image img = make_image(EI_PIXEL_RGB, 10, 8, 0);
    /* Half outside on the left and bottom: the visible part of the border is drawn. */
    ei_draw_rect(&img, -5, 2, 4, 20, (ei_rgb){255, 0, 0}, 1);
    EI_CHECK(is_rgb(&img, 0, 2, 255, 0, 0) && is_rgb(&img, 4, 2, 255, 0, 0) && is_rgb(&img, 4, 7, 255, 0, 0));
    EI_CHECK(is_rgb(&img, 0, 3, 0, 0, 0) && is_rgb(&img, 5, 2, 0, 0, 0));
    /* Fully outside, huge, and extreme coordinates: nothing written, nothing crashes. */
    memset(img.plane[0], 0, 10 * 8 * 3);
    ei_draw_rect(&img, 20, 20, 40, 40, (ei_rgb){1, 1, 1}, 3);
    ei_draw_rect(&img, -40, -40, -1, -1, (ei_rgb){1, 1, 1}, 3);
    ei_draw_rect(&img, INT32_MIN, INT32_MIN, INT32_MIN + 5, INT32_MAX, (ei_rgb){1, 1, 1}, INT32_MAX);
    ei_draw_rect(&img, INT32_MAX - 3, 0, INT32_MAX, 5, (ei_rgb){1, 1, 1}, 2);
    ei_draw_fill_rect(&img, 10, 0, 100, 100, (ei_rgb){1, 1, 1});
    int touched = 0;
    for (int i = 0; i < 10 * 8 * 3; i++) touched |= img.plane[0][i];
    EI_CHECK(touched == 0);
    /* Covering the whole image with a huge box draws only its (off-screen) border: untouched. */
    ei_draw_rect(&img, -100, -100, 100, 100, (ei_rgb){1, 1, 1}, 2);
    for (int i = 0; i < 10 * 8 * 3; i++) touched |= img.plane[0][i];
    EI_CHECK(touched == 0);
    /* Thickness larger than the box fills it. */
    ei_draw_rect(&img, 1, 1, 3, 3, (ei_rgb){9, 9, 9}, 5);
    EI_CHECK(is_rgb(&img, 2, 2, 9, 9, 9));
    ei_draw_rect(NULL, 0, 0, 1, 1, (ei_rgb){1, 1, 1}, 1);
    free(img.plane[0]);
}

/* 'A' in the font: rows 0x0C 0x1E 0x33 0x33 0x3F 0x33 0x33 0x00, bit 0 leftmost. */
static void test_glyph(void) {
    static const uint8_t A[8] = {0x0C, 0x1E, 0x33, 0x33, 0x3F, 0x33, 0x33, 0x00};
    for (int scale = 1; scale <= 2; scale++) {
        ei_image img = make_image(EI_PIXEL_BGR, 20, 20, 0);
        ei_draw_text(&img, 1, 2, "A", (ei_rgb){200, 100, 50}, scale);
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 20; x++) {
                int gx = (x - 1) / scale, gy = (y - 2) / scale;
                int on = x >= 1 && y >= 2 && gx < 8 && gy < 8 && (A[gy] >> gx & 1);
                EI_CHECK(on ? is_rgb(&img, x, y, 200, 100, 50) : is_rgb(&img, x, y, 0, 0, 0));
            }
        free(img.plane[0]);
    }
    /* A non-ASCII byte draws '?' */
    ei_image a = make_image(EI_PIXEL_RGB, 8, 8, 0), b = make_image(EI_PIXEL_RGB, 8, 8, 0);
    ei_draw_text(&a, 0, 0, "\x80", (ei_rgb){255, 255, 255}, 1);
    ei_draw_text(&b, 0, 0, "?", (ei_rgb){255, 255, 255}, 1);
    EI_CHECK(memcmp(a.plane[0], b.plane[0], 8 * 8 * 3) == 0);
    EI_CHECK(is_rgb(&b, 1, 0, 255, 255, 255) && is_rgb(&b, 0, 0, 0, 0, 0)); /* '?' row 0 is 0x1E */
    int32_t w, h;
    ei_draw_text_size("abc", 3, &w, &h);
    EI_CHECK(w == 72 && h == 24);
    free(a.plane[0]);
    free(b.plane[0]);
}

static void test_text_clipping(void) {
    ei_image img = make_image(EI_PIXEL_RGB, 12, 6, 0);
    /* Partly off every edge; long text; extreme origins. */
    ei_draw_text(&img, -3, -3, "HELLO WORLD", (ei_rgb){255, 255, 255}, 1);
    ei_draw_text(&img, 7, 3, "XYZ", (ei_rgb){255, 255, 255}, 4);
    ei_draw_text(&img, INT32_MAX - 2, INT32_MAX - 2, "W", (ei_rgb){255, 255, 255}, INT32_MAX);
    ei_draw_text(&img, INT32_MIN, INT32_MIN, "WWWW", (ei_rgb){255, 255, 255}, 1000);
    ei_draw_caption(&img, -2, 4, "cap", (ei_rgb){0, 0, 0}, (ei_rgb){9, 9, 9}, 2);
    /* "H" at x = -3, y = -3: glyph column 3 of row 3 (0x3F has bit 3) lands on pixel (0, 0). */
    EI_CHECK(!is_rgb(&img, 0, 0, 0, 0, 0));
    ei_draw_text(&img, 0, 0, NULL, (ei_rgb){1, 1, 1}, 1);
    free(img.plane[0]);
}

static void test_caption(void) {
    ei_image img = make_image(EI_PIXEL_RGB, 30, 12, 0);
    ei_draw_caption(&img, 1, 1, "I", (ei_rgb){255, 255, 255}, (ei_rgb){0, 0, 200}, 1);
    /* Box: x 1..10, y 1..10; text at (2, 2): 'I' row 0 is 0x1E -> pixels x 3..6 of row 2. */
    EI_CHECK(is_rgb(&img, 1, 1, 0, 0, 200) && is_rgb(&img, 10, 10, 0, 0, 200) && is_rgb(&img, 2, 2, 0, 0, 200));
    EI_CHECK(is_rgb(&img, 3, 2, 255, 255, 255) && is_rgb(&img, 6, 2, 255, 255, 255));
    EI_CHECK(is_rgb(&img, 11, 1, 0, 0, 0) && is_rgb(&img, 0, 0, 0, 0, 0) && is_rgb(&img, 1, 11, 0, 0, 0));
    free(img.plane[0]);
}

static void test_detections(void) {
    ei_image     img = make_image(EI_PIXEL_RGB, 64, 48, 0);
    ei_detection d[4] = {
        {10.2f, 20.0f, 40.0f, 40.0f, 0.875f, 11},  /* dog: palette 12 */
        {-50.0f, -50.0f, 500.0f, 500.0f, 0.5f, 0}, /* covers the image */
        {NAN, 0.0f, 5.0f, 5.0f, 0.9f, 1},          /* skipped */
        {1e30f, -1e30f, INFINITY, -INFINITY, 0.9f, 300},
    };
    const char * names[12] = {"person", [11] = "dog"};
    EI_CHECK_OK(ei_draw_detections_named(&img, d, 1, names, 12));
    ei_rgb dog = ei_palette_color(12);
    /* Border 2 px (min side 48 / 300 < 2) at x 10..11 on rows 20..40 */
    EI_CHECK(is_rgb(&img, 10, 30, dog.r, dog.g, dog.b) && is_rgb(&img, 11, 30, dog.r, dog.g, dog.b));
    EI_CHECK(is_rgb(&img, 12, 30, 0, 0, 0));
    EI_CHECK(is_rgb(&img, 40, 40, dog.r, dog.g, dog.b) && is_rgb(&img, 25, 39, dog.r, dog.g, dog.b));
    /* Caption "dog 0.88" (72 px wide): above the box at y 10..19, shifted left to fit: x 0..63 */
    EI_CHECK(is_rgb(&img, 0, 10, dog.r, dog.g, dog.b) && is_rgb(&img, 63, 19, dog.r, dog.g, dog.b));
    EI_CHECK(is_rgb(&img, 0, 9, 0, 0, 0));
    EI_CHECK_OK(ei_draw_detections_named(&img, d + 1, 3, NULL, 0));
    EI_CHECK_ERROR(ei_draw_detections_named(&img, NULL, 2, NULL, 0), EI_CODE_INVALID_ARGUMENT, "2 boxes");
    EI_CHECK_ERROR(ei_draw_detections_named(NULL, d, 1, NULL, 0), EI_CODE_INVALID_ARGUMENT, "image is NULL");
    ei_image nv = img;
    nv.format = EI_PIXEL_NV12;
    EI_CHECK_ERROR(ei_draw_detections_named(&nv, d, 1, NULL, 0), EI_CODE_UNSUPPORTED, "cannot draw on a 64x48");
    free(img.plane[0]);
}

static void test_overlay(void) {
    for (int f = 0; f < 2; f++) {
        ei_image   img = make_image(f ? EI_PIXEL_BGR : EI_PIXEL_RGB, 4, 1, 100);
        uint8_t    labels[4] = {0, 15, EI_SEG_NONE, 1};
        ei_seg_map map = {4, 1, 21, labels, NULL};
        EI_CHECK_OK(ei_draw_seg_overlay(&img, &map, 0.5f, 0));
        /* a = 128: out = (100 * 128 + c * 128 + 128) >> 8 */
        EI_CHECK(is_rgb(&img, 0, 0, 100, 100, 100)); /* background */
        EI_CHECK(is_rgb(&img, 1, 0, (100 * 128 + 192 * 128 + 128) >> 8, (100 * 128 + 128 * 128 + 128) >> 8,
                        (100 * 128 + 128 * 128 + 128) >> 8));
        EI_CHECK(is_rgb(&img, 2, 0, 100, 100, 100)); /* below threshold */
        EI_CHECK(is_rgb(&img, 3, 0, 114, 50, 50));   /* (100*128 + 128*128 + 128) >> 8 = 114; 50 */
        /* alpha 1 paints the colour exactly, alpha 0 leaves the pixel; -1 colours class 0 too. */
        EI_CHECK_OK(ei_draw_seg_overlay(&img, &map, 1.0f, -1));
        EI_CHECK(is_rgb(&img, 0, 0, 0, 0, 0) && is_rgb(&img, 1, 0, 192, 128, 128) && is_rgb(&img, 3, 0, 128, 0, 0));
        EI_CHECK(is_rgb(&img, 2, 0, 100, 100, 100));
        memset(img.plane[0], 77, 12);
        EI_CHECK_OK(ei_draw_seg_overlay(&img, &map, 0.0f, -1));
        EI_CHECK(is_rgb(&img, 1, 0, 77, 77, 77));
        /* 0.3 -> a = lrintf(76.8) = 77: (77 * 179 + 192 * 77 + 128) >> 8 = 112 */
        EI_CHECK_OK(ei_draw_seg_overlay(&img, &map, 0.3f, 0));
        EI_CHECK(is_rgb(&img, 1, 0, 112, 92, 92)); /* (77*179 + 128*77 + 128) >> 8 = 92 */
        EI_CHECK_ERROR(ei_draw_seg_overlay(&img, &map, 1.5f, 0), EI_CODE_INVALID_ARGUMENT, "alpha 1.5");
        EI_CHECK_ERROR(ei_draw_seg_overlay(&img, &map, NAN, 0), EI_CODE_INVALID_ARGUMENT, "alpha nan");
        ei_seg_map small = {3, 1, 21, labels, NULL};
        EI_CHECK_ERROR(ei_draw_seg_overlay(&img, &small, 0.5f, 0), EI_CODE_INVALID_ARGUMENT,
                       "map is 3x1 but the image is 4x1");
        free(img.plane[0]);
    }
    ei_image   g = make_image(EI_PIXEL_GRAY, 2, 1, 0);
    uint8_t    lab[2] = {1, 1};
    ei_seg_map map = {2, 1, 2, lab, NULL};
    EI_CHECK_ERROR(ei_draw_seg_overlay(&g, &map, 0.5f, 0), EI_CODE_UNSUPPORTED, "gray");
    /* Gray images still take boxes and text, as luma. */
    ei_draw_fill_rect(&g, 0, 0, 0, 0, (ei_rgb){255, 255, 255});
    EI_CHECK(g.plane[0][0] == 255 && g.plane[0][1] == 0);
    free(g.plane[0]);
}

/* RGBA: colours land in the right bytes and alpha is untouched. */
static void test_rgba(void) {
    ei_image img = make_image(EI_PIXEL_BGRA, 2, 1, 9);
    ei_draw_fill_rect(&img, 0, 0, 0, 0, (ei_rgb){1, 2, 3});
    EI_CHECK(img.plane[0][0] == 3 && img.plane[0][1] == 2 && img.plane[0][2] == 1 && img.plane[0][3] == 9);
    EI_CHECK(img.plane[0][4] == 9);
    free(img.plane[0]);
}

int main(void) {
    EI_RUN(test_palette);
    EI_RUN(test_rect);
    EI_RUN(test_rect_clipping);
    EI_RUN(test_glyph);
    EI_RUN(test_text_clipping);
    EI_RUN(test_caption);
    EI_RUN(test_detections);
    EI_RUN(test_overlay);
    EI_RUN(test_rgba);
    EI_TEST_EXIT();
}
