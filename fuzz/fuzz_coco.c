/* The COCO annotation and results readers (and through them the JSON reader) on hostile bytes, and
 * the evaluation on whatever they accept. */
#include <stdint.h>
#include <string.h>

#include "edgeinfer/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

static const char g_fixed_gt[] =
    "{\"images\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}], \"categories\": [{\"id\": 1}, {\"id\": 2}],"
    " \"annotations\": [{\"id\": 1, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 10, 10], \"area\": 100},"
    " {\"id\": 2, \"image_id\": 2, \"category_id\": 2, \"bbox\": [5, 5, 40, 20], \"area\": 800, \"iscrowd\": 1}]}";

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ei_coco_metrics m;
    ei_coco_gt *    gt = NULL;
    ei_coco_dets *  dets = NULL;
    /* As an annotation file: evaluate its own boxes as detections. */
    ei_status * st = ei_coco_gt_parse((const char *)data, size, "fuzz", &gt);
    if (!st && (int64_t)gt->n_images * gt->n_cats <= 100000) {
        st = ei_coco_dets_create(&dets);
        for (int32_t i = 0; !st && i < gt->n_anns; i++)
            st = ei_coco_dets_add(dets, gt->anns[i].image_id, gt->anns[i].category_id, gt->anns[i].bbox,
                                  (double)(i % 7) / 7.0);
        if (!st) st = ei_coco_evaluate(gt, dets, &m);
    }
    ei_status_destroy(st);
    ei_coco_dets_destroy(dets);
    ei_coco_gt_destroy(gt);
    gt = NULL;
    dets = NULL;
    /* As a results file for a fixed annotation file. */
    st = ei_coco_gt_parse(g_fixed_gt, strlen(g_fixed_gt), "fixed", &gt);
    if (!st) st = ei_coco_dets_parse((const char *)data, size, "fuzz", gt, &dets);
    if (!st) st = ei_coco_evaluate(gt, dets, &m);
    ei_status_destroy(st);
    ei_coco_dets_destroy(dets);
    ei_coco_gt_destroy(gt);
    return 0;
}
