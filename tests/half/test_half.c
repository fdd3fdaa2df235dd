/* BF16 and FP16 engines (src/quant/half.h, docs/precision.md "BF16 and FP16").
 * usage: half_test SOURCE_DIR EXPORTED_MODELS_DIR WORK_DIR (EI_ASSETS_DIR: the shared assets)
 * Models that are absent (the shared assets, models/export_all.py's exports) are skipped with a
 * message; the rest always runs. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"
#include "ei_test.h"
#include "quant/half.h"
#include "runtime/model_internal.h"

static const char * g_src;
static const char * g_exported;
static const char * g_work;
static char         g_assets[1024];

static bool exists(const char * p) { return access(p, R_OK) == 0; }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long long file_size(const char * p) {
    struct stat sb;
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

static float bits_to_f32(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}
static uint32_t f32_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* ---------------------------------------------------------------- conversions */

/* The vector paths (AVX2 / F16C) agree bit for bit with the scalar round-to-nearest-even of
 * src/core on ordinary values, ties, subnormals, overflow, infinities and NaNs. */
static void test_round_matches_scalar(void) {
    enum { N = 4099 }; /* not a multiple of 8: the scalar tail runs too */
    static float          src[N], dst[N];
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00001u,
        0x7f800001u,                                                                  /* NaN (signalling) */
        0x3f808000u,                                                                  /* bf16 tie, even */
        0x3f818000u,                                                                  /* bf16 tie, odd */
        0x3f807fffu, 0x7f7fffffu, 0x00000001u, 0x477fe000u, 0x477ff000u, 0x477fefffu, /* fp16 max, overflow */
        0x33000000u, 0x33000001u, 0x387fc000u, 0x38800000u, 0x3f801000u, 0x3f803000u, /* fp16 ties */
    };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        src[i] = i < (int)(sizeof special / sizeof special[0]) ? bits_to_f32(special[i]) : bits_to_f32((uint32_t)x);
    }
    for (int k = 0; k < 2; k++) {
        ei_precision p = k ? EI_PRECISION_FP16 : EI_PRECISION_BF16;
        ei_half_round(p, src, dst, N);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            float want =
                p == EI_PRECISION_BF16 ? ei_bf16_to_f32(ei_f32_to_bf16(src[i])) : ei_f16_to_f32(ei_f32_to_f16(src[i]));
            if (f32_bits(want) != f32_bits(dst[i]) && bad++ < 5)
                fprintf(stderr, "%s: %08x -> %08x, want %08x\n", ei_precision_name(p), f32_bits(src[i]),
                        f32_bits(dst[i]), f32_bits(want));
        }
        EI_CHECK(bad == 0);
        /* In place gives the same. */
        static float again[N];
        memcpy(again, src, sizeof again);
        ei_half_round(p, again, again, N);
        EI_CHECK(!memcmp(again, dst, sizeof again));
    }
    /* Widening is exact. */
    static uint16_t h[N];
    for (int i = 0; i < N; i++) h[i] = ei_f32_to_f16(src[i]);
    ei_half_widen(EI_DTYPE_F16, h, dst, N);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += f32_bits(dst[i]) != f32_bits(ei_f16_to_f32(h[i]));
    for (int i = 0; i < N; i++) h[i] = ei_f32_to_bf16(src[i]);
    ei_half_widen(EI_DTYPE_BF16, h, dst, N);
    for (int i = 0; i < N; i++) bad += f32_bits(dst[i]) != f32_bits(ei_bf16_to_f32(h[i]));
    EI_CHECK(bad == 0);
}

/* The reference kernels' wrapper: the fp32 kernel sees the widened weights and the rounded data. */
static const ei_tensor * g_seen[3];
static ei_status *       g_seen_st;
static ei_status *       record_kernel(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                       const ei_exec * ex) {
          (void)out, (void)ex;
          for (int k = 0; k < node->n_inputs && k < 3; k++) ei_tensor_clone(in[k], (ei_tensor **)&g_seen[k]);
    return g_seen_st;
}

