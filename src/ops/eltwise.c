/* The broadcasting loop engine of the elementwise family. Dimensions are collapsed first (size-1
 * output dims dropped, neighbours merged where every operand's strides allow), so a same-shape op
 * is one flat run, a scalar operand is one run with step 0, and a per-channel bias [1,C,1,1] over
 * NCHW is N*C runs of H*W elements with the bias value fixed per run. Work is split over the flat
 * output range; each task finds its starting index once and then walks runs odometer-style. */
#include <stdio.h>
#include <string.h>

#include "ops/eltwise.h"

#define EW_BLOCK 256

typedef struct ew_plan {
    int32_t      rank;
    int64_t      dim[EI_MAX_RANK];
    int64_t      stride[EI_EW_MAX_IN][EI_MAX_RANK]; /* elements; 0 = broadcast */
    int32_t      n_in;
    const char * in[EI_EW_MAX_IN];
    ei_dtype     in_dt[EI_EW_MAX_IN];
    size_t       in_size[EI_EW_MAX_IN];
    char *       out;
    ei_dtype     out_dt;
    size_t       out_size;
    ei_ew_fn     fn;
    const void * param;
    bool         widen; /* some operand is float16/bfloat16 and fn is a float32 kernel */
} ew_plan;

static void half_to_f32(const void * src, ei_dtype dt, float * dst, int64_t n) {
    const uint16_t * s = src;
    if (dt == EI_DTYPE_F16)
        for (int64_t i = 0; i < n; i++) dst[i] = ei_f16_to_f32(s[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = ei_bf16_to_f32(s[i]);
}

static void f32_to_half(const float * src, void * dst, ei_dtype dt, int64_t n) {
    uint16_t * d = dst;
    if (dt == EI_DTYPE_F16)
        for (int64_t i = 0; i < n; i++) d[i] = ei_f32_to_f16(src[i]);
    else
        for (int64_t i = 0; i < n; i++) d[i] = ei_f32_to_bf16(src[i]);
}

/* One run; with widening, converted in blocks through stack buffers. */
static void run_span(const ew_plan * p, char * out, const char * const * in, const uint8_t * step, int64_t n) {
    if (!p->widen) {
        p->fn(out, (const void * const *)in, step, n, p->param);
        return;
    }
    float        buf[EI_EW_MAX_IN][EW_BLOCK];
    float        obuf[EW_BLOCK];
    const void * bin[EI_EW_MAX_IN];
    bool         out_half = ei_ew_is_half(p->out_dt);
    for (int64_t done = 0; done < n; done += EW_BLOCK) {
        int64_t blk = n - done < EW_BLOCK ? n - done : EW_BLOCK;
        for (int32_t k = 0; k < p->n_in; k++) {
            const char * src = in[k] + (step[k] ? (size_t)done * p->in_size[k] : 0);
            if (ei_ew_is_half(p->in_dt[k])) {
                half_to_f32(src, p->in_dt[k], buf[k], step[k] ? blk : 1);
                bin[k] = buf[k];
            } else {
                bin[k] = src;
            }
        }
        char * o = out + (size_t)done * p->out_size;
        p->fn(out_half ? (void *)obuf : (void *)o, bin, step, blk, p->param);
        if (out_half) f32_to_half(obuf, o, p->out_dt, blk);
    }
}

static void run_range(void * ctx, int64_t begin, int64_t end) {
    const ew_plan * p = ctx;
    int32_t         r = p->rank, last = r - 1;
    int64_t         idx[EI_MAX_RANK], off[EI_EW_MAX_IN] = {0};
    int64_t         rem = begin;
    for (int32_t d = last; d >= 0; d--) {
        idx[d] = rem % p->dim[d];
        rem /= p->dim[d];
        for (int32_t k = 0; k < p->n_in; k++) off[k] += idx[d] * p->stride[k][d];
    }
    uint8_t step[EI_EW_MAX_IN];
    for (int32_t k = 0; k < p->n_in; k++) step[k] = p->stride[k][last] != 0;
    const int64_t inner = p->dim[last];
    int64_t       pos = begin;
    while (pos < end) {
        int64_t len = inner - idx[last];
        if (len > end - pos) len = end - pos;
        const char * in[EI_EW_MAX_IN];
        for (int32_t k = 0; k < p->n_in; k++) in[k] = p->in[k] + (size_t)off[k] * p->in_size[k];
        run_span(p, p->out + (size_t)pos * p->out_size, in, step, len);
        pos += len;
        if (pos >= end) break;
        /* len reached the end of the inner dim: carry into the outer ones. */
        for (int32_t k = 0; k < p->n_in; k++) off[k] -= idx[last] * p->stride[k][last];
        idx[last] = 0;
        for (int32_t d = last - 1; d >= 0; d--) {
            for (int32_t k = 0; k < p->n_in; k++) off[k] += p->stride[k][d];
            if (++idx[d] < p->dim[d]) break;
            for (int32_t k = 0; k < p->n_in; k++) off[k] -= p->dim[d] * p->stride[k][d];
            idx[d] = 0;
        }
    }
}

/* Short rows with a repeated operand: a per-channel operand over the blocked layout [N, C/8, H, W, 8]
 * ([N, C/8, 1, 1, 8], the squeeze-and-excitation scale or a bias) leaves runs of 8 elements after
 * collapsing, and one kernel call per 8 elements costs more than the arithmetic. When the two
 * innermost dims are M rows of L elements and every operand is contiguous over them, constant over
 * them, or one row repeated over the M rows (VEC), up to EW_ROWS_BYTES of rows go to the kernel in
 * one call, each VEC operand replicated into a buffer. */
#define EW_ROWS_MAX_L 64
#define EW_ROWS_BYTES 4096

enum { ROWS_CONT, ROWS_SCALAR, ROWS_VEC };

typedef struct ew_rows {
    const ew_plan * p;
    int64_t         m, l, rows_per_call;
    uint8_t         kind[EI_EW_MAX_IN];
} ew_rows;

static bool rows_plan(const ew_plan * p, ew_rows * r) {
    if (p->widen || p->rank < 2) return false;
    int32_t last = p->rank - 1;
    int64_t l = p->dim[last], m = p->dim[last - 1];
    if (l > EW_ROWS_MAX_L || m < 2) return false;
    bool any_vec = false;
    for (int32_t k = 0; k < p->n_in; k++) {
        int64_t s1 = p->stride[k][last], s2 = p->stride[k][last - 1];
        if (s1 == 1 && s2 == l)
            r->kind[k] = ROWS_CONT;
        else if (s1 == 0 && s2 == 0)
            r->kind[k] = ROWS_SCALAR;
        else if (s1 == 1 && s2 == 0)
            r->kind[k] = ROWS_VEC, any_vec = true;
        else
            return false;
    }
    if (!any_vec) return false;
    size_t widest = p->out_size;
    for (int32_t k = 0; k < p->n_in; k++)
        if (p->in_size[k] > widest) widest = p->in_size[k];
    /* l <= EW_ROWS_MAX_L and sizes <= 8 bytes: at least one row fits in EW_ROWS_BYTES */
    r->p = p;
    r->m = m;
    r->l = l;
    r->rows_per_call = (int64_t)(EW_ROWS_BYTES / ((size_t)l * widest));
    return r->rows_per_call >= 1;
}

/* Tasks over rows (units of l elements). */
static void run_rows(void * ctx, int64_t begin, int64_t end) {
    const ew_rows *   r = ctx;
    const ew_plan *   p = r->p;
    int32_t           outer_rank = p->rank - 2;
    _Alignas(64) char rep[EI_EW_MAX_IN][EW_ROWS_BYTES];
    int64_t           rep_off[EI_EW_MAX_IN];
    uint8_t           step[EI_EW_MAX_IN];
    for (int32_t k = 0; k < p->n_in; k++) {
        rep_off[k] = -1;
        step[k] = r->kind[k] != ROWS_SCALAR;
    }
    for (int64_t row = begin; row < end;) {
        int64_t o = row / r->m, mi = row % r->m;
        int64_t n_rows = r->m - mi;
        if (n_rows > end - row) n_rows = end - row;
        if (n_rows > r->rows_per_call) n_rows = r->rows_per_call;
        int64_t off[EI_EW_MAX_IN] = {0}, rem = o;
        for (int32_t d = outer_rank - 1; d >= 0; d--) {
            int64_t i = rem % p->dim[d];
            rem /= p->dim[d];
            for (int32_t k = 0; k < p->n_in; k++) off[k] += i * p->stride[k][d];
        }
        const char * in[EI_EW_MAX_IN];
        for (int32_t k = 0; k < p->n_in; k++) {
            const char * base = p->in[k] + (size_t)off[k] * p->in_size[k];
            if (r->kind[k] == ROWS_CONT) {
                in[k] = base + (size_t)(mi * r->l) * p->in_size[k];
            } else if (r->kind[k] == ROWS_SCALAR) {
                in[k] = base;
            } else {
                size_t row_bytes = (size_t)r->l * p->in_size[k];
                if (rep_off[k] != off[k]) {
                    for (int64_t i = 0; i < r->rows_per_call; i++)
                        memcpy(rep[k] + (size_t)i * row_bytes, base, row_bytes);
                    rep_off[k] = off[k];
                }
                in[k] = rep[k];
            }
        }
        p->fn(p->out + (size_t)(row * r->l) * p->out_size, (const void * const *)in, step, n_rows * r->l, p->param);
        row += n_rows;
    }
}

void ei_ew_run(const ei_exec * ex, const ei_ew_call * c) {
    ew_plan p;
    memset(&p, 0, sizeof p);
    const ei_shape * os = &c->out->shape;
    int64_t          numel = ei_shape_numel(os);
    if (numel <= 0) return;
    p.n_in = c->n_in;
    p.out = c->out->data;
    p.out_dt = c->out->dtype;
    p.out_size = ei_dtype_size(c->out->dtype);
    p.fn = c->fn;
    p.param = c->param;
    p.widen = c->widen && ei_ew_is_half(p.out_dt);
    int64_t full[EI_EW_MAX_IN][EI_MAX_RANK];
    for (int32_t k = 0; k < c->n_in; k++) {
        p.in[k] = c->in[k]->data;
        p.in_dt[k] = c->in[k]->dtype;
        p.in_size[k] = ei_dtype_size(c->in[k]->dtype);
        if (c->widen && ei_ew_is_half(p.in_dt[k])) p.widen = true;
        ei_shape_broadcast_strides(&c->in[k]->shape, os, full[k]);
    }
    /* Collapse from the innermost dim outwards. p.dim[0] is built innermost-first, then reversed. */
    int32_t r = 0;
    int64_t dim_rev[EI_MAX_RANK], st_rev[EI_EW_MAX_IN][EI_MAX_RANK];
    for (int32_t d = os->rank - 1; d >= 0; d--) {
        if (os->dim[d] == 1) continue;
        bool merge = r > 0;
        for (int32_t k = 0; merge && k < c->n_in; k++)
            if (full[k][d] != st_rev[k][r - 1] * dim_rev[r - 1]) merge = false;
        if (merge) {
            dim_rev[r - 1] *= os->dim[d];
        } else {
            dim_rev[r] = os->dim[d];
            for (int32_t k = 0; k < c->n_in; k++) st_rev[k][r] = full[k][d];
            r++;
        }
    }
    if (r == 0) {
        dim_rev[0] = 1;
        for (int32_t k = 0; k < c->n_in; k++) st_rev[k][0] = 0;
        r = 1;
    }
    p.rank = r;
    for (int32_t i = 0; i < r; i++) {
        p.dim[i] = dim_rev[r - 1 - i];
        for (int32_t k = 0; k < c->n_in; k++) p.stride[k][i] = st_rev[k][r - 1 - i];
    }
    int64_t grain = c->grain > 0 ? c->grain : EI_EW_GRAIN_CHEAP;
    ew_rows rows;
    if (rows_plan(&p, &rows)) {
        int64_t row_grain = grain / rows.l;
        ei_parallel_for(ex ? ex->pool : NULL, numel / rows.l, row_grain > 0 ? row_grain : 1, run_rows, &rows);
        return;
    }
    ei_parallel_for(ex ? ex->pool : NULL, numel, grain, run_range, &p);
}

ei_ew_fn ei_ew_lookup(const ei_ew_fn * table, ei_dtype dt, bool * widen) {
    *widen = false;
    if ((unsigned)dt >= EI_DTYPE_COUNT) return NULL;
    if (table[dt]) return table[dt];
    if (ei_ew_is_half(dt) && table[EI_DTYPE_F32]) {
        *widen = true;
        return table[EI_DTYPE_F32];
    }
    return NULL;
}

ei_status * ei_ew_check_dtype(const ei_graph * g, const ei_node * n, int32_t k, const ei_ew_fn * table) {
    const ei_value * v = ei_node_input(g, n, k);
    if (!v) return NULL;
    bool widen;
    if (ei_ew_lookup(table, v->dtype, &widen)) return NULL;
    char   allowed[256] = "";
    size_t used = 0;
    for (int dt = 1; dt < EI_DTYPE_COUNT; dt++) {
        if (!ei_ew_lookup(table, (ei_dtype)dt, &widen)) continue;
        int w = snprintf(allowed + used, sizeof allowed - used, "%s%s", used ? ", " : "", ei_dtype_name((ei_dtype)dt));
        if (w > 0 && (size_t)w < sizeof allowed - used) used += (size_t)w;
    }
    return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input %d ('%s') has dtype %s; supported: %s", k, v->name,
                          ei_dtype_name(v->dtype), allowed);
}

ei_status * ei_ew_check_same_dtype(const ei_graph * g, const ei_node * n, int32_t a, int32_t b) {
    const ei_value * va = ei_node_input(g, n, a);
    const ei_value * vb = ei_node_input(g, n, b);
    if (!va || !vb || va->dtype == vb->dtype) return NULL;
    return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "inputs %d ('%s', %s) and %d ('%s', %s) must have the same dtype",
                          a, va->name, ei_dtype_name(va->dtype), b, vb->name, ei_dtype_name(vb->dtype));
}

