#include "cpu/dnnl/dnnl_prim.h"

#include "core/threadpool.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ei_dnnl_prim {
    dnnl_primitive_t prim;
    dnnl_stream_t    stream;
    /* Memories the primitive reads and writes, in its layouts. */
    dnnl_memory_t src, wei, bias, dst, scratch;
    /* When the primitive's activation layout is not the graph's: plain views of the tensors and
     * reorders between them and the owned buffers src_buf / dst_buf. */
    dnnl_memory_t    src_user, dst_user, res_user;
    dnnl_primitive_t src_reorder, dst_reorder, res_reorder;
    void *           src_buf, *dst_buf, *wei_buf, *bias_buf, *scratch_buf;
    float *          round_buf; /* the source rounded to round_src (bf16 / fp16 emulation), or NULL */
    size_t           round_cap; /* elements of round_buf */
    ei_precision     round_src;
    int32_t          wei_input, bias_input, res_input; /* -1: constant or absent */
    ei_fused         act_after;                        /* applied by us: oneDNN 2.6 lacks it */
    /* The residual as a binary-add post-op reading its own buffer (res_mem, the graph's layout),
     * instead of a sum post-op that needs it copied into the output first. res_copy: where a
     * residual that is the output's own buffer goes first (sessions never pass one: their memory
     * plan shares buffers only for copy ops), allocated on first need. */
    bool          res_binary;
    dnnl_memory_t res_mem;
    void *        res_copy;
    int32_t       n_threads;
};

/* oneDNN's CPU engine is stateless and shared by every session. */
static dnnl_engine_t  g_engine;
static dnnl_status_t  g_engine_status = dnnl_runtime_error;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) { g_engine_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0); }

ei_status * ei_dnnl_engine(const ei_node * node, dnnl_engine_t * out) {
    pthread_once(&g_engine_once, engine_init);
    *out = g_engine;
    return g_engine_status == dnnl_success ? NULL : ei_dnnl_error(node, g_engine_status, "creating the CPU engine");
}

ei_status * ei_dnnl_error(const ei_node * node, dnnl_status_t s, const char * what) {
    return ei_node_errorf(node, s == dnnl_out_of_memory ? EI_CODE_OUT_OF_MEMORY : EI_CODE_INTERNAL,
                          "oneDNN: %s failed (status %d)", what, (int)s);
}

#define DNNL_TRY(node, call, what)                                                                                     \
    do {                                                                                                               \
        dnnl_status_t ei_dnnl_s_ = (call);                                                                             \
        if (ei_dnnl_s_ != dnnl_success) {                                                                              \
            st = ei_dnnl_error(node, ei_dnnl_s_, what);                                                                \
            goto done;                                                                                                 \
        }                                                                                                              \
    } while (0)

void ei_dnnl_md_plain(dnnl_memory_desc_t * md, int32_t rank, const int64_t * dims) {
    dnnl_dims_t d, strides;
    int64_t     s = 1;
    for (int32_t i = rank - 1; i >= 0; i--) {
        d[i] = dims[i];
        strides[i] = s;
        s *= dims[i];
    }
    dnnl_memory_desc_init_by_strides(md, rank, d, dnnl_f32, strides);
}

void ei_dnnl_md_any(dnnl_memory_desc_t * md, int32_t rank, const int64_t * dims) {
    dnnl_dims_t d;
    for (int32_t i = 0; i < rank; i++) d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, rank, d, dnnl_f32, dnnl_format_tag_any);
}

bool ei_dnnl_is_f32(const ei_graph * g, int32_t id) { return id < 0 || g->values[id].dtype == EI_DTYPE_F32; }

bool ei_dnnl_is_weight(const ei_graph * g, int32_t id) {
    if (ei_dnnl_is_f32(g, id)) return true;
    const ei_value * v = &g->values[id];
    return (v->dtype == EI_DTYPE_BF16 || v->dtype == EI_DTYPE_F16) && v->constant && v->constant->dtype == v->dtype;
}

int32_t ei_dnnl_residual_input(const ei_node * node, const ei_fused * f) {
    return f->residual ? node->n_inputs - 1 : -1;
}

bool ei_dnnl_fused_ok(const ei_graph * g, const ei_node * node, ei_fused * f) {
    ei_status * st = ei_fused_import(node, f);
    if (st) {
        ei_status_destroy(st);
        return false;
    }
    if (!f->residual) return true;
    int32_t r = node->inputs[node->n_inputs - 1];
    return r >= 0 && ei_dnnl_is_f32(g, r) && ei_shape_equal(&g->values[r].shape, &g->values[node->outputs[0]].shape);
}

