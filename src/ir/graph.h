/* The graph IR: values (tensors with dtype and static shape) and nodes (operators), built by the
 * ONNX importer, completed by shape inference, executed by the runtime. */
#ifndef EI_IR_GRAPH_H
#define EI_IR_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

typedef struct ei_op_def ei_op_def;

enum {
    EI_VALUE_GRAPH_INPUT = 1u << 0,
    EI_VALUE_GRAPH_OUTPUT = 1u << 1,
    EI_VALUE_INITIALIZER = 1u << 2,
};

typedef struct ei_value {
    char *      name;
    ei_dtype    dtype; /* EI_DTYPE_UNDEFINED until known */
    ei_shape    shape;
    bool        shape_known;
    ei_tensor * constant; /* known at load time (initializer, Constant, folded); owned by the graph */
    int32_t     producer; /* node index, -1 for graph inputs and initializers */
    uint32_t    flags;
} ei_value;

typedef enum ei_attr_type {
    EI_ATTR_UNDEFINED = 0,
    EI_ATTR_FLOAT,
    EI_ATTR_INT,
    EI_ATTR_STRING,
    EI_ATTR_TENSOR,
    EI_ATTR_GRAPH, /* kept only by name and type; no supported op uses one */
    EI_ATTR_FLOATS,
    EI_ATTR_INTS,
    EI_ATTR_STRINGS,
} ei_attr_type;

typedef struct ei_attr {
    char *       name;
    ei_attr_type type;
    int64_t      i;
    float        f;
    char *       s;       /* NUL-terminated copy (STRING) */
    int64_t *    ints;    /* INTS */
    float *      floats;  /* FLOATS */
    char **      strings; /* STRINGS */
    int32_t      n;       /* element count of ints / floats / strings */
    ei_tensor *  t;       /* TENSOR, owned */
} ei_attr;

typedef struct ei_node {
    char *            name; /* never NULL: the file's name or "<OpType>_<index>" */
    char *            op_type;
    char *            domain; /* "" for ai.onnx */
    int64_t           opset;  /* version of the node's domain in the model's opset imports */
    const ei_op_def * def;
    int32_t           n_inputs, n_outputs;
    int32_t *         inputs;  /* value ids; -1 marks an omitted optional input */
    int32_t *         outputs; /* value ids; -1 marks an omitted optional output */
    ei_attr *         attrs;
    int32_t           n_attrs;
    void *            params; /* op-specific struct set by def->import; freed with free() */
    bool              folded; /* outputs computed at load time */
} ei_node;

typedef struct ei_graph {
    ei_value * values;
    int32_t    n_values, cap_values;
    ei_node *  nodes;
    int32_t    n_nodes, cap_nodes;
    int32_t *  inputs; /* graph inputs without initializers, file order */
    int32_t    n_inputs;
    int32_t *  outputs;
    int32_t    n_outputs;
    int32_t *  order; /* node indices in topological order (set by ei_graph_sort) */
} ei_graph;

ei_status * ei_graph_create(ei_graph ** out);
void        ei_graph_destroy(ei_graph * g);
/* Adds a value (name copied) or returns the id of the existing value of that name. */
ei_status * ei_graph_value_get_or_add(ei_graph * g, const char * name, int32_t * id);
int32_t     ei_graph_value_find(const ei_graph * g, const char * name); /* -1 if absent */
/* Adds a new value without looking for an existing one (the importer checks names itself). */
ei_status * ei_graph_value_add(ei_graph * g, const char * name, int32_t * id);
ei_status * ei_graph_node_add(ei_graph * g, ei_node ** out); /* zeroed node */
/* Topological order; refuses cycles and values used before any producer, naming them. */
ei_status * ei_graph_sort(ei_graph * g);

/* Input k of node n as a value, or NULL when omitted or out of range. */
const ei_value * ei_node_input(const ei_graph * g, const ei_node * n, int32_t k);
ei_value *       ei_node_output(ei_graph * g, const ei_node * n, int32_t k);
/* Constant data of input k, or NULL when the input is omitted or not known at load time. */
const ei_tensor * ei_node_input_const(const ei_graph * g, const ei_node * n, int32_t k);

/* Error naming the node: "node 'Conv_3' (Conv): <message>". */
ei_status * ei_node_errorf(const ei_node * n, ei_code code, const char * fmt, ...) EI_PRINTF(3, 4);

/* Attribute lookup. Each getter returns NULL and leaves *out = def when the attribute is absent,
 * and an error naming node and attribute when it has the wrong type. */
const ei_attr * ei_node_attr(const ei_node * n, const char * name);
ei_status *     ei_attr_get_int(const ei_node * n, const char * name, int64_t def, int64_t * out);
ei_status *     ei_attr_get_float(const ei_node * n, const char * name, float def, float * out);
/* *out borrows the node's string (or def). */
ei_status * ei_attr_get_string(const ei_node * n, const char * name, const char * def, const char ** out);
/* *out borrows the node's array; *count = -1 when absent. */
ei_status * ei_attr_get_ints(const ei_node * n, const char * name, const int64_t ** out, int32_t * count);
ei_status * ei_attr_get_floats(const ei_node * n, const char * name, const float ** out, int32_t * count);

/* Shape inference and constant folding over the sorted graph (src/ir/infer.c). */
ei_status * ei_graph_infer(ei_graph * g, bool fold_constants);

#endif
