/* Decoders on small hand-made outputs: SSD (score functions, background, per-class thresholds),
 * BOXES_SCORES, YOLOX, YOLOv5, YOLOv8 (both layouts), and the error messages for outputs that do
 * not fit. Real models are decoded in tests/vision_decode against numpy. */
#include "edgeinfer/detect.h"
#include "ei_test.h"

static ei_tensor * make(int rank, const int64_t * dims, const float * values) {
    ei_shape s = {rank, {0}};
    for (int i = 0; i < rank; i++) s.dim[i] = dims[i];
    ei_tensor * t = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &s, &t));
    if (t && values) memcpy(ei_tensor_data(t), values, ei_tensor_nbytes(t));
    return t;
}

/* Two priors at (0.25, 0.5) and (0.75, 0.5), 0.1 x 0.1, on a 100x100 input. */
static ei_decoder_params ssd_params(void) {
    ei_decoder_params p = ei_decoder_params_default();
    p.priors.style = EI_PRIOR_MIN_BOXES;
    p.priors.image_w = p.priors.image_h = 100;
    p.priors.n_levels = 1;
    p.priors.level[0].fm_w = 2;
    p.priors.level[0].fm_h = 1;
    p.priors.level[0].n_sizes = 1;
    p.priors.level[0].sizes[0] = 10;
    return p;
}

static void attrs_fill(ei_class_attrs * a, int n, float thr) {
    for (int i = 0; i < n; i++) {
        a[i] = ei_class_attrs_default();
        a[i].pre_cluster_threshold = thr;
    }
}

static void test_ssd(void) {
    ei_decoder_params p = ssd_params();
    p.score_fn = EI_SCORE_SOFTMAX;
    ei_decoder * dec = NULL;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    const int64_t  bd[3] = {1, 2, 4}, sd[3] = {1, 2, 3};
    const float    bv[8] = {0, 0, 0, 0, 1, 0, 0, 0}; /* second box shifted by 0.1*0.1 */
    const float    sv[6] = {5, 0, 0, 0, 3, 1};       /* prior 0: background; prior 1: class 1 */
    ei_tensor *    outs[2] = {make(3, bd, bv), make(3, sd, sv)};
    const char *   names[2] = {"boxes", "scores"};
    ei_class_attrs a[3];
    attrs_fill(a, 3, 0.5f);
    ei_detections det = {0};
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 100, 100, a, 3, &det));
    EI_CHECK(det.count == 1);
    if (det.count == 1) {
        double e3 = exp(3.0), e1 = exp(1.0);
        EI_CHECK(det.items[0].class_id == 1);
        EI_CHECK_NEAR(det.items[0].score, e3 / (1 + e3 + e1), 1e-6);
        EI_CHECK_NEAR(det.items[0].x1, (0.75 + 0.01 - 0.05) * 100, 1e-4);
        EI_CHECK_NEAR(det.items[0].y2, (0.5 + 0.05) * 100, 1e-4);
    }
    /* a low threshold for class 2 adds it; class 0 (background) never comes out */
    det.count = 0;
    attrs_fill(a, 3, 0.0f);
    a[1].pre_cluster_threshold = 0.99f;
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 100, 100, a, 3, &det));
    EI_CHECK(det.count == 2); /* class 2 of both priors */
    for (int i = 0; i < det.count; i++) EI_CHECK(det.items[i].class_id == 2);
    /* classes beyond n_classes are ignored */
    det.count = 0;
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 100, 100, a, 2, &det));
    EI_CHECK(det.count == 0);
    ei_decoder_destroy(dec);

    /* sigmoid, no background */
    p.score_fn = EI_SCORE_SIGMOID;
    p.background_class = -1;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    det.count = 0;
    attrs_fill(a, 3, 0.9f);
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 100, 100, a, 3, &det));
    EI_CHECK(det.count == 2); /* sigmoid(5) and sigmoid(3) */
    if (det.count == 2) EI_CHECK_NEAR(det.items[0].score, 1 / (1 + exp(-5.0)), 1e-6);
    ei_decoder_destroy(dec);
    ei_detections_free(&det);
    ei_tensor_destroy(outs[0]);
    ei_tensor_destroy(outs[1]);
}

static void test_boxes_scores(void) {
    ei_decoder_params p = ei_decoder_params_default();
    p.kind = EI_DECODER_BOXES_SCORES;
    ei_decoder * dec = NULL;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    const int64_t  bd[3] = {1, 2, 4}, sd[3] = {1, 2, 2};
    const float    bv[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0, 0, 1, 1}, sv[4] = {0.2f, 0.8f, 0.9f, 0.1f};
    ei_tensor *    outs[2] = {make(3, sd, sv), make(3, bd, bv)}; /* found by shape, in any order */
    ei_class_attrs a[2];
    attrs_fill(a, 2, 0.7f);
    ei_detections det = {0};
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)outs, NULL, 2, 0, 320, 240, a, 2, &det));
    EI_CHECK(det.count == 1);
    if (det.count == 1) {
        EI_CHECK_NEAR(det.items[0].x1, 32, 1e-4);
        EI_CHECK_NEAR(det.items[0].y2, 96, 1e-4);
        EI_CHECK_NEAR(det.items[0].score, 0.8, 1e-6);
    }
    ei_detections_free(&det);
    ei_decoder_destroy(dec);
    ei_tensor_destroy(outs[0]);
    ei_tensor_destroy(outs[1]);
}

