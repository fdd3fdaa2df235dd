/* `edgeinfer bench`: load a model, run it on deterministic random inputs for a while at one or
 * more batch sizes, and print a trtexec-like summary of load time, throughput, latency
 * percentiles, memory and achieved GFLOP/s (optionally as JSON, schema in docs/bench.md). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/status.h"

#define MAX_BATCHES   16
#define MAX_INPUTS    64
#define SPEC_BYTES    8192
#define WARMUP_RUNS   3
#define WARMUP_MIN_MS 200.0

static void help(void) {
    printf("usage: edgeinfer bench MODEL.onnx|MODEL.engine [--batch B[,B...]] [--threads N] [--warmup N]\n"
           "                      [--duration S | --iterations N] [--json FILE] [--input-shape SPEC]\n"
           "                      [--cache DIR] [--profile [N]]\n\n"
           "Measures how fast the model starts and runs. For each batch size it builds the engine (the\n"
           "ONNX model imported and optimised with dimension 0 of every input set to the batch), saves\n"
           "it to a temporary file and loads it back, as a deployment would; given an engine file it\n"
           "just loads it. It fills the inputs with deterministic pseudo-random data (the generator is\n"
           "in docs/bench.md, so other engines can be fed the same tensors), warms up, then runs\n"
           "repeatedly and prints engine build and load time, throughput, latency min / mean / median /\n"
           "p90 / p95 / p99 / max, memory and the GFLOP/s the median run achieves.\n\n"
           "  --batch LIST          comma-separated batch sizes, e.g. 1,2,4,8; default: the model's own\n"
           "                        input shapes. A model whose graph fixes batch 1 fails for other\n"
           "                        batches with a message (exit code 3) and the others still run.\n"
           "  --threads N           worker threads (default 0: one per core)\n"
           "  --warmup N            untimed runs first (default: at least %d runs and %.0f ms)\n"
           "  --duration S          seconds of timed runs per batch size (default 3)\n"
           "  --iterations N        exactly N timed runs instead of --duration\n"
           "  --json FILE           also write every number, and each run's latency, as JSON\n"
           "  --input-shape SPEC    fix symbolic input dimensions, e.g. images:1x3x416x416 (applied\n"
           "                        before --batch replaces dimension 0)\n"
           "  --cache DIR           take each batch size's engine from the engine cache DIR, building\n"
           "                        it there when missing or stale (the reason is printed)\n"
           "  --profile [N]         after the timed runs, time every node of the optimised graph (at\n"
           "                        least 10 runs and 1 s) and print the time per operator type and the\n"
           "                        N slowest nodes (default 25), like trtexec's --dumpProfile\n\n"
           "Progress goes to stderr, the summary to stdout.\n",
           WARMUP_RUNS, WARMUP_MIN_MS);
}

typedef struct bench_args {
    const char * model;
    int64_t      batches[MAX_BATCHES]; /* 0 = the model's own shapes */
    int          n_batches;
    int          threads;
    int          warmup; /* -1 = default rule */
    double       duration_s;
    long         iterations; /* 0 = use duration_s */
    const char * json;
    const char * input_shapes;
    const char * cache;
    int          profile_top; /* 0: no profile */
} bench_args;

