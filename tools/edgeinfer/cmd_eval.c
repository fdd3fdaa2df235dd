/* `edgeinfer eval`: accuracy of a detector on a COCO-format set (the twelve pycocotools numbers) or
 * of a segmentation network on label PNGs (mIoU), for one or several precisions, with latency, a
 * comparison table and a speed/accuracy chart. The metrics are the library's (include/edgeinfer/
 * eval.h); this file runs the model and reports. docs/eval.md describes it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/status.h"
#include "edgeinfer/calib.h"
#include "edgeinfer/draw.h"
#include "edgeinfer/eval.h"
#include "edgeinfer/infer.h"

#define MAX_PRECISIONS 8
#define MAX_WARN_LINES 5 /* per kind of per-image problem; the rest are counted */

typedef struct eval_args {
    const char * config;
    const char * coco;
    const char * detections;
    const char * images;
    const char * segmentation;
    const char * predictions;
    long         classes;
    const char * category_ids;
    const char * json;
    const char * detections_out;
    const char * plot;
    const char * calib_cache;
    const char * cache;
    long         max_images; /* 0: all */
    int          threads;
    bool         quiet;
    ei_precision precisions[MAX_PRECISIONS];
    int          n_precisions; /* 0: as the config says */
} eval_args;

static void help(void) {
    printf("usage: edgeinfer eval --coco ANNOTATIONS.json --detections RESULTS.json [--json FILE]\n"
           "       edgeinfer eval -c CONFIG.ini --coco ANNOTATIONS.json --images DIR [options]\n"
           "       edgeinfer eval -c CONFIG.ini --segmentation LABEL_DIR --images DIR [options]\n"
           "       edgeinfer eval --segmentation LABEL_DIR --predictions DIR --classes N [--json FILE]\n\n"
           "Measures accuracy. Detection: COCO box metrics (AP@[.5:.95], AP50, AP75, AP small/medium/large,\n"
           "AR1/AR10/AR100, AR small/medium/large) computed exactly as pycocotools' COCOeval does, either of\n"
           "a results file or of the detector in CONFIG.ini run over every image of the annotation file\n"
           "found in DIR (use a config with a low threshold: configs/yolox_nano_eval.ini). Segmentation:\n"
           "per-class IoU and mIoU against LABEL_DIR/<image name>.png (class ids, 255 = ignore).\n\n"
           "  -c, --config FILE       the inference config (docs/config-keys.md)\n"
           "  --coco FILE             COCO instances JSON (images, annotations, categories)\n"
           "  --detections FILE       evaluate this COCO results file; no model is run\n"
           "  --images DIR            the images (COCO: file_name of each annotated image)\n"
           "  --segmentation DIR      label PNGs, one per image, named like the image with .png\n"
           "  --predictions DIR       evaluate saved label maps (`edgeinfer segment -o` writes them): for each\n"
           "                          LABEL_DIR/NAME.png, DIR/NAME_labels.png or DIR/NAME.png; no model is run\n"
           "  --classes N             the class count, with --predictions\n"
           "  --category-ids FILE     line i is the COCO category_id of class i (default: class i is the\n"
           "                          i-th category by id when the counts agree, else category_id i)\n"
           "  --precision LIST        comma-separated: fp32,bf16,fp16,int8; each is built and evaluated and\n"
           "                          one table compares them with fp32 (default: the config's engine)\n"
           "  --calib-cache FILE      calibration table for int8 (edgeinfer build --precision int8)\n"
           "  --json FILE             write the numbers as JSON\n"
           "  --detections-out FILE   write the detections in COCO results format (with several\n"
           "                          precisions: FILE with .<precision> before its extension)\n"
           "  --plot FILE.png         draw the speed/accuracy chart (x: median latency, y: mAP or mIoU)\n"
           "  --max-images N          only the first N images (the metrics then cover those images only)\n"
           "  --threads N             worker threads (default: one per core)\n"
           "  --cache DIR             keep the engine built from onnx-file in DIR (config's precision)\n"
           "  --quiet                 no progress line\n\n"
           "An annotated image missing from DIR (or unreadable) is reported, left out of the metrics, and\n"
           "makes the exit code non-zero; so does a precision whose engine cannot be built (the others are\n"
           "still evaluated). Latency is the median network time per image (pre/post-processing excluded).\n");
}

static int parse_precisions(const char * list, eval_args * a) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        ei_precision p;
        if (!ei_precision_parse(tok, &p))
            return ei_cli_usage_error("eval", "--precision: '%s' is not one of fp32, bf16, fp16, int8", tok);
        for (int i = 0; i < a->n_precisions; i++)
            if (a->precisions[i] == p) return ei_cli_usage_error("eval", "--precision lists '%s' twice", tok);
        if (a->n_precisions == MAX_PRECISIONS) return ei_cli_usage_error("eval", "--precision: too many entries");
        a->precisions[a->n_precisions++] = p;
    }
    if (!a->n_precisions) return ei_cli_usage_error("eval", "--precision needs a list such as fp32,int8");
    return 0;
}

