/* The Reduce* family: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceSumSquare,
 * ReduceL1, ReduceL2, ReduceLogSumExp. Axes come from the `axes` attribute, or from a constant
 * second input from opset 13 (ReduceSum) / 18 (the others); empty axes mean all of them, unless
 * noop_with_empty_axes, where nothing is reduced (the element map, e.g. the square of
 * ReduceSumSquare, still applies, as in the ONNX reference).
 *
 * The input is viewed as runs of adjacent reduced or kept dims (size-1 dims dropped). When the
 * innermost run is reduced, each output accumulates contiguous segments of it; when it is kept,
 * each group of outputs accumulates contiguous rows. Either way the hot loop is contiguous. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

typedef enum red_op {
    RED_SUM,
    RED_MEAN,
    RED_MAX,
    RED_MIN,
    RED_PROD,
    RED_SUM_SQUARE,
    RED_L1,
    RED_L2,
    RED_LOG_SUM_EXP,
    RED_OP_COUNT
} red_op;

enum { RT_F32, RT_F64, RT_I32, RT_I64, RT_U8, RT_COUNT };

typedef struct red_params {
    red_op   op;
    bool     keepdims, noop_with_empty_axes;
    bool     axes_input;  /* axes from input 1 (else the attribute) */
    int32_t  n_attr_axes; /* -1: attribute absent */
    int64_t  attr_axes[EI_MAX_RANK];
    uint32_t mask; /* reduced dims, resolved by infer */
} red_params;

typedef struct red_plan {
    bool    seg_reduced; /* segments are reduced (one output each); else kept (one output per element) */
    int64_t seg;         /* contiguous segment length */
    int64_t rows;        /* outputs (seg_reduced) or groups of seg outputs */
    int32_t n_kept;      /* kept runs other than the segment, outermost first */
    int64_t kept_dim[EI_MAX_RANK], kept_stride[EI_MAX_RANK];
    int32_t n_red; /* reduced runs other than the segment */
    int64_t red_dim[EI_MAX_RANK], red_stride[EI_MAX_RANK];
    int64_t n_segs; /* segments per output */
    int64_t count;  /* reduced elements per output */
} red_plan;

typedef struct red_job {
    red_plan        plan;
    const void *    x;
    void *          y;
    const void *    aux;      /* ReduceLogSumExp: per-output maximum */
    const int64_t * seg_off;  /* offsets of the segments of one output, relative to its base */
    int64_t         chunk;    /* columns per task when segments are kept */
    int64_t         n_chunks; /* tasks per row group */
} red_job;

static int64_t red_base(const red_plan * pl, int64_t r) {
    int64_t off = 0;
    for (int32_t d = pl->n_kept - 1; d >= 0; d--) {
        off += (r % pl->kept_dim[d]) * pl->kept_stride[d];
        r /= pl->kept_dim[d];
    }
    return off;
}

/* ---- kernels: one per (dtype, op), from one template ---- */

/* Task t is output t (segments reduced), or a chunk of the columns of row group t / n_chunks. */
#define RED_KERNEL(NAME, T, INIT, MAP, COMB, FIN)                                                                      \
    static void NAME(void * ctx, int64_t t0, int64_t t1) {                                                             \
        const red_job *  j = ctx;                                                                                      \
        const red_plan * pl = &j->plan;                                                                                \
        const T *        x = j->x;                                                                                     \
        T *              y = j->y;                                                                                     \
        const T *        aux = j->aux;                                                                                 \
        const int64_t    seg = pl->seg, ns = pl->n_segs, cnt = pl->count;                                              \
        (void)aux;                                                                                                     \
        (void)cnt;                                                                                                     \
        for (int64_t t = t0; t < t1; t++) {                                                                            \
            if (pl->seg_reduced) {                                                                                     \
                const T *     xb = x + red_base(pl, t);                                                                \
                const int64_t o = t;                                                                                   \
                T             acc = INIT;                                                                              \
                (void)o;                                                                                               \
                for (int64_t s = 0; s < ns; s++) {                                                                     \
                    const T * p = xb + j->seg_off[s];                                                                  \
                    for (int64_t i = 0; i < seg; i++) acc = COMB(acc, MAP(p[i], o));                                   \
                }                                                                                                      \
                y[o] = FIN(acc, o);                                                                                    \
                continue;                                                                                              \
            }                                                                                                          \
            const int64_t r = t / j->n_chunks, c0 = (t % j->n_chunks) * j->chunk;                                      \
            const int64_t w = seg - c0 < j->chunk ? seg - c0 : j->chunk;                                               \
            const T *     xb = x + red_base(pl, r) + c0;                                                               \
            const int64_t ob = r * seg + c0;                                                                           \
            T *           yv = y + ob;                                                                                 \
            (void)ob;                                                                                                  \
            for (int64_t i = 0; i < w; i++) yv[i] = INIT;                                                              \
            for (int64_t s = 0; s < ns; s++) {                                                                         \
                const T * p = xb + j->seg_off[s];                                                                      \
                for (int64_t i = 0; i < w; i++) yv[i] = COMB(yv[i], MAP(p[i], ob + i));                                \
            }                                                                                                          \
            for (int64_t i = 0; i < w; i++) yv[i] = FIN(yv[i], ob + i);                                                \
        }                                                                                                              \
    }