static void test_yolox(void) {
    /* 32x32 input, strides 16 and 32: 2x2 + 1x1 = 5 rows of [tx ty tw th obj c0 c1] */
    ei_decoder_params p = ei_decoder_params_default();
    p.kind = EI_DECODER_YOLOX;
    p.strides[0] = 16, p.strides[1] = 32, p.n_strides = 2;
    p.num_classes = 2;
    float v[5 * 7] = {0};
    float row3[7] = {0.5f, 0.5f, 0.0f, 0.0f, 0.9f, 0.2f, 0.8f}; /* grid (1, 1) of stride 16 */
    memcpy(v + 3 * 7, row3, sizeof(row3));
    const int64_t d[3] = {1, 5, 7};
    ei_tensor *   t = make(3, d, v);
    ei_decoder *  dec = NULL;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    ei_class_attrs a[2];
    attrs_fill(a, 2, 0.3f);
    ei_detections det = {0};
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)&t, NULL, 1, 0, 32, 32, a, 2, &det));
    EI_CHECK(det.count == 1);
    if (det.count == 1) {
        EI_CHECK(det.items[0].class_id == 1);
        EI_CHECK_NEAR(det.items[0].score, 0.72, 1e-6);
        EI_CHECK_NEAR(det.items[0].x1, 24 - 8, 1e-4); /* cx = (0.5 + 1) * 16, w = 16 */
        EI_CHECK_NEAR(det.items[0].y2, 24 + 8, 1e-4);
    }
    /* multi-label: class 0 (0.18) too when its threshold allows */
    ei_decoder_destroy(dec);
    p.yolo_multi_label = 1;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    det.count = 0;
    attrs_fill(a, 2, 0.1f);
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)&t, NULL, 1, 0, 32, 32, a, 2, &det));
    EI_CHECK(det.count == 2);
    /* wrong grid: a 64x64 input needs 4x4 + 2x2 = 20 rows */
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)&t, NULL, 1, 0, 64, 64, a, 2, &det),
                   EI_CODE_INVALID_ARGUMENT, "output '?' has shape 1x5x7; expected 20 rows (grids 4x4 + 2x2");
    const char * name = "output";
    ei_decoder_destroy(dec);
    p.num_classes = 80;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)&t, &name, 1, 0, 32, 32, a, 2, &det),
                   EI_CODE_INVALID_ARGUMENT,
                   "YOLOX decoder: output 'output' has shape 1x5x7; expected 85 values per row (5 box/objectness "
                   "values + 80 classes)");
    ei_decoder_destroy(dec);
    ei_detections_free(&det);
    ei_tensor_destroy(t);
}

static void test_yolov5_v8(void) {
    ei_class_attrs a[2];
    attrs_fill(a, 2, 0.5f);
    ei_detections det = {0};
    /* v5: [N, 5+C] decoded */
    ei_decoder_params p = ei_decoder_params_default();
    p.kind = EI_DECODER_YOLOV5;
    const float   v5[2 * 7] = {50, 40, 20, 10, 0.9f, 0.1f, 0.9f, 10, 10, 4, 4, 0.1f, 0.9f, 0.9f};
    const int64_t d5[2] = {2, 7};
    ei_tensor *   t = make(2, d5, v5);
    ei_decoder *  dec = NULL;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)&t, NULL, 1, 0, 640, 640, a, 2, &det));
    EI_CHECK(det.count == 1 && det.items[0].class_id == 1 && fabsf(det.items[0].x1 - 40) < 1e-4f);
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)&t, NULL, 1, 1, 640, 640, a, 2, &det),
                   EI_CODE_INVALID_ARGUMENT, "batch item 1 requested from output '?' of shape 2x7");
    ei_decoder_destroy(dec);
    ei_tensor_destroy(t);
    /* v8: [4+C, N] and [N, 4+C] give the same boxes */
    p.kind = EI_DECODER_YOLOV8;
    p.num_classes = 2;
    const float rows[3 * 6] = {50, 40, 20, 10, 0.1f, 0.7f, 10, 10, 4, 4, 0.2f, 0.3f, 80, 80, 8, 8, 0.6f, 0.1f};
    float       cols[6 * 3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 6; k++) cols[k * 3 + i] = rows[i * 6 + k];
    const int64_t dr[3] = {1, 3, 6}, dc[3] = {1, 6, 3};
    ei_tensor *   tr = make(3, dr, rows), *tc = make(3, dc, cols);
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    ei_detections d2 = {0};
    det.count = 0;
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)&tr, NULL, 1, 0, 640, 640, a, 2, &det));
    EI_CHECK_OK(ei_decoder_run(dec, (const ei_tensor * const *)&tc, NULL, 1, 0, 640, 640, a, 2, &d2));
    EI_CHECK(det.count == 2 && d2.count == 2);
    if (det.count == 2 && d2.count == 2) {
        EI_CHECK(memcmp(det.items, d2.items, 2 * sizeof(ei_detection)) == 0);
        EI_CHECK(det.items[0].class_id == 1 && det.items[1].class_id == 0);
        EI_CHECK_NEAR(det.items[1].x2, 84, 1e-4);
    }
    ei_detections_free(&d2);
    ei_detections_free(&det);
    ei_decoder_destroy(dec);
    ei_tensor_destroy(tr);
    ei_tensor_destroy(tc);
}

