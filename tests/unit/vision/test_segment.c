/* ei_segment_decode on small hand-made score tensors: argmax and ties, thresholds, one-channel
 * models, NCHW = NHWC, bilinear vs nearest, letterbox padding never showing, bad input. */
#include <stdint.h>
#include <stdlib.h>

#include "edgeinfer/segment.h"
#include "ei_test.h"

static ei_tensor * make_scores(int64_t n, int64_t a, int64_t b, int64_t c) {
    ei_shape    s = {4, {n, a, b, c}};
    ei_tensor * t = NULL;
    ei_status * st = ei_tensor_create(EI_DTYPE_F32, &s, &t);
    if (st) {
        fprintf(stderr, "%s\n", ei_status_message(st));
        abort();
    }
    return t;
}

/* Identity transform: the frame is the grid. */
static ei_frame_transform identity(int32_t w, int32_t h) {
    ei_frame_transform xf = {w, h, w, h, 1.0f, 1.0f, 0.0f, 0.0f};
    return xf;
}

static void test_argmax_identity_and_ties(void) {
    /* NCHW 1x3x2x2 */
    ei_tensor * t = make_scores(1, 3, 2, 2);
    float *     p = ei_tensor_data(t);
    /* pixel 0: class 2 wins; pixel 1: tie 0/1 -> 0; pixel 2: class 1; pixel 3: all equal -> 0 */
    const float v[12] = {0, 5, 0, 1, /* c0 */ 1, 5, 3, 1, /* c1 */ 2, 1, 0, 1 /* c2 */};
    memcpy(p, v, sizeof v);
    ei_segment_params  prm = ei_segment_params_default();
    ei_frame_transform xf = identity(2, 2);
    ei_seg_map         m;
    EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
    EI_CHECK(m.n_classes == 3 && m.width == 2 && m.height == 2);
    EI_CHECK(m.labels[0] == 2 && m.labels[1] == 0 && m.labels[2] == 1 && m.labels[3] == 0);
    EI_CHECK(m.pixel_count[0] == 2 && m.pixel_count[1] == 1 && m.pixel_count[2] == 1);
    ei_seg_map_free(&m);
    EI_CHECK(m.labels == NULL && m.width == 0);
    /* Threshold: best scores are 2, 5, 3, 1; below 2.5 -> NONE (not counted). */
    prm.threshold = 2.5f;
    EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
    EI_CHECK(m.labels[0] == EI_SEG_NONE && m.labels[1] == 0 && m.labels[2] == 1 && m.labels[3] == EI_SEG_NONE);
    EI_CHECK(m.pixel_count[0] == 1 && m.pixel_count[1] == 1 && m.pixel_count[2] == 0);
    ei_seg_map_free(&m);
    ei_tensor_destroy(t);
}

/* Random scores in both layouts give the same map, bilinear and nearest. */
static void test_layouts_agree(void) {
    const int  C = 5, H = 7, W = 9;
    ei_tensor *a = make_scores(2, C, H, W), *b = make_scores(2, H, W, C);
    float *    pa = ei_tensor_data(a), *pb = ei_tensor_data(b);
    srand(7);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float v = (float)(rand() % 1000) / 100.0f;
                    pa[((n * C + c) * H + y) * W + x] = v;
                    pb[((n * H + y) * W + x) * C + c] = v;
                }
    ei_frame_transform xf = {31, 23, W, H, (float)W / 31, (float)H / 23, 0, 0};
    for (int up = 0; up < 2; up++) {
        ei_segment_params pra = ei_segment_params_default(), prb = ei_segment_params_default();
        pra.upsample_scores = prb.upsample_scores = up;
        prb.layout = EI_LAYOUT_NHWC;
        ei_seg_map ma, mb;
        EI_CHECK_OK(ei_segment_decode(&pra, a, 1, &xf, &ma));
        EI_CHECK_OK(ei_segment_decode(&prb, b, 1, &xf, &mb));
        EI_CHECK(memcmp(ma.labels, mb.labels, 31 * 23) == 0);
        int64_t total = 0;
        for (int c = 0; c < C; c++) total += ma.pixel_count[c];
        EI_CHECK(total == 31 * 23);
        ei_seg_map_free(&ma);
        ei_seg_map_free(&mb);
    }
    ei_tensor_destroy(a);
    ei_tensor_destroy(b);
}