#define MAP_ID(v, o)   (v)
#define MAP_SQ(v, o)   ((v) * (v))
#define MAP_ABS(v, o)  ((v) < 0 ? -(v) : (v))
#define MAP_EXPF(v, o) expf((v)-aux[o])
#define MAP_EXP(v, o)  exp((v)-aux[o])
#define COMB_ADD(a, b) ((a) + (b))
#define COMB_MUL(a, b) ((a) * (b))
/* b != b: NaN wins, as in numpy. */
#define COMB_MAX(a, b)  (((b) > (a) || (b) != (b)) ? (b) : (a))
#define COMB_MIN(a, b)  (((b) < (a) || (b) != (b)) ? (b) : (a))
#define FIN_ID(a, o)    (a)
#define FIN_MEAN(a, o)  ((a) / cnt)
#define FIN_SQRTF(a, o) sqrtf(a)
#define FIN_SQRT(a, o)  sqrt(a)
#define FIN_LSEF(a, o)  (logf(a) + aux[o])
#define FIN_LSE(a, o)   (log(a) + aux[o])

RED_KERNEL(red_sum_f32, float, 0.0f, MAP_ID, COMB_ADD, FIN_ID)
RED_KERNEL(red_mean_f32, float, 0.0f, MAP_ID, COMB_ADD, FIN_MEAN)
RED_KERNEL(red_max_f32, float, -INFINITY, MAP_ID, COMB_MAX, FIN_ID)
RED_KERNEL(red_min_f32, float, INFINITY, MAP_ID, COMB_MIN, FIN_ID)
RED_KERNEL(red_prod_f32, float, 1.0f, MAP_ID, COMB_MUL, FIN_ID)
RED_KERNEL(red_sumsq_f32, float, 0.0f, MAP_SQ, COMB_ADD, FIN_ID)
RED_KERNEL(red_l1_f32, float, 0.0f, MAP_ABS, COMB_ADD, FIN_ID)
RED_KERNEL(red_l2_f32, float, 0.0f, MAP_SQ, COMB_ADD, FIN_SQRTF)
RED_KERNEL(red_lse_f32, float, 0.0f, MAP_EXPF, COMB_ADD, FIN_LSEF)

RED_KERNEL(red_sum_f64, double, 0.0, MAP_ID, COMB_ADD, FIN_ID)
RED_KERNEL(red_mean_f64, double, 0.0, MAP_ID, COMB_ADD, FIN_MEAN)
RED_KERNEL(red_max_f64, double, -INFINITY, MAP_ID, COMB_MAX, FIN_ID)
RED_KERNEL(red_min_f64, double, INFINITY, MAP_ID, COMB_MIN, FIN_ID)
RED_KERNEL(red_prod_f64, double, 1.0, MAP_ID, COMB_MUL, FIN_ID)
RED_KERNEL(red_sumsq_f64, double, 0.0, MAP_SQ, COMB_ADD, FIN_ID)
RED_KERNEL(red_l1_f64, double, 0.0, MAP_ABS, COMB_ADD, FIN_ID)
RED_KERNEL(red_l2_f64, double, 0.0, MAP_SQ, COMB_ADD, FIN_SQRT)
RED_KERNEL(red_lse_f64, double, 0.0, MAP_EXP, COMB_ADD, FIN_LSE)

