/* ei.ConvInt8 (src/ops/conv_int8.c) through oneDNN's int8 convolution: X (float32, plain or
 * blocked) is quantised by our own loop into a u8/s8 NHWC buffer the kernel owns (the layout of
 * oneDNN's x8s8s32x JIT kernels), the s8 weights are reordered once at prepare (oneDNN adds its
 * compensation terms there), the per-channel output scales x_scale * w_scale[m] dequantise, bias
 * is f32, and the fused activation and residual are post-ops. Y is float32, written in the graph's
 * layout directly when oneDNN's JIT kernel takes it, otherwise reordered from oneDNN's.
 *
 * Without VNNI, oneDNN halves the weights of an s8-input convolution at the weight reorder (its
 * "scale adjust", against vpmaddubsw's int16 saturation). Our weights have 7 bits
 * (EI_INT8_WEIGHT_MAX), so for s8 inputs we hand oneDNN 2 * q with half the scale: the halving is
 * exact and the integers are the reference kernel's on every CPU. */
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/dnnl/dnnl_kernels.h"
#include "cpu/dnnl/dnnl_prim.h"
#include "ops/blocked8.h"
#include "ops/conv_int8.h"

typedef struct int8_state {
    dnnl_primitive_t prim, dst_reorder, res_reorder;
    dnnl_stream_t    stream;
    dnnl_memory_t    src, wei, bias, dst, scratch, dst_user, res_user;
    void *           src_buf, *wei_buf, *dst_buf, *scratch_buf;
    float *          bias_buf;
    ei_fused         act_after; /* applied by us when oneDNN has no post-op for it */
    int32_t          n_threads, res_input;
    int64_t          n, c, h, w;   /* X, plain */
    int64_t          m, ohw;       /* Y's channels and pixels */
    bool             nhwc_blocked; /* oneDNN writes NHWC into dst_buf; we copy it to the blocked Y */
    bool             x_quantised;  /* X is the NHWC integers already: bound as oneDNN's src */
    float            y_inv_scale;  /* > 0: dst_buf (NHWC f32) is quantised into Y */
    bool             y_unsigned;
    bool             x_blocked, x_unsigned;
    bool             y_direct; /* oneDNN writes the quantised Y itself (requantisation as post-ops) */
    float            inv_scale;
} int8_state;

static void state_free(int8_state * s) {
    if (!s) return;
    dnnl_primitive_t prims[] = {s->prim, s->dst_reorder, s->res_reorder};
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {s->src, s->wei, s->bias, s->dst, s->scratch, s->dst_user, s->res_user};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->stream) dnnl_stream_destroy(s->stream);
    free(s->src_buf);
    free(s->wei_buf);
    free(s->dst_buf);
    free(s->scratch_buf);
    free(s->bias_buf);
    free(s);
}

static bool supports(const ei_graph * g, const ei_node * node) {
    ei_fused f;
    if (!node->params || node->n_outputs != 1 || node->outputs[0] < 0 || node->n_inputs < 3) return false;
    if (!ei_dnnl_fused_ok(g, node, &f)) return false;
    for (int32_t k = 0; k < 3; k++)
        if (node->inputs[k] < 0) return false;
    return ei_shape_numel(&g->values[node->inputs[0]].shape) > 0 && g->values[node->inputs[1]].constant &&
           g->values[node->inputs[2]].constant;
}

/* Output descriptor of the graph's Y: plain nchw or nChw8c, float32. */
static void graph_dst_md(dnnl_memory_desc_t * md, const int64_t * yd, bool blocked) {
    dnnl_dims_t d = {yd[0], yd[1], yd[2], yd[3]};
    dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, blocked ? dnnl_nChw8c : dnnl_nchw);
}

/* Creates the primitive descriptor for dst layout dst_tag (any or the graph's); NULL on refusal or
 * when only a reference implementation is offered and refuse_ref. */
static dnnl_primitive_desc_t make_pd(dnnl_engine_t eng, const dnnl_convolution_desc_t * desc,
                                     const_dnnl_primitive_attr_t attr, bool refuse_ref) {
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_primitive_desc_create(&pd, desc, attr, eng, NULL) != dnnl_success) return NULL;
    const char * impl = NULL;
    if (refuse_ref && (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
                       !strncmp(impl, "ref", 3))) {
        dnnl_primitive_desc_destroy(pd);
        return NULL;
    }
    return pd;
}

