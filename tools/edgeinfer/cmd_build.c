#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "quant/half.h"

static void help(void) {
    printf("usage: edgeinfer build MODEL.onnx -o MODEL.engine [--precision fp32|bf16|fp16] [--batch N] [--threads N]\n"
           "                      [--input-shape NAME:DIMS,...] [-O0]\n"
           "       edgeinfer build MODEL.onnx --cache DIR [options]\n\n"
           "Imports, optimises and shape-infers the model once and writes an engine file that\n"
           "`edgeinfer run` and `edgeinfer info` load in milliseconds (docs/engine-format.md). An\n"
           "engine is tied to the options below, the edgeinfer engine format and the CPU's features.\n\n"
           "  -o, --output FILE     the engine file to write (written to a temporary name, then renamed)\n"
           "  --cache DIR           build into the engine cache DIR instead (named by content hash and\n"
           "                        options; nothing is rebuilt when the cached engine is current)\n"
           "  --precision P         fp32; bf16 or fp16: convolution and matmul weights stored in half\n"
           "                        precision (a file about half the size), computed in fp32 on CPUs\n"
           "                        without bf16/fp16 arithmetic (docs/precision.md)\n"
           "  --batch N             first dimension of every input not fixed by --input-shape\n"
           "  --threads N           worker threads recorded for sessions of the engine (default: one per core)\n"
           "  --input-shape SPEC    fix symbolic input dimensions, e.g. images:1x3x416x416\n"
           "  -O0, --no-optimize    store the graph as imported, without the optimisation passes\n");
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

int ei_cmd_build(int argc, char ** argv) {
    const char *            model = NULL, *output = NULL, *cache = NULL;
    ei_engine_build_options o = ei_engine_build_options_default();
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i];
        if (ei_cli_is_help(a)) {
            help();
            return EI_EXIT_OK;
        }
        bool takes_value = !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--cache") ||
                           !strcmp(a, "--precision") || !strcmp(a, "--batch") || !strcmp(a, "--threads") ||
                           !strcmp(a, "--input-shape");
        if (takes_value && i + 1 >= argc) return ei_cli_usage_error("build", "%s needs a value", a);
        int rc = 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            output = argv[++i];
        else if (!strcmp(a, "--cache"))
            cache = argv[++i];
        else if (!strcmp(a, "--precision")) {
            if (!ei_precision_parse(argv[++i], &o.precision) || o.precision == EI_PRECISION_INT8)
                return ei_cli_usage_error("build", "--precision: fp32, bf16 or fp16, not '%s'", argv[i]);
        } else if (!strcmp(a, "--batch"))
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

    double     t0 = now_ms();
    ei_model * m = NULL;
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
    ei_model_destroy(m);
    return EI_EXIT_OK;
}
