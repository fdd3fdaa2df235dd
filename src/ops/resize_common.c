/* Resize / Upsample: attributes, coordinate transformations and shape inference. The arithmetic
 * (float32, same operation order) follows ONNX Runtime's CPU kernel, so that results agree with it
 * to the last bit or two. */
#include <math.h>
#include <string.h>

#include "ops/resize_common.h"

/* Output extents beyond this are certainly hostile and would overflow index arithmetic. */
#define EI_RESIZE_MAX_DIM ((int64_t)1 << 40)
/* Antialias filter windows grow with the downscale factor (one weight per tap and output). */
#define EI_RESIZE_MAX_AA_FACTOR (1 << 20)

typedef struct name_value {
    const char * name;
    int          value;
} name_value;

static ei_status * parse_enum(const ei_node * n, const char * attr, const char * def, const name_value * table,
                              int * out) {
    const char * s;
    EI_TRY(ei_attr_get_string(n, attr, def, &s));
    char   allowed[256] = "";
    size_t used = 0;
    for (const name_value * t = table; t->name; t++) {
        if (strcmp(s, t->name) == 0) {
            *out = t->value;
            return NULL;
        }
        int w = snprintf(allowed + used, sizeof allowed - used, "%s'%s'", used ? ", " : "", t->name);
        if (w > 0 && (size_t)w < sizeof allowed - used) used += (size_t)w;
    }
    return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute %s is '%s'; expected one of %s", attr, s, allowed);
}

static const name_value g_modes[] = {
    {"nearest", EI_RESIZE_NEAREST}, {"linear", EI_RESIZE_LINEAR}, {"cubic", EI_RESIZE_CUBIC}, {NULL, 0}};
static const name_value g_coords[] = {{"half_pixel", EI_COORD_HALF_PIXEL},
                                      {"half_pixel_symmetric", EI_COORD_HALF_PIXEL_SYMMETRIC},
                                      {"pytorch_half_pixel", EI_COORD_PYTORCH_HALF_PIXEL},
                                      {"align_corners", EI_COORD_ALIGN_CORNERS},
                                      {"asymmetric", EI_COORD_ASYMMETRIC},
                                      {"tf_half_pixel_for_nn", EI_COORD_TF_HALF_PIXEL_FOR_NN},
                                      {"tf_crop_and_resize", EI_COORD_TF_CROP_AND_RESIZE},
                                      {NULL, 0}};
static const name_value g_nearest[] = {{"round_prefer_floor", EI_NEAREST_ROUND_PREFER_FLOOR},
                                       {"round_prefer_ceil", EI_NEAREST_ROUND_PREFER_CEIL},
                                       {"floor", EI_NEAREST_FLOOR},
                                       {"ceil", EI_NEAREST_CEIL},
                                       {NULL, 0}};
static const name_value g_policies[] = {{"stretch", EI_POLICY_STRETCH},
                                        {"not_larger", EI_POLICY_NOT_LARGER},
                                        {"not_smaller", EI_POLICY_NOT_SMALLER},
                                        {NULL, 0}};