static ei_status * prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    *state = NULL;
    dnnl_engine_t eng;
    EI_TRY(ei_dnnl_engine(node, &eng));
    omp_set_num_threads(n_threads);
    const ei_conv_int8_params * p = node->params;
    const ei_value *            x = ei_node_input(g, node, 0);
    const ei_tensor *           wq = ei_node_input_const(g, node, 1);
    const ei_tensor *           ws = ei_node_input_const(g, node, 2);
    const ei_tensor *           b = ei_node_input_const(g, node, 3);
    bool                        has_bias = node->n_inputs > 3 && node->inputs[3] >= 0;
    ei_shape                    xs;
    ei_window_geom              geom;
    EI_TRY(ei_conv_int8_geometry(node, &x->shape, x->dtype, &wq->shape, &xs, &geom));
    if (has_bias && !b) return NULL; /* a runtime bias: the reference kernel runs (state NULL) */
    int64_t               m = wq->shape.dim[0], group = p->group, per = ei_shape_numel(&wq->shape) / m;
    int64_t               yd[4] = {xs.dim[0], m, geom.out[0], geom.out[1]};
    bool                  doubled = !p->x_unsigned && EI_INT8_WEIGHT_MAX <= 63; /* see the top of the file */
    ei_status *           st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t       po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_t         wplain = NULL;
    dnnl_primitive_t      wreorder = NULL;
    int8_t *              w2 = NULL;
    float *               scales = malloc((size_t)m * sizeof *scales);
    int8_state *          s = calloc(1, sizeof *s);
    if (!scales || !s) {
        free(scales);
        free(s);
        return ei_status_oom();
    }
    s->n_threads = n_threads;
    s->res_input = p->fused.residual ? node->n_inputs - 1 : -1;
    s->n = xs.dim[0], s->c = xs.dim[1], s->h = xs.dim[2], s->w = xs.dim[3];
    s->x_blocked = x->shape.rank == 5;
    s->x_quantised = ei_conv_int8_is_quantised(x->dtype);
    s->y_inv_scale = p->y_scale > 0.0f ? 1.0f / p->y_scale : 0.0f;
    s->y_unsigned = p->y_unsigned;
    s->x_unsigned = p->x_unsigned;
    s->inv_scale = 1.0f / p->x_scale;
    const float * wsv = ws->data;
    for (int64_t i = 0; i < m; i++) scales[i] = p->x_scale * wsv[i] * (doubled ? 0.5f : 1.0f);

    dnnl_memory_desc_t src_md, wei_md, wei_any, bias_md, dst_graph, dst_any;
    dnnl_dims_t        d = {xs.dim[0], xs.dim[1], xs.dim[2], xs.dim[3]};
    dnnl_memory_desc_init_by_tag(&src_md, 4, d, p->x_unsigned ? dnnl_u8 : dnnl_s8, dnnl_nhwc);
    dnnl_dims_t wd;
    int32_t     wr = 0;
    if (group > 1) wd[wr++] = group;
    wd[wr++] = m / group;
    for (int32_t i = 1; i < 4; i++) wd[wr++] = wq->shape.dim[i];
    dnnl_memory_desc_init_by_tag(&wei_md, wr, wd, dnnl_s8, wr == 5 ? dnnl_goihw : dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&wei_any, wr, wd, dnnl_s8, dnnl_format_tag_any);
    dnnl_dims_t bd = {m};
    dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_a);
    dnnl_dims_t yd2 = {yd[0], yd[1], yd[2], yd[3]};
    if (p->y_scale > 0.0f) /* f32 NHWC in our buffer, quantised after the primitive */
        dnnl_memory_desc_init_by_tag(&dst_graph, 4, yd2, dnnl_f32, dnnl_nhwc);
    else
        graph_dst_md(&dst_graph, yd, p->blocked);
    dnnl_memory_desc_init_by_tag(&dst_any, 4, yd2, dnnl_f32, dnnl_format_tag_any);
    dnnl_dims_t strides, dil, pl, pr;
    for (int32_t i = 0; i < 2; i++) {
        strides[i] = geom.stride[i];
        dil[i] = geom.dilation[i] - 1;
        pl[i] = geom.pad_begin[i];
        pr[i] = geom.pad_end[i];
    }
    EI_DNNL_TRY_GOTO(dnnl_stream_create(&s->stream, eng, dnnl_stream_default_flags), "stream");
    /* An activation applied by choice after the primitive: before the quantisation of Y
     * (requant_rows) or over the float Y, never inside the kernel. */
    bool act_ours = ei_dnnl_act_after_by_choice(&p->fused);
    if (p->y_scale > 0.0f && s->res_input < 0 && !act_ours) {
        /* Requantisation inside the kernel: Y = clamp(round(act(acc * scales) / y_scale)) written as
         * u8/s8 NHWC, saving an f32 buffer and a pass over it. The ReLU family commutes with a
         * positive scale, so 1 / y_scale goes into the output scales; other activations get a
         * linear post-op after them. The clip keeps s8 at [-127, 127] like ei_quantize_value
         * (the kernel would saturate at -128). oneDNN rounds half to even, as we do. */
        bool    homogeneous = p->fused.act == EI_ACT_NONE || p->fused.act == EI_ACT_RELU;
        float   inv_y = 1.0f / p->y_scale;
        float * qscales = malloc((size_t)m * sizeof *qscales);
        if (!qscales) goto oom;
        for (int64_t i = 0; i < m; i++) qscales[i] = homogeneous ? scales[i] * inv_y : scales[i];
        dnnl_memory_desc_t dst_q;
        dnnl_memory_desc_init_by_tag(&dst_q, 4, yd2, p->y_unsigned ? dnnl_u8 : dnnl_s8, dnnl_nhwc);
        bool ok =
            dnnl_primitive_attr_create(&attr) == dnnl_success &&
            dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success &&
            dnnl_primitive_attr_set_output_scales(attr, m, 1 << 1, qscales) == dnnl_success &&
            dnnl_post_ops_create(&po) == dnnl_success && ei_dnnl_append_act(po, &p->fused) &&
            (homogeneous || dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear, inv_y, 0.0f) == dnnl_success) &&
            (p->y_unsigned ||
             dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, -127.0f, 127.0f) == dnnl_success) &&
            dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
        free(qscales);
        dnnl_convolution_desc_t desc;
        if (ok && dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                                             &src_md, &wei_any, has_bias ? &bias_md : NULL, &dst_q,
                                                             strides, dil, pl, pr) == dnnl_success)
            pd = make_pd(eng, &desc, attr, true);
        if (pd && !dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), &dst_q)) {
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
        s->y_direct = pd != NULL;
        /* The bias (below) stays b / scales: oneDNN scales (acc + bias) by qscales, which gives
         * inv_y * (x_scale * w_scale * acc + b) for the ReLU family, and act(...) before the
         * linear post-op otherwise. */
    }
    /* Activation as post-op first; without it (applied by us) when oneDNN refuses. Graph layout for
     * Y first; oneDNN's choice (then a reorder) when only its reference kernel takes the former. */
    for (int32_t attempt = 0; attempt < 4 && !pd; attempt++) {
        bool with_act = attempt % 2 == 0 && !act_ours, graph_layout = attempt < 2;
        if (attr) dnnl_primitive_attr_destroy(attr), attr = NULL;
        if (po) dnnl_post_ops_destroy(po), po = NULL;
        EI_DNNL_TRY_GOTO(dnnl_primitive_attr_create(&attr), "attributes");
        EI_DNNL_TRY_GOTO(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
        EI_DNNL_TRY_GOTO(dnnl_primitive_attr_set_output_scales(attr, m, 1 << 1, scales), "output scales");
        EI_DNNL_TRY_GOTO(dnnl_post_ops_create(&po), "post-ops");
        if (s->res_input >= 0) EI_DNNL_TRY_GOTO(dnnl_post_ops_append_sum(po, 1.0f), "sum post-op");
        if (with_act && !ei_dnnl_append_act(po, &p->fused)) continue;
        EI_DNNL_TRY_GOTO(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
        dnnl_convolution_desc_t desc;
        if (dnnl_dilated_convolution_forward_desc_init(
                &desc, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &wei_any, has_bias ? &bias_md : NULL,
                graph_layout ? &dst_graph : &dst_any, strides, dil, pl, pr) != dnnl_success)
            continue;
        pd = make_pd(eng, &desc, attr, attempt < 3);
        if (pd && !with_act) s->act_after = p->fused;
    }
    if (!pd) { /* oneDNN takes no int8 form of this node: the reference kernel runs */
        state_free(s);
        s = NULL;
        goto done;
    }
    EI_DNNL_TRY_GOTO(dnnl_primitive_create(&s->prim, pd), "primitive");
    const dnnl_memory_desc_t * pd_src = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t * pd_wei = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t * pd_dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t * pd_sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    s->src_buf = ei_dnnl_alloc(pd_src);
    if (!s->src_buf) goto oom;
    EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->src, pd_src, eng, s->src_buf), "memory");
    /* Weights: plain s8 (doubled for s8 inputs) reordered once into the primitive's layout. */
    w2 = malloc((size_t)(m * per));
    if (!w2) goto oom;
    const int8_t * wv = wq->data;
    for (int64_t i = 0; i < m * per; i++) w2[i] = (int8_t)(doubled ? 2 * wv[i] : wv[i]);
    s->wei_buf = ei_dnnl_alloc(pd_wei);
    if (!s->wei_buf) goto oom;
    EI_DNNL_TRY_GOTO(dnnl_memory_create(&wplain, &wei_md, eng, w2), "memory");
    EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->wei, pd_wei, eng, s->wei_buf), "memory");
    EI_DNNL_TRY_GOTO(ei_dnnl_reorder_create(&wei_md, pd_wei, &wreorder), "weight reorder");
    EI_DNNL_TRY_GOTO(ei_dnnl_reorder_run(wreorder, s->stream, wplain, s->wei), "weight reorder");
    if (has_bias) {
        /* oneDNN 2.x adds an f32 bias to the int32 sum before the output scale: bias / scale. */
        s->bias_buf = malloc((size_t)m * sizeof *s->bias_buf);
        if (!s->bias_buf) goto oom;
        const float * bv = b->data;
        for (int64_t i = 0; i < m; i++) s->bias_buf[i] = bv[i] / scales[i];
        EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->bias, &bias_md, eng, s->bias_buf), "memory");
    }
    dnnl_memory_desc_t nhwc;
    dnnl_memory_desc_init_by_tag(&nhwc, 4, yd2, dnnl_f32, dnnl_nhwc);
    s->m = m;
    s->ohw = yd[2] * yd[3];
    if (s->y_direct) {
        EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->dst, pd_dst, eng, DNNL_MEMORY_NONE), "memory");
    } else if (p->y_scale > 0.0f && !dnnl_memory_desc_equal(pd_dst, &nhwc)) {
        state_free(s); /* not expected: oneDNN's int8 kernels write NHWC; the reference kernel runs */
        s = NULL;
        goto done;
    }
    if (s->y_direct) {
        /* bound to Y at run time */
    } else if (p->y_scale > 0.0f || (p->blocked && dnnl_memory_desc_equal(pd_dst, &nhwc))) {
        /* Our own copies between NHWC and the blocked layout: a few contiguous 32-byte moves per
         * pixel, cheaper than oneDNN's generic reorder. */
        s->nhwc_blocked = p->y_scale <= 0.0f;
        s->dst_buf = ei_dnnl_alloc(pd_dst);
        if (!s->dst_buf) goto oom;
        EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->dst, pd_dst, eng, s->dst_buf), "memory");
    } else if (dnnl_memory_desc_equal(pd_dst, &dst_graph)) {
        EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->dst, pd_dst, eng, DNNL_MEMORY_NONE), "memory");
    } else {
        s->dst_buf = ei_dnnl_alloc(pd_dst);
        if (!s->dst_buf) goto oom;
        EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->dst, pd_dst, eng, s->dst_buf), "memory");
        EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->dst_user, &dst_graph, eng, DNNL_MEMORY_NONE), "memory");
        EI_DNNL_TRY_GOTO(ei_dnnl_reorder_create(pd_dst, &dst_graph, &s->dst_reorder), "reorder");
        if (s->res_input >= 0) {
            EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->res_user, &dst_graph, eng, DNNL_MEMORY_NONE), "memory");
            EI_DNNL_TRY_GOTO(ei_dnnl_reorder_create(&dst_graph, pd_dst, &s->res_reorder), "reorder");
        }
    }
    if (dnnl_memory_desc_get_size(pd_sp) > 0) {
        s->scratch_buf = ei_dnnl_alloc(pd_sp);
        if (!s->scratch_buf) goto oom;
        EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->scratch, pd_sp, eng, s->scratch_buf), "memory");
    }
    goto done;