static int parse_args(int argc, char ** argv, eval_args * a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char * o = argv[i];
        if (ei_cli_is_help(o)) {
            help();
            return -1;
        }
        static const char * const with_value[] = {"-c",
                                                  "--config",
                                                  "--coco",
                                                  "--detections",
                                                  "--images",
                                                  "--segmentation",
                                                  "--category-ids",
                                                  "--predictions",
                                                  "--classes",
                                                  "--json",
                                                  "--detections-out",
                                                  "--plot",
                                                  "--calib-cache",
                                                  "--cache",
                                                  "--max-images",
                                                  "--threads",
                                                  "--precision"};
        bool                      takes = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) takes |= !strcmp(o, with_value[k]);
        if (takes && i + 1 >= argc) return ei_cli_usage_error("eval", "%s needs a value", o);
        const char * v = takes ? argv[++i] : NULL;
        if (!strcmp(o, "-c") || !strcmp(o, "--config"))
            a->config = v;
        else if (!strcmp(o, "--coco"))
            a->coco = v;
        else if (!strcmp(o, "--detections"))
            a->detections = v;
        else if (!strcmp(o, "--images"))
            a->images = v;
        else if (!strcmp(o, "--segmentation"))
            a->segmentation = v;
        else if (!strcmp(o, "--predictions"))
            a->predictions = v;
        else if (!strcmp(o, "--category-ids"))
            a->category_ids = v;
        else if (!strcmp(o, "--json"))
            a->json = v;
        else if (!strcmp(o, "--detections-out"))
            a->detections_out = v;
        else if (!strcmp(o, "--plot"))
            a->plot = v;
        else if (!strcmp(o, "--calib-cache"))
            a->calib_cache = v;
        else if (!strcmp(o, "--cache"))
            a->cache = v;
        else if (!strcmp(o, "--precision")) {
            int rc = parse_precisions(v, a);
            if (rc) return rc;
        } else if (!strcmp(o, "--classes")) {
            char * e;
            a->classes = strtol(v, &e, 10);
            if (*e || e == v || a->classes < 1 || a->classes > 255)
                return ei_cli_usage_error("eval", "--classes must be 1..255, not '%s'", v);
        } else if (!strcmp(o, "--max-images") || !strcmp(o, "--threads")) {
            char * e;
            long   n = strtol(v, &e, 10);
            bool   mx = !strcmp(o, "--max-images");
            if (*e || e == v || n < (mx ? 1 : 0) || n > (mx ? 100000000L : 1024))
                return ei_cli_usage_error("eval", "%s must be %s, not '%s'", o, mx ? "a count >= 1" : "0..1024", v);
            if (mx)
                a->max_images = n;
            else
                a->threads = (int)n;
        } else if (!strcmp(o, "--quiet"))
            a->quiet = true;
        else
            return ei_cli_usage_error("eval", "unknown %s '%s'", o[0] == '-' ? "option" : "argument", o);
    }
    if (a->coco && a->segmentation)
        return ei_cli_usage_error("eval", "--coco and --segmentation are two kinds of evaluation: give one");
    if (!a->coco && !a->segmentation)
        return ei_cli_usage_error("eval", "say what to evaluate against: --coco ANNOTATIONS.json (detection) or "
                                          "--segmentation LABEL_DIR");
    if (a->detections) {
        if (!a->coco) return ei_cli_usage_error("eval", "--detections needs --coco ANNOTATIONS.json");
        if (a->config || a->images || a->n_precisions || a->plot || a->detections_out || a->category_ids ||
            a->calib_cache || a->cache || a->max_images || a->threads)
            return ei_cli_usage_error("eval", "--detections evaluates a results file: it takes only --coco and --json "
                                              "(no -c, --images, --precision, --plot, --detections-out, "
                                              "--category-ids, --calib-cache, --cache, --max-images, --threads)");
        return 0;
    }
    if (a->predictions || a->classes) {
        if (!a->segmentation) return ei_cli_usage_error("eval", "--predictions and --classes go with --segmentation");
        if (!a->predictions || !a->classes)
            return ei_cli_usage_error("eval",
                                      "evaluating saved label maps needs both --predictions DIR and --classes N");
        if (a->config || a->images || a->n_precisions || a->plot || a->calib_cache || a->cache || a->max_images ||
            a->threads || a->category_ids)
            return ei_cli_usage_error("eval", "--predictions evaluates saved label maps: it takes only --segmentation, "
                                              "--classes and --json");
        return 0;
    }
    if (!a->config)
        return ei_cli_usage_error("eval", "missing -c CONFIG.ini (or --detections RESULTS.json to evaluate a "
                                          "results file); configs/yolox_nano_eval.ini is ready for COCO");
    if (!a->images) return ei_cli_usage_error("eval", "missing --images DIR (the folder with the images)");
    if (a->segmentation && a->category_ids) return ei_cli_usage_error("eval", "--category-ids is for --coco");
    bool int8 = false;
    for (int i = 0; i < a->n_precisions; i++) int8 |= a->precisions[i] == EI_PRECISION_INT8;
    if (a->calib_cache && !int8)
        return ei_cli_usage_error("eval", "--calib-cache is the int8 calibration table: list int8 in --precision");
    return 0;
}

/* ---- small helpers ---- */

