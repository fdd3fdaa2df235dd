/* ei.ConvInt8 on random shapes: the reference kernel against a direct double-precision loop over
 * the same quantised integers, and the optimised kernel (oneDNN, when built in) against the
 * reference within one quantisation step of the output (x_scale * w_scale[m]) - over groups and
 * depthwise, strides, pads, dilations, bias, every fused activation, the residual, u8 and s8
 * inputs, plain and blocked layouts. */
#include <math.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "cpu/kernel_table.h"
#include "ei_test.h"
#include "ir/graph.h"
#include "ir/graph_edit.h"
#include "ops/blocked8.h"
#include "ops/conv_int8.h"
#include "ops/op.h"

typedef struct conv_case {
    int64_t     n, c, h, w, m, group, k, stride, pad, dil;
    bool        bias, residual, x_unsigned, x_blocked, y_blocked;
    ei_act_kind act;
} conv_case;

static uint32_t g_rng = 12345u;
static int32_t  g_optimised;  /* cases the optimised kernel took (prepare kept a state) */
static float    frand(void) { /* [0, 1) */
    g_rng = g_rng * 1664525u + 1013904223u;
    return (float)(g_rng >> 8) / 16777216.0f;
}

static int32_t add_value(ei_graph * g, const char * name, ei_dtype dt, const ei_shape * s, ei_tensor * constant) {
    int32_t id;
    if (ei_graph_value_add(g, name, &id)) abort();
    g->values[id].dtype = dt;
    g->values[id].shape = *s;
    g->values[id].shape_known = true;
    g->values[id].constant = constant;
    return id;
}

static ei_shape blocked_of(int64_t n, int64_t c, int64_t h, int64_t w) {
    return (ei_shape){.rank = 5, .dim = {n, ei_blocks8(c), h, w, 8}};
}

