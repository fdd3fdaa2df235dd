/* ei.MatMulInt8 (src/ops/matmul_int8.c) through oneDNN's int8 matmul: A's rows (all leading dims
 * flattened: [M, K], row-major as the graph stores it) are quantised by our vector loop into a
 * u8/s8 buffer the kernel owns, the s8 B [K, N] is reordered once at prepare into the primitive's
 * layout, the per-column output scales a_scale * b_scale[n] dequantise, and the fused activation is
 * a post-op (applied by us when oneDNN has none for it). Y is written in place, float32 [M, N].
 * oneDNN's int8 GEMM sums u8 x s8 pairs in int16 without VNNI: B has 7 bits (EI_INT8_WEIGHT_MAX),
 * so no pair saturates and the integers are the reference kernel's. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/dnnl/dnnl_kernels.h"
#include "cpu/dnnl/dnnl_prim.h"
#include "ops/conv_int8.h"
#include "ops/matmul_int8.h"

typedef struct mm8_state {
    dnnl_primitive_t prim;
    dnnl_stream_t    stream;
    dnnl_memory_t    src, wei, dst, scratch;
    void *           src_buf, *wei_buf, *scratch_buf;
    ei_fused         act_after; /* applied by us when oneDNN has no post-op for it */
    int32_t          n_threads;
    int64_t          m, k, n;
    float            inv_scale;
    bool             a_unsigned;
} mm8_state;

static void state_free(mm8_state * s) {
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    dnnl_memory_t mems[] = {s->src, s->wei, s->dst, s->scratch};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->stream) dnnl_stream_destroy(s->stream);
    free(s->src_buf);
    free(s->wei_buf);
    free(s->scratch_buf);
    free(s);
}

static bool supports(const ei_graph * g, const ei_node * node) {
    if (!node->params || node->n_inputs != 3 || node->n_outputs != 1 || node->outputs[0] < 0) return false;
    for (int32_t k = 0; k < 3; k++)
        if (node->inputs[k] < 0) return false;
    const ei_value * b = &g->values[node->inputs[1]];
    return b->constant && b->shape.rank == 2 && g->values[node->inputs[2]].constant &&
           ei_shape_numel(&g->values[node->outputs[0]].shape) > 0 && b->shape.dim[0] > 0;
}

/* The primitive descriptor with or without the activation as a post-op; NULL when oneDNN refuses
 * or offers only its reference implementation (slower than our reference kernel's plain loops). */
static dnnl_primitive_desc_t make_pd(dnnl_engine_t eng, const dnnl_matmul_desc_t * desc, int64_t n,
                                     const float * scales, const ei_fused * act) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t       po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    bool                  ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
              dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success &&
              dnnl_primitive_attr_set_output_scales(attr, n, 1 << 1, scales) == dnnl_success &&
              dnnl_post_ops_create(&po) == dnnl_success && (!act || ei_dnnl_append_act(po, act)) &&
              dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success &&
              dnnl_primitive_desc_create(&pd, desc, attr, eng, NULL) == dnnl_success;
    const char * impl = NULL;
    if (ok && (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
               !strncmp(impl, "ref", 3)))
        ok = false;
    if (!ok && pd) dnnl_primitive_desc_destroy(pd), pd = NULL;
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return pd;
}

