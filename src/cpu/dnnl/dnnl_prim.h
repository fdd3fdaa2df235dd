/* One oneDNN primitive set up for a node at session creation and executed on the session's
 * tensors: the shared part of every oneDNN kernel (src/cpu/dnnl/). The op-specific files build the
 * operation descriptor and memory descriptors; this file creates the primitive with the fused
 * activation and residual as post-ops, reorders constant weights once into the layout the
 * primitive prefers, converts activations between the graph's plain layout and the primitive's
 * when they differ, and owns every buffer, so that a run allocates nothing. */
#ifndef EI_CPU_DNNL_PRIM_H
#define EI_CPU_DNNL_PRIM_H

#include <dnnl.h>

#include "cpu/kernel_table.h"
#include "ops/fused.h"
#include "quant/half.h"

/* What ei_dnnl_prim_create needs besides the operation descriptor. Descriptors marked "plain"
 * describe the tensors as the graph stores them; src_want/dst_want/wei_want may be format `any`. */
typedef struct ei_dnnl_spec {
    dnnl_memory_desc_t src, src_want; /* plain; wanted (plain or any) */
    dnnl_memory_desc_t dst, dst_want;
    dnnl_memory_desc_t wei, wei_want;
    dnnl_memory_desc_t bias; /* plain; meaningful when has_bias */
    bool               has_bias;
    const void *       wei_const; /* constant weights in `wei` layout, or NULL: input wei_input */
    ei_dtype           wei_dtype; /* of wei_const: F32 (or UNDEFINED), or BF16 / F16 (widened at prepare) */
    ei_precision       round_src; /* BF16 / FP16: the source is rounded to it before each run (half.h) */
    int32_t            wei_input;
    const float *      bias_const; /* constant bias, or NULL: input bias_input (has_bias) */
    int32_t            bias_input;
    float              bias_scale; /* constant bias is multiplied by this (Gemm beta) */
    float              wei_scale;  /* constant weights are multiplied by this (Gemm alpha) */
    int32_t            res_input;  /* residual input index, or -1 */
    ei_fused           fused;
    int32_t            n_threads;
    /* Decline oneDNN's reference implementation (far slower than ours on blocked tensors). */
    bool refuse_ref;
} ei_dnnl_spec;

typedef struct ei_dnnl_prim ei_dnnl_prim;

/* Creates the primitive for op_desc (a dnnl_*_desc_t). On a oneDNN refusal (an unimplemented
 * combination) returns NULL with *out NULL: the caller runs the reference kernel instead. */
ei_status * ei_dnnl_prim_create(const ei_node * node, const void * op_desc, const ei_dnnl_spec * spec,
                                ei_dnnl_prim ** out);
/* Executes on the node's tensors. */
ei_status * ei_dnnl_prim_run(const ei_node * node, ei_dnnl_prim * p, const ei_tensor * const * in,
                             ei_tensor * const * out);
void        ei_dnnl_prim_destroy(ei_dnnl_prim * p);

/* The state every oneDNN kernel keeps: its primitive, or NULL when oneDNN declined the node at
 * prepare and the reference kernel runs. */
typedef struct ei_dnnl_state {
    ei_dnnl_prim * prim;
} ei_dnnl_state;

/* Shared prepare tail, run and release of the kernel entries. */
ei_status * ei_dnnl_state_finish(const ei_node * node, const void * op_desc, const ei_dnnl_spec * spec, void ** state);
ei_status * ei_dnnl_kernel_run(const ei_node * node, void * state, const ei_tensor * const * in,
                               ei_tensor * const * out, const ei_exec * ex);
void        ei_dnnl_kernel_release(void * state);

/* In a kernel's prepare/run with `ei_status * st`, `const ei_node * node` and a `done:` label: a
 * failed oneDNN call sets st to the error naming the node and jumps to done. */
#define EI_DNNL_TRY_GOTO(call, what)                                                                                   \
    do {                                                                                                               \
        dnnl_status_t ei_s_ = (call);                                                                                  \
        if (ei_s_ != dnnl_success) {                                                                                   \
            st = ei_dnnl_error(node, ei_s_, what);                                                                     \
            goto done;                                                                                                 \
        }                                                                                                              \
    } while (0)

/* The CPU engine every kernel shares (created once; oneDNN's CPU engine is stateless). */
ei_status * ei_dnnl_engine(const ei_node * node, dnnl_engine_t * out);
/* "oneDNN: <what> failed (status N)" naming the node; out-of-memory keeps its code. */
ei_status * ei_dnnl_error(const ei_node * node, dnnl_status_t s, const char * what);
/* 64-byte aligned buffer of the descriptor's size (at least 64 bytes); free() it. */
void * ei_dnnl_alloc(const dnnl_memory_desc_t * md);
/* Appends the activation as eltwise post-ops; false when oneDNN 2.6 has no exact equivalent. */
bool ei_dnnl_append_act(dnnl_post_ops_t po, const ei_fused * f);
/* Activations a convolution applies after its primitive by choice, though oneDNN has a post-op for
 * them: SiLU, whose 2.6 swish post-op costs more than our pass (docs/cpu-kernels.md, "SiLU"). */
static inline bool ei_dnnl_act_after_by_choice(const ei_fused * f) { return f->act == EI_ACT_SILU; }
/* The activation oneDNN did not apply (act_after), over y's n floats on `threads` OpenMP threads. */
void ei_dnnl_act_after(const ei_fused * f, float * y, int64_t n, int32_t threads);
/* A reorder primitive from one layout to another on the shared engine, and its synchronous run. */
dnnl_status_t ei_dnnl_reorder_create(const dnnl_memory_desc_t * from, const dnnl_memory_desc_t * to,
                                     dnnl_primitive_t * out);
dnnl_status_t ei_dnnl_reorder_run(dnnl_primitive_t r, dnnl_stream_t stream, dnnl_memory_t from, dnnl_memory_t to);

/* Plain row-major descriptor of a float tensor with `rank` dims. */
void ei_dnnl_md_plain(dnnl_memory_desc_t * md, int32_t rank, const int64_t * dims);
/* Descriptor with format `any`. */
void ei_dnnl_md_any(dnnl_memory_desc_t * md, int32_t rank, const int64_t * dims);
/* Whether the node's fused attributes can be read and its residual input has the output's shape. */
bool ei_dnnl_fused_ok(const ei_graph * g, const ei_node * node, ei_fused * f);
/* The index of the residual input, or -1. */
int32_t ei_dnnl_residual_input(const ei_node * node, const ei_fused * f);
/* Whether value id is float32 (absent ids count as float32). */
bool ei_dnnl_is_f32(const ei_graph * g, int32_t id);
/* Whether value id is float32, or a constant bf16 / fp16 weight of an engine (src/quant/half.h). */
bool ei_dnnl_is_weight(const ei_graph * g, int32_t id);

#endif