static void test_reference_wrapper(void) {
    ei_shape   s = {.rank = 1, .dim = {9}};
    ei_tensor *x = NULL, *w = NULL, *b = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &s, &x));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_BF16, &s, &w));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &s, &b));
    if (!x || !w || !b) return;
    float *    xd = ei_tensor_data(x), *bd = ei_tensor_data(b);
    uint16_t * wd = ei_tensor_data(w);
    for (int i = 0; i < 9; i++) xd[i] = 1.0f + i / 300.0f, wd[i] = ei_f32_to_bf16(-3.0f + i / 7.0f), bd[i] = xd[i];
    ei_node node;
    memset(&node, 0, sizeof node);
    int32_t ids[3] = {0, 1, 2};
    node.name = "n";
    node.op_type = "Conv";
    node.n_inputs = 3, node.inputs = ids;
    const ei_tensor * in[3] = {x, w, b};
    ei_exec           ex = {0};
    /* Without the rounding attribute: weights widened, data untouched. */
    EI_CHECK(ei_half_needed(&node, in, 1));
    EI_CHECK_OK(ei_half_run(record_kernel, 1, &node, in, NULL, &ex));
    for (int i = 0; i < 9 && g_seen[0] && g_seen[1] && g_seen[2]; i++) {
        EI_CHECK(ei_tensor_dtype(g_seen[1]) == EI_DTYPE_F32);
        EI_CHECK(((const float *)ei_tensor_data_const(g_seen[1]))[i] == ei_bf16_to_f32(wd[i]));
        EI_CHECK(((const float *)ei_tensor_data_const(g_seen[0]))[i] == xd[i]);
        EI_CHECK(g_seen[2] && ((const float *)ei_tensor_data_const(g_seen[2]))[i] == bd[i]);
    }
    for (int k = 0; k < 3; k++) ei_tensor_destroy((ei_tensor *)g_seen[k]), g_seen[k] = NULL;
    /* With it (fp16): the data input is rounded, the bias is not. */
    ei_attr attr = {.name = EI_HALF_ROUND_ATTR, .type = EI_ATTR_INT, .i = EI_PRECISION_FP16};
    node.attrs = &attr, node.n_attrs = 1;
    EI_CHECK(ei_half_round_mode(&node) == EI_PRECISION_FP16);
    EI_CHECK_OK(ei_half_run(record_kernel, 1, &node, in, NULL, &ex));
    for (int i = 0; i < 9 && g_seen[0] && g_seen[2]; i++) {
        EI_CHECK(((const float *)ei_tensor_data_const(g_seen[0]))[i] == ei_f16_to_f32(ei_f32_to_f16(xd[i])));
        EI_CHECK(((const float *)ei_tensor_data_const(g_seen[2]))[i] == bd[i]);
    }
    for (int k = 0; k < 3; k++) ei_tensor_destroy((ei_tensor *)g_seen[k]), g_seen[k] = NULL;
    /* The kernel's error comes back; the temporaries are freed (ASan). */
    g_seen_st = ei_errorf(EI_CODE_INTERNAL, "kernel failed");
    EI_CHECK_ERROR(ei_half_run(record_kernel, 1, &node, in, NULL, &ex), EI_CODE_INTERNAL, "kernel failed");
    g_seen_st = NULL;
    for (int k = 0; k < 3; k++) ei_tensor_destroy((ei_tensor *)g_seen[k]), g_seen[k] = NULL;
    /* An fp32 node without the attribute does not need the wrapper. */
    node.n_attrs = 0;
    const ei_tensor * in32[3] = {x, b, b};
    EI_CHECK(!ei_half_needed(&node, in32, 1));
    ei_tensor_destroy(x);
    ei_tensor_destroy(w);
    ei_tensor_destroy(b);
}

/* ---------------------------------------------------------------- engines */

typedef struct acc_model {
    const char * tag;
    char         path[1200];
    bool         bgr;
    float        scale, offset; /* input value = pixel (0..255) * scale + offset */
    double       min_cos[3];    /* per precision: -, bf16, fp16 */
    bool         synthetic;     /* a synthetic input even when the image is there */
} acc_model;

static void accuracy(const acc_model * am);
static void accuracy_synthetic(acc_model * am) {
    am->synthetic = true;
    accuracy(am);
}

