/* Pad: constant, reflect, edge and wrap modes, negative pads crop. Each axis gets a map from
 * output coordinate to input coordinate (-1: the constant); an output row is then a constant
 * fill, or a left border, one memcpy of the kept input run, and a right border. */
#include <stdlib.h>
#include <string.h>

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

typedef struct pad_params {
    pad_mode mode;
    float    value; /* opset < 11: the `value` attribute */
    /* per axis, set by infer: output position `before` holds input position `lo`, and `keep`
     * input elements from there on are copied as they are (negative pads move lo and shrink keep) */
    int64_t before[EI_MAX_RANK], lo[EI_MAX_RANK], keep[EI_MAX_RANK];
} pad_params;

static ei_status * pad_import(ei_node * n) {
    pad_params * p;
    EI_TRY(ei_shp_params(n, sizeof *p, (void **)&p));
    const char * mode;
    EI_TRY(ei_attr_get_string(n, "mode", "constant", &mode));
    if (strcmp(mode, "constant") == 0) {
        p->mode = PAD_CONSTANT;
    } else if (strcmp(mode, "reflect") == 0) {
        p->mode = PAD_REFLECT;
    } else if (strcmp(mode, "edge") == 0) {
        p->mode = PAD_EDGE;
    } else if (strcmp(mode, "wrap") == 0 && n->opset >= 19) {
        p->mode = PAD_WRAP;
    } else {
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "mode '%s' is not one of constant, reflect, edge%s", mode,
                              n->opset >= 19 ? ", wrap" : " (wrap needs opset 19)");
    }
    if (n->opset < 11) EI_TRY(ei_attr_get_float(n, "value", 0.0f, &p->value));
    return NULL;
}

static ei_status * pad_infer(ei_graph * g, ei_node * n) {
    pad_params *     p = n->params;
    const ei_value * x = ei_node_input(g, n, 0);
    int32_t          r = x->shape.rank;
    int64_t          pads[EI_SHP_MAX_INTS], axes_raw[EI_SHP_MAX_INTS];
    int32_t          np, na = -1, axes[EI_MAX_RANK];
    EI_TRY(ei_shp_ints(g, n, "pads", 1, 11, pads, &np));
    if (np < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "pads are missing");
    if (n->opset >= 18) EI_TRY(ei_op_const_ints(g, n, 3, axes_raw, EI_SHP_MAX_INTS, &na));
    if (na < 0) {
        na = r;
        for (int32_t i = 0; i < r; i++) axes[i] = i;
    } else {
        EI_TRY(ei_shp_axes(n, "axes", axes_raw, na, r, axes));
    }
    if (np != 2 * na)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%d pads for %d axes (need two per axis)", np, na);
    const ei_value * cv = n->opset >= 11 ? ei_node_input(g, n, 2) : NULL;
    if (cv) {
        if (cv->dtype != x->dtype)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "constant_value is %s but the data is %s",
                                  ei_dtype_name(cv->dtype), ei_dtype_name(x->dtype));
        if (ei_shape_numel(&cv->shape) > 1)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "constant_value must hold one value, not %lld",
                                  (long long)ei_shape_numel(&cv->shape));
    }
    int64_t begin[EI_MAX_RANK] = {0}, end[EI_MAX_RANK] = {0};
    for (int32_t i = 0; i < na; i++) {
        begin[axes[i]] = pads[i];
        end[axes[i]] = pads[na + i];
    }
    ei_shape s = x->shape;
    for (int32_t k = 0; k < r; k++) {
        int64_t dim = x->shape.dim[k], b = begin[k], e = end[k];
        int64_t cut_b = b < 0 ? -b : 0, cut_e = e < 0 ? -e : 0;
        if (b < -dim || e < -dim || cut_b + cut_e > dim)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "pads %lld and %lld remove more than the %lld elements of axis %d", (long long)b,
                                  (long long)e, (long long)dim, k);
        int64_t keep = dim - cut_b - cut_e, add_b = b > 0 ? b : 0, add_e = e > 0 ? e : 0;
        if (add_b > INT64_MAX / 4 || add_e > INT64_MAX / 4)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "pads on axis %d are too large", k);
        if (keep == 0 && (add_b || add_e) && p->mode != PAD_CONSTANT)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "cannot pad the empty axis %d in this mode", k);
        p->before[k] = add_b;
        p->lo[k] = cut_b;
        p->keep[k] = keep;
        s.dim[k] = keep + add_b + add_e;
    }
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

/* Input coordinate of output coordinate j on axis k, or -1 for the constant. */
static int64_t map_coord(const pad_params * p, int32_t k, int64_t j) {
    int64_t q = j - p->before[k], m = p->keep[k];
    if (q >= 0 && q < m) return p->lo[k] + q;
    switch (p->mode) {
    case PAD_CONSTANT: return -1;
    case PAD_EDGE: q = q < 0 ? 0 : m - 1; break;
    case PAD_WRAP: q = ((q % m) + m) % m; break;
    case PAD_REFLECT:
        if (m == 1) {
            q = 0;
        } else {
            int64_t period = 2 * (m - 1);
            q = ((q % period) + period) % period;
            if (q >= m) q = period - q;
        }
        break;
    }
    return p->lo[k] + q;
}

