/* include/edgeinfer/eval.h through its public API: readers, evaluation on cases whose answers are
 * known by hand, the summary format, results files round trip, confusion matrix and IoU, errors. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ei_test.h"

static const char g_gt[] =
    "{\"images\": [{\"id\": 2, \"file_name\": \"b.jpg\", \"width\": 100, \"height\": 80},\n"
    "  {\"id\": 1, \"file_name\": \"a.jpg\"}],\n"
    " \"categories\": [{\"id\": 5, \"name\": \"cat\"}, {\"id\": 3, \"name\": \"dog\"}],\n"
    " \"annotations\": [\n"
    "  {\"id\": 1, \"image_id\": 1, \"category_id\": 3, \"bbox\": [0, 0, 40, 40], \"area\": 1600},\n"
    "  {\"id\": 2, \"image_id\": 2, \"category_id\": 5, \"bbox\": [10, 10, 50, 50], \"area\": "
    "2500, \"iscrowd\": 0}]}";

static void test_read_gt(void) {
    ei_coco_gt * gt = NULL;
    EI_CHECK_OK(ei_coco_gt_parse(g_gt, strlen(g_gt), "gt", &gt));
    if (!gt) return;
    EI_CHECK(gt->n_images == 2 && gt->n_anns == 2 && gt->n_cats == 2);
    const ei_coco_image * im = ei_coco_gt_find_image(gt, 2);
    EI_CHECK(im && !strcmp(im->file_name, "b.jpg") && im->width == 100 && im->height == 80);
    EI_CHECK(ei_coco_gt_find_image(gt, 7) == NULL);
    EI_CHECK(gt->anns[1].area == 2500 && !gt->anns[1].iscrowd && gt->anns[1].bbox[2] == 50);
    ei_coco_gt_destroy(gt);
}

static void test_perfect_and_empty(void) {
    ei_coco_gt *    gt = NULL;
    ei_coco_dets *  d = NULL;
    ei_coco_metrics m;
    EI_CHECK_OK(ei_coco_gt_parse(g_gt, strlen(g_gt), "gt", &gt));
    EI_CHECK_OK(ei_coco_dets_create(&d));
    if (!gt || !d) return;
    /* No detections: AP 0 where there is ground truth (medium only), -1 elsewhere. */
    EI_CHECK_OK(ei_coco_evaluate(gt, d, &m));
    EI_CHECK(m.stats[0] == 0 && m.stats[3] == -1 && m.stats[4] == 0 && m.stats[5] == -1 && m.stats[8] == 0);
    /* Exact boxes: everything defined is 1. */
    const double b1[4] = {0, 0, 40, 40}, b2[4] = {10, 10, 50, 50};
    EI_CHECK_OK(ei_coco_dets_add(d, 1, 3, b1, 0.5));
    EI_CHECK_OK(ei_coco_dets_add(d, 2, 5, b2, 0.9));
    EI_CHECK(d->items[1].id == 2 && d->items[1].area == 2500);
    EI_CHECK_OK(ei_coco_evaluate(gt, d, &m));
    /* Precision is tp / (tp + fp + eps) as in pycocotools: 1 - 2e-16, not 1. */
    for (int i = 0; i < EI_COCO_N_STATS; i++)
        EI_CHECK_NEAR(m.stats[i], i == 3 || i == 5 || i == 9 || i == 11 ? -1 : 1, 1e-12);
    EI_CHECK(m.n_images == 2 && m.n_categories == 2 && m.n_gt == 2 && m.n_dets == 2);
    char line[160];
    ei_coco_format_stat(&m, 0, line, sizeof line);
    EI_CHECK(!strcmp(line, " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000"));
    ei_coco_format_stat(&m, 9, line, sizeof line);
    EI_CHECK(!strcmp(line, " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000"));
    EI_CHECK(!strcmp(ei_coco_stat_name(1), "AP50") && ei_coco_stat_name(12) == NULL);
    /* A box shifted to IoU 0.6 (40x40 vs 40x40 moved by 10 in x: 1200 / 2000): matched below 0.65 only. */
    d->count = 0;
    const double s1[4] = {10, 0, 40, 40};
    EI_CHECK_OK(ei_coco_dets_add(d, 1, 3, s1, 0.5));
    EI_CHECK_OK(ei_coco_dets_add(d, 2, 5, b2, 0.9));
    EI_CHECK_OK(ei_coco_evaluate(gt, d, &m));
    /* Category 3: AP 1 at thresholds .50 .55 .60, 0 at the other 7; category 5: 1 everywhere. */
    EI_CHECK_NEAR(m.stats[0], (0.3 + 1.0) / 2, 1e-12);
    EI_CHECK_NEAR(m.stats[1], 1.0, 1e-12);
    EI_CHECK_NEAR(m.stats[2], 0.5, 1e-12);
    ei_coco_dets_destroy(d);
    ei_coco_gt_destroy(gt);
}