static int cmp_double(const void * x, const void * y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double * v, int n) {
    if (n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int cmp_i64(const void * x, const void * y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* "out.json" + "int8" -> "out.int8.json". */
static void path_with_tag(const char * path, const char * tag, char * out, size_t n) {
    const char * slash = strrchr(path, '/');
    const char * dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) dot = path + strlen(path);
    snprintf(out, n, "%.*s.%s%s", (int)(dot - path), path, tag, dot);
}

/* ---- one evaluation run (one precision) ---- */

typedef struct run_result {
    ei_precision    precision;
    const char *    name;
    bool            ok;
    double          score;   /* mAP or mIoU */
    double          score50; /* AP50 (detection) */
    double          latency_ms;
    int32_t         n_images; /* evaluated */
    ei_coco_metrics coco;
    double *        iou; /* segmentation: per class */
    double          seconds;
    char            error[200]; /* why it failed */
} run_result;

typedef struct eval_ctx {
    const eval_args * a;
    ei_infer_config * cfg;
    ei_coco_gt *      gt;
    int64_t *         cat_of_class; /* detection: category id of class i */
    int32_t           n_cat_of_class;
    char **           seg_images; /* segmentation: image paths */
    int32_t           n_seg_images;
    int32_t           n_classes;
    char **           names; /* class names, copied from the first model's labels (n_names) */
    int32_t           n_names;
    ei_calib_table *  calib;
    int               exit_code;
    char              tmpdir[256];
} eval_ctx;

/* The exit code ei_cli_fail gives a status (cli.h), without printing or destroying it. */
static int exit_code_of(const ei_status * st) {
    switch (ei_status_code(st)) {
    case EI_CODE_OK: return EI_EXIT_OK;
    case EI_CODE_INVALID_ARGUMENT:
    case EI_CODE_INVALID_MODEL:
    case EI_CODE_CORRUPT_ENGINE: return EI_EXIT_INVALID;
    case EI_CODE_UNSUPPORTED: return EI_EXIT_UNSUPPORTED;
    case EI_CODE_NOT_FOUND:
    case EI_CODE_IO: return EI_EXIT_IO;
    default: return EI_EXIT_INTERNAL;
    }
}

static void note(eval_ctx * c, ei_status * st) {
    int code = ei_cli_fail(st);
    if (c->exit_code == EI_EXIT_OK) c->exit_code = code;
}

static void log_stderr(void * user, const char * msg) {
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

/* The model for one precision: the config as it is (n_precisions == 0), else an engine built now
 * at that precision and handed to ei_infer through model-engine-file. */
static ei_status * open_infer(eval_ctx * c, int pi, ei_infer ** inf) {
    ei_infer_options io = ei_infer_options_default();
    io.n_threads = c->a->threads;
    io.log = c->a->quiet ? NULL : log_stderr;
    if (c->a->n_precisions == 0) {
        io.cache_dir = c->a->cache;
        return ei_infer_create(c->cfg, &io, inf);
    }
    ei_precision p = c->a->precisions[pi];
    if (!c->cfg->onnx_file)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: --precision needs onnx-file in the config to build engines",
                         c->a->config);
    ei_engine_build_options eo = ei_engine_build_options_default();
    eo.precision = p;
    eo.batch = c->cfg->batch_size > 0 ? c->cfg->batch_size : 1;
    eo.n_threads = c->a->threads;
    if (p == EI_PRECISION_INT8) {
        if (!c->calib)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "needs a calibration table: --calib-cache FILE (make one with `edgeinfer build "
                             "MODEL.onnx --precision int8 --calib-images DIR --calib-cache FILE`)");
        eo.calib = c->calib;
    }
    if (!c->tmpdir[0]) {
        snprintf(c->tmpdir, sizeof c->tmpdir, "%s/edgeinfer-eval-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(c->tmpdir)) {
            ei_status * st =
                ei_errorf(EI_CODE_IO, "cannot create a temporary folder '%s': %s", c->tmpdir, strerror(errno));
            c->tmpdir[0] = 0;
            return st;
        }
    }
    ei_model *  m = NULL;
    ei_status * st = ei_engine_build(c->cfg->onnx_file, &eo, &m);
    if (st && eo.batch > 1) { /* a model with a fixed batch: build at its batch, ei_infer runs chunks */
        ei_status_destroy(st);
        eo.batch = 0;
        st = ei_engine_build(c->cfg->onnx_file, &eo, &m);
    }
    if (st) return ei_status_wrapf(st, "building the %s engine", ei_precision_name(p));
    char path[512];
    snprintf(path, sizeof path, "%s/%s.engine", c->tmpdir, ei_precision_name(p));
    st = ei_model_save_engine(m, path);
    ei_model_destroy(m);
    if (st) return st;
    /* The config is read-only by contract; these members are swapped for the create call and
     * restored at once (ei_infer reads them only while opening the model). Without onnx-file,
     * ei_infer cannot quietly fall back to building an fp32 engine: it uses this engine or fails. */
    char *       saved_engine = c->cfg->model_engine_file;
    char *       saved_onnx = c->cfg->onnx_file;
    ei_precision saved_precision = c->cfg->precision;
    c->cfg->model_engine_file = path;
    c->cfg->onnx_file = NULL;
    c->cfg->precision = p;
    st = ei_infer_create(c->cfg, &io, inf);
    c->cfg->model_engine_file = saved_engine;
    c->cfg->onnx_file = saved_onnx;
    c->cfg->precision = saved_precision;
    remove(path);
    return st;
}

static void progress(const eval_ctx * c, const char * name, int32_t done, int32_t total) {
    if (c->a->quiet || !isatty(fileno(stderr))) {
        if (!c->a->quiet && (done == total || done % 20 == 0))
            fprintf(stderr, "%s: %d/%d images\n", name, (int)done, (int)total);
        return;
    }
    fprintf(stderr, "\r%s: %d/%d images", name, (int)done, (int)total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

/* Detection: the model over the annotated images; detections into dets; evaluated image subset in
 * the gt copy `sub` (its images array is allocated here, the rest borrowed). */
static ei_status * run_detection(eval_ctx * c, ei_infer * inf, run_result * rr, ei_coco_dets * dets, ei_coco_gt * sub) {
    const ei_coco_gt * gt = c->gt;
    int32_t            n = gt->n_images;
    if (c->a->max_images && c->a->max_images < n) n = (int32_t)c->a->max_images;
    *sub = *gt;
    sub->images = calloc((size_t)n + 1, sizeof *sub->images);
    double * lat = calloc((size_t)n + 1, sizeof *lat);
    if (!sub->images || !lat) {
        free(lat);
        return ei_status_oom();
    }
    sub->n_images = 0;
    int32_t         n_missing = 0, n_lat = 0;
    ei_frame_result fr = {0};
    ei_status *     st = NULL;
    for (int32_t i = 0; i < n && !st; i++) {
        const ei_coco_image * im = &gt->images[i];
        char                  path[4096];
        snprintf(path, sizeof path, "%s/%s", c->a->images, im->file_name);
        ei_image    img = {0};
        ei_status * ls = im->file_name[0]
                             ? ei_image_load(path, EI_PIXEL_RGB, &img)
                             : ei_errorf(EI_CODE_INVALID_ARGUMENT, "image id %lld has no file_name", (long long)im->id);
        if (ls) {
            if (n_missing++ < MAX_WARN_LINES)
                fprintf(stderr, "warning: image %lld left out: %s\n", (long long)im->id, ei_status_message(ls));
            if (c->exit_code == EI_EXIT_OK) c->exit_code = exit_code_of(ls);
            ei_status_destroy(ls);
            progress(c, rr->name, i + 1, n);
            continue;
        }
        st = ei_infer_run(inf, &img, 1, &fr);
        if (st) st = ei_status_wrapf(st, "%s", path);
        lat[n_lat++] = ei_infer_last_timing(inf).infer_ms;
        for (int32_t k = 0; !st && k < fr.detections.count; k++) {
            const ei_detection * d = &fr.detections.items[k];
            int64_t              cat = d->class_id;
            if (c->cat_of_class && d->class_id >= 0 && d->class_id < c->n_cat_of_class)
                cat = c->cat_of_class[d->class_id];
            double bb[4] = {d->x1, d->y1, (double)d->x2 - (double)d->x1, (double)d->y2 - (double)d->y1};
            st = ei_coco_dets_add(dets, im->id, cat, bb, d->score);
        }
        ei_image_free(&img);
        sub->images[sub->n_images++] = *im;
        progress(c, rr->name, i + 1, n);
    }
    ei_frame_result_free(&fr);
    if (n_missing > MAX_WARN_LINES) fprintf(stderr, "warning: %d more images left out\n", n_missing - MAX_WARN_LINES);
    if (n_missing)
        fprintf(stderr,
                "warning: %d of %d annotated images could not be read from %s; the metrics cover the other %d\n",
                (int)n_missing, (int)n, c->a->images, (int)sub->n_images);
    rr->latency_ms = median(lat, n_lat);
    rr->n_images = sub->n_images;
    free(lat);
    return st;
}

/* Segmentation: the model over the images, each against its label PNG. */
static ei_status * run_segmentation(eval_ctx * c, ei_infer * inf, run_result * rr, ei_seg_confusion * conf) {
    int32_t n = c->n_seg_images;
    if (c->a->max_images && c->a->max_images < n) n = (int32_t)c->a->max_images;
    double * lat = calloc((size_t)n + 1, sizeof *lat);
    if (!lat) return ei_status_oom();
    int32_t         n_bad = 0, n_lat = 0;
    ei_frame_result fr = {0};
    ei_status *     st = NULL;
    for (int32_t i = 0; i < n && !st; i++) {
        const char * path = c->seg_images[i];
        const char * base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char label_path[4096];
        snprintf(label_path, sizeof label_path, "%s/%.*s.png", c->a->segmentation,
                 (int)(strrchr(base, '.') ? strrchr(base, '.') - base : (ptrdiff_t)strlen(base)), base);
        uint8_t *   gt = NULL;
        int32_t     gw = 0, gh = 0;
        ei_image    img = {0};
        ei_status * ls = ei_label_png_load(label_path, &gt, &gw, &gh);
        if (!ls) ls = ei_image_load(path, EI_PIXEL_RGB, &img);
        if (!ls && (img.width != gw || img.height != gh))
            ls = ei_errorf(EI_CODE_INVALID_ARGUMENT, "label PNG %s is %dx%d but the image %s is %dx%d", label_path,
                           (int)gw, (int)gh, path, (int)img.width, (int)img.height);
        if (!ls) {
            st = ei_infer_run(inf, &img, 1, &fr);
            if (st) st = ei_status_wrapf(st, "%s", path);
            if (!st) {
                lat[n_lat++] = ei_infer_last_timing(inf).infer_ms;
                ls = ei_status_wrapf(ei_seg_confusion_add(conf, gt, gw, fr.seg.labels, fr.seg.width, gw, gh), "%s",
                                     label_path);
            }
        }
        if (ls) {
            if (n_bad++ < MAX_WARN_LINES) fprintf(stderr, "warning: image left out: %s\n", ei_status_message(ls));
            if (c->exit_code == EI_EXIT_OK) c->exit_code = exit_code_of(ls);
            ei_status_destroy(ls);
        } else if (!st) {
            rr->n_images++;
        }
        free(gt);
        ei_image_free(&img);
        progress(c, rr->name, i + 1, n);
    }
    ei_frame_result_free(&fr);
    if (n_bad > MAX_WARN_LINES) fprintf(stderr, "warning: %d more images left out\n", n_bad - MAX_WARN_LINES);
    if (n_bad)
        fprintf(stderr, "warning: %d of %d images left out; the metrics cover the other %d\n", (int)n_bad, (int)n,
                (int)rr->n_images);
    rr->latency_ms = median(lat, n_lat);
    free(lat);
    return st;
}

static void print_coco(const ei_coco_metrics * m) {
    char line[160];
    for (int32_t i = 0; i < EI_COCO_N_STATS; i++) {
        ei_coco_format_stat(m, i, line, sizeof line);
        printf("%s\n", line);
    }
}

static const char * class_name(const eval_ctx * c, int32_t k, char * buf, size_t n) {
    const char * s = k >= 0 && k < c->n_names ? c->names[k] : NULL;
    if (s) return s;
    snprintf(buf, n, "class %d", (int)k);
    return buf;
}

static ei_status * evaluate_one(eval_ctx * c, int pi, run_result * rr) {
    ei_infer *      inf = NULL;
    double          t0 = 0;
    ei_network_type want = c->a->coco ? EI_NETWORK_TYPE_DETECTOR : EI_NETWORK_TYPE_SEGMENTATION;
    if (c->cfg->network_type != want)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s has network-type=%d, which is not a %s (network-type=%d): --coco evaluates detectors, "
                         "--segmentation segmentation networks",
                         c->a->config, (int)c->cfg->network_type, c->a->coco ? "detector" : "segmentation network",
                         (int)want);
    ei_status * st = open_infer(c, pi, &inf);
    if (st) return st;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    const ei_labels * labels = ei_infer_labels(inf);
    if (!c->names && labels) { /* kept: the labels go with inf */
        int32_t n = ei_labels_count(labels);
        c->names = calloc((size_t)n + 1, sizeof *c->names);
        for (int32_t k = 0; c->names && k < n; k++) {
            const char * name = ei_labels_name(labels, k);
            c->names[k] = strdup(name ? name : "");
            if (c->names[k])
                c->n_names = k + 1;
            else
                break;
        }
    }
    if (c->a->coco) {
        if (ei_infer_network_type(inf) != EI_NETWORK_TYPE_DETECTOR) {
            ei_infer_destroy(inf);
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "%s is not a detector (network-type=0): --coco evaluates "
                             "detectors, --segmentation segmentation networks",
                             c->a->config);
        }
        int32_t nc = ei_infer_num_classes(inf);
        if (!c->cat_of_class) {
            /* Default mapping: class i -> the i-th category by id when the counts agree (COCO's 80
             * classes onto ids 1..90), else category_id i. */
            if (nc == c->gt->n_cats) {
                c->cat_of_class = malloc(((size_t)nc + 1) * sizeof *c->cat_of_class);
                if (!c->cat_of_class) st = ei_status_oom();
                for (int32_t k = 0; !st && k < nc; k++) c->cat_of_class[k] = c->gt->cats[k].id;
                if (!st) qsort(c->cat_of_class, (size_t)nc, sizeof *c->cat_of_class, cmp_i64);
                c->n_cat_of_class = nc;
                if (!st && !c->a->quiet)
                    fprintf(stderr,
                            "classes: class i -> the i-th of the %d categories by id (--category-ids to "
                            "change)\n",
                            (int)nc);
            } else if (!c->a->quiet) {
                fprintf(stderr,
                        "classes: class i -> category_id i (%d classes, %d categories; --category-ids to "
                        "change)\n",
                        (int)nc, (int)c->gt->n_cats);
            }
        } else if (c->n_cat_of_class < nc) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "--category-ids %s has %d ids for %d classes", c->a->category_ids,
                           (int)c->n_cat_of_class, (int)nc);
        }
        ei_coco_dets * dets = NULL;
        ei_coco_gt     sub = {0};
        if (!st) st = ei_coco_dets_create(&dets);
        if (!st) st = run_detection(c, inf, rr, dets, &sub);
        if (!st && dets->count == 0 && !c->a->quiet) fprintf(stderr, "warning: the detector found nothing\n");
        if (!st) st = ei_coco_evaluate(&sub, dets, &rr->coco);
        if (!st && c->a->detections_out) {
            char path[4096];
            if (c->a->n_precisions > 1)
                path_with_tag(c->a->detections_out, rr->name, path, sizeof path);
            else
                snprintf(path, sizeof path, "%s", c->a->detections_out);
            st = ei_coco_dets_save(dets, path);
        }
        if (!st) {
            rr->score = rr->coco.stats[0];
            rr->score50 = rr->coco.stats[1];
        }
        free(sub.images);
        ei_coco_dets_destroy(dets);
    } else {
        if (ei_infer_network_type(inf) != EI_NETWORK_TYPE_SEGMENTATION) {
            ei_infer_destroy(inf);
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s is not a segmentation network (network-type=2)",
                             c->a->config);
        }
        c->n_classes = ei_infer_num_classes(inf);
        ei_seg_confusion * conf = NULL;
        st = ei_seg_confusion_create(c->n_classes, &conf);
        if (!st) st = run_segmentation(c, inf, rr, conf);
        if (!st) {
            rr->iou = calloc((size_t)c->n_classes, sizeof *rr->iou);
            if (!rr->iou)
                st = ei_status_oom();
            else
                ei_seg_confusion_iou(conf, rr->iou, &rr->score);
            rr->score50 = NAN;
        }
        ei_seg_confusion_destroy(conf);
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rr->seconds = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - t0;
    ei_infer_destroy(inf);
    return st;
}