/* Runs one case. */
static void run_case(const conv_case * cc, ei_threadpool * pool) {
    ei_graph * g = NULL;
    if (ei_graph_create(&g)) abort();
    int64_t  cg = cc->c / cc->group, k = cc->k;
    ei_shape xs = {.rank = 4, .dim = {cc->n, cc->c, cc->h, cc->w}};
    ei_shape ws = {.rank = 4, .dim = {cc->m, cg, k, k}};
    ei_shape ms = {.rank = 1, .dim = {cc->m}};
    int64_t  ekh = (k - 1) * cc->dil + 1;
    int64_t  oh = (cc->h + 2 * cc->pad - ekh) / cc->stride + 1, ow = (cc->w + 2 * cc->pad - ekh) / cc->stride + 1;
    ei_shape ys = {.rank = 4, .dim = {cc->n, cc->m, oh, ow}};
    float    x_scale = 0.02f + 0.05f * frand();

    /* Weights: int8 within the 7-bit range, per-channel scales. */
    ei_tensor *wq = NULL, *wsc = NULL, *bt = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_I8, &ws, &wq));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ms, &wsc));
    int64_t wn = ei_shape_numel(&ws);
    for (int64_t i = 0; i < wn; i++)
        ((int8_t *)wq->data)[i] = (int8_t)((int32_t)(frand() * (2 * EI_INT8_WEIGHT_MAX + 1)) - EI_INT8_WEIGHT_MAX);
    for (int64_t i = 0; i < cc->m; i++) ((float *)wsc->data)[i] = 0.001f + 0.01f * frand();
    if (cc->bias) {
        EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ms, &bt));
        for (int64_t i = 0; i < cc->m; i++) ((float *)bt->data)[i] = frand() - 0.5f;
    }
    ei_shape xg = cc->x_blocked ? blocked_of(cc->n, cc->c, cc->h, cc->w) : xs;
    ei_shape yg = cc->y_blocked ? blocked_of(cc->n, cc->m, oh, ow) : ys;
    int32_t  ins[5];
    ins[0] = add_value(g, "x", EI_DTYPE_F32, &xg, NULL);
    ins[1] = add_value(g, "w", EI_DTYPE_I8, &ws, wq);
    ins[2] = add_value(g, "ws", EI_DTYPE_F32, &ms, wsc);
    ins[3] = cc->bias ? add_value(g, "b", EI_DTYPE_F32, &ms, bt) : -1;
    ins[4] = cc->residual ? add_value(g, "r", EI_DTYPE_F32, &yg, NULL) : -1;
    int32_t   n_in = cc->residual ? 5 : (cc->bias ? 4 : 3);
    int32_t   y = add_value(g, "y", EI_DTYPE_UNDEFINED, &yg, NULL);
    ei_node * n = NULL;
    if (ei_graph_node_add(g, &n)) abort();
    n->name = strdup("conv");
    n->op_type = strdup("ei.ConvInt8");
    n->domain = strdup("");
    n->def = ei_op_find("", "ei.ConvInt8");
    n->n_inputs = n_in;
    n->inputs = malloc(sizeof ins);
    memcpy(n->inputs, ins, sizeof ins);
    n->n_outputs = 1;
    n->outputs = malloc(sizeof(int32_t));
    n->outputs[0] = y;
    int64_t two[2] = {cc->stride, cc->stride}, dil[2] = {cc->dil, cc->dil},
            pads[4] = {cc->pad, cc->pad, cc->pad, cc->pad};
    int64_t kern[2] = {k, k};
    EI_CHECK_OK(ei_node_set_attr_ints(n, "strides", two, 2));
    EI_CHECK_OK(ei_node_set_attr_ints(n, "dilations", dil, 2));
    EI_CHECK_OK(ei_node_set_attr_ints(n, "pads", pads, 4));
    EI_CHECK_OK(ei_node_set_attr_ints(n, "kernel_shape", kern, 2));
    EI_CHECK_OK(ei_node_set_attr_int(n, "group", cc->group));
    EI_CHECK_OK(ei_node_set_attr_float(n, "ei.x_scale", x_scale));
    EI_CHECK_OK(ei_node_set_attr_int(n, "ei.x_unsigned", cc->x_unsigned));
    EI_CHECK_OK(ei_node_set_attr_int(n, "ei.blocked", cc->y_blocked));
    ei_fused f = {.act = cc->act, .residual = cc->residual};
    if (cc->act == EI_ACT_CLIP) f.alpha = 0.0f, f.beta = 6.0f;
    if (cc->act == EI_ACT_LEAKY_RELU) f.alpha = 0.1f;
    if (cc->act == EI_ACT_HARD_SIGMOID || cc->act == EI_ACT_HARD_SWISH) f.alpha = 1.0f / 6.0f, f.beta = 0.5f;
    EI_CHECK_OK(ei_fused_set(n, &f));
    EI_CHECK_OK(ei_graph_sort(g));
    ei_status * st = n->def->import(n);
    if (!st) st = n->def->infer(g, n);
    EI_CHECK_OK(st);
    if (st) {
        ei_graph_destroy(g);
        return;
    }
    EI_CHECK(g->values[y].dtype == EI_DTYPE_F32 && ei_shape_equal(&g->values[y].shape, &yg));

    /* Inputs: x plain random (some values saturate), packed when blocked; the residual likewise. */
    ei_tensor *xp = NULL, *xt = NULL, *rp = NULL, *rt = NULL, *yr = NULL, *yk = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &xs, &xp));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &xg, &xt));
    float * xv = xp->data;
    float   range = x_scale * (cc->x_unsigned ? 255.0f : 127.0f) * 1.1f;
    for (int64_t i = 0; i < ei_shape_numel(&xs); i++)
        xv[i] = cc->x_unsigned ? frand() * range : (2.0f * frand() - 1.0f) * range;
    if (cc->x_blocked)
        ei_blocked8_pack(pool, xv, xt->data, cc->n, cc->c, cc->h * cc->w);
    else
        memcpy(xt->data, xv, xp->nbytes);
    if (cc->residual) {
        EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ys, &rp));
        EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &yg, &rt));
        for (int64_t i = 0; i < ei_shape_numel(&ys); i++) ((float *)rp->data)[i] = 2.0f * frand() - 1.0f;
        if (cc->y_blocked)
            ei_blocked8_pack(pool, rp->data, rt->data, cc->n, cc->m, oh * ow);
        else
            memcpy(rt->data, rp->data, rp->nbytes);
    }
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &yg, &yr));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &yg, &yk));
    const ei_tensor * in[5] = {xt, wq, wsc, bt, rt};
    ei_exec           ex = {pool};
    EI_CHECK_OK(n->def->run(n, in, &yr, &ex));

    /* Unblocked copies of both results. */
    ei_tensor *yrp = NULL, *ykp = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ys, &yrp));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ys, &ykp));
    if (cc->y_blocked)
        ei_blocked8_unpack(pool, yr->data, yrp->data, cc->n, cc->m, oh * ow);
    else
        memcpy(yrp->data, yr->data, yr->nbytes);

    /* The oracle: direct loops over the quantised integers, in double. */
    const float *  yref = yrp->data;
    const int8_t * wv = wq->data;
    int32_t        bad_oracle = 0;
    float          inv = 1.0f / x_scale;
    for (int64_t b = 0; b < cc->n; b++)
        for (int64_t o = 0; o < cc->m; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    int64_t acc = 0, c0 = (o / (cc->m / cc->group)) * cg;
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t a = 0; a < k; a++)
                            for (int64_t e = 0; e < k; e++) {
                                int64_t ih = i * cc->stride - cc->pad + a * cc->dil;
                                int64_t iw = j * cc->stride - cc->pad + e * cc->dil;
                                if (ih < 0 || ih >= cc->h || iw < 0 || iw >= cc->w) continue;
                                float   xq = nearbyintf(xv[((b * cc->c + c0 + ci) * cc->h + ih) * cc->w + iw] * inv);
                                float   lo = cc->x_unsigned ? 0.0f : -127.0f, hi = cc->x_unsigned ? 255.0f : 127.0f;
                                int64_t q = (int64_t)(xq < lo ? lo : (xq > hi ? hi : xq));
                                acc += q * wv[((o * cg + ci) * k + a) * k + e];
                            }
                    double  s = (double)x_scale * ((const float *)wsc->data)[o];
                    double  v = (double)acc * s + (bt ? ((const float *)bt->data)[o] : 0.0);
                    int64_t idx = ((b * cc->m + o) * oh + i) * ow + j;
                    if (rp) v += ((const float *)rp->data)[idx];
                    float fv = (float)v;
                    ei_fused_act_apply(&f, &fv, 1);
                    if (!(fabs(fv - yref[idx]) <= 1e-4 * fabs(fv) + 1e-5 + 1e-3 * s)) bad_oracle++;
                }
    EI_CHECK(bad_oracle == 0);

    /* The optimised kernel against the reference. */
    const ei_cpu_kernel * kern_impl = ei_cpu_kernel_for(g, n);
    if (kern_impl) {
        void * state = NULL;
        st = kern_impl->prepare ? kern_impl->prepare(g, n, ei_threadpool_size(pool), &state) : NULL;
        EI_CHECK_OK(st);
        if (state) g_optimised++;
        if (!st) EI_CHECK_OK(kern_impl->run(n, state, in, &yk, &ex));
        if (kern_impl->release) kern_impl->release(state);
        if (cc->y_blocked)
            ei_blocked8_unpack(pool, yk->data, ykp->data, cc->n, cc->m, oh * ow);
        else
            memcpy(ykp->data, yk->data, yk->nbytes);
        int32_t       bad = 0;
        double        worst = 0.0;
        const float * yo = ykp->data;
        for (int64_t i = 0; i < ei_shape_numel(&ys); i++) {
            int64_t o = (i / (oh * ow)) % cc->m;
            double  step = (double)x_scale * ((const float *)wsc->data)[o];
            double  d = fabs((double)yo[i] - yref[i]);
            if (!(d <= step + 1e-5 * fabs(yref[i]) + 1e-6)) bad++;
            if (d / step > worst) worst = d / step;
        }
        if (bad)
            fprintf(stderr,
                    "case n%lld c%lld %lldx%lld m%lld g%lld k%lld s%lld p%lld d%lld bias%d res%d u%d xb%d yb%d act %s: "
                    "%d outputs differ by more than one step (worst %.2f steps)\n",
                    (long long)cc->n, (long long)cc->c, (long long)cc->h, (long long)cc->w, (long long)cc->m,
                    (long long)cc->group, (long long)cc->k, (long long)cc->stride, (long long)cc->pad,
                    (long long)cc->dil, cc->bias, cc->residual, cc->x_unsigned, cc->x_blocked, cc->y_blocked,
                    ei_act_name(cc->act), bad, worst);
        EI_CHECK(bad == 0);
    }
    ei_tensor_destroy(xp);
    ei_tensor_destroy(xt);
    ei_tensor_destroy(rp);
    ei_tensor_destroy(rt);
    ei_tensor_destroy(yr);
    ei_tensor_destroy(yk);
    ei_tensor_destroy(yrp);
    ei_tensor_destroy(ykp);
    ei_graph_destroy(g);
}