/* Integers wrap like the fixed-width arithmetic of ORT (computed unsigned to stay defined). */
#define COMB_ADD_U32(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define COMB_MUL_U32(a, b) ((int32_t)((uint32_t)(a) * (uint32_t)(b)))
#define MAP_SQ_U32(v, o)   ((int32_t)((uint32_t)(v) * (uint32_t)(v)))
#define COMB_ADD_U64(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define COMB_MUL_U64(a, b) ((int64_t)((uint64_t)(a) * (uint64_t)(b)))
#define MAP_SQ_U64(v, o)   ((int64_t)((uint64_t)(v) * (uint64_t)(v)))
#define MAP_ABS_U32(v, o)  ((int32_t)((v) < 0 ? 0u - (uint32_t)(v) : (uint32_t)(v)))
#define MAP_ABS_U64(v, o)  ((int64_t)((v) < 0 ? 0u - (uint64_t)(v) : (uint64_t)(v)))

RED_KERNEL(red_sum_i32, int32_t, 0, MAP_ID, COMB_ADD_U32, FIN_ID)
RED_KERNEL(red_mean_i32, int32_t, 0, MAP_ID, COMB_ADD_U32, FIN_MEAN)
RED_KERNEL(red_max_i32, int32_t, INT32_MIN, MAP_ID, COMB_MAX, FIN_ID)
RED_KERNEL(red_min_i32, int32_t, INT32_MAX, MAP_ID, COMB_MIN, FIN_ID)
RED_KERNEL(red_prod_i32, int32_t, 1, MAP_ID, COMB_MUL_U32, FIN_ID)
RED_KERNEL(red_sumsq_i32, int32_t, 0, MAP_SQ_U32, COMB_ADD_U32, FIN_ID)
RED_KERNEL(red_l1_i32, int32_t, 0, MAP_ABS_U32, COMB_ADD_U32, FIN_ID)

RED_KERNEL(red_sum_i64, int64_t, 0, MAP_ID, COMB_ADD_U64, FIN_ID)
RED_KERNEL(red_mean_i64, int64_t, 0, MAP_ID, COMB_ADD_U64, FIN_MEAN)
RED_KERNEL(red_max_i64, int64_t, INT64_MIN, MAP_ID, COMB_MAX, FIN_ID)
RED_KERNEL(red_min_i64, int64_t, INT64_MAX, MAP_ID, COMB_MIN, FIN_ID)
RED_KERNEL(red_prod_i64, int64_t, 1, MAP_ID, COMB_MUL_U64, FIN_ID)
RED_KERNEL(red_sumsq_i64, int64_t, 0, MAP_SQ_U64, COMB_ADD_U64, FIN_ID)
RED_KERNEL(red_l1_i64, int64_t, 0, MAP_ABS_U64, COMB_ADD_U64, FIN_ID)

RED_KERNEL(red_max_u8, uint8_t, 0, MAP_ID, COMB_MAX, FIN_ID)
RED_KERNEL(red_min_u8, uint8_t, UINT8_MAX, MAP_ID, COMB_MIN, FIN_ID)

static const ei_range_fn g_kernels[RED_OP_COUNT][RT_COUNT] = {
    [RED_SUM] = {red_sum_f32, red_sum_f64, red_sum_i32, red_sum_i64, NULL},
    [RED_MEAN] = {red_mean_f32, red_mean_f64, red_mean_i32, red_mean_i64, NULL},
    [RED_MAX] = {red_max_f32, red_max_f64, red_max_i32, red_max_i64, red_max_u8},
    [RED_MIN] = {red_min_f32, red_min_f64, red_min_i32, red_min_i64, red_min_u8},
    [RED_PROD] = {red_prod_f32, red_prod_f64, red_prod_i32, red_prod_i64, NULL},
    [RED_SUM_SQUARE] = {red_sumsq_f32, red_sumsq_f64, red_sumsq_i32, red_sumsq_i64, NULL},
    [RED_L1] = {red_l1_f32, red_l1_f64, red_l1_i32, red_l1_i64, NULL},
    [RED_L2] = {red_l2_f32, red_l2_f64, NULL, NULL, NULL},
    [RED_LOG_SUM_EXP] = {red_lse_f32, red_lse_f64, NULL, NULL, NULL},
};

