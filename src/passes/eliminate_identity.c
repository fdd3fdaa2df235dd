/* Removes nodes that compute nothing at inference: Identity, Dropout, Reshape-like nodes whose
 * output shape equals the input shape, Cast to the input's dtype, and a Transpose followed by its
 * inverse. */
#include <string.h>

#include "ir/graph_edit.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

static bool is_noop(const ei_graph * g, const ei_node * n) {
    if (n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs < 1 || n->outputs[0] < 0) return false;
    const ei_value * x = &g->values[n->inputs[0]];
    const ei_value * y = &g->values[n->outputs[0]];
    if (!strcmp(n->op_type, "Identity")) return true;
    if (!strcmp(n->op_type, "Dropout")) /* the mask output, when present, must be unused */
        return n->n_outputs < 2 || n->outputs[1] < 0 || ei_graph_use_count(g, n->outputs[1]) == 0;
    if (!strcmp(n->op_type, "Reshape") || !strcmp(n->op_type, "Flatten") || !strcmp(n->op_type, "Squeeze") ||
        !strcmp(n->op_type, "Unsqueeze"))
        return x->dtype == y->dtype && ei_shape_equal(&x->shape, &y->shape);
    if (!strcmp(n->op_type, "Cast")) return x->dtype == y->dtype;
    return false;
}

static void transpose_perm(const ei_node * n, int32_t rank, int64_t * perm) {
    const int64_t * p;
    int32_t         count;
    ei_status *     st = ei_attr_get_ints(n, "perm", &p, &count);
    ei_status_destroy(st);
    for (int32_t i = 0; i < rank; i++) perm[i] = (!st && count == rank) ? p[i] : rank - 1 - i;
}

/* T2(T1(x)) == x when T1's output is read only by T2 and the permutations compose to identity. */
static bool inverse_pair(const ei_graph * g, int32_t t1, int32_t * t2_out) {
    const ei_node * a = &g->nodes[t1];
    if (!ei_pass_is_op(a, "Transpose") || a->inputs[0] < 0) return false;
    int32_t t2 = ei_pass_sole_consumer_of(g, a->outputs[0], "Transpose");
    if (t2 < 0) return false;
    int32_t rank = g->values[a->inputs[0]].shape.rank;
    int64_t p[EI_MAX_RANK], q[EI_MAX_RANK];
    transpose_perm(a, rank, p);
    transpose_perm(&g->nodes[t2], rank, q);
    for (int32_t i = 0; i < rank; i++)
        if (q[i] < 0 || q[i] >= rank || p[q[i]] != i) return false;
    *t2_out = t2;
    return true;
}

ei_status * ei_pass_eliminate_identity(ei_graph * g, int32_t * applied) {
    *applied = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ei_node * n = &g->nodes[i];
        if (ei_node_is_removed(n) || n->folded || n->domain[0]) continue;
        if (is_noop(g, n)) {
            if (ei_pass_bypass(g, i, n->inputs[0], n->outputs[0])) ++*applied;
            continue;
        }
        int32_t t2;
        if (inverse_pair(g, i, &t2)) {
            int32_t x = n->inputs[0], y = g->nodes[t2].outputs[0];
            if (ei_pass_bypass(g, t2, x, y)) {
                ei_graph_node_remove(g, i); /* its output had no reader but T2 */
                *applied += 2;
            }
        }
    }
    return NULL;
}
