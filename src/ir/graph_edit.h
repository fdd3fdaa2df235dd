/* Graph rewriting helpers for the optimisation passes (src/passes/). A removed node becomes a
 * tombstone (def NULL, no inputs or outputs) so that node indices stay valid while a pass runs;
 * ei_graph_compact drops the tombstones and re-sorts once the passes are done. */
#ifndef EI_IR_GRAPH_EDIT_H
#define EI_IR_GRAPH_EDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"

/* True for a node removed by ei_graph_node_remove. */
bool ei_node_is_removed(const ei_node * n);
/* How many times value v is read: node inputs of live nodes, plus one when it is a graph output. */
int32_t ei_graph_use_count(const ei_graph * g, int32_t v);
/* The only live node reading v (and v is no graph output), or -1. */
int32_t ei_graph_single_consumer(const ei_graph * g, int32_t v);
/* Nodes reading v, in node order; returns the count (may exceed max; only max are written). */
int32_t ei_graph_consumers(const ei_graph * g, int32_t v, int32_t * nodes, int32_t max);
/* The live node producing v that is not folded, or -1. */
int32_t ei_graph_live_producer(const ei_graph * g, int32_t v);
/* Every input reading `from` now reads `to`; graph outputs are not touched. */
void ei_graph_replace_uses(ei_graph * g, int32_t from, int32_t to);
/* Frees the node's contents and leaves a tombstone; its outputs lose their producer. */
void ei_graph_node_remove(ei_graph * g, int32_t idx);
/* A new value named after base ("base", "base_1", ... whichever is free), dtype/shape unset. */
ei_status * ei_graph_value_add_unique(ei_graph * g, const char * base, int32_t * id);
/* A new constant value holding t (ownership of t moves to the graph, also on error). */
ei_status * ei_graph_constant_add(ei_graph * g, const char * base, ei_tensor * t, int32_t * id);
/* A new node of op_type (ai.onnx domain, opset of like_node) with the given inputs and outputs; the
 * outputs get it as producer. Attributes can be set before ei_graph_node_finish imports them.
 * Pointers into g->nodes are invalid afterwards (the array may move). */
ei_status * ei_graph_node_new(ei_graph * g, const char * op_type, const char * name, int64_t opset,
                              const int32_t * inputs, int32_t n_inputs, const int32_t * outputs, int32_t n_outputs,
                              int32_t * idx);
/* Sets (adds or replaces) an attribute of the node. */
ei_status * ei_node_set_attr_int(ei_node * n, const char * name, int64_t v);
ei_status * ei_node_set_attr_float(ei_node * n, const char * name, float v);
ei_status * ei_node_set_attr_ints(ei_node * n, const char * name, const int64_t * v, int32_t count);
ei_status * ei_node_set_attr_string(ei_node * n, const char * name, const char * v);
/* Makes the node another operator of the ai.onnx table (attributes kept; call ei_node_reimport). */
ei_status * ei_node_set_op(ei_node * n, const char * op_type);
/* Re-reads the attributes of the node into node->params (after attributes changed). */
ei_status * ei_node_reimport(ei_node * n);
/* Sets input k (growing the input list with omitted inputs as needed). */
ei_status * ei_node_set_input(ei_node * n, int32_t k, int32_t v);
/* Drops tombstones, renumbers producers, and re-sorts. */
ei_status * ei_graph_compact(ei_graph * g);
/* Re-runs shape inference on every node that was not folded, so that each shape is validated
 * again after rewriting. Constants (folded values) are kept. */
ei_status * ei_graph_reinfer(ei_graph * g);

#endif
