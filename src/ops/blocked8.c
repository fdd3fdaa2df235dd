/* The internal operators of the blocked layout (ops/blocked8.h), inserted by the layout pass:
 *   ei.ToBlocked8          X [N, C, H, W] -> [N, ceil(C/8), H, W, 8]
 *   ei.FromBlocked8        attribute channels = C: [N, ceil(C/8), H, W, 8] -> [N, C, H, W]; with
 *                          k inputs, channels = [C1, ..., Ck] and the output their concatenation
 *                          along channels; with nhwc = 1 the output is [N, H, W, C] (or the sum);
 *                          with flat = 1 (and nhwc = 1) the inputs may differ in H and W, and
 *                          each image of the output is the concatenation of the inputs' NHWC
 *                          images [Hk, Wk, Ck], flattened, in a tensor of attribute shape (whose
 *                          numel is N times the sum): a Concat of reshaped detection heads
 *                          written in place (src/passes/concat_from_blocked8.c)
 *   ei.ConvBlocked8        a 2-D Conv (same attributes, inputs, ei.* fusions) whose X is blocked
 *                          (or plain, for a first layer with few channels) and whose Y and
 *                          residual are blocked; W and B stay in ONNX layout.
 * The reference kernel of ei.ConvBlocked8 unpacks, runs the Conv reference kernel and packs; the
 * fast one is oneDNN's (src/cpu/dnnl/dnnl_conv.c), which takes the blocked tensors as they are. */
#include "ops/blocked8.h"

#include <stdlib.h>
#include <string.h>

#include "ops/conv_geometry.h"
#include "ops/fused.h"
#include "ops/fused_apply.h"
#include "ops/op.h"
#include "quant/half.h"

typedef struct pack_job {
    const float * src;
    float *       dst;
    int64_t       c, cb, hw;
} pack_job;

/* Rows are (n, block) pairs. */
static void pack_rows(void * ctx, int64_t r0, int64_t r1) {
    const pack_job * j = ctx;
    for (int64_t r = r0; r < r1; r++) {
        int64_t       n = r / j->cb, b = r % j->cb, c0 = b * EI_BLOCK8;
        int64_t       lanes = j->c - c0 < EI_BLOCK8 ? j->c - c0 : EI_BLOCK8;
        const float * x = j->src + (n * j->c + c0) * j->hw;
        float *       y = j->dst + r * j->hw * EI_BLOCK8;
        for (int64_t p = 0; p < j->hw; p++) {
            float * yp = y + p * EI_BLOCK8;
            int64_t l = 0;
            for (; l < lanes; l++) yp[l] = x[l * j->hw + p];
            for (; l < EI_BLOCK8; l++) yp[l] = 0.0f;
        }
    }
}

/* Unpacking may write into a wider tensor: c of c_out channels from channel c_off on. */
typedef struct unpack_job {
    const float * src;
    float *       dst;
    int64_t       c, cb, hw, c_out, c_off;
} unpack_job;

static void unpack_rows(void * ctx, int64_t r0, int64_t r1) {
    const unpack_job * j = ctx;
    for (int64_t r = r0; r < r1; r++) {
        int64_t       n = r / j->cb, b = r % j->cb, c0 = b * EI_BLOCK8;
        int64_t       lanes = j->c - c0 < EI_BLOCK8 ? j->c - c0 : EI_BLOCK8;
        const float * y = j->src + r * j->hw * EI_BLOCK8;
        float *       x = j->dst + (n * j->c_out + j->c_off + c0) * j->hw;
        for (int64_t l = 0; l < lanes; l++)
            for (int64_t p = 0; p < j->hw; p++) x[l * j->hw + p] = y[p * EI_BLOCK8 + l];
    }
}

void ei_blocked8_pack(ei_threadpool * pool, const float * x, float * y, int64_t n, int64_t c, int64_t hw) {
    pack_job j = {x, y, c, ei_blocks8(c), hw};
    ei_parallel_for(pool, n * j.cb, 1, pack_rows, &j);
}

void ei_blocked8_unpack(ei_threadpool * pool, const float * y, float * x, int64_t n, int64_t c, int64_t hw) {
    unpack_job j = {y, x, c, ei_blocks8(c), hw, c, 0};
    ei_parallel_for(pool, n * j.cb, 1, unpack_rows, &j);
}

/* The blocked shape of plain [N, C, H, W]. */
static ei_shape blocked_shape(const ei_shape * plain) {
    ei_shape s = {.rank = 5,
                  .dim = {plain->dim[0], ei_blocks8(plain->dim[1]), plain->dim[2], plain->dim[3], EI_BLOCK8}};
    return s;
}

