#include "ops/shape_common.h"

#include <stdlib.h>
#include <string.h>

ei_status * ei_shp_axes(const ei_node * n, const char * what, const int64_t * axes, int32_t count, int32_t rank,
                        int32_t * out) {
    bool seen[EI_MAX_RANK] = {false};
    if (count > rank)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%s has %d entries but the rank is %d", what, count, rank);
    for (int32_t i = 0; i < count; i++) {
        int64_t a = axes[i];
        if (a < -(int64_t)rank || a >= rank)
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%s[%d] = %lld is out of range for rank %d", what, i,
                                  (long long)a, rank);
        int32_t k = (int32_t)(a < 0 ? a + rank : a);
        if (seen[k]) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "%s names axis %d more than once", what, k);
        seen[k] = true;
        out[i] = k;
    }
    return NULL;
}

ei_status * ei_shp_ints(const ei_graph * g, const ei_node * n, const char * attr, int32_t input, int64_t input_since,
                        int64_t * vals, int32_t * count) {
    *count = -1;
    if (n->opset >= input_since) return ei_op_const_ints(g, n, input, vals, EI_SHP_MAX_INTS, count);
    const int64_t * a;
    int32_t         c;
    EI_TRY(ei_attr_get_ints(n, attr, &a, &c));
    if (c > EI_SHP_MAX_INTS)
        return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute '%s' has %d values; at most %d are allowed", attr, c,
                              EI_SHP_MAX_INTS);
    if (c > 0) memcpy(vals, a, (size_t)c * sizeof *vals);
    *count = c;
    return NULL;
}

ei_status * ei_shp_params(ei_node * n, size_t size, void ** out) {
    free(n->params);
    n->params = calloc(1, size);
    *out = n->params;
    return n->params ? NULL : ei_status_oom();
}
