/* TopK (opsets 1, 10, 11, 24): the K largest (or smallest) elements along `axis` and their int64
 * indices, best first; equal values are ordered by lower index, as ONNX specifies (for sorted=0
 * any order is allowed, and the sorted one is given). K is the attribute `k` in opset 1 and a
 * constant 1-element input from opset 10; K larger than the axis is refused by infer.
 *
 * Values are compared through order-preserving unsigned 64-bit keys, so one selection routine
 * serves every dtype (float32/64, int8..64, uint8..64): a heap of the K best (key, index) pairs
 * per slice, O(n log K). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

typedef struct topk_params {
    int64_t axis;
    int64_t k_attr; /* opset 1; -1 when K is an input */
    bool    largest;
} topk_params;

static ei_status * topk_import(ei_node * node) {
    int64_t axis = -1, k = -1, largest = 1, sorted = 1;
    EI_TRY(ei_attr_get_int(node, "axis", -1, &axis));
    if (node->opset < 10) {
        EI_TRY(ei_attr_get_int(node, "k", -1, &k));
        if (k < 0) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute k is required (>= 0) before opset 10");
    }
    if (node->opset >= 11) {
        EI_TRY(ei_attr_get_int(node, "largest", 1, &largest));
        EI_TRY(ei_attr_get_int(node, "sorted", 1, &sorted));
    }
    topk_params * p = malloc(sizeof *p);
    if (!p) return ei_status_oom();
    *p = (topk_params){axis, k, largest != 0};
    return ei_op_install_params(node, p, NULL);
}

/* K from the attribute or the constant input, checked against the axis length. */
static ei_status * topk_k(const ei_graph * g, const ei_node * node, int64_t axis_len, int64_t * k) {
    const topk_params * p = node->params;
    if (p->k_attr >= 0) {
        *k = p->k_attr;
    } else {
        const ei_value * kv = ei_node_input(g, node, 1);
        if (!kv) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input K is required from opset 10");
        int64_t vals[1] = {0};
        int32_t n = 0;
        if (kv->constant && ei_shape_numel(&kv->shape) != 1)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input K must have exactly one element");
        EI_TRY(ei_op_const_ints(g, node, 1, vals, 1, &n));
        if (n != 1) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input K must have exactly one element");
        *k = vals[0];
    }
    if (*k < 0 || *k > axis_len)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "K = %lld is out of range: the axis has %lld elements",
                              (long long)*k, (long long)axis_len);
    return NULL;
}

static ei_status * topk_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(topk_import(node));
    const topk_params * p = node->params;
    EI_TRY(ei_op_check_dtype(g, node, 0, EI_DTYPE_F32, EI_DTYPE_F64, EI_DTYPE_I8, EI_DTYPE_I16, EI_DTYPE_I32,
                             EI_DTYPE_I64, EI_DTYPE_U8, EI_DTYPE_U16, EI_DTYPE_U32, EI_DTYPE_U64, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, node, 0);
    if (!x) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X is required");
    if (x->shape.rank == 0) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input X must have rank >= 1");
    int32_t axis;
    int64_t k = 0;
    EI_TRY(ei_op_axis(node, p->axis, x->shape.rank, &axis));
    EI_TRY(topk_k(g, node, x->shape.dim[axis], &k));
    ei_shape out = x->shape;
    out.dim[axis] = k;
    ei_op_set_output(g, node, 0, x->dtype, &out);
    ei_op_set_output(g, node, 1, EI_DTYPE_I64, &out);
    return NULL;
}

/* Order-preserving key of element i: larger value -> larger key. Float -0 and +0 are equal;
 * NaN sorts above everything (positive) or below (negative), as its bits say. */
static uint64_t topk_key(ei_dtype dt, const void * x, int64_t i) {
    const uint64_t sign = 1ull << 63;
    switch (dt) {
    case EI_DTYPE_F32: {
        float v = ((const float *)x)[i];
        if (v == 0.0f) v = 0.0f;
        uint32_t b;
        memcpy(&b, &v, sizeof b);
        b = (b & 0x80000000u) ? ~b : b | 0x80000000u;
        return (uint64_t)b;
    }
    case EI_DTYPE_F64: {
        double v = ((const double *)x)[i];
        if (v == 0.0) v = 0.0;
        uint64_t b;
        memcpy(&b, &v, sizeof b);
        return (b & sign) ? ~b : b | sign;
    }
    case EI_DTYPE_I8: return (uint64_t)(int64_t)((const int8_t *)x)[i] ^ sign;
    case EI_DTYPE_I16: return (uint64_t)(int64_t)((const int16_t *)x)[i] ^ sign;
    case EI_DTYPE_I32: return (uint64_t)(int64_t)((const int32_t *)x)[i] ^ sign;
    case EI_DTYPE_I64: return (uint64_t)((const int64_t *)x)[i] ^ sign;
    case EI_DTYPE_U8: return ((const uint8_t *)x)[i];
    case EI_DTYPE_U16: return ((const uint16_t *)x)[i];
    case EI_DTYPE_U32: return ((const uint32_t *)x)[i];
    default: return ((const uint64_t *)x)[i];
    }
}

