/* Conv and ConvTranspose through oneDNN's direct (de)convolution, 1-D to 3-D, any group count,
 * strides, dilations, asymmetric pads, bias, fused activation and residual. Activations stay in
 * the graph's plain NCHW layout: asking for oneDNN's blocked layout (8-channel blocks, JIT AVX2
 * kernels) per node costs two activation reorders per conv and moved YOLOX-nano's error against
 * ONNX Runtime past 1e-4; weights are reordered once at prepare into the layout the primitive
 * prefers. Direct algorithms only: Winograd loses float32 accuracy. */
#include <stdlib.h>
#include <string.h>

#include "cpu/dnnl/dnnl_kernels.h"
#include "cpu/dnnl/dnnl_prim.h"
#include "cpu/pw1x1.h"
#include "ops/conv_geometry.h"

/* Inputs of a (possibly fused) Conv or ConvTranspose: X, W, optional B, then the residual. */
typedef struct conv_inputs {
    ei_fused f;
    int32_t  bias; /* input index or -1 */
    int32_t  res;  /* input index or -1 */
} conv_inputs;

static bool conv_inputs_read(const ei_graph * g, const ei_node * node, conv_inputs * ci) {
    if (!ei_dnnl_fused_ok(g, node, &ci->f)) return false;
    ci->res = ei_dnnl_residual_input(node, &ci->f);
    int32_t n_base = ci->res >= 0 ? node->n_inputs - 1 : node->n_inputs;
    if (n_base < 2 || n_base > 3) return false;
    ci->bias = n_base == 3 && node->inputs[2] >= 0 ? 2 : -1;
    return true;
}

static bool conv_common_supports(const ei_graph * g, const ei_node * node) {
    conv_inputs ci;
    if (node->n_outputs < 1 || node->outputs[0] < 0 || node->n_inputs < 2 || node->inputs[0] < 0 || node->inputs[1] < 0)
        return false;
    if (!conv_inputs_read(g, node, &ci)) return false;
    const ei_value * x = &g->values[node->inputs[0]];
    const ei_value * w = &g->values[node->inputs[1]];
    if (!ei_dnnl_is_f32(g, node->inputs[0]) || !ei_dnnl_is_weight(g, node->inputs[1]) ||
        !ei_dnnl_is_f32(g, node->outputs[0]) || (ci.bias >= 0 && !ei_dnnl_is_f32(g, node->inputs[ci.bias])))
        return false;
    /* Constant weights: reordered once at prepare. */
    return x->shape.rank >= 3 && x->shape.rank <= 5 && w->constant && ei_shape_numel(&x->shape) > 0;
}

/* Fills what Conv and ConvTranspose share; wei (plain) is set by the caller. */
static void conv_spec_common(const ei_graph * g, const ei_node * node, const conv_inputs * ci, int32_t n_threads,
                             ei_dnnl_spec * s) {
    memset(s, 0, sizeof *s);
    const ei_shape * xs = &g->values[node->inputs[0]].shape;
    const ei_shape * ys = &g->values[node->outputs[0]].shape;
    ei_dnnl_md_plain(&s->src, xs->rank, xs->dim);
    ei_dnnl_md_plain(&s->dst, ys->rank, ys->dim);
    s->src_want = s->src;
    s->dst_want = s->dst;
    const ei_tensor * w = ei_node_input_const(g, node, 1);
    s->wei_const = w->data;
    s->wei_dtype = w->dtype;
    s->round_src = ei_half_round_mode(node);
    s->wei_scale = 1.0f;
    s->bias_scale = 1.0f;
    s->has_bias = ci->bias >= 0;
    if (s->has_bias) {
        ei_dnnl_md_plain(&s->bias, 1, &ys->dim[1]);
        const ei_tensor * b = ei_node_input_const(g, node, ci->bias);
        s->bias_const = b ? b->data : NULL;
        s->bias_input = ci->bias;
    }
    s->res_input = ci->res;
    s->fused = ci->f;
    s->n_threads = n_threads;
}

static bool conv_supports(const ei_graph * g, const ei_node * node) { return conv_common_supports(g, node); }

