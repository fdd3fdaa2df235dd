/* DepthToSpace and SpaceToDepth: a 6-D view of the input, permuted. DCR keeps the block index
 * outside the channel index, CRD inside it. */
#include <string.h>

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

typedef struct ds_params {
    int64_t bs;
    bool    crd;
} ds_params;

static ei_status * ds_import(ei_node * n) {
    ds_params * p;
    EI_TRY(ei_shp_params(n, sizeof *p, (void **)&p));
    if (!ei_node_attr(n, "blocksize"))
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'blocksize' is required");
    EI_TRY(ei_attr_get_int(n, "blocksize", 0, &p->bs));
    if (p->bs < 1 || p->bs > 4096)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "blocksize %lld is out of range", (long long)p->bs);
    const char * mode;
    EI_TRY(ei_attr_get_string(n, "mode", "DCR", &mode));
    if (strcmp(mode, "CRD") == 0)
        p->crd = true;
    else if (strcmp(mode, "DCR") != 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "mode '%s' is neither DCR nor CRD", mode);
    return NULL;
}

static ei_status * check_4d(const ei_graph * g, const ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    if (x->shape.rank != 4)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input must be 4-D (N, C, H, W), not rank %d", x->shape.rank);
    return NULL;
}

/* ---- DepthToSpace ---- */

static ei_status * d2s_infer(ei_graph * g, ei_node * n) {
    const ds_params * p = n->params;
    const ei_value *  x = ei_node_input(g, n, 0);
    EI_TRY(check_4d(g, n));
    int64_t bb = p->bs * p->bs;
    if (x->shape.dim[1] % bb != 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%lld channels do not divide by blocksize^2 = %lld",
                              (long long)x->shape.dim[1], (long long)bb);
    ei_shape s = x->shape;
    s.dim[1] /= bb;
    s.dim[2] *= p->bs;
    s.dim[3] *= p->bs;
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * d2s_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    const ds_params *    p = n->params;
    const int64_t *      d = in[0]->shape.dim;
    int64_t              b = p->bs, c = d[1] / (b * b);
    static const int32_t dcr[6] = {0, 3, 4, 1, 5, 2}, crd[6] = {0, 1, 4, 2, 5, 3};
    int64_t              dcr_dims[6] = {d[0], b, b, c, d[2], d[3]}, crd_dims[6] = {d[0], c, b, b, d[2], d[3]};
    ei_dm_transpose(out[0]->data, in[0]->data, ei_dtype_size(in[0]->dtype), 6, p->crd ? crd_dims : dcr_dims,
                    p->crd ? crd : dcr, ex->pool);
    return NULL;
}

const ei_op_def ei_op_def_DEPTH_TO_SPACE = {
    .name = "DepthToSpace",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = ds_import,
    .infer = d2s_infer,
    .run = d2s_run,
};

/* ---- SpaceToDepth ---- */

static ei_status * s2d_infer(ei_graph * g, ei_node * n) {
    const ds_params * p = n->params;
    const ei_value *  x = ei_node_input(g, n, 0);
    EI_TRY(check_4d(g, n));
    if (x->shape.dim[2] % p->bs != 0 || x->shape.dim[3] % p->bs != 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "height %lld and width %lld must divide by blocksize %lld",
                              (long long)x->shape.dim[2], (long long)x->shape.dim[3], (long long)p->bs);
    ei_shape s = x->shape;
    s.dim[1] *= p->bs * p->bs;
    s.dim[2] /= p->bs;
    s.dim[3] /= p->bs;
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * s2d_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                           const ei_exec * ex) {
    const ds_params *    p = n->params;
    const int64_t *      d = in[0]->shape.dim;
    int64_t              b = p->bs;
    static const int32_t dcr[6] = {0, 3, 5, 1, 2, 4}, crd[6] = {0, 1, 3, 5, 2, 4};
    int64_t              dims[6] = {d[0], d[1], d[2] / b, b, d[3] / b, b};
    ei_dm_transpose(out[0]->data, in[0]->data, ei_dtype_size(in[0]->dtype), 6, dims, p->crd ? crd : dcr, ex->pool);
    return NULL;
}

const ei_op_def ei_op_def_SPACE_TO_DEPTH = {
    .name = "SpaceToDepth",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .import = ds_import,
    .infer = s2d_infer,
    .run = s2d_run,
};
