/* MatMul (opsets 1, 9, 13), float32, numpy semantics: batch dimensions broadcast; a 1-D A is a row
 * vector and a 1-D B a column vector, whose added dimension is removed from the result. Each
 * matrix product goes to ei_sgemm; when B is shared by every batch (a Linear layer) the batches of
 * A are one tall product. */
#include <stdlib.h>
#include <string.h>

#include "cpu/sgemm.h"
#include "ops/fused_apply.h"
#include "ops/op.h"
#include "quant/half.h"

/* The product as matrices: A [batch..., M, K] x B [batch..., K, N] -> [batch..., M, N]. */
typedef struct mm_geom {
    ei_shape batch;                  /* broadcast batch shape */
    int64_t  a_bstride[EI_MAX_RANK]; /* element strides of A and B per batch dim (0: broadcast) */
    int64_t  b_bstride[EI_MAX_RANK];
    int64_t  m, n, k;
    int64_t  batches;
    bool     a_full;   /* A has the full batch shape, without broadcasting */
    bool     b_shared; /* B is the same matrix for every batch */
} mm_geom;

static ei_status * mm_geometry(const ei_node * node, const ei_shape * as, const ei_shape * bs, mm_geom * g,
                               ei_shape * out) {
    memset(g, 0, sizeof *g);
    char sa[128], sb[128];
    if (as->rank < 1 || bs->rank < 1)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "inputs must have rank >= 1; got shapes %s and %s",
                              ei_shape_format(as, sa, sizeof sa), ei_shape_format(bs, sb, sizeof sb));
    /* Matrix views of A and B. */
    ei_shape a = *as, b = *bs;
    if (a.rank == 1) {
        a.rank = 2;
        a.dim[1] = a.dim[0];
        a.dim[0] = 1;
    }
    if (b.rank == 1) {
        b.rank = 2;
        b.dim[1] = 1;
    }
    g->m = a.dim[a.rank - 2];
    g->k = a.dim[a.rank - 1];
    g->n = b.dim[b.rank - 1];
    if (b.dim[b.rank - 2] != g->k)
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "inner dimensions differ: A has shape %s (K = %lld), B has shape %s (K = %lld)",
                              ei_shape_format(as, sa, sizeof sa), (long long)g->k, ei_shape_format(bs, sb, sizeof sb),
                              (long long)b.dim[b.rank - 2]);
    ei_shape    ab = ei_shape_make(a.rank - 2, a.dim), bb = ei_shape_make(b.rank - 2, b.dim);
    ei_status * st = ei_op_broadcast(node, &ab, &bb, &g->batch);
    if (st) {
        ei_status_destroy(st);
        return ei_node_errorf(node, EI_CODE_INVALID_MODEL,
                              "batch dimensions of A (shape %s) and B (shape %s) do not broadcast",
                              ei_shape_format(as, sa, sizeof sa), ei_shape_format(bs, sb, sizeof sb));
    }
    ei_shape_broadcast_strides(&ab, &g->batch, g->a_bstride);
    ei_shape_broadcast_strides(&bb, &g->batch, g->b_bstride);
    g->batches = ei_shape_numel(&g->batch);
    g->a_full = ab.rank == g->batch.rank;
    g->b_shared = true;
    for (int32_t d = 0; d < g->batch.rank; d++) {
        g->a_bstride[d] *= g->m * g->k;
        g->b_bstride[d] *= g->k * g->n;
        if (ab.rank == g->batch.rank && ab.dim[d] != g->batch.dim[d]) g->a_full = false;
        if (g->b_bstride[d] != 0) g->b_shared = false;
    }
    /* Output: batch, then M unless A was 1-D, then N unless B was 1-D. */
    *out = g->batch;
    if (as->rank > 1) out->dim[out->rank++] = g->m;
    if (bs->rank > 1) out->dim[out->rank++] = g->n;
    if (out->rank > EI_MAX_RANK)
        return ei_node_errorf(node, EI_CODE_UNSUPPORTED, "result rank exceeds %d", EI_MAX_RANK);
    return NULL;
}

/* params: the ei.* attributes; the residual is input 2. */
static ei_status * matmul_import(ei_node * node) {
    ei_fused * f = malloc(sizeof *f);
    if (!f) return ei_status_oom();
    ei_status * st = ei_fused_import(node, f);
    return ei_op_install_params(node, f, st);
}

