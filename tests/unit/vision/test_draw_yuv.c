/* Drawing on NV12 and I420 in place: the same drawing done on RGB and on YUV, the YUV result
 * converted back to RGB with ei_image_convert, must put luma on exactly the same pixels (Y within 1
 * level of the RGB pixel's BT.601 luma) and give every uniformly coloured 2x2 block the same colour
 * within COLOUR_TOL levels. Clipping: boxes partly and fully outside, odd sizes, 1x1 frames, with
 * padded rows whose padding must stay untouched (and exact-size planes for ASan). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/draw.h"
#include "ei_test.h"

enum { PAD = 5, GUARD = 0xA5 };
#define COLOUR_TOL 4 /* RGB levels after the YUV round trip (Y and U/V quantisation) */

/* A YUV view with PAD guard bytes after each row, planes allocated to their exact size. */
static ei_image make_yuv(ei_pixel_format f, int32_t w, int32_t h) {
    ei_image img;
    memset(&img, 0, sizeof img);
    img.format = f;
    img.width = w;
    img.height = h;
    const int32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    img.stride[0] = w + PAD;
    img.plane[0] = malloc((size_t)img.stride[0] * (size_t)h);
    memset(img.plane[0], GUARD, (size_t)img.stride[0] * (size_t)h);
    if (f == EI_PIXEL_NV12) {
        img.stride[1] = 2 * cw + PAD;
        img.plane[1] = malloc((size_t)img.stride[1] * (size_t)ch);
        memset(img.plane[1], GUARD, (size_t)img.stride[1] * (size_t)ch);
    } else {
        for (int p = 1; p < 3; p++) {
            img.stride[p] = cw + PAD;
            img.plane[p] = malloc((size_t)img.stride[p] * (size_t)ch);
            memset(img.plane[p], GUARD, (size_t)img.stride[p] * (size_t)ch);
        }
    }
    /* A luma gradient on neutral chroma. */
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) img.plane[0][y * img.stride[0] + x] = (uint8_t)(40 + (x * 3 + y * 5) % 160);
    for (int32_t y = 0; y < ch; y++) {
        if (f == EI_PIXEL_NV12) {
            memset(img.plane[1] + y * img.stride[1], 128, (size_t)(2 * cw));
        } else {
            memset(img.plane[1] + y * img.stride[1], 128, (size_t)cw);
            memset(img.plane[2] + y * img.stride[2], 128, (size_t)cw);
        }
    }
    return img;
}

static void free_yuv(ei_image * img) {
    for (int p = 0; p < 3; p++) free(img->plane[p]);
}

/* 1 when every padding byte after each row of each plane still holds GUARD. */
static int guards_intact(const ei_image * img) {
    const int32_t cw = (img->width + 1) / 2, ch = (img->height + 1) / 2;
    const int     planes = img->format == EI_PIXEL_NV12 ? 2 : 3;
    for (int p = 0; p < planes; p++) {
        const int32_t rows = p ? ch : img->height;
        const int32_t used = p == 0 ? img->width : (img->format == EI_PIXEL_NV12 ? 2 * cw : cw);
        for (int32_t y = 0; y < rows; y++)
            for (int32_t x = used; x < img->stride[p]; x++)
                if (img->plane[p][y * img->stride[p] + x] != GUARD) return 0;
    }
    return 1;
}

static ei_image to_rgb(const ei_image * yuv) {
    ei_image rgb;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_RGB, yuv->width, yuv->height, &rgb));
    EI_CHECK_OK(ei_image_convert(yuv, &rgb));
    return rgb;
}

static double luma601(const uint8_t * p) { return 16.0 + 0.256788 * p[0] + 0.504129 * p[1] + 0.097906 * p[2]; }

