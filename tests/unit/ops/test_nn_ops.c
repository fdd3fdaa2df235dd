/* nn operators below the importer: hostile attributes and shapes must fail in infer with a clear
 * message, and the parallel, sliced and grouped Conv/ConvTranspose paths (which the small ONNX
 * node tests never reach) must agree with a direct loop. */
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "ei_test.h"
#include "ir/graph.h"
#include "ops/op.h"

/* ---- building one-node graphs ---- */

static char * xstrdup(const char * s) {
    char * d = malloc(strlen(s) + 1);
    if (!d) abort();
    return strcpy(d, s);
}

static ei_node * one_node(ei_graph * g, const char * op, int64_t opset, int32_t n_in, const ei_shape * shapes,
                          int32_t n_out) {
    ei_node * n = NULL;
    if (ei_graph_node_add(g, &n)) abort();
    n->name = xstrdup("n0");
    n->op_type = xstrdup(op);
    n->domain = xstrdup("");
    n->def = ei_op_find("", op);
    n->opset = opset;
    n->n_inputs = n_in;
    n->n_outputs = n_out;
    n->inputs = calloc((size_t)n_in + 1, sizeof *n->inputs);
    n->outputs = calloc((size_t)n_out + 1, sizeof *n->outputs);
    if (!n->name || !n->op_type || !n->domain || !n->def || !n->inputs || !n->outputs) abort();
    for (int32_t k = 0; k < n_in; k++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", k);
        if (shapes[k].rank < 0) {
            n->inputs[k] = -1;
            continue;
        }
        if (ei_graph_value_add(g, name, &n->inputs[k])) abort();
        ei_value * v = &g->values[n->inputs[k]];
        v->dtype = EI_DTYPE_F32;
        v->shape = shapes[k];
        v->shape_known = true;
    }
    for (int32_t k = 0; k < n_out; k++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", k);
        if (ei_graph_value_add(g, name, &n->outputs[k])) abort();
    }
    return n;
}

static ei_attr * new_attr(ei_node * n, const char * name, ei_attr_type type) {
    ei_attr * a = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof *a);
    if (!a) abort();
    n->attrs = a;
    a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = xstrdup(name);
    a->type = type;
    return a;
}

static void attr_ints(ei_node * n, const char * name, int32_t count, const int64_t * v) {
    ei_attr * a = new_attr(n, name, EI_ATTR_INTS);
    a->ints = malloc((size_t)count * sizeof *a->ints + 1);
    memcpy(a->ints, v, (size_t)count * sizeof *v);
    a->n = count;
}

static void attr_int(ei_node * n, const char * name, int64_t v) { new_attr(n, name, EI_ATTR_INT)->i = v; }

static void attr_str(ei_node * n, const char * name, const char * s) {
    new_attr(n, name, EI_ATTR_STRING)->s = xstrdup(s);
}

static ei_status * import_infer(ei_graph * g, ei_node * n) {
    if (n->def->import) EI_TRY(n->def->import(n));
    return n->def->infer(g, n);
}

#define SHAPE(...)                                                                                                     \
    ei_shape_make((int32_t)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define INTS(...)                                                                                                      \
    (int32_t)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]) { __VA_ARGS__ }

typedef void (*node_setup)(ei_node * n);

/* One-node graph of `op`, attributes from `setup`; expects infer (or import) to fail with code and
 * a message containing `msg`. */
static void expect_error(const char * op, int64_t opset, int32_t n_in, const ei_shape * shapes, int32_t n_out,
                         node_setup setup, ei_code code, const char * msg) {
    ei_graph * g = NULL;
    if (ei_graph_create(&g)) abort();
    ei_node * n = one_node(g, op, opset, n_in, shapes, n_out);
    if (setup) setup(n);
    EI_CHECK_ERROR(import_infer(g, n), code, msg);
    ei_graph_destroy(g);
}

