#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_map.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_pb.h"
#include "ops/op.h"
#include "passes/pass_manager.h"
#include "runtime/model_internal.h"

ei_model_options ei_model_options_default(void) {
    ei_model_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.fold_constants = true;
    o.optimization_level = 2;
    return o;
}

void ei_model_destroy(ei_model * m) {
    if (!m) return;
    ei_graph_destroy(m->g);
    ei_mapped_files_destroy(m->external);
    ei_file_unmap(m->file_map, m->file_size);
    free(m->mem_copy);
    free(m->producer_name);
    free(m->producer_version);
    for (int i = 0; i < 16; i++) free(m->opset_domains[i]);
    for (int32_t i = 0; i < m->n_op_types; i++) free(m->op_type_names[i]);
    free(m->op_type_names);
    free(m->op_type_nodes);
    free(m->build.input_shapes);
    free(m);
}

static ei_status * summarize_graph(ei_model * m, int32_t file_nodes);

static ei_status * build_summary(ei_model * m, const ei_onnx_model * om, int32_t file_nodes) {
    ei_model_summary * s = &m->summary;
    s->ir_version = om->ir_version;
    m->producer_name = ei_pb_strdup(om->producer_name);
    m->producer_version = ei_pb_strdup(om->producer_version);
    if (!m->producer_name || !m->producer_version) return ei_status_oom();
    s->producer_name = m->producer_name;
    s->producer_version = m->producer_version;
    for (int32_t i = 0; i < om->n_opsets && s->opset_count < 16; i++) {
        m->opset_domains[s->opset_count] = ei_pb_strdup(om->opsets[i].domain);
        if (!m->opset_domains[s->opset_count]) return ei_status_oom();
        s->opset_domain[s->opset_count] = m->opset_domains[s->opset_count];
        s->opset_version[s->opset_count] = om->opsets[i].version;
        s->opset_count++;
    }
    return summarize_graph(m, file_nodes);
}

/* The summary's graph facts: node counts, operator histogram, parameters, MACs. */
static ei_status * summarize_graph(ei_model * m, int32_t file_nodes) {
    ei_model_summary * s = &m->summary;
    const ei_graph *   g = m->g;
    s->node_count = file_nodes;
    m->op_type_names = calloc((size_t)g->n_nodes + 1, sizeof(char *));
    m->op_type_nodes = calloc((size_t)g->n_nodes + 1, sizeof(int32_t));
    if (!m->op_type_names || !m->op_type_nodes) return ei_status_oom();
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (n->folded)
            s->folded_node_count++;
        else if (n->def->macs)
            s->macs += n->def->macs(g, n);
        int32_t t = 0;
        while (t < m->n_op_types && strcmp(m->op_type_names[t], n->op_type) != 0) t++;
        if (t == m->n_op_types) {
            m->op_type_names[t] = strdup(n->op_type);
            if (!m->op_type_names[t]) return ei_status_oom();
            m->n_op_types++;
        }
        m->op_type_nodes[t]++;
    }
    /* Parameters: initializers plus tensors held by Constant nodes. */
    for (int32_t i = 0; i < g->n_values; i++)
        if ((g->values[i].flags & EI_VALUE_INITIALIZER) && g->values[i].constant)
            s->param_count += ei_shape_numel(&g->values[i].constant->shape);
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].op_type, "Constant") == 0 && g->nodes[i].n_outputs == 1 && g->nodes[i].outputs[0] >= 0) {
            const ei_value * v = &g->values[g->nodes[i].outputs[0]];
            s->param_count += ei_shape_numel(&v->shape);
        }
    return NULL;
}

static ei_status * load_parsed(ei_model * m, const uint8_t * data, size_t size, const char * base_dir,
                               const ei_model_options * opt) {
    ei_model_options defaults = ei_model_options_default();
    if (!opt) opt = &defaults;
    ei_onnx_model * om = NULL;
    ei_status *     pst = ei_onnx_parse_model(data, size, &om);
    if (pst) return ei_status_wrapf(pst, "not a valid ONNX model");
    ei_status * st = ei_mapped_files_create(base_dir, &m->external);
    if (!st) st = ei_onnx_import(om, m->external, true, opt, &m->g);
    int32_t       file_nodes = m->g ? m->g->n_nodes : 0;
    ei_pass_stats ps;
    /* Older callers' option structs end before optimization_level: they get the default. */
    int32_t level = opt->size >= offsetof(ei_model_options, optimization_level) + sizeof(int32_t)
                        ? opt->optimization_level
                        : defaults.optimization_level;
    if (!st) st = ei_passes_run(m->g, level, &ps);
    if (!st) {
        ei_pass_stats_format(&ps, m->optimization_report, sizeof m->optimization_report);
        m->summary.nodes_before_optimization = ps.nodes_before;
        m->summary.nodes_after_optimization = ps.nodes_after;
        m->summary.optimization_report = m->optimization_report;
    }
    if (!st) st = build_summary(m, om, file_nodes);
    ei_onnx_model_free(om);
    return st;
}