static void fixed_cases(void) {
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(2, &pool));
    const conv_case cases[] = {
        /* n c h w m group k stride pad dil | bias res u xb yb act */
        {1, 16, 12, 12, 24, 1, 3, 1, 1, 1, true, false, true, true, true, EI_ACT_RELU},
        {1, 16, 12, 12, 16, 16, 3, 1, 1, 1, true, false, true, true, true, EI_ACT_CLIP},   /* depthwise */
        {1, 24, 13, 11, 24, 24, 3, 2, 1, 1, true, false, false, true, true, EI_ACT_NONE},  /* dw, stride 2 */
        {2, 16, 9, 9, 32, 2, 1, 1, 0, 1, false, true, false, true, true, EI_ACT_RELU},     /* 1x1 grouped */
        {1, 3, 15, 15, 16, 1, 3, 2, 1, 1, true, false, false, false, true, EI_ACT_SILU},   /* image layer */
        {1, 12, 10, 10, 20, 1, 3, 1, 2, 2, true, true, true, true, true, EI_ACT_NONE},     /* dilated, residual */
        {1, 8, 8, 8, 8, 1, 1, 1, 0, 1, true, true, true, false, false, EI_ACT_HARD_SWISH}, /* plain, residual */
        {1, 10, 7, 9, 6, 2, 3, 1, 1, 1, true, false, false, false, false, EI_ACT_LEAKY_RELU},
        {1, 16, 6, 6, 24, 1, 3, 1, 1, 1, true, false, true, true, true, EI_ACT_SIGMOID},
        {1, 16, 6, 6, 24, 1, 3, 1, 1, 1, false, false, false, true, true, EI_ACT_HARD_SIGMOID},
        {1, 16, 6, 6, 24, 1, 3, 1, 1, 1, true, false, true, true, true, EI_ACT_GELU},
        {1, 16, 6, 6, 24, 1, 3, 1, 1, 1, true, false, false, true, true, EI_ACT_TANH},
        {1, 16, 6, 6, 24, 1, 1, 1, 0, 1, true, true, false, true, false, EI_ACT_GELU_TANH}, /* blocked in, plain out */
        {1, 64, 20, 20, 96, 1, 1, 1, 0, 1, true, false, true, true, true, EI_ACT_RELU},     /* long reduction */
        {1, 64, 10, 10, 64, 1, 3, 1, 1, 1, true, true, false, true, true, EI_ACT_RELU},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], pool);
    ei_threadpool_destroy(pool);
}