static ei_status * conv_prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    conv_inputs ci;
    conv_inputs_read(g, node, &ci);
    const ei_shape * xs = &g->values[node->inputs[0]].shape;
    const ei_shape * ws = &g->values[node->inputs[1]].shape;
    const ei_shape * ys = &g->values[node->outputs[0]].shape;
    ei_window_attrs  a;
    ei_window_geom   geom;
    int64_t          group;
    int32_t          nsp = xs->rank - 2;
    EI_TRY(ei_window_attrs_read(node, true, &a));
    EI_TRY(ei_window_resolve(node, &a, EI_WINDOW_CONV, nsp, xs->dim + 2, ws->dim + 2, &geom));
    EI_TRY(ei_attr_get_int(node, "group", 1, &group));
    ei_dnnl_spec s;
    conv_spec_common(g, node, &ci, n_threads, &s);
    /* W [M, C/g, k...] is [g, M/g, C/g, k...] in oneDNN's grouped view. */
    int64_t wd[EI_MAX_RANK + 1];
    int32_t wr = 0;
    if (group > 1) wd[wr++] = group;
    wd[wr++] = ws->dim[0] / group;
    for (int32_t i = 1; i < ws->rank; i++) wd[wr++] = ws->dim[i];
    ei_dnnl_md_plain(&s.wei, wr, wd);
    ei_dnnl_md_any(&s.wei_want, wr, wd);
    dnnl_dims_t strides, dil, pl, pr;
    for (int32_t i = 0; i < nsp; i++) {
        strides[i] = geom.stride[i];
        dil[i] = geom.dilation[i] - 1;
        pl[i] = geom.pad_begin[i];
        pr[i] = geom.pad_end[i];
    }
    (void)ys;
    dnnl_convolution_desc_t desc;
    if (dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &s.src_want,
                                                   &s.wei_want, s.has_bias ? &s.bias : NULL, &s.dst_want, strides, dil,
                                                   pl, pr) != dnnl_success)
        return ei_dnnl_state_finish(node, NULL, NULL, state);
    return ei_dnnl_state_finish(node, &desc, &s, state);
}

const ei_cpu_kernel ei_dnnl_conv = {
    .supports = conv_supports,
    .prepare = conv_prepare,
    .run = ei_dnnl_kernel_run,
    .release = ei_dnnl_kernel_release,
};

/* ei.ConvBlocked8 (ops/blocked8.h): X blocked [N, C/8, H, W, 8] (or plain [N, C, H, W] for a first
 * layer), Y and the residual blocked. Described to oneDNN as nChw8c with the real channel counts,
 * so the JIT kernels (jit_1x1, jit_dw, jit) take the graph's tensors without any reorder; oneDNN
 * pads the weights with zeros, so padding lanes of X never reach Y. */
static bool convb_supports(const ei_graph * g, const ei_node * node) {
    if (!conv_common_supports(g, node)) return false;
    return g->values[node->inputs[1]].shape.rank == 4;
}

/* The state of an ei.ConvBlocked8 node: oneDNN's primitive, or our pointwise kernel (cpu/pw1x1.h)
 * for the 1x1 convolutions of small images where it beats oneDNN's jit_1x1. */
typedef struct convb_state {
    ei_dnnl_state d; /* first: ei_dnnl_kernel_run takes it */
    ei_pw1x1 *    pw;
    int32_t       res; /* residual input of pw, or -1 */
} convb_state;

/* Our pointwise kernel for a blocked 1x1, stride 1, unpadded, ungrouped conv with float32 constant
 * weights and bias, when ei_pw1x1_wanted; *out stays NULL otherwise. */
static ei_status * convb_pw_create(const ei_graph * g, const ei_node * node, const conv_inputs * ci, int64_t group,
                                   const ei_window_geom * geom, ei_pw1x1 ** out) {
    *out = NULL;
    const ei_shape *  xs = &g->values[node->inputs[0]].shape;
    const ei_shape *  ws = &g->values[node->inputs[1]].shape;
    const ei_tensor * w = ei_node_input_const(g, node, 1);
    const ei_tensor * b = ci->bias >= 0 ? ei_node_input_const(g, node, ci->bias) : NULL;
    if (xs->rank != 5 || group != 1 || ws->dim[2] != 1 || ws->dim[3] != 1 || !w || w->dtype != EI_DTYPE_F32 ||
        (ci->bias >= 0 && (!b || b->dtype != EI_DTYPE_F32)) || ei_half_round_mode(node) != EI_PRECISION_FP32)
        return NULL;
    for (int32_t i = 0; i < 2; i++)
        if (geom->stride[i] != 1 || geom->dilation[i] != 1 || geom->pad_begin[i] || geom->pad_end[i]) return NULL;
    if (!ei_pw1x1_wanted(ws->dim[1], ws->dim[0], xs->dim[2] * xs->dim[3])) return NULL;
    return ei_pw1x1_create(ws->dim[1], ws->dim[0], w->data, b ? b->data : NULL, &ci->f, out);
}