/* Whether s is the blocked shape of c channels. */
static bool is_blocked_of(const ei_shape * s, int64_t c) {
    return s->rank == 5 && s->dim[4] == EI_BLOCK8 && s->dim[1] == ei_blocks8(c);
}

/* ---- ei.ToBlocked8 ---- */

static ei_status * to_infer(ei_graph * g, ei_node * node) {
    EI_TRY(ei_op_check_dtype(g, node, 0, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, node, 0);
    char             a[128];
    if (x->shape.rank != 4)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input has shape %s; expected N x C x H x W",
                              ei_shape_format(&x->shape, a, sizeof a));
    ei_shape ys = blocked_shape(&x->shape);
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

static ei_status * to_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex) {
    (void)node;
    const ei_shape * s = &in[0]->shape;
    ei_blocked8_pack(ex->pool, in[0]->data, out[0]->data, s->dim[0], s->dim[1], s->dim[2] * s->dim[3]);
    return NULL;
}

const ei_op_def ei_op_def_TO_BLOCKED8 = {
    .name = "ei.ToBlocked8",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .infer = to_infer,
    .run = to_run,
};

/* ---- ei.FromBlocked8 ---- */

#define EI_B8_FLAT_MAX 64 /* inputs of a flat conversion */

/* channels: one count per input (an INT for a single input, INTS otherwise); nhwc, flat: 0 or 1;
 * shape: the output's shape when flat. */
typedef struct from_params {
    int64_t  nhwc, flat, total;
    ei_shape shape;
    int32_t  n;
    int64_t  channels[];
} from_params;

/* flat = 1 needs nhwc = 1 and the output shape, with dims >= 0. */
static ei_status * from_import_flat(ei_node * node, from_params * p) {
    EI_TRY(ei_attr_get_int(node, "flat", 0, &p->flat));
    if (p->flat < 0 || p->flat > 1) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute flat must be 0 or 1");
    if (!p->flat) return NULL;
    if (!p->nhwc) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute flat = 1 needs nhwc = 1");
    if (p->n > EI_B8_FLAT_MAX)
        return ei_node_errorf(node, EI_CODE_UNSUPPORTED, "flat = 1 takes at most %d inputs, not %d", EI_B8_FLAT_MAX,
                              p->n);
    const int64_t * dims;
    int32_t         rank;
    EI_TRY(ei_attr_get_ints(node, "shape", &dims, &rank));
    if (rank < 1 || rank > EI_MAX_RANK)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute shape has %d dims; 1 to %d allowed", rank,
                              EI_MAX_RANK);
    p->shape.rank = rank;
    for (int32_t k = 0; k < rank; k++) {
        if (dims[k] < 0) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute shape has a negative dim");
        p->shape.dim[k] = dims[k];
    }
    return NULL;
}

static ei_status * from_import(ei_node * node) {
    int32_t       n = node->n_inputs > 0 ? node->n_inputs : 1;
    from_params * p = calloc(1, sizeof *p + (size_t)n * sizeof p->channels[0]);
    if (!p) return ei_status_oom();
    p->n = n;
    const ei_attr * a = ei_node_attr(node, "channels");
    ei_status *     st = ei_attr_get_int(node, "nhwc", 0, &p->nhwc);
    if (!st && (p->nhwc < 0 || p->nhwc > 1))
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute nhwc must be 0 or 1");
    if (!st && !a) st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute channels is required");
    if (!st && a->type == EI_ATTR_INT && n == 1) {
        p->channels[0] = a->i;
    } else if (!st && a->type == EI_ATTR_INTS && a->n == n) {
        for (int32_t k = 0; k < n; k++) p->channels[k] = a->ints[k];
    } else if (!st) {
        st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "attribute channels must give one count per input (%d)", n);
    }
    for (int32_t k = 0; !st && k < n; k++) {
        if (p->channels[k] < 1 || p->channels[k] > INT32_MAX)
            st = ei_node_errorf(node, EI_CODE_INVALID_MODEL, "channels[%d] = %lld is out of range", k,
                                (long long)p->channels[k]);
        p->total += p->channels[k];
    }
    if (!st) st = from_import_flat(node, p);
    return ei_op_install_params(node, p, st);
}

