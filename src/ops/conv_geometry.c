#include "ops/conv_geometry.h"

#include <string.h>

/* Attribute values are capped so that extents like (kernel - 1) * dilation + 1 + pads cannot
 * overflow int64 whatever a hostile file holds. */
#define EI_WINDOW_ATTR_MAX ((int64_t)INT32_MAX)
/* Spatial sizes of real tensors are far below this; the cap keeps sums of sizes and pads exact. */
#define EI_WINDOW_DIM_MAX ((int64_t)1 << 60)

static ei_status * read_list(const ei_node * n, const char * name, int32_t max, int64_t lo, int64_t * vals,
                             int32_t * count) {
    const int64_t * v;
    EI_TRY(ei_attr_get_ints(n, name, &v, count));
    if (*count < 0) return NULL;
    if (*count > max)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute '%s' has %d values; at most %d are supported", name,
                              *count, max);
    for (int32_t i = 0; i < *count; i++) {
        if (v[i] < lo || v[i] > EI_WINDOW_ATTR_MAX)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute '%s'[%d] = %lld is out of range [%lld, %lld]",
                                  name, i, (long long)v[i], (long long)lo, (long long)EI_WINDOW_ATTR_MAX);
        vals[i] = v[i];
    }
    return NULL;
}

ei_status * ei_window_attrs_read(const ei_node * n, bool with_dilations, ei_window_attrs * a) {
    memset(a, 0, sizeof *a);
    EI_TRY(read_list(n, "kernel_shape", EI_MAX_SPATIAL, 1, a->kernel, &a->n_kernel));
    EI_TRY(read_list(n, "strides", EI_MAX_SPATIAL, 1, a->strides, &a->n_strides));
    EI_TRY(read_list(n, "pads", 2 * EI_MAX_SPATIAL, 0, a->pads, &a->n_pads));
    a->n_dilations = -1;
    if (with_dilations) EI_TRY(read_list(n, "dilations", EI_MAX_SPATIAL, 1, a->dilations, &a->n_dilations));
    const char * ap;
    EI_TRY(ei_attr_get_string(n, "auto_pad", "NOTSET", &ap));
    if (strcmp(ap, "NOTSET") == 0 || ap[0] == '\0') {
        a->auto_pad = EI_AUTO_PAD_NOTSET;
    } else if (strcmp(ap, "SAME_UPPER") == 0) {
        a->auto_pad = EI_AUTO_PAD_SAME_UPPER;
    } else if (strcmp(ap, "SAME_LOWER") == 0) {
        a->auto_pad = EI_AUTO_PAD_SAME_LOWER;
    } else if (strcmp(ap, "VALID") == 0) {
        a->auto_pad = EI_AUTO_PAD_VALID;
    } else {
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                              "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
    }
    return NULL;
}