ei_status * ei_resize_parse_attrs(ei_node * n, ei_resize_params * p, bool is_upsample) {
    memset(p, 0, sizeof *p);
    p->is_upsample = is_upsample;
    p->in_roi = p->in_scales = p->in_sizes = -1;
    p->n_axes = -1;
    p->n_attr_scales = -1;
    p->cubic_a = -0.75f;
    int v;
    EI_TRY(parse_enum(n, "mode", "nearest", g_modes, &v));
    p->mode = (ei_resize_mode)v;
    /* Before Resize-11 the only transformation was asymmetric and nearest rounding had no
     * attribute; ONNX Runtime truncates (upsampling) or takes the ceiling (downsampling). */
    bool modern = !is_upsample && n->opset >= 11;
    p->coord = EI_COORD_ASYMMETRIC;
    p->nearest = EI_NEAREST_LEGACY;
    if (modern) {
        EI_TRY(parse_enum(n, "coordinate_transformation_mode", "half_pixel", g_coords, &v));
        p->coord = (ei_resize_coord)v;
        if (p->mode == EI_RESIZE_NEAREST) {
            EI_TRY(parse_enum(n, "nearest_mode", "round_prefer_floor", g_nearest, &v));
            p->nearest = (ei_resize_nearest)v;
        }
        EI_TRY(ei_attr_get_float(n, "cubic_coeff_a", -0.75f, &p->cubic_a));
        int64_t excl;
        EI_TRY(ei_attr_get_int(n, "exclude_outside", 0, &excl));
        p->exclude_outside = excl != 0;
        EI_TRY(ei_attr_get_float(n, "extrapolation_value", 0.0f, &p->extrapolation));
        if (!isfinite(p->cubic_a))
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute cubic_coeff_a is not finite");
    }
    if (modern && n->opset >= 18) {
        int64_t aa;
        EI_TRY(ei_attr_get_int(n, "antialias", 0, &aa));
        p->antialias = aa != 0;
        if (p->antialias && p->mode == EI_RESIZE_NEAREST)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "antialias=1 needs mode 'linear' or 'cubic', not 'nearest'");
        EI_TRY(parse_enum(n, "keep_aspect_ratio_policy", "stretch", g_policies, &v));
        p->policy = (ei_resize_policy)v;
        const int64_t * axes;
        int32_t         count;
        EI_TRY(ei_attr_get_ints(n, "axes", &axes, &count));
        if (count > EI_MAX_RANK)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute axes has %d values; at most %d are supported",
                                  count, EI_MAX_RANK);
        if (count >= 0) {
            p->n_axes = count;
            memcpy(p->axes, axes, (size_t)count * sizeof *axes);
        }
    }
    if (is_upsample) {
        if (n->n_inputs >= 2 && n->inputs[1] >= 0) {
            p->in_scales = 1;
        } else {
            const float * sc;
            int32_t       count;
            EI_TRY(ei_attr_get_floats(n, "scales", &sc, &count));
            if (count < 0)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                      "needs scales: neither a 'scales' input nor a 'scales' attribute is given");
            if (count > EI_MAX_RANK)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                      "attribute scales has %d values; at most %d are supported", count, EI_MAX_RANK);
            p->n_attr_scales = count;
            memcpy(p->attr_scales, sc, (size_t)count * sizeof *sc);
        }
    } else if (modern) {
        p->in_roi = 1;
        p->in_scales = 2;
        p->in_sizes = 3;
    } else {
        p->in_scales = 1;
    }
    return NULL;
}

float ei_resize_coord_of(const ei_resize_params * p, int32_t axis, float x, int64_t len_in, int64_t len_out) {
    const float scale = p->scale[axis];
    const float lr = (float)len_out, lo = (float)len_in;
    switch (p->coord) {
    case EI_COORD_ASYMMETRIC: return x / scale;
    case EI_COORD_PYTORCH_HALF_PIXEL: return lr > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case EI_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5f) / scale;
    /* The integer output length, as in the spec text, ONNX Runtime and PyTorch (the onnx reference
     * implementation uses scale * length_original instead, which differs for fractional results). */
    case EI_COORD_ALIGN_CORNERS: return lr == 1 ? 0.0f : x * (lo - 1) / (lr - 1);
    case EI_COORD_TF_CROP_AND_RESIZE: {
        const float rs = p->roi_start[axis], re = p->roi_end[axis];
        if (lr > 1) return rs * (lo - 1) + (x * (re - rs) * (lo - 1)) / (lr - 1);
        return (float)(0.5 * (double)(rs + re) * (double)(lo - 1));
    }
    case EI_COORD_HALF_PIXEL_SYMMETRIC: {
        const float output_width = scale * lo;
        const float adjustment = lr / output_width;
        const float center = lo / 2;
        const float offset = center * (1 - adjustment);
        return (float)((double)offset + ((double)x + 0.5) / (double)scale - 0.5);
    }
    case EI_COORD_HALF_PIXEL:
    default: return ((x + 0.5f) / scale) - 0.5f;
    }
}

bool ei_resize_axis_is_identity(const ei_resize_params * p, int32_t axis, int64_t len_in, int64_t len_out) {
    /* Scale 1 copies the axis whatever the transformation (even a tf_crop_and_resize roi), as in
     * ONNX Runtime. */
    if (len_in != len_out) return false;
    /* ONNX Runtime's antialias kernels skip every axis whose extent is unchanged. */
    return p->scale[axis] == 1.0f || p->antialias;
}