static ei_status * from_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(from_import(node));
    const from_params * p = node->params;
    if (p->n != node->n_inputs)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "%d inputs for %d channel counts", node->n_inputs, p->n);
    const ei_value * x0 = ei_node_input(g, node, 0);
    char             a[128], b[128];
    for (int32_t k = 0; k < p->n; k++) {
        EI_TRY(ei_op_check_dtype(g, node, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
        const ei_value * x = ei_node_input(g, node, k);
        if (!is_blocked_of(&x->shape, p->channels[k]))
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                                  "input %d has shape %s; not %lld channels in blocks of 8", k,
                                  ei_shape_format(&x->shape, a, sizeof a), (long long)p->channels[k]);
        if (x->shape.dim[0] != x0->shape.dim[0] ||
            (!p->flat && (x->shape.dim[2] != x0->shape.dim[2] || x->shape.dim[3] != x0->shape.dim[3])))
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "input %d has shape %s but input 0 %s", k,
                                  ei_shape_format(&x->shape, a, sizeof a), ei_shape_format(&x0->shape, b, sizeof b));
    }
    const int64_t * d = x0->shape.dim;
    if (p->flat) { /* sizes from a hostile engine file must not overflow */
        int64_t per_image = 0, want = 0, numel = 1;
        bool    ovf = false;
        for (int32_t k = 0; k < p->n; k++) {
            const ei_value * x = ei_node_input(g, node, k);
            int64_t          t = 0;
            ovf |= __builtin_mul_overflow(x->shape.dim[2], x->shape.dim[3], &t);
            ovf |= __builtin_mul_overflow(t, p->channels[k], &t);
            ovf |= __builtin_add_overflow(per_image, t, &per_image);
        }
        ovf |= __builtin_mul_overflow(d[0], per_image, &want);
        for (int32_t k = 0; k < p->shape.rank; k++) ovf |= __builtin_mul_overflow(numel, p->shape.dim[k], &numel);
        if (ovf || numel != want)
            return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                                  "attribute shape %s does not hold %lld images of %lld values",
                                  ei_shape_format(&p->shape, a, sizeof a), (long long)d[0], (long long)per_image);
        ei_op_set_output(g, node, 0, EI_DTYPE_F32, &p->shape);
        return NULL;
    }
    ei_shape ys = p->nhwc ? (ei_shape){.rank = 4, .dim = {d[0], d[2], d[3], p->total}}
                          : (ei_shape){.rank = 4, .dim = {d[0], p->total, d[2], d[3]}};
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

/* NHWC: each pixel's channels are runs of up to 8 lanes, one per block of each input. Tasks are
 * (image, pixel tile) pairs; within a tile each output pixel's row is written front to back from
 * the blocks' streams (measured on SSDLite's heads: about 1.5x faster than block by block, whose
 * 32-byte writes scattered over the tile's rows cost more than reading 69 streams at once). */
#define EI_B8_NHWC_TILE 64

typedef struct nhwc_job {
    const ei_tensor * const * in;
    const from_params *       p;
    float *                   dst;
    int64_t                   hw, tiles;
    /* flat: per input, the first task and the offset of its values in an output image */
    int64_t task0[EI_B8_FLAT_MAX + 1], off[EI_B8_FLAT_MAX];
    int64_t per_image;
} nhwc_job;

/* Pixels [p0, p1) of image y (one input's [cb, hw, 8]) of c channels to NHWC rows x of `stride`
 * floats (x points at the image's first pixel and its first channel). */
static void nhwc_rows(const float * y, int64_t c, int64_t hw, int64_t p0, int64_t p1, float * x, int64_t stride) {
    int64_t full = c / EI_BLOCK8, tail = c - full * EI_BLOCK8;
    for (int64_t q = p0; q < p1; q++) {
        const float * yq = y + q * EI_BLOCK8;
        float *       xq = x + q * stride;
        for (int64_t b = 0; b < full; b++) memcpy(xq + b * EI_BLOCK8, yq + b * hw * EI_BLOCK8, EI_BLOCK8 * sizeof *x);
        for (int64_t l = 0; l < tail; l++) xq[full * EI_BLOCK8 + l] = yq[full * hw * EI_BLOCK8 + l];
    }
}

static void nhwc_tiles(void * ctx, int64_t t0, int64_t t1) {
    const nhwc_job * j = ctx;
    int64_t          total = j->p->total, hw = j->hw;
    for (int64_t t = t0; t < t1; t++) {
        int64_t n = t / j->tiles, p0 = (t % j->tiles) * EI_B8_NHWC_TILE;
        int64_t p1 = p0 + EI_B8_NHWC_TILE < hw ? p0 + EI_B8_NHWC_TILE : hw;
        int64_t off = 0;
        for (int32_t k = 0; k < j->p->n; k++) {
            int64_t c = j->p->channels[k];
            nhwc_rows((const float *)j->in[k]->data + n * ei_blocks8(c) * hw * EI_BLOCK8, c, hw, p0, p1,
                      j->dst + n * hw * total + off, total);
            off += c;
        }
    }
}

