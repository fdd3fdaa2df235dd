/* The AVX2 paths of pre-processing (resize.c: gather-free horizontal pass, vertical pass fused with
 * normalisation; yuv_taps.c: NV12/I420 taps from plain loads) and the scalar code they replace
 * (ei_resize_force_scalar) on random images: both must give the very same floats, and those must
 * equal an independent reference, ei_image_resize's packed bytes normalised one by one (for 4:2:0
 * frames: ei_image_convert to RGB first). Sizes cover shrinks, growth, odd widths, 1-pixel sources,
 * right-border clamping and letterboxing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"
#include "ei_test.h"
#include "vision/resize.h"

static uint32_t rng_state = 777u;

static uint8_t rnd8(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (uint8_t)(rng_state >> 24);
}

static void fill_random(ei_image * img) {
    int planes = img->format == EI_PIXEL_I420 ? 3 : img->format == EI_PIXEL_NV12 ? 2 : 1;
    for (int p = 0; p < planes; p++) {
        int32_t rows = p == 0 ? img->height : (img->height + 1) / 2;
        for (int32_t y = 0; y < rows; y++)
            for (int32_t x = 0; x < img->stride[p]; x++)
                img->plane[p][(size_t)y * (size_t)img->stride[p] + (size_t)x] = rnd8();
    }
}

/* The reference: the packed resized image (its own horizontal/vertical code, no planar rows),
 * normalised per value with the expression pre-processing uses. */
static void reference(const ei_preprocess_spec * spec, const ei_image * src, float * out) {
    ei_image rgb, small;
    if (src->format == EI_PIXEL_NV12 || src->format == EI_PIXEL_I420) {
        EI_CHECK_OK(ei_image_alloc(EI_PIXEL_RGB, src->width, src->height, &rgb));
        EI_CHECK_OK(ei_image_convert(src, &rgb));
    } else {
        rgb = *src;
        rgb.owned = NULL;
    }
    int32_t rw = spec->width, rh = spec->height;
    if (spec->keep_aspect) { /* as YOLOX: truncated, at least 1 */
        double r = (double)spec->width / src->width < (double)spec->height / src->height
                       ? (double)spec->width / src->width
                       : (double)spec->height / src->height;
        rw = (int32_t)(src->width * r), rh = (int32_t)(src->height * r);
        rw = rw < 1 ? 1 : rw, rh = rh < 1 ? 1 : rh;
    }
    EI_CHECK_OK(ei_image_alloc(rgb.format, rw, rh, &small));
    EI_CHECK_OK(ei_image_resize(&rgb, &small, spec->filter));
    int    swap = (rgb.format == EI_PIXEL_RGB) != (spec->color == EI_PIXEL_RGB);
    size_t W = (size_t)spec->width, plane = W * (size_t)spec->height;
    for (int c = 0; c < 3; c++) {
        float pad = spec->scale[c] * (spec->pad_value[c] - spec->offset[c]);
        for (size_t i = 0; i < plane; i++) out[(size_t)c * plane + i] = pad;
        int sc = swap ? 2 - c : c;
        for (int32_t y = 0; y < rh; y++)
            for (int32_t x = 0; x < rw; x++) {
                uint8_t v = small.plane[0][(size_t)y * (size_t)small.stride[0] + (size_t)x * 3 + (size_t)sc];
                out[(size_t)c * plane + (size_t)y * W + (size_t)x] = spec->scale[c] * ((float)v - spec->offset[c]);
            }
    }
    ei_image_free(&small);
    if (rgb.owned) ei_image_free(&rgb);
}

static int case_matches(ei_pixel_format f, int32_t sw, int32_t sh, int32_t dw, int32_t dh, int keep_aspect,
                        ei_pixel_format net) {
    ei_image img;
    EI_CHECK_OK(ei_image_alloc(f, sw, sh, &img));
    fill_random(&img);
    ei_preprocess_spec spec = ei_preprocess_spec_default();
    spec.width = dw, spec.height = dh, spec.color = net, spec.keep_aspect = keep_aspect;
    for (int c = 0; c < 3; c++) {
        spec.scale[c] = 1.f / (50.f + 30.f * (float)c);
        spec.offset[c] = 100.f + 7.5f * (float)c;
        spec.pad_value[c] = 114.f;
    }
    size_t n = (size_t)3 * (size_t)dw * (size_t)dh;
    float *simd = malloc(sizeof(float) * n), *scalar = malloc(sizeof(float) * n), *ref = malloc(sizeof(float) * n);
    ei_resize_force_scalar(0);
    EI_CHECK_OK(ei_preprocess(&spec, &img, simd, NULL));
    ei_resize_force_scalar(1);
    EI_CHECK_OK(ei_preprocess(&spec, &img, scalar, NULL));
    ei_resize_force_scalar(0);
    reference(&spec, &img, ref);
    int ok = !memcmp(simd, scalar, sizeof(float) * n) && !memcmp(simd, ref, sizeof(float) * n);
    if (!ok)
        printf("  differs: %s %dx%d -> %dx%d keep_aspect %d\n", ei_pixel_format_name(f), sw, sh, dw, dh, keep_aspect);
    free(simd), free(scalar), free(ref);
    ei_image_free(&img);
    return ok;
}

static const int32_t sizes[][4] = {
    {1280, 720, 320, 320}, {640, 480, 416, 234}, {37, 23, 100, 61}, {50, 50, 17, 33}, {2, 6, 9, 9},
    {24, 16, 23, 15},      {300, 200, 299, 77},  {64, 64, 8, 200},  {98, 40, 33, 20},
};

static void test_packed_avx2_equals_scalar(void) {
    const ei_pixel_format fmts[] = {EI_PIXEL_BGR, EI_PIXEL_RGB};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int f = 0; f < 2; f++)
            for (int keep = 0; keep <= 1; keep++)
                EI_CHECK(case_matches(fmts[f], sizes[k][0], sizes[k][1], sizes[k][2], sizes[k][3], keep,
                                      f ? EI_PIXEL_BGR : EI_PIXEL_RGB));
    EI_CHECK(case_matches(EI_PIXEL_BGR, 1, 7, 5, 5, 0, EI_PIXEL_RGB)); /* one column: every tap clamped */
}

static void test_yuv_avx2_equals_scalar(void) {
    const ei_pixel_format fmts[] = {EI_PIXEL_NV12, EI_PIXEL_I420};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int f = 0; f < 2; f++)
            for (int keep = 0; keep <= 1; keep++)
                EI_CHECK(case_matches(fmts[f], (sizes[k][0] + 1) & ~1, (sizes[k][1] + 1) & ~1, sizes[k][2], /* even */
                                      sizes[k][3], keep, keep ? EI_PIXEL_BGR : EI_PIXEL_RGB));
}

int main(void) {
    EI_RUN(test_packed_avx2_equals_scalar);
    EI_RUN(test_yuv_avx2_equals_scalar);
    EI_TEST_EXIT();
}