static void value_from_float(ei_dtype dt, double v, void * out) {
    switch (dt) {
    case EI_DTYPE_F32: *(float *)out = (float)v; break;
    case EI_DTYPE_F64: *(double *)out = v; break;
    case EI_DTYPE_F16: *(uint16_t *)out = ei_f32_to_f16((float)v); break;
    case EI_DTYPE_BF16: *(uint16_t *)out = ei_f32_to_bf16((float)v); break;
    case EI_DTYPE_BOOL: *(uint8_t *)out = v != 0; break;
    case EI_DTYPE_U8: *(uint8_t *)out = (uint8_t)v; break;
    case EI_DTYPE_I8: *(int8_t *)out = (int8_t)v; break;
    case EI_DTYPE_U16: *(uint16_t *)out = (uint16_t)v; break;
    case EI_DTYPE_I16: *(int16_t *)out = (int16_t)v; break;
    case EI_DTYPE_U32: *(uint32_t *)out = (uint32_t)v; break;
    case EI_DTYPE_I32: *(int32_t *)out = (int32_t)v; break;
    case EI_DTYPE_U64: *(uint64_t *)out = (uint64_t)v; break;
    case EI_DTYPE_I64: *(int64_t *)out = (int64_t)v; break;
    default: break;
    }
}

typedef struct pad_ctx {
    const pad_params * p;
    char *             dst;
    const char *       src;
    size_t             esize;
    int32_t            rank;
    int64_t            odims[EI_MAX_RANK], istrides[EI_MAX_RANK];
    const int64_t *    last_map; /* map_coord of the last axis, one per output column */
    uint64_t           value;    /* the constant's bytes */
} pad_ctx;

/* Border columns [j0, j1) of one row: each from the input position map[j], or the constant. */
static void copy_mapped(char * d, const char * srow, const int64_t * map, int64_t j0, int64_t j1, size_t es,
                        const void * value) {
#define EI_PAD_COPY(T)                                                                                                 \
    do {                                                                                                               \
        T         v_;                                                                                                  \
        T *       d_ = (T *)(void *)d;                                                                                 \
        const T * s_ = (const T *)(const void *)srow;                                                                  \
        memcpy(&v_, value, sizeof v_);                                                                                 \
        for (int64_t j = j0; j < j1; j++) d_[j] = map[j] < 0 ? v_ : s_[map[j]];                                        \
    } while (0)
    switch (es) {
    case 1: EI_PAD_COPY(uint8_t); break;
    case 2: EI_PAD_COPY(uint16_t); break;
    case 4: EI_PAD_COPY(uint32_t); break;
    default: EI_PAD_COPY(uint64_t); break;
    }
#undef EI_PAD_COPY
}

static void pad_rows(void * arg, int64_t begin, int64_t end) {
    const pad_ctx *    c = arg;
    const pad_params * p = c->p;
    int32_t            last = c->rank - 1;
    int64_t            cols = c->odims[last], idx[EI_MAX_RANK], rem = begin;
    size_t             es = c->esize;
    for (int32_t k = last - 1; k >= 0; k--) {
        idx[k] = rem % c->odims[k];
        rem /= c->odims[k];
    }
    int64_t mid_b = p->before[last], mid_n = p->keep[last];
    for (int64_t row = begin; row < end; row++) {
        char *  d = c->dst + (size_t)(row * cols) * es;
        int64_t off = 0;
        bool    constant = false;
        for (int32_t k = 0; k < last && !constant; k++) {
            int64_t s = map_coord(p, k, idx[k]);
            constant = s < 0;
            off += s * c->istrides[k];
        }
        if (constant) {
            ei_dm_fill(d, &c->value, es, cols);
        } else {
            const char * srow = c->src + (size_t)off * es;
            int64_t      mid_e = mid_b + mid_n;
            copy_mapped(d, srow, c->last_map, 0, mid_b, es, &c->value);
            if (mid_n > 0) memcpy(d + (size_t)mid_b * es, srow + (size_t)p->lo[last] * es, (size_t)mid_n * es);
            copy_mapped(d, srow, c->last_map, mid_e, cols, es, &c->value);
        }
        for (int32_t k = last - 1; k >= 0; k--) {
            if (++idx[k] < c->odims[k]) break;
            idx[k] = 0;
        }
    }
}

static ei_status * pad_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    const pad_params * p = n->params;
    const ei_tensor *  x = in[0];
    int64_t            numel = ei_tensor_numel(out[0]);
    if (numel == 0) return NULL;
    if (x->shape.rank == 0) {
        memcpy(out[0]->data, x->data, x->nbytes);
        return NULL;
    }
    pad_ctx c = {.p = p, .dst = out[0]->data, .src = x->data, .esize = ei_dtype_size(x->dtype), .rank = x->shape.rank};
    memcpy(c.odims, out[0]->shape.dim, sizeof c.odims);
    ei_shape_strides(&x->shape, c.istrides);
    if (n->opset < 11)
        value_from_float(x->dtype, p->value, &c.value);
    else if (n->n_inputs > 2 && in[2] && ei_tensor_numel(in[2]) == 1)
        memcpy(&c.value, in[2]->data, c.esize);
    int32_t   last = c.rank - 1;
    int64_t   cols = c.odims[last];
    int64_t * map = malloc((size_t)cols * sizeof *map);
    if (!map) return ei_status_oom();
    for (int64_t j = 0; j < cols; j++) map[j] = map_coord(p, last, j);
    c.last_map = map;
    ei_parallel_for(ex->pool, numel / cols, EI_DM_GRAIN_BYTES / (cols * (int64_t)c.esize) + 1, pad_rows, &c);
    free(map);
    return NULL;
}

const ei_op_def ei_op_def_PAD = {
    .name = "Pad",
    .in_min = 1,
    .in_max = 4,
    .out_min = 1,
    .out_max = 1,
    .import = pad_import,
    .infer = pad_infer,
    .run = pad_run,
};
