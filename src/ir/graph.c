#include "ir/graph.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

ei_status * ei_graph_create(ei_graph ** out) {
    *out = calloc(1, sizeof **out);
    return *out ? NULL : ei_status_oom();
}

static void attr_free(ei_attr * a) {
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    for (int32_t i = 0; a->strings && i < a->n; i++) free(a->strings[i]);
    free(a->strings);
    ei_tensor_destroy(a->t);
}

void ei_graph_destroy(ei_graph * g) {
    if (!g) return;
    for (int32_t i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        ei_tensor_destroy(g->values[i].constant);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ei_node * n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->inputs);
        free(n->outputs);
        for (int32_t k = 0; k < n->n_attrs; k++) attr_free(&n->attrs[k]);
        free(n->attrs);
        free(n->params);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->order);
    free(g);
}

int32_t ei_graph_value_find(const ei_graph * g, const char * name) {
    /* Linear scan is fine at import sizes (hundreds to a few thousand values); the importer keeps
     * its own hash map for the hot path. */
    for (int32_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

ei_status * ei_graph_value_add(ei_graph * g, const char * name, int32_t * id) {
    if (g->n_values == g->cap_values) {
        int32_t    cap = g->cap_values ? g->cap_values * 2 : 64;
        ei_value * v = realloc(g->values, (size_t)cap * sizeof *v);
        if (!v) return ei_status_oom();
        g->values = v;
        g->cap_values = cap;
    }
    ei_value * v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = strdup(name);
    if (!v->name) return ei_status_oom();
    v->producer = -1;
    *id = g->n_values++;
    return NULL;
}

ei_status * ei_graph_value_get_or_add(ei_graph * g, const char * name, int32_t * id) {
    int32_t i = ei_graph_value_find(g, name);
    if (i >= 0) {
        *id = i;
        return NULL;
    }
    return ei_graph_value_add(g, name, id);
}

ei_status * ei_graph_node_add(ei_graph * g, ei_node ** out) {
    if (g->n_nodes == g->cap_nodes) {
        int32_t   cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        ei_node * n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n) return ei_status_oom();
        g->nodes = n;
        g->cap_nodes = cap;
    }
    *out = &g->nodes[g->n_nodes++];
    memset(*out, 0, sizeof **out);
    return NULL;
}

/* Kahn's algorithm; ties keep file order so that execution order is stable and readable. */
ei_status * ei_graph_sort(ei_graph * g) {
    int32_t   n = g->n_nodes;
    int32_t * indeg = calloc((size_t)n + 1, sizeof *indeg);
    int32_t * order = malloc(((size_t)n + 1) * sizeof *order);
    /* consumers lists in CSR form */
    int32_t * cstart = calloc((size_t)g->n_values + 1, sizeof *cstart);
    int32_t   total = 0;
    for (int32_t i = 0; i < n; i++) total += g->nodes[i].n_inputs;
    int32_t * cons = malloc(((size_t)total + 1) * sizeof *cons);
    int32_t * fill = calloc((size_t)g->n_values + 1, sizeof *fill);
    if (!indeg || !order || !cstart || !cons || !fill) {
        free(indeg), free(order), free(cstart), free(cons), free(fill);
        return ei_status_oom();
    }
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < g->nodes[i].n_inputs; k++) {
            int32_t v = g->nodes[i].inputs[k];
            if (v >= 0 && g->values[v].producer >= 0) {
                cstart[v + 1]++;
                indeg[i]++;
            }
        }
    for (int32_t v = 0; v < g->n_values; v++) cstart[v + 1] += cstart[v];
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < g->nodes[i].n_inputs; k++) {
            int32_t v = g->nodes[i].inputs[k];
            if (v >= 0 && g->values[v].producer >= 0) cons[cstart[v] + fill[v]++] = i;
        }
    /* A min-ordered ready list: simple O(n^2) worst case avoided by scanning a cursor. */
    int32_t head = 0, tail = 0;
    for (int32_t i = 0; i < n; i++)
        if (indeg[i] == 0) order[tail++] = i;
    while (head < tail) {
        const ei_node * nd = &g->nodes[order[head++]];
        for (int32_t k = 0; k < nd->n_outputs; k++) {
            int32_t v = nd->outputs[k];
            if (v < 0) continue;
            for (int32_t c = cstart[v]; c < cstart[v + 1]; c++)
                if (--indeg[cons[c]] == 0) order[tail++] = cons[c];
        }
    }
    ei_status * st = NULL;
    if (tail != n) {
        for (int32_t i = 0; i < n; i++)
            if (indeg[i] > 0) {
                st = ei_node_errorf(&g->nodes[i], EI_CODE_INVALID_MODEL,
                                    "the graph has a cycle through this node (%d of %d nodes cannot be ordered)",
                                    n - tail, n);
                break;
            }
        free(order);
    } else {
        free(g->order);
        g->order = order;
    }
    free(indeg), free(cstart), free(cons), free(fill);
    return st;
}

