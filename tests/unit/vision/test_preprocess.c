/* Pre-processing: resize exactness on small cases, letterbox geometry and padding, normalisation in
 * network channel order, layouts, GRAY networks, NV12 input, batch shape checks, transforms. */
#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"
#include "ei_test.h"

static ei_image make(ei_pixel_format f, int w, int h, const uint8_t * px) {
    ei_image    img;
    ei_status * st = ei_image_alloc(f, w, h, &img);
    if (st) abort();
    memcpy(img.plane[0], px, (size_t)w * (size_t)h * (size_t)ei_pixel_format_channels(f));
    return img;
}

static void resize_gray(const ei_image * src, int w, int h, ei_resize_filter f, uint8_t * out) {
    ei_image dst;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_GRAY, w, h, &dst));
    EI_CHECK_OK(ei_image_resize(src, &dst, f));
    memcpy(out, dst.plane[0], (size_t)w * (size_t)h);
    ei_image_free(&dst);
}

static void test_resize_cases(void) {
    uint8_t  px[16] = {0, 100, 10, 20, 30, 41, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140}, out[64];
    ei_image row = make(EI_PIXEL_GRAY, 2, 1, px);
    /* 2x up, half-pixel centres: clamped, 1/4, 3/4, clamped */
    resize_gray(&row, 4, 1, EI_RESIZE_BILINEAR, out);
    EI_CHECK(out[0] == 0 && out[1] == 25 && out[2] == 75 && out[3] == 100);
    resize_gray(&row, 4, 1, EI_RESIZE_NEAREST, out);
    EI_CHECK(out[0] == 0 && out[1] == 0 && out[2] == 100 && out[3] == 100);
    ei_image_free(&row);
    ei_image sq = make(EI_PIXEL_GRAY, 4, 4, px);
    resize_gray(&sq, 4, 4, EI_RESIZE_BILINEAR, out); /* identity */
    EI_CHECK(memcmp(out, px, 16) == 0);
    resize_gray(&sq, 2, 2, EI_RESIZE_BILINEAR, out); /* 2x down is a 2x2 average, rounded half up */
    EI_CHECK(out[0] == (0 + 100 + 30 + 41 + 2) / 4 && out[3] == (90 + 100 + 130 + 140 + 2) / 4);
    resize_gray(&sq, 1, 1, EI_RESIZE_AREA, out);
    int sum = 0;
    for (int i = 0; i < 16; i++) sum += px[i];
    EI_CHECK(out[0] == (sum + 8) / 16);
    resize_gray(&sq, 1, 1, EI_RESIZE_BILINEAR, out); /* centre: pixels 41, 50, 80, 90 */
    EI_CHECK(out[0] == 65);                          /* (41 + 50 + 80 + 90) / 4 = 65.25, as cv2.resize */
    ei_image_free(&sq);
    ei_image one = make(EI_PIXEL_GRAY, 1, 1, px + 5);
    for (int f = 0; f < 3; f++) {
        resize_gray(&one, 7, 5, (ei_resize_filter)f, out);
        for (int i = 0; i < 35; i++) EI_CHECK(out[i] == 41);
    }
    ei_image_free(&one);
}

static void test_letterbox_geometry(void) {
    ei_preprocess_spec s = ei_preprocess_spec_default();
    s.width = s.height = 416;
    s.keep_aspect = 1;
    ei_frame_transform xf = ei_preprocess_transform(&s, 1280, 720);
    EI_CHECK_NEAR(xf.scale_x, 0.325, 1e-7);
    EI_CHECK(xf.pad_x == 0 && xf.pad_y == 0);
    s.symmetric_pad = 1;
    xf = ei_preprocess_transform(&s, 1280, 720);
    EI_CHECK(xf.pad_x == 0 && xf.pad_y == 91); /* (416 - (int)(720 * 0.325)) / 2 */
    float xn, yn, xi, yi;
    ei_frame_to_network(&xf, 1000.5f, 333.25f, &xn, &yn);
    ei_frame_to_image(&xf, xn, yn, &xi, &yi);
    EI_CHECK_NEAR(xi, 1000.5, 1e-3);
    EI_CHECK_NEAR(yi, 333.25, 1e-3);
    s.keep_aspect = 0;
    xf = ei_preprocess_transform(&s, 1280, 720);
    EI_CHECK_NEAR(xf.scale_y, 416.0 / 720, 1e-7);
    ei_frame_to_image(&xf, 416, 416, &xi, &yi);
    EI_CHECK_NEAR(xi, 1280, 1e-3);
    EI_CHECK_NEAR(yi, 720, 1e-3);
    /* A transform for a half-size decode, re-targeted to the file's size. */
    s.keep_aspect = 1;
    xf = ei_preprocess_transform(&s, 640, 360);
    ei_frame_transform_set_source(&xf, 1280, 720);
    ei_frame_to_image(&xf, 208, 91 + 117, &xi, &yi);
    EI_CHECK_NEAR(xi, 640, 1e-2);
    EI_CHECK_NEAR(yi, 360, 1e-2);
}

