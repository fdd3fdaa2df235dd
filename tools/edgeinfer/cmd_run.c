#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "core/status.h"
#ifdef EI_WITH_GST
#include "app_run.h"
#endif

#define MAX_INPUTS 64

static void help(void) {
#ifdef EI_WITH_GST
    ei_app_print_usage();
#else
    printf("usage: edgeinfer run APP.ini [options]\n\n"
           "Runs the streaming application described by APP.ini (docs/app-run.md). This edgeinfer was\n"
           "built without GStreamer: run scripts/setup.sh and rebuild.\n");
#endif
    printf("\n");
    printf("usage: edgeinfer run MODEL.onnx|MODEL.engine --input NAME=FILE [--input NAME=FILE ...] --output-dir DIR\n"
           "                    [--input-shape NAME:DIMS,...] [--threads N] [--output-format npy|pb] [-O0]\n"
           "                    [--cache DIR]\n\n"
           "Runs the model once on the given tensors and writes every graph output to DIR as\n"
           "<output name>.npy (or .pb), characters other than letters, digits, '.', '_' and '-' in the\n"
           "name replaced by '_'.\n\n"
           "  --input NAME=FILE     a tensor for input NAME, from a NumPy .npy or ONNX TensorProto .pb file;\n"
           "                        with a single-input model, --input FILE is enough\n"
           "  --output-dir DIR      where outputs are written (created if missing)\n"
           "  --output-format FMT   npy or pb; default: the format of the first input file\n"
           "  --input-shape SPEC    fix symbolic input dimensions, e.g. images:1x3x416x416; by default they\n"
           "                        are taken from the input files\n"
           "  --threads N           worker threads (default: the engine's, else one per core)\n"
           "  -O0, --no-optimize    run the graph as imported, without the optimisation passes\n"
           "  --cache DIR           load the model's engine from DIR, building it there first when it is\n"
           "                        missing or stale (the reason is printed)\n");
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sanitize(const char * in, char * out, size_t n) {
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++) {
        char c = in[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
    if (!strcmp(out, ".") || !strcmp(out, "..") || !out[0]) snprintf(out, n, "output");
}

static int make_dir(const char * dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return 0;
    }
    return -1;
}

/* The model's engine from the cache, saying whether it was built (and why) or loaded. */
static ei_status * cache_get(const char * dir, const char * model, const ei_engine_build_options * eo, ei_model ** m) {
    ei_engine_cache_info info;
    ei_status *          st = ei_engine_cache_get(dir, model, eo, m, &info);
    if (st) return st;
    if (info.built)
        fprintf(stderr, "cache: building %s (%s): %.1f ms\n", info.path, info.reason, info.load_ms);
    else
        fprintf(stderr, "cache: loaded %s in %.1f ms\n", info.path, info.load_ms);
    return NULL;
}

typedef struct run_args {
    const char * model;
    const char * names[MAX_INPUTS];
    const char * files[MAX_INPUTS];
    int          n_inputs;
    const char * output_dir;
    const char * format;
    const char * input_shapes;
    const char * cache;
    int          threads;
    bool         no_optimize;
} run_args;

static int parse_args(int argc, char ** argv, run_args * a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char * o = argv[i];
        if (!strcmp(o, "-O0") || !strcmp(o, "--no-optimize")) {
            a->no_optimize = true;
            continue;
        }
        if (ei_cli_is_help(o)) {
            help();
            return -1;
        }
        bool takes_value = !strcmp(o, "--input") || !strcmp(o, "-i") || !strcmp(o, "--output-dir") ||
                           !strcmp(o, "-o") || !strcmp(o, "--output-format") || !strcmp(o, "--input-shape") ||
                           !strcmp(o, "--threads") || !strcmp(o, "--cache");
        if (takes_value && i + 1 >= argc) return ei_cli_usage_error("run", "%s needs a value", o);
        if (!strcmp(o, "--input") || !strcmp(o, "-i")) {
            if (a->n_inputs == MAX_INPUTS) return ei_cli_usage_error("run", "too many inputs (at most %d)", MAX_INPUTS);
            char * v = argv[++i];
            char * eq = strchr(v, '=');
            if (eq) {
                *eq = 0;
                a->names[a->n_inputs] = v;
                a->files[a->n_inputs] = eq + 1;
            } else {
                a->names[a->n_inputs] = NULL;
                a->files[a->n_inputs] = v;
            }
            a->n_inputs++;
        } else if (!strcmp(o, "--output-dir") || !strcmp(o, "-o")) {
            a->output_dir = argv[++i];
        } else if (!strcmp(o, "--output-format")) {
            a->format = argv[++i];
            if (strcmp(a->format, "npy") && strcmp(a->format, "pb"))
                return ei_cli_usage_error("run", "--output-format must be npy or pb, not '%s'", a->format);
        } else if (!strcmp(o, "--cache")) {
            a->cache = argv[++i];
        } else if (!strcmp(o, "--input-shape")) {
            a->input_shapes = argv[++i];
        } else if (!strcmp(o, "--threads")) {
            char * e;
            long   t = strtol(argv[++i], &e, 10);
            if (*e || t < 0 || t > 1024)
                return ei_cli_usage_error("run", "--threads must be 0..1024, not '%s'", argv[i]);
            a->threads = (int)t;
        } else if (o[0] == '-') {
            return ei_cli_usage_error("run", "unknown option '%s'", o);
        } else if (a->model) {
            return ei_cli_usage_error("run", "unexpected argument '%s' (the model is '%s')", o, a->model);
        } else {
            a->model = o;
        }
    }
    if (!a->model) return ei_cli_usage_error("run", "missing MODEL.onnx");
    if (!a->output_dir) return ei_cli_usage_error("run", "missing --output-dir DIR");
    if (!a->format) {
        size_t l = a->n_inputs ? strlen(a->files[0]) : 0;
        a->format = (l > 3 && !strcmp(a->files[0] + l - 3, ".pb")) ? "pb" : "npy";
    }
    return 0;
}

