/* MatMul and Gemm through oneDNN's matmul primitive. MatMul: both inputs at least 2-D, batch
 * dimensions broadcast; constant B is reordered once into the primitive's preferred layout.
 * Gemm: transposes are strides, alpha is folded into a constant B and beta into a constant C,
 * which becomes the bias (broadcast rows or columns as oneDNN's bias allows). */
#include <string.h>

#include "cpu/dnnl/dnnl_kernels.h"
#include "cpu/dnnl/dnnl_prim.h"

static bool mm_base(const ei_graph * g, const ei_node * node, ei_fused * f, int32_t * n_base) {
    if (node->n_outputs < 1 || node->outputs[0] < 0 || node->n_inputs < 2 || node->inputs[0] < 0 || node->inputs[1] < 0)
        return false;
    if (!ei_dnnl_fused_ok(g, node, f)) return false;
    *n_base = f->residual ? node->n_inputs - 1 : node->n_inputs;
    for (int32_t k = 0; k < *n_base; k++)
        if (!(k == 1 ? ei_dnnl_is_weight(g, node->inputs[k]) : ei_dnnl_is_f32(g, node->inputs[k]))) return false;
    return ei_dnnl_is_f32(g, node->outputs[0]) && ei_shape_numel(&g->values[node->outputs[0]].shape) > 0;
}

static void spec_init(const ei_node * node, const ei_fused * f, int32_t n_threads, ei_dnnl_spec * s) {
    memset(s, 0, sizeof *s);
    s->wei_scale = 1.0f;
    s->bias_scale = 1.0f;
    s->wei_input = 1;
    s->res_input = ei_dnnl_residual_input(node, f);
    s->fused = *f;
    s->n_threads = n_threads;
    s->round_src = ei_half_round_mode(node);
}

static bool matmul_supports(const ei_graph * g, const ei_node * node) {
    ei_fused f;
    int32_t  n_base = 0;
    if (!mm_base(g, node, &f, &n_base) || n_base != 2) return false;
    const ei_shape * as = &g->values[node->inputs[0]].shape;
    const ei_shape * bs = &g->values[node->inputs[1]].shape;
    return as->rank >= 2 && bs->rank >= 2 && as->rank <= DNNL_MAX_NDIMS && bs->rank <= DNNL_MAX_NDIMS;
}

/* dims of s right-aligned into rank r with leading ones. */
static void pad_dims(const ei_shape * s, int32_t r, int64_t * d) {
    for (int32_t i = 0; i < r; i++) d[i] = i < r - s->rank ? 1 : s->dim[i - (r - s->rank)];
}

static ei_status * matmul_prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    ei_fused f;
    int32_t  n_base = 0;
    mm_base(g, node, &f, &n_base);
    const ei_shape *  as = &g->values[node->inputs[0]].shape;
    const ei_shape *  bs = &g->values[node->inputs[1]].shape;
    const ei_shape *  ys = &g->values[node->outputs[0]].shape;
    const ei_tensor * bc = ei_node_input_const(g, node, 1);
    int32_t           r = ys->rank;
    int64_t           ad[EI_MAX_RANK], bd[EI_MAX_RANK];
    pad_dims(as, r, ad);
    pad_dims(bs, r, bd);
    ei_dnnl_spec s;
    spec_init(node, &f, n_threads, &s);
    ei_dnnl_md_plain(&s.src, r, ad);
    s.src_want = s.src;
    ei_dnnl_md_plain(&s.dst, r, ys->dim);
    s.dst_want = s.dst;
    ei_dnnl_md_plain(&s.wei, r, bd);
    if (bc) {
        s.wei_const = bc->data;
        s.wei_dtype = bc->dtype;
        ei_dnnl_md_any(&s.wei_want, r, bd);
    } else {
        s.wei_want = s.wei;
    }
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &s.src_want, &s.wei_want, NULL, &s.dst_want) != dnnl_success)
        return ei_dnnl_state_finish(node, NULL, NULL, state);
    return ei_dnnl_state_finish(node, &desc, &s, state);
}