static int red_type(ei_dtype dt) {
    switch (dt) {
    case EI_DTYPE_F32: return RT_F32;
    case EI_DTYPE_F64: return RT_F64;
    case EI_DTYPE_I32: return RT_I32;
    case EI_DTYPE_I64: return RT_I64;
    case EI_DTYPE_U8:
    case EI_DTYPE_BOOL: return RT_U8;
    default: return -1;
    }
}

/* ---- attributes, axes, shapes ---- */

static ei_status * red_import(ei_node * node, red_op op) {
    int64_t keepdims = 1, noop = 0;
    EI_TRY(ei_attr_get_int(node, "keepdims", 1, &keepdims));
    EI_TRY(ei_attr_get_int(node, "noop_with_empty_axes", 0, &noop));
    const int64_t * axes = NULL;
    int32_t         n_axes = -1;
    EI_TRY(ei_attr_get_ints(node, "axes", &axes, &n_axes));
    bool axes_input = node->opset >= (op == RED_SUM ? 13 : 18);
    if (axes_input && n_axes >= 0)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "axes is an input from opset %d, not an attribute",
                              op == RED_SUM ? 13 : 18);
    if (n_axes > EI_MAX_RANK)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "%d axes given; at most %d are possible", n_axes,
                              EI_MAX_RANK);
    red_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    p->op = op;
    p->keepdims = keepdims != 0;
    p->noop_with_empty_axes = noop != 0;
    p->axes_input = axes_input;
    p->n_attr_axes = n_axes;
    if (n_axes > 0) memcpy(p->attr_axes, axes, (size_t)n_axes * sizeof(int64_t));
    return ei_op_install_params(node, p, NULL);
}

#define RED_IMPORT(fn, op)                                                                                             \
    static ei_status * fn(ei_node * node) { return red_import(node, op); }
RED_IMPORT(red_import_sum, RED_SUM)
RED_IMPORT(red_import_mean, RED_MEAN)
RED_IMPORT(red_import_max, RED_MAX)
RED_IMPORT(red_import_min, RED_MIN)
RED_IMPORT(red_import_prod, RED_PROD)
RED_IMPORT(red_import_sum_square, RED_SUM_SQUARE)
RED_IMPORT(red_import_l1, RED_L1)
RED_IMPORT(red_import_l2, RED_L2)
RED_IMPORT(red_import_log_sum_exp, RED_LOG_SUM_EXP)

static red_op red_op_of(const ei_node * node) {
    static const struct {
        const ei_op_def * def;
        red_op            op;
    } ops[] = {
        {&ei_op_def_REDUCE_SUM, RED_SUM},
        {&ei_op_def_REDUCE_MEAN, RED_MEAN},
        {&ei_op_def_REDUCE_MAX, RED_MAX},
        {&ei_op_def_REDUCE_MIN, RED_MIN},
        {&ei_op_def_REDUCE_PROD, RED_PROD},
        {&ei_op_def_REDUCE_SUM_SQUARE, RED_SUM_SQUARE},
        {&ei_op_def_REDUCE_L1, RED_L1},
        {&ei_op_def_REDUCE_L2, RED_L2},
        {&ei_op_def_REDUCE_LOG_SUM_EXP, RED_LOG_SUM_EXP},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (node->def == ops[i].def) return ops[i].op;
    return RED_SUM;
}

static ei_status * red_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(red_import(node, red_op_of(node)));
    red_params *     p = node->params;
    const ei_value * x = ei_node_input(g, node, 0);
    if (!x) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input data is required");
    int t = red_type(x->dtype);
    if (t < 0 || !g_kernels[p->op][t])
        return ei_node_errorf(node, EI_CODE_UNSUPPORTED, "input data has dtype %s, not supported by %s",
                              ei_dtype_name(x->dtype), node->op_type);
    int64_t axes[2 * EI_MAX_RANK];
    int32_t n_axes = p->n_attr_axes;
    if (p->axes_input) {
        EI_TRY(ei_op_const_ints(g, node, 1, axes, 2 * EI_MAX_RANK, &n_axes));
    } else if (n_axes > 0) {
        memcpy(axes, p->attr_axes, (size_t)n_axes * sizeof(int64_t));
    } else if (node->n_inputs > 1 && ei_node_input(g, node, 1)) {
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "axes is an attribute before opset %d, not an input",
                              p->op == RED_SUM ? 13 : 18);
    }
    const int32_t rank = x->shape.rank;
    uint32_t      mask = 0;
    if (n_axes <= 0) {
        if (!p->noop_with_empty_axes) mask = rank ? (uint32_t)((1u << rank) - 1) : 0;
    } else {
        for (int32_t i = 0; i < n_axes; i++) {
            int32_t a;
            if (axes[i] < -rank || axes[i] >= rank)
                return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "axis %lld is out of range for rank %d",
                                      (long long)axes[i], rank);
            EI_TRY(ei_op_axis(node, axes[i], rank, &a));
            if (mask & (1u << a)) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "axis %d is given twice", a);
            mask |= 1u << a;
        }
    }
    p->mask = mask;
    ei_shape out = {0};
    for (int32_t d = 0; d < rank; d++) {
        if (!(mask & (1u << d)))
            out.dim[out.rank++] = x->shape.dim[d];
        else if (p->keepdims)
            out.dim[out.rank++] = 1;
    }
    ei_op_set_output(g, node, 0, x->dtype, &out);
    return NULL;
}

