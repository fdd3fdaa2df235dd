/* Gather and GatherElements. Indices come from the model's data, so run checks every index
 * before copying anything and reports the first bad one with the node's name. */
#include <string.h>

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

static int64_t index_at(const ei_tensor * t, int64_t i) {
    return t->dtype == EI_DTYPE_I64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

/* Every index must lie in [-dim, dim). */
static ei_status * check_indices(const ei_node * n, const ei_tensor * idx, int64_t dim, int32_t axis) {
    int64_t count = ei_tensor_numel(idx);
    for (int64_t i = 0; i < count; i++) {
        int64_t v = index_at(idx, i);
        if (v < -dim || v >= dim)
            return ei_node_errorf(n, EI_CODE_INVALID_ARGUMENT,
                                  "index %lld (at position %lld of the indices) is out of range for axis %d of "
                                  "size %lld",
                                  (long long)v, (long long)i, axis, (long long)dim);
    }
    return NULL;
}

static ei_status * check_index_dtype(const ei_graph * g, const ei_node * n) {
    return ei_op_check_dtype(g, n, 1, EI_DTYPE_I64, EI_DTYPE_I32, EI_DTYPE_UNDEFINED);
}

/* ---- Gather ---- */

static ei_status * gather_axis(const ei_node * n, int32_t rank, int32_t * axis) {
    int64_t a;
    EI_TRY(ei_attr_get_int(n, "axis", 0, &a));
    if (rank < 1) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "data must have rank 1 or more");
    return ei_op_axis(n, a, rank, axis);
}

static ei_status * gather_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    const ei_value * ind = ei_node_input(g, n, 1);
    int32_t          axis;
    EI_TRY(check_index_dtype(g, n));
    EI_TRY(gather_axis(n, x->shape.rank, &axis));
    int32_t r = x->shape.rank - 1 + ind->shape.rank;
    if (r > EI_MAX_RANK)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "output rank %d exceeds the supported %d", r, EI_MAX_RANK);
    if (ind->constant) EI_TRY(check_indices(n, ind->constant, x->shape.dim[axis], axis));
    ei_shape s;
    memset(&s, 0, sizeof s);
    for (int32_t i = 0; i < axis; i++) s.dim[s.rank++] = x->shape.dim[i];
    for (int32_t i = 0; i < ind->shape.rank; i++) s.dim[s.rank++] = ind->shape.dim[i];
    for (int32_t i = axis + 1; i < x->shape.rank; i++) s.dim[s.rank++] = x->shape.dim[i];
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

typedef struct gather_ctx {
    char *            dst;
    const char *      src;
    const ei_tensor * idx;
    int64_t           n_idx, dim, block; /* block: bytes after the axis */
} gather_ctx;

/* Task t copies the block of (outer index t / n_idx, index t % n_idx). */
static void gather_range(void * arg, int64_t begin, int64_t end) {
    const gather_ctx * c = arg;
    int64_t            o = begin / c->n_idx, j = begin % c->n_idx;
    for (int64_t t = begin; t < end; t++) {
        int64_t v = index_at(c->idx, j);
        if (v < 0) v += c->dim;
        const char * s = c->src + (o * c->dim + v) * c->block;
        char *       d = c->dst + t * c->block;
        switch (c->block) {
        case 1: *d = *s; break;
        case 2: memcpy(d, s, 2); break;
        case 4: memcpy(d, s, 4); break;
        case 8: memcpy(d, s, 8); break;
        default: memcpy(d, s, (size_t)c->block); break;
        }
        if (++j == c->n_idx) {
            j = 0;
            o++;
        }
    }
}

static ei_status * gather_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                              const ei_exec * ex) {
    const ei_tensor * x = in[0];
    int32_t           axis;
    EI_TRY(gather_axis(n, x->shape.rank, &axis));
    EI_TRY(check_indices(n, in[1], x->shape.dim[axis], axis));
    gather_ctx c = {.dst = out[0]->data,
                    .src = x->data,
                    .idx = in[1],
                    .n_idx = ei_tensor_numel(in[1]),
                    .dim = x->shape.dim[axis],
                    .block = (int64_t)ei_dtype_size(x->dtype)};
    int64_t    outer = 1;
    for (int32_t i = 0; i < axis; i++) outer *= x->shape.dim[i];
    for (int32_t i = axis + 1; i < x->shape.rank; i++) c.block *= x->shape.dim[i];
    if (c.n_idx == 0 || c.block == 0 || outer == 0) return NULL;
    ei_parallel_for(ex->pool, outer * c.n_idx, EI_DM_GRAIN_BYTES / c.block + 1, gather_range, &c);
    return NULL;
}

const ei_op_def ei_op_def_GATHER = {
    .name = "Gather",
    .in_min = 2,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .infer = gather_infer,
    .run = gather_run,
};