/* The streaming application's config: *.ini, or *.txt (deepstream-app's habit) with an
 * [application] group. */
static bool is_app_config(const char * path) {
    size_t l = strlen(path);
    if (l > 4 && !strcmp(path + l - 4, ".ini")) return true;
    if (l <= 4 || strcmp(path + l - 4, ".txt")) return false;
    FILE * f = fopen(path, "r");
    if (!f) return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        const char * p = line;
        while (*p == ' ' || *p == '\t') p++;
        found = !strncmp(p, "[application]", 13);
    }
    fclose(f);
    return found;
}

bool ei_cli_run_is_app(int argc, char ** argv) {
    bool app = false;
    for (int i = 1; i < argc && !app; i++) app = is_app_config(argv[i]) || !strcmp(argv[i], "--pipeline");
    return app;
}

int ei_cmd_run(int argc, char ** argv) {
    if (ei_cli_run_is_app(argc, argv)) {
#ifdef EI_WITH_GST
        bool quiet = false;
        for (int i = 1; i < argc; i++) quiet = quiet || !strcmp(argv[i], "--quiet");
        if (!quiet) ei_cli_print_omp_policy(stderr);
        return ei_app_main(argc, argv);
#else
        fprintf(stderr, "edgeinfer was built without GStreamer: run scripts/setup.sh and rebuild\n");
        return EI_EXIT_USAGE;
#endif
    }
    run_args a;
    int      rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? EI_EXIT_OK : rc;

    ei_tensor *  inputs[MAX_INPUTS] = {0};
    ei_model *   m = NULL;
    ei_session * s = NULL;
    ei_status *  st = NULL;
    int          exit_code = EI_EXIT_OK;
    char         shapes[4096] = "";
    for (int i = 0; i < a.n_inputs && !st; i++) st = ei_tensor_load_file(a.files[i], &inputs[i]);
    if (st) goto done;

    /* Load once to learn the input names, then fix symbolic dims from the files' shapes. An engine
     * has its shapes fixed at build time; through the cache, a second engine is built only when
     * the files' shapes differ from the model's defaults. */
    ei_model_options        opt = ei_model_options_default();
    ei_engine_build_options eo = ei_engine_build_options_default();
    opt.input_shapes = eo.input_shapes = a.input_shapes;
    opt.optimization_level = eo.optimization_level = a.no_optimize ? 0 : 2;
    double t0 = now_ms();
    bool   engine = ei_file_is_engine(a.model);
    if (engine)
        st = ei_model_load_engine(a.model, &m);
    else if (a.cache)
        st = cache_get(a.cache, a.model, &eo, &m);
    else
        st = ei_model_load_file(a.model, &opt, &m);
    if (st) goto done;
    if (!engine && !a.input_shapes && a.n_inputs) {
        size_t used = 0;
        for (int i = 0; i < a.n_inputs; i++) {
            const char * name = a.names[i];
            if (!name) {
                if (ei_model_input_count(m) != 1) {
                    st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                                   "--input %s: the model has %d inputs; write --input NAME=FILE", a.files[i],
                                   ei_model_input_count(m));
                    goto done;
                }
                name = ei_model_input_name(m, 0); /* owned by this m: not kept past the reload */
            }
            char dims[160];
            ei_shape_format(ei_tensor_shape(inputs[i]), dims, sizeof dims);
            if (ei_tensor_shape(inputs[i])->rank == 0) dims[0] = 0;
            int w = snprintf(shapes + used, sizeof shapes - used, "%s%s:%s", used ? "," : "", name, dims);
            if (w > 0) used += (size_t)w;
        }
        bool same = true;
        for (int i = 0; i < a.n_inputs; i++) {
            int32_t      k = 0;
            const char * name = a.names[i] ? a.names[i] : ei_model_input_name(m, 0);
            while (k < ei_model_input_count(m) && strcmp(ei_model_input_name(m, k), name)) k++;
            same = same && k < ei_model_input_count(m) &&
                   ei_shape_numel(ei_model_input_shape(m, k)) == ei_tensor_numel(inputs[i]) &&
                   ei_model_input_shape(m, k)->rank == ei_tensor_shape(inputs[i])->rank &&
                   !memcmp(ei_model_input_shape(m, k)->dim, ei_tensor_shape(inputs[i])->dim,
                           sizeof(int64_t) * (size_t)ei_tensor_shape(inputs[i])->rank);
        }
        if (!a.cache || !same) {
            opt.input_shapes = eo.input_shapes = shapes;
            ei_model_destroy(m);
            m = NULL;
            st = a.cache ? cache_get(a.cache, a.model, &eo, &m) : ei_model_load_file(a.model, &opt, &m);
            if (st) goto done;
        }
    }
    double t_load = now_ms() - t0;

    ei_session_options so = ei_session_options_default();
    so.n_threads = a.threads ? a.threads : ei_model_engine_threads(m);
    st = ei_session_create(m, &so, &s);
    for (int i = 0; i < a.n_inputs && !st; i++) {
        const char * name = a.names[i] ? a.names[i] : ei_model_input_name(m, 0);
        st = ei_session_set_input(s, name, inputs[i]);
        if (st) st = ei_status_wrapf(st, "%s", a.files[i]);
    }
    if (st) goto done;
    t0 = now_ms();
    st = ei_session_run(s);
    double t_run = now_ms() - t0;
    if (st) goto done;

    if (make_dir(a.output_dir) != 0) {
        st = ei_errorf(EI_CODE_IO, "cannot create output directory '%s': %s", a.output_dir, strerror(errno));
        goto done;
    }
    for (int32_t i = 0; i < ei_model_output_count(m) && !st; i++) {
        const char * name = ei_model_output_name(m, i);
        char         fname[256], path[4096], dims[160];
        sanitize(name, fname, sizeof fname);
        snprintf(path, sizeof path, "%s/%s.%s", a.output_dir, fname, a.format);
        const ei_tensor * t = ei_session_output(s, i);
        st = ei_tensor_save_file(t, name, path);
        if (!st)
            printf("%-24s %-8s %-20s -> %s\n", name, ei_dtype_name(ei_tensor_dtype(t)),
                   ei_shape_format(ei_tensor_shape(t), dims, sizeof dims), path);
    }
    if (!st) {
        ei_session_memory mem;
        ei_session_memory_stats(s, &mem);
        printf("load %.1f ms, run %.1f ms\n", t_load, t_run);
        printf("memory: arena %.1f MB (without planning: %.1f MB; largest live set %.1f MB)\n",
               (double)mem.arena_bytes / 1e6, (double)mem.unplanned_bytes / 1e6, (double)mem.peak_live_bytes / 1e6);
    }
done:
    if (st) exit_code = ei_cli_fail(st);
    ei_session_destroy(s);
    ei_model_destroy(m);
    for (int i = 0; i < a.n_inputs; i++) ei_tensor_destroy(inputs[i]);
    return exit_code;
}