static ei_status * convb_prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    conv_inputs ci;
    conv_inputs_read(g, node, &ci);
    const ei_shape * xs = &g->values[node->inputs[0]].shape;
    const ei_shape * ws = &g->values[node->inputs[1]].shape;
    const ei_shape * ys = &g->values[node->outputs[0]].shape;
    ei_window_attrs  a;
    ei_window_geom   geom;
    int64_t          group;
    EI_TRY(ei_attr_get_int(node, "group", 1, &group));
    EI_TRY(ei_window_attrs_read(node, true, &a));
    int64_t xd[4] = {xs->dim[0], xs->rank == 5 ? ws->dim[1] * group : xs->dim[1], xs->dim[2], xs->dim[3]};
    int64_t yd[4] = {ys->dim[0], ws->dim[0], ys->dim[2], ys->dim[3]};
    EI_TRY(ei_window_resolve(node, &a, EI_WINDOW_CONV, 2, xd + 2, ws->dim + 2, &geom));
    ei_dnnl_spec s;
    conv_spec_common(g, node, &ci, n_threads, &s);
    if (s.has_bias) ei_dnnl_md_plain(&s.bias, 1, &ws->dim[0]); /* Y's dim 1 counts blocks */
    dnnl_dims_t d;
    for (int32_t i = 0; i < 4; i++) d[i] = xd[i];
    if (xs->rank == 5)
        dnnl_memory_desc_init_by_tag(&s.src, 4, d, dnnl_f32, dnnl_nChw8c);
    else
        ei_dnnl_md_plain(&s.src, 4, xd);
    for (int32_t i = 0; i < 4; i++) d[i] = yd[i];
    dnnl_memory_desc_init_by_tag(&s.dst, 4, d, dnnl_f32, dnnl_nChw8c);
    s.src_want = s.src;
    s.dst_want = s.dst;
    int64_t wd[5];
    int32_t wr = 0;
    if (group > 1) wd[wr++] = group;
    wd[wr++] = ws->dim[0] / group;
    for (int32_t i = 1; i < 4; i++) wd[wr++] = ws->dim[i];
    ei_dnnl_md_plain(&s.wei, wr, wd);
    ei_dnnl_md_any(&s.wei_want, wr, wd);
    dnnl_dims_t strides, dil, pl, pr;
    for (int32_t i = 0; i < 2; i++) {
        strides[i] = geom.stride[i];
        dil[i] = geom.dilation[i] - 1;
        pl[i] = geom.pad_begin[i];
        pr[i] = geom.pad_end[i];
    }
    /* First the graph's layouts as they are; when oneDNN has only its reference implementation for
     * them (dilated convolutions, a plain input of 9 to 15 channels), the layouts it prefers, with
     * reorders inside the kernel. */
    convb_state * cs = calloc(1, sizeof *cs);
    if (!cs) return ei_status_oom();
    *state = cs;
    cs->res = ci.res;
    EI_TRY(convb_pw_create(g, node, &ci, group, &geom, &cs->pw));
    if (cs->pw) return NULL;
    ei_dnnl_state * st = &cs->d;
    for (int32_t attempt = 0; attempt < 2 && !st->prim; attempt++) {
        if (attempt == 1) {
            ei_dnnl_md_any(&s.src_want, 4, xd);
            ei_dnnl_md_any(&s.dst_want, 4, yd);
        }
        s.refuse_ref = attempt == 0;
        dnnl_convolution_desc_t desc;
        if (dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                                       &s.src_want, &s.wei_want, s.has_bias ? &s.bias : NULL,
                                                       &s.dst_want, strides, dil, pl, pr) != dnnl_success)
            continue;
        EI_TRY(ei_dnnl_prim_create(node, &desc, &s, &st->prim));
    }
    return NULL;
}