/* ---- GatherElements ---- */

static ei_status * gather_elements_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    const ei_value * ind = ei_node_input(g, n, 1);
    int32_t          axis;
    EI_TRY(check_index_dtype(g, n));
    EI_TRY(gather_axis(n, x->shape.rank, &axis));
    if (ind->shape.rank != x->shape.rank)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "indices have rank %d but data has rank %d", ind->shape.rank,
                              x->shape.rank);
    for (int32_t i = 0; i < x->shape.rank; i++)
        if (i != axis && ind->shape.dim[i] > x->shape.dim[i]) {
            char a[160], b[160];
            return ei_node_errorf(
                n, EI_CODE_INVALID_MODEL, "indices of shape %s reach past data of shape %s on axis %d",
                ei_shape_format(&ind->shape, a, sizeof a), ei_shape_format(&x->shape, b, sizeof b), i);
        }
    if (ind->constant) EI_TRY(check_indices(n, ind->constant, x->shape.dim[axis], axis));
    ei_op_set_output(g, n, 0, x->dtype, &ind->shape);
    return NULL;
}

typedef struct gather_el_ctx {
    char *            dst;
    const char *      src;
    const ei_tensor * idx;
    size_t            esize;
    int32_t           rank, axis;
    int64_t           axis_dim;
    int64_t           idims[EI_MAX_RANK];   /* indices (= output) dims */
    int64_t           strides[EI_MAX_RANK]; /* data strides */
} gather_el_ctx;

/* Rows are the output's last axis; the data offset of a row comes from its coordinates on every
 * axis but `axis`, whose coordinate is the index value itself. */
static void gather_el_rows(void * arg, int64_t begin, int64_t end) {
    const gather_el_ctx * c = arg;
    int32_t               last = c->rank - 1;
    int64_t               inner = c->idims[last], idx[EI_MAX_RANK], base = 0, rem = begin;
    for (int32_t k = last - 1; k >= 0; k--) {
        idx[k] = rem % c->idims[k];
        rem /= c->idims[k];
        if (k != c->axis) base += idx[k] * c->strides[k];
    }
    int64_t astride = c->strides[c->axis], jstep = c->axis == last ? 0 : 1;
    for (int64_t row = begin; row < end; row++) {
        int64_t first = row * inner;
#define EI_GE_ROW(T)                                                                                                   \
    do {                                                                                                               \
        T *       d_ = (T *)(void *)c->dst + first;                                                                    \
        const T * s_ = (const T *)(const void *)c->src + base;                                                         \
        for (int64_t j = 0; j < inner; j++) {                                                                          \
            int64_t v = index_at(c->idx, first + j);                                                                   \
            if (v < 0) v += c->axis_dim;                                                                               \
            d_[j] = s_[v * astride + j * jstep];                                                                       \
        }                                                                                                              \
    } while (0)
        switch (c->esize) {
        case 1: EI_GE_ROW(uint8_t); break;
        case 2: EI_GE_ROW(uint16_t); break;
        case 4: EI_GE_ROW(uint32_t); break;
        default: EI_GE_ROW(uint64_t); break;
        }
#undef EI_GE_ROW
        for (int32_t k = last - 1; k >= 0; k--) {
            int64_t st = k == c->axis ? 0 : c->strides[k];
            base += st;
            if (++idx[k] < c->idims[k]) break;
            base -= st * c->idims[k];
            idx[k] = 0;
        }
    }
}

static ei_status * gather_elements_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                                       const ei_exec * ex) {
    const ei_tensor * x = in[0];
    int32_t           axis;
    EI_TRY(gather_axis(n, x->shape.rank, &axis));
    EI_TRY(check_indices(n, in[1], x->shape.dim[axis], axis));
    if (ei_tensor_numel(in[1]) == 0) return NULL;
    gather_el_ctx c = {.dst = out[0]->data,
                       .src = x->data,
                       .idx = in[1],
                       .esize = ei_dtype_size(x->dtype),
                       .rank = x->shape.rank,
                       .axis = axis,
                       .axis_dim = x->shape.dim[axis]};
    memcpy(c.idims, in[1]->shape.dim, sizeof c.idims);
    ei_shape_strides(&x->shape, c.strides);
    int64_t inner = c.idims[c.rank - 1];
    ei_parallel_for(ex->pool, ei_tensor_numel(in[1]) / inner, EI_DM_GRAIN_BYTES / (inner * (int64_t)c.esize) + 1,
                    gather_el_rows, &c);
    return NULL;
}

const ei_op_def ei_op_def_GATHER_ELEMENTS = {
    .name = "GatherElements",
    .in_min = 2,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .infer = gather_elements_infer,
    .run = gather_elements_run,
};
