/* ArgMax and ArgMin (opsets 1, 11, 12, 13): index of the first (or, with select_last_index, the
 * last) extreme element along `axis`, as int64. Input dtypes float32, float64, int32, int64, uint8.
 * The input is viewed as [outer, n, inner]; with inner > 1 the scan walks rows of `inner`
 * contiguous elements, keeping the best value and index of every column. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

typedef struct arg_params {
    int64_t axis;
    bool    keepdims, last, is_max;
} arg_params;

static ei_status * arg_import(ei_node * node, bool is_max) {
    int64_t axis = 0, keepdims = 1, last = 0;
    EI_TRY(ei_attr_get_int(node, "axis", 0, &axis));
    EI_TRY(ei_attr_get_int(node, "keepdims", 1, &keepdims));
    EI_TRY(ei_attr_get_int(node, "select_last_index", 0, &last));
    arg_params * p = malloc(sizeof *p);
    if (!p) return ei_status_oom();
    *p = (arg_params){axis, keepdims != 0, last != 0, is_max};
    return ei_op_install_params(node, p, NULL);
}

static ei_status * argmax_import(ei_node * node) { return arg_import(node, true); }
static ei_status * argmin_import(ei_node * node) { return arg_import(node, false); }

static ei_status * arg_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(arg_import(node, node->def == &ei_op_def_ARG_MAX));
    const arg_params * p = node->params;
    EI_TRY(ei_op_check_dtype(g, node, 0, EI_DTYPE_F32, EI_DTYPE_F64, EI_DTYPE_I32, EI_DTYPE_I64, EI_DTYPE_U8,
                             EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, node, 0);
    if (!x) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input data is required");
    if (x->shape.rank == 0) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input data must have rank >= 1");
    int32_t axis;
    EI_TRY(ei_op_axis(node, p->axis, x->shape.rank, &axis));
    if (x->shape.dim[axis] == 0 && ei_shape_numel(&x->shape) == 0) {
        /* An empty axis has no extreme element; only an output with no elements is meaningful. */
        bool empty_out = false;
        for (int32_t d = 0; d < x->shape.rank; d++)
            if (d != axis && x->shape.dim[d] == 0) empty_out = true;
        if (!empty_out)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "axis %d has no elements to choose from", axis);
    }
    ei_shape out = {0};
    for (int32_t d = 0; d < x->shape.rank; d++) {
        if (d != axis)
            out.dim[out.rank++] = x->shape.dim[d];
        else if (p->keepdims)
            out.dim[out.rank++] = 1;
    }
    ei_op_set_output(g, node, 0, EI_DTYPE_I64, &out);
    return NULL;
}

typedef struct arg_job {
    const void * x;
    int64_t *    y;
    int64_t      n, inner;
    bool         last, is_max;
    void *       scratch;  /* inner best values per outer index, when inner > 1 */
    int64_t      chunk;    /* columns per task when inner > 1 */
    int64_t      n_chunks; /* tasks per outer index */
} arg_job;

/* take: strictly better, or (select_last_index) equally good. With inner > 1, task t is a chunk of
 * columns of one outer index, so that a single outer index (argmax over channels) still spreads
 * over the pool. */
