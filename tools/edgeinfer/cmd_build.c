#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "quant/half.h"

static void help(void) {
    printf("usage: edgeinfer build MODEL.onnx -o MODEL.engine [--precision fp32|bf16|fp16] [--batch N] [--threads N]\n"
           "                      [--input-shape NAME:DIMS,...] [-O0]\n"
           "       edgeinfer build MODEL.onnx -o MODEL.engine --precision int8 -c infer.ini --calib-images DIR|LIST\n"
           "                      [--calib-method entropy|percentile|minmax] [--calib-batches N] [--calib-cache FILE]\n"
           "                      [--calib-target-cosine X] [--calib-max-float N] [--calib-sens-images N]\n"
           "                      [--calib-sens-weights on|off] [--calib-bias-correction on|off]\n"
           "                      [--keep-fp32 NODE[,NODE...]]\n"
           "       edgeinfer build MODEL.onnx -o MODEL.engine --precision int8 --calib-cache FILE [--keep-fp32 ...]\n"
           "       edgeinfer build MODEL.onnx --cache DIR [options]\n\n"
           "Imports, optimises and shape-infers the model once and writes an engine file that\n"
           "`edgeinfer run` and `edgeinfer info` load in milliseconds (docs/engine-format.md). An\n"
           "engine is tied to the options below, the edgeinfer engine format and the CPU's features.\n\n"
           "  -o, --output FILE     the engine file to write (written to a temporary name, then renamed)\n"
           "  --cache DIR           build into the engine cache DIR instead (named by content hash and\n"
           "                        options; nothing is rebuilt when the cached engine is current; not for int8)\n"
           "  --precision P         fp32 (default), bf16, fp16 or int8 (docs/precision.md)\n"
           "  --batch N             first dimension of every input not fixed by --input-shape\n"
           "  --threads N           worker threads recorded for sessions of the engine (default: one per core)\n"
           "  --input-shape SPEC    fix symbolic input dimensions, e.g. images:1x3x416x416\n"
           "  -O0, --no-optimize    store the graph as imported, without the optimisation passes\n\n"
           "INT8 calibration (docs/precision.md, \"INT8 calibration\"): the float model runs over the\n"
           "images with the pre-processing of the inference config, and every activation gets a scale.\n"
           "  -c, --config FILE     the nvinfer-style inference config whose pre-processing the images get\n"
           "                        (needed with --calib-images)\n"
           "  --calib-images SRC    a folder (every .jpg, .jpeg, .png, by name) or a text file listing images\n"
           "                        (one path a line, relative to the file)\n"
           "  --calib-method M      entropy (default: TensorRT's KL-divergence search), percentile (99.99th\n"
           "                        percentile of |x|) or minmax (max |x|)\n"
           "  --calib-batches N     use the first N batches of readable images (default: all images)\n"
           "  --calib-cache FILE    the calibration cache (a text file of tensor name -> scale). With\n"
           "                        --calib-images it is written (default: the engine path + \".calib\");\n"
           "                        without, it is read, checked against the model, and calibration is skipped\n");
    printf("Sensitivity analysis (after the scales; docs/precision.md, \"Sensitivity: tensors kept in float\"):\n"
           "each convolution input is fake-quantised alone on a few calibration images, then the most\n"
           "damaging ones are kept in float (left out of the cache, listed in its comments) until the\n"
           "outputs of the all-int8 network have this similarity with fp32 (cosine; per column of\n"
           "outputs [..., L<=1024] such as a detector's boxes x (4 + classes); worst image).\n"
           "  --calib-target-cosine X  0..1 (default 0.995); 0 turns the analysis off\n"
           "  --calib-max-float N      keep at most N tensors in float (default: a quarter of them)\n"
           "  --calib-sens-images N    images the analysis runs on (default 8; it runs the network\n"
           "                           (tensors + kept + 2) x N times)\n"
           "  --calib-sens-weights on|off  on (default): the analysis also simulates each convolution's int8\n"
           "                           weights (and corrected bias); off: activations only\n"
           "  --calib-bias-correction on|off  on (default): one more pass records per-channel means of every\n"
           "                           convolution input (float and quantised, in the cache); the int8 engine\n"
           "                           moves each convolution's bias by the mean error they imply\n"
           "  --keep-fp32 NODES        comma-separated names of Conv nodes that stay float (the ONNX model's\n"
           "                           node names, e.g. Conv_44,Conv_47, which the optimised graph keeps;\n"
           "                           `edgeinfer info MODEL.engine` counts the ei.ConvInt8 left); any precision\n");
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_int(const char * opt, const char * v, int lo, int hi, int32_t * out) {
    char * e;
    long   x = strtol(v, &e, 10);
    if (!*v || *e || x < lo || x > hi)
        return ei_cli_usage_error("build", "%s must be %d..%d, not '%s'", opt, lo, hi, v);
    *out = (int32_t)x;
    return 0;
}

/* The calibration progress bar on stderr: redrawn in place on a terminal, plain lines otherwise. */
typedef struct progress {
    double start_ms;
    bool   tty;
    int    last_tenth;
    bool   sens; /* the sensitivity analysis has started */
} progress;

static void on_progress(void * user, int32_t done, int32_t total) {
    progress * p = user;
    double     el = (now_ms() - p->start_ms) / 1e3;
    double     eta = done > 0 ? el / done * (total - done) : 0.0;
    if (p->tty) {
        char bar[31];
        int  fill = total > 0 ? (int)(30LL * done / total) : 30;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\rcalibrating [%s] %d/%d images, %.0f s, ETA %.0f s  ", bar, done, total, el, eta);
        if (done >= total) fputc('\n', stderr);
        fflush(stderr);
        return;
    }
    int tenth = total > 0 ? (int)(10LL * done / total) : 10;
    if (tenth == p->last_tenth && done < total) return;
    p->last_tenth = tenth;
    fprintf(stderr, "calibrating: %d/%d images, %.1f s, ETA %.0f s\n", done, total, el, eta);
}

/* The sensitivity analysis' progress: the same bar, counting network runs. */
static void on_sens_progress(void * user, int32_t done, int32_t total) {
    progress * p = user;
    if (!p->sens) {
        p->sens = true;
        p->start_ms = now_ms();
        p->last_tenth = -1;
    }
    double el = (now_ms() - p->start_ms) / 1e3;
    double eta = done > 0 ? el / done * (total - done) : 0.0;
    if (p->tty) {
        char bar[31];
        int  fill = total > 0 ? (int)(30LL * done / total) : 30;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\rsensitivity [%s] %d/%d runs at most, %.0f s, ETA %.0f s  ", bar, done, total, el, eta);
        fflush(stderr);
        return;
    }
    int tenth = total > 0 ? (int)(10LL * done / total) : 10;
    if (tenth == p->last_tenth && done < total) return;
    p->last_tenth = tenth;
    fprintf(stderr, "sensitivity: %d/%d runs at most, %.1f s, ETA %.0f s\n", done, total, el, eta);
}

static void on_warn(void * user, const char * message) {
    progress * p = user;
    fprintf(stderr, "%swarning: %s\n", p->tty ? "\n" : "", message);
}

/* Calibrates (images given) or loads and checks the cache; the table goes to *out. */
typedef struct sens_args {
    double  target; /* < 0: default */
    int32_t max_float, images;
    int32_t weights, bias; /* -1: default, 0: off, 1: on */
} sens_args;

static int calibration_table(const char * model, const ei_engine_build_options * o, const char * config,
                             const char * images, ei_calib_method method, int32_t batches, const char * cache,
                             const sens_args * sa, ei_calib_table ** out) {
    ei_engine_build_options o32 = *o;
    o32.precision = EI_PRECISION_FP32;
    o32.calib = NULL;
    ei_infer_config * cfg = NULL;
    ei_model *        m = NULL;
    char **           paths = NULL;
    int32_t           n_paths = 0;
    ei_status *       st = NULL;
    if (images) {
        st = ei_infer_config_load(config, &cfg);
        if (!st) st = ei_calib_images_list(images, &paths, &n_paths);
    }
    double t0 = now_ms();
    if (!st) st = ei_engine_build(model, &o32, &m);
    uint8_t sha[32];
    if (!st && !ei_model_onnx_sha256(m, sha)) memset(sha, 0, sizeof sha);
    if (!st && images) {
        fprintf(stderr, "calibration: fp32 model built in %.1f s; %d images in %s\n", (now_ms() - t0) / 1e3, n_paths,
                images);
        const ei_shape * in = ei_model_input_count(m) ? ei_model_input_shape(m, 0) : NULL;
        int64_t          b = in && in->rank ? in->dim[0] : 1;
        progress         p = {.start_ms = now_ms(), .tty = isatty(2) != 0, .last_tenth = -1};
        ei_calib_options co = ei_calib_options_default();
        co.method = method;
        co.max_images = batches > 0 ? (int32_t)((int64_t)batches * (b > 0 ? b : 1)) : 0;
        co.source = images;
        co.progress = on_progress;
        co.warn = on_warn;
        co.user = &p;
        co.sens_progress = on_sens_progress;
        if (sa->target >= 0.0) co.sens_target_cosine = sa->target;
        if (sa->max_float >= 0) co.sens_max_float = sa->max_float;
        if (sa->images > 0) co.sens_images = sa->images;
        if (sa->weights >= 0) co.sens_weights = sa->weights == 1;
        if (sa->bias >= 0) co.bias_correction = sa->bias == 1;
        ei_calib_report rep;
        st = ei_calibrate(m, cfg, (const char * const *)paths, n_paths, &co, out, &rep);
        if (!st) st = ei_calib_table_save(*out, cache);
        if (p.tty && p.sens) fputc('\n', stderr);
        if (!st && co.sens_target_cosine > 0.0)
            printf("sensitivity: %d of %d tensors kept in float (all-int8 cosine %.3f -> %.3f, target %g, %d images, "
                   "%d runs, %.1f s)%s%s\n",
                   rep.sens_kept, rep.sens_candidates, rep.sens_cosine_all, rep.sens_cosine_final,
                   co.sens_target_cosine, rep.sens_images, rep.sens_runs, rep.sens_seconds, rep.sens_kept ? ": " : "",
                   rep.sens_kept_names);
        if (!st) {
            char means[96] = "";
            if (co.bias_correction)
                snprintf(means, sizeof means, ", channel means of %d convolution inputs (bias correction)", rep.means);
            printf("calibrated %d tensors on %d images (%d unreadable skipped), %s, %d pass%s%s, in %.1f s: wrote %s\n",
                   rep.tensors, rep.images, rep.skipped, ei_calib_method_name(method), rep.passes,
                   rep.passes == 1 ? "" : "es", means, rep.seconds, cache);
        }
    } else if (!st) {
        st = ei_calib_table_load(cache, out);
        if (!st) st = ei_calib_table_check_model(*out, sha, cache);
        if (!st)
            printf("calibration cache %s: %d tensors (%s, %d images); calibration skipped\n", cache,
                   ei_calib_table_count(*out), ei_calib_method_name(ei_calib_table_method(*out)),
                   ei_calib_table_images(*out));
    }
    ei_calib_images_free(paths, n_paths);
    ei_model_destroy(m);
    ei_infer_config_destroy(cfg);
    if (st) {
        ei_calib_table_destroy(*out);
        *out = NULL;
        return ei_cli_fail(st);
    }
    return EI_EXIT_OK;
}

int ei_cmd_build(int argc, char ** argv) {
    const char *            model = NULL, *output = NULL, *cache = NULL;
    const char *            config = NULL, *calib_images = NULL, *calib_cache = NULL;
    ei_calib_method         method = EI_CALIB_ENTROPY;
    bool                    method_given = false;
    int32_t                 calib_batches = 0;
    sens_args               sa = {.target = -1.0, .max_float = -1, .images = 0, .weights = -1, .bias = -1};
    bool                    sens_given = false;
    ei_engine_build_options o = ei_engine_build_options_default();
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i];
        if (ei_cli_is_help(a)) {
            help();
            return EI_EXIT_OK;
        }
        bool takes_value =
            !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--cache") || !strcmp(a, "--precision") ||
            !strcmp(a, "--batch") || !strcmp(a, "--threads") || !strcmp(a, "--input-shape") || !strcmp(a, "-c") ||
            !strcmp(a, "--config") || !strcmp(a, "--calib-images") || !strcmp(a, "--calib-method") ||
            !strcmp(a, "--calib-batches") || !strcmp(a, "--calib-cache") || !strcmp(a, "--calib-target-cosine") ||
            !strcmp(a, "--calib-max-float") || !strcmp(a, "--calib-sens-images") || !strcmp(a, "--keep-fp32") ||
            !strcmp(a, "--calib-sens-weights") || !strcmp(a, "--calib-bias-correction");
        if (takes_value && i + 1 >= argc) return ei_cli_usage_error("build", "%s needs a value", a);
        int rc = 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            output = argv[++i];
        else if (!strcmp(a, "--cache"))
            cache = argv[++i];
        else if (!strcmp(a, "--precision")) {
            if (!ei_precision_parse(argv[++i], &o.precision))
                return ei_cli_usage_error("build", "--precision: expected fp32, bf16, fp16 or int8, not '%s'", argv[i]);
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config"))
            config = argv[++i];
        else if (!strcmp(a, "--calib-images"))
            calib_images = argv[++i];
        else if (!strcmp(a, "--calib-cache"))
            calib_cache = argv[++i];
        else if (!strcmp(a, "--calib-method")) {
            method_given = true;
            if (!ei_calib_method_parse(argv[++i], &method))
                return ei_cli_usage_error("build", "--calib-method: expected entropy, percentile or minmax, not '%s'",
                                          argv[i]);
        } else if (!strcmp(a, "--calib-target-cosine")) {
            const char * v = argv[++i];
            char *       e;
            sa.target = strtod(v, &e);
            sens_given = true;
            if (!*v || *e || !(sa.target >= 0.0 && sa.target <= 1.0))
                return ei_cli_usage_error("build", "--calib-target-cosine must be 0..1 (0: no analysis), not '%s'", v);
        } else if (!strcmp(a, "--calib-max-float")) {
            sens_given = true;
            rc = parse_int(a, argv[++i], 0, 1 << 24, &sa.max_float);
        } else if (!strcmp(a, "--calib-sens-images")) {
            sens_given = true;
            rc = parse_int(a, argv[++i], 1, 1 << 16, &sa.images);
        } else if (!strcmp(a, "--calib-sens-weights") || !strcmp(a, "--calib-bias-correction")) {
            const char * v = argv[++i];
            int32_t *    dst = !strcmp(a, "--calib-sens-weights") ? &sa.weights : &sa.bias;
            sens_given = true;
            if (!strcmp(v, "on"))
                *dst = 1;
            else if (!strcmp(v, "off"))
                *dst = 0;
            else
                return ei_cli_usage_error("build", "%s: expected on or off, not '%s'", a, v);
        } else if (!strcmp(a, "--keep-fp32"))
            o.keep_fp32 = argv[++i];
        else if (!strcmp(a, "--calib-batches"))
            rc = parse_int(a, argv[++i], 1, 1 << 24, &calib_batches);
        else if (!strcmp(a, "--batch"))
            rc = parse_int(a, argv[++i], 1, 1 << 20, &o.batch);
        else if (!strcmp(a, "--threads"))
            rc = parse_int(a, argv[++i], 0, 1024, &o.n_threads);
        else if (!strcmp(a, "--input-shape"))
            o.input_shapes = argv[++i];
        else if (!strcmp(a, "-O0") || !strcmp(a, "--no-optimize"))
            o.optimization_level = 0;
        else if (a[0] == '-')
            return ei_cli_usage_error("build", "unknown option '%s'", a);
        else if (model)
            return ei_cli_usage_error("build", "unexpected argument '%s' (the model is '%s')", a, model);
        else
            model = a;
        if (rc) return rc;
    }
    if (!model) return ei_cli_usage_error("build", "missing MODEL.onnx");
    if (!output == !cache) return ei_cli_usage_error("build", "give either -o MODEL.engine or --cache DIR");
    bool int8 = o.precision == EI_PRECISION_INT8;
    if (!int8 && (config || calib_images || calib_cache || method_given || calib_batches || sens_given))
        return ei_cli_usage_error("build", "-c and the --calib-* options go with --precision int8 (they "
                                           "calibrate it)");
    if (int8) {
        if (cache)
            return ei_cli_usage_error("build", "--precision int8 writes an engine file: use -o MODEL.engine, not "
                                               "--cache DIR");
        if (!calib_images && !calib_cache)
            return ei_cli_usage_error("build", "--precision int8 needs calibration: --calib-images DIR|LIST with -c "
                                               "infer.ini, or a --calib-cache FILE from an earlier calibration");
        if (calib_images && !config)
            return ei_cli_usage_error("build", "--calib-images needs -c infer.ini: the inference config gives the "
                                               "images' pre-processing");
        if (!calib_images && (method_given || calib_batches || sens_given))
            return ei_cli_usage_error("build", "--calib-method, --calib-batches, --calib-target-cosine, "
                                               "--calib-max-float, --calib-sens-images, --calib-sens-weights and "
                                               "--calib-bias-correction need --calib-images (a "
                                               "cache without images is only read; use --keep-fp32 with it)");
    }
    if (config && access(config, R_OK) != 0)
        return ei_cli_usage_error("build", "-c %s: %s (give the inference config, e.g. configs/yolox_nano.ini)", config,
                                  strerror(errno));

    double           t0 = now_ms();
    ei_model *       m = NULL;
    ei_calib_table * table = NULL;
    char *           default_cache = NULL;
    if (int8) {
        if (!calib_cache) {
            size_t n = strlen(output) + 8;
            default_cache = malloc(n);
            if (!default_cache) {
                fprintf(stderr, "error: out of memory\n");
                return EI_EXIT_INTERNAL;
            }
            snprintf(default_cache, n, "%s.calib", output);
        }
        int rc = calibration_table(model, &o, config, calib_images, method, calib_batches,
                                   calib_cache ? calib_cache : default_cache, &sa, &table);
        free(default_cache);
        if (rc) return rc;
        o.calib = table;
    }
    if (cache) {
        ei_engine_cache_info info;
        ei_status *          st = ei_engine_cache_get(cache, model, &o, &m, &info);
        if (st) return ei_cli_fail(st);
        if (info.built)
            printf("cache: built %s (%s) in %.1f ms\n", info.path, info.reason, info.load_ms);
        else
            printf("cache: %s is current (loaded in %.1f ms)\n", info.path, info.load_ms);
        if (o.precision == EI_PRECISION_BF16 || o.precision == EI_PRECISION_FP16) {
            char note[1024];
            ei_half_describe(m, note, sizeof note);
            printf("%s\n", note);
        }
        ei_model_destroy(m);
        return EI_EXIT_OK;
    }
    ei_status * st = ei_engine_build(model, &o, &m);
    if (!st) st = ei_model_save_engine(m, output);
    ei_calib_table_destroy(table);
    if (st) {
        ei_model_destroy(m);
        return ei_cli_fail(st);
    }
    ei_model_summary s;
    ei_model_get_summary(m, &s);
    struct stat sb;
    long long   bytes = stat(output, &sb) == 0 ? (long long)sb.st_size : -1;
    printf("built %s: %d nodes (%d computed at build time), %lld bytes, in %.1f ms\n", output, s.node_count,
           s.folded_node_count, bytes, now_ms() - t0);
    if (o.precision == EI_PRECISION_BF16 || o.precision == EI_PRECISION_FP16) {
        char note[1024];
        ei_half_describe(m, note, sizeof note);
        printf("%s\n", note);
    }
    const char * qdq = s.optimization_report ? strstr(s.optimization_report, "QDQ model: ") : NULL;
    if (qdq) printf("%s\n", qdq); /* the model's own int8 scales (docs/precision.md "QDQ models") */
    ei_model_destroy(m);
    return EI_EXIT_OK;
}