/* Reads a constant float tensor input (scales, roi). *count = -1 when the input is omitted. */
static ei_status * const_floats(const ei_graph * g, const ei_node * n, int32_t k, const char * what, float * vals,
                                int32_t max, int32_t * count) {
    *count = -1;
    const ei_value * v = ei_node_input(g, n, k);
    if (!v) return NULL;
    if (!v->constant)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED,
                              "input %d (%s, '%s') must be known when the model loads (edgeinfer uses static shapes); "
                              "it is computed at run time here",
                              k, what, v->name);
    const ei_tensor * t = v->constant;
    if (!ei_dtype_is_float(t->dtype))
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d (%s, '%s') should be float, not %s", k, what, v->name,
                              ei_dtype_name(t->dtype));
    int64_t numel = ei_shape_numel(&t->shape);
    if (numel > max)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d (%s, '%s') has %lld values; at most %d are allowed",
                              k, what, v->name, (long long)numel, max);
    for (int64_t i = 0; i < numel; i++) {
        double d = ei_tensor_get_f64(t, i);
        if (!isfinite(d))
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                  "input %d (%s, '%s') has a value that is not finite at %lld", k, what, v->name,
                                  (long long)i);
        vals[i] = (float)d;
    }
    *count = (int32_t)numel;
    return NULL;
}

/* float * int64 the way ONNX Runtime computes output extents (in float, then truncated). */
static ei_status * extent_of(const ei_node * n, float prod, int32_t axis, int64_t * out) {
    if (!(prod >= 0.0f) || prod >= (float)EI_RESIZE_MAX_DIM)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "output extent of axis %d (%g) is out of range", axis,
                              (double)prod);
    *out = (int64_t)prod;
    return NULL;
}