static void zero_stride(ei_node * n) { attr_ints(n, "strides", INTS(0, 1)); }
static void short_strides(ei_node * n) { attr_ints(n, "strides", INTS(1)); }
static void neg_dilation(ei_node * n) { attr_ints(n, "dilations", INTS(-1, 1)); }
static void neg_pad(ei_node * n) { attr_ints(n, "pads", INTS(0, 0, -1, 0)); }
static void huge_pad(ei_node * n) { attr_ints(n, "pads", INTS(1ll << 40, 0, 0, 0)); }
static void group3(ei_node * n) { attr_int(n, "group", 3); }
static void group0(ei_node * n) { attr_int(n, "group", 0); }
static void bad_auto_pad(ei_node * n) { attr_str(n, "auto_pad", "SAME"); }
static void kernel_mismatch(ei_node * n) { attr_ints(n, "kernel_shape", INTS(3, 2)); }
static void pool_k3(ei_node * n) { attr_ints(n, "kernel_shape", INTS(3, 3)); }
static void pool_k0(ei_node * n) { attr_ints(n, "kernel_shape", INTS(0, 3)); }
static void pool_pad_ge_kernel(ei_node * n) {
    attr_ints(n, "kernel_shape", INTS(3, 3));
    attr_ints(n, "pads", INTS(3, 0, 0, 0));
}
static void pool_too_big(ei_node * n) { attr_ints(n, "kernel_shape", INTS(9, 9)); }
static void pool_ceil5(ei_node * n) {
    attr_ints(n, "kernel_shape", INTS(2, 2));
    attr_int(n, "ceil_mode", 5);
}
static void convt_big_output(ei_node * n) { attr_ints(n, "output_shape", INTS(100, 100)); }
static void training(ei_node * n) { attr_int(n, "training_mode", 1); }