const ei_cpu_kernel ei_dnnl_matmul = {
    .supports = matmul_supports,
    .prepare = matmul_prepare,
    .run = ei_dnnl_kernel_run,
    .release = ei_dnnl_kernel_release,
};

static bool gemm_supports(const ei_graph * g, const ei_node * node) {
    ei_fused f;
    int32_t  n_base = 0;
    if (!mm_base(g, node, &f, &n_base) || n_base > 3) return false;
    float       alpha, beta;
    ei_status * st = ei_attr_get_float(node, "alpha", 1.0f, &alpha);
    if (!st) st = ei_attr_get_float(node, "beta", 1.0f, &beta);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    bool has_c = n_base == 3 && node->inputs[2] >= 0 && beta != 0.0f;
    if (alpha != 1.0f && !g->values[node->inputs[1]].constant) return false;
    if (has_c && beta != 1.0f && !g->values[node->inputs[2]].constant) return false;
    return true;
}

static ei_status * gemm_prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    ei_fused f;
    int32_t  n_base = 0;
    mm_base(g, node, &f, &n_base);
    int64_t ta, tb;
    float   alpha, beta;
    EI_TRY(ei_attr_get_int(node, "transA", 0, &ta));
    EI_TRY(ei_attr_get_int(node, "transB", 0, &tb));
    EI_TRY(ei_attr_get_float(node, "alpha", 1.0f, &alpha));
    EI_TRY(ei_attr_get_float(node, "beta", 1.0f, &beta));
    const ei_shape * ys = &g->values[node->outputs[0]].shape;
    int64_t          m = ys->dim[0], n = ys->dim[1];
    int64_t          k = g->values[node->inputs[0]].shape.dim[ta ? 0 : 1];
    ei_dnnl_spec     s;
    spec_init(node, &f, n_threads, &s);
    dnnl_dims_t ad = {m, k}, astr = {ta ? 1 : k, ta ? m : 1};
    dnnl_dims_t bd = {k, n}, bstr = {tb ? 1 : n, tb ? k : 1};
    dnnl_memory_desc_init_by_strides(&s.src, 2, ad, dnnl_f32, astr);
    s.src_want = s.src;
    ei_dnnl_md_plain(&s.dst, 2, ys->dim);
    s.dst_want = s.dst;
    dnnl_memory_desc_init_by_strides(&s.wei, 2, bd, dnnl_f32, bstr);
    const ei_tensor * bc = ei_node_input_const(g, node, 1);
    if (bc) {
        s.wei_const = bc->data;
        s.wei_dtype = bc->dtype;
        s.wei_scale = alpha;
        dnnl_memory_desc_init_by_tag(&s.wei_want, 2, bd, dnnl_f32, dnnl_format_tag_any);
    } else {
        s.wei_want = s.wei;
    }
    if (n_base == 3 && node->inputs[2] >= 0 && beta != 0.0f) {
        const ei_shape * cs = &g->values[node->inputs[2]].shape;
        int64_t          cd[2];
        cd[0] = cs->rank == 2 ? cs->dim[0] : 1;
        cd[1] = cs->rank >= 1 ? cs->dim[cs->rank - 1] : 1;
        ei_dnnl_md_plain(&s.bias, 2, cd);
        s.has_bias = true;
        const ei_tensor * cc = ei_node_input_const(g, node, 2);
        s.bias_const = cc ? cc->data : NULL;
        s.bias_input = 2;
        s.bias_scale = beta;
    }
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &s.src_want, &s.wei_want, s.has_bias ? &s.bias : NULL, &s.dst_want) !=
        dnnl_success)
        return ei_dnnl_state_finish(node, NULL, NULL, state);
    return ei_dnnl_state_finish(node, &desc, &s, state);
}

const ei_cpu_kernel ei_dnnl_gemm = {
    .supports = gemm_supports,
    .prepare = gemm_prepare,
    .run = ei_dnnl_kernel_run,
    .release = ei_dnnl_kernel_release,
};