static void print_segmentation(const eval_ctx * c, const run_result * rr) {
    char nbuf[32];
    printf("%-20s %8s\n", "class", "IoU");
    for (int32_t k = 0; k < c->n_classes; k++) {
        if (rr->iou[k] < 0)
            printf("%-20s %8s\n", class_name(c, k, nbuf, sizeof nbuf), "-");
        else
            printf("%-20s %8.4f\n", class_name(c, k, nbuf, sizeof nbuf), rr->iou[k]);
    }
    printf("mIoU = %.4f over the classes present in the ground truth or the predictions (%d images)\n", rr->score,
           (int)rr->n_images);
}

static const run_result * fp32_of(const run_result * rr, int n) {
    for (int i = 0; i < n; i++)
        if (rr[i].ok && rr[i].precision == EI_PRECISION_FP32) return &rr[i];
    return NULL;
}

static void print_table(const eval_ctx * c, const run_result * rr, int n) {
    const run_result * base = fp32_of(rr, n);
    bool               det = c->a->coco != NULL;
    /* The AP50 column is for detection only: "%.*s" prints it with width 0 for segmentation. */
    int w50 = det ? 9 : 0;
    printf("\n%-9s %8s%*.*s %12s %12s %9s\n", "precision", det ? "mAP" : "mIoU", w50, w50, " AP50", "drop (pts)",
           "latency ms", "speed-up");
    for (int i = 0; i < n; i++) {
        if (!rr[i].ok) {
            printf("%-9s failed: %s\n", rr[i].name, rr[i].error);
            continue;
        }
        char ap50[16] = "", drop[16] = "-", speed[16] = "-";
        if (det) snprintf(ap50, sizeof ap50, " %8.4f", rr[i].score50);
        if (base) {
            snprintf(drop, sizeof drop, "%+.2f", 100.0 * (base->score - rr[i].score));
            if (rr[i].latency_ms > 0) snprintf(speed, sizeof speed, "%.2fx", base->latency_ms / rr[i].latency_ms);
        }
        printf("%-9s %8.4f%s %12s %12.2f %9s\n", rr[i].name, rr[i].score, ap50, drop, rr[i].latency_ms, speed);
    }
}