static void test_hostile(void) {
    ei_shape x = SHAPE(1, 4, 8, 8);
    ei_shape conv_in[2] = {x, SHAPE(2, 4, 3, 3)};
    expect_error("Conv", 17, 2, conv_in, 1, zero_stride, EI_CODE_INVALID_MODEL, "'strides'[0] = 0");
    expect_error("Conv", 17, 2, conv_in, 1, short_strides, EI_CODE_INVALID_MODEL, "strides has 1 values");
    expect_error("Conv", 17, 2, conv_in, 1, neg_dilation, EI_CODE_INVALID_MODEL, "'dilations'[0] = -1");
    expect_error("Conv", 17, 2, conv_in, 1, neg_pad, EI_CODE_INVALID_MODEL, "'pads'[2] = -1");
    expect_error("Conv", 17, 2, conv_in, 1, huge_pad, EI_CODE_INVALID_MODEL, "'pads'[0]");
    expect_error("Conv", 17, 2, conv_in, 1, group3, EI_CODE_INVALID_MODEL, "does not divide the 4 input channels");
    expect_error("Conv", 17, 2, conv_in, 1, group0, EI_CODE_INVALID_MODEL, "group = 0");
    expect_error("Conv", 17, 2, conv_in, 1, bad_auto_pad, EI_CODE_INVALID_MODEL, "auto_pad 'SAME'");
    expect_error("Conv", 17, 2, conv_in, 1, kernel_mismatch, EI_CODE_INVALID_MODEL, "does not match the weight");
    ei_shape bad_w[2] = {x, SHAPE(2, 3, 3, 3)};
    expect_error("Conv", 17, 2, bad_w, 1, NULL, EI_CODE_INVALID_MODEL, "expects 3 input channels per group");
    ei_shape big_k[2] = {x, SHAPE(2, 4, 9, 3)};
    expect_error("Conv", 17, 2, big_k, 1, NULL, EI_CODE_INVALID_MODEL, "exceeds the padded input size");
    ei_shape bad_rank[2] = {x, SHAPE(2, 4, 3)};
    expect_error("Conv", 17, 2, bad_rank, 1, NULL, EI_CODE_INVALID_MODEL, "different rank");
    ei_shape bad_b[3] = {x, SHAPE(2, 4, 3, 3), SHAPE(3)};
    expect_error("Conv", 17, 3, bad_b, 1, NULL, EI_CODE_INVALID_MODEL, "bias B has shape 3");
    ei_shape m_not_div[2] = {x, SHAPE(3, 2, 3, 3)};
    expect_error("Conv", 17, 2, m_not_div, 1, NULL, EI_CODE_INVALID_MODEL, "expects 2 input channels per group");

    ei_shape convt_in[2] = {x, SHAPE(4, 2, 3, 3)};
    expect_error("ConvTranspose", 17, 2, convt_in, 1, group3, EI_CODE_INVALID_MODEL, "does not divide");
    expect_error("ConvTranspose", 17, 2, convt_in, 1, convt_big_output, EI_CODE_INVALID_MODEL, "output_shape[0] = 100");
    ei_shape convt_bad_w[2] = {x, SHAPE(3, 2, 3, 3)};
    expect_error("ConvTranspose", 17, 2, convt_bad_w, 1, NULL, EI_CODE_INVALID_MODEL, "has 3 input channels");

    expect_error("MaxPool", 12, 1, &x, 1, NULL, EI_CODE_INVALID_MODEL, "'kernel_shape' is required");
    expect_error("MaxPool", 12, 1, &x, 1, pool_k0, EI_CODE_INVALID_MODEL, "'kernel_shape'[0] = 0");
    expect_error("MaxPool", 12, 1, &x, 1, pool_pad_ge_kernel, EI_CODE_INVALID_MODEL, "smaller than the kernel");
    expect_error("MaxPool", 12, 1, &x, 1, pool_too_big, EI_CODE_INVALID_MODEL, "exceeds the padded input size");
    expect_error("AveragePool", 19, 1, &x, 1, pool_ceil5, EI_CODE_INVALID_MODEL, "'ceil_mode' = 5");
    ei_shape rank2 = SHAPE(2, 3);
    expect_error("AveragePool", 19, 1, &rank2, 1, pool_k3, EI_CODE_INVALID_MODEL, "pooling needs N x C");
    expect_error("GlobalMaxPool", 1, 1, &rank2, 1, NULL, EI_CODE_INVALID_MODEL, "pooling needs N x C");

    ei_shape bn[5] = {x, SHAPE(4), SHAPE(4), SHAPE(4), SHAPE(3)};
    expect_error("BatchNormalization", 15, 5, bn, 1, NULL, EI_CODE_INVALID_MODEL, "input_var has shape 3");
    ei_shape bn_ok[5] = {x, SHAPE(4), SHAPE(4), SHAPE(4), SHAPE(4)};
    expect_error("BatchNormalization", 15, 5, bn_ok, 4, training, EI_CODE_INVALID_MODEL, "at most 3");
    expect_error("BatchNormalization", 15, 5, bn_ok, 3, NULL, EI_CODE_INVALID_MODEL, "only in training mode");
    expect_error("BatchNormalization", 9, 5, bn_ok, 3, NULL, EI_CODE_UNSUPPORTED, "training mode");
}

/* ---- Conv and ConvTranspose against direct loops, 3 threads ---- */

static uint32_t g_rng = 12345;
static float    frand(void) {
       g_rng = g_rng * 1664525u + 1013904223u;
       return (float)(g_rng >> 8) / (float)(1u << 24) - 0.5f;
}

static ei_tensor * rand_tensor(const ei_shape * s) {
    ei_tensor * t = NULL;
    if (ei_tensor_create(EI_DTYPE_F32, s, &t)) abort();
    float * d = ei_tensor_data(t);
    for (int64_t i = 0; i < ei_shape_numel(s); i++) d[i] = frand();
    return t;
}

typedef struct conv_case {
    int32_t nsp;
    int64_t n, c, m, group, in[3], k[3], stride[3], pad[3], dil[3];
    bool    bias;
} conv_case;

/* Runs Conv (transpose = false) or ConvTranspose on one case; returns the max relative error
 * against the direct loop. */