static void random_cases(void) {
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(2, &pool));
    for (int32_t t = 0; t < 40; t++) {
        conv_case cc;
        memset(&cc, 0, sizeof cc);
        cc.n = 1 + (frand() < 0.2f);
        int32_t kind = (int32_t)(frand() * 3); /* 0 dense, 1 depthwise, 2 grouped */
        cc.c = 8 * (1 + (int64_t)(frand() * 4)) + (kind == 0 ? (int64_t)(frand() * 8) : 0);
        cc.group = kind == 1 ? cc.c : (kind == 2 ? 2 : 1);
        cc.m = kind == 1 ? cc.c : 8 * (1 + (int64_t)(frand() * 4)) * (kind == 2 ? 2 : 1);
        cc.k = 1 + 2 * (int64_t)(frand() * 2);
        cc.stride = 1 + (frand() < 0.3f);
        cc.dil = cc.k > 1 && frand() < 0.2f ? 2 : 1;
        cc.pad = cc.k > 1 ? (int64_t)(frand() * 3) : 0;
        cc.h = 5 + (int64_t)(frand() * 10);
        cc.w = 5 + (int64_t)(frand() * 10);
        cc.bias = frand() < 0.7f;
        cc.residual = frand() < 0.3f;
        cc.x_unsigned = frand() < 0.5f;
        cc.x_blocked = frand() < 0.7f;
        cc.y_blocked = frand() < 0.7f;
        cc.act = (ei_act_kind)(int32_t)(frand() * 5); /* none, relu, clip, leaky, hard-sigmoid */
        run_case(&cc, pool);
    }
    ei_threadpool_destroy(pool);
}

/* ---- requantisation fused: a quantised NHWC X read as it is, a quantised NHWC Y written ---- */

/* One ei.ConvInt8 node over constant weights (shared by the caller), X of dtype xdt and shape xs,
 * and y_scale (0: float Y). */