/* A 1x2x1x2 grid upsampled to 4 pixels wide: class 0 on the left cell, class 1 on the right.
 * Half-pixel centres put frame pixels at grid x = -0.25, 0.25, 0.75, 1.25: bilinear gives
 * 0, 0, 1, 1 (the crossing is at x = 0.5); nearest gives the cell each centre lies in. */
static void test_bilinear_crossing(void) {
    ei_tensor * t = make_scores(1, 2, 1, 2);
    float *     p = ei_tensor_data(t);
    p[0] = 1, p[1] = 0; /* class 0 */
    p[2] = 0, p[3] = 1; /* class 1 */
    ei_frame_transform xf = {4, 1, 2, 1, 0.5f, 1.0f, 0, 0};
    ei_segment_params  prm = ei_segment_params_default();
    ei_seg_map         m;
    EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
    EI_CHECK(m.labels[0] == 0 && m.labels[1] == 0 && m.labels[2] == 1 && m.labels[3] == 1);
    ei_seg_map_free(&m);
    /* Scores 0.3/0.7 on the left cell: bilinear at x = 0.25 is 0.4/0.6 -> class 1 too. */
    p[0] = 0.3f, p[1] = 0.0f, p[2] = 0.7f, p[3] = 1.0f;
    xf.src_width = 8, xf.scale_x = 0.25f; /* centres at -0.375 .. 1.375 */
    EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
    for (int x = 0; x < 8; x++) EI_CHECK(m.labels[x] == 1);
    ei_seg_map_free(&m);
    ei_tensor_destroy(t);
}

/* One channel: sigmoid + threshold; class 1 when the probability exceeds it. */
static void test_one_channel(void) {
    ei_tensor * t = make_scores(1, 1, 1, 3);
    float *     p = ei_tensor_data(t);
    p[0] = -2.0f, p[1] = 0.0f, p[2] = 2.0f;
    ei_frame_transform xf = identity(3, 1);
    ei_segment_params  prm = ei_segment_params_default();
    prm.sigmoid = 1; /* default threshold 0.5: sigmoid(0) = 0.5 is not above it */
    ei_seg_map m;
    EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
    EI_CHECK(m.n_classes == 2);
    EI_CHECK(m.labels[0] == 0 && m.labels[1] == 0 && m.labels[2] == 1);
    EI_CHECK(m.pixel_count[0] == 2 && m.pixel_count[1] == 1);
    ei_seg_map_free(&m);
    prm.sigmoid = 0;
    prm.threshold = -1.0f; /* raw scores above -1 */
    EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
    EI_CHECK(m.labels[0] == 0 && m.labels[1] == 1 && m.labels[2] == 1);
    ei_seg_map_free(&m);
    ei_tensor_destroy(t);
}

/* Letterbox: a 4x2 frame scaled by 2 into an 8x8 network with 2 rows of padding above and below.
 * Padding cells hold a huge score for class 3; the image region holds class 1 (top half of the
 * image) and class 2 (bottom half). Class 3 must never appear, in either mode. */
static void test_letterbox_padding_never_shows(void) {
    const int   C = 4, H = 8, W = 8;
    ei_tensor * t = make_scores(1, H, W, C);
    float *     p = ei_tensor_data(t);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float * s = p + (y * W + x) * C;
            if (y < 2 || y >= 6)
                s[3] = 100.0f;
            else
                s[y < 4 ? 1 : 2] = 1.0f;
        }
    ei_frame_transform xf = {4, 2, W, H, 2.0f, 2.0f, 0.0f, 2.0f};
    for (int up = 0; up < 2; up++) {
        ei_segment_params prm = ei_segment_params_default();
        prm.layout = EI_LAYOUT_NHWC;
        prm.upsample_scores = up;
        ei_seg_map m;
        EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
        for (int x = 0; x < 4; x++) EI_CHECK(m.labels[x] == 1 && m.labels[4 + x] == 2);
        EI_CHECK(m.pixel_count[3] == 0 && m.pixel_count[1] == 4 && m.pixel_count[2] == 4);
        ei_seg_map_free(&m);
    }
    ei_tensor_destroy(t);

    /* Downscaled: an 8x4 frame at scale 0.5 is 4x2 in a 4x4 network, one padding row above and
     * below. The first image row's centre sits at network y = 1.75, a quarter cell into the padding
     * row for a plain bilinear tap; clamping to the image's cells keeps the padding out. */
    ei_tensor * d = make_scores(1, 4, 4, C);
    float *     q = ei_tensor_data(d);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            float * s = q + (y * 4 + x) * C;
            if (y == 0 || y == 3)
                s[3] = 100.0f;
            else
                s[y == 1 ? 1 : 2] = 1.0f;
        }
    ei_frame_transform xd = {8, 4, 4, 4, 0.5f, 0.5f, 0.0f, 1.0f};
    for (int up = 0; up < 2; up++) {
        ei_segment_params prm = ei_segment_params_default();
        prm.layout = EI_LAYOUT_NHWC;
        prm.upsample_scores = up;
        ei_seg_map m;
        EI_CHECK_OK(ei_segment_decode(&prm, d, 0, &xd, &m));
        EI_CHECK(m.pixel_count[3] == 0);
        EI_CHECK(m.labels[0] == 1 && m.labels[3 * 8 + 7] == 2);
        ei_seg_map_free(&m);
    }
    ei_tensor_destroy(d);
}