static void test_letterbox_pixels_and_normalise(void) {
    /* 4x2 BGR image, one colour (B 10, G 20, R 30), into an 8x8 BGR network, centred, pad 114. */
    uint8_t px[24];
    for (int i = 0; i < 8; i++) px[3 * i] = 10, px[3 * i + 1] = 20, px[3 * i + 2] = 30;
    ei_image           img = make(EI_PIXEL_BGR, 4, 2, px);
    ei_preprocess_spec s = ei_preprocess_spec_default();
    s.width = s.height = 8;
    s.color = EI_PIXEL_RGB;
    s.keep_aspect = s.symmetric_pad = 1;
    s.pad_value[0] = s.pad_value[1] = s.pad_value[2] = 114;
    s.scale[0] = 1, s.scale[1] = 2, s.scale[2] = 0.5f;
    s.offset[0] = 1, s.offset[1] = 2, s.offset[2] = 3; /* network order: R, G, B */
    float              out[192];
    ei_frame_transform xf;
    EI_CHECK_OK(ei_preprocess(&s, &img, out, &xf));
    EI_CHECK(xf.pad_y == 2 && xf.pad_x == 0);
    EI_CHECK(out[0] == 113.f && out[64] == 224.f && out[128] == 55.5f); /* padding row 0 */
    EI_CHECK(out[2 * 8 + 3] == 29.f && out[64 + 2 * 8 + 3] == 36.f && out[128 + 5 * 8 + 7] == 3.5f);
    EI_CHECK(out[6 * 8] == 113.f);
    float nhwc[192];
    s.layout = EI_LAYOUT_NHWC;
    EI_CHECK_OK(ei_preprocess(&s, &img, nhwc, NULL));
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 64; i++) EI_CHECK(nhwc[i * 3 + c] == out[c * 64 + i]);
    /* mean/std helper */
    const float mean[3] = {0.5f, 0.5f, 0.5f}, sd[3] = {0.25f, 0.5f, 1.f}, bad[3] = {1, 0, 1};
    EI_CHECK_OK(ei_preprocess_spec_set_mean_std(&s, mean, sd));
    EI_CHECK_NEAR(s.scale[0] * (255 - s.offset[0]), (1 - 0.5) / 0.25, 1e-5);
    EI_CHECK_ERROR(ei_preprocess_spec_set_mean_std(&s, mean, bad), EI_CODE_INVALID_ARGUMENT, "channel 1");
    /* GRAY network from a colour image: 0.299 R + 0.587 G + 0.114 B */
    ei_preprocess_spec g = ei_preprocess_spec_default();
    g.width = 4, g.height = 2, g.color = EI_PIXEL_GRAY;
    EI_CHECK(ei_preprocess_spec_channels(&g) == 1);
    EI_CHECK_OK(ei_preprocess(&g, &img, out, NULL));
    EI_CHECK(out[0] == 22.f && out[7] == 22.f); /* 21.85 */
    ei_image_free(&img);
}

static void test_nv12_input(void) {
    ei_image nv, rgb;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_NV12, 16, 8, &nv));
    for (int i = 0; i < 16 * 8; i++) nv.plane[0][i] = (uint8_t)(i * 3);
    for (int i = 0; i < 16 * 4; i++) nv.plane[1][i] = (uint8_t)(100 + i);
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_RGB, 16, 8, &rgb));
    EI_CHECK_OK(ei_image_convert(&nv, &rgb));
    ei_preprocess_spec s = ei_preprocess_spec_default();
    s.width = 6, s.height = 5, s.color = EI_PIXEL_BGR;
    float a[90], b[90];
    EI_CHECK_OK(ei_preprocess(&s, &nv, a, NULL));
    EI_CHECK_OK(ei_preprocess(&s, &rgb, b, NULL));
    EI_CHECK(memcmp(a, b, sizeof a) == 0);
    ei_image_free(&nv), ei_image_free(&rgb);
}

static void test_batch_and_errors(void) {
    uint8_t            px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    ei_image           imgs[2] = {make(EI_PIXEL_RGB, 2, 2, px), make(EI_PIXEL_RGB, 2, 2, px)};
    ei_preprocess_spec s = ei_preprocess_spec_default();
    s.width = 2, s.height = 2;
    ei_tensor * t = NULL;
    ei_shape    shape = {4, {2, 3, 2, 2}};
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &shape, &t));
    ei_frame_transform xf[2];
    EI_CHECK_OK(ei_preprocess_batch(&s, imgs, 2, t, xf));
    const float * d = ei_tensor_data(t);
    EI_CHECK(d[0] == 1.f && d[4] == 2.f && d[12] == 1.f && xf[1].scale_x == 1.f);
    s.layout = EI_LAYOUT_NHWC;
    EI_CHECK_ERROR(ei_preprocess_batch(&s, imgs, 2, t, xf), EI_CODE_INVALID_ARGUMENT, "float32 2x3x2x2 but 2 NHWC");
    EI_CHECK_ERROR(ei_preprocess_batch(&s, imgs, 2, t, xf), EI_CODE_INVALID_ARGUMENT, "need float32 2x2x2x3");
    ei_tensor_destroy(t);
    s.width = 0;
    EI_CHECK_ERROR(ei_preprocess(&s, imgs, NULL, NULL), EI_CODE_INVALID_ARGUMENT, "network size 0x2");
    s.width = 2, s.color = EI_PIXEL_NV12;
    float out[12];
    EI_CHECK_ERROR(ei_preprocess(&s, imgs, out, NULL), EI_CODE_INVALID_ARGUMENT, "nv12 is not rgb");
    s.color = EI_PIXEL_RGB, s.filter = (ei_resize_filter)7;
    EI_CHECK_ERROR(ei_preprocess(&s, imgs, out, NULL), EI_CODE_INVALID_ARGUMENT, "unknown filter 7");
    s.filter = EI_RESIZE_BILINEAR, s.size = 4;
    EI_CHECK_ERROR(ei_preprocess(&s, imgs, out, NULL), EI_CODE_INVALID_ARGUMENT, "spec.size");
    ei_image_free(&imgs[0]), ei_image_free(&imgs[1]);
}

int main(void) {
    EI_RUN(test_resize_cases);
    EI_RUN(test_letterbox_geometry);
    EI_RUN(test_letterbox_pixels_and_normalise);
    EI_RUN(test_nv12_input);
    EI_RUN(test_batch_and_errors);
    EI_TEST_EXIT();
}