static void json_number(FILE * f, double v) {
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("null", f);
}

static ei_status * write_json(const eval_ctx * c, const run_result * rr, int n) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", c->a->json);
    FILE * f = fopen(tmp, "w");
    if (!f) return ei_errorf(EI_CODE_IO, "cannot write '%s': %s", tmp, strerror(errno));
    const run_result * base = fp32_of(rr, n);
    fprintf(f, "{\n  \"kind\": \"%s\",\n  \"results\": [", c->a->coco ? "coco" : "segmentation");
    int w = 0;
    for (int i = 0; i < n; i++) {
        if (!rr[i].ok) continue;
        fprintf(f, "%s\n    {\"precision\": \"%s\", \"images\": %d, \"latency_ms\": ", w++ ? "," : "", rr[i].name,
                (int)rr[i].n_images);
        json_number(f, rr[i].latency_ms);
        fprintf(f, ", \"seconds\": %.3f", rr[i].seconds);
        if (base) {
            fprintf(f, ", \"drop_points\": ");
            json_number(f, 100.0 * (base->score - rr[i].score));
            fprintf(f, ", \"speedup\": ");
            json_number(f, rr[i].latency_ms > 0 ? base->latency_ms / rr[i].latency_ms : NAN);
        }
        if (c->a->coco) {
            fprintf(f, ", \"detections\": %lld, \"stats\": {", (long long)rr[i].coco.n_dets);
            for (int32_t s = 0; s < EI_COCO_N_STATS; s++) {
                fprintf(f, "%s\"%s\": ", s ? ", " : "", ei_coco_stat_name(s));
                json_number(f, rr[i].coco.stats[s]);
            }
            fputc('}', f);
        } else {
            fprintf(f, ", \"miou\": ");
            json_number(f, rr[i].score);
            fprintf(f, ", \"classes\": [");
            char nbuf[32];
            for (int32_t k = 0; k < c->n_classes; k++) {
                fprintf(f, "%s{\"id\": %d, \"name\": ", k ? ", " : "", (int)k);
                ei_cli_json_string(f, class_name(c, k, nbuf, sizeof nbuf));
                fprintf(f, ", \"iou\": ");
                json_number(f, rr[i].iou[k] < 0 ? NAN : rr[i].iou[k]);
                fputc('}', f);
            }
            fputc(']', f);
        }
        fputc('}', f);
    }
    fputs(w ? "\n  ]\n}\n" : "]\n}\n", f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, c->a->json) != 0) {
        remove(tmp);
        return ei_errorf(EI_CODE_IO, "cannot write '%s': %s", c->a->json, strerror(errno));
    }
    return NULL;
}

