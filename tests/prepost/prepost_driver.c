/* Driver of test_prepost_oracle.py: SSDLite320's decoder and 4:2:0 pre-processing, on the AVX2
 * paths or forced to the scalar ones.
 *   prepost_driver priors OUT.txt
 *       SSDLite320's torchvision priors (cx cy w h per line, %.9g).
 *   prepost_driver decode BOXES.npy SCORES.npy THRESHOLD avx2|scalar OUT.txt
 *       SSD decoding, softmax, background 0, every class at THRESHOLD, 320x320: the candidates
 *       (x1 y1 x2 y2 score class per line, %.9g), no clustering.
 *   prepost_driver pre RAW nv12|i420 W H OW OH rgb|bgr KEEP nchw|nhwc avx2|scalar OUT.npy
 *       RAW is a W x H 4:2:0 frame (Y, then UV interleaved or U then V); ImageNet mean/std. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/detect.h"
#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"
#include "vision/decode_internal.h"
#include "vision/resize.h"

static int fail(ei_status * st) {
    fprintf(stderr, "error: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return 1;
}

static ei_decoder_params ssdlite_params(void) {
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
    return p;
}

static int cmd_priors(const char * out) {
    ei_decoder_params p = ssdlite_params();
    float *           pr = NULL;
    int32_t           n = 0;
    ei_status *       st = ei_priors_generate(&p.priors, &pr, &n);
    if (st) return fail(st);
    FILE * f = fopen(out, "w");
    if (!f) return 1;
    for (int32_t i = 0; i < n; i++)
        fprintf(f, "%.9g %.9g %.9g %.9g\n", (double)pr[4 * i], (double)pr[4 * i + 1], (double)pr[4 * i + 2],
                (double)pr[4 * i + 3]);
    fclose(f);
    free(pr);
    return 0;
}

static int cmd_decode(char ** a) {
    ei_tensor * outs[2] = {NULL, NULL};
    ei_status * st = ei_tensor_load_file(a[0], &outs[0]);
    if (!st) st = ei_tensor_load_file(a[1], &outs[1]);
    if (st) return fail(st);
    float             thr = strtof(a[2], NULL);
    ei_decoder_params p = ssdlite_params();
    ei_decoder *      dec = NULL;
    if ((st = ei_decoder_create(&p, &dec))) return fail(st);
    ei_class_attrs attrs[91];
    for (int c = 0; c < 91; c++) attrs[c] = ei_class_attrs_default(), attrs[c].pre_cluster_threshold = thr;
    ei_detections det = {0};
    const char *  names[2] = {"boxes", "scores"};
    ei_score_scan_force_scalar(!strcmp(a[3], "scalar"));
    st = ei_decoder_run(dec, (const ei_tensor * const *)outs, names, 2, 0, 320, 320, attrs, 91, &det);
    ei_score_scan_force_scalar(0);
    if (st) return fail(st);
    FILE * f = fopen(a[4], "w");
    if (!f) return 1;
    for (int32_t k = 0; k < det.count; k++) {
        const ei_detection * d = &det.items[k];
        fprintf(f, "%.9g %.9g %.9g %.9g %.9g %d\n", (double)d->x1, (double)d->y1, (double)d->x2, (double)d->y2,
                (double)d->score, d->class_id);
    }
    fclose(f);
    ei_detections_free(&det);
    ei_decoder_destroy(dec);
    ei_tensor_destroy(outs[0]);
    ei_tensor_destroy(outs[1]);
    return 0;
}

static int cmd_pre(char ** a) {
    ei_pixel_format fmt = strcmp(a[1], "nv12") ? EI_PIXEL_I420 : EI_PIXEL_NV12;
    int32_t         w = atoi(a[2]), h = atoi(a[3]);
    ei_image        img;
    ei_status *     st = ei_image_alloc(fmt, w, h, &img);
    if (st) return fail(st);
    FILE * f = fopen(a[0], "rb");
    if (!f) return 1;
    size_t got = 0, cw = (size_t)w / 2, ch = (size_t)h / 2;
    for (int32_t y = 0; y < h; y++) got += fread(img.plane[0] + (size_t)y * (size_t)img.stride[0], 1, (size_t)w, f);
    for (int p = 1; p <= (fmt == EI_PIXEL_I420 ? 2 : 1); p++)
        for (size_t y = 0; y < ch; y++)
            got += fread(img.plane[p] + y * (size_t)img.stride[p], 1, fmt == EI_PIXEL_I420 ? cw : 2 * cw, f);
    fclose(f);
    if (got != (size_t)w * (size_t)h + 2 * cw * ch) {
        fprintf(stderr, "error: %s is short\n", a[0]);
        return 1;
    }
    ei_preprocess_spec spec = ei_preprocess_spec_default();
    spec.width = atoi(a[4]), spec.height = atoi(a[5]);
    spec.color = strcmp(a[6], "bgr") ? EI_PIXEL_RGB : EI_PIXEL_BGR;
    spec.keep_aspect = atoi(a[7]);
    spec.layout = strcmp(a[8], "nhwc") ? EI_LAYOUT_NCHW : EI_LAYOUT_NHWC;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    if ((st = ei_preprocess_spec_set_mean_std(&spec, mean, std))) return fail(st);
    ei_shape    shape = {4, {1, 3, spec.height, spec.width}};
    ei_tensor * t = NULL;
    if (spec.layout == EI_LAYOUT_NHWC) shape = (ei_shape){4, {1, spec.height, spec.width, 3}};
    if ((st = ei_tensor_create(EI_DTYPE_F32, &shape, &t))) return fail(st);
    ei_resize_force_scalar(!strcmp(a[9], "scalar"));
    st = ei_preprocess(&spec, &img, ei_tensor_data(t), NULL);
    ei_resize_force_scalar(0);
    if (!st) st = ei_tensor_save_file(t, "input", a[10]);
    ei_tensor_destroy(t);
    ei_image_free(&img);
    return st ? fail(st) : 0;
}

int main(int argc, char ** argv) {
    if (argc == 3 && !strcmp(argv[1], "priors")) return cmd_priors(argv[2]);
    if (argc == 7 && !strcmp(argv[1], "decode")) return cmd_decode(argv + 2);
    if (argc == 13 && !strcmp(argv[1], "pre")) return cmd_pre(argv + 2);
    fprintf(stderr, "usage: prepost_driver priors OUT.txt | decode BOXES SCORES THR avx2|scalar OUT.txt | pre RAW "
                    "nv12|i420 W H OW OH rgb|bgr KEEP nchw|nhwc avx2|scalar OUT.npy\n");
    return 2;
}