const ei_value * ei_node_input(const ei_graph * g, const ei_node * n, int32_t k) {
    if (k < 0 || k >= n->n_inputs || n->inputs[k] < 0) return NULL;
    return &g->values[n->inputs[k]];
}

ei_value * ei_node_output(ei_graph * g, const ei_node * n, int32_t k) {
    if (k < 0 || k >= n->n_outputs || n->outputs[k] < 0) return NULL;
    return &g->values[n->outputs[k]];
}

const ei_tensor * ei_node_input_const(const ei_graph * g, const ei_node * n, int32_t k) {
    const ei_value * v = ei_node_input(g, n, k);
    return v ? v->constant : NULL;
}

ei_status * ei_node_errorf(const ei_node * n, ei_code code, const char * fmt, ...) {
    char    msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ei_errorf(code, "node '%s' (%s): %s", n->name ? n->name : "?", n->op_type ? n->op_type : "?", msg);
}

const ei_attr * ei_node_attr(const ei_node * n, const char * name) {
    for (int32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static ei_status * attr_type_error(const ei_node * n, const ei_attr * a, const char * want) {
    return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "attribute '%s' should be %s", a->name, want);
}

ei_status * ei_attr_get_int(const ei_node * n, const char * name, int64_t def, int64_t * out) {
    const ei_attr * a = ei_node_attr(n, name);
    *out = def;
    if (!a) return NULL;
    if (a->type != EI_ATTR_INT) return attr_type_error(n, a, "an int");
    *out = a->i;
    return NULL;
}

ei_status * ei_attr_get_float(const ei_node * n, const char * name, float def, float * out) {
    const ei_attr * a = ei_node_attr(n, name);
    *out = def;
    if (!a) return NULL;
    if (a->type == EI_ATTR_INT) { /* some exporters write integral floats as ints */
        *out = (float)a->i;
        return NULL;
    }
    if (a->type != EI_ATTR_FLOAT) return attr_type_error(n, a, "a float");
    *out = a->f;
    return NULL;
}

ei_status * ei_attr_get_string(const ei_node * n, const char * name, const char * def, const char ** out) {
    const ei_attr * a = ei_node_attr(n, name);
    *out = def;
    if (!a) return NULL;
    if (a->type != EI_ATTR_STRING) return attr_type_error(n, a, "a string");
    *out = a->s;
    return NULL;
}

ei_status * ei_attr_get_ints(const ei_node * n, const char * name, const int64_t ** out, int32_t * count) {
    const ei_attr * a = ei_node_attr(n, name);
    *out = NULL;
    *count = -1;
    if (!a) return NULL;
    if (a->type != EI_ATTR_INTS) return attr_type_error(n, a, "a list of ints");
    *out = a->ints;
    *count = a->n;
    return NULL;
}

ei_status * ei_attr_get_floats(const ei_node * n, const char * name, const float ** out, int32_t * count) {
    const ei_attr * a = ei_node_attr(n, name);
    *out = NULL;
    *count = -1;
    if (!a) return NULL;
    if (a->type != EI_ATTR_FLOATS) return attr_type_error(n, a, "a list of floats");
    *out = a->floats;
    *count = a->n;
    return NULL;
}