static ei_status * build(const char * onnx, ei_precision p, const char * keep, bool fp32_act, ei_model ** out) {
    ei_engine_build_options o = ei_engine_build_options_default();
    o.precision = p;
    o.keep_fp32 = keep;
    o.half_fp32_activations = fp32_act;
    return ei_engine_build(onnx, &o, out);
}

/* Runs m on `input` (one input) and returns a copy of every output (up to max). */
static ei_status * run_model(const ei_model * m, const ei_tensor * input, ei_tensor ** outs, int32_t max) {
    ei_session * s = NULL;
    EI_TRY(ei_session_create(m, NULL, &s));
    ei_status * st = ei_session_set_input(s, ei_model_input_name(m, 0), input);
    if (!st) st = ei_session_run(s);
    for (int32_t i = 0; !st && i < ei_model_output_count(m) && i < max; i++) {
        const ei_tensor * o = ei_session_output(s, i);
        st = ei_tensor_clone(o, &outs[i]);
    }
    ei_session_destroy(s);
    return st;
}

/* A deterministic input of m's input shape: smooth patterns plus noise, value range [lo, hi]. */
static ei_status * synthetic_input(const ei_model * m, float lo, float hi, ei_tensor ** out) {
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, ei_model_input_shape(m, 0), out));
    float *  d = ei_tensor_data(*out);
    int64_t  n = ei_shape_numel(ei_model_input_shape(m, 0));
    uint32_t x = 12345;
    for (int64_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        float u = 0.5f + 0.35f * sinf((float)i * 0.013f) + 0.15f * ((float)(x >> 8) / 16777216.0f - 0.5f);
        d[i] = lo + (hi - lo) * u;
    }
    return NULL;
}

/* images/darknet/dog.jpg resized to m's NCHW input, each 0..255 value v mapped to v * scale +
 * offset; NULL status and *out NULL when the image is absent. */
static ei_status * image_input(const ei_model * m, bool bgr, float scale, float offset, ei_tensor ** out) {
    *out = NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/images/darknet/dog.jpg", g_assets);
    if (!exists(path)) return NULL;
    const ei_shape * s = ei_model_input_shape(m, 0);
    if (s->rank != 4 || s->dim[1] != 3) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "not an NCHW RGB input");
    int32_t  h = (int32_t)s->dim[2], w = (int32_t)s->dim[3];
    ei_image src, dst;
    memset(&dst, 0, sizeof dst);
    EI_TRY(ei_image_load(path, bgr ? EI_PIXEL_BGR : EI_PIXEL_RGB, &src));
    ei_status * st = ei_image_alloc(src.format, w, h, &dst);
    if (!st) st = ei_image_resize(&src, &dst, EI_RESIZE_BILINEAR);
    if (!st) st = ei_tensor_create(EI_DTYPE_F32, s, out);
    if (!st) {
        float * d = ei_tensor_data(*out);
        for (int32_t c = 0; c < 3; c++)
            for (int32_t y = 0; y < h; y++)
                for (int32_t xx = 0; xx < w; xx++)
                    d[((int64_t)c * h + y) * w + xx] =
                        dst.plane[0][(int64_t)y * dst.stride[0] + xx * 3 + c] * scale + offset;
    }
    ei_image_free(&src);
    ei_image_free(&dst);
    return st;
}

static double cosine(const ei_tensor * a, const ei_tensor * b) {
    const float * x = ei_tensor_data_const(a);
    const float * y = ei_tensor_data_const(b);
    int64_t       n = (int64_t)(ei_tensor_nbytes(a) / sizeof(float));
    double        xy = 0, xx = 0, yy = 0;
    for (int64_t i = 0; i < n; i++) xy += (double)x[i] * y[i], xx += (double)x[i] * x[i], yy += (double)y[i] * y[i];
    return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : (xx == yy ? 1.0 : 0.0);
}

/* Graph facts of a built model: values holding bf16 / fp16 weights. */
static int32_t count_half_weights(const ei_model * m, ei_dtype dt) {
    int32_t n = 0;
    for (int32_t i = 0; i < m->g->n_values; i++)
        if (m->g->values[i].constant && m->g->values[i].dtype == dt && m->g->values[i].constant->dtype == dt) n++;
    return n;
}

/* Save and load engines of each precision: sizes, dtypes, the stored weights are exactly the
 * rounded fp32 weights, nothing else changed. */