/* flat: tasks are (input, image, pixel tile) triples, numbered input by input. */
static void flat_tiles(void * ctx, int64_t t0, int64_t t1) {
    const nhwc_job * j = ctx;
    int32_t          k = 0;
    for (int64_t t = t0; t < t1; t++) {
        while (t >= j->task0[k + 1]) k++;
        const ei_shape * s = &j->in[k]->shape;
        int64_t          c = j->p->channels[k], hw = s->dim[2] * s->dim[3];
        int64_t          tiles = (hw + EI_B8_NHWC_TILE - 1) / EI_B8_NHWC_TILE, u = t - j->task0[k];
        int64_t          n = u / tiles, p0 = (u % tiles) * EI_B8_NHWC_TILE;
        int64_t          p1 = p0 + EI_B8_NHWC_TILE < hw ? p0 + EI_B8_NHWC_TILE : hw;
        nhwc_rows((const float *)j->in[k]->data + n * ei_blocks8(c) * hw * EI_BLOCK8, c, hw, p0, p1,
                  j->dst + n * j->per_image + j->off[k], c);
    }
}

static ei_status * from_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    const from_params * p = node->params;
    const ei_shape *    s = &in[0]->shape;
    int64_t             n = s->dim[0], hw = s->dim[2] * s->dim[3];
    float *             dst = out[0]->data;
    if (p->flat) {
        nhwc_job j = {.in = in, .p = p, .dst = dst};
        EI_ASSERT(p->n <= EI_B8_FLAT_MAX);
        for (int32_t k = 0; k < p->n; k++) {
            int64_t khw = in[k]->shape.dim[2] * in[k]->shape.dim[3];
            j.off[k] = j.per_image;
            j.per_image += khw * p->channels[k];
            j.task0[k + 1] = j.task0[k] + n * ((khw + EI_B8_NHWC_TILE - 1) / EI_B8_NHWC_TILE);
        }
        ei_parallel_for(ex->pool, j.task0[p->n], 1, flat_tiles, &j);
        return NULL;
    }
    if (p->nhwc) {
        nhwc_job j = {.in = in, .p = p, .dst = dst, .hw = hw, .tiles = (hw + EI_B8_NHWC_TILE - 1) / EI_B8_NHWC_TILE};
        ei_parallel_for(ex->pool, n * j.tiles, 1, nhwc_tiles, &j);
        return NULL;
    }
    int64_t off = 0;
    for (int32_t k = 0; k < p->n; k++) {
        unpack_job j = {in[k]->data, dst, p->channels[k], ei_blocks8(p->channels[k]), hw, p->total, off};
        ei_parallel_for(ex->pool, n * j.cb, 1, unpack_rows, &j);
        off += p->channels[k];
    }
    return NULL;
}

const ei_op_def ei_op_def_FROM_BLOCKED8 = {
    .name = "ei.FromBlocked8",
    .in_min = 1,
    .in_max = -1,
    .out_min = 1,
    .out_max = 1,
    .import = from_import,
    .infer = from_infer,
    .run = from_run,
};

/* ---- ei.ConvBlocked8 ---- */

/* The plain shape of X: itself when 4-D, else N x (W's input channels) x H x W. */
static ei_status * conv_plain_x(const ei_node * node, const ei_shape * xs, const ei_shape * ws, int64_t group,
                                ei_shape * plain) {
    char a[128], b[128];
    if (ws->rank != 4)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "weight W has shape %s; only 2-D convolutions are blocked",
                              ei_shape_format(ws, a, sizeof a));
    if (xs->rank == 4) {
        *plain = *xs;
        return NULL;
    }
    int64_t c = ws->dim[1] * group;
    if (!is_blocked_of(xs, c))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "input X has shape %s; W %s needs %lld channels in blocks of 8",
                              ei_shape_format(xs, a, sizeof a), ei_shape_format(ws, b, sizeof b), (long long)c);
    *plain = (ei_shape){.rank = 4, .dim = {xs->dim[0], c, xs->dim[2], xs->dim[3]}};
    return NULL;
}

static ei_status * convb_import(ei_node * node) { return ei_op_def_CONV.import(node); }

