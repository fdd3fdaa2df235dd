/* Test driver for the Python oracle suite: runs the library's priors, decoders, ei_nms and
 * ei_cluster on .npy files and prints the result as JSON (one box per row: x1 y1 x2 y2 score class).
 *   decode_driver priors --style tv|pssd|min --image WxH [--min-ratio r --max-ratio r --last-scale s]
 *                 [--clip 0|1] --level fw,fh,step,min,max,scale,s1/s2..,r1/r2.. ...
 *   decode_driver nms --boxes file.npy ([N,6] float32) --iou t [--agnostic] [--topk k]
 *   decode_driver decode --kind ssd|boxes|yolox|yolov5|yolov8 --net WxH --out name=file.npy ...
 *                 [--classes n] [--background b] [--score-fn none|softmax|sigmoid] [--sigmoid]
 *                 [--multi-label] [--threshold t] [--nms iou | --cluster iou] [--agnostic] [prior options]
 * Exit 0 on success; on error prints the status message to stderr and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/detect.h"

#define MAX_OUTPUTS 8

static int fail(ei_status * st) {
    fprintf(stderr, "error: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return 1;
}

static int parse_list(const char * s, float * dst, int max) {
    int n = 0;
    while (s && *s && n < max) {
        char * end;
        dst[n++] = strtof(s, &end);
        if (*end != '/') break;
        s = end + 1;
    }
    return n;
}

/* fw,fh,step,min,max,scale,sizes,ratios */
static void parse_level(const char * arg, ei_prior_level * l) {
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", arg);
    char * field[8] = {0};
    int    nf = 0;
    char * p = buf;
    field[nf++] = p;
    while (*p && nf < 8) {
        if (*p == ',') {
            *p = '\0';
            field[nf++] = p + 1;
        }
        p++;
    }
    memset(l, 0, sizeof(*l));
    l->fm_w = nf > 0 ? atoi(field[0]) : 0;
    l->fm_h = nf > 1 ? atoi(field[1]) : 0;
    l->step_x = l->step_y = nf > 2 ? strtof(field[2], NULL) : 0.0f;
    l->min_size = nf > 3 ? strtof(field[3], NULL) : 0.0f;
    l->max_size = nf > 4 ? strtof(field[4], NULL) : 0.0f;
    l->scale = nf > 5 ? strtof(field[5], NULL) : 0.0f;
    l->n_sizes = nf > 6 ? parse_list(field[6], l->sizes, EI_PRIOR_MAX_SIZES) : 0;
    l->n_aspect_ratios = nf > 7 ? parse_list(field[7], l->aspect_ratios, EI_PRIOR_MAX_SIZES) : 0;
}

static void print_boxes(const ei_detection * d, int32_t n) {
    printf("{\"count\": %d, \"boxes\": [", n);
    for (int32_t i = 0; i < n; i++)
        printf("%s[%.9g, %.9g, %.9g, %.9g, %.9g, %d]", i ? ", " : "", (double)d[i].x1, (double)d[i].y1, (double)d[i].x2,
               (double)d[i].y2, (double)d[i].score, d[i].class_id);
    printf("]}\n");
}

