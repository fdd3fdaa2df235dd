/* Clip: min/max are attributes before opset 11 and optional scalar inputs from 11 on. A missing
 * bound does not clamp at all (so infinities pass), and min > max yields max, as
 * min(max(x, lo), hi) does in ONNX Runtime. NaN passes through. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/eltwise_kernels.h"

typedef struct clip_params {
    bool   attr_lo, attr_hi; /* opset < 11 */
    double lo, hi;
} clip_params;

/* Bounds for one run, already in the kernel's compute dtype. */
/* A scalar of any dtype, aligned for all of them. */
typedef union ew_scalar {
    uint8_t b[8];
    double  f64;
    int64_t i64;
} ew_scalar;

typedef struct clip_bounds {
    bool      has_lo, has_hi;
    ew_scalar lo, hi;
} clip_bounds;

#define EW_CLIP(E, T)                                                                                                  \
    static void clip_##E(void * o_, const void * const * in, const uint8_t * st, int64_t n, const void * prm) {        \
        const clip_bounds * p = prm;                                                                                   \
        T                   lo, hi;                                                                                    \
        memcpy(&lo, p->lo.b, sizeof lo);                                                                               \
        memcpy(&hi, p->hi.b, sizeof hi);                                                                               \
        const bool    hl = p->has_lo, hh = p->has_hi;                                                                  \
        T *           o = o_;                                                                                          \
        const T *     a = in[0];                                                                                       \
        const int64_t s = st[0];                                                                                       \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            T x = a[i * s];                                                                                            \
            if (hl && x < lo) x = lo;                                                                                  \
            if (hh && x > hi) x = hi;                                                                                  \
            o[i] = x;                                                                                                  \
        }                                                                                                              \
    }
#define EW_CLIP_INT(E, T, UW, S) EW_CLIP(E, T)
EW_INT_TYPES(EW_CLIP_INT)
EW_FLOAT_TYPES(EW_CLIP)

static const ei_ew_table k_clip = EW_TABLE_ALL(clip);

static ei_status * clip_import(ei_node * n) {
    clip_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    n->params = p;
    if (n->opset >= 11) return NULL;
    float v;
    if (ei_node_attr(n, "min")) {
        EI_TRY(ei_attr_get_float(n, "min", 0, &v));
        p->attr_lo = true;
        p->lo = v;
    }
    if (ei_node_attr(n, "max")) {
        EI_TRY(ei_attr_get_float(n, "max", 0, &v));
        p->attr_hi = true;
        p->hi = v;
    }
    return NULL;
}

static ei_status * clip_infer(ei_graph * g, ei_node * n) {
    EI_TRY(ei_ew_unary_infer(g, n, k_clip, EI_DTYPE_UNDEFINED));
    for (int32_t k = 1; k < n->n_inputs && k < 3; k++) {
        const ei_value * b = ei_node_input(g, n, k);
        if (!b) continue;
        EI_TRY(ei_ew_check_same_dtype(g, n, 0, k));
        if (ei_shape_numel(&b->shape) != 1)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d ('%s', the %s bound) must be a scalar", k,
                                  b->name, k == 1 ? "min" : "max");
    }
    return NULL;
}

static ei_status * clip_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    const clip_params * p = node->params;
    ei_dtype            dt = in[0]->dtype;
    ei_dtype            cdt = ei_ew_is_half(dt) ? EI_DTYPE_F32 : dt; /* halves run the float32 kernel */
    clip_bounds         b;
    memset(&b, 0, sizeof b);
    b.has_lo = p->attr_lo;
    b.has_hi = p->attr_hi;
    if (p->attr_lo) ei_ew_convert(&p->lo, EI_DTYPE_F64, b.lo.b, cdt, 1);
    if (p->attr_hi) ei_ew_convert(&p->hi, EI_DTYPE_F64, b.hi.b, cdt, 1);
    if (node->n_inputs > 1 && in[1]) {
        b.has_lo = true;
        ei_ew_convert(in[1]->data, dt, b.lo.b, cdt, 1);
    }
    if (node->n_inputs > 2 && in[2]) {
        b.has_hi = true;
        ei_ew_convert(in[2]->data, dt, b.hi.b, cdt, 1);
    }
    return ei_ew_unary_run(in, out[0], ex, k_clip, &b, EI_EW_GRAIN_CHEAP);
}

const ei_op_def ei_op_def_CLIP = {.name = "Clip",
                                  .in_min = 1,
                                  .in_max = 3,
                                  .out_min = 1,
                                  .out_max = 1,
                                  .import = clip_import,
                                  .infer = clip_infer,
                                  .run = clip_run};
