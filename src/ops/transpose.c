/* Transpose: a permuted copy. Axes that stay adjacent are merged, so NCHW<->NHWC ([0,2,3,1],
 * [0,3,1,2]), [N,C,HW]<->[N,HW,C] and 2-D transposes are batched matrix transposes; for 4-byte
 * elements those run through the 8x8 AVX2 block kernel (ei_vec_transpose32) in cache-sized tiles,
 * everything else through the generic strided copy. */
#include "cpu/vmath.h"
#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

typedef struct transpose_params {
    int32_t n_perm; /* -1: reverse the axes */
    int64_t perm[EI_MAX_RANK];
} transpose_params;

static ei_status * transpose_import(ei_node * n) {
    transpose_params * p;
    EI_TRY(ei_shp_params(n, sizeof *p, (void **)&p));
    const int64_t * perm;
    EI_TRY(ei_attr_get_ints(n, "perm", &perm, &p->n_perm));
    if (p->n_perm > EI_MAX_RANK)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "perm has %d entries; at most rank %d is supported", p->n_perm,
                              EI_MAX_RANK);
    for (int32_t i = 0; i < p->n_perm; i++) p->perm[i] = perm[i];
    return NULL;
}

static ei_status * resolve_perm(const ei_node * n, int32_t rank, int32_t * perm) {
    const transpose_params * p = n->params;
    if (p->n_perm < 0) {
        for (int32_t i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return NULL;
    }
    if (p->n_perm != rank)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "perm has %d entries but the input has rank %d", p->n_perm,
                              rank);
    return ei_shp_axes(n, "perm", p->perm, rank, rank, perm);
}

static ei_status * transpose_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int32_t          perm[EI_MAX_RANK];
    EI_TRY(resolve_perm(n, x->shape.rank, perm));
    ei_shape s = x->shape;
    for (int32_t i = 0; i < s.rank; i++) s.dim[i] = x->shape.dim[perm[i]];
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

/* Drops unit axes and merges output axes whose source axes are consecutive. Returns the rank of
 * the merged view: dims (source order) and perm over them. */
static int32_t merge_axes(int32_t rank, const int64_t * in_dims, const int32_t * perm, int64_t * dims,
                          int32_t * mperm) {
    /* Output axes kept (non-unit), grouped into runs of consecutive source axes. */
    int32_t first[EI_MAX_RANK], last[EI_MAX_RANK], ng = 0;
    for (int32_t k = 0; k < rank; k++) {
        int32_t a = perm[k];
        if (in_dims[a] == 1) continue;
        if (ng > 0) {
            /* The next source axis after the group's last, skipping unit axes. */
            int32_t nxt = last[ng - 1] + 1;
            while (nxt < rank && in_dims[nxt] == 1) nxt++;
            if (nxt == a) {
                last[ng - 1] = a;
                continue;
            }
        }
        first[ng] = last[ng] = a;
        ng++;
    }
    /* Rank of each group in source order. */
    for (int32_t g = 0; g < ng; g++) {
        int32_t pos = 0;
        for (int32_t h = 0; h < ng; h++) pos += first[h] < first[g];
        mperm[g] = pos;
        int64_t d = 1;
        for (int32_t a = first[g]; a <= last[g]; a++) d *= in_dims[a];
        dims[pos] = d;
    }
    return ng;
}

typedef struct tr2d_job {
    const uint32_t * src; /* any 4-byte element type */
    uint32_t *       dst;
    int64_t          rows, cols; /* each batch: src [rows, cols] -> dst [cols, rows] */
    int64_t          rtiles, ctiles;
} tr2d_job;

/* Tiles of 64 source rows by 256 columns: 64 KiB read and written per tile, within L2. */
#define EI_TR_TILE_R 64
#define EI_TR_TILE_C 256

static void tr2d_tiles(void * ctx, int64_t t0, int64_t t1) {
    const tr2d_job * j = ctx;
    for (int64_t t = t0; t < t1; t++) {
        int64_t          b = t / (j->rtiles * j->ctiles), rt = (t / j->ctiles) % j->rtiles, ct = t % j->ctiles;
        int64_t          r0 = rt * EI_TR_TILE_R, c0 = ct * EI_TR_TILE_C;
        int64_t          nr = j->rows - r0 < EI_TR_TILE_R ? j->rows - r0 : EI_TR_TILE_R;
        int64_t          nc = j->cols - c0 < EI_TR_TILE_C ? j->cols - c0 : EI_TR_TILE_C;
        const uint32_t * s = j->src + b * j->rows * j->cols + r0 * j->cols + c0;
        uint32_t *       d = j->dst + b * j->rows * j->cols + c0 * j->rows + r0;
        ei_vec_transpose32(s, j->cols, d, j->rows, nr, nc);
    }
}

/* Batched 2-D transpose of 4-byte elements; false when the permutation is not one. */
static bool transpose_2d(const ei_tensor * x, ei_tensor * y, const int32_t * perm, ei_threadpool * pool) {
    if (ei_dtype_size(x->dtype) != 4) return false;
    int64_t  dims[EI_MAX_RANK];
    int32_t  mperm[EI_MAX_RANK];
    int32_t  r = merge_axes(x->shape.rank, x->shape.dim, perm, dims, mperm);
    tr2d_job j = {.src = x->data, .dst = y->data};
    int64_t  batch = 1;
    if (r == 2 && mperm[0] == 1 && mperm[1] == 0) {
        j.rows = dims[0];
        j.cols = dims[1];
    } else if (r == 3 && mperm[0] == 0 && mperm[1] == 2 && mperm[2] == 1) {
        batch = dims[0];
        j.rows = dims[1];
        j.cols = dims[2];
    } else {
        return false;
    }
    j.rtiles = (j.rows + EI_TR_TILE_R - 1) / EI_TR_TILE_R;
    j.ctiles = (j.cols + EI_TR_TILE_C - 1) / EI_TR_TILE_C;
    int64_t tiles = batch * j.rtiles * j.ctiles;
    int64_t tile_elems =
        (j.rows < EI_TR_TILE_R ? j.rows : EI_TR_TILE_R) * (j.cols < EI_TR_TILE_C ? j.cols : EI_TR_TILE_C);
    ei_parallel_for(pool, tiles, 1 + 16384 / tile_elems, tr2d_tiles, &j);
    return true;
}

static ei_status * transpose_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                                 const ei_exec * ex) {
    int32_t perm[EI_MAX_RANK];
    EI_TRY(resolve_perm(n, in[0]->shape.rank, perm));
    if (ei_shape_numel(&in[0]->shape) == 0) return NULL;
    if (transpose_2d(in[0], out[0], perm, ex->pool)) return NULL;
    ei_dm_transpose(out[0]->data, in[0]->data, ei_dtype_size(in[0]->dtype), in[0]->shape.rank, in[0]->shape.dim, perm,
                    ex->pool);
    return NULL;
}

const ei_op_def ei_op_def_TRANSPOSE = {
    .name = "Transpose",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = transpose_import,
    .infer = transpose_infer,
    .run = transpose_run,
};