static ei_graph * one_conv(const conv_case * cc, ei_dtype xdt, const ei_shape * xs, ei_tensor * wq, ei_tensor * wsc,
                           ei_tensor * bt, float x_scale, float y_scale, bool y_unsigned, ei_node ** out) {
    ei_graph * g = NULL;
    if (ei_graph_create(&g)) abort();
    ei_tensor *w2 = NULL, *s2 = NULL, *b2 = NULL;
    if (ei_tensor_clone(wq, &w2) || ei_tensor_clone(wsc, &s2) || (bt && ei_tensor_clone(bt, &b2))) abort();
    ei_shape  ms = {.rank = 1, .dim = {cc->m}};
    int32_t   ins[4] = {add_value(g, "x", xdt, xs, NULL), add_value(g, "w", EI_DTYPE_I8, &wq->shape, w2),
                        add_value(g, "ws", EI_DTYPE_F32, &ms, s2), bt ? add_value(g, "b", EI_DTYPE_F32, &ms, b2) : -1};
    ei_shape  none = {.rank = 0};
    int32_t   y = add_value(g, "y", EI_DTYPE_UNDEFINED, &none, NULL);
    ei_node * n = NULL;
    if (ei_graph_node_add(g, &n)) abort();
    n->name = strdup("conv");
    n->op_type = strdup("ei.ConvInt8");
    n->domain = strdup("");
    n->def = ei_op_find("", "ei.ConvInt8");
    n->n_inputs = bt ? 4 : 3;
    n->inputs = malloc(sizeof ins);
    memcpy(n->inputs, ins, sizeof ins);
    n->n_outputs = 1;
    n->outputs = malloc(sizeof(int32_t));
    n->outputs[0] = y;
    int64_t st[2] = {cc->stride, cc->stride}, dl[2] = {cc->dil, cc->dil},
            pads[4] = {cc->pad, cc->pad, cc->pad, cc->pad};
    EI_CHECK_OK(ei_node_set_attr_ints(n, "strides", st, 2));
    EI_CHECK_OK(ei_node_set_attr_ints(n, "dilations", dl, 2));
    EI_CHECK_OK(ei_node_set_attr_ints(n, "pads", pads, 4));
    EI_CHECK_OK(ei_node_set_attr_int(n, "group", cc->group));
    EI_CHECK_OK(ei_node_set_attr_float(n, "ei.x_scale", x_scale));
    EI_CHECK_OK(ei_node_set_attr_int(n, "ei.x_unsigned", cc->x_unsigned));
    EI_CHECK_OK(ei_node_set_attr_float(n, "ei.y_scale", y_scale));
    EI_CHECK_OK(ei_node_set_attr_int(n, "ei.y_unsigned", y_unsigned));
    ei_fused f = {.act = cc->act};
    if (cc->act == EI_ACT_CLIP) f.alpha = 0.0f, f.beta = 6.0f;
    EI_CHECK_OK(ei_fused_set(n, &f));
    EI_CHECK_OK(ei_graph_sort(g));
    EI_CHECK_OK(n->def->import(n));
    EI_CHECK_OK(n->def->infer(g, n));
    *out = n;
    return g;
}

/* Runs the optimised kernel of n when there is one (else leaves y untouched); false without. */
static bool run_optimised(const ei_graph * g, const ei_node * n, const ei_tensor * const * in, ei_tensor * y,
                          ei_threadpool * pool) {
    const ei_cpu_kernel * k = ei_cpu_kernel_for(g, n);
    if (!k) return false;
    void *      state = NULL;
    ei_exec     ex = {pool};
    ei_status * st = k->prepare ? k->prepare(g, n, ei_threadpool_size(pool), &state) : NULL;
    EI_CHECK_OK(st);
    if (state) g_optimised++;
    if (!st) EI_CHECK_OK(k->run(n, state, in, &y, &ex));
    if (k->release) k->release(state);
    return true;
}

