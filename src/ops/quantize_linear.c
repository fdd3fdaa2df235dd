/* QuantizeLinear (opsets 10, 13, 19, 21 without blocks): y = saturate(round(x / scale) + zero_point)
 * with round half to even, as ONNX Runtime's MLAS kernel computes it (the division and the
 * rounding in float32, then the zero point added and the result clamped to the output type). x
 * float32; scale float32, one per tensor (a scalar or a 1-element vector) or one per slice of
 * `axis` (opset 13 on); zero point int8 or uint8 of the scale's shape; the output has the zero
 * point's dtype (uint8 when it is omitted, or opset 21's output_dtype). NaN quantises to the zero
 * point (ONNX leaves it undefined). A scale that is zero, negative or not finite is refused when
 * the model loads if it is constant (it always is in real QDQ models), else when the node runs.
 * Also the checks that DequantizeLinear shares (src/ops/qdq_common.h). */
#include <math.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ops/qdq_common.h"

ei_status * ei_qdq_import(ei_node * n) {
    ei_qdq_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    ei_status * st = ei_attr_get_int(n, "axis", 1, &p->axis);
    int64_t     block = 0;
    if (!st) st = ei_attr_get_int(n, "block_size", 0, &block);
    if (!st && block != 0)
        st = ei_node_errorf(n, EI_CODE_UNSUPPORTED,
                            "blocked quantisation (block_size %lld) is not supported; per-tensor and "
                            "per-axis scales are",
                            (long long)block);
    return ei_op_install_params(n, p, st);
}

ei_status * ei_qdq_check_scales(const ei_node * n, const ei_tensor * scale) {
    const float * s = scale->data;
    int64_t       count = ei_shape_numel(&scale->shape);
    for (int64_t i = 0; i < count; i++)
        if (!(isfinite(s[i]) && s[i] > 0.0f))
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "scale %g (element %lld of %lld) is not a positive finite number; a "
                                  "quantised model needs scale > 0 for every tensor and channel: re-quantise "
                                  "the model",
                                  (double)s[i], (long long)i, (long long)count);
    return NULL;
}

ei_status * ei_qdq_check(const ei_graph * g, const ei_node * n, ei_dtype zp_dtype, ei_qdq_layout * out) {
    const ei_qdq_params * p = n->params;
    const ei_value *      x = ei_node_input(g, n, 0);
    const ei_value *      s = ei_node_input(g, n, 1);
    const ei_value *      z = ei_node_input(g, n, 2);
    if (!x || !s) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "inputs 0 (x) and 1 (scale) are required");
    if (s->dtype != EI_DTYPE_F32)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "scale '%s' is %s; float32 scales are supported", s->name,
                              ei_dtype_name(s->dtype));
    if (s->shape.rank > 1)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "scale '%s' has rank %d; it must be a scalar or 1-D", s->name,
                              s->shape.rank);
    int64_t sn = ei_shape_numel(&s->shape);
    *out = (ei_qdq_layout){.per_axis = false, .axis = 0, .outer = ei_shape_numel(&x->shape), .channels = 1, .inner = 1};
    /* One element (rank 0 or 1) is per tensor whatever the axis, as in ONNX Runtime. */
    if (s->shape.rank == 1 && sn != 1) {
        if (x->shape.rank == 0)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "scale '%s' is a vector but input '%s' is a scalar",
                                  s->name, x->name);
        int32_t axis;
        EI_TRY(ei_op_axis(n, p->axis, x->shape.rank, &axis));
        if (sn != x->shape.dim[axis])
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "scale '%s' has %lld elements but input '%s' has %lld along axis %d", s->name,
                                  (long long)sn, x->name, (long long)x->shape.dim[axis], axis);
        out->per_axis = true;
        out->axis = axis;
        out->outer = 1;
        out->inner = 1;
        for (int32_t d = 0; d < axis; d++) out->outer *= x->shape.dim[d];
        for (int32_t d = axis + 1; d < x->shape.rank; d++) out->inner *= x->shape.dim[d];
        out->channels = sn;
    }
    if (z) {
        bool same =
            out->per_axis ? ei_shape_equal(&z->shape, &s->shape) : z->shape.rank <= 1 && ei_shape_numel(&z->shape) == 1;
        if (!same)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "zero point '%s' has %lld elements (rank %d) but scale '%s' has %lld (rank %d); "
                                  "they must have the same shape",
                                  z->name, (long long)ei_shape_numel(&z->shape), z->shape.rank, s->name, (long long)sn,
                                  s->shape.rank);
        if (z->dtype != zp_dtype)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "zero point '%s' is %s; it must be %s", z->name,
                                  ei_dtype_name(z->dtype), ei_dtype_name(zp_dtype));
    }
    const ei_tensor * sc = ei_node_input_const(g, n, 1);
    if (sc) EI_TRY(ei_qdq_check_scales(n, sc));
    return NULL;
}