static ei_status * convb_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(convb_import(node));
    for (int32_t k = 0; k < 3; k++)
        EI_TRY(k == 1 ? ei_half_check_weight(g, node, k)
                      : ei_op_check_dtype(g, node, k, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    const ei_value * x = ei_node_input(g, node, 0);
    const ei_value * w = ei_node_input(g, node, 1);
    const ei_value * b = ei_node_input(g, node, 2);
    int64_t          group;
    ei_window_attrs  wa;
    ei_window_geom   geom;
    ei_fused         f;
    ei_shape         xs;
    EI_TRY(ei_attr_get_int(node, "group", 1, &group));
    EI_TRY(ei_window_attrs_read(node, true, &wa));
    EI_TRY(ei_fused_import(node, &f));
    EI_TRY(conv_plain_x(node, &x->shape, &w->shape, group, &xs));
    int64_t m = w->shape.dim[0];
    if (group < 1 || xs.dim[1] % group || m % group || w->shape.dim[1] != xs.dim[1] / group)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "channels do not match W and group %lld", (long long)group);
    if (b && (b->shape.rank != 1 || b->shape.dim[0] != m))
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "bias B must have %lld elements", (long long)m);
    EI_TRY(ei_window_resolve(node, &wa, EI_WINDOW_CONV, 2, xs.dim + 2, w->shape.dim + 2, &geom));
    ei_shape yp = {.rank = 4, .dim = {xs.dim[0], m, geom.out[0], geom.out[1]}};
    ei_shape ys = blocked_shape(&yp);
    EI_TRY(ei_fused_check_residual(g, node, &f, 3, &ys));
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &ys);
    return NULL;
}

/* A plain copy of blocked tensor t of c channels (t itself when already plain). */
static ei_status * unblocked(const ei_tensor * t, int64_t c, ei_threadpool * pool, ei_tensor ** out) {
    *out = NULL;
    if (t->shape.rank != 5) return NULL;
    ei_shape s = {.rank = 4, .dim = {t->shape.dim[0], c, t->shape.dim[2], t->shape.dim[3]}};
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, &s, out));
    ei_blocked8_unpack(pool, t->data, (*out)->data, s.dim[0], c, s.dim[2] * s.dim[3]);
    return NULL;
}

static ei_status * convb_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    const ei_tensor * W = in[1];
    int64_t           group, m = W->shape.dim[0];
    EI_TRY(ei_attr_get_int(node, "group", 1, &group));
    const ei_tensor * ins[4] = {in[0], in[1], node->n_inputs > 2 ? in[2] : NULL, node->n_inputs > 3 ? in[3] : NULL};
    ei_tensor *       x = NULL, *r = NULL, *y = NULL;
    ei_shape          ys = {.rank = 4, .dim = {out[0]->shape.dim[0], m, out[0]->shape.dim[2], out[0]->shape.dim[3]}};
    ei_status *       st = unblocked(in[0], W->shape.dim[1] * group, ex->pool, &x);
    if (!st && ins[3]) st = unblocked(ins[3], m, ex->pool, &r);
    if (!st) st = ei_tensor_create(EI_DTYPE_F32, &ys, &y);
    if (!st) {
        if (x) ins[0] = x;
        if (r) ins[3] = r;
        ei_tensor * outs[1] = {y};
        st = ei_op_def_CONV.run(node, ins, outs, ex);
    }
    if (!st) ei_blocked8_pack(ex->pool, y->data, out[0]->data, ys.dim[0], m, ys.dim[2] * ys.dim[3]);
    ei_tensor_destroy(x);
    ei_tensor_destroy(r);
    ei_tensor_destroy(y);
    return st;
}

static int64_t convb_macs(const ei_graph * g, const ei_node * node) {
    const ei_value * w = ei_node_input(g, node, 1);
    const ei_value * y = ei_node_output((ei_graph *)g, node, 0);
    if (!w || !y || w->shape.rank != 4 || y->shape.rank != 5) return 0;
    return y->shape.dim[0] * w->shape.dim[0] * y->shape.dim[2] * y->shape.dim[3] * w->shape.dim[1] * w->shape.dim[2] *
           w->shape.dim[3];
}

const ei_op_def ei_op_def_CONV_BLOCKED8 = {
    .name = "ei.ConvBlocked8",
    .in_min = 2,
    .in_max = 4,
    .out_min = 1,
    .out_max = 1,
    .import = convb_import,
    .infer = convb_infer,
    .run = convb_run,
    .macs = convb_macs,
};