static void check_engines(const char * onnx, const char * tag, double max_size_ratio) {
    char       path[3][1200];
    long long  size[3];
    ei_model * fp32 = NULL;
    EI_CHECK_OK(build(onnx, EI_PRECISION_FP32, NULL, false, &fp32));
    if (!fp32) return;
    for (int k = 0; k < 3; k++) {
        ei_precision p = (ei_precision)k;
        snprintf(path[k], sizeof path[k], "%s/%s_%s.engine", g_work, tag, ei_precision_name(p));
        ei_model *built = NULL, *loaded = NULL;
        EI_CHECK_OK(build(onnx, p, NULL, false, &built));
        if (built) EI_CHECK_OK(ei_model_save_engine(built, path[k]));
        double t0 = now_ms();
        EI_CHECK_OK(ei_model_load_engine(path[k], &loaded));
        double ms = now_ms() - t0;
        size[k] = file_size(path[k]);
        if (!built || !loaded) {
            ei_model_destroy(built);
            ei_model_destroy(loaded);
            continue;
        }
        EI_CHECK(ei_model_engine_precision(loaded) == p);
        ei_dtype dt = p == EI_PRECISION_BF16 ? EI_DTYPE_BF16 : EI_DTYPE_F16;
        int32_t  n_half = p == EI_PRECISION_FP32 ? 0 : count_half_weights(loaded, dt);
        printf("  %s %s: %.2f MB, first load %.1f ms, %d weights in %s\n", tag, ei_precision_name(p), size[k] / 1e6, ms,
               n_half, ei_precision_name(p));
        if (p != EI_PRECISION_FP32) {
            EI_CHECK(n_half > 0);
            EI_CHECK(count_half_weights(built, dt) == n_half);
            /* Every value: a half weight is the fp32 model's weight rounded, exactly; every other
             * constant is the fp32 model's, bit for bit. */
            int32_t mismatched = 0, rounded_attr = 0;
            EI_CHECK(loaded->g->n_values == fp32->g->n_values);
            for (int32_t i = 0; i < loaded->g->n_values && i < fp32->g->n_values; i++) {
                const ei_value * v = &loaded->g->values[i];
                const ei_value * f = &fp32->g->values[i];
                if (strcmp(v->name, f->name) || !v->constant != !f->constant) {
                    mismatched++;
                    continue;
                }
                if (!v->constant) continue;
                int64_t n = ei_shape_numel(&f->constant->shape);
                if (v->dtype == dt) {
                    const uint16_t * h = v->constant->data;
                    const float *    w = f->constant->data;
                    for (int64_t j = 0; j < n; j++) {
                        float want = dt == EI_DTYPE_BF16 ? ei_bf16_to_f32(ei_f32_to_bf16(w[j]))
                                                         : ei_f16_to_f32(ei_f32_to_f16(w[j]));
                        float wide;
                        ei_half_widen(dt, &h[j], &wide, 1);
                        if (f32_bits(wide) != f32_bits(want)) {
                            mismatched++;
                            break;
                        }
                    }
                } else if (v->constant->nbytes != f->constant->nbytes ||
                           memcmp(v->constant->data, f->constant->data, f->constant->nbytes)) {
                    mismatched++;
                }
            }
            for (int32_t i = 0; i < loaded->g->n_nodes; i++)
                rounded_attr += ei_half_round_mode(&loaded->g->nodes[i]) == p;
            EI_CHECK(mismatched == 0);
            EI_CHECK(rounded_attr == n_half); /* activations rounded by default, at every converted node */
        }
        ei_model_destroy(built);
        ei_model_destroy(loaded);
    }
    double r_bf16 = (double)size[1] / (double)size[0], r_fp16 = (double)size[2] / (double)size[0];
    printf("  %s: file size bf16/fp32 %.3f, fp16/fp32 %.3f\n", tag, r_bf16, r_fp16);
    EI_CHECK(size[1] == size[2]);
    EI_CHECK(r_bf16 < max_size_ratio);
    ei_model_destroy(fp32);
}

static void test_engines_tiny(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/models/tiny_cnn.onnx", g_src);
    /* A toy: its graph and constants other than weights weigh as much as the weights. */
    check_engines(p, "tiny_cnn", 0.95);
}