/* ---- the chart ---- */

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about 5 ticks over span. */
static double nice_step(double span) {
    double raw = span / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* Point i of the chart (docs/eval.md; the test looks for these colours). */
static ei_rgb plot_color(int i) { return ei_palette_color(i + 1); }

static ei_status * write_plot(const eval_ctx * c, const run_result * rr, int n) {
    enum { W = 640, H = 440, L = 70, R = 30, T = 40, B = 60 };
    ei_image img = {0};
    EI_TRY(ei_image_alloc(EI_PIXEL_RGB, W, H, &img));
    const ei_rgb white = {255, 255, 255}, black = {0, 0, 0}, grey = {200, 200, 200};
    ei_draw_fill_rect(&img, 0, 0, W - 1, H - 1, white);
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (!rr[i].ok || !isfinite(rr[i].latency_ms) || !(rr[i].score >= 0)) continue;
        xmin = fmin(xmin, rr[i].latency_ms);
        xmax = fmax(xmax, rr[i].latency_ms);
        ymin = fmin(ymin, rr[i].score);
        ymax = fmax(ymax, rr[i].score);
    }
    if (!(xmin <= xmax)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    /* Axes from 0 in x (latency) and around the points in y, with margins. */
    double x0 = 0, x1 = xmax * 1.15 + 1e-9;
    double ys = fmax(ymax - ymin, 0.02), y0 = fmax(0, ymin - 0.3 * ys), y1 = fmin(1, ymax + 0.3 * ys);
    if (y1 <= y0) y1 = y0 + 0.01;
    int pw = W - L - R, ph = H - T - B;
#define PX(v) (L + (int)lround(((v)-x0) / (x1 - x0) * pw))
#define PY(v) (T + ph - (int)lround(((v)-y0) / (y1 - y0) * ph))
    char   buf[64];
    int    tw, th;
    double sx = nice_step(x1 - x0), sy = nice_step(y1 - y0);
    for (double v = ceil(x0 / sx) * sx; v <= x1 + 1e-12; v += sx) {
        int x = PX(v);
        ei_draw_fill_rect(&img, x, T, x, T + ph, grey);
        ei_draw_fill_rect(&img, x, T + ph, x, T + ph + 5, black);
        snprintf(buf, sizeof buf, "%g", round(v * 1000) / 1000);
        ei_draw_text_size(buf, 1, &tw, &th);
        ei_draw_text(&img, x - tw / 2, T + ph + 9, buf, black, 1);
    }
    for (double v = ceil(y0 / sy) * sy; v <= y1 + 1e-12; v += sy) {
        int y = PY(v);
        ei_draw_fill_rect(&img, L, y, L + pw, y, grey);
        ei_draw_fill_rect(&img, L - 5, y, L, y, black);
        snprintf(buf, sizeof buf, "%.3g", v);
        ei_draw_text_size(buf, 1, &tw, &th);
        ei_draw_text(&img, L - 8 - tw, y - th / 2, buf, black, 1);
    }
    ei_draw_fill_rect(&img, L, T, L + 1, T + ph, black);
    ei_draw_fill_rect(&img, L, T + ph - 1, L + pw, T + ph, black);
    const char * xl = "median latency per image (ms)";
    ei_draw_text_size(xl, 1, &tw, &th);
    ei_draw_text(&img, L + (pw - tw) / 2, H - 22, xl, black, 1);
    const char * yl = c->a->coco ? "mAP@[.5:.95]" : "mIoU";
    ei_draw_text(&img, 8, 14, yl, black, 1);
    const char * title = "speed / accuracy";
    ei_draw_text_size(title, 2, &tw, &th);
    ei_draw_text(&img, L + (pw - tw) / 2, 8, title, black, 2);
    for (int i = 0; i < n; i++) {
        if (!rr[i].ok || !isfinite(rr[i].latency_ms) || !(rr[i].score >= 0)) continue;
        int    x = PX(rr[i].latency_ms), y = PY(rr[i].score);
        ei_rgb col = plot_color(i);
        ei_draw_fill_rect(&img, x - 5, y - 5, x + 5, y + 5, col);
        snprintf(buf, sizeof buf, "%s %.3f", rr[i].name, rr[i].score);
        ei_draw_text_size(buf, 1, &tw, &th);
        ei_draw_text(&img, x + 9 + tw < W ? x + 9 : x - 9 - tw, y - 12, buf, black, 1); /* left of it at the edge */
    }
#undef PX
#undef PY
    ei_status * st = ei_image_save(&img, c->a->plot, 0);
    ei_image_free(&img);
    return st;
}

/* ---- segmentation image list ---- */

static int cmp_str(const void * a, const void * b) { return strcmp(*(char * const *)a, *(char * const *)b); }

static ei_status * list_images(const char * opt, const char * dir, char *** out, int32_t * n) {
    *out = NULL;
    *n = 0;
    DIR * d = opendir(dir);
    if (!d) return ei_errorf(EI_CODE_NOT_FOUND, "%s: cannot open folder '%s': %s", opt, dir, strerror(errno));
    char **         v = NULL;
    int32_t         cap = 0, count = 0;
    struct dirent * e;
    ei_status *     st = NULL;
    while (!st && (e = readdir(d)) != NULL) {
        const char * dot = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.' || !dot ||
            (strcasecmp(dot, ".jpg") && strcasecmp(dot, ".jpeg") && strcasecmp(dot, ".png")))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char ** g = realloc(v, (size_t)cap * sizeof *g);
            if (!g) {
                st = ei_status_oom();
                break;
            }
            v = g;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        v[count] = malloc(len);
        if (!v[count]) {
            st = ei_status_oom();
            break;
        }
        snprintf(v[count++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (!st && !count) st = ei_errorf(EI_CODE_NOT_FOUND, "%s: folder '%s' has no .jpg, .jpeg or .png files", opt, dir);
    if (st) {
        for (int32_t i = 0; i < count; i++) free(v[i]);
        free(v);
        return st;
    }
    qsort(v, (size_t)count, sizeof *v, cmp_str);
    *out = v;
    *n = count;
    return NULL;
}

/* ---- --detections: a results file, no model ---- */

static int eval_results_file(const eval_args * a) {
    ei_coco_gt *    gt = NULL;
    ei_coco_dets *  dets = NULL;
    ei_coco_metrics m;
    ei_status *     st = ei_coco_gt_load(a->coco, &gt);
    if (!st) st = ei_coco_dets_load(a->detections, gt, &dets);
    if (!st && dets->n_unknown_category)
        fprintf(stderr,
                "warning: %d of %d results have a category_id that is not among the annotation file's categories "
                "(the first: %lld); they are not evaluated (as pycocotools does)\n",
                (int)dets->n_unknown_category, (int)dets->count, (long long)dets->first_unknown_category);
    if (!st) st = ei_coco_evaluate(gt, dets, &m);
    int rc = EI_EXIT_OK;
    if (!st) {
        printf("%d images, %d categories, %lld annotations, %lld detections\n", (int)m.n_images, (int)m.n_categories,
               (long long)m.n_gt, (long long)m.n_dets);
        print_coco(&m);
        if (a->json) {
            eval_ctx   c = {.a = a};
            run_result r = {.name = "results",
                            .ok = true,
                            .coco = m,
                            .score = m.stats[0],
                            .n_images = m.n_images,
                            .latency_ms = NAN};
            st = write_json(&c, &r, 1);
        }
    }
    if (st) rc = ei_cli_fail(st);
    ei_coco_dets_destroy(dets);
    ei_coco_gt_destroy(gt);
    return rc;
}

/* ---- --predictions: saved label maps, no model ---- */

static ei_status * add_prediction(const eval_args * a, const char * gt_path, const char * stem,
                                  ei_seg_confusion * conf) {
    char pred_path[4096];
    snprintf(pred_path, sizeof pred_path, "%s/%s_labels.png", a->predictions, stem);
    if (access(pred_path, F_OK) != 0) snprintf(pred_path, sizeof pred_path, "%s/%s.png", a->predictions, stem);
    uint8_t *   gt = NULL, *pred = NULL;
    int32_t     gw, gh, pw, ph;
    ei_status * st = ei_label_png_load(gt_path, &gt, &gw, &gh);
    if (!st) st = ei_label_png_load(pred_path, &pred, &pw, &ph);
    if (!st && (gw != pw || gh != ph))
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "label PNG %s is %dx%d but the prediction %s is %dx%d", gt_path,
                       (int)gw, (int)gh, pred_path, (int)pw, (int)ph);
    if (!st) st = ei_status_wrapf(ei_seg_confusion_add(conf, gt, gw, pred, pw, gw, gh), "%s", gt_path);
    free(gt);
    free(pred);
    return st;
}

static int eval_predictions(const eval_args * a) {
    eval_ctx           c = {.a = a, .n_classes = (int32_t)a->classes};
    run_result         r = {.name = "predictions", .ok = true, .latency_ms = NAN, .score50 = NAN};
    ei_seg_confusion * conf = NULL;
    char **            files = NULL;
    int32_t            n = 0;
    ei_status *        st = ei_seg_confusion_create(c.n_classes, &conf);
    if (!st) st = list_images("--segmentation", a->segmentation, &files, &n);
    for (int32_t i = 0; !st && i < n; i++) {
        const char * base = strrchr(files[i], '/') + 1;
        const char * dot = strrchr(base, '.');
        if (strcasecmp(dot, ".png") != 0) continue;
        char stem[1024];
        snprintf(stem, sizeof stem, "%.*s", (int)(dot - base), base);
        st = add_prediction(a, files[i], stem, conf);
        if (!st) r.n_images++;
    }
    if (!st) {
        r.iou = calloc((size_t)c.n_classes, sizeof *r.iou);
        if (!r.iou) st = ei_status_oom();
    }
    int rc = EI_EXIT_OK;
    if (!st) {
        ei_seg_confusion_iou(conf, r.iou, &r.score);
        print_segmentation(&c, &r);
        if (a->json) st = write_json(&c, &r, 1);
    }
    if (st) rc = ei_cli_fail(st);
    free(r.iou);
    for (int32_t i = 0; i < n; i++) free(files[i]);
    free(files);
    ei_seg_confusion_destroy(conf);
    return rc;
}

int ei_cmd_eval(int argc, char ** argv) {
    eval_args a;
    int       rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? EI_EXIT_OK : rc;
    if (a.detections) return eval_results_file(&a);
    if (a.predictions) return eval_predictions(&a);

    eval_ctx    c = {.a = &a};
    run_result  rr[MAX_PRECISIONS];
    int         n_runs = a.n_precisions ? a.n_precisions : 1;
    ei_status * st = ei_infer_config_load(a.config, &c.cfg);
    memset(rr, 0, sizeof rr);
    if (!st && !a.quiet)
        for (int32_t i = 0; i < c.cfg->n_warnings; i++) fprintf(stderr, "warning: %s\n", c.cfg->warnings[i]);
    if (!st && a.coco) st = ei_coco_gt_load(a.coco, &c.gt);
    if (!st && a.coco && a.category_ids)
        st = ei_cli_read_category_ids(a.category_ids, &c.cat_of_class, &c.n_cat_of_class);
    if (!st && a.segmentation) {
        struct stat sb;
        if (stat(a.segmentation, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = ei_errorf(EI_CODE_NOT_FOUND, "--segmentation: '%s' is not a folder of label PNGs", a.segmentation);
        else
            st = list_images("--images", a.images, &c.seg_images, &c.n_seg_images);
    }
    if (!st && a.coco) {
        struct stat sb;
        if (stat(a.images, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = ei_errorf(EI_CODE_NOT_FOUND, "--images: '%s' is not a folder", a.images);
    }
    if (!st && a.calib_cache) st = ei_calib_table_load(a.calib_cache, &c.calib);
    if (st) {
        rc = ei_cli_fail(st);
        goto done;
    }
    for (int i = 0; i < n_runs; i++) {
        rr[i].precision = a.n_precisions ? a.precisions[i] : c.cfg->precision;
        rr[i].name = ei_precision_name(rr[i].precision);
        st = evaluate_one(&c, i, &rr[i]);
        if (st) {
            snprintf(rr[i].error, sizeof rr[i].error, "%s", ei_status_message(st));
            st = ei_status_wrapf(st, "%s", rr[i].name);
            note(&c, st);
            continue;
        }
        rr[i].ok = true;
        if (n_runs > 1) printf("\n== %s ==\n", rr[i].name);
        if (a.coco) {
            printf("%d images, %d categories, %lld annotations, %lld detections\n", (int)rr[i].coco.n_images,
                   (int)rr[i].coco.n_categories, (long long)rr[i].coco.n_gt, (long long)rr[i].coco.n_dets);
            print_coco(&rr[i].coco);
        } else {
            print_segmentation(&c, &rr[i]);
        }
        printf("latency: median %.2f ms per image (network only), %d images in %.1f s\n", rr[i].latency_ms,
               (int)rr[i].n_images, rr[i].seconds);
        fflush(stdout);
    }
    if (n_runs > 1) print_table(&c, rr, n_runs);
    if (a.json && (st = write_json(&c, rr, n_runs))) note(&c, st);
    if (a.plot && (st = write_plot(&c, rr, n_runs))) note(&c, st);
    rc = c.exit_code;
done:
    for (int i = 0; i < MAX_PRECISIONS; i++) free(rr[i].iou);
    for (int32_t i = 0; i < c.n_seg_images; i++) free(c.seg_images[i]);
    free(c.seg_images);
    free(c.cat_of_class);
    for (int32_t k = 0; k < c.n_names; k++) free(c.names[k]);
    free(c.names);
    ei_calib_table_destroy(c.calib);
    ei_coco_gt_destroy(c.gt);
    ei_infer_config_destroy(c.cfg);
    if (c.tmpdir[0]) rmdir(c.tmpdir);
    return rc;
}
