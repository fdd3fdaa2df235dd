/* INT8 calibration of YOLOX-nano through `edgeinfer build --precision int8` (docs/precision.md):
 *   quant_calib_yolox (label models): frames of the sample videos (ffmpeg), the cache lists every
 *     convolution input of the optimised graph with a positive scale, ReLU/Sigmoid outputs are
 *     unsigned, the same images give the same file, a second build reads the cache without images;
 *   quant_calib_errors (label cli): no readable image, a cache of another model, unreadable images
 *     skipped and counted, usage errors.
 * Until INT8 engines are merged, ei_engine_build refuses int8 ("fp32 engines only", exit 4) after
 * the cache is written: both that and success are accepted here; the cache is what is tested.
 * Arguments: MODE (calib|errors) EDGEINFER_CLI CONFIG.ini */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ei_test.h"
#include "ir/graph.h"
#include "ops/fused.h"
#include "runtime/model_internal.h"

static const char * g_cli;
static const char * g_cfg_src;
static char         g_tmp[] = "/tmp/ei_calib_test_XXXXXX";
static char         g_model[4096], g_cfg[4200];

static char * read_text(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

static void write_text(const char * path, const char * text) {
    FILE * f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Runs the CLI with the arguments (a shell fragment); returns the exit code; stdout + stderr of
 * the run land in g_tmp/out.txt. */
static int cli(const char * fmt, ...) {
    char    args[8192], cmd[9000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' build %s > %s/out.txt 2>&1", g_cli, args, g_tmp);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char * cli_output(void) {
    char p[4200];
    snprintf(p, sizeof p, "%s/out.txt", g_tmp);
    return read_text(p);
}

/* 0: the engine was built (INT8 merged); 4 with the fp32-only message: before that. */
static bool build_rc_ok(int rc) {
    if (rc == 0) return true;
    char * out = cli_output();
    bool   ok = rc == 4 && out && strstr(out, "fp32 engines only");
    if (!ok) fprintf(stderr, "edgeinfer build exited %d:\n%s\n", rc, out ? out : "");
    free(out);
    return ok;
}

/* A copy of the YOLOX-nano config with the model and labels at the assets' absolute paths. */
static void write_config(const char * assets) {
    char * src = read_text(g_cfg_src);
    if (!src) EI_SKIP("cannot read %s", g_cfg_src);
    char   path[4200];
    size_t cap = strlen(src) + 8192;
    char * dst = malloc(cap);
    dst[0] = '\0';
    for (char * line = strtok(src, "\n"); line; line = strtok(NULL, "\n")) {
        size_t u = strlen(dst);
        if (!strncmp(line, "onnx-file=", 10))
            snprintf(dst + u, cap - u, "onnx-file=%s\n", g_model);
        else if (!strncmp(line, "labelfile-path=", 15))
            snprintf(dst + u, cap - u, "labelfile-path=%s/models/coco_detection/coco80_classes.txt\n", assets);
        else
            snprintf(dst + u, cap - u, "%s\n", line);
    }
    snprintf(path, sizeof path, "%s/yolox.ini", g_tmp);
    write_text(path, dst);
    snprintf(g_cfg, sizeof g_cfg, "%s", path);
    free(src);
    free(dst);
}

static void extract_frames(const char * assets) {
    if (system("command -v ffmpeg > /dev/null 2>&1") != 0) EI_SKIP("ffmpeg is not installed (scripts/setup.sh)");
    const char * videos[] = {"car-detection.mp4", "one-by-one-person-detection.mp4"};
    for (int i = 0; i < 2; i++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "mkdir -p %s/frames && ffmpeg -loglevel error -y -i '%s/videos/%s' -vf fps=1 -frames:v 8 "
                 "%s/frames/v%d_%%03d.jpg",
                 g_tmp, assets, videos[i], g_tmp, i);
        if (system(cmd) != 0) EI_SKIP("ffmpeg could not extract frames from %s/videos/%s", assets, videos[i]);
    }
}

static ei_model * build_fp32(void) {
    ei_engine_build_options o = ei_engine_build_options_default();
    o.batch = 1;
    ei_model *  m = NULL;
    ei_status * st = ei_engine_build(g_model, &o, &m);
    EI_CHECK_OK(st);
    return m;
}

static bool act_is_nonnegative(const ei_node * n) {
    if (!strcmp(n->op_type, "Relu") || !strcmp(n->op_type, "Sigmoid")) return true;
    ei_fused    f;
    ei_status * st = ei_fused_import(n, &f);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    return f.act == EI_ACT_RELU || f.act == EI_ACT_SIGMOID || f.act == EI_ACT_HARD_SIGMOID;
}

static void test_calibrate_yolox(void) {
    char cache1[4200], cache2[4200], engine[4200];
    snprintf(engine, sizeof engine, "%s/y.engine", g_tmp);
    snprintf(cache1, sizeof cache1, "%s/y.engine.calib", g_tmp);
    snprintf(cache2, sizeof cache2, "%s/second.calib", g_tmp);
    /* Default method (entropy), default cache path (the engine + ".calib"). */
    EI_CHECK(build_rc_ok(cli("'%s' -o '%s' --precision int8 -c '%s' --calib-images '%s/frames' --calib-target-cosine 0",
                             g_model, engine, g_cfg, g_tmp)));
    char * out = cli_output();
    EI_CHECK(out && strstr(out, "calibrated") && strstr(out, "16 images") && strstr(out, "calibrating"));
    free(out);
    ei_calib_table * t = NULL;
    EI_CHECK_OK(ei_calib_table_load(cache1, &t));
    if (!t) return;
    EI_CHECK(ei_calib_table_method(t) == EI_CALIB_ENTROPY);
    EI_CHECK(ei_calib_table_images(t) == 16);

    ei_model * m = build_fp32();
    if (!m) {
        ei_calib_table_destroy(t);
        return;
    }
    uint8_t sha[32], tsha[32];
    EI_CHECK(ei_model_onnx_sha256(m, sha));
    EI_CHECK(ei_calib_table_model_sha256(t, tsha) && !memcmp(sha, tsha, 32));
    EI_CHECK_OK(ei_calib_table_check_model(t, sha, cache1));

    /* Every scale positive and finite, every name a value of the optimised graph. */
    const ei_graph * g = m->g;
    for (int32_t i = 0; i < ei_calib_table_count(t); i++) {
        const char * name = ei_calib_table_name(t, i);
        float        s = 0;
        EI_CHECK(ei_calib_table_get(t, name, &s, NULL) && s > 0 && isfinite(s));
        EI_CHECK(ei_graph_value_find(g, name) >= 0);
    }
    /* Every convolution input listed; ReLU / Sigmoid outputs unsigned; SiLU outputs go negative. */
    int32_t convs = 0, nonneg = 0, silu_signed = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (n->folded) continue;
        if (strstr(n->op_type, "Conv") && n->n_inputs > 0 && n->inputs[0] >= 0) {
            const char * in = g->values[n->inputs[0]].name;
            bool         listed = ei_calib_table_get(t, in, NULL, NULL);
            if (!listed) fprintf(stderr, "conv %s: input %s not in the cache\n", n->name, in);
            EI_CHECK(listed);
            convs++;
        }
        if (n->n_outputs < 1 || n->outputs[0] < 0) continue;
        bool         uns = false;
        const char * out_name = g->values[n->outputs[0]].name;
        if (!ei_calib_table_get(t, out_name, NULL, &uns)) continue;
        if (act_is_nonnegative(n)) {
            if (!uns) fprintf(stderr, "%s (%s): output %s is signed\n", n->name, n->op_type, out_name);
            EI_CHECK(uns);
            nonneg++;
        }
        ei_fused f;
        if (!ei_fused_import(n, &f) && f.act == EI_ACT_SILU && !uns) silu_signed++;
    }
    bool in_uns = false;
    EI_CHECK(ei_calib_table_get(t, ei_model_input_name(m, 0), NULL, &in_uns) && in_uns); /* pixels 0..255 */
    printf("cache: %d tensors, %d convolutions, %d ReLU/Sigmoid outputs (unsigned), %d SiLU outputs signed\n",
           ei_calib_table_count(t), convs, nonneg, silu_signed);
    EI_CHECK(convs > 50);
    EI_CHECK(nonneg > 0);
    EI_CHECK(silu_signed > 0);

    /* Deterministic: the same images give the same file (here through --calib-cache FILE). */
    EI_CHECK(build_rc_ok(cli(
        "'%s' -o '%s' --precision int8 -c '%s' --calib-images '%s/frames' --calib-cache '%s' --calib-target-cosine 0 "
        "--calib-method entropy",
        g_model, engine, g_cfg, g_tmp, cache2)));
    char *a = read_text(cache1), *b = read_text(cache2);
    EI_CHECK(a && b && !strcmp(a, b));
    free(a);
    free(b);

    /* A cache and no images: read, checked, no calibration. */
    EI_CHECK(build_rc_ok(cli("'%s' -o '%s' --precision int8 --calib-cache '%s'", g_model, engine, cache2)));
    out = cli_output();
    EI_CHECK(out && strstr(out, "calibration skipped") && !strstr(out, "calibrating"));
    free(out);

    /* minmax with --calib-batches: the first 4 images (batch 1); one pass for the ranges, one for the
     * channel means of bias correction. */
    char cache3[4200];
    snprintf(cache3, sizeof cache3, "%s/minmax.calib", g_tmp);
    EI_CHECK(build_rc_ok(
        cli("'%s' -o '%s' --precision int8 -c '%s' --calib-images '%s/frames' --calib-target-cosine 0 --calib-method "
            "minmax --calib-batches 4 --calib-cache '%s'",
            g_model, engine, g_cfg, g_tmp, cache3)));
    ei_calib_table * t3 = NULL;
    EI_CHECK_OK(ei_calib_table_load(cache3, &t3));
    if (t3) {
        EI_CHECK(ei_calib_table_method(t3) == EI_CALIB_MINMAX && ei_calib_table_images(t3) == 4);
        EI_CHECK(ei_calib_table_count(t3) == ei_calib_table_count(t));
        float s_in = 0;
        EI_CHECK(ei_calib_table_get(t3, ei_model_input_name(m, 0), &s_in, NULL));
        EI_CHECK(s_in > 0 && s_in * 127.0f <= 255.0f * 1.0001f);
    }
    ei_calib_table_destroy(t3);
    ei_calib_table_destroy(t);
    ei_model_destroy(m);
}

typedef struct warn_count {
    int  n;
    char last[1024];
} warn_count;

static void on_warn(void * user, const char * msg) {
    warn_count * w = user;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static void test_errors(void) {
    char dir[4200], p[4400], engine[4200];
    snprintf(engine, sizeof engine, "%s/e.engine", g_tmp);
    /* A folder whose images cannot be read: the error names the folder and the formats read. */
    snprintf(dir, sizeof dir, "%s/unreadable", g_tmp);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/a.jpg", dir);
    write_text(p, "not a JPEG\n");
    snprintf(p, sizeof p, "%s/b.png", dir);
    write_text(p, "not a PNG either\n");
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    write_text(p, "ignored\n");
    int    rc = cli("'%s' -o '%s' --precision int8 -c '%s' --calib-images '%s'", g_model, engine, g_cfg, dir);
    char * out = cli_output();
    EI_CHECK(rc == 3 && out && strstr(out, dir) && strstr(out, "none of the 2 images") && strstr(out, ".png"));
    EI_CHECK(out && strstr(out, "warning: skipping calibration image"));
    if (rc != 3) fprintf(stderr, "exit %d: %s\n", rc, out ? out : "");
    free(out);
    /* An empty folder. */
    snprintf(dir, sizeof dir, "%s/empty", g_tmp);
    mkdir(dir, 0755);
    rc = cli("'%s' -o '%s' --precision int8 -c '%s' --calib-images '%s'", g_model, engine, g_cfg, dir);
    out = cli_output();
    EI_CHECK(rc == 5 && out && strstr(out, dir) && strstr(out, "holds no image") && strstr(out, ".jpeg"));
    free(out);
    /* A cache made for another model. */
    snprintf(p, sizeof p, "%s/other.calib", g_tmp);
    write_text(p, "format: 1\nmodel-sha256: "
                  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                  "method: entropy\nimages: 3\nimages\t0.5\tunsigned\n");
    rc = cli("'%s' -o '%s' --precision int8 --calib-cache '%s'", g_model, engine, p);
    out = cli_output();
    EI_CHECK(rc == 3 && out && strstr(out, "was made for another model") && strstr(out, "recalibrate"));
    free(out);
    /* Usage errors (exit 2), each saying what to do. */
    struct {
        const char * args;
        const char * msg;
    } usage[] = {
        {"--precision int8", "needs calibration"},
        {"--precision int8 -c CFG", "needs calibration"},
        {"--precision int8 --calib-images DIR", "needs -c infer.ini"},
        {"--precision int8 -c CFG --calib-images DIR --calib-method kl", "expected entropy, percentile or minmax"},
        {"--precision int8 -c /nonexistent/infer.ini --calib-images DIR", "/nonexistent/infer.ini"},
        {"--calib-images DIR", "go with --precision int8"},
        {"--precision int4", "expected fp32, bf16, fp16 or int8"},
        {"--precision int8 --calib-cache X --calib-method minmax", "need --calib-images"},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        char args[8192] = "";
        /* CFG / DIR placeholders: the real config and the frames folder. */
        const char * s = usage[i].args;
        while (*s) {
            size_t u = strlen(args);
            if (!strncmp(s, "CFG", 3)) {
                snprintf(args + u, sizeof args - u, "'%s'", g_cfg);
                s += 3;
            } else if (!strncmp(s, "DIR", 3)) {
                snprintf(args + u, sizeof args - u, "'%s/unreadable'", g_tmp);
                s += 3;
            } else {
                args[u] = *s++;
                args[u + 1] = '\0';
            }
        }
        rc = cli("'%s' -o '%s' %s", g_model, engine, args);
        out = cli_output();
        bool ok = rc == 2 && out && strstr(out, usage[i].msg);
        if (!ok) fprintf(stderr, "`build %s`: exit %d: %s\n", usage[i].args, rc, out ? out : "");
        EI_CHECK(ok);
        free(out);
    }

    /* Library: unreadable images are skipped, counted and reported; a list file resolves relative
     * paths against its own folder and skips comments. */
    snprintf(p, sizeof p, "%s/list.txt", g_tmp);
    char list[8192];
    snprintf(list, sizeof list, "# calibration list\nunreadable/a.jpg\n\n%s/frame.png\n", g_tmp);
    write_text(p, list);
    ei_image img;
    EI_CHECK_OK(ei_image_alloc(EI_PIXEL_RGB, 64, 48, &img));
    char frame[4300];
    snprintf(frame, sizeof frame, "%s/frame.png", g_tmp);
    EI_CHECK_OK(ei_image_save(&img, frame, 0));
    ei_image_free(&img);
    char ** paths = NULL;
    int32_t n = 0;
    EI_CHECK_OK(ei_calib_images_list(p, &paths, &n));
    EI_CHECK(n == 2 && paths && strstr(paths[0], "/unreadable/a.jpg") && !strcmp(paths[1], frame));
    ei_infer_config * cfg = NULL;
    EI_CHECK_OK(ei_infer_config_load(g_cfg, &cfg));
    ei_model * m = build_fp32();
    if (cfg && m && n == 2) {
        warn_count       w = {0};
        ei_calib_options o = ei_calib_options_default();
        o.method = EI_CALIB_PERCENTILE;
        o.sens_target_cosine = 0.0; /* the table as calibrated (sensitivity: test_sensitivity.c) */
        o.warn = on_warn;
        o.user = &w;
        o.source = p;
        ei_calib_table * t = NULL;
        ei_calib_report  rep;
        EI_CHECK_OK(ei_calibrate(m, cfg, (const char * const *)paths, n, &o, &t, &rep));
        EI_CHECK(rep.images == 1 && rep.skipped == 1 && rep.passes == 3 && rep.tensors == ei_calib_table_count(t));
        EI_CHECK(rep.means > 0); /* bias correction (on by default): a third pass, channel means */
        EI_CHECK(w.n == 1 && strstr(w.last, "a.jpg"));
        EI_CHECK(t && ei_calib_table_method(t) == EI_CALIB_PERCENTILE && ei_calib_table_images(t) == 1);
        ei_calib_table_destroy(t);
        /* Only the unreadable one: an error naming the source. */
        t = NULL;
        EI_CHECK_ERROR(ei_calibrate(m, cfg, (const char * const *)paths, 1, &o, &t, NULL), EI_CODE_INVALID_ARGUMENT,
                       "none of the 1 images could be read");
        EI_CHECK(t == NULL);
        /* A reduced-precision engine is not calibrated (its build records the precision). */
        m->build.precision = EI_PRECISION_INT8;
        EI_CHECK_ERROR(ei_calibrate(m, cfg, (const char * const *)paths, n, &o, &t, NULL), EI_CODE_INVALID_ARGUMENT,
                       "the model is an int8 engine");
        m->build.precision = EI_PRECISION_FP32;
        o.size = 3;
        EI_CHECK_ERROR(ei_calibrate(m, cfg, (const char * const *)paths, n, &o, &t, NULL), EI_CODE_INVALID_ARGUMENT,
                       "ei_calib_options.size");
    }
    ei_model_destroy(m);
    ei_infer_config_destroy(cfg);
    ei_calib_images_free(paths, n);
    snprintf(p, sizeof p, "%s/missing", g_tmp);
    EI_CHECK_ERROR(ei_calib_images_list(p, &paths, &n), EI_CODE_NOT_FOUND, "missing");
}

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s calib|errors EDGEINFER_CLI CONFIG.ini\n", argv[0]);
        return 2;
    }
    g_cli = argv[2];
    g_cfg_src = argv[3];
    const char * assets = ei_test_assets_dir();
    snprintf(g_model, sizeof g_model, "%s/models/coco_detection/yolox_nano_416.onnx", assets);
    if (access(g_model, R_OK) != 0) EI_SKIP("no %s (set EI_ASSETS_DIR)", g_model);
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    write_config(assets);
    if (!strcmp(argv[1], "calib")) {
        extract_frames(assets);
        EI_RUN(test_calibrate_yolox);
    } else {
        EI_RUN(test_errors);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    EI_TEST_EXIT();
}