oom:
    st = ei_status_oom();
done:
    if (wreorder) dnnl_primitive_destroy(wreorder);
    if (wplain) dnnl_memory_destroy(wplain);
    free(w2);
    free(scales);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st) {
        state_free(s);
        return st;
    }
    *state = s;
    return NULL;
}

/* ---- quantising X into the NHWC buffer ---- */

typedef struct quant_job {
    const int8_state * s;
    const float *      x;
    uint8_t *          q;
} quant_job;

/* Eight floats of one pixel's block -> eight u8/s8 (clamped in float, so packing never saturates). */
__attribute__((target("avx2,fma"))) static inline __m128i quant8(const float * x, __m256 inv, __m256 lo, __m256 hi,
                                                                 bool u) {
    __m256  v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x), inv), lo), hi);
    __m256i i32 = _mm256_cvtps_epi32(v); /* round half to even (MXCSR default) */
    __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
    return u ? _mm_packus_epi16(i16, i16) : _mm_packs_epi16(i16, i16);
}

/* Blocked X: rows are (n, h); each pixel's blocks of 8 become consecutive channels. */
__attribute__((target("avx2,fma"))) static void quant_blocked_rows(void * ctx, int64_t r0, int64_t r1) {
    const quant_job *  j = ctx;
    const int8_state * s = j->s;
    int64_t            cb = ei_blocks8(s->c), hw = s->h * s->w, full = s->c / 8;
    bool               u = s->x_unsigned;
    __m256             inv = _mm256_set1_ps(s->inv_scale);
    __m256             lo = _mm256_set1_ps(u ? 0.0f : -127.0f), hi = _mm256_set1_ps(u ? 255.0f : 127.0f);
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / s->h, y = r % s->h;
        for (int64_t b = 0; b < cb; b++) {
            const float * xb = j->x + ((n * cb + b) * hw + y * s->w) * 8;
            uint8_t *     qb = j->q + (n * hw + y * s->w) * s->c + b * 8;
            if (b < full) {
                for (int64_t xw = 0; xw < s->w; xw++)
                    _mm_storel_epi64((__m128i *)(void *)(qb + xw * s->c), quant8(xb + xw * 8, inv, lo, hi, u));
            } else {
                uint8_t tmp[16];
                for (int64_t xw = 0; xw < s->w; xw++) {
                    _mm_storeu_si128((__m128i *)(void *)tmp, quant8(xb + xw * 8, inv, lo, hi, u));
                    memcpy(qb + xw * s->c, tmp, (size_t)(s->c - b * 8));
                }
            }
        }
    }
}