static void requant_case(const conv_case * cc, ei_threadpool * pool) {
    int64_t    cg = cc->c / cc->group, k = cc->k, hw = cc->h * cc->w;
    int64_t    ekh = (k - 1) * cc->dil + 1;
    int64_t    oh = (cc->h + 2 * cc->pad - ekh) / cc->stride + 1, ow = (cc->w + 2 * cc->pad - ekh) / cc->stride + 1;
    ei_shape   xs = {.rank = 4, .dim = {cc->n, cc->c, cc->h, cc->w}};
    ei_shape   xq = {.rank = 4, .dim = {cc->n, cc->h, cc->w, cc->c}};
    ei_shape   ws = {.rank = 4, .dim = {cc->m, cg, k, k}}, ms = {.rank = 1, .dim = {cc->m}};
    float      x_scale = 0.02f + 0.05f * frand(), y_scale = 0.05f + 0.1f * frand();
    bool       y_unsigned = cc->act == EI_ACT_RELU || cc->act == EI_ACT_CLIP;
    ei_tensor *wq = NULL, *wsc = NULL, *bt = NULL, *xf = NULL, *xi = NULL, *y1 = NULL, *y2 = NULL, *y3 = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_I8, &ws, &wq));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ms, &wsc));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ms, &bt));
    for (int64_t i = 0; i < ei_shape_numel(&ws); i++)
        ((int8_t *)wq->data)[i] = (int8_t)((int32_t)(frand() * (2 * EI_INT8_WEIGHT_MAX + 1)) - EI_INT8_WEIGHT_MAX);
    for (int64_t i = 0; i < cc->m; i++) ((float *)wsc->data)[i] = 0.001f + 0.01f * frand();
    for (int64_t i = 0; i < cc->m; i++) ((float *)bt->data)[i] = frand() - 0.5f;
    /* X: float NCHW and its quantised NHWC twin. */
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &xs, &xf));
    EI_CHECK_OK(ei_tensor_create(cc->x_unsigned ? EI_DTYPE_U8 : EI_DTYPE_I8, &xq, &xi));
    float range = x_scale * (cc->x_unsigned ? 255.0f : 127.0f) * 1.1f;
    for (int64_t b = 0; b < cc->n; b++)
        for (int64_t c = 0; c < cc->c; c++)
            for (int64_t i = 0; i < hw; i++) {
                float v = cc->x_unsigned ? frand() * range : (2.0f * frand() - 1.0f) * range;
                ((float *)xf->data)[(b * cc->c + c) * hw + i] = v;
                ((uint8_t *)xi->data)[(b * hw + i) * cc->c + c] =
                    (uint8_t)ei_quantize_value(v, 1.0f / x_scale, cc->x_unsigned);
            }
    ei_node *        n1 = NULL, *n2 = NULL;
    ei_graph *       g1 = one_conv(cc, EI_DTYPE_F32, &xs, wq, wsc, bt, x_scale, 0.0f, false, &n1);
    ei_graph *       g2 = one_conv(cc, xi->dtype, &xq, wq, wsc, bt, x_scale, y_scale, y_unsigned, &n2);
    const ei_value * yv = &g2->values[n2->outputs[0]];
    ei_shape         yq = {.rank = 4, .dim = {cc->n, oh, ow, cc->m}};
    EI_CHECK(yv->dtype == (y_unsigned ? EI_DTYPE_U8 : EI_DTYPE_I8) && ei_shape_equal(&yv->shape, &yq));
    ei_shape ys = {.rank = 4, .dim = {cc->n, cc->m, oh, ow}};
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &ys, &y1));
    EI_CHECK_OK(ei_tensor_create(yv->dtype, &yq, &y2));
    EI_CHECK_OK(ei_tensor_create(yv->dtype, &yq, &y3));
    ei_exec           ex = {pool};
    const ei_tensor * in1[4] = {xf, wq, wsc, bt};
    const ei_tensor * in2[4] = {xi, wq, wsc, bt};
    EI_CHECK_OK(n1->def->run(n1, in1, &y1, &ex));
    EI_CHECK_OK(n2->def->run(n2, in2, &y2, &ex));
    /* The reference: exactly the float result quantised. */
    int32_t bad = 0, bad_opt = 0;
    int64_t ohw = oh * ow;
    for (int64_t b = 0; b < cc->n; b++)
        for (int64_t o = 0; o < cc->m; o++)
            for (int64_t i = 0; i < ohw; i++) {
                int32_t want =
                    ei_quantize_value(((float *)y1->data)[(b * cc->m + o) * ohw + i], 1.0f / y_scale, y_unsigned);
                int64_t at = (b * ohw + i) * cc->m + o;
                int32_t got = y_unsigned ? ((uint8_t *)y2->data)[at] : ((int8_t *)y2->data)[at];
                bad += got != want;
            }
    EI_CHECK(bad == 0);
    /* The optimised kernel: within one step of Y (float rounding can move a value across a half). */
    if (run_optimised(g2, n2, in2, y3, pool)) {
        for (int64_t i = 0; i < ei_shape_numel(&yq); i++) {
            int32_t a = y_unsigned ? ((uint8_t *)y2->data)[i] : ((int8_t *)y2->data)[i];
            int32_t b = y_unsigned ? ((uint8_t *)y3->data)[i] : ((int8_t *)y3->data)[i];
            if (abs(a - b) > 1 && bad_opt++ < 3)
                fprintf(stderr, "requant case m=%lld act=%d: element %lld: reference %d, optimised %d\n",
                        (long long)cc->m, (int)cc->act, (long long)i, a, b);
        }
        EI_CHECK(bad_opt == 0);
    }
    ei_graph_destroy(g1);
    ei_graph_destroy(g2);
    ei_tensor_destroy(wq);
    ei_tensor_destroy(wsc);
    ei_tensor_destroy(bt);
    ei_tensor_destroy(xf);
    ei_tensor_destroy(xi);
    ei_tensor_destroy(y1);
    ei_tensor_destroy(y2);
    ei_tensor_destroy(y3);
}