/* The numbers measured for one batch size. */
typedef struct bench_result {
    int64_t     batch;
    ei_status * error; /* owned; NULL when the batch ran */
    char        shapes[SPEC_BYTES];
    double      engine_build_ms; /* ONNX -> optimised engine; < 0 when it was not built in this run */
    double      load_ms;         /* engine file -> model (mmap and checks) */
    double      build_ms;        /* session: plan memory, allocate, prepare kernels */
    double      warmup_ms;
    char        engine_note[4400]; /* where the engine came from */
    long        warmup_runs;
    double *    lat_ms; /* owned, n_runs entries, in run order */
    long        n_runs;
    double      wall_s;
    double      min, mean, median, p90, p95, p99, max;
    size_t      session_bytes;
    size_t      max_rss_bytes;
    int64_t     macs;      /* of one run at this batch size, the model as written (nominal) */
    int64_t     macs_exec; /* the same after graph optimisation (what the kernels are asked to do) */
} bench_result;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_long(const char * s, long lo, long hi, long * out) {
    char * e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (!*s || *e || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char ** argv, bench_args * a) {
    memset(a, 0, sizeof *a);
    a->warmup = -1;
    a->duration_s = 3.0;
    for (int i = 1; i < argc; i++) {
        const char * o = argv[i];
        if (ei_cli_is_help(o)) {
            help();
            return -1;
        }
        bool takes_value = !strcmp(o, "--batch") || !strcmp(o, "--threads") || !strcmp(o, "--warmup") ||
                           !strcmp(o, "--duration") || !strcmp(o, "--iterations") || !strcmp(o, "--json") ||
                           !strcmp(o, "--input-shape") || !strcmp(o, "--cache");
        if (takes_value && i + 1 >= argc) return ei_cli_usage_error("bench", "%s needs a value", o);
        long v;
        if (!strcmp(o, "--batch")) {
            char list[256];
            snprintf(list, sizeof list, "%s", argv[++i]);
            a->n_batches = 0;
            for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (a->n_batches == MAX_BATCHES)
                    return ei_cli_usage_error("bench", "--batch: at most %d sizes", MAX_BATCHES);
                if (parse_long(tok, 1, 1 << 20, &v))
                    return ei_cli_usage_error("bench", "--batch: '%s' is not a batch size (1..1048576)", tok);
                a->batches[a->n_batches++] = v;
            }
            if (!a->n_batches) return ei_cli_usage_error("bench", "--batch needs at least one size");
        } else if (!strcmp(o, "--threads")) {
            if (parse_long(argv[++i], 0, 1024, &v))
                return ei_cli_usage_error("bench", "--threads must be 0..1024, not '%s'", argv[i]);
            a->threads = (int)v;
        } else if (!strcmp(o, "--warmup")) {
            if (parse_long(argv[++i], 0, 1000000, &v))
                return ei_cli_usage_error("bench", "--warmup must be 0..1000000 runs, not '%s'", argv[i]);
            a->warmup = (int)v;
        } else if (!strcmp(o, "--duration")) {
            char * e;
            a->duration_s = strtod(argv[++i], &e);
            if (*e || !(a->duration_s > 0 && a->duration_s <= 86400))
                return ei_cli_usage_error("bench", "--duration must be seconds in (0, 86400], not '%s'", argv[i]);
        } else if (!strcmp(o, "--iterations")) {
            if (parse_long(argv[++i], 1, 100000000, &v))
                return ei_cli_usage_error("bench", "--iterations must be 1..100000000, not '%s'", argv[i]);
            a->iterations = v;
        } else if (!strcmp(o, "--json")) {
            a->json = argv[++i];
        } else if (!strcmp(o, "--input-shape")) {
            a->input_shapes = argv[++i];
        } else if (!strcmp(o, "--cache")) {
            a->cache = argv[++i];
        } else if (!strcmp(o, "--profile")) {
            a->profile_top = 25;
            if (i + 1 < argc && argv[i + 1][0] != '-' && !parse_long(argv[i + 1], 1, 100000, &v)) {
                a->profile_top = (int)v;
                i++;
            }
        } else if (o[0] == '-') {
            return ei_cli_usage_error("bench", "unknown option '%s'", o);
        } else if (a->model) {
            return ei_cli_usage_error("bench", "unexpected argument '%s' (the model is '%s')", o, a->model);
        } else {
            a->model = o;
        }
    }
    if (!a->model) return ei_cli_usage_error("bench", "missing MODEL.onnx or MODEL.engine");
    if (!a->n_batches) a->n_batches = 1; /* batches[0] == 0: the model's own shapes */
    return 0;
}