static void test_results_round_trip(void) {
    ei_coco_gt *   gt = NULL;
    ei_coco_dets * d = NULL;
    ei_coco_dets * back = NULL;
    EI_CHECK_OK(ei_coco_gt_parse(g_gt, strlen(g_gt), "gt", &gt));
    EI_CHECK_OK(ei_coco_dets_create(&d));
    if (!gt || !d) return;
    const double b[4] = {0.1, 1.0 / 3, 40.000001, 1e-7};
    EI_CHECK_OK(ei_coco_dets_add(d, 1, 3, b, 0.123456789012345));
    EI_CHECK_OK(ei_coco_dets_add(d, 2, 99, b, 0.5));
    char path[] = "/tmp/ei_eval_api_XXXXXX";
    int  fd = mkstemp(path);
    EI_CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    EI_CHECK_OK(ei_coco_dets_save(d, path));
    EI_CHECK_OK(ei_coco_dets_load(path, gt, &back));
    if (back) {
        EI_CHECK(back->count == 2 && back->n_unknown_category == 1 && back->first_unknown_category == 99);
        EI_CHECK(!memcmp(back->items[0].bbox, b, sizeof b) && back->items[0].score == 0.123456789012345);
    }
    remove(path);
    ei_coco_dets_destroy(back);
    ei_coco_dets_destroy(d);
    ei_coco_gt_destroy(gt);
}

static void test_errors(void) {
    ei_coco_gt *   gt = NULL;
    ei_coco_dets * d = NULL;
    EI_CHECK_ERROR(ei_coco_gt_parse("{\"images\": [}", 13, "x.json", &gt), EI_CODE_INVALID_ARGUMENT,
                   "x.json: line 1, column");
    EI_CHECK_ERROR(ei_coco_gt_parse("[]", 2, "x.json", &gt), EI_CODE_INVALID_ARGUMENT, "pass it as --detections");
    const char * dup = "{\"images\": [{\"id\": 1}, {\"id\": 1}], \"annotations\": [], \"categories\": []}";
    EI_CHECK_ERROR(ei_coco_gt_parse(dup, strlen(dup), "x.json", &gt), EI_CODE_INVALID_ARGUMENT,
                   "image id 1 appears twice");
    const char * frac = "{\"images\": [{\"id\": 1.5}], \"annotations\": [], \"categories\": []}";
    EI_CHECK_ERROR(ei_coco_gt_parse(frac, strlen(frac), "x.json", &gt), EI_CODE_INVALID_ARGUMENT,
                   "\"id\" must be an integer");
    EI_CHECK_ERROR(ei_coco_gt_load("/nonexistent/gt.json", &gt), EI_CODE_NOT_FOUND, "cannot open annotation file");
    EI_CHECK_OK(ei_coco_gt_parse(g_gt, strlen(g_gt), "gt", &gt));
    const char * nan_score = "[{\"image_id\": 1, \"category_id\": 3, \"bbox\": [0, 0, 1, 1], \"score\": \"high\"}]";
    EI_CHECK_ERROR(ei_coco_dets_parse(nan_score, strlen(nan_score), "d.json", gt, &d), EI_CODE_INVALID_ARGUMENT,
                   "\"score\" must be a finite number");
    EI_CHECK(d == NULL);
    const double b[4] = {0, 0, 1, 1};
    EI_CHECK_OK(ei_coco_dets_create(&d));
    if (d) EI_CHECK_ERROR(ei_coco_dets_add(d, 1, 3, b, NAN), EI_CODE_INVALID_ARGUMENT, "finite");
    ei_coco_dets_destroy(d);
    ei_coco_gt_destroy(gt);
}

static void test_confusion(void) {
    ei_seg_confusion * c = NULL;
    EI_CHECK_ERROR(ei_seg_confusion_create(0, &c), EI_CODE_INVALID_ARGUMENT, "1..255");
    EI_CHECK_OK(ei_seg_confusion_create(4, &c));
    if (!c) return;
    /* 3x2 images with a row stride of 4 bytes. gt: class 0, 1, ignore; pred: 255 means no class. */
    const uint8_t gt[8] = {0, 0, 1, 9, 1, 255, 1, 9};
    const uint8_t pr[8] = {0, 1, 1, 9, 255, 2, 1, 9};
    EI_CHECK_OK(ei_seg_confusion_add(c, gt, 4, pr, 4, 3, 2));
    EI_CHECK(c->n_pixels == 5 && c->n_ignored == 1);
    double iou[4], miou;
    ei_seg_confusion_iou(c, iou, &miou);
    /* class 0: tp 1, gt 2, pred 1 -> 1/2; class 1: tp 2, gt 3 (one unassigned), pred 3 -> 2/4;
     * class 2, 3: neither in gt nor predicted (the 2 sits on an ignored pixel) -> -1. */
    EI_CHECK_NEAR(iou[0], 0.5, 1e-12);
    EI_CHECK_NEAR(iou[1], 0.5, 1e-12);
    EI_CHECK(iou[2] == -1 && iou[3] == -1);
    EI_CHECK_NEAR(miou, 0.5, 1e-12);
    const uint8_t bad[1] = {7};
    EI_CHECK_ERROR(ei_seg_confusion_add(c, bad, 1, pr, 1, 1, 1), EI_CODE_INVALID_ARGUMENT, "label 7 at (0, 0)");
    EI_CHECK(c->n_pixels == 5);
    ei_seg_confusion_destroy(c);
    uint8_t * l = NULL;
    int32_t   w, h;
    EI_CHECK_ERROR(ei_label_png_load("/nonexistent.png", &l, &w, &h), EI_CODE_NOT_FOUND, "cannot open label PNG");
}

int main(void) {
    EI_RUN(test_read_gt);
    EI_RUN(test_perfect_and_empty);
    EI_RUN(test_results_round_trip);
    EI_RUN(test_errors);
    EI_RUN(test_confusion);
    EI_TEST_EXIT();
}