ei_status * ei_ew_broadcast_inputs(const ei_graph * g, const ei_node * n, int32_t first, int32_t count,
                                   ei_shape * out) {
    memset(out, 0, sizeof *out);
    for (int32_t k = first; k < first + count; k++) {
        const ei_value * v = ei_node_input(g, n, k);
        if (!v) continue;
        ei_shape s = *out;
        EI_TRY(ei_op_broadcast(n, &s, &v->shape, out));
    }
    return NULL;
}

ei_status * ei_ew_binary_infer(ei_graph * g, ei_node * n, const ei_ew_fn * table, ei_dtype out_dt) {
    const ei_value * a = ei_node_input(g, n, 0);
    const ei_value * b = ei_node_input(g, n, 1);
    if (!a || !b) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "both inputs are required");
    EI_TRY(ei_ew_check_same_dtype(g, n, 0, 1));
    EI_TRY(ei_ew_check_dtype(g, n, 0, table));
    ei_shape s;
    EI_TRY(ei_op_broadcast(n, &a->shape, &b->shape, &s));
    ei_op_set_output(g, n, 0, out_dt == EI_DTYPE_UNDEFINED ? a->dtype : out_dt, &s);
    return NULL;
}

ei_status * ei_ew_binary_run(const ei_tensor * const * in, ei_tensor * out, const ei_exec * ex, const ei_ew_fn * table,
                             const void * param, int64_t grain) {
    ei_ew_call c = {.n_in = 2, .in = {in[0], in[1]}, .out = out, .param = param, .grain = grain};
    c.fn = ei_ew_lookup(table, in[0]->dtype, &c.widen);
    EI_ASSERT(c.fn);
    ei_ew_run(ex, &c);
    return NULL;
}