/* Weights-only rounding is exactly the fp32 model run with rounded weights: the kernels widen
 * what the engine stores to exactly those values. Runs every converted kernel (oneDNN's, or the
 * reference ones in a build without oneDNN). */
static void weights_only_equals_rounded(const char * onnx, const char * tag, float lo, float hi) {
    for (int k = 1; k <= 2; k++) {
        ei_precision p = (ei_precision)k;
        ei_dtype     dt = p == EI_PRECISION_BF16 ? EI_DTYPE_BF16 : EI_DTYPE_F16;
        ei_model *   half = NULL, *ref = NULL;
        ei_tensor *  in = NULL, *oh[8] = {0}, *orf[8] = {0};
        char         path[1200];
        snprintf(path, sizeof path, "%s/%s_wo.engine", g_work, tag);
        EI_CHECK_OK(build(onnx, p, NULL, true, &half));
        if (half) EI_CHECK_OK(ei_model_save_engine(half, path));
        ei_model_destroy(half);
        half = NULL;
        EI_CHECK_OK(ei_model_load_engine(path, &half));
        EI_CHECK_OK(build(onnx, EI_PRECISION_FP32, NULL, false, &ref));
        if (!half || !ref) {
            ei_model_destroy(half);
            ei_model_destroy(ref);
            return;
        }
        int32_t with_attr = 0;
        for (int32_t i = 0; i < half->g->n_nodes; i++) with_attr += ei_half_round_mode(&half->g->nodes[i]) != 0;
        EI_CHECK(with_attr == 0);
        /* Round the fp32 model's copies of the same weights in place (they are owned copies or
         * the mapped file's: replace them with rounded owned tensors). */
        for (int32_t i = 0; i < ref->g->n_values; i++) {
            ei_value * v = &ref->g->values[i];
            if (half->g->values[i].dtype != dt || !v->constant) continue;
            ei_tensor * r = NULL;
            EI_CHECK_OK(ei_tensor_clone(v->constant, &r));
            if (!r) continue;
            float * d = ei_tensor_data(r);
            ei_half_round(p, d, d, ei_shape_numel(&r->shape));
            ei_tensor_destroy(v->constant);
            v->constant = r;
        }
        EI_CHECK_OK(synthetic_input(ref, lo, hi, &in));
        EI_CHECK_OK(run_model(half, in, oh, 8));
        EI_CHECK_OK(run_model(ref, in, orf, 8));
        int32_t same = 0, n = ei_model_output_count(ref);
        for (int32_t i = 0; i < n && i < 8; i++)
            same += oh[i] && orf[i] && ei_tensor_nbytes(oh[i]) == ei_tensor_nbytes(orf[i]) &&
                    !memcmp(ei_tensor_data_const(oh[i]), ei_tensor_data_const(orf[i]), ei_tensor_nbytes(oh[i]));
        printf("  %s %s weights only: %d of %d outputs identical to fp32 with rounded weights\n", tag,
               ei_precision_name(p), same, n);
        EI_CHECK(same == n);
        for (int32_t i = 0; i < 8; i++) ei_tensor_destroy(oh[i]), ei_tensor_destroy(orf[i]);
        ei_tensor_destroy(in);
        ei_model_destroy(half);
        ei_model_destroy(ref);
    }
}

static void test_weights_only_tiny(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/models/tiny_cnn.onnx", g_src);
    weights_only_equals_rounded(p, "tiny_cnn", 0.0f, 1.0f);
}

/* ConvTranspose and MatMul (tests/half/make_models.py): weights converted and widened exactly, and
 * the output close to fp32. */
static void test_convt_matmul(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/../gen/convt_matmul.onnx", g_work);
    if (!exists(p)) {
        printf("  %s absent (tests/half/make_models.py needs onnx): skipped\n", p);
        return;
    }
    ei_model * m = NULL;
    EI_CHECK_OK(build(p, EI_PRECISION_FP16, NULL, false, &m));
    if (m) EI_CHECK(count_half_weights(m, EI_DTYPE_F16) == 2);
    ei_model_destroy(m);
    check_engines(p, "convt_matmul", 0.95);
    weights_only_equals_rounded(p, "convt_matmul", -1.0f, 1.0f);
    acc_model am = {.tag = "convt_matmul", .scale = 1.0f / 127.5f, .offset = -1.0f, .min_cos = {0, 0.999, 0.9999}};
    snprintf(am.path, sizeof am.path, "%s", p);
    accuracy_synthetic(&am);
}

