/* Slice: a strided view of the input (negative steps read backwards), copied with the shared
 * strided kernel, which uses memcpy for runs that stay contiguous. */
#include <string.h>

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

typedef struct slice_params {
    int64_t start[EI_MAX_RANK]; /* per input axis, after clamping; set by infer */
    int64_t step[EI_MAX_RANK];
} slice_params;

static ei_status * slice_import(ei_node * n) {
    slice_params * p;
    return ei_shp_params(n, sizeof *p, (void **)&p);
}

static ei_status * read_list(const ei_graph * g, const ei_node * n, const char * name, int32_t input, int64_t * vals,
                             int32_t * count) {
    return ei_shp_ints(g, n, name, input, 10, vals, count);
}

static ei_status * slice_infer(ei_graph * g, ei_node * n) {
    slice_params *   p = n->params;
    const ei_value * x = ei_node_input(g, n, 0);
    int32_t          r = x->shape.rank;
    int64_t          starts[EI_SHP_MAX_INTS], ends[EI_SHP_MAX_INTS], axes[EI_SHP_MAX_INTS], steps[EI_SHP_MAX_INTS];
    int32_t          ns, ne, na, nst = -1, norm[EI_MAX_RANK];
    EI_TRY(read_list(g, n, "starts", 1, starts, &ns));
    EI_TRY(read_list(g, n, "ends", 2, ends, &ne));
    EI_TRY(read_list(g, n, "axes", 3, axes, &na));
    if (n->opset >= 10) EI_TRY(ei_op_const_ints(g, n, 4, steps, EI_SHP_MAX_INTS, &nst));
    if (ns < 0 || ne < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "starts and ends are required");
    if (ns != ne) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%d starts but %d ends", ns, ne);
    if (na >= 0 && na != ns) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%d starts but %d axes", ns, na);
    if (nst >= 0 && nst != ns) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%d starts but %d steps", ns, nst);
    if (na < 0) {
        if (ns > r) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%d starts for an input of rank %d", ns, r);
        for (int32_t i = 0; i < ns; i++) axes[i] = i;
    }
    EI_TRY(ei_shp_axes(n, "axes", axes, ns, r, norm));
    ei_shape s = x->shape;
    for (int32_t k = 0; k < r; k++) {
        p->start[k] = 0;
        p->step[k] = 1;
    }
    for (int32_t i = 0; i < ns; i++) {
        int32_t k = norm[i];
        int64_t dim = x->shape.dim[k], step = nst >= 0 ? steps[i] : 1;
        int64_t start = starts[i], end = ends[i];
        if (step == 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "steps[%d] is 0", i);
        /* A step longer than the axis yields at most one element, so clamping it changes nothing
         * but keeps step * stride from overflowing (INT64_MIN steps). */
        int64_t maxstep = dim > 1 ? dim : 1;
        if (step > maxstep) step = maxstep;
        if (step < -maxstep) step = -maxstep;
        if (start < 0) start += dim;
        if (end < 0) end += dim;
        int64_t count;
        if (step > 0) {
            start = start < 0 ? 0 : start > dim ? dim : start;
            end = end < 0 ? 0 : end > dim ? dim : end;
            count = end > start ? (end - start + step - 1) / step : 0;
        } else {
            start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
            end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
            count = start > end ? (start - end - step - 1) / -step : 0;
        }
        p->start[k] = count ? start : 0;
        p->step[k] = step;
        s.dim[k] = count;
    }
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

static ei_status * slice_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                             const ei_exec * ex) {
    const slice_params * p = n->params;
    int32_t              r = in[0]->shape.rank;
    size_t               esize = ei_dtype_size(in[0]->dtype);
    int64_t              in_strides[EI_MAX_RANK], strides[EI_MAX_RANK], off = 0;
    if (ei_tensor_numel(out[0]) == 0) return NULL;
    ei_shape_strides(&in[0]->shape, in_strides);
    for (int32_t k = 0; k < r; k++) {
        off += p->start[k] * in_strides[k];
        strides[k] = p->step[k] * in_strides[k];
    }
    ei_dm_strided_copy(out[0]->data, (const char *)in[0]->data + off * (int64_t)esize, esize, r, out[0]->shape.dim,
                       strides, ex->pool);
    return NULL;
}

const ei_op_def ei_op_def_SLICE = {
    .name = "Slice",
    .in_min = 1,
    .in_max = 5,
    .out_min = 1,
    .out_max = 1,
    .import = slice_import,
    .infer = slice_infer,
    .run = slice_run,
};