typedef struct topk_entry {
    uint64_t key; /* inverted for smallest-K, so that larger is always better */
    int64_t  idx;
} topk_entry;

/* a ranks before b: larger key, then lower index. */
static inline bool topk_better(const topk_entry * a, const topk_entry * b) {
    return a->key > b->key || (a->key == b->key && a->idx < b->idx);
}

/* Min-heap on "better": the root is the worst of the kept entries. */
static void topk_sift_down(topk_entry * h, int64_t n, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && topk_better(&h[w], &h[l])) w = l;
        if (r < n && topk_better(&h[w], &h[r])) w = r;
        if (w == i) return;
        topk_entry t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

typedef struct topk_job {
    ei_dtype     dt;
    size_t       es;
    const char * x;
    char *       yv;
    int64_t *    yi;
    int64_t      n, inner, k;
    bool         largest;
    int          failed; /* set when a heap could not be allocated */
} topk_job;

static void topk_slices(void * ctx, int64_t s0, int64_t s1) {
    topk_job *     j = ctx;
    const int64_t  n = j->n, inner = j->inner, k = j->k;
    const uint64_t flip = j->largest ? 0 : ~0ull;
    topk_entry *   h = malloc((size_t)k * sizeof *h);
    if (!h) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t s = s0; s < s1; s++) {
        int64_t      o = s / inner, c = s % inner;
        const char * xs = j->x + (size_t)(o * n * inner + c) * j->es;
        int64_t      size = 0;
        for (int64_t i = 0; i < n; i++) {
            topk_entry e = {topk_key(j->dt, xs, i * inner) ^ flip, i};
            if (size < k) {
                /* sift up */
                int64_t q = size++;
                h[q] = e;
                while (q > 0 && topk_better(&h[(q - 1) / 2], &h[q])) {
                    topk_entry t = h[q];
                    h[q] = h[(q - 1) / 2];
                    h[(q - 1) / 2] = t;
                    q = (q - 1) / 2;
                }
            } else if (k > 0 && topk_better(&e, &h[0])) {
                h[0] = e;
                topk_sift_down(h, size, 0);
            }
        }
        /* Pop worst first into the last free output position. */
        const int64_t base = o * k * inner + c;
        while (size > 0) {
            topk_entry e = h[0];
            h[0] = h[--size];
            topk_sift_down(h, size, 0);
            int64_t at = base + size * inner;
            j->yi[at] = e.idx;
            memcpy(j->yv + (size_t)at * j->es, xs + (size_t)(e.idx * inner) * j->es, j->es);
        }
    }
    free(h);
}

static ei_status * topk_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    const topk_params * p = node->params;
    const ei_shape *    s = &in[0]->shape;
    int32_t             axis;
    EI_TRY(ei_op_axis(node, p->axis, s->rank, &axis));
    if (!out[0] && !out[1]) return NULL;
    int64_t k = out[0] ? out[0]->shape.dim[axis] : out[1]->shape.dim[axis];
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++) outer *= s->dim[d];
    for (int32_t d = axis + 1; d < s->rank; d++) inner *= s->dim[d];
    if (k == 0 || outer * inner == 0) return NULL;
    /* Outputs may be omitted: write into scratch then. */
    size_t      es = ei_dtype_size(in[0]->dtype);
    size_t      out_n = (size_t)(outer * k * inner);
    char *      vbuf = out[0] ? NULL : malloc(out_n * es);
    int64_t *   ibuf = out[1] ? NULL : malloc(out_n * sizeof(int64_t));
    topk_job    j = {in[0]->dtype,
                     es,
                     in[0]->data,
                  out[0] ? out[0]->data : vbuf,
                  out[1] ? out[1]->data : ibuf,
                     s->dim[axis],
                     inner,
                     k,
                     p->largest,
                     0};
    ei_status * st = NULL;
    if ((!out[0] && !vbuf) || (!out[1] && !ibuf))
        st = ei_status_oom();
    else
        ei_parallel_for(ex->pool, outer * inner, 1 + 4096 / (j.n + 1), topk_slices, &j);
    if (!st && j.failed) st = ei_status_oom();
    free(vbuf);
    free(ibuf);
    return st;
}

const ei_op_def ei_op_def_TOP_K = {
    .name = "TopK",
    .in_min = 1,
    .in_max = 2,
    .out_min = 2,
    .out_max = 2,
    .import = topk_import,
    .infer = topk_infer,
    .run = topk_run,
};