ei_qdq_layout ei_qdq_layout_of(const ei_node * n, const ei_tensor * x, const ei_tensor * scale) {
    const ei_qdq_params * p = n->params;
    int64_t               sn = ei_shape_numel(&scale->shape);
    ei_qdq_layout l = {.per_axis = false, .axis = 0, .outer = ei_shape_numel(&x->shape), .channels = 1, .inner = 1};
    if (scale->shape.rank == 1 && sn != 1) {
        int32_t axis = (int32_t)(p->axis < 0 ? p->axis + x->shape.rank : p->axis);
        l.per_axis = true;
        l.axis = axis;
        l.outer = 1;
        for (int32_t d = 0; d < axis; d++) l.outer *= x->shape.dim[d];
        for (int32_t d = axis + 1; d < x->shape.rank; d++) l.inner *= x->shape.dim[d];
        l.channels = sn;
    }
    return l;
}

static ei_status * q_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    const ei_value * z = ei_node_input(g, n, 2);
    if (!x) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 0 (x) is required");
    if (x->dtype != EI_DTYPE_F32)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input '%s' is %s; float32 input is supported", x->name,
                              ei_dtype_name(x->dtype));
    ei_dtype out_dt = EI_DTYPE_U8;
    int64_t  odt = 0;
    EI_TRY(ei_attr_get_int(n, "output_dtype", 0, &odt));
    if (odt != 0) {
        out_dt = odt <= INT32_MAX ? ei_dtype_from_onnx((int32_t)odt) : EI_DTYPE_UNDEFINED;
        if (out_dt != EI_DTYPE_I8 && out_dt != EI_DTYPE_U8)
            return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "output_dtype %lld: int8 and uint8 outputs are supported",
                                  (long long)odt);
    }
    if (z) {
        if (z->dtype != EI_DTYPE_I8 && z->dtype != EI_DTYPE_U8)
            return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "zero point '%s' is %s; int8 and uint8 are supported",
                                  z->name, ei_dtype_name(z->dtype));
        if (odt != 0 && z->dtype != out_dt)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "zero point '%s' is %s but output_dtype is %s", z->name,
                                  ei_dtype_name(z->dtype), ei_dtype_name(out_dt));
        out_dt = z->dtype;
    }
    ei_qdq_layout l;
    EI_TRY(ei_qdq_check(g, n, out_dt, &l));
    ei_op_set_output(g, n, 0, out_dt, &x->shape);
    return NULL;
}

typedef struct q_ctx {
    const float * x;
    const float * s;
    const void *  z; /* NULL: zero */
    void *        y;
    bool          is_signed;
    ei_qdq_layout l;
} q_ctx;

/* Round half to even without a libm call, so that the loops vectorise: for |v| <= 2^22, v + 1.5 *
 * 2^23 lies where floats are integers, so the addition rounds v to an integer in the default
 * rounding mode (to nearest, ties to even), and subtracting the constant again is exact. Larger
 * |v| saturate anyway, so v is clamped to +-2^22 first; NaN becomes 0 (the zero point). */
#define Q_RNE_MAGIC 12582912.0f
#define Q_RNE_LIMIT 4194304.0f

static inline float q_round(float v) {
    v = v == v ? v : 0.0f;
    v = v > Q_RNE_LIMIT ? Q_RNE_LIMIT : v;
    v = v < -Q_RNE_LIMIT ? -Q_RNE_LIMIT : v;
    return (v + Q_RNE_MAGIC) - Q_RNE_MAGIC;
}

#define Q_ROW(T, LO, HI)                                                                                               \
    do {                                                                                                               \
        T * y = (T *)c->y + r * c->l.inner;                                                                            \
        for (int64_t i = q_row_fast(x, y, c->l.inner, s, zp, c->is_signed); i < c->l.inner; i++) {                     \
            float v = q_round(x[i] / s) + zp;                                                                          \
            v = v < (LO) ? (LO) : v;                                                                                   \
            v = v > (HI) ? (HI) : v;                                                                                   \
            y[i] = (T)(int32_t)v;                                                                                      \
        }                                                                                                              \
    } while (0)