/* Compares yuv (drawn) with ref (the same drawing on RGB, from yuv's original pixels). */
static int32_t compare(const ei_image * yuv, const ei_image * ref, double y_tol, const char * what) {
    ei_image out = to_rgb(yuv);
    int32_t  bad_y = 0, bad_c = 0, blocks = 0;
    for (int32_t y = 0; y < yuv->height; y++)
        for (int32_t x = 0; x < yuv->width; x++) {
            const double want = luma601(ref->plane[0] + y * ref->stride[0] + 3 * x);
            const double got = yuv->plane[0][y * yuv->stride[0] + x];
            if (fabs(got - want) > y_tol && bad_y++ < 3)
                printf("%s: %dx%d %s pixel (%d, %d): Y %g, RGB drawing's luma %.2f\n", what, (int)yuv->width,
                       (int)yuv->height, ei_pixel_format_name(yuv->format), (int)x, (int)y, got, want);
        }
    /* Uniform 2x2 blocks of the RGB drawing: the colour must survive. */
    for (int32_t y = 0; y + 1 < yuv->height; y += 2)
        for (int32_t x = 0; x + 1 < yuv->width; x += 2) {
            const uint8_t * r0 = ref->plane[0] + y * ref->stride[0] + 3 * x;
            const uint8_t * r1 = r0 + ref->stride[0];
            if (memcmp(r0, r0 + 3, 3) || memcmp(r0, r1, 3) || memcmp(r0, r1 + 3, 3)) continue;
            blocks++;
            for (int32_t dy = 0; dy < 2; dy++)
                for (int32_t dx = 0; dx < 2; dx++) {
                    const uint8_t * o = out.plane[0] + (y + dy) * out.stride[0] + 3 * (x + dx);
                    for (int c = 0; c < 3; c++)
                        if (abs(o[c] - r0[c]) > COLOUR_TOL && bad_c++ < 3)
                            printf("%s: %s pixel (%d, %d): RGB %d %d %d, RGB drawing %d %d %d\n", what,
                                   ei_pixel_format_name(yuv->format), (int)(x + dx), (int)(y + dy), o[0], o[1], o[2],
                                   r0[0], r0[1], r0[2]);
                }
        }
    EI_CHECK(bad_y == 0);
    EI_CHECK(bad_c == 0);
    EI_CHECK(guards_intact(yuv));
    ei_image_free(&out);
    return blocks;
}

/* Every palette colour, and a few extremes, survive rgb -> yuv (the drawing) -> rgb. */
static void test_round_trip(void) {
    for (int f = 0; f < 2; f++) {
        ei_image img = make_yuv(f ? EI_PIXEL_NV12 : EI_PIXEL_I420, 2, 2);
        int      worst = 0;
        for (int32_t k = -1; k < 40; k++) {
            ei_rgb c = k < 0 ? (ei_rgb){255, 255, 255} : ei_palette_color(k);
            if (k == 39) c = (ei_rgb){255, 0, 0};
            if (k == 38) c = (ei_rgb){0, 0, 255};
            ei_draw_fill_rect(&img, 0, 0, 1, 1, c);
            ei_image out = to_rgb(&img);
            for (int i = 0; i < 4; i++) {
                const uint8_t * o = out.plane[0] + 3 * i;
                const int       d = abs(o[0] - c.r) > abs(o[1] - c.g) ? abs(o[0] - c.r) : abs(o[1] - c.g);
                const int       e = d > abs(o[2] - c.b) ? d : abs(o[2] - c.b);
                if (e > worst) worst = e;
            }
            ei_image_free(&out);
        }
        printf("worst round-trip error %d levels\n", worst);
        EI_CHECK(worst <= COLOUR_TOL);
        EI_CHECK(guards_intact(&img));
        free_yuv(&img);
    }
}

typedef void (*draw_fn)(ei_image * img);

static void draw_shapes(ei_image * img) {
    const int32_t w = img->width, h = img->height;
    ei_draw_rect(img, 3, 5, 20, 17, ei_palette_color(3), 2);                /* odd corners */
    ei_draw_rect(img, w - 6, h - 4, w + 30, h + 9, ei_palette_color(5), 3); /* partly outside */
    ei_draw_rect(img, -10, -7, 4, 6, ei_palette_color(7), 1);               /* partly outside, top-left */
    ei_draw_rect(img, w + 1, 0, w + 20, h, ei_palette_color(9), 2);         /* fully outside */
    ei_draw_rect(img, -50, -50, -1, -1, ei_palette_color(9), 2);
    ei_draw_rect(img, INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX, ei_palette_color(11), 1);
    ei_draw_fill_rect(img, 31, 22, 24, 27, ei_palette_color(12)); /* inverted corners */
    ei_draw_fill_rect(img, 9, 30, 9, 30, ei_palette_color(15));   /* one pixel */
    ei_draw_text(img, 1, 33, "Hi \"x\" 0.87", (ei_rgb){255, 255, 255}, 1);
    ei_draw_text(img, w - 20, h - 5, "clip", (ei_rgb){255, 255, 0}, 2);
    ei_draw_caption(img, 40, 2, "car 0.91", (ei_rgb){0, 0, 0}, ei_palette_color(7), 1);
    ei_draw_caption(img, -5, h - 6, "edge", (ei_rgb){255, 255, 255}, ei_palette_color(2), 2);
}

