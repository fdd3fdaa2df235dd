/* Detection post-processing per frame: SSDLite320-style outputs (3234 priors x 91 classes, raw
 * logits, background 0) to final boxes: softmax + threshold + SSD box decode (ei_decoder_run) then
 * class-wise greedy NMS (ei_nms). Run by bench/postprocess_vs_opencv.py, which makes the outputs
 * and times OpenCV's NMS on the same candidates in the same run.
 *   bench_postprocess BOXES.npy SCORES.npy ITERS THRESHOLD IOU
 * Prints "median_us <t> candidates <n> kept <k>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgeinfer/detect.h"

#include "bench_time.h"

static int fail(ei_status * st) {
    fprintf(stderr, "error: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return 1;
}

int main(int argc, char ** argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: bench_postprocess BOXES.npy SCORES.npy ITERS THRESHOLD IOU [KEPT.txt]\n");
        return 2;
    }
    int         iters = atoi(argv[3]);
    float       thr = strtof(argv[4], NULL), iou = strtof(argv[5], NULL);
    ei_tensor * outs[2] = {NULL, NULL};
    ei_status * st = ei_tensor_load_file(argv[1], &outs[0]);
    if (!st) st = ei_tensor_load_file(argv[2], &outs[1]);
    if (st) return fail(st);

    ei_decoder_params p = ei_decoder_params_default();
    p.kind = EI_DECODER_SSD;
    p.score_fn = EI_SCORE_SOFTMAX;
    p.num_classes = 91;
    p.priors.style = EI_PRIOR_TORCHVISION;
    p.priors.image_w = p.priors.image_h = 320;
    p.priors.n_levels = 6;
    p.priors.min_ratio = 0.2f;
    p.priors.max_ratio = 0.95f;
    p.priors.clip = 1;
    static const int grid[6] = {20, 10, 5, 3, 2, 1};
    for (int k = 0; k < 6; k++) {
        p.priors.level[k].fm_w = p.priors.level[k].fm_h = grid[k];
        p.priors.level[k].n_aspect_ratios = 2;
        p.priors.level[k].aspect_ratios[0] = 2;
        p.priors.level[k].aspect_ratios[1] = 3;
    }
    ei_decoder * dec = NULL;
    if ((st = ei_decoder_create(&p, &dec))) return fail(st);
    ei_class_attrs attrs[91];
    for (int c = 0; c < 91; c++) {
        attrs[c] = ei_class_attrs_default();
        attrs[c].pre_cluster_threshold = thr;
    }
    ei_detections det = {0};
    size_t        n_t = (size_t)(iters > 0 ? iters : 1);
    double *      t = malloc(n_t * sizeof(double));
    double *      t_nms = malloc(n_t * sizeof(double));
    if (!t || !t_nms) {
        fprintf(stderr, "error: out of memory\n");
        return 1;
    }
    int32_t      cand = 0, kept = 0;
    const char * names[2] = {"boxes", "scores"};
    for (int i = 0; i < iters; i++) {
        double t0 = ei_bench_now_us();
        det.count = 0;
        st = ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 320, 320, attrs, 91, &det);
        if (st) return fail(st);
        cand = det.count;
        double t1 = ei_bench_now_us();
        kept = ei_nms(det.items, det.count, iou, 0, 0);
        double t2 = ei_bench_now_us();
        t[i] = t2 - t0;
        t_nms[i] = t2 - t1;
    }
    if (argc == 7) {
        FILE * f = fopen(argv[6], "w");
        if (!f) {
            fprintf(stderr, "error: cannot write %s\n", argv[6]);
            return 1;
        }
        for (int32_t k = 0; k < kept; k++) {
            const ei_detection * d = &det.items[k];
            fprintf(f, "%.4f %.4f %.4f %.4f %.6f %d\n", d->x1, d->y1, d->x2, d->y2, d->score, d->class_id);
        }
        fclose(f);
    }
    qsort(t, (size_t)iters, sizeof(double), ei_bench_cmp_double);
    qsort(t_nms, (size_t)iters, sizeof(double), ei_bench_cmp_double);
    printf("median_us %.2f candidates %d kept %d nms_median_us %.2f\n", iters > 0 ? t[iters / 2] : 0.0, cand, kept,
           iters > 0 ? t_nms[iters / 2] : 0.0);
    free(t);
    free(t_nms);
    ei_detections_free(&det);
    ei_decoder_destroy(dec);
    ei_tensor_destroy(outs[0]);
    ei_tensor_destroy(outs[1]);
    return 0;
}