static double run_conv_case(const conv_case * cc, bool transpose, ei_threadpool * pool) {
    int32_t  nsp = cc->nsp;
    ei_shape xs = {.rank = nsp + 2}, ws = {.rank = nsp + 2}, bs = SHAPE(cc->m);
    xs.dim[0] = cc->n;
    xs.dim[1] = cc->c;
    ws.dim[0] = transpose ? cc->c : cc->m;
    ws.dim[1] = transpose ? cc->m / cc->group : cc->c / cc->group;
    for (int32_t i = 0; i < nsp; i++) {
        xs.dim[2 + i] = cc->in[i];
        ws.dim[2 + i] = cc->k[i];
    }
    ei_shape   shapes[3] = {xs, ws, bs};
    ei_graph * g = NULL;
    if (ei_graph_create(&g)) abort();
    ei_node * n = one_node(g, transpose ? "ConvTranspose" : "Conv", 17, cc->bias ? 3 : 2, shapes, 1);
    int64_t   pads[6];
    for (int32_t i = 0; i < nsp; i++) pads[i] = pads[nsp + i] = cc->pad[i];
    attr_ints(n, "strides", nsp, cc->stride);
    attr_ints(n, "dilations", nsp, cc->dil);
    attr_ints(n, "pads", 2 * nsp, pads);
    attr_int(n, "group", cc->group);
    double      err = 1e30;
    ei_status * st = import_infer(g, n);
    if (st) {
        fprintf(stderr, "infer: %s\n", ei_status_message(st));
        ei_status_destroy(st);
        ei_graph_destroy(g);
        return err;
    }
    ei_tensor *      X = rand_tensor(&xs), *W = rand_tensor(&ws), *B = cc->bias ? rand_tensor(&bs) : NULL, *Y = NULL;
    const ei_shape * ys = &g->values[n->outputs[0]].shape;
    if (ei_tensor_create(EI_DTYPE_F32, ys, &Y)) abort();
    const ei_tensor * ins[3] = {X, W, B};
    ei_exec           ex = {.pool = pool};
    EI_CHECK_OK(n->def->run(n, ins, &Y, &ex));
    /* direct loop in double: every (input position, tap) pair, as a convolution or its transpose */
    int64_t out_sp[3] = {1, 1, 1}, in_sp[3] = {1, 1, 1}, kk[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, p3[3] = {0, 0, 0},
            d3[3] = {1, 1, 1};
    int32_t lead = 3 - nsp;
    for (int32_t i = 0; i < nsp; i++) {
        out_sp[lead + i] = ys->dim[2 + i];
        in_sp[lead + i] = cc->in[i];
        kk[lead + i] = cc->k[i];
        s3[lead + i] = cc->stride[i];
        p3[lead + i] = cc->pad[i];
        d3[lead + i] = cc->dil[i];
    }
    int64_t      m = ys->dim[1], cg = cc->c / cc->group, mg = m / cc->group;
    int64_t      pin = in_sp[0] * in_sp[1] * in_sp[2], pout = out_sp[0] * out_sp[1] * out_sp[2];
    double *     ref = calloc((size_t)(cc->n * m * pout), sizeof *ref);
    const float *x = ei_tensor_data(X), *w = ei_tensor_data(W), *y = ei_tensor_data(Y);
    for (int64_t b = 0; b < cc->n; b++)
        for (int64_t oc = 0; oc < m; oc++) {
            int64_t gi = oc / mg;
            for (int64_t ic = gi * cg; ic < (gi + 1) * cg; ic++)
                for (int64_t t0 = 0; t0 < kk[0]; t0++)
                    for (int64_t t1 = 0; t1 < kk[1]; t1++)
                        for (int64_t t2 = 0; t2 < kk[2]; t2++) {
                            int64_t tap = (t0 * kk[1] + t1) * kk[2] + t2;
                            float   wv = transpose ? w[(ic * mg + oc % mg) * kk[0] * kk[1] * kk[2] + tap]
                                                   : w[(oc * cg + ic % cg) * kk[0] * kk[1] * kk[2] + tap];
                            /* conv: out o reads in o*s - p + t*d; transpose: in i writes out i*s - p + t*d */
                            const int64_t * lim = transpose ? in_sp : out_sp;
                            for (int64_t a0 = 0; a0 < lim[0]; a0++)
                                for (int64_t a1 = 0; a1 < lim[1]; a1++)
                                    for (int64_t a2 = 0; a2 < lim[2]; a2++) {
                                        int64_t         c0 = a0 * s3[0] - p3[0] + t0 * d3[0];
                                        int64_t         c1 = a1 * s3[1] - p3[1] + t1 * d3[1];
                                        int64_t         c2 = a2 * s3[2] - p3[2] + t2 * d3[2];
                                        const int64_t * other = transpose ? out_sp : in_sp;
                                        if (c0 < 0 || c1 < 0 || c2 < 0 || c0 >= other[0] || c1 >= other[1] ||
                                            c2 >= other[2])
                                            continue;
                                        int64_t ai = (a0 * lim[1] + a1) * lim[2] + a2;
                                        int64_t ci = (c0 * other[1] + c1) * other[2] + c2;
                                        if (transpose)
                                            ref[(b * m + oc) * pout + ci] +=
                                                (double)wv * x[(b * cc->c + ic) * pin + ai];
                                        else
                                            ref[(b * m + oc) * pout + ai] +=
                                                (double)wv * x[(b * cc->c + ic) * pin + ci];
                                    }
                        }
        }
    err = 0.0;
    for (int64_t i = 0; i < cc->n * m * pout; i++) {
        double r = ref[i] + (B ? ((const float *)ei_tensor_data(B))[(i / pout) % m] : 0.0);
        double e = fabs(r - y[i]) / (fabs(r) + 1.0); /* sums of ~1000 fp32 terms near 0 */
        if (e > err) err = e;
    }
    free(ref);
    ei_tensor_destroy(X);
    ei_tensor_destroy(W);
    ei_tensor_destroy(B);
    ei_tensor_destroy(Y);
    ei_graph_destroy(g);
    return err;
}

static void test_conv_paths(void) {
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(3, &pool));
    const conv_case cases[] = {
        /* im2col sliced over output pixels (K * P above the scratch budget), stride 2, asymmetric-ish sizes */
        {2, 1, 64, 8, 1, {90, 47}, {3, 3}, {1, 2}, {1, 1}, {1, 1}, true},
        {2, 1, 96, 4, 1, {60, 61}, {3, 3}, {1, 1}, {1, 2}, {1, 2}, false},
        /* batch x group tasks in parallel, each with its own scratch */
        {2, 4, 16, 16, 4, {9, 10}, {3, 3}, {1, 2}, {1, 0}, {1, 1}, true},
        /* depthwise with channel multiplier, 1-D depthwise, 1x1 direct */
        {2, 2, 6, 12, 6, {13, 11}, {3, 5}, {2, 1}, {1, 2}, {1, 1}, true},
        {1, 1, 5, 5, 5, {40}, {7}, {3}, {3}, {1}, false},
        {2, 3, 8, 6, 2, {7, 9}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, true},
        /* 1-D longer than the slice, 3-D with dilations */
        {1, 1, 32, 4, 1, {9000}, {5}, {1}, {2}, {1}, true},
        {3, 1, 4, 6, 2, {5, 6, 7}, {2, 3, 2}, {1, 2, 1}, {1, 0, 1}, {2, 1, 1}, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double e = run_conv_case(&cases[i], false, pool);
        if (e > 1e-4) fprintf(stderr, "Conv case %zu: relative error %g\n", i, e);
        EI_CHECK(e <= 1e-4);
    }
    const conv_case tcases[] = {
        {2, 1, 8, 6, 1, {40, 37}, {4, 4}, {2, 2}, {1, 1}, {1, 1}, true},
        {2, 2, 6, 4, 2, {5, 7}, {3, 2}, {3, 2}, {1, 0}, {2, 1}, true},
        {1, 1, 4, 64, 1, {5000}, {4}, {2}, {1}, {1}, false}, /* K x pixels above the slice budget */
        {3, 1, 4, 4, 2, {3, 4, 5}, {2, 2, 3}, {2, 1, 2}, {0, 1, 1}, {1, 2, 1}, true},
    };
    for (size_t i = 0; i < sizeof tcases / sizeof tcases[0]; i++) {
        double e = run_conv_case(&tcases[i], true, pool);
        if (e > 1e-4) fprintf(stderr, "ConvTranspose case %zu: relative error %g\n", i, e);
        EI_CHECK(e <= 1e-4);
    }
    ei_threadpool_destroy(pool);
}

int main(void) {
    EI_RUN(test_hostile);
    EI_RUN(test_conv_paths);
    EI_TEST_EXIT();
}