static void draw_detections(ei_image * img) {
    const ei_detection d[] = {
        {10.4f, 12.6f, 61.2f, 40.8f, 0.87f, 0},   {50.0f, 30.0f, 140.0f, 90.0f, 0.51f, 11},
        {-20.0f, -30.0f, 25.0f, 20.0f, 0.33f, 2}, {100.0f, 60.0f, 400.0f, 300.0f, 0.99f, 14},
        {NAN, 0.0f, 1.0f, 1.0f, 0.5f, 1},
    };
    const char * names[15] = {"person", [11] = "dog \"x\"", [14] = "bird"};
    EI_CHECK_OK(ei_draw_detections_named(img, d, 5, names, 15));
}

static void draw_overlay(ei_image * img) {
    const int32_t w = img->width, h = img->height;
    ei_seg_map    map = {w, h, 21, malloc((size_t)w * (size_t)h), NULL};
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            uint8_t k = 0;
            if (x >= 5 && x < 30 && y >= 3 && y < 25) k = 15;
            if ((x - 50) * (x - 50) + (y - 40) * (y - 40) < 300) k = 12;
            if (x > w - 8) k = EI_SEG_NONE;
            if (y == h - 1 && x < 10) k = 3;
            map.labels[y * w + x] = k;
        }
    EI_CHECK_OK(ei_draw_seg_overlay(img, &map, 0.6f, 0));
    free(map.labels);
}

/* Draws with fn on a YUV frame of format f and on its RGB conversion, and compares. */
static void check_drawing(ei_pixel_format f, int32_t w, int32_t h, draw_fn fn, double y_tol, int flat,
                          const char * what) {
    ei_image yuv = make_yuv(f, w, h);
    /* A flat grey frame, so blended blocks are uniform and their colour is checked too. */
    if (flat)
        for (int32_t y = 0; y < h; y++) memset(yuv.plane[0] + y * yuv.stride[0], 120, (size_t)w);
    ei_image ref = to_rgb(&yuv);
    fn(&ref);
    fn(&yuv);
    /* Frames of some size have uniform blocks (inside boxes, captions, flat overlays) to check. */
    const int32_t blocks = compare(&yuv, &ref, y_tol, what);
    if (w >= 37 && h >= 23 && (fn != draw_overlay || flat)) EI_CHECK(blocks > 0);
    ei_image_free(&ref);
    free_yuv(&yuv);
}

static void test_shapes(void) {
    const int32_t sizes[][2] = {{64, 48}, {37, 23}, {160, 96}, {2, 2}, {1, 1}, {3, 1}, {1, 5}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int f = 0; f < 2; f++) {
            const ei_pixel_format fmt = f ? EI_PIXEL_NV12 : EI_PIXEL_I420;
            /* Luma is written exactly, so only the RGB pixel's luma rounding (<= 1) differs. */
            check_drawing(fmt, sizes[i][0], sizes[i][1], draw_shapes, 1.0, 0, "shapes");
            check_drawing(fmt, sizes[i][0], sizes[i][1], draw_detections, 1.0, 0, "detections");
            /* The blend rounds in RGB and in Y separately. */
            check_drawing(fmt, sizes[i][0], sizes[i][1], draw_overlay, 2.0, 0, "overlay");
            check_drawing(fmt, sizes[i][0], sizes[i][1], draw_overlay, 2.0, 1, "flat overlay");
        }
}