/* A counter-based generator, so that a Python driver can make the same tensors with numpy
 * (bench/vs_onnxruntime.py): element i of input k is lowbias32(i + k * 0x9E3779B9) >> 8, scaled
 * to [0, 1). Integer inputs get that value times 4, truncated; bool inputs its lowest bit. */
static uint32_t lowbias32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static void fill_random(ei_tensor * t, int32_t k) {
    int64_t n = ei_tensor_numel(t);
    void *  p = ei_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        uint32_t h = lowbias32((uint32_t)i + (uint32_t)k * 0x9E3779B9U) >> 8;
        float    f = (float)h * (1.0f / 16777216.0f);
        switch (ei_tensor_dtype(t)) {
        case EI_DTYPE_F32: ((float *)p)[i] = f; break;
        case EI_DTYPE_F64: ((double *)p)[i] = f; break;
        case EI_DTYPE_I64: ((int64_t *)p)[i] = (int64_t)(f * 4); break;
        case EI_DTYPE_I32: ((int32_t *)p)[i] = (int32_t)(f * 4); break;
        case EI_DTYPE_U8: ((uint8_t *)p)[i] = (uint8_t)(f * 4); break;
        case EI_DTYPE_BOOL: ((uint8_t *)p)[i] = (uint8_t)(h & 1); break;
        default: break; /* other types stay zero */
        }
    }
}

/* The --input-shape spec for batch b: every input of m (loaded with the user's shapes) with
 * dimension 0 replaced by b. Scalars have no batch dimension and keep their shape. */
static ei_status * batch_spec(const ei_model * m, int64_t b, char * out, size_t cap) {
    size_t used = 0;
    out[0] = 0;
    for (int32_t i = 0; i < ei_model_input_count(m); i++) {
        ei_shape s = *ei_model_input_shape(m, i);
        if (s.rank == 0) continue;
        if (b > 0) s.dim[0] = b;
        char dims[200];
        ei_shape_format(&s, dims, sizeof dims);
        int w = snprintf(out + used, cap - used, "%s%s:%s", used ? "," : "", ei_model_input_name(m, i), dims);
        if (w < 0 || (size_t)w >= cap - used)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "the input shapes do not fit in %zu bytes", cap);
        used += (size_t)w;
    }
    return NULL;
}