ei_status * ei_model_load_memory(const void * data, size_t size, const char * base_dir, const ei_model_options * opt,
                                 ei_model ** out) {
    *out = NULL;
    if (!data && size) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "model data is NULL");
    ei_model * m = calloc(1, sizeof *m);
    if (!m) return ei_status_oom();
    m->mem_copy = malloc(size ? size : 1);
    if (!m->mem_copy) {
        free(m);
        return ei_status_oom();
    }
    if (size) memcpy(m->mem_copy, data, size);
    ei_status * st = load_parsed(m, m->mem_copy, size, base_dir, opt);
    if (st) {
        ei_model_destroy(m);
        return st;
    }
    *out = m;
    return NULL;
}

ei_status * ei_model_load_file(const char * path, const ei_model_options * opt, ei_model ** out) {
    *out = NULL;
    void * map;
    size_t size;
    EI_TRY(ei_file_map(path, false, EI_CODE_INVALID_MODEL, "the file is empty", &map, &size));
    ei_model * m = calloc(1, sizeof *m);
    if (!m) {
        ei_file_unmap(map, size);
        return ei_status_oom();
    }
    m->file_map = map;
    m->file_size = size;
    char * dir_copy = strdup(path);
    if (!dir_copy) {
        ei_model_destroy(m);
        return ei_status_oom();
    }
    ei_status * st = load_parsed(m, m->file_map, m->file_size, dirname(dir_copy), opt);
    free(dir_copy);
    if (st) {
        ei_model_destroy(m);
        return ei_status_wrapf(st, "%s", path);
    }
    *out = m;
    return NULL;
}

ei_status * ei_model_from_graph(ei_graph * g, void * map, size_t map_size, const ei_model_summary * facts,
                                ei_model ** out) {
    *out = NULL;
    ei_model * m = calloc(1, sizeof *m);
    if (!m) {
        ei_graph_destroy(g);
        ei_file_unmap(map, map_size);
        return ei_status_oom();
    }
    m->g = g;
    m->file_map = map;
    m->file_size = map_size;
    ei_model_summary * s = &m->summary;
    s->ir_version = facts->ir_version;
    s->nodes_before_optimization = facts->nodes_before_optimization;
    s->nodes_after_optimization = facts->nodes_after_optimization;
    snprintf(m->optimization_report, sizeof m->optimization_report, "%s",
             facts->optimization_report ? facts->optimization_report : "");
    s->optimization_report = m->optimization_report;
    m->producer_name = strdup(facts->producer_name);
    m->producer_version = strdup(facts->producer_version);
    ei_status * st = (!m->producer_name || !m->producer_version) ? ei_status_oom() : NULL;
    s->producer_name = m->producer_name;
    s->producer_version = m->producer_version;
    for (int32_t i = 0; !st && i < facts->opset_count && i < 16; i++) {
        m->opset_domains[i] = strdup(facts->opset_domain[i]);
        if (!m->opset_domains[i]) st = ei_status_oom();
        s->opset_domain[i] = m->opset_domains[i];
        s->opset_version[i] = facts->opset_version[i];
        s->opset_count = i + 1;
    }
    if (!st) st = summarize_graph(m, facts->node_count);
    if (st) {
        ei_model_destroy(m);
        return st;
    }
    *out = m;
    return NULL;
}

int32_t ei_model_input_count(const ei_model * m) { return m->g->n_inputs; }
int32_t ei_model_output_count(const ei_model * m) { return m->g->n_outputs; }

static const ei_value * input_value(const ei_model * m, int32_t i) {
    return (i >= 0 && i < m->g->n_inputs) ? &m->g->values[m->g->inputs[i]] : NULL;
}
static const ei_value * output_value(const ei_model * m, int32_t i) {
    return (i >= 0 && i < m->g->n_outputs) ? &m->g->values[m->g->outputs[i]] : NULL;
}

const char * ei_model_input_name(const ei_model * m, int32_t i) {
    const ei_value * v = input_value(m, i);
    return v ? v->name : NULL;
}
const char * ei_model_output_name(const ei_model * m, int32_t i) {
    const ei_value * v = output_value(m, i);
    return v ? v->name : NULL;
}
ei_dtype ei_model_input_dtype(const ei_model * m, int32_t i) {
    const ei_value * v = input_value(m, i);
    return v ? v->dtype : EI_DTYPE_UNDEFINED;
}
ei_dtype ei_model_output_dtype(const ei_model * m, int32_t i) {
    const ei_value * v = output_value(m, i);
    return v ? v->dtype : EI_DTYPE_UNDEFINED;
}
const ei_shape * ei_model_input_shape(const ei_model * m, int32_t i) {
    const ei_value * v = input_value(m, i);
    return v ? &v->shape : NULL;
}
const ei_shape * ei_model_output_shape(const ei_model * m, int32_t i) {
    const ei_value * v = output_value(m, i);
    return v ? &v->shape : NULL;
}

void ei_model_get_summary(const ei_model * m, ei_model_summary * out) { *out = m->summary; }

int32_t      ei_model_op_type_count(const ei_model * m) { return m->n_op_types; }
const char * ei_model_op_type_name(const ei_model * m, int32_t i) {
    return (i >= 0 && i < m->n_op_types) ? m->op_type_names[i] : NULL;
}
int32_t ei_model_op_type_nodes(const ei_model * m, int32_t i) {
    return (i >= 0 && i < m->n_op_types) ? m->op_type_nodes[i] : 0;
}