/* NV12 and I420 hold the same samples after the same drawing. */
static void test_nv12_matches_i420(void) {
    ei_image a = make_yuv(EI_PIXEL_I420, 45, 31), b = make_yuv(EI_PIXEL_NV12, 45, 31);
    draw_shapes(&a), draw_shapes(&b);
    draw_detections(&a), draw_detections(&b);
    draw_overlay(&a), draw_overlay(&b);
    int same = 1;
    for (int32_t y = 0; y < 31; y++) same &= !memcmp(a.plane[0] + y * a.stride[0], b.plane[0] + y * b.stride[0], 45);
    for (int32_t y = 0; y < 16; y++)
        for (int32_t x = 0; x < 23; x++)
            same &= a.plane[1][y * a.stride[1] + x] == b.plane[1][y * b.stride[1] + 2 * x] &&
                    a.plane[2][y * a.stride[2] + x] == b.plane[1][y * b.stride[1] + 2 * x + 1];
    EI_CHECK(same);
    free_yuv(&a), free_yuv(&b);
}

/* A box edge on an odd coordinate colours the chroma block it touches; nothing else. */
static void test_chroma_blocks(void) {
    ei_image     img = make_yuv(EI_PIXEL_I420, 8, 8);
    const ei_rgb red = {255, 0, 0};
    ei_draw_fill_rect(&img, 3, 3, 4, 4, red); /* touches blocks (1,1), (2,1), (1,2), (2,2) */
    for (int32_t cy = 0; cy < 4; cy++)
        for (int32_t cx = 0; cx < 4; cx++) {
            const int in = cx >= 1 && cx <= 2 && cy >= 1 && cy <= 2;
            EI_CHECK((img.plane[2][cy * img.stride[2] + cx] != 128) == in);
            EI_CHECK((img.plane[1][cy * img.stride[1] + cx] != 128) == in);
        }
    /* Luma only on the 2x2 pixels: Y of pure red is 16 + 0.2568 * 255 = 81. */
    ei_image orig = make_yuv(EI_PIXEL_I420, 8, 8);
    int      ok = 1;
    for (int32_t y = 0; y < 8; y++)
        for (int32_t x = 0; x < 8; x++) {
            const uint8_t v = img.plane[0][y * img.stride[0] + x];
            ok &= (x >= 3 && x <= 4 && y >= 3 && y <= 4) ? v == 81 : v == orig.plane[0][y * orig.stride[0] + x];
        }
    EI_CHECK(ok);
    free_yuv(&orig);
    /* Fully outside: nothing changes. */
    ei_image before = make_yuv(EI_PIXEL_I420, 8, 8);
    ei_image fresh = make_yuv(EI_PIXEL_I420, 8, 8);
    ei_draw_rect(&fresh, 8, 0, 20, 7, red, 2);
    ei_draw_rect(&fresh, 0, -9, 7, -1, red, 2);
    ei_draw_text(&fresh, 8, 0, "abc", red, 1);
    ei_draw_caption(&fresh, -100, 0, "abc", red, red, 1);
    int same = 1;
    for (int p = 0; p < 3; p++)
        same &= !memcmp(before.plane[p], fresh.plane[p], (size_t)before.stride[p] * (size_t)(p ? 4 : 8));
    EI_CHECK(same);
    free_yuv(&img), free_yuv(&before), free_yuv(&fresh);
}

static void test_errors(void) {
    ei_image   img = make_yuv(EI_PIXEL_NV12, 4, 4);
    uint8_t    labels[16] = {0};
    ei_seg_map small = {3, 4, 21, labels, NULL};
    EI_CHECK_ERROR(ei_draw_seg_overlay(&img, &small, 0.5f, 0), EI_CODE_INVALID_ARGUMENT, "map is 3x4");
    ei_image noplane = img;
    noplane.plane[1] = NULL; /* an NV12 view without its chroma plane is not drawable */
    EI_CHECK_ERROR(ei_draw_detections_named(&noplane, NULL, 0, NULL, 0), EI_CODE_UNSUPPORTED, "cannot draw");
    ei_draw_rect(&noplane, 0, 0, 3, 3, (ei_rgb){1, 2, 3}, 1); /* draws nothing, no crash */
    free_yuv(&img);
}

int main(void) {
    EI_RUN(test_round_trip);
    EI_RUN(test_shapes);
    EI_RUN(test_nv12_matches_i420);
    EI_RUN(test_chroma_blocks);
    EI_RUN(test_errors);
    EI_TEST_EXIT();
}