int main(int argc, char ** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: decode_driver priors|nms|decode [options]\n");
        return 2;
    }
    const char *      mode = argv[1];
    ei_decoder_params p = ei_decoder_params_default();
    p.priors.clip = 1;
    const char * out_names[MAX_OUTPUTS];
    const char * out_files[MAX_OUTPUTS];
    char         name_buf[MAX_OUTPUTS][128];
    int          n_out = 0, agnostic = 0, cluster = 0, topk = -1, net_w = 0, net_h = 0;
    float        threshold = 0.2f, iou = -1.0f;
    const char * boxes_file = NULL;
    for (int i = 2; i < argc; i++) {
        const char * a = argv[i];
        const char * v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--style")) {
            p.priors.style = !strcmp(v, "tv")     ? EI_PRIOR_TORCHVISION
                             : !strcmp(v, "pssd") ? EI_PRIOR_PYTORCH_SSD
                                                  : EI_PRIOR_MIN_BOXES;
            i++;
        } else if (!strcmp(a, "--image")) {
            sscanf(v, "%dx%d", &p.priors.image_w, &p.priors.image_h);
            i++;
        } else if (!strcmp(a, "--net")) {
            sscanf(v, "%dx%d", &net_w, &net_h);
            i++;
        } else if (!strcmp(a, "--min-ratio"))
            p.priors.min_ratio = strtof(argv[++i], NULL);
        else if (!strcmp(a, "--max-ratio"))
            p.priors.max_ratio = strtof(argv[++i], NULL);
        else if (!strcmp(a, "--last-scale"))
            p.priors.last_scale = strtof(argv[++i], NULL);
        else if (!strcmp(a, "--clip"))
            p.priors.clip = atoi(argv[++i]);
        else if (!strcmp(a, "--level") && p.priors.n_levels < EI_PRIOR_MAX_LEVELS)
            parse_level(argv[++i], &p.priors.level[p.priors.n_levels++]);
        else if (!strcmp(a, "--boxes"))
            boxes_file = argv[++i];
        else if (!strcmp(a, "--iou") || !strcmp(a, "--nms"))
            iou = strtof(argv[++i], NULL);
        else if (!strcmp(a, "--cluster")) {
            iou = strtof(argv[++i], NULL);
            cluster = 1;
        } else if (!strcmp(a, "--agnostic"))
            agnostic = 1;
        else if (!strcmp(a, "--topk"))
            topk = atoi(argv[++i]);
        else if (!strcmp(a, "--threshold"))
            threshold = strtof(argv[++i], NULL);
        else if (!strcmp(a, "--classes"))
            p.num_classes = atoi(argv[++i]);
        else if (!strcmp(a, "--background"))
            p.background_class = atoi(argv[++i]);
        else if (!strcmp(a, "--sigmoid"))
            p.yolo_sigmoid = 1;
        else if (!strcmp(a, "--multi-label"))
            p.yolo_multi_label = 1;
        else if (!strcmp(a, "--score-fn")) {
            p.score_fn = !strcmp(v, "softmax")   ? EI_SCORE_SOFTMAX
                         : !strcmp(v, "sigmoid") ? EI_SCORE_SIGMOID
                                                 : EI_SCORE_NONE;
            i++;
        } else if (!strcmp(a, "--kind")) {
            p.kind = !strcmp(v, "ssd")      ? EI_DECODER_SSD
                     : !strcmp(v, "boxes")  ? EI_DECODER_BOXES_SCORES
                     : !strcmp(v, "yolox")  ? EI_DECODER_YOLOX
                     : !strcmp(v, "yolov5") ? EI_DECODER_YOLOV5
                     : !strcmp(v, "yolov8") ? EI_DECODER_YOLOV8
                                            : EI_DECODER_CUSTOM;
            i++;
        } else if (!strcmp(a, "--out") && n_out < MAX_OUTPUTS) {
            const char * eq = strchr(v, '=');
            if (!eq || eq - v >= 127) {
                fprintf(stderr, "--out wants name=file.npy\n");
                return 2;
            }
            snprintf(name_buf[n_out], sizeof(name_buf[n_out]), "%.*s", (int)(eq - v), v);
            out_names[n_out] = name_buf[n_out];
            out_files[n_out++] = eq + 1;
            i++;
        } else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }

    if (!strcmp(mode, "priors")) {
        float *     pr = NULL;
        int32_t     n = 0;
        ei_status * st = ei_priors_generate(&p.priors, &pr, &n);
        if (st) return fail(st);
        printf("{\"count\": %d, \"priors\": [", n);
        for (int32_t i = 0; i < n; i++)
            printf("%s[%.9g, %.9g, %.9g, %.9g]", i ? ", " : "", (double)pr[4 * i], (double)pr[4 * i + 1],
                   (double)pr[4 * i + 2], (double)pr[4 * i + 3]);
        printf("]}\n");
        free(pr);
        return 0;
    }

    if (!strcmp(mode, "nms")) {
        ei_tensor * t = NULL;
        ei_status * st = ei_tensor_load_file(boxes_file ? boxes_file : "", &t);
        if (st) return fail(st);
        const ei_shape * s = ei_tensor_shape(t);
        if (ei_tensor_dtype(t) != EI_DTYPE_F32 || s->rank != 2 || s->dim[1] != 6) {
            fprintf(stderr, "error: --boxes wants a float32 [N,6] array\n");
            ei_tensor_destroy(t);
            return 1;
        }
        int32_t        n = (int32_t)s->dim[0];
        const float *  f = ei_tensor_data_const(t);
        ei_detection * d = malloc(((size_t)n + 1) * sizeof(*d));
        for (int32_t i = 0; i < n; i++) {
            ei_detection x = {f[6 * i], f[6 * i + 1], f[6 * i + 2], f[6 * i + 3], f[6 * i + 4], (int32_t)f[6 * i + 5]};
            d[i] = x;
        }
        int32_t k = ei_nms(d, n, iou, agnostic, topk);
        print_boxes(d, k);
        free(d);
        ei_tensor_destroy(t);
        return 0;
    }

    ei_tensor *   outs[MAX_OUTPUTS] = {0};
    int           rc = 0;
    ei_decoder *  dec = NULL;
    ei_detections det = {0};
    ei_status *   st = NULL;
    for (int i = 0; i < n_out && !st; i++) st = ei_tensor_load_file(out_files[i], &outs[i]);
    if (!st) st = ei_decoder_create(&p, &dec);
    static ei_class_attrs attrs[4096];
    int32_t               n_attrs = (int32_t)(sizeof(attrs) / sizeof(attrs[0]));
    for (int32_t c = 0; c < n_attrs; c++) {
        attrs[c] = ei_class_attrs_default();
        attrs[c].pre_cluster_threshold = threshold;
        if (iou >= 0.0f) attrs[c].nms_iou_threshold = iou;
    }
    if (!st)
        st = ei_decoder_run(dec, (const ei_tensor * const *)outs, out_names, n_out, 0, net_w, net_h, attrs, n_attrs,
                            &det);
    if (st) {
        rc = fail(st);
    } else {
        int32_t k = det.count;
        if (cluster)
            k = ei_cluster(det.items, det.count, attrs, n_attrs, agnostic, topk);
        else if (iou >= 0.0f)
            k = ei_nms(det.items, det.count, iou, agnostic, topk);
        print_boxes(det.items, k);
    }
    ei_detections_free(&det);
    ei_decoder_destroy(dec);
    for (int i = 0; i < n_out; i++) ei_tensor_destroy(outs[i]);
    return rc;
}
