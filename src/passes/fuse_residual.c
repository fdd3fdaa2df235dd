/* Fuses the residual Add of a residual block into the Conv before it: Conv -> Add(y, r) [-> Relu]
 * becomes one Conv with ei.residual = 1 and r as its last input (index 3, after the optional bias),
 * computing act(conv(x) + r). */
#include <string.h>

#include "ir/graph_edit.h"
#include "ops/fused.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

ei_status * ei_pass_fuse_residual(ei_graph * g, int32_t * applied) {
    *applied = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!ei_pass_is_op(n, "Conv") || n->n_outputs != 1 || n->outputs[0] < 0 || n->n_inputs > 3) continue;
        if (ei_node_attr(n, "ei.activation") || ei_node_attr(n, "ei.residual")) continue;
        int32_t y = n->outputs[0];
        int32_t a = ei_pass_sole_consumer_of(g, y, "Add");
        if (a < 0) continue;
        int32_t r = ei_pass_other_input(&g->nodes[a], y);
        if (r < 0) continue;
        const ei_value *yv = &g->values[y], *rv = &g->values[r];
        if (yv->dtype != EI_DTYPE_F32 || rv->dtype != EI_DTYPE_F32 || !ei_shape_equal(&yv->shape, &rv->shape)) continue;
        ei_fused f;
        int32_t  out = g->nodes[a].outputs[0], act = -1;
        int32_t  c = ei_graph_single_consumer(g, out);
        if (c >= 0 && g->nodes[c].inputs[0] == out && ei_pass_single_activation(g, &g->nodes[c], &f)) {
            act = c;
            out = g->nodes[c].outputs[0];
        } else {
            memset(&f, 0, sizeof f);
        }
        f.residual = true;
        ei_node * cn = &g->nodes[i];
        EI_TRY(ei_node_set_input(cn, 3, r));
        EI_TRY(ei_fused_set(cn, &f));
        EI_TRY(ei_node_reimport(cn));
        ei_graph_node_remove(g, a);
        if (act >= 0) ei_graph_node_remove(g, act);
        ei_pass_retarget_output(g, i, out);
        ++*applied;
    }
    return NULL;
}