ei_status * ei_resize_infer(ei_graph * g, ei_node * n) {
    ei_resize_params * p = n->params;
    const ei_value *   x = ei_node_input(g, n, 0);
    const int32_t      rank = x->shape.rank;
    if (rank < 1) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input X must have rank 1 or more, not a scalar");
    if (p->mode == EI_RESIZE_NEAREST) {
        if (ei_dtype_size(x->dtype) == 0 || ei_dtype_size(x->dtype) > 8)
            return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "input X has unsupported dtype %s", ei_dtype_name(x->dtype));
    } else {
        EI_TRY(ei_op_check_dtype(g, n, 0, EI_DTYPE_F32, EI_DTYPE_UNDEFINED));
    }
    p->rank = rank;
    const char * opname = p->is_upsample ? "Upsample" : "Resize";

    /* The axes that scales / sizes / roi refer to. */
    int32_t axes[EI_MAX_RANK], k;
    if (p->n_axes >= 0) {
        k = p->n_axes;
        bool seen[EI_MAX_RANK] = {false};
        for (int32_t i = 0; i < k; i++) {
            EI_TRY(ei_op_axis(n, p->axes[i], rank, &axes[i]));
            if (seen[axes[i]])
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute axes repeats axis %lld",
                                      (long long)p->axes[i]);
            seen[axes[i]] = true;
        }
    } else {
        k = rank;
        for (int32_t i = 0; i < rank; i++) axes[i] = i;
    }

    float   scales[EI_MAX_RANK];
    int64_t sizes[EI_MAX_RANK];
    int32_t n_scales = -1, n_sizes = -1;
    if (p->n_attr_scales >= 0) {
        n_scales = p->n_attr_scales;
        memcpy(scales, p->attr_scales, sizeof scales);
    } else if (p->in_scales >= 0) {
        EI_TRY(const_floats(g, n, p->in_scales, "scales", scales, EI_MAX_RANK, &n_scales));
    }
    if (p->in_sizes >= 0) EI_TRY(ei_op_const_ints(g, n, p->in_sizes, sizes, EI_MAX_RANK, &n_sizes));
    /* From opset 11 on, an empty tensor stands for an omitted input (roi and scales were not yet
     * optional in opsets 11-12). */
    if (p->in_sizes >= 0 && n_scales == 0) n_scales = -1;
    if (n_sizes == 0) n_sizes = -1;
    if (n_scales >= 0 && n_sizes >= 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "both scales and sizes are given; exactly one is allowed");
    if (n_scales < 0 && n_sizes < 0)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%s",
                              p->in_sizes >= 0 ? "neither scales nor sizes is given (or both are empty)"
                                               : "scales is missing or empty");
    const char * which = n_scales >= 0 ? "scales" : "sizes";
    int32_t      given = n_scales >= 0 ? n_scales : n_sizes;
    if (given != k)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%s has %d values; expected %d (%s)", which, given, k,
                              p->n_axes >= 0 ? "one per entry of attribute axes" : "the rank of X");

    ei_shape y = x->shape;
    for (int32_t d = 0; d < rank; d++) p->scale[d] = 1.0f;
    if (n_scales >= 0) {
        for (int32_t i = 0; i < k; i++) {
            float s = scales[i];
            if (!isfinite(s) || s <= 0.0f)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "scales[%d] is %g; scales must be positive", i,
                                      (double)s);
            if (p->is_upsample && s < 1.0f)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "scales[%d] is %g; %s scales must be >= 1", i,
                                      (double)s, opname);
            p->scale[axes[i]] = s;
        }
        for (int32_t d = 0; d < rank; d++) EI_TRY(extent_of(n, p->scale[d] * (float)x->shape.dim[d], d, &y.dim[d]));
    } else {
        for (int32_t i = 0; i < k; i++) {
            int32_t d = axes[i];
            if (sizes[i] < 0 || sizes[i] > EI_RESIZE_MAX_DIM)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "sizes[%d] is %lld; sizes must be positive", i,
                                      (long long)sizes[i]);
            if (x->shape.dim[d] == 0) {
                if (sizes[i] != 0)
                    return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                          "sizes[%d] is %lld but axis %d of X is empty; an empty axis cannot grow", i,
                                          (long long)sizes[i], d);
                continue;
            }
            if (sizes[i] == 0)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "sizes[%d] is 0; sizes must be positive", i);
            y.dim[d] = sizes[i];
            p->scale[d] = (float)sizes[i] / (float)x->shape.dim[d];
        }
        if (p->policy != EI_POLICY_STRETCH) {
            /* One scale for all listed axes, the smallest (not_larger) or largest (not_smaller). */
            float s = p->scale[axes[0]];
            for (int32_t i = 1; i < k; i++) {
                float t = p->scale[axes[i]];
                s = p->policy == EI_POLICY_NOT_LARGER ? (t < s ? t : s) : (t > s ? t : s);
            }
            for (int32_t i = 0; i < k; i++) {
                int32_t d = axes[i];
                p->scale[d] = s;
                EI_TRY(extent_of(n, roundf(s * (float)x->shape.dim[d]), d, &y.dim[d]));
            }
        }
    }

    if (p->antialias)
        for (int32_t d = 0; d < rank; d++)
            if (y.dim[d] != x->shape.dim[d] && 1.0f / p->scale[d] > (float)EI_RESIZE_MAX_AA_FACTOR)
                return ei_node_errorf(n, EI_CODE_UNSUPPORTED,
                                      "antialias downscaling of axis %d by a factor of %g is beyond the supported %d",
                                      d, 1.0 / (double)p->scale[d], EI_RESIZE_MAX_AA_FACTOR);

    for (int32_t d = 0; d < rank; d++) {
        p->roi_start[d] = 0.0f;
        p->roi_end[d] = 1.0f;
    }
    if (p->coord == EI_COORD_TF_CROP_AND_RESIZE && p->in_roi >= 0) {
        float   roi[2 * EI_MAX_RANK];
        int32_t n_roi;
        EI_TRY(const_floats(g, n, p->in_roi, "roi", roi, 2 * EI_MAX_RANK, &n_roi));
        if (n_roi > 0) {
            if (n_roi != 2 * k)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                      "roi has %d values; expected %d (start and end for each of %d axes)", n_roi,
                                      2 * k, k);
            for (int32_t i = 0; i < k; i++) {
                p->roi_start[axes[i]] = roi[i];
                p->roi_end[axes[i]] = roi[k + i];
            }
        }
    }

    ei_op_set_output(g, n, 0, x->dtype, &y);
    return NULL;
}