static void red_make_plan(const ei_shape * s, uint32_t mask, red_plan * pl) {
    memset(pl, 0, sizeof *pl);
    int64_t size[EI_MAX_RANK];
    bool    red[EI_MAX_RANK];
    int32_t n = 0;
    pl->count = 1;
    for (int32_t d = 0; d < s->rank; d++) {
        bool r = (mask >> d) & 1u;
        if (r) pl->count *= s->dim[d];
        if (s->dim[d] == 1) continue;
        if (n > 0 && red[n - 1] == r) {
            size[n - 1] *= s->dim[d];
        } else {
            size[n] = s->dim[d];
            red[n++] = r;
        }
    }
    if (n == 0) { /* a single element */
        size[0] = 1;
        red[0] = true;
        n = 1;
    }
    pl->seg_reduced = red[n - 1];
    pl->seg = size[n - 1];
    pl->rows = 1;
    pl->n_segs = 1;
    int64_t stride = size[n - 1];
    for (int32_t i = n - 2; i >= 0; i--) {
        if (red[i]) {
            pl->red_dim[pl->n_red] = size[i];
            pl->red_stride[pl->n_red++] = stride;
            pl->n_segs *= size[i];
        } else {
            pl->kept_dim[pl->n_kept] = size[i];
            pl->kept_stride[pl->n_kept++] = stride;
            pl->rows *= size[i];
        }
        stride *= size[i];
    }
    /* Collected innermost first; red_base and the segment walk want outermost first. */
    for (int32_t i = 0; i < pl->n_kept / 2; i++) {
        int64_t t = pl->kept_dim[i];
        pl->kept_dim[i] = pl->kept_dim[pl->n_kept - 1 - i];
        pl->kept_dim[pl->n_kept - 1 - i] = t;
        t = pl->kept_stride[i];
        pl->kept_stride[i] = pl->kept_stride[pl->n_kept - 1 - i];
        pl->kept_stride[pl->n_kept - 1 - i] = t;
    }
}

/* The value of a reduction over no elements. */
static void red_fill_empty(red_op op, int t, void * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double v = 0.0;
        switch (op) {
        case RED_PROD: v = 1.0; break;
        case RED_MAX: v = -INFINITY; break;
        case RED_MIN: v = INFINITY; break;
        case RED_LOG_SUM_EXP: v = -INFINITY; break;
        case RED_MEAN: v = NAN; break;
        default: v = 0.0; break;
        }
        switch (t) {
        case RT_F32: ((float *)y)[i] = (float)v; break;
        case RT_F64: ((double *)y)[i] = v; break;
        case RT_I32: ((int32_t *)y)[i] = op == RED_MAX ? INT32_MIN : op == RED_MIN ? INT32_MAX : op == RED_PROD; break;
        case RT_I64: ((int64_t *)y)[i] = op == RED_MAX ? INT64_MIN : op == RED_MIN ? INT64_MAX : op == RED_PROD; break;
        default: ((uint8_t *)y)[i] = op == RED_MIN ? UINT8_MAX : 0; break;
        }
    }
}