static int cmp_double(const void * x, const void * y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Linear interpolation between closest ranks: numpy.percentile's default, so that the Python
 * driver's numbers for ONNX Runtime are computed the same way. */
static double percentile(const double * sorted, long n, double q) {
    double pos = q * (double)(n - 1);
    long   lo = (long)floor(pos);
    long   hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
}

static void summarize(bench_result * r) {
    double * s = malloc((size_t)r->n_runs * sizeof *s);
    double   sum = 0;
    for (long i = 0; i < r->n_runs; i++) sum += r->lat_ms[i];
    r->mean = sum / (double)r->n_runs;
    if (!s) { /* statistics that need no sorting */
        r->min = r->max = r->median = r->p90 = r->p95 = r->p99 = r->mean;
        return;
    }
    memcpy(s, r->lat_ms, (size_t)r->n_runs * sizeof *s);
    qsort(s, (size_t)r->n_runs, sizeof *s, cmp_double);
    r->min = s[0];
    r->max = s[r->n_runs - 1];
    r->median = percentile(s, r->n_runs, 0.50);
    r->p90 = percentile(s, r->n_runs, 0.90);
    r->p95 = percentile(s, r->n_runs, 0.95);
    r->p99 = percentile(s, r->n_runs, 0.99);
    free(s);
}

static size_t max_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (size_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

static ei_status * run_timed(ei_session * s, double * ms) {
    double      t0 = now_ms();
    ei_status * st = ei_session_run(s);
    *ms = now_ms() - t0;
    return st;
}

/* Builds the engine for r->batch, saves it to a temporary file and maps it back: the engine load
 * time printed is what a deployment pays at start-up, and the session runs the loaded engine. */
static ei_status * build_and_load(const bench_args * a, bench_result * r, ei_model ** m) {
    ei_engine_build_options eo = ei_engine_build_options_default();
    eo.input_shapes = r->shapes[0] ? r->shapes : NULL;
    eo.n_threads = a->threads;
    ei_model * built = NULL;
    double     t0 = now_ms();
    EI_TRY(ei_engine_build(a->model, &eo, &built));
    r->engine_build_ms = now_ms() - t0;

    const char * dir = getenv("TMPDIR");
    char         path[4096];
    snprintf(path, sizeof path, "%s/edgeinfer-bench-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        ei_model_destroy(built);
        return ei_errorf(EI_CODE_IO, "cannot create a temporary engine file in %s: %s (set TMPDIR)",
                         dir && *dir ? dir : "/tmp", strerror(errno));
    }
    close(fd);
    ei_status * st = ei_model_save_engine(built, path);
    ei_model_destroy(built);
    if (!st) {
        struct stat sb;
        double      mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
        t0 = now_ms();
        st = ei_model_load_engine(path, m);
        r->load_ms = now_ms() - t0;
        snprintf(r->engine_note, sizeof r->engine_note, "built from the ONNX file, %.1f MB", mb);
    }
    unlink(path); /* the mapping keeps the bytes alive until the model is destroyed */
    return st;
}

/* The model for one batch size: an engine file as given, from the cache, or built now. */
static ei_status * obtain_engine(const bench_args * a, const ei_model * base, bench_result * r, ei_model ** m) {
    r->engine_build_ms = -1;
    if (ei_file_is_engine(a->model)) {
        if (r->batch > 0 && ei_model_input_count(base) && ei_model_input_shape(base, 0)->rank &&
            ei_model_input_shape(base, 0)->dim[0] != r->batch)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "%s was built for batch %lld; build an engine with --batch %lld or bench the ONNX model",
                             a->model, (long long)ei_model_input_shape(base, 0)->dim[0], (long long)r->batch);
        double t0 = now_ms();
        EI_TRY(ei_model_load_engine(a->model, m));
        r->load_ms = now_ms() - t0;
        snprintf(r->engine_note, sizeof r->engine_note, "engine file, %s",
                 ei_precision_name(ei_model_engine_precision(*m)));
        return NULL;
    }
    if (!a->cache) return build_and_load(a, r, m);

    ei_engine_build_options eo = ei_engine_build_options_default();
    eo.input_shapes = r->shapes[0] ? r->shapes : NULL;
    eo.n_threads = a->threads;
    ei_engine_cache_info info;
    EI_TRY(ei_engine_cache_get(a->cache, a->model, &eo, m, &info));
    if (!info.built) {
        r->load_ms = info.load_ms;
        snprintf(r->engine_note, sizeof r->engine_note, "from the cache: %s", info.path);
        return NULL;
    }
    /* Built now: report the build, then time the load a later start would do. */
    r->engine_build_ms = info.load_ms;
    ei_model_destroy(*m);
    *m = NULL;
    double t0 = now_ms();
    EI_TRY(ei_model_load_engine(info.path, m));
    r->load_ms = now_ms() - t0;
    snprintf(r->engine_note, sizeof r->engine_note, "built into the cache (%s): %s", info.reason, info.path);
    return NULL;
}

/* Loads, builds and runs the model at one batch size, filling r. */
static ei_status * bench_one(const bench_args * a, const ei_model * base, double nominal_ratio, bench_result * r) {
    ei_model *   m = NULL;
    ei_session * s = NULL;
    ei_tensor *  in[MAX_INPUTS] = {0};
    int32_t      n_in = 0;
    ei_status *  st = batch_spec(base, r->batch, r->shapes, sizeof r->shapes);
    if (st) return st;

    double t0;
    st = obtain_engine(a, base, r, &m);
    if (st) goto done;
    if (r->batch == 0)
        r->batch = ei_model_input_count(m) && ei_model_input_shape(m, 0)->rank ? ei_model_input_shape(m, 0)->dim[0] : 1;
    ei_model_summary sum;
    ei_model_get_summary(m, &sum);
    r->macs_exec = sum.macs;
    r->macs = (int64_t)((double)sum.macs * nominal_ratio + 0.5);

    ei_session_options so = ei_session_options_default();
    so.n_threads = a->threads ? a->threads : ei_model_engine_threads(m);
    t0 = now_ms();
    st = ei_session_create(m, &so, &s);
    r->build_ms = now_ms() - t0;
    if (st) goto done;

    n_in = ei_model_input_count(m);
    if (n_in > MAX_INPUTS) {
        st = ei_errorf(EI_CODE_UNSUPPORTED, "the model has %d inputs; bench handles at most %d", n_in, MAX_INPUTS);
        n_in = 0;
        goto done;
    }
    for (int32_t i = 0; i < n_in && !st; i++) {
        st = ei_tensor_create(ei_model_input_dtype(m, i), ei_model_input_shape(m, i), &in[i]);
        if (!st) {
            fill_random(in[i], i);
            st = ei_session_set_input(s, ei_model_input_name(m, i), in[i]);
        }
    }
    if (st) goto done;

    /* Warm-up: caches, page faults and lazily packed weights stay out of the timed runs. */
    double ms;
    t0 = now_ms();
    for (r->warmup_runs = 0;; r->warmup_runs++) {
        double el = now_ms() - t0;
        if (a->warmup >= 0 ? r->warmup_runs >= a->warmup : (r->warmup_runs >= WARMUP_RUNS && el >= WARMUP_MIN_MS))
            break;
        st = run_timed(s, &ms);
        if (st) goto done;
    }
    r->warmup_ms = now_ms() - t0;

    long cap = a->iterations ? a->iterations : 1024;
    r->lat_ms = malloc((size_t)cap * sizeof *r->lat_ms);
    if (!r->lat_ms) {
        st = ei_status_oom();
        goto done;
    }
    double start = now_ms(), next_progress = start + 1000;
    double end = start + a->duration_s * 1e3;
    for (;;) {
        if (a->iterations ? r->n_runs >= a->iterations : (r->n_runs > 0 && now_ms() >= end)) break;
        if (r->n_runs == cap) {
            double * grown = realloc(r->lat_ms, (size_t)cap * 2 * sizeof *grown);
            if (!grown) {
                st = ei_status_oom();
                goto done;
            }
            r->lat_ms = grown;
            cap *= 2;
        }
        st = run_timed(s, &r->lat_ms[r->n_runs]);
        if (st) goto done;
        r->n_runs++;
        double t = now_ms();
        if (t >= next_progress) {
            fprintf(stderr, "  batch %lld: %ld runs, %.1f s\r", (long long)r->batch, r->n_runs, (t - start) / 1e3);
            next_progress = t + 1000;
        }
    }
    r->wall_s = (now_ms() - start) / 1e3;
    if (r->wall_s >= 1.0) fprintf(stderr, "%60s\r", "");
    summarize(r);
    r->session_bytes = ei_session_memory_bytes(s);
    r->max_rss_bytes = max_rss_bytes();
    if (a->profile_top) {
        /* Printed before the summary of this batch; the profile runs are not in the latencies. */
        fprintf(stderr, "  batch %lld: profiling ...\n", (long long)r->batch);
        printf("=== edgeinfer bench: %s, batch %lld, profile ===\n", a->model, (long long)r->batch);
        st = ei_bench_profile(s, 1000.0, 10, a->profile_top, stdout);
    }
done:
    ei_session_destroy(s);
    ei_model_destroy(m);
    for (int32_t i = 0; i < n_in; i++) ei_tensor_destroy(in[i]);
    return st;
}

static void print_result(const bench_args * a, const bench_result * r) {
    printf("=== edgeinfer bench: %s, batch %lld ===\n", a->model, (long long)r->batch);
    printf("inputs       : %s\n", r->shapes[0] ? r->shapes : "(none)");
    if (r->error) {
        printf("error        : %s\n\n", ei_status_message(r->error));
        return;
    }
    int32_t cores = ei_cpu_cores();
    double  ips = r->wall_s > 0 ? (double)r->batch * (double)r->n_runs / r->wall_s : 0;
    printf("threads      : %d (the process may use %d of %ld online cores)\n", a->threads ? a->threads : (int)cores,
           (int)cores, sysconf(_SC_NPROCESSORS_ONLN));
    if (r->engine_build_ms >= 0)
        printf("engine build : %.2f ms (import ONNX, optimise, infer shapes, save)\n", r->engine_build_ms);
    else
        printf("engine build : not needed\n");
    printf("engine load  : %.2f ms (%s)\n", r->load_ms, r->engine_note);
    printf("session      : %.2f ms (plan memory, allocate, prepare kernels)\n", r->build_ms);
    printf("warmup       : %ld runs in %.1f ms\n", r->warmup_runs, r->warmup_ms);
    printf("timed runs   : %ld in %.3f s\n", r->n_runs, r->wall_s);
    printf("throughput   : %.2f images/s (%.2f runs/s)\n", ips, r->wall_s > 0 ? (double)r->n_runs / r->wall_s : 0);
    printf("latency (ms) : min %.3f  mean %.3f  median %.3f  p90 %.3f  p95 %.3f  p99 %.3f  max %.3f\n", r->min, r->mean,
           r->median, r->p90, r->p95, r->p99, r->max);
    printf("memory       : session %.2f MiB, process max RSS %.2f MiB\n", (double)r->session_bytes / 1048576.0,
           (double)r->max_rss_bytes / 1048576.0);
    double gflops = r->median > 0 ? 2.0 * (double)r->macs / (r->median * 1e6) : 0;
    if (r->macs_exec != r->macs)
        printf("compute      : %.3f GMAC per image as written (%.3f after graph optimisation), %.2f GFLOP/s at the "
               "median latency (nominal, as written)\n\n",
               (double)r->macs / (double)r->batch / 1e9, (double)r->macs_exec / (double)r->batch / 1e9, gflops);
    else
        printf("compute      : %.3f GMAC per image, %.2f GFLOP/s at the median latency\n\n",
               (double)r->macs / (double)r->batch / 1e9, gflops);
}

static ei_status * write_json(const bench_args * a, const bench_result * rs, int n) {
    FILE * f = fopen(a->json, "w");
    if (!f) return ei_errorf(EI_CODE_IO, "cannot write '%s': %s", a->json, strerror(errno));
    fprintf(f, "{\n  \"schema\": \"edgeinfer-bench/1\",\n  \"edgeinfer_version\": \"%s\",\n  \"model\": ",
            EI_VERSION_STRING);
    ei_cli_json_string(f, a->model);
    fprintf(f, ",\n  \"threads\": %d,\n  \"cores\": %d,\n  \"online_cores\": %ld,\n", a->threads, (int)ei_cpu_cores(),
            sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(f, "  \"warmup_runs\": %d,\n  \"duration_s\": %.6g,\n  \"iterations\": %ld,\n  \"results\": [", a->warmup,
            a->iterations ? 0.0 : a->duration_s, a->iterations);
    for (int i = 0; i < n; i++) {
        const bench_result * r = &rs[i];
        fprintf(f, "%s\n    {\"batch\": %lld, \"input_shapes\": ", i ? "," : "", (long long)r->batch);
        ei_cli_json_string(f, r->shapes);
        if (r->error) {
            fprintf(f, ", \"ok\": false, \"error\": ");
            ei_cli_json_string(f, ei_status_message(r->error));
            fprintf(f, "}");
            continue;
        }
        fprintf(f,
                ", \"ok\": true, \"engine_build_ms\": %.4f, \"load_ms\": %.4f, \"build_ms\": %.4f,\n"
                "     \"warmup_runs\": %ld, \"warmup_ms\": %.4f,\n"
                "     \"runs\": %ld, \"wall_s\": %.6f, \"throughput_images_per_s\": %.4f,\n"
                "     \"latency_ms\": {\"min\": %.4f, \"mean\": %.4f, \"median\": %.4f, \"p90\": %.4f, \"p95\": %.4f, "
                "\"p99\": %.4f, \"max\": %.4f},\n"
                "     \"session_memory_bytes\": %zu, \"max_rss_bytes\": %zu, \"macs\": %lld, \"macs_executed\": %lld, "
                "\"gflops\": %.4f,\n"
                "     \"latencies_ms\": [",
                r->engine_build_ms, r->load_ms, r->build_ms, r->warmup_runs, r->warmup_ms, r->n_runs, r->wall_s,
                (double)r->batch * (double)r->n_runs / r->wall_s, r->min, r->mean, r->median, r->p90, r->p95, r->p99,
                r->max, r->session_bytes, r->max_rss_bytes, (long long)r->macs, (long long)r->macs_exec,
                2.0 * (double)r->macs / (r->median * 1e6));
        for (long k = 0; k < r->n_runs; k++) fprintf(f, "%s%.4f", k ? ", " : "", r->lat_ms[k]);
        fprintf(f, "]}");
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) return ei_errorf(EI_CODE_IO, "cannot write '%s': %s", a->json, strerror(errno));
    return NULL;
}

int ei_cmd_bench(int argc, char ** argv) {
    bench_args a;
    int        rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? EI_EXIT_OK : rc;

    /* Load once with the user's shapes to learn the inputs; every batch size reloads. */
    ei_model_options mo = ei_model_options_default();
    mo.input_shapes = a.input_shapes;
    ei_model *  base = NULL;
    ei_status * st =
        ei_file_is_engine(a.model) ? ei_model_load_engine(a.model, &base) : ei_model_load_file(a.model, &mo, &base);
    if (st) return ei_cli_fail(st);
    /* GFLOP/s are quoted for the model as written, so that a pass that removes work (e.g.
     * fold_linear_concat) shows as time saved, not as a lower rate, and peers compare on the same
     * count. An engine keeps only its optimised graph: its count is the executed one. */
    double nominal_ratio = 1.0;
    if (!ei_file_is_engine(a.model)) {
        ei_model_options raw = mo;
        raw.optimization_level = 0;
        ei_model *       m0 = NULL;
        ei_model_summary s0, s1;
        if (!(st = ei_model_load_file(a.model, &raw, &m0))) {
            ei_model_get_summary(m0, &s0);
            ei_model_get_summary(base, &s1);
            if (s1.macs > 0 && s0.macs > 0) nominal_ratio = (double)s0.macs / (double)s1.macs;
        }
        ei_status_destroy(st);
        ei_model_destroy(m0);
        st = NULL;
    }

    bench_result * rs = calloc((size_t)a.n_batches, sizeof *rs);
    if (!rs) {
        ei_model_destroy(base);
        return ei_cli_fail(ei_status_oom());
    }
    int exit_code = EI_EXIT_OK;
    for (int i = 0; i < a.n_batches; i++) {
        rs[i].batch = a.batches[i];
        fprintf(stderr, "bench: batch %lld ...\n", (long long)a.batches[i]);
        rs[i].error = bench_one(&a, base, nominal_ratio, &rs[i]);
        if (rs[i].error) rs[i].error = ei_status_wrapf(rs[i].error, "batch %lld", (long long)rs[i].batch);
        print_result(&a, &rs[i]);
    }
    if (a.json) {
        st = write_json(&a, rs, a.n_batches);
        if (st) exit_code = ei_cli_fail(st);
    }
    for (int i = 0; i < a.n_batches; i++) {
        /* The first failed batch decides the exit code; every message is printed. */
        if (rs[i].error) {
            int code = ei_cli_fail(rs[i].error);
            if (exit_code == EI_EXIT_OK) exit_code = code;
        }
        free(rs[i].lat_ms);
    }
    free(rs);
    ei_model_destroy(base);
    return exit_code;
}