/* FP16: a weight beyond fp16's range keeps its node fp32 (rounding would make it infinite); bf16
 * has fp32's range and converts it. */
static void test_fp16_overflow(void) {
    char onnx[1200];
    snprintf(onnx, sizeof onnx, "%s/models/tiny_cnn.onnx", g_src);
    for (int k = 1; k <= 2; k++) {
        ei_precision p = (ei_precision)k;
        ei_model *   m = NULL;
        EI_CHECK_OK(build(onnx, EI_PRECISION_FP32, NULL, false, &m));
        if (!m) return;
        int32_t big = -1;
        for (int32_t i = 0; i < m->g->n_nodes && big < 0; i++)
            if (!strcmp(m->g->nodes[i].op_type, "Conv") || !strcmp(m->g->nodes[i].op_type, "ei.ConvBlocked8")) big = i;
        EI_CHECK(big >= 0);
        if (big < 0) {
            ei_model_destroy(m);
            return;
        }
        ei_value *  w = &m->g->values[m->g->nodes[big].inputs[1]];
        ei_tensor * c = NULL;
        EI_CHECK_OK(ei_tensor_clone(w->constant, &c));
        if (c) {
            ((float *)ei_tensor_data(c))[0] = 70000.0f;
            ei_tensor_destroy(w->constant);
            w->constant = c;
        }
        ei_half_report r;
        EI_CHECK_OK(ei_half_convert(m->g, p, NULL, true, &r));
        if (p == EI_PRECISION_FP16) {
            EI_CHECK(r.overflow == 1 && w->dtype == EI_DTYPE_F32);
            EI_CHECK(ei_half_round_mode(&m->g->nodes[big]) == EI_PRECISION_FP32);
        } else {
            EI_CHECK(r.overflow == 0 && w->dtype == EI_DTYPE_BF16);
        }
        EI_CHECK(r.converted == (p == EI_PRECISION_FP16 ? 2 : 3));
        ei_model_destroy(m);
    }
}

/* The engine cache tells bf16 engines apart by keep_fp32 and by activation rounding. */
static void test_cache_key(void) {
    char onnx[1200], dir[1200];
    snprintf(onnx, sizeof onnx, "%s/models/tiny_cnn.onnx", g_src);
    snprintf(dir, sizeof dir, "%s/cache", g_work);
    /* Start from an empty cache (an earlier run left its engines). */
    DIR * d = opendir(dir);
    for (struct dirent * e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        char f[1500];
        snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.') unlink(f);
    }
    if (d) closedir(d);
    ei_engine_build_options o = ei_engine_build_options_default();
    o.precision = EI_PRECISION_BF16;
    const char * keeps[2] = {NULL, "conv1"};
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < 3; k++) {
            o.keep_fp32 = keeps[k == 1];
            o.half_fp32_activations = k == 2;
            ei_model *           m = NULL;
            ei_engine_cache_info info;
            EI_CHECK_OK(ei_engine_cache_get(dir, onnx, &o, &m, &info));
            /* First pass: three different engines, each built; second pass: each one found. */
            EI_CHECK(m && info.built == (pass == 0));
            if (m) EI_CHECK(ei_model_engine_precision(m) == EI_PRECISION_BF16);
            ei_model_destroy(m);
        }
}

/* keep_fp32: the named nodes keep fp32 weights and no rounding; an unknown name is an error that
 * names it. */
