#include "ir/graph_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

bool ei_node_is_removed(const ei_node * n) { return n->def == NULL; }

int32_t ei_graph_consumers(const ei_graph * g, int32_t v, int32_t * nodes, int32_t max) {
    int32_t count = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == v) {
                if (count < max) nodes[count] = i;
                count++;
                break;
            }
    }
    return count;
}

int32_t ei_graph_use_count(const ei_graph * g, int32_t v) {
    int32_t count = (g->values[v].flags & EI_VALUE_GRAPH_OUTPUT) ? 1 : 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == v) count++;
    return count;
}

int32_t ei_graph_single_consumer(const ei_graph * g, int32_t v) {
    if (v < 0 || ei_graph_use_count(g, v) != 1) return -1;
    int32_t node;
    return ei_graph_consumers(g, v, &node, 1) == 1 ? node : -1;
}

int32_t ei_graph_live_producer(const ei_graph * g, int32_t v) {
    if (v < 0) return -1;
    int32_t p = g->values[v].producer;
    if (p < 0 || ei_node_is_removed(&g->nodes[p]) || g->nodes[p].folded) return -1;
    return p;
}

void ei_graph_replace_uses(ei_graph * g, int32_t from, int32_t to) {
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == from) g->nodes[i].inputs[k] = to;
}

void ei_graph_node_remove(ei_graph * g, int32_t idx) {
    ei_node * n = &g->nodes[idx];
    for (int32_t k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0 && g->values[n->outputs[k]].producer == idx) g->values[n->outputs[k]].producer = -1;
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->inputs);
    free(n->outputs);
    for (int32_t k = 0; k < n->n_attrs; k++) {
        ei_attr * a = &n->attrs[k];
        free(a->name);
        free(a->s);
        free(a->ints);
        free(a->floats);
        for (int32_t j = 0; a->strings && j < a->n; j++) free(a->strings[j]);
        free(a->strings);
        ei_tensor_destroy(a->t);
    }
    free(n->attrs);
    free(n->params);
    memset(n, 0, sizeof *n);
}

ei_status * ei_graph_value_add_unique(ei_graph * g, const char * base, int32_t * id) {
    char name[256];
    snprintf(name, sizeof name, "%s", base);
    for (int32_t i = 1; ei_graph_value_find(g, name) >= 0; i++) snprintf(name, sizeof name, "%s_%d", base, i);
    return ei_graph_value_add(g, name, id);
}

ei_status * ei_graph_constant_add(ei_graph * g, const char * base, ei_tensor * t, int32_t * id) {
    ei_status * st = ei_graph_value_add_unique(g, base, id);
    if (st) {
        ei_tensor_destroy(t);
        return st;
    }
    ei_value * v = &g->values[*id];
    v->constant = t;
    v->dtype = t->dtype;
    v->shape = t->shape;
    v->shape_known = true;
    v->flags |= EI_VALUE_INITIALIZER;
    return NULL;
}

static ei_status * dup_ids(const int32_t * src, int32_t n, int32_t ** out) {
    *out = malloc(((size_t)n + 1) * sizeof **out);
    if (!*out) return ei_status_oom();
    if (n) memcpy(*out, src, (size_t)n * sizeof **out);
    return NULL;
}

ei_status * ei_graph_node_new(ei_graph * g, const char * op_type, const char * name, int64_t opset,
                              const int32_t * inputs, int32_t n_inputs, const int32_t * outputs, int32_t n_outputs,
                              int32_t * idx) {
    const ei_op_def * def = ei_op_find("", op_type);
    if (!def) return ei_errorf(EI_CODE_INTERNAL, "graph pass: no operator '%s'", op_type);
    ei_node * n;
    EI_TRY(ei_graph_node_add(g, &n));
    *idx = g->n_nodes - 1;
    n->def = def;
    n->opset = opset;
    n->name = strdup(name);
    n->op_type = strdup(op_type);
    n->domain = strdup("");
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    if (!n->name || !n->op_type || !n->domain) return ei_status_oom();
    EI_TRY(dup_ids(inputs, n_inputs, &n->inputs));
    EI_TRY(dup_ids(outputs, n_outputs, &n->outputs));
    for (int32_t k = 0; k < n_outputs; k++)
        if (outputs[k] >= 0) g->values[outputs[k]].producer = *idx;
    return NULL;
}

static ei_status * attr_slot(ei_node * n, const char * name, ei_attr ** out) {
    for (int32_t k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, name)) {
            *out = &n->attrs[k];
            return NULL;
        }
    ei_attr * grown = realloc(n->attrs, ((size_t)n->n_attrs + 1) * sizeof *grown);
    if (!grown) return ei_status_oom();
    n->attrs = grown;
    ei_attr * a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    if (!a->name) return ei_status_oom();
    n->n_attrs++;
    *out = a;
    return NULL;
}

ei_status * ei_node_set_attr_int(ei_node * n, const char * name, int64_t v) {
    ei_attr * a;
    EI_TRY(attr_slot(n, name, &a));
    if (a->type != EI_ATTR_INT && a->type != EI_ATTR_UNDEFINED)
        return ei_node_errorf(n, EI_CODE_INTERNAL, "attribute '%s' changes type", name);
    a->type = EI_ATTR_INT;
    a->i = v;
    return NULL;
}