static ei_status * prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    *state = NULL;
    dnnl_engine_t eng;
    EI_TRY(ei_dnnl_engine(node, &eng));
    omp_set_num_threads(n_threads);
    const ei_matmul_int8_params * p = node->params;
    const ei_tensor *             bq = ei_node_input_const(g, node, 1);
    const ei_tensor *             bs = ei_node_input_const(g, node, 2);
    const ei_shape *              ys = &g->values[node->outputs[0]].shape;
    int64_t                       k = bq->shape.dim[0], n = bq->shape.dim[1];
    ei_status *                   st = NULL;
    dnnl_primitive_desc_t         pd = NULL;
    dnnl_memory_t                 wplain = NULL;
    dnnl_primitive_t              wreorder = NULL;
    float *                       scales = malloc((size_t)n * sizeof *scales);
    mm8_state *                   s = calloc(1, sizeof *s);
    if (!scales || !s) {
        free(scales);
        free(s);
        return ei_status_oom();
    }
    s->n_threads = n_threads;
    s->k = k;
    s->n = n;
    s->m = ei_shape_numel(ys) / n;
    s->inv_scale = 1.0f / p->a_scale;
    s->a_unsigned = p->a_unsigned;
    const float * bsv = bs->data;
    for (int64_t i = 0; i < n; i++) scales[i] = p->a_scale * bsv[i];

    dnnl_memory_desc_t src_md, wei_md, wei_any, dst_md;
    dnnl_dims_t        ad = {s->m, k}, bd = {k, n}, yd = {s->m, n};
    dnnl_memory_desc_init_by_tag(&src_md, 2, ad, p->a_unsigned ? dnnl_u8 : dnnl_s8, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&wei_md, 2, bd, dnnl_s8, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&wei_any, 2, bd, dnnl_s8, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&dst_md, 2, yd, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t desc;
    EI_DNNL_TRY_GOTO(dnnl_stream_create(&s->stream, eng, dnnl_stream_default_flags), "stream");
    EI_DNNL_TRY_GOTO(dnnl_matmul_desc_init(&desc, &src_md, &wei_any, NULL, &dst_md), "matmul descriptor");
    pd = make_pd(eng, &desc, n, scales, &p->fused);
    if (!pd && p->fused.act != EI_ACT_NONE) {
        pd = make_pd(eng, &desc, n, scales, NULL);
        if (pd) s->act_after = p->fused;
    }
    if (!pd) { /* no fast int8 matmul for this node here: the reference kernel runs */
        state_free(s);
        s = NULL;
        goto done;
    }
    EI_DNNL_TRY_GOTO(dnnl_primitive_create(&s->prim, pd), "primitive");
    const dnnl_memory_desc_t * pd_wei = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t * pd_sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    s->src_buf = ei_dnnl_alloc(&src_md);
    s->wei_buf = ei_dnnl_alloc(pd_wei);
    if (!s->src_buf || !s->wei_buf) goto oom;
    EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->src, &src_md, eng, s->src_buf), "memory");
    EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->wei, pd_wei, eng, s->wei_buf), "memory");
    EI_DNNL_TRY_GOTO(dnnl_memory_create(&s->dst, &dst_md, eng, DNNL_MEMORY_NONE), "memory");
    EI_DNNL_TRY_GOTO(dnnl_memory_create(&wplain, &wei_md, eng, bq->data), "memory");
    EI_DNNL_TRY_GOTO(ei_dnnl_reorder_create(&wei_md, pd_wei, &wreorder), "weight reorder");
    EI_DNNL_TRY_GOTO(ei_dnnl_reorder_run(wreorder, s->stream, wplain, s->wei), "weight reorder");
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
    free(scales);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (st) {
        state_free(s);
        return st;
    }
    *state = s;
    return NULL;
}

typedef struct quant_job {
    const mm8_state * s;
    const float *     a;
} quant_job;

static void quant_rows(void * ctx, int64_t r0, int64_t r1) {
    const quant_job * j = ctx;
    const mm8_state * s = j->s;
    ei_quantize_row(j->a + r0 * s->k, (uint8_t *)s->src_buf + r0 * s->k, (r1 - r0) * s->k, s->inv_scale, s->a_unsigned);
}

static ei_status * run(const ei_node * node, void * state, const ei_tensor * const * in, ei_tensor * const * out,
                       const ei_exec * ex) {
    mm8_state * s = state;
    if (!s) return node->def->run(node, in, out, ex);
    ei_status * st = NULL;
    quant_job   j = {s, in[0]->data};
    ei_parallel_for(ex->pool, s->m, ei_grain((double)s->k), quant_rows, &j);
    omp_set_num_threads(s->n_threads);
    EI_DNNL_TRY_GOTO(dnnl_memory_set_data_handle(s->dst, out[0]->data), "binding");
    dnnl_exec_arg_t args[4];
    int             n = 0;
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, s->src};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, s->wei};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, s->dst};
    if (s->scratch) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    EI_DNNL_TRY_GOTO(dnnl_primitive_execute(s->prim, s->stream, n, args), "execution");
    EI_DNNL_TRY_GOTO(dnnl_stream_wait(s->stream), "execution");
    if (s->act_after.act != EI_ACT_NONE) ei_fused_act_apply(&s->act_after, out[0]->data, s->m * s->n);
done:
    return st;
}

static void release(void * state) { state_free(state); }

const ei_cpu_kernel ei_dnnl_matmul_int8 = {
    .supports = supports,
    .prepare = prepare,
    .run = run,
    .release = release,
};