static ei_status * red_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    const red_params * p = node->params;
    const ei_tensor *  x = in[0];
    ei_tensor *        y = out[0];
    int                t = red_type(x->dtype);
    int64_t            out_n = ei_tensor_numel(y);
    if (t < 0 || !g_kernels[p->op][t])
        return ei_node_errorf(node, EI_CODE_INTERNAL, "dtype %s reached the kernel", ei_dtype_name(x->dtype));
    if (out_n == 0) return NULL;
    if (ei_tensor_numel(x) == 0) {
        red_fill_empty(p->op, t, y->data, out_n);
        return NULL;
    }
    red_job j = {.x = x->data, .y = y->data};
    red_make_plan(&x->shape, p->mask, &j.plan);
    const red_plan * pl = &j.plan;
    /* Offsets of the segments of one output: an odometer over the reduced runs. */
    int64_t * off = malloc((size_t)pl->n_segs * sizeof(int64_t));
    if (!off) return ei_status_oom();
    int64_t idx[EI_MAX_RANK] = {0}, cur = 0;
    for (int64_t s = 0; s < pl->n_segs; s++) {
        off[s] = cur;
        for (int32_t d = 0; d < pl->n_red; d++) { /* red_dim is innermost first */
            cur += pl->red_stride[d];
            if (++idx[d] < pl->red_dim[d]) break;
            cur -= pl->red_stride[d] * idx[d];
            idx[d] = 0;
        }
    }
    j.seg_off = off;
    /* Few row groups of long kept segments (a max over channels): split the columns too. */
    int64_t tasks = pl->rows;
    j.chunk = pl->seg;
    j.n_chunks = 1;
    if (!pl->seg_reduced) {
        if (pl->rows < 16 && pl->seg > 2048) j.chunk = 1024;
        j.n_chunks = (pl->seg + j.chunk - 1) / j.chunk;
        tasks = pl->rows * j.n_chunks;
    }
    int64_t grain = 1 + 32768 / (pl->count * (pl->seg_reduced ? 1 : j.chunk));
    void *  aux = NULL;
    if (p->op == RED_LOG_SUM_EXP) {
        /* Subtract each output's maximum before exponentiating; a non-finite maximum is replaced by
         * 0 so that -inf and +inf inputs give -inf and +inf rather than NaN. */
        size_t es = ei_dtype_size(x->dtype);
        aux = malloc((size_t)out_n * es);
        if (!aux) {
            free(off);
            return ei_status_oom();
        }
        j.y = aux;
        ei_parallel_for(ex->pool, tasks, grain, g_kernels[RED_MAX][t], &j);
        for (int64_t i = 0; i < out_n; i++) {
            if (t == RT_F32 && !isfinite(((float *)aux)[i])) ((float *)aux)[i] = 0.0f;
            if (t == RT_F64 && !isfinite(((double *)aux)[i])) ((double *)aux)[i] = 0.0;
        }
        j.y = y->data;
        j.aux = aux;
    }
    ei_parallel_for(ex->pool, tasks, grain, g_kernels[p->op][t], &j);
    free(aux);
    free(off);
    return NULL;
}

#define RED_DEF(SYM, NAME, IMPORT)                                                                                     \
    const ei_op_def ei_op_def_##SYM = {.name = NAME,                                                                   \
                                       .in_min = 1,                                                                    \
                                       .in_max = 2,                                                                    \
                                       .out_min = 1,                                                                   \
                                       .out_max = 1,                                                                   \
                                       .import = IMPORT,                                                               \
                                       .infer = red_infer,                                                             \
                                       .run = red_run};
RED_DEF(REDUCE_SUM, "ReduceSum", red_import_sum)
RED_DEF(REDUCE_MEAN, "ReduceMean", red_import_mean)
RED_DEF(REDUCE_MAX, "ReduceMax", red_import_max)
RED_DEF(REDUCE_MIN, "ReduceMin", red_import_min)
RED_DEF(REDUCE_PROD, "ReduceProd", red_import_prod)
RED_DEF(REDUCE_SUM_SQUARE, "ReduceSumSquare", red_import_sum_square)
RED_DEF(REDUCE_L1, "ReduceL1", red_import_l1)
RED_DEF(REDUCE_L2, "ReduceL2", red_import_l2)
RED_DEF(REDUCE_LOG_SUM_EXP, "ReduceLogSumExp", red_import_log_sum_exp)