/* Plain X: rows are (n, c); scattered into NHWC. */
static void quant_plain_rows(void * ctx, int64_t r0, int64_t r1) {
    const quant_job *  j = ctx;
    const int8_state * s = j->s;
    int64_t            hw = s->h * s->w;
    for (int64_t r = r0; r < r1; r++) {
        int64_t       n = r / s->c, c = r % s->c;
        const float * xc = j->x + r * hw;
        uint8_t *     q = j->q + n * hw * s->c + c;
        uint8_t       row[1024]; /* quantised with the vector loop, then scattered */
        for (int64_t i0 = 0; i0 < hw; i0 += (int64_t)sizeof row) {
            int64_t len = hw - i0 < (int64_t)sizeof row ? hw - i0 : (int64_t)sizeof row;
            ei_quantize_row(xc + i0, row, len, s->inv_scale, s->x_unsigned);
            for (int64_t i = 0; i < len; i++) q[(i0 + i) * s->c] = row[i];
        }
    }
}

/* ---- Y between NHWC (oneDNN's) and blocked [N, M/8, OH, OW, 8] (the graph's) ---- */

typedef struct copy_job {
    const int8_state * s;
    float *            blocked;
    float *            nhwc;
    bool               to_blocked;
} copy_job;

/* Rows are (n, block). */
static void copy_rows(void * ctx, int64_t r0, int64_t r1) {
    const copy_job *   j = ctx;
    const int8_state * s = j->s;
    int64_t            cb = ei_blocks8(s->m);
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / cb, b = r % cb, lanes = s->m - b * 8 < 8 ? s->m - b * 8 : 8;
        float * bl = j->blocked + r * s->ohw * 8;
        float * nh = j->nhwc + n * s->ohw * s->m + b * 8;
        if (lanes == 8 && j->to_blocked) {
            for (int64_t p = 0; p < s->ohw; p++) memcpy(bl + p * 8, nh + p * s->m, 8 * sizeof(float));
        } else if (lanes == 8) {
            for (int64_t p = 0; p < s->ohw; p++) memcpy(nh + p * s->m, bl + p * 8, 8 * sizeof(float));
        } else if (j->to_blocked) {
            for (int64_t p = 0; p < s->ohw; p++) {
                memcpy(bl + p * 8, nh + p * s->m, (size_t)lanes * sizeof(float));
                for (int64_t l = lanes; l < 8; l++) bl[p * 8 + l] = 0.0f;
            }
        } else {
            for (int64_t p = 0; p < s->ohw; p++) memcpy(nh + p * s->m, bl + p * 8, (size_t)lanes * sizeof(float));
        }
    }
}

