/* Replaces a decomposed GELU, 0.5 * x * (1 + erf(x / sqrt 2)), that no Conv/Gemm/MatMul absorbed
 * (fuse_activation runs first) with one Gelu node (opset 20). */
#include <stdio.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

ei_status * ei_pass_match_gelu(ei_graph * g, int32_t * applied) {
    *applied = 0;
    int32_t n = g->n_nodes; /* nodes added by the pass are not visited */
    for (int32_t i = 0; i < n; i++) {
        ei_gelu_match m;
        if (!ei_pass_find_gelu(g, i, &m)) continue;
        char name[256];
        snprintf(name, sizeof name, "%s_gelu", g->nodes[i].name);
        for (int32_t k = 0; k < 5; k++) ei_graph_node_remove(g, m.nodes[k]);
        int32_t idx;
        EI_TRY(ei_graph_node_new(g, "Gelu", name, 20, &m.x, 1, &m.y, 1, &idx));
        EI_TRY(ei_node_reimport(&g->nodes[idx]));
        ++*applied;
    }
    return NULL;
}