#ifdef __SSE2__
/* The same in SSE2, 16 elements at a time: q_round, the zero point, the clamp, then packing to 8
 * bits (the values are already in range, so the saturating packs change nothing). */
static int64_t q_row_sse2(const float * x, void * y, int64_t n, float s, float zp, bool is_signed) {
    const __m128 vs = _mm_set1_ps(s), vz = _mm_set1_ps(zp), magic = _mm_set1_ps(Q_RNE_MAGIC);
    const __m128 lim = _mm_set1_ps(Q_RNE_LIMIT), nlim = _mm_set1_ps(-Q_RNE_LIMIT);
    const __m128 lo = _mm_set1_ps(is_signed ? -128.0f : 0.0f), hi = _mm_set1_ps(is_signed ? 127.0f : 255.0f);
    int64_t      i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i q[4];
        for (int k = 0; k < 4; k++) {
            __m128 v = _mm_div_ps(_mm_loadu_ps(x + i + 4 * k), vs);
            v = _mm_and_ps(v, _mm_cmpord_ps(v, v)); /* NaN -> 0 */
            v = _mm_max_ps(_mm_min_ps(v, lim), nlim);
            v = _mm_sub_ps(_mm_add_ps(v, magic), magic);
            v = _mm_max_ps(_mm_min_ps(_mm_add_ps(v, vz), hi), lo);
            q[k] = _mm_cvtps_epi32(v);
        }
        __m128i w0 = _mm_packs_epi32(q[0], q[1]), w1 = _mm_packs_epi32(q[2], q[3]);
        __m128i b = is_signed ? _mm_packs_epi16(w0, w1) : _mm_packus_epi16(w0, w1);
        _mm_storeu_si128((__m128i *)((uint8_t *)y + i), b);
    }
    return i;
}
#endif

/* How many leading elements of a row the vector code quantised (0 without SSE2). */
static inline int64_t q_row_fast(const float * x, void * y, int64_t n, float s, float zp, bool is_signed) {
#ifdef __SSE2__
    return q_row_sse2(x, y, n, s, zp, is_signed);
#else
    (void)x, (void)y, (void)n, (void)s, (void)zp, (void)is_signed;
    return 0;
#endif
}

/* One row = one (outer, channel) pair: `inner` elements sharing a scale and zero point. */
static void q_rows(void * ctx, int64_t b, int64_t e) {
    const q_ctx * c = ctx;
    for (int64_t r = b; r < e; r++) {
        int64_t       ch = r % c->l.channels;
        const float   s = c->s[ch];
        float         zp = 0.0f;
        const float * x = c->x + r * c->l.inner;
        if (c->z) zp = c->is_signed ? (float)((const int8_t *)c->z)[ch] : (float)((const uint8_t *)c->z)[ch];
        if (c->is_signed)
            Q_ROW(int8_t, -128.0f, 127.0f);
        else
            Q_ROW(uint8_t, 0.0f, 255.0f);
    }
}

static ei_status * q_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                         const ei_exec * ex) {
    EI_TRY(ei_qdq_check_scales(node, in[1]));
    q_ctx c = {.x = in[0]->data,
               .s = in[1]->data,
               .z = in[2] ? in[2]->data : NULL,
               .y = out[0]->data,
               .is_signed = out[0]->dtype == EI_DTYPE_I8,
               .l = ei_qdq_layout_of(node, in[0], in[1])};
    if (!c.l.per_axis) {
        /* One scale: rows of a fixed size, so that threads share the work evenly. */
        int64_t total = c.l.outer;
        c.l.inner = total < 4096 ? total : 4096;
        c.l.outer = c.l.inner ? total / c.l.inner : 0;
        ei_parallel_for(ex ? ex->pool : NULL, c.l.outer, 16, q_rows, &c);
        int64_t done = c.l.outer * c.l.inner;
        if (done < total) {
            q_ctx tail = c;
            tail.x += done;
            tail.y = (char *)c.y + done;
            tail.l.inner = total - done;
            q_rows(&tail, 0, 1);
        }
        return NULL;
    }
    int64_t grain = c.l.inner >= 4096 ? 1 : 4096 / (c.l.inner ? c.l.inner : 1);
    ei_parallel_for(ex ? ex->pool : NULL, c.l.outer * c.l.channels, grain, q_rows, &c);
    return NULL;
}

const ei_op_def ei_op_def_QUANTIZE_LINEAR = {
    .name = "QuantizeLinear",
    .in_min = 2,
    .in_max = 3,
    .out_min = 1,
    .out_max = 1,
    .import = ei_qdq_import,
    .infer = q_infer,
    .run = q_run,
};
