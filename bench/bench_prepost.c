/* Pre- and post-processing of one detector's app job, per frame, on decoded video frames:
 *   bench_prepost CONFIG.ini FRAMES.yuv WIDTH HEIGHT i420|nv12 [FRAMES] [REPS] [pre]
 * FRAMES.yuv holds raw 4:2:0 frames back to back (ffmpeg -pix_fmt yuv420p|nv12 -f rawvideo).
 * Each frame goes once through ei_infer_run (the app's job; its own stage timers are reported as
 * "pipeline"); the network's outputs are kept, then pre-processing (ei_preprocess into the model's
 * input) and post-processing (ei_decoder_run, ei_detections_to_image, ei_cluster: what ei_infer_run
 * times as post-process for a built-in decoder with cluster-mode 2) are timed alone, REPS times per
 * frame, without the network in between (repeatable where the pipeline's figures are noisy).
 * Prints the medians in microseconds, the candidate and kept box counts, and FNV-1a hashes of the
 * network inputs and of the final boxes (bit patterns), so two builds can be checked for identical
 * results. Single-threaded pre/post, as the app runs them. With `pre` only pre-processing runs (no
 * network), for instruction counts (perf stat, callgrind) of that stage alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgeinfer/config.h"
#include "edgeinfer/detect.h"
#include "edgeinfer/infer.h"
#include "edgeinfer/tensor.h"

#include "bench_time.h"

static double median(double * v, size_t n) {
    qsort(v, n, sizeof *v, ei_bench_cmp_double);
    return n ? v[n / 2] : 0.0;
}

static uint64_t fnv(uint64_t h, const void * p, size_t n) {
    const uint8_t * b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int fail(ei_status * st) {
    fprintf(stderr, "bench_prepost: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return 1;
}

int main(int argc, char ** argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_prepost CONFIG.ini FRAMES.yuv WIDTH HEIGHT i420|nv12 [FRAMES] [REPS] [pre]\n");
        return 2;
    }
    int32_t         W = atoi(argv[3]), H = atoi(argv[4]);
    ei_pixel_format fmt = strcmp(argv[5], "nv12") ? EI_PIXEL_I420 : EI_PIXEL_NV12;
    int32_t         want = argc > 6 ? atoi(argv[6]) : 60, reps = argc > 7 ? atoi(argv[7]) : 20;
    int             pre_only = argc > 8 && !strcmp(argv[8], "pre");
    size_t          fsize = (size_t)W * (size_t)H * 3 / 2;
    if (W <= 0 || H <= 0 || (W & 1) || (H & 1) || want <= 0 || reps <= 0) {
        fprintf(stderr, "bench_prepost: bad size or counts\n");
        return 2;
    }
    FILE * f = fopen(argv[2], "rb");
    if (!f) {
        fprintf(stderr, "bench_prepost: cannot open %s\n", argv[2]);
        return 1;
    }
    uint8_t * raw = malloc(fsize * (size_t)want);
    int32_t   n = raw ? (int32_t)fread(raw, fsize, (size_t)want, f) : 0;
    fclose(f);
    if (n <= 0) {
        fprintf(stderr, "bench_prepost: no frame in %s\n", argv[2]);
        return 1;
    }
    ei_image * frames = calloc((size_t)n, sizeof *frames);
    for (int32_t i = 0; i < n; i++) {
        uint8_t * y = raw + (size_t)i * fsize;
        frames[i].format = fmt;
        frames[i].width = W, frames[i].height = H;
        frames[i].plane[0] = y, frames[i].stride[0] = W;
        frames[i].plane[1] = y + (size_t)W * H;
        frames[i].stride[1] = fmt == EI_PIXEL_NV12 ? W : W / 2;
        if (fmt == EI_PIXEL_I420) frames[i].plane[2] = frames[i].plane[1] + (size_t)(W / 2) * (H / 2);
        frames[i].stride[2] = W / 2;
    }

    ei_infer_config * cfg = NULL;
    ei_infer *        inf = NULL;
    ei_status *       st = ei_infer_config_load(argv[1], &cfg);
    if (!st) st = ei_infer_create(cfg, NULL, &inf);
    if (st) return fail(st);
    if (cfg->network_type != EI_NETWORK_TYPE_DETECTOR || cfg->custom_lib_path) {
        fprintf(stderr, "bench_prepost: needs a detector with a built-in decoder\n");
        return 2;
    }
    const ei_preprocess_spec * pre = ei_infer_preprocess(inf);
    int32_t                    n_out = 0;
    while (ei_infer_output(inf, n_out)) n_out++;
    const ei_model * model = ei_infer_model(inf);
    const char **    names = calloc((size_t)n_out, sizeof *names);
    ei_tensor **     outs = calloc((size_t)n * (size_t)n_out, sizeof *outs);
    double *         p_pre = calloc((size_t)n, sizeof(double)), *p_post = calloc((size_t)n, sizeof(double));
    for (int32_t k = 0; k < n_out; k++) names[k] = ei_model_output_name(model, k);

    /* The app's job: each frame once through the pipeline; outputs kept. */
    ei_frame_result res;
    memset(&res, 0, sizeof res);
    uint64_t h_pipe = 1469598103934665603ull;
    for (int32_t i = 0; i < (pre_only ? 0 : n); i++) {
        if ((st = ei_infer_run(inf, &frames[i], 1, &res))) return fail(st);
        ei_infer_timing t = ei_infer_last_timing(inf);
        p_pre[i] = t.preprocess_ms * 1e3;
        p_post[i] = t.postprocess_ms * 1e3;
        h_pipe = fnv(h_pipe, res.detections.items, sizeof(ei_detection) * (size_t)res.detections.count);
        for (int32_t k = 0; k < n_out; k++) {
            const ei_tensor * o = ei_infer_output(inf, k);
            ei_tensor **      c = &outs[(size_t)i * (size_t)n_out + (size_t)k];
            if ((st = ei_tensor_create(ei_tensor_dtype(o), ei_tensor_shape(o), c))) return fail(st);
            memcpy(ei_tensor_data(*c), ei_tensor_data_const(o), ei_tensor_nbytes(o));
        }
    }
    ei_frame_result_free(&res);

    /* Pre-processing alone. */
    const ei_tensor *    in = ei_infer_input_tensor(inf);
    size_t               in_n = (size_t)ei_tensor_numel(in);
    float *              buf = malloc(sizeof(float) * in_n);
    ei_frame_transform * xf = calloc((size_t)n, sizeof *xf);
    double *             t_pre = malloc(sizeof(double) * (size_t)n * (size_t)reps);
    uint64_t             h_in = 1469598103934665603ull;
    for (int32_t r = 0; r < reps; r++)
        for (int32_t i = 0; i < n; i++) {
            double t0 = ei_bench_now_us();
            if ((st = ei_preprocess(pre, &frames[i], buf, &xf[i]))) return fail(st);
            t_pre[(size_t)r * (size_t)n + (size_t)i] = ei_bench_now_us() - t0;
            if (!r) h_in = fnv(h_in, buf, sizeof(float) * in_n);
        }

    if (pre_only) {
        printf("pre only: frames %d reps %d pre_us %.1f input hash %016llx\n", n, reps,
               median(t_pre, (size_t)n * (size_t)reps), (unsigned long long)h_in);
        free(names), free(outs), free(buf), free(xf), free(t_pre), free(p_pre), free(p_post), free(frames), free(raw);
        ei_infer_destroy(inf);
        ei_infer_config_destroy(cfg);
        return 0;
    }
    /* Post-processing alone, as ei_infer_run does it for a built-in decoder. */
    ei_decoder_params dp = cfg->decoder;
    int32_t           n_cls = cfg->num_detected_classes;
    if (dp.num_classes <= 0) dp.num_classes = n_cls;
    if (dp.priors.image_w <= 0) dp.priors.image_w = pre->width;
    if (dp.priors.image_h <= 0) dp.priors.image_h = pre->height;
    ei_decoder * dec = NULL;
    if ((st = ei_decoder_create(&dp, &dec))) return fail(st);
    ei_class_attrs * attrs = malloc(sizeof *attrs * (size_t)(n_cls > 0 ? n_cls : 1));
    for (int32_t c = 0; c < n_cls; c++)
        attrs[c] = cfg->class_attrs && c < cfg->n_class_attrs ? cfg->class_attrs[c] : ei_class_attrs_default();
    ei_detections det = {0};
    double *      t_post = malloc(sizeof(double) * (size_t)n * (size_t)reps);
    double *      t_dec = malloc(sizeof(double) * (size_t)n * (size_t)reps);
    uint64_t      h_out = 1469598103934665603ull;
    double        cand = 0, kept = 0;
    for (int32_t r = 0; r < reps; r++)
        for (int32_t i = 0; i < n; i++) {
            const ei_tensor * const * o = (const ei_tensor * const *)&outs[(size_t)i * (size_t)n_out];
            double                    t0 = ei_bench_now_us();
            det.count = 0;
            if ((st = ei_decoder_run(dec, o, names, n_out, 0, pre->width, pre->height, attrs, n_cls, &det)))
                return fail(st);
            double  t1 = ei_bench_now_us();
            int32_t c0 = det.count;
            ei_detections_to_image(&xf[i], det.items, det.count, 1);
            det.count = cfg->cluster_mode == EI_CLUSTER_MODE_NMS
                            ? ei_cluster(det.items, det.count, attrs, n_cls, cfg->nms_class_agnostic, cfg->overall_topk)
                            : det.count;
            double t2 = ei_bench_now_us();
            t_post[(size_t)r * (size_t)n + (size_t)i] = t2 - t0;
            t_dec[(size_t)r * (size_t)n + (size_t)i] = t1 - t0;
            if (!r) {
                cand += c0, kept += det.count;
                h_out = fnv(h_out, det.items, sizeof(ei_detection) * (size_t)det.count);
            }
        }
    size_t m = (size_t)n * (size_t)reps;
    printf("frames %d reps %d %s %dx%d -> %dx%d\n", n, reps, argv[5], W, H, pre->width, pre->height);
    printf("pipeline  pre_us %.1f post_us %.1f (median of %d ei_infer_run)\n", median(p_pre, (size_t)n),
           median(p_post, (size_t)n), n);
    printf("alone     pre_us %.1f post_us %.1f (decode %.1f, to_image + cluster %.1f)\n", median(t_pre, m),
           median(t_post, m), median(t_dec, m), median(t_post, m) - median(t_dec, m));
    printf("boxes     candidates/frame %.1f kept/frame %.1f\n", cand / n, kept / n);
    printf("hashes    input %016llx boxes %016llx pipeline_boxes %016llx\n", (unsigned long long)h_in,
           (unsigned long long)h_out, (unsigned long long)h_pipe);
    ei_detections_free(&det);
    ei_decoder_destroy(dec);
    for (size_t k = 0; k < (size_t)n * (size_t)n_out; k++) ei_tensor_destroy(outs[k]);
    free(outs), free(names), free(attrs), free(buf), free(xf), free(t_pre), free(t_post), free(t_dec);
    free(p_pre), free(p_post), free(frames), free(raw);
    ei_infer_destroy(inf);
    ei_infer_config_destroy(cfg);
    return 0;
}