#define ARG_TAKE(v, b) (mx ? (last ? (v) >= (b) : (v) > (b)) : (last ? (v) <= (b) : (v) < (b)))
#define ARG_KERNEL(NAME, T)                                                                                            \
    static void NAME(void * ctx, int64_t t0, int64_t t1) {                                                             \
        const arg_job * j = ctx;                                                                                       \
        const int64_t   n = j->n, inner = j->inner;                                                                    \
        const bool      mx = j->is_max, last = j->last;                                                                \
        for (int64_t t = t0; t < t1; t++) {                                                                            \
            if (inner == 1) {                                                                                          \
                const T * x = (const T *)j->x + t * n;                                                                 \
                T         best = x[0];                                                                                 \
                int64_t   bi = 0;                                                                                      \
                for (int64_t i = 1; i < n; i++) {                                                                      \
                    if (ARG_TAKE(x[i], best)) {                                                                        \
                        best = x[i];                                                                                   \
                        bi = i;                                                                                        \
                    }                                                                                                  \
                }                                                                                                      \
                j->y[t] = bi;                                                                                          \
                continue;                                                                                              \
            }                                                                                                          \
            int64_t   o = t / j->n_chunks, c0 = (t % j->n_chunks) * j->chunk;                                          \
            int64_t   w = inner - c0 < j->chunk ? inner - c0 : j->chunk;                                               \
            const T * x = (const T *)j->x + o * n * inner + c0;                                                        \
            int64_t * y = j->y + o * inner + c0;                                                                       \
            T *       best = (T *)j->scratch + o * inner + c0;                                                         \
            memcpy(best, x, (size_t)w * sizeof(T));                                                                    \
            for (int64_t c = 0; c < w; c++) y[c] = 0;                                                                  \
            for (int64_t i = 1; i < n; i++) {                                                                          \
                const T * row = x + i * inner;                                                                         \
                for (int64_t c = 0; c < w; c++) {                                                                      \
                    if (ARG_TAKE(row[c], best[c])) {                                                                   \
                        best[c] = row[c];                                                                              \
                        y[c] = i;                                                                                      \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }

ARG_KERNEL(arg_f32, float)
ARG_KERNEL(arg_f64, double)
ARG_KERNEL(arg_i32, int32_t)
ARG_KERNEL(arg_i64, int64_t)
ARG_KERNEL(arg_u8, uint8_t)

static ei_status * arg_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    const arg_params * p = node->params;
    const ei_shape *   s = &in[0]->shape;
    int32_t            axis;
    EI_TRY(ei_op_axis(node, p->axis, s->rank, &axis));
    arg_job j = {
        .x = in[0]->data, .y = out[0]->data, .n = s->dim[axis], .inner = 1, .last = p->last, .is_max = p->is_max};
    int64_t outer = 1;
    for (int32_t d = 0; d < axis; d++) outer *= s->dim[d];
    for (int32_t d = axis + 1; d < s->rank; d++) j.inner *= s->dim[d];
    if (ei_tensor_numel(out[0]) == 0) return NULL;
    ei_range_fn fn;
    switch (in[0]->dtype) {
    case EI_DTYPE_F32: fn = arg_f32; break;
    case EI_DTYPE_F64: fn = arg_f64; break;
    case EI_DTYPE_I32: fn = arg_i32; break;
    case EI_DTYPE_I64: fn = arg_i64; break;
    case EI_DTYPE_U8: fn = arg_u8; break;
    default: return ei_node_errorf(node, EI_CODE_INTERNAL, "dtype %s reached the kernel", ei_dtype_name(in[0]->dtype));
    }
    int64_t tasks = outer;
    j.chunk = j.inner;
    j.n_chunks = 1;
    if (j.inner > 1) {
        j.scratch = malloc((size_t)(outer * j.inner) * ei_dtype_size(in[0]->dtype));
        if (!j.scratch) return ei_status_oom();
        if (outer < 16 && j.inner > 2048) j.chunk = 1024;
        j.n_chunks = (j.inner + j.chunk - 1) / j.chunk;
        tasks = outer * j.n_chunks;
    }
    ei_parallel_for(ex->pool, tasks, 1 + 32768 / (j.n * j.chunk), fn, &j);
    free(j.scratch);
    return NULL;
}

const ei_op_def ei_op_def_ARG_MAX = {
    .name = "ArgMax",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = argmax_import,
    .infer = arg_infer,
    .run = arg_run,
};

const ei_op_def ei_op_def_ARG_MIN = {
    .name = "ArgMin",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = argmin_import,
    .infer = arg_infer,
    .run = arg_run,
};