static void copy_y(const int8_state * s, ei_threadpool * pool, float * blocked, bool to_blocked) {
    copy_job j = {s, blocked, s->dst_buf, to_blocked};
    ei_parallel_for(pool, s->n * ei_blocks8(s->m), ei_grain((double)s->ohw * 8.0), copy_rows, &j);
}

/* A quantised Y: rows are (n, pixel) of NHWC; the activation oneDNN lacked, then quantisation. */
typedef struct requant_job {
    const int8_state * s;
    uint8_t *          y;
} requant_job;

static void requant_rows(void * ctx, int64_t r0, int64_t r1) {
    const requant_job * j = ctx;
    const int8_state *  s = j->s;
    float *             f = (float *)s->dst_buf + r0 * s->m;
    if (s->act_after.act != EI_ACT_NONE) ei_fused_act_apply(&s->act_after, f, (r1 - r0) * s->m);
    ei_quantize_row(f, j->y + r0 * s->m, (r1 - r0) * s->m, s->y_inv_scale, s->y_unsigned);
}

static ei_status * run(const ei_node * node, void * state, const ei_tensor * const * in, ei_tensor * const * out,
                       const ei_exec * ex) {
    int8_state * s = state;
    if (!s) return node->def->run(node, in, out, ex);
    ei_status * st = NULL;
    quant_job   j = {s, in[0]->data, s->src_buf};
    if (s->x_quantised)
        EI_DNNL_TRY_GOTO(dnnl_memory_set_data_handle(s->src, in[0]->data), "binding");
    else if (s->x_blocked && __builtin_cpu_supports("avx2"))
        ei_parallel_for(ex->pool, s->n * s->h, 1, quant_blocked_rows, &j);
    else if (!s->x_blocked)
        ei_parallel_for(ex->pool, s->n * s->c, 1, quant_plain_rows, &j);
    else
        return node->def->run(node, in, out, ex);
    omp_set_num_threads(s->n_threads);
    void * y = out[0]->data;
    if (s->y_direct || (!s->dst_reorder && !s->nhwc_blocked && s->y_inv_scale <= 0.0f))
        EI_DNNL_TRY_GOTO(dnnl_memory_set_data_handle(s->dst, y), "binding");
    if (s->res_input >= 0) {
        const ei_tensor * r = in[s->res_input];
        if (s->nhwc_blocked) {
            copy_y(s, ex->pool, r->data, false);
        } else if (s->res_reorder) {
            EI_DNNL_TRY_GOTO(dnnl_memory_set_data_handle(s->res_user, r->data), "binding");
            EI_DNNL_TRY_GOTO(ei_dnnl_reorder_run(s->res_reorder, s->stream, s->res_user, s->dst), "residual reorder");
        } else if (r->data != y) {
            memcpy(y, r->data, r->nbytes);
        }
    }
    dnnl_exec_arg_t args[5];
    int             n = 0;
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, s->src};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, s->wei};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, s->dst};
    if (s->bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, s->bias};
    if (s->scratch) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    EI_DNNL_TRY_GOTO(dnnl_primitive_execute(s->prim, s->stream, n, args), "execution");
    EI_DNNL_TRY_GOTO(dnnl_stream_wait(s->stream), "execution");
    if (s->nhwc_blocked) {
        copy_y(s, ex->pool, y, true);
    } else if (s->dst_reorder) {
        EI_DNNL_TRY_GOTO(dnnl_memory_set_data_handle(s->dst_user, y), "binding");
        EI_DNNL_TRY_GOTO(ei_dnnl_reorder_run(s->dst_reorder, s->stream, s->dst, s->dst_user), "output reorder");
    }
    if (s->y_direct) {
        /* quantised by the kernel */
    } else if (s->y_inv_scale > 0.0f) {
        requant_job rj = {s, y};
        ei_parallel_for(ex->pool, s->n * s->ohw, ei_grain((double)s->m), requant_rows, &rj);
    } else if (s->act_after.act != EI_ACT_NONE) {
        ei_dnnl_act_after(&s->act_after, y, (int64_t)(out[0]->nbytes / sizeof(float)), ei_threadpool_size(ex->pool));
    }
done:
    return st;
}

static void release(void * state) { state_free(state); }

const ei_cpu_kernel ei_dnnl_conv_int8 = {
    .supports = supports,
    .prepare = prepare,
    .run = run,
    .release = release,
};