static void test_keep_fp32(void) {
    char onnx[1200];
    snprintf(onnx, sizeof onnx, "%s/models/tiny_cnn.onnx", g_src);
    ei_model * all = NULL;
    EI_CHECK_OK(build(onnx, EI_PRECISION_BF16, NULL, false, &all));
    if (!all) return;
    /* The first two converted nodes, by name. */
    char    keep[512] = "";
    int32_t kept_nodes[2] = {-1, -1}, n_kept = 0, n_conv = 0;
    for (int32_t i = 0; i < all->g->n_nodes; i++) {
        const ei_node * n = &all->g->nodes[i];
        if (ei_half_round_mode(n) != EI_PRECISION_BF16) continue;
        n_conv++;
        if (n_kept < 2) {
            kept_nodes[n_kept++] = i;
            size_t l = strlen(keep);
            snprintf(keep + l, sizeof keep - l, "%s%s", l ? " , " : "", n->name);
        }
    }
    EI_CHECK(n_kept == 2);
    ei_model * some = NULL;
    EI_CHECK_OK(build(onnx, EI_PRECISION_BF16, keep, false, &some));
    if (some && n_kept == 2) {
        for (int32_t k = 0; k < 2; k++) {
            const ei_node * n = &some->g->nodes[kept_nodes[k]];
            EI_CHECK(!strcmp(n->name, all->g->nodes[kept_nodes[k]].name));
            EI_CHECK(some->g->values[n->inputs[1]].dtype == EI_DTYPE_F32);
            EI_CHECK(ei_half_round_mode(n) == EI_PRECISION_FP32);
        }
        EI_CHECK(count_half_weights(some, EI_DTYPE_BF16) == count_half_weights(all, EI_DTYPE_BF16) - 2);
        printf("  kept fp32: %s (%d of %d converted nodes)\n", keep, n_kept, n_conv);
    }
    ei_model_destroy(some);
    ei_model_destroy(all);
    ei_model * bad = NULL;
    char       list[600];
    snprintf(list, sizeof list, "%s,no_such_node", keep);
    EI_CHECK_ERROR(build(onnx, EI_PRECISION_FP16, list, false, &bad), EI_CODE_INVALID_ARGUMENT, "'no_such_node'");
    EI_CHECK(bad == NULL);
}

/* ---------------------------------------------------------------- accuracy on real networks */

static void accuracy(const acc_model * am) {
    if (!exists(am->path)) {
        printf("  %s: %s absent, skipped (models/export_all.py makes the exported ones)\n", am->tag, am->path);
        return;
    }
    ei_model * ref = NULL;
    ei_tensor *in = NULL, *o32[8] = {0};
    EI_CHECK_OK(build(am->path, EI_PRECISION_FP32, NULL, false, &ref));
    if (!ref) return;
    if (!am->synthetic) EI_CHECK_OK(image_input(ref, am->bgr, am->scale, am->offset, &in));
    bool synthetic = !in;
    if (!in) EI_CHECK_OK(synthetic_input(ref, am->offset, 255.0f * am->scale + am->offset, &in));
    EI_CHECK_OK(run_model(ref, in, o32, 8));
    int32_t n_out = ei_model_output_count(ref);
    if (n_out > 8) n_out = 8;
    for (int k = 1; k <= 2; k++) {
        ei_precision p = (ei_precision)k;
        for (int wo = 0; wo < 2; wo++) {
            ei_model *  m = NULL, *loaded = NULL;
            ei_tensor * oh[8] = {0};
            char        path[1200];
            snprintf(path, sizeof path, "%s/%s_acc.engine", g_work, am->tag);
            EI_CHECK_OK(build(am->path, p, NULL, wo == 1, &m));
            if (m) EI_CHECK_OK(ei_model_save_engine(m, path));
            ei_model_destroy(m);
            EI_CHECK_OK(ei_model_load_engine(path, &loaded));
            if (loaded) EI_CHECK_OK(run_model(loaded, in, oh, 8));
            double worst = 1.0;
            for (int32_t i = 0; i < n_out; i++) {
                if (!oh[i] || !o32[i]) {
                    worst = 0;
                    continue;
                }
                double c = cosine(o32[i], oh[i]);
                if (!(c >= worst)) worst = c; /* NaN counts as the worst */
            }
            printf("  %s %s%s: cosine with fp32 %.6f (%s input)%s\n", am->tag, ei_precision_name(p),
                   wo ? " weights only" : "", worst, synthetic ? "synthetic" : "dog.jpg",
                   wo ? "" : "  [asserted > threshold]");
            if (!wo) {
                if (!(worst > am->min_cos[k]))
                    fprintf(stderr, "%s %s: cosine %.6f, want > %.4f\n", am->tag, ei_precision_name(p), worst,
                            am->min_cos[k]);
                EI_CHECK(worst > am->min_cos[k]);
            } else {
                EI_CHECK(worst > am->min_cos[k]); /* weights only is never worse in practice */
            }
            for (int32_t i = 0; i < 8; i++) ei_tensor_destroy(oh[i]);
            ei_model_destroy(loaded);
        }
    }
    for (int32_t i = 0; i < 8; i++) ei_tensor_destroy(o32[i]);
    ei_tensor_destroy(in);
    ei_model_destroy(ref);
}