ei_status * ei_window_setup(const ei_node * n, const ei_window_attrs * a, int32_t nsp, const int64_t * in,
                            const int64_t * kernel, ei_window_geom * g) {
    memset(g, 0, sizeof *g);
    if (nsp < 1 || nsp > EI_MAX_SPATIAL)
        return ei_node_errorf(n, EI_CODE_UNSUPPORTED, "%d spatial axes; 1 to %d are supported", nsp, EI_MAX_SPATIAL);
    g->nsp = nsp;
    if (a->n_kernel >= 0 && a->n_kernel != nsp)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "kernel_shape has %d values for %d spatial axes", a->n_kernel,
                              nsp);
    if (a->n_strides >= 0 && a->n_strides != nsp)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "strides has %d values for %d spatial axes", a->n_strides, nsp);
    if (a->n_dilations >= 0 && a->n_dilations != nsp)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "dilations has %d values for %d spatial axes", a->n_dilations,
                              nsp);
    if (a->n_pads >= 0 && a->n_pads != 2 * nsp)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "pads has %d values; %d spatial axes need %d", a->n_pads, nsp,
                              2 * nsp);
    if (a->n_kernel < 0 && !kernel)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute 'kernel_shape' is required");
    for (int32_t i = 0; i < nsp; i++) {
        if (in[i] < 0 || in[i] > EI_WINDOW_DIM_MAX)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "spatial size %lld is out of range", (long long)in[i]);
        g->in[i] = in[i];
        if (kernel) {
            if (kernel[i] < 1 || kernel[i] > EI_WINDOW_ATTR_MAX)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                      "weight kernel size %lld on spatial axis %d is out of "
                                      "range",
                                      (long long)kernel[i], i);
            if (a->n_kernel >= 0 && a->kernel[i] != kernel[i])
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                      "kernel_shape[%d] = %lld does not match the weight's kernel size %lld", i,
                                      (long long)a->kernel[i], (long long)kernel[i]);
            g->kernel[i] = kernel[i];
        } else {
            g->kernel[i] = a->kernel[i];
        }
        g->stride[i] = a->n_strides >= 0 ? a->strides[i] : 1;
        g->dilation[i] = a->n_dilations >= 0 ? a->dilations[i] : 1;
        g->pad_begin[i] = a->n_pads >= 0 ? a->pads[i] : 0;
        g->pad_end[i] = a->n_pads >= 0 ? a->pads[nsp + i] : 0;
    }
    return NULL;
}

ei_status * ei_window_resolve(const ei_node * n, const ei_window_attrs * a, ei_window_kind kind, int32_t nsp,
                              const int64_t * in, const int64_t * kernel, ei_window_geom * g) {
    EI_TRY(ei_window_setup(n, a, nsp, in, kernel, g));
    for (int32_t i = 0; i < nsp; i++) {
        int64_t s = g->stride[i], ext = (g->kernel[i] - 1) * g->dilation[i] + 1;
        bool    same = a->auto_pad == EI_AUTO_PAD_SAME_UPPER || a->auto_pad == EI_AUTO_PAD_SAME_LOWER;
        if (same) {
            /* ceil(in / stride) windows; the missing extent is padded, the odd element going to the
             * end (UPPER) or the beginning (LOWER). Pooling sizes the padding with the undilated
             * kernel and then applies its usual output rule, as ORT does (same result without
             * dilations). */
            int64_t want = ei_ceil_div(g->in[i], s);
            int64_t need = (want - 1) * s + (kind == EI_WINDOW_CONV ? ext : g->kernel[i]) - g->in[i];
            if (need < 0) need = 0;
            g->pad_begin[i] = a->auto_pad == EI_AUTO_PAD_SAME_UPPER ? need / 2 : need - need / 2;
            g->pad_end[i] = need - g->pad_begin[i];
            g->out[i] = want;
        } else if (a->auto_pad == EI_AUTO_PAD_VALID) {
            g->pad_begin[i] = g->pad_end[i] = 0;
        }
        if (!same || kind != EI_WINDOW_CONV) {
            int64_t span = g->in[i] + g->pad_begin[i] + g->pad_end[i] - ext;
            if (span < 0)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                      "on spatial axis %d the window extent %lld exceeds the padded input size %lld", i,
                                      (long long)ext, (long long)(g->in[i] + g->pad_begin[i] + g->pad_end[i]));
            if (kind == EI_WINDOW_POOL_CEIL) {
                g->out[i] = ei_ceil_div(span, s) + 1;
                /* ONNX and ORT drop a last window that would start in the end padding. */
                if ((g->out[i] - 1) * s >= g->in[i] + g->pad_begin[i]) g->out[i]--;
            } else {
                g->out[i] = span / s + 1;
            }
        }
        if (g->out[i] < 1)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "output size on spatial axis %d would be %lld", i,
                                  (long long)g->out[i]);
    }
    return NULL;
}

int64_t ei_dims_product(const int64_t * d, int32_t n) {
    int64_t p = 1;
    for (int32_t i = 0; i < n; i++) p *= d[i];
    return p;
}