static void requant_cases(void) {
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(2, &pool));
    const conv_case cases[] = {
        {1, 16, 12, 12, 24, 1, 3, 1, 1, 1, true, false, true, false, false, EI_ACT_RELU},
        {1, 16, 12, 12, 16, 16, 3, 2, 1, 1, true, false, false, false, false, EI_ACT_NONE},
        {2, 24, 9, 9, 32, 1, 1, 1, 0, 1, true, false, true, false, false, EI_ACT_CLIP},
        {1, 12, 10, 10, 20, 2, 3, 1, 2, 2, true, false, false, false, false, EI_ACT_SILU},
        {1, 64, 13, 13, 40, 1, 1, 1, 0, 1, true, false, true, false, false, EI_ACT_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) requant_case(&cases[i], pool);
    ei_threadpool_destroy(pool);
}

static void bad_attributes(void) {
    ei_node n;
    memset(&n, 0, sizeof n);
    n.name = "q";
    n.op_type = "ei.ConvInt8";
    ei_attr a = {.name = "ei.x_scale", .type = EI_ATTR_FLOAT, .f = 0.0f};
    n.attrs = &a;
    n.n_attrs = 1;
    EI_CHECK_ERROR(ei_op_find("", "ei.ConvInt8")->import(&n), EI_CODE_INVALID_MODEL, "ei.x_scale");
    a.f = -1.0f;
    EI_CHECK_ERROR(ei_op_find("", "ei.ConvInt8")->import(&n), EI_CODE_INVALID_MODEL, "above zero");
    ei_attr two[3] = {{.name = "ei.x_scale", .type = EI_ATTR_FLOAT, .f = 1.0f},
                      {.name = "ei.y_scale", .type = EI_ATTR_FLOAT, .f = 0.5f},
                      {.name = "ei.residual", .type = EI_ATTR_INT, .i = 1}};
    n.attrs = two;
    n.n_attrs = 3;
    EI_CHECK_ERROR(ei_op_find("", "ei.ConvInt8")->import(&n), EI_CODE_INVALID_MODEL, "without residual");
    two[1].f = -0.5f;
    EI_CHECK_ERROR(ei_op_find("", "ei.ConvInt8")->import(&n), EI_CODE_INVALID_MODEL, "ei.y_scale");
    EI_CHECK(ei_quantize_value(1e9f, 1.0f, false) == 127 && ei_quantize_value(-1e9f, 1.0f, false) == -127);
    EI_CHECK(ei_quantize_value(-3.0f, 1.0f, true) == 0 && ei_quantize_value(300.0f, 1.0f, true) == 255);
    EI_CHECK(ei_quantize_value(2.5f, 1.0f, false) == 2 && ei_quantize_value(3.5f, 1.0f, false) == 4);
    EI_CHECK(ei_quantize_value(NAN, 1.0f, false) == -127);
}

int main(void) {
    EI_RUN(fixed_cases);
    EI_RUN(random_cases);
    EI_RUN(requant_cases);
    EI_RUN(bad_attributes);
    printf("%d cases ran the optimised kernel\n", g_optimised);
    EI_TEST_EXIT();
}