/* exported model `name`: in EXPORTED_MODELS_DIR, else in the main checkout's build (worktrees). */
static void exported_path(const char * name, char * out, size_t n) {
    snprintf(out, n, "%s/%s", g_exported, name);
    if (!exists(out)) snprintf(out, n, "%s/../main/build/exported_models/%s", g_src, name);
    if (!exists(out)) snprintf(out, n, "%s/../../main/build/exported_models/%s", g_src, name);
}

static void test_accuracy_segformer(void) {
    /* ImageNet-style normalisation (x / 255 - 0.5) / 0.25; random weights (models/export_all.py). */
    acc_model am = {.tag = "segformer_b0", .scale = 1.0f / 63.75f, .offset = -2.0f, .min_cos = {0, 0.999, 0.999}};
    exported_path("segformer_b0_512_opset17.onnx", am.path, sizeof am.path);
    accuracy(&am);
}

static void test_accuracy_yolox_nano(void) {
    /* Real weights, raw 0..255 BGR input (MANIFEST.md). Thresholds (docs/precision.md): 1 - cos
     * grows with the square of the relative error, and fp16 keeps 3 more significand bits than
     * bf16 (8x less error, ~64x less 1 - cos); measured 0.99958 (bf16) and 0.99999 (fp16). */
    acc_model am = {.tag = "yolox_nano", .bgr = true, .scale = 1.0f, .min_cos = {0, 0.999, 0.9999}};
    snprintf(am.path, sizeof am.path, "%s/models/coco_detection/yolox_nano_416.onnx", g_assets);
    accuracy(&am);
}

static void test_accuracy_ssdlite(void) {
    /* Random weights through 60+ layers with hard-swish: the noisiest of the three; measured
     * 0.9978 (bf16) and 0.99997 (fp16). bf16 > 0.995 is still stricter than issue 6's INT8 bar
     * (> 0.99) for the same network. */
    acc_model am = {.tag = "ssdlite320", .scale = 1.0f / 63.75f, .offset = -2.0f, .min_cos = {0, 0.995, 0.9999}};
    exported_path("ssdlite320_mobilenet_v3_large.onnx", am.path, sizeof am.path);
    accuracy(&am);
}

static void test_engines_segformer(void) {
    char p[1200];
    exported_path("segformer_b0_512_opset17.onnx", p, sizeof p);
    if (!exists(p)) {
        printf("  segformer_b0_512_opset17.onnx absent, skipped\n");
        return;
    }
    check_engines(p, "segformer_b0", 0.55);
    weights_only_equals_rounded(p, "segformer_b0", -2.0f, 2.0f);
}

int main(int argc, char ** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: half_test SOURCE_DIR EXPORTED_MODELS_DIR WORK_DIR\n");
        return 2;
    }
    g_src = argv[1], g_exported = argv[2], g_work = argv[3];
    const char * assets = getenv("EI_ASSETS_DIR");
    snprintf(g_assets, sizeof g_assets, "%s", assets ? assets : EI_DEFAULT_ASSETS_DIR);
    mkdir(g_work, 0777);
    EI_RUN(test_round_matches_scalar);
    EI_RUN(test_reference_wrapper);
    EI_RUN(test_engines_tiny);
    EI_RUN(test_weights_only_tiny);
    EI_RUN(test_convt_matmul);
    EI_RUN(test_keep_fp32);
    EI_RUN(test_fp16_overflow);
    EI_RUN(test_cache_key);
    if (argc > 4 && !strcmp(argv[4], "--models")) {
        EI_RUN(test_engines_segformer);
        EI_RUN(test_accuracy_segformer);
        EI_RUN(test_accuracy_yolox_nano);
        EI_RUN(test_accuracy_ssdlite);
    }
    EI_TEST_EXIT();
}