/* A score grid coarser than the network (stride 4): frame = network = 8x8, grid 2x2. */
static void test_coarse_grid(void) {
    ei_tensor * t = make_scores(1, 2, 2, 2);
    float *     p = ei_tensor_data(t);
    /* class 1 wins in the right column of cells */
    p[0] = 1, p[1] = 0, p[2] = 1, p[3] = 0;
    p[4] = 0, p[5] = 1, p[6] = 0, p[7] = 1;
    ei_frame_transform xf = identity(8, 8);
    ei_segment_params  prm = ei_segment_params_default();
    prm.upsample_scores = 0;
    ei_seg_map m;
    EI_CHECK_OK(ei_segment_decode(&prm, t, 0, &xf, &m));
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) EI_CHECK(m.labels[y * 8 + x] == (x >= 4));
    ei_seg_map_free(&m);
    ei_tensor_destroy(t);
}

static void test_bad_input(void) {
    ei_segment_params  prm = ei_segment_params_default();
    ei_frame_transform xf = identity(4, 4);
    ei_seg_map         m;
    ei_tensor *        t3 = NULL;
    ei_shape           s3 = {3, {1, 4, 4}};
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &s3, &t3));
    EI_CHECK_ERROR(ei_segment_decode(&prm, t3, 0, &xf, &m), EI_CODE_INVALID_ARGUMENT, "shape 1x4x4 (rank 3)");
    ei_tensor_destroy(t3);
    ei_tensor * ti = NULL;
    ei_shape    s4 = {4, {1, 2, 4, 4}};
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_I32, &s4, &ti));
    EI_CHECK_ERROR(ei_segment_decode(&prm, ti, 0, &xf, &m), EI_CODE_INVALID_ARGUMENT, "is int32, expected float32");
    ei_tensor_destroy(ti);
    ei_tensor * big = make_scores(1, 256, 1, 1);
    EI_CHECK_ERROR(ei_segment_decode(&prm, big, 0, &xf, &m), EI_CODE_UNSUPPORTED, "256 classes");
    ei_tensor_destroy(big);
    ei_tensor * t = make_scores(1, 2, 4, 4);
    EI_CHECK_ERROR(ei_segment_decode(&prm, t, 1, &xf, &m), EI_CODE_INVALID_ARGUMENT, "batch item 1");
    ei_frame_transform bad = xf;
    bad.scale_x = 0.0f;
    EI_CHECK_ERROR(ei_segment_decode(&prm, t, 0, &bad, &m), EI_CODE_INVALID_ARGUMENT, "bad frame transform");
    bad = xf;
    bad.src_height = 0;
    EI_CHECK_ERROR(ei_segment_decode(&prm, t, 0, &bad, &m), EI_CODE_INVALID_ARGUMENT, "frame size 4x0");
    ei_segment_params old = prm;
    old.size = 8;
    EI_CHECK_ERROR(ei_segment_decode(&old, t, 0, &xf, &m), EI_CODE_INVALID_ARGUMENT, "params.size");
    EI_CHECK_ERROR(ei_segment_decode(&prm, NULL, 0, &xf, &m), EI_CODE_INVALID_ARGUMENT, "must not be NULL");
    ei_tensor_destroy(t);
    ei_seg_map_free(NULL);
}

int main(void) {
    EI_RUN(test_argmax_identity_and_ties);
    EI_RUN(test_layouts_agree);
    EI_RUN(test_bilinear_crossing);
    EI_RUN(test_one_channel);
    EI_RUN(test_letterbox_padding_never_shows);
    EI_RUN(test_coarse_grid);
    EI_RUN(test_bad_input);
    EI_TEST_EXIT();
}