static ei_status * matmul_infer(ei_graph * g, ei_node * node) {
    if (!node->params) EI_TRY(matmul_import(node));
    EI_TRY(ei_op_check_dtype(g, node, 0, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    EI_TRY(ei_half_check_weight(g, node, 1));
    const ei_value * a = ei_node_input(g, node, 0);
    const ei_value * b = ei_node_input(g, node, 1);
    if (!a || !b) return ei_node_errorf(node, EI_CODE_INVALID_MODEL, "inputs A and B are required");
    mm_geom  geo;
    ei_shape out;
    EI_TRY(mm_geometry(node, &a->shape, &b->shape, &geo, &out));
    EI_TRY(ei_fused_check_residual(g, node, node->params, 2, &out));
    ei_op_set_output(g, node, 0, EI_DTYPE_F32, &out);
    return NULL;
}

typedef struct mm_job {
    const mm_geom * g;
    const float *   a;
    const float *   b;
    float *         c;
} mm_job;

/* Batch offsets of A and B for flat batch index t (division per matrix, not per element). */
static void mm_offsets(const mm_geom * g, int64_t t, int64_t * ao, int64_t * bo) {
    *ao = *bo = 0;
    for (int32_t d = g->batch.rank - 1; d >= 0; d--) {
        int64_t i = t % g->batch.dim[d];
        t /= g->batch.dim[d];
        *ao += i * g->a_bstride[d];
        *bo += i * g->b_bstride[d];
    }
}

static void mm_batches(void * ctx, int64_t t0, int64_t t1) {
    const mm_job *  j = ctx;
    const mm_geom * g = j->g;
    for (int64_t t = t0; t < t1; t++) {
        int64_t ao, bo;
        mm_offsets(g, t, &ao, &bo);
        ei_sgemm(NULL, false, false, g->m, g->n, g->k, 1.0f, j->a + ao, g->k, j->b + bo, g->n, 0.0f,
                 j->c + t * g->m * g->n, g->n);
    }
}

static ei_status * matmul_run_plain(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                    const ei_exec * ex) {
    mm_geom  g;
    ei_shape os;
    EI_TRY(mm_geometry(node, &in[0]->shape, &in[1]->shape, &g, &os));
    const float * a = in[0]->data;
    const float * b = in[1]->data;
    float *       c = out[0]->data;
    if (g.batches == 0 || g.m == 0 || g.n == 0) return NULL;
    if (g.b_shared && g.a_full) {
        ei_sgemm(ex->pool, false, false, g.batches * g.m, g.n, g.k, 1.0f, a, g.k, b, g.n, 0.0f, c, g.n);
        return NULL;
    }
    mm_job  j = {&g, a, b, c};
    int32_t threads = ei_threadpool_size(ex->pool);
    /* Many small products (attention heads): one product per task. Few large ones: in turn, each
     * spread over the pool by ei_sgemm. */
    if (g.batches >= 2 * threads && (double)g.m * (double)g.n * (double)g.k < 4e6) {
        ei_parallel_for(ex->pool, g.batches, 1, mm_batches, &j);
        return NULL;
    }
    for (int64_t t = 0; t < g.batches; t++) {
        int64_t ao, bo;
        mm_offsets(&g, t, &ao, &bo);
        ei_sgemm(ex->pool, false, false, g.m, g.n, g.k, 1.0f, a + ao, g.k, b + bo, g.n, 0.0f, c + t * g.m * g.n, g.n);
    }
    return NULL;
}

static ei_status * matmul_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                              const ei_exec * ex) {
    EI_TRY(matmul_run_plain(node, in, out, ex));
    const ei_fused * f = node->params;
    ei_fused_finish(f, f->residual ? in[2] : NULL, out[0], ex->pool);
    return NULL;
}

/* Weights of a bf16 / fp16 engine are widened per run (src/quant/half.h). */
static ei_status * matmul_run_entry(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                    const ei_exec * ex) {
    if (ei_half_needed(node, in, 1)) return ei_half_run(matmul_run, 1, node, in, out, ex);
    return matmul_run(node, in, out, ex);
}

static int64_t matmul_macs(const ei_graph * gr, const ei_node * node) {
    const ei_value * a = ei_node_input(gr, node, 0);
    const ei_value * b = ei_node_input(gr, node, 1);
    mm_geom          g;
    ei_shape         os;
    if (!a || !b) return 0;
    ei_status * st = mm_geometry(node, &a->shape, &b->shape, &g, &os);
    if (st) {
        ei_status_destroy(st);
        return 0;
    }
    return g.batches * g.m * g.n * g.k;
}

const ei_op_def ei_op_def_MATMUL = {
    .name = "MatMul",
    .in_min = 2,
    .in_max = 3, /* 3: the ei.residual input */
    .out_min = 1,
    .out_max = 1,
    .import = matmul_import,
    .infer = matmul_infer,
    .run = matmul_run_entry,
    .macs = matmul_macs,
};