ei_status * ei_ew_unary_infer(ei_graph * g, ei_node * n, const ei_ew_fn * table, ei_dtype out_dt) {
    const ei_value * x = ei_node_input(g, n, 0);
    if (!x) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input 0 is required");
    EI_TRY(ei_ew_check_dtype(g, n, 0, table));
    ei_op_set_output(g, n, 0, out_dt == EI_DTYPE_UNDEFINED ? x->dtype : out_dt, &x->shape);
    return NULL;
}

ei_status * ei_ew_unary_run(const ei_tensor * const * in, ei_tensor * out, const ei_exec * ex, const ei_ew_fn * table,
                            const void * param, int64_t grain) {
    ei_ew_call c = {.n_in = 1, .in = {in[0]}, .out = out, .param = param, .grain = grain};
    c.fn = ei_ew_lookup(table, in[0]->dtype, &c.widen);
    EI_ASSERT(c.fn);
    ei_ew_run(ex, &c);
    return NULL;
}

ei_status * ei_ew_import_legacy_broadcast(ei_node * n) {
    if (n->opset >= 7) return NULL;
    int64_t bc;
    EI_TRY(ei_attr_get_int(n, "broadcast", 0, &bc));
    if (bc && ei_node_attr(n, "axis"))
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED,
                              "legacy broadcasting with an 'axis' attribute (opset %lld) is not supported",
                              (long long)n->opset);
    return NULL;
}