bool ei_dnnl_append_act(dnnl_post_ops_t po, const ei_fused * f) {
    switch (f->act) {
    case EI_ACT_NONE: return true;
    case EI_ACT_RELU: return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) == dnnl_success;
    case EI_ACT_LEAKY_RELU:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, f->alpha, 0.0f) == dnnl_success;
    case EI_ACT_CLIP:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, f->alpha, f->beta) == dnnl_success;
    case EI_ACT_HARD_SIGMOID:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear, f->alpha, f->beta) == dnnl_success &&
               dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, 0.0f, 1.0f) == dnnl_success;
    case EI_ACT_HARD_SWISH:
        /* 2.6's hardswish is x * relu6(x + 3) / 6: only ONNX's default alpha and beta. */
        if (f->alpha != 1.0f / 6.0f || f->beta != 0.5f) return false;
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_hardswish, 0.0f, 0.0f) == dnnl_success;
    case EI_ACT_SIGMOID:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_logistic, 0.0f, 0.0f) == dnnl_success;
    case EI_ACT_SILU: return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_swish, 1.0f, 0.0f) == dnnl_success;
    case EI_ACT_GELU: return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf, 0.0f, 0.0f) == dnnl_success;
    case EI_ACT_GELU_TANH:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_tanh, 0.0f, 0.0f) == dnnl_success;
    case EI_ACT_TANH: return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_tanh, 0.0f, 0.0f) == dnnl_success;
    }
    return false;
}

void * ei_dnnl_alloc(const dnnl_memory_desc_t * md) {
    size_t n = dnnl_memory_desc_get_size(md);
    n = (n + 63) / 64 * 64;
    return aligned_alloc(64, n ? n : 64);
}