ei_status * ei_node_set_attr_float(ei_node * n, const char * name, float v) {
    ei_attr * a;
    EI_TRY(attr_slot(n, name, &a));
    if (a->type != EI_ATTR_FLOAT && a->type != EI_ATTR_UNDEFINED)
        return ei_node_errorf(n, EI_CODE_INTERNAL, "attribute '%s' changes type", name);
    a->type = EI_ATTR_FLOAT;
    a->f = v;
    return NULL;
}

ei_status * ei_node_set_attr_ints(ei_node * n, const char * name, const int64_t * v, int32_t count) {
    ei_attr * a;
    EI_TRY(attr_slot(n, name, &a));
    if (a->type != EI_ATTR_INTS && a->type != EI_ATTR_UNDEFINED)
        return ei_node_errorf(n, EI_CODE_INTERNAL, "attribute '%s' changes type", name);
    int64_t * copy = malloc(((size_t)count + 1) * sizeof *copy);
    if (!copy) return ei_status_oom();
    if (count) memcpy(copy, v, (size_t)count * sizeof *copy);
    free(a->ints);
    a->type = EI_ATTR_INTS;
    a->ints = copy;
    a->n = count;
    return NULL;
}

ei_status * ei_node_set_attr_string(ei_node * n, const char * name, const char * v) {
    ei_attr * a;
    EI_TRY(attr_slot(n, name, &a));
    if (a->type != EI_ATTR_STRING && a->type != EI_ATTR_UNDEFINED)
        return ei_node_errorf(n, EI_CODE_INTERNAL, "attribute '%s' changes type", name);
    char * copy = strdup(v);
    if (!copy) return ei_status_oom();
    free(a->s);
    a->type = EI_ATTR_STRING;
    a->s = copy;
    return NULL;
}

ei_status * ei_node_set_op(ei_node * n, const char * op_type) {
    const ei_op_def * def = ei_op_find("", op_type);
    if (!def) return ei_errorf(EI_CODE_INTERNAL, "graph pass: no operator '%s'", op_type);
    char * copy = strdup(op_type);
    if (!copy) return ei_status_oom();
    free(n->op_type);
    n->op_type = copy;
    n->def = def;
    return NULL;
}

ei_status * ei_node_reimport(ei_node * n) {
    if (!n->def->import) return NULL;
    return n->def->import(n);
}

ei_status * ei_node_set_input(ei_node * n, int32_t k, int32_t v) {
    if (k >= n->n_inputs) {
        int32_t * grown = realloc(n->inputs, ((size_t)k + 1) * sizeof *grown);
        if (!grown) return ei_status_oom();
        n->inputs = grown;
        for (int32_t j = n->n_inputs; j < k; j++) n->inputs[j] = -1;
        n->n_inputs = k + 1;
    }
    n->inputs[k] = v;
    return NULL;
}

ei_status * ei_graph_compact(ei_graph * g) {
    int32_t * remap = malloc(((size_t)g->n_nodes + 1) * sizeof *remap);
    if (!remap) return ei_status_oom();
    int32_t kept = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (ei_node_is_removed(&g->nodes[i])) {
            remap[i] = -1;
            continue;
        }
        remap[i] = kept;
        if (kept != i) g->nodes[kept] = g->nodes[i];
        kept++;
    }
    g->n_nodes = kept;
    for (int32_t v = 0; v < g->n_values; v++)
        if (g->values[v].producer >= 0) g->values[v].producer = remap[g->values[v].producer];
    free(remap);
    return ei_graph_sort(g);
}

ei_status * ei_graph_reinfer(ei_graph * g) {
    for (int32_t oi = 0; oi < g->n_nodes; oi++) {
        ei_node * n = &g->nodes[g->order[oi]];
        if (n->folded) continue;
        for (int32_t k = 0; k < n->n_outputs; k++) {
            ei_value * v = ei_node_output(g, n, k);
            if (v && !v->constant) v->shape_known = false;
        }
    }
    for (int32_t oi = 0; oi < g->n_nodes; oi++) {
        ei_node * n = &g->nodes[g->order[oi]];
        if (n->folded) continue;
        for (int32_t k = 0; k < n->n_inputs; k++) {
            const ei_value * v = ei_node_input(g, n, k);
            if (v && (!v->shape_known || v->dtype == EI_DTYPE_UNDEFINED))
                return ei_node_errorf(n, EI_CODE_INTERNAL, "after graph optimisation, input %d ('%s') has no shape", k,
                                      v->name);
        }
        EI_TRY(n->def->infer(g, n));
        for (int32_t k = 0; k < n->n_outputs; k++) {
            const ei_value * v = ei_node_output(g, n, k);
            if (v && !v->shape_known)
                return ei_node_errorf(n, EI_CODE_INTERNAL, "after graph optimisation, output %d has no shape", k);
        }
    }
    return NULL;
}
