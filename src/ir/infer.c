/* Shape and dtype inference in topological order, with constant folding interleaved: a node whose
 * inputs are all known at load time is run once here, so that chains like Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape become plain constants before any shape depends on them. */
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

/* Larger constant results are left to run time rather than kept in memory twice. */
#define EI_FOLD_MAX_BYTES ((size_t)256 << 20)

static ei_status * fold_node(ei_graph * g, ei_node * n) {
    const ei_tensor * in[64];
    ei_tensor *       out[64];
    if (n->n_inputs > 64 || n->n_outputs > 64) return NULL;
    for (int32_t k = 0; k < n->n_inputs; k++) in[k] = ei_node_input_const(g, n, k);
    memset(out, 0, sizeof out);
    size_t total = 0;
    for (int32_t k = 0; k < n->n_outputs; k++) {
        ei_value * v = ei_node_output(g, n, k);
        if (!v) continue;
        size_t      nb;
        ei_status * st = ei_shape_nbytes_checked(&v->shape, v->dtype, EI_FOLD_MAX_BYTES, &nb);
        if (st || (total += nb) > EI_FOLD_MAX_BYTES) {
            ei_status_destroy(st);
            for (int32_t j = 0; j < k; j++) ei_tensor_destroy(out[j]);
            return NULL; /* too big to fold: computed at run time instead */
        }
        st = ei_tensor_create(v->dtype, &v->shape, &out[k]);
        if (st) {
            for (int32_t j = 0; j < k; j++) ei_tensor_destroy(out[j]);
            return st;
        }
    }
    ei_exec     ex = {.pool = NULL};
    ei_status * st = n->def->run(n, in, out, &ex); /* reference kernels: exact and need no preparation */
    if (st) {
        for (int32_t k = 0; k < n->n_outputs; k++) ei_tensor_destroy(out[k]);
        return ei_status_wrapf(st, "node '%s' (%s) while folding constants", n->name, n->op_type);
    }
    for (int32_t k = 0; k < n->n_outputs; k++) {
        ei_value * v = ei_node_output(g, n, k);
        if (v) v->constant = out[k];
    }
    n->folded = true;
    return NULL;
}

ei_status * ei_graph_infer(ei_graph * g, bool fold_constants) {
    for (int32_t oi = 0; oi < g->n_nodes; oi++) {
        ei_node * n = &g->nodes[g->order[oi]];
        bool      all_const = true;
        for (int32_t k = 0; k < n->n_inputs; k++) {
            const ei_value * v = ei_node_input(g, n, k);
            if (!v) continue;
            if (!v->shape_known || v->dtype == EI_DTYPE_UNDEFINED)
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "input %d ('%s') has no known type or shape", k,
                                      v->name);
            if (!v->constant) all_const = false;
        }
        EI_TRY(n->def->infer(g, n));
        bool outs_const = true;
        for (int32_t k = 0; k < n->n_outputs; k++) {
            ei_value * v = ei_node_output(g, n, k);
            if (!v) continue;
            if (!v->shape_known || v->dtype == EI_DTYPE_UNDEFINED)
                return ei_node_errorf(n, EI_CODE_INTERNAL, "shape inference left output %d ('%s') unknown", k, v->name);
            for (int32_t d = 0; d < v->shape.rank; d++)
                if (v->shape.dim[d] < 0)
                    return ei_node_errorf(n, EI_CODE_INTERNAL, "shape inference gave output %d a negative dimension",
                                          k);
            if (!v->constant) outs_const = false;
        }
        if (outs_const) {
            n->folded = true; /* infer computed the outputs itself (e.g. Shape) */
        } else if (fold_constants && all_const) {
            EI_TRY(fold_node(g, n));
        }
    }
    return NULL;
}