static ei_status * convb_run(const ei_node * node, void * state, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    convb_state * cs = state;
    if (!cs->pw) return ei_dnnl_kernel_run(node, &cs->d, in, out, ex);
    const ei_shape * xs = &in[0]->shape;
    ei_pw1x1_run(cs->pw, ex ? ex->pool : NULL, in[0]->data, cs->res >= 0 ? in[cs->res]->data : NULL, out[0]->data,
                 xs->dim[0], xs->dim[2] * xs->dim[3]);
    return NULL;
}

static void convb_release(void * state) {
    convb_state * cs = state;
    if (!cs) return;
    ei_pw1x1_destroy(cs->pw);
    ei_dnnl_prim_destroy(cs->d.prim);
    free(cs);
}

const ei_cpu_kernel ei_dnnl_conv_blocked8 = {
    .supports = convb_supports,
    .prepare = convb_prepare,
    .run = convb_run,
    .release = convb_release,
};

/* ConvTranspose: explicit (or VALID) pads only; output_shape and SAME_* stay with the reference. */
static bool convt_supports(const ei_graph * g, const ei_node * node) {
    if (!conv_common_supports(g, node)) return false;
    const int64_t * v;
    int32_t         n;
    const char *    ap;
    ei_status *     st = ei_attr_get_ints(node, "output_shape", &v, &n);
    if (!st) st = ei_attr_get_string(node, "auto_pad", "NOTSET", &ap);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    return n < 0 && (!strcmp(ap, "NOTSET") || !strcmp(ap, "VALID"));
}

static ei_status * convt_prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    conv_inputs ci;
    conv_inputs_read(g, node, &ci);
    const ei_shape * xs = &g->values[node->inputs[0]].shape;
    const ei_shape * ws = &g->values[node->inputs[1]].shape;
    ei_window_attrs  a;
    ei_window_geom   geom;
    int64_t          group;
    int32_t          nsp = xs->rank - 2;
    EI_TRY(ei_window_attrs_read(node, true, &a));
    EI_TRY(ei_window_setup(node, &a, nsp, xs->dim + 2, ws->dim + 2, &geom));
    EI_TRY(ei_attr_get_int(node, "group", 1, &group));
    if (a.auto_pad == EI_AUTO_PAD_VALID)
        for (int32_t i = 0; i < nsp; i++) geom.pad_begin[i] = geom.pad_end[i] = 0;
    ei_dnnl_spec s;
    conv_spec_common(g, node, &ci, n_threads, &s);
    /* W [C, M/g, k...] is [g, C/g, M/g, k...]; oneDNN's view is [g, M/g, C/g, k...]: strided. */
    int64_t     kprod = ei_dims_product(ws->dim + 2, nsp), cg = ws->dim[0] / group, mg = ws->dim[1];
    dnnl_dims_t wd, wstr;
    int32_t     wr = 0;
    if (group > 1) wd[wr] = group, wstr[wr++] = cg * mg * kprod;
    wd[wr] = mg, wstr[wr++] = kprod;
    wd[wr] = cg, wstr[wr++] = mg * kprod;
    for (int32_t i = 0; i < nsp; i++) {
        wd[wr] = ws->dim[2 + i];
        wstr[wr++] = ei_dims_product(ws->dim + 3 + i, nsp - 1 - i);
    }
    dnnl_memory_desc_init_by_strides(&s.wei, wr, wd, dnnl_f32, wstr);
    dnnl_memory_desc_init_by_tag(&s.wei_want, wr, wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_dims_t strides, dil, pl, pr;
    for (int32_t i = 0; i < nsp; i++) {
        strides[i] = geom.stride[i];
        dil[i] = geom.dilation[i] - 1;
        pl[i] = geom.pad_begin[i];
        pr[i] = geom.pad_end[i];
    }
    dnnl_deconvolution_desc_t desc;
    if (dnnl_dilated_deconvolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_deconvolution_direct,
                                                     &s.src_want, &s.wei_want, s.has_bias ? &s.bias : NULL, &s.dst_want,
                                                     strides, dil, pl, pr) != dnnl_success)
        return ei_dnnl_state_finish(node, NULL, NULL, state);
    return ei_dnnl_state_finish(node, &desc, &s, state);
}

const ei_cpu_kernel ei_dnnl_conv_transpose = {
    .supports = convt_supports,
    .prepare = convt_prepare,
    .run = ei_dnnl_kernel_run,
    .release = ei_dnnl_kernel_release,
};
