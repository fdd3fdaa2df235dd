/* Reshape, Flatten, Squeeze, Unsqueeze: the data is unchanged, only the static shape differs, so
 * infer does all the work and run copies the buffer. */
#include <string.h>

#include "ops/datamove.h"
#include "ops/op.h"
#include "ops/shape_common.h"

static ei_status * copy_run(const ei_node * n, const ei_tensor * const * in, ei_tensor * const * out,
                            const ei_exec * ex) {
    (void)n;
    /* A no-op when the memory plan gave the output the input's own bytes (runtime/memplan.h). */
    ei_dm_copy(out[0]->data, in[0]->data, in[0]->nbytes, ex->pool);
    return NULL;
}

/* ---- Reshape ---- */

static ei_status * reshape_import(ei_node * n) {
    int64_t * allowzero;
    EI_TRY(ei_shp_params(n, sizeof *allowzero, (void **)&allowzero));
    EI_TRY(ei_attr_get_int(n, "allowzero", 0, allowzero));
    if (*allowzero != 0 && *allowzero != 1)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "allowzero must be 0 or 1, not %lld", (long long)*allowzero);
    return NULL;
}

static ei_status * reshape_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    bool             allowzero = *(const int64_t *)n->params != 0;
    int64_t          shape[EI_SHP_MAX_INTS];
    int32_t          count;
    EI_TRY(ei_shp_ints(g, n, "shape", 1, 5, shape, &count));
    if (count < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "the target shape is missing");
    if (count > EI_MAX_RANK)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "target rank %d exceeds the supported %d", count, EI_MAX_RANK);
    ei_shape s;
    memset(&s, 0, sizeof s);
    s.rank = count;
    int32_t infer_at = -1;
    int64_t known = 1;
    bool    has_zero = false;
    for (int32_t i = 0; i < count; i++) {
        int64_t d = shape[i];
        if (d == -1) {
            if (infer_at >= 0)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "the target shape has more than one -1 (at %d and %d)",
                                      infer_at, i);
            infer_at = i;
            continue;
        }
        if (d < -1) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "target dimension %d is %lld", i, (long long)d);
        if (d == 0) {
            has_zero = true;
            if (!allowzero) {
                if (i >= x->shape.rank)
                    return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                          "target dimension %d is 0 (copy the input's) but the input has rank %d", i,
                                          x->shape.rank);
                d = x->shape.dim[i];
            }
        }
        s.dim[i] = d;
        if (d && known > INT64_MAX / d) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "the target shape overflows");
        known *= d;
    }
    if (allowzero && has_zero && infer_at >= 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "with allowzero=1 the target shape cannot hold both 0 and -1");
    int64_t numel = ei_shape_numel(&x->shape);
    if (infer_at >= 0) {
        if (known == 0 || numel % known != 0) {
            char buf[160];
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "cannot infer the -1 dimension: %lld elements of input %s "
                                  "do not split into blocks of %lld",
                                  (long long)numel, ei_shape_format(&x->shape, buf, sizeof buf), (long long)known);
        }
        s.dim[infer_at] = numel / known;
        known = numel;
    }
    if (known != numel) {
        char a[160], b[160];
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "cannot reshape %s (%lld elements) to %s (%lld elements)",
                              ei_shape_format(&x->shape, a, sizeof a), (long long)numel,
                              ei_shape_format(&s, b, sizeof b), (long long)known);
    }
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

const ei_op_def ei_op_def_RESHAPE = {
    .name = "Reshape",
    .in_min = 1,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .import = reshape_import,
    .infer = reshape_infer,
    .run = copy_run,
};

/* ---- Flatten ---- */

static ei_status * flatten_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int64_t          axis;
    int32_t          r = x->shape.rank;
    EI_TRY(ei_attr_get_int(n, "axis", 1, &axis));
    if (axis < -(int64_t)r || axis > r)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "axis %lld is out of range for rank %d", (long long)axis, r);
    if (axis < 0) axis += r;
    ei_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 2;
    s.dim[0] = s.dim[1] = 1;
    for (int32_t i = 0; i < r; i++) s.dim[i < axis ? 0 : 1] *= x->shape.dim[i];
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

const ei_op_def ei_op_def_FLATTEN = {
    .name = "Flatten",
    .in_min = 1,
    .in_max = 1,
    .out_min = 1,
    .out_max = 1,
    .infer = flatten_infer,
    .run = copy_run,
};

/* ---- Squeeze ---- */

static ei_status * squeeze_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int32_t          r = x->shape.rank;
    int64_t          axes[EI_SHP_MAX_INTS];
    int32_t          count, norm[EI_MAX_RANK];
    EI_TRY(ei_shp_ints(g, n, "axes", 1, 13, axes, &count));
    bool drop[EI_MAX_RANK] = {false};
    if (count <= 0) { /* an empty axes list squeezes every unit axis too, as in ONNX Runtime */
        for (int32_t i = 0; i < r; i++) drop[i] = x->shape.dim[i] == 1;
    } else {
        EI_TRY(ei_shp_axes(n, "axes", axes, count, r, norm));
        for (int32_t i = 0; i < count; i++) {
            if (x->shape.dim[norm[i]] != 1)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "cannot squeeze axis %d of size %lld", norm[i],
                                      (long long)x->shape.dim[norm[i]]);
            drop[norm[i]] = true;
        }
    }
    ei_shape s;
    memset(&s, 0, sizeof s);
    for (int32_t i = 0; i < r; i++)
        if (!drop[i]) s.dim[s.rank++] = x->shape.dim[i];
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

const ei_op_def ei_op_def_SQUEEZE = {
    .name = "Squeeze",
    .in_min = 1,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .infer = squeeze_infer,
    .run = copy_run,
};

/* ---- Unsqueeze ---- */

static ei_status * unsqueeze_infer(ei_graph * g, ei_node * n) {
    const ei_value * x = ei_node_input(g, n, 0);
    int64_t          axes[EI_SHP_MAX_INTS];
    int32_t          count, norm[EI_MAX_RANK];
    EI_TRY(ei_shp_ints(g, n, "axes", 1, 13, axes, &count));
    if (count < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "axes is missing");
    int32_t r = x->shape.rank + count;
    if (r > EI_MAX_RANK)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "output rank %d exceeds the supported %d", r, EI_MAX_RANK);
    EI_TRY(ei_shp_axes(n, "axes", axes, count, r, norm));
    bool inserted[EI_MAX_RANK] = {false};
    for (int32_t i = 0; i < count; i++) inserted[norm[i]] = true;
    ei_shape s;
    memset(&s, 0, sizeof s);
    s.rank = r;
    for (int32_t i = 0, j = 0; i < r; i++) s.dim[i] = inserted[i] ? 1 : x->shape.dim[j++];
    ei_op_set_output(g, n, 0, x->dtype, &s);
    return NULL;
}

const ei_op_def ei_op_def_UNSQUEEZE = {
    .name = "Unsqueeze",
    .in_min = 1,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .infer = unsqueeze_infer,
    .run = copy_run,
};