dnnl_status_t ei_dnnl_reorder_create(const dnnl_memory_desc_t * from, const dnnl_memory_desc_t * to,
                                     dnnl_primitive_t * out) {
    dnnl_primitive_desc_t pd;
    dnnl_status_t         s = dnnl_reorder_primitive_desc_create(&pd, from, g_engine, to, g_engine, NULL);
    if (s != dnnl_success) return s;
    s = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

dnnl_status_t ei_dnnl_reorder_run(dnnl_primitive_t r, dnnl_stream_t stream, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    dnnl_status_t   s = dnnl_primitive_execute(r, stream, 2, args);
    return s == dnnl_success ? dnnl_stream_wait(stream) : s;
}

/* Reorders the constant weights (widened from bf16 / fp16, scaled by spec->wei_scale) into
 * p->wei_buf in layout `want`. */
static ei_status * pack_weights(const ei_node * node, ei_dnnl_prim * p, const ei_dnnl_spec * spec,
                                const dnnl_memory_desc_t * want) {
    ei_status *      st = NULL;
    dnnl_memory_t    from = NULL;
    dnnl_primitive_t r = NULL;
    float *          scaled = NULL;
    const float *    w = spec->wei_const;
    bool             half = spec->wei_dtype == EI_DTYPE_BF16 || spec->wei_dtype == EI_DTYPE_F16;
    if (half || spec->wei_scale != 1.0f) {
        /* `wei` describes the weights as fp32: its size counts fp32 elements. */
        size_t n = dnnl_memory_desc_get_size(&spec->wei) / sizeof(float);
        scaled = malloc(n * sizeof *scaled + 1);
        if (!scaled) return ei_status_oom();
        if (half)
            ei_half_widen(spec->wei_dtype, spec->wei_const, scaled, (int64_t)n);
        else
            memcpy(scaled, spec->wei_const, n * sizeof *scaled);
        if (spec->wei_scale != 1.0f)
            for (size_t i = 0; i < n; i++) scaled[i] *= spec->wei_scale;
        w = scaled;
    }
    p->wei_buf = ei_dnnl_alloc(want);
    if (!p->wei_buf) {
        st = ei_status_oom();
        goto done;
    }
    DNNL_TRY(node, dnnl_memory_create(&from, &spec->wei, g_engine, (void *)w), "weight memory");
    DNNL_TRY(node, dnnl_memory_create(&p->wei, want, g_engine, p->wei_buf), "weight memory");
    DNNL_TRY(node, ei_dnnl_reorder_create(&spec->wei, want, &r), "weight reorder");
    DNNL_TRY(node, ei_dnnl_reorder_run(r, p->stream, from, p->wei), "weight reorder");
done:
    if (r) dnnl_primitive_destroy(r);
    if (from) dnnl_memory_destroy(from);
    free(scaled);
    return st;
}

/* Sets up the plain<->primitive conversion of one activation; `buf` gets the primitive-layout buffer. */
static ei_status * convert_setup(const ei_node * node, ei_dnnl_prim * p, const dnnl_memory_desc_t * plain,
                                 const dnnl_memory_desc_t * prim_md, bool to_prim, dnnl_memory_t * user,
                                 dnnl_memory_t * mem, dnnl_primitive_t * reorder, void ** buf) {
    ei_status * st = NULL;
    *buf = ei_dnnl_alloc(prim_md);
    if (!*buf) return ei_status_oom();
    DNNL_TRY(node, dnnl_memory_create(mem, prim_md, g_engine, *buf), "memory");
    DNNL_TRY(node, dnnl_memory_create(user, plain, g_engine, DNNL_MEMORY_NONE), "memory");
    DNNL_TRY(node,
             to_prim ? ei_dnnl_reorder_create(plain, prim_md, reorder)
                     : ei_dnnl_reorder_create(prim_md, plain, reorder),
             "reorder");
done:
    (void)p;
    return st;
}

ei_status * ei_dnnl_prim_create(const ei_node * node, const void * op_desc, const ei_dnnl_spec * spec,
                                ei_dnnl_prim ** out) {
    *out = NULL;
    dnnl_engine_t eng;
    EI_TRY(ei_dnnl_engine(node, &eng));
    omp_set_num_threads(spec->n_threads); /* primitives partition work for the current thread count */
    ei_dnnl_prim * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    p->n_threads = spec->n_threads;
    p->wei_input = spec->wei_const ? -1 : spec->wei_input;
    p->bias_input = spec->has_bias && !spec->bias_const ? spec->bias_input : -1;
    p->res_input = spec->res_input;
    p->round_src = spec->round_src;
    ei_status *           st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t       po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    bool                  declined = false;
    DNNL_TRY(node, dnnl_stream_create(&p->stream, eng, dnnl_stream_default_flags), "stream");
    /* First the residual as a binary add (no copy at run), then, if oneDNN declines that, would
     * take its reference implementation for it or wants another output layout, as a sum. */
    for (int32_t attempt = spec->res_input >= 0 ? 0 : 1; attempt < 2; attempt++) {
        bool binary = attempt == 0;
        if (pd) dnnl_primitive_desc_destroy(pd);
        if (po) dnnl_post_ops_destroy(po);
        if (attr) dnnl_primitive_attr_destroy(attr);
        pd = NULL;
        po = NULL;
        attr = NULL;
        p->act_after = (ei_fused){0};
        DNNL_TRY(node, dnnl_primitive_attr_create(&attr), "attributes");
        DNNL_TRY(node, dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
        for (int32_t with_act = ei_dnnl_act_after_by_choice(&spec->fused) ? 0 : 1; with_act >= 0; with_act--) {
            if (po) dnnl_post_ops_destroy(po);
            po = NULL;
            DNNL_TRY(node, dnnl_post_ops_create(&po), "post-ops");
            if (spec->res_input >= 0)
                DNNL_TRY(node,
                         binary ? dnnl_post_ops_append_binary(po, dnnl_binary_add, &spec->dst)
                                : dnnl_post_ops_append_sum(po, 1.0f),
                         "residual post-op");
            if (!with_act) {
                p->act_after = spec->fused; /* run applies it */
                break;
            }
            if (ei_dnnl_append_act(po, &spec->fused)) break;
        }
        DNNL_TRY(node, dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
        if (dnnl_primitive_desc_create(&pd, op_desc, attr, eng, NULL) != dnnl_success) {
            pd = NULL;
            continue;
        }
        if (binary) {
            const char * impl = NULL;
            if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
                !strncmp(impl, "ref", 3) ||
                !dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), &spec->dst))
                continue;
        }
        p->res_binary = binary;
        break;
    }
    if (!pd) {
        declined = true;
        goto done;
    }
    if (spec->refuse_ref) {
        const char * impl = NULL;
        if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
            !strncmp(impl, "ref", 3)) {
            declined = true;
            goto done;
        }
    }
    const dnnl_memory_desc_t * src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t * dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t * wei_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t * bias_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);
    const dnnl_memory_desc_t * sp_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (!spec->wei_const && !dnnl_memory_desc_equal(wei_md, &spec->wei)) {
        declined = true; /* runtime weights are bound as they are */
        goto done;
    }
    DNNL_TRY(node, dnnl_primitive_create(&p->prim, pd), "primitive");
    if (dnnl_memory_desc_equal(src_md, &spec->src)) {
        DNNL_TRY(node, dnnl_memory_create(&p->src, src_md, eng, DNNL_MEMORY_NONE), "memory");
    } else {
        st = convert_setup(node, p, &spec->src, src_md, true, &p->src_user, &p->src, &p->src_reorder, &p->src_buf);
        if (st) goto done;
    }
    if (dnnl_memory_desc_equal(dst_md, &spec->dst)) {
        DNNL_TRY(node, dnnl_memory_create(&p->dst, dst_md, eng, DNNL_MEMORY_NONE), "memory");
    } else {
        st = convert_setup(node, p, &spec->dst, dst_md, false, &p->dst_user, &p->dst, &p->dst_reorder, &p->dst_buf);
        if (st) goto done;
        if (spec->res_input >= 0 && !p->res_binary) {
            DNNL_TRY(node, dnnl_memory_create(&p->res_user, &spec->dst, eng, DNNL_MEMORY_NONE), "memory");
            DNNL_TRY(node, ei_dnnl_reorder_create(&spec->dst, dst_md, &p->res_reorder), "reorder");
        }
    }
    if (p->res_binary) DNNL_TRY(node, dnnl_memory_create(&p->res_mem, &spec->dst, eng, DNNL_MEMORY_NONE), "memory");
    if (p->round_src == EI_PRECISION_BF16 || p->round_src == EI_PRECISION_FP16) {
        p->round_cap = dnnl_memory_desc_get_size(&spec->src) / sizeof(float);
        p->round_buf = aligned_alloc(64, (p->round_cap * sizeof(float) + 63) / 64 * 64 + 64);
        if (!p->round_buf) {
            st = ei_status_oom();
            goto done;
        }
    }
    if (spec->wei_const) {
        st = pack_weights(node, p, spec, wei_md);
        if (st) goto done;
    } else {
        DNNL_TRY(node, dnnl_memory_create(&p->wei, wei_md, eng, DNNL_MEMORY_NONE), "memory");
    }
    if (spec->has_bias) {
        void * handle = DNNL_MEMORY_NONE;
        if (spec->bias_const) {
            size_t  n = dnnl_memory_desc_get_size(&spec->bias) / sizeof(float);
            float * b = malloc(n * sizeof *b + 1);
            if (!b) {
                st = ei_status_oom();
                goto done;
            }
            for (size_t i = 0; i < n; i++) b[i] = spec->bias_const[i] * spec->bias_scale;
            p->bias_buf = handle = b;
        }
        DNNL_TRY(node, dnnl_memory_create(&p->bias, bias_md, eng, handle), "memory");
    }
    if (dnnl_memory_desc_get_size(sp_md) > 0) {
        p->scratch_buf = ei_dnnl_alloc(sp_md);
        if (!p->scratch_buf) {
            st = ei_status_oom();
            goto done;
        }
        DNNL_TRY(node, dnnl_memory_create(&p->scratch, sp_md, eng, p->scratch_buf), "memory");
    }
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st || declined) {
        ei_dnnl_prim_destroy(p);
        return st;
    }
    *out = p;
    return NULL;
}