static void test_errors(void) {
    ei_decoder_params p = ei_decoder_params_default();
    ei_decoder *      dec = NULL;
    p.kind = EI_DECODER_CUSTOM;
    EI_CHECK_ERROR(ei_decoder_create(&p, &dec), EI_CODE_INVALID_ARGUMENT, "custom parsers go through parser plugins");
    EI_CHECK(dec == NULL);
    p = ssd_params();
    p.num_classes = 3;
    p.boxes_output = "boxes";
    p.scores_output = "scores";
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    ei_class_attrs a[3];
    attrs_fill(a, 3, 0.5f);
    ei_detections det = {0};
    const int64_t bd[3] = {1, 3, 4}, sd[3] = {1, 2, 3}, s4[3] = {1, 2, 4}, b2[3] = {1, 2, 4}, r4[4] = {1, 1, 2, 3};
    ei_tensor *   outs[2] = {make(3, bd, NULL), make(3, sd, NULL)};
    const char *  names[2] = {"boxes", "scores"};
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 100, 100, a, 3, &det),
                   EI_CODE_INVALID_ARGUMENT,
                   "SSD decoder: output 'boxes' has shape 1x3x4; expected 2 rows of 4 box regressions (one per prior");
    ei_tensor_destroy(outs[0]);
    outs[0] = make(3, b2, NULL);
    ei_tensor_destroy(outs[1]);
    outs[1] = make(3, s4, NULL);
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 100, 100, a, 3, &det),
                   EI_CODE_INVALID_ARGUMENT,
                   "SSD decoder: output 'scores' has shape 1x2x4; expected 3 class scores per row (num_classes)");
    const char * other[2] = {"boxes", "logits"};
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)outs, other, 2, 0, 100, 100, a, 3, &det),
                   EI_CODE_NOT_FOUND,
                   "SSD decoder: no output named 'scores' for the scores (outputs: 'boxes' 1x2x4, 'logits' 1x2x4)");
    ei_tensor_destroy(outs[1]);
    outs[1] = make(4, r4, NULL);
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 100, 100, a, 3, &det),
                   EI_CODE_INVALID_ARGUMENT,
                   "output 'scores' has shape 1x1x2x3 (rank 4); expected rank 3 [batch, rows, columns] or rank 2");
    ei_decoder_destroy(dec);
    /* by shape: no output with last dimension 4 */
    p.boxes_output = p.scores_output = NULL;
    EI_CHECK_OK(ei_decoder_create(&p, &dec));
    EI_CHECK_ERROR(ei_decoder_run(dec, (const ei_tensor * const *)&outs[1], names + 1, 1, 0, 100, 100, a, 3, &det),
                   EI_CODE_NOT_FOUND,
                   "no output of rank 2 or 3 with last dimension 4 for the boxes (outputs: 'scores' 1x1x2x3)");
    ei_decoder_destroy(dec);
    p.priors.n_levels = 0;
    EI_CHECK_ERROR(ei_decoder_create(&p, &dec), EI_CODE_INVALID_ARGUMENT, "SSD decoder: priors: 0 levels");
    p = ei_decoder_params_default();
    p.size = 4;
    EI_CHECK_ERROR(ei_decoder_create(&p, &dec), EI_CODE_INVALID_ARGUMENT, "start from ei_decoder_params_default()");
    ei_tensor_destroy(outs[0]);
    ei_tensor_destroy(outs[1]);
    ei_detections_free(&det);
}

int main(void) {
    EI_RUN(test_ssd);
    EI_RUN(test_boxes_scores);
    EI_RUN(test_yolox);
    EI_RUN(test_yolov5_v8);
    EI_RUN(test_errors);
    EI_TEST_EXIT();
}