void ei_dnnl_prim_destroy(ei_dnnl_prim * p) {
    if (!p) return;
    dnnl_primitive_t prims[] = {p->prim, p->src_reorder, p->dst_reorder, p->res_reorder};
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {p->src,      p->wei,      p->bias,     p->dst,    p->scratch,
                            p->src_user, p->dst_user, p->res_user, p->res_mem};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (p->stream) dnnl_stream_destroy(p->stream);
    free(p->src_buf);
    free(p->dst_buf);
    free(p->wei_buf);
    free(p->bias_buf);
    free(p->scratch_buf);
    free(p->round_buf);
    free(p->res_copy);
    free(p);
}

typedef struct act_job {
    const ei_fused * f;
    float *          y;
} act_job;

static void act_range(void * ctx, int64_t b, int64_t e) {
    const act_job * j = ctx;
    ei_fused_act_apply(j->f, j->y + b, e - b);
}

void ei_dnnl_act_after(const ei_fused * f, float * y, int64_t n, int32_t threads) {
    act_job job = {f, y};
    ei_parallel_for_threads(threads, n, 16384, act_range, &job);
}

ei_status * ei_dnnl_prim_run(const ei_node * node, ei_dnnl_prim * p, const ei_tensor * const * in,
                             ei_tensor * const * out) {
    ei_status * st = NULL;
    omp_set_num_threads(p->n_threads); /* per calling thread: the session's thread count */
    void *x = in[0]->data, *y = out[0]->data;
    if (p->round_buf) {
        /* What a CPU with bf16 / fp16 arithmetic would read: the source rounded, computed in fp32.
         * One thread: handing the pass to the session's pool while oneDNN's OpenMP threads wait
         * measured slower on 2 cores (YOLOX-nano: +6.7 ms against +4.2 ms per inference). */
        size_t n = in[0]->nbytes / sizeof(float);
        if (n > p->round_cap)
            return ei_node_errorf(node, EI_CODE_INTERNAL, "input of %zu elements, %zu planned", n, p->round_cap);
        ei_half_round(p->round_src, in[0]->data, p->round_buf, (int64_t)n);
        x = p->round_buf;
    }
    if (p->src_reorder) {
        DNNL_TRY(node, dnnl_memory_set_data_handle(p->src_user, x), "binding");
        DNNL_TRY(node, ei_dnnl_reorder_run(p->src_reorder, p->stream, p->src_user, p->src), "input reorder");
    } else {
        DNNL_TRY(node, dnnl_memory_set_data_handle(p->src, x), "binding");
    }
    if (!p->dst_reorder) DNNL_TRY(node, dnnl_memory_set_data_handle(p->dst, y), "binding");
    if (p->res_binary) {
        const ei_tensor * r = in[p->res_input];
        const void *      rd = r->data;
        if (rd == y) {
            if (!p->res_copy) p->res_copy = aligned_alloc(64, (r->nbytes + 63) / 64 * 64);
            if (!p->res_copy) return ei_status_oom();
            memcpy(p->res_copy, rd, r->nbytes);
            rd = p->res_copy;
        }
        DNNL_TRY(node, dnnl_memory_set_data_handle(p->res_mem, (void *)rd), "binding");
    } else if (p->res_input >= 0) {
        /* The sum post-op adds what dst holds. */
        const ei_tensor * r = in[p->res_input];
        if (p->res_reorder) {
            DNNL_TRY(node, dnnl_memory_set_data_handle(p->res_user, r->data), "binding");
            DNNL_TRY(node, ei_dnnl_reorder_run(p->res_reorder, p->stream, p->res_user, p->dst), "residual reorder");
        } else if (r->data != y) {
            memcpy(y, r->data, r->nbytes);
        }
    }
    if (p->wei_input >= 0) DNNL_TRY(node, dnnl_memory_set_data_handle(p->wei, in[p->wei_input]->data), "binding");
    if (p->bias_input >= 0) DNNL_TRY(node, dnnl_memory_set_data_handle(p->bias, in[p->bias_input]->data), "binding");
    dnnl_exec_arg_t args[6];
    int             n = 0;
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, p->src};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, p->wei};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, p->dst};
    if (p->bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, p->bias};
    if (p->scratch) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    if (p->res_binary) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, p->res_mem};
    DNNL_TRY(node, dnnl_primitive_execute(p->prim, p->stream, n, args), "execution");
    DNNL_TRY(node, dnnl_stream_wait(p->stream), "execution");
    if (p->dst_reorder) {
        DNNL_TRY(node, dnnl_memory_set_data_handle(p->dst_user, y), "binding");
        DNNL_TRY(node, ei_dnnl_reorder_run(p->dst_reorder, p->stream, p->dst, p->dst_user), "output reorder");
    }
    if (p->act_after.act != EI_ACT_NONE)
        ei_dnnl_act_after(&p->act_after, y, (int64_t)(out[0]->nbytes / sizeof(float)), p->n_threads);
done:
    return st;
}

ei_status * ei_dnnl_state_finish(const ei_node * node, const void * op_desc, const ei_dnnl_spec * spec, void ** state) {
    ei_dnnl_state * s = calloc(1, sizeof *s);
    if (!s) return ei_status_oom();
    if (!op_desc) { /* oneDNN refused the descriptor: the reference kernel runs */
        *state = s;
        return NULL;
    }
    ei_status * st = ei_dnnl_prim_create(node, op_desc, spec, &s->prim);
    if (st) {
        free(s);
        return st;
    }
    *state = s;
    return NULL;
}

ei_status * ei_dnnl_kernel_run(const ei_node * node, void * state, const ei_tensor * const * in,
                               ei_tensor * const * out, const ei_exec * ex) {
    ei_dnnl_state * s = state;
    if (!s->prim) return node->def->run(node, in, out, ex);
    return ei_dnnl_prim_run(node, s->prim, in, out);
}

void ei_dnnl_kernel_release(void * state) {
    ei_dnnl_state * s = state;
    if (!s) return;
    ei_dnnl_prim_destroy(s->prim);
    free(s);
}
