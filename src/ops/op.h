/* The operator interface. Every operator is one line in op_table.def and one ei_op_def in
 * src/ops/<op>.c: attribute import, shape/dtype inference, and a plain-C reference kernel that the
 * CPU backend runs until a faster kernel replaces it (src/cpu/kernel_table.c). */
#ifndef EI_OPS_OP_H
#define EI_OPS_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "ir/graph.h"

/* What a kernel gets besides its tensors. */
typedef struct ei_exec {
    ei_threadpool * pool; /* may be NULL: run serially */
} ei_exec;

/* in[k] is NULL for an omitted optional input; out[k] NULL for an omitted optional output.
 * Outputs are allocated by the caller with the dtype and shape that infer set. */
typedef ei_status * (*ei_kernel_fn)(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,
                                    const ei_exec * ex);

struct ei_op_def {
    const char * name;             /* ONNX op_type, ai.onnx domain */
    int32_t      in_min, in_max;   /* in_max -1: variadic */
    int32_t      out_min, out_max; /* out_max -1: variadic */
    /* (optional) attributes -> node->params (malloc'd); validates attribute values. */
    ei_status * (*import)(ei_node * node);
    /* Sets dtype and shape of every present output from the inputs (and constant inputs where
     * the shape depends on data). Validates everything run relies on, so run cannot fail on
     * shapes. May set an output's `constant` directly (Shape does). */
    ei_status * (*infer)(ei_graph * g, ei_node * node);
    ei_kernel_fn run; /* reference kernel */
    /* (optional) multiply-accumulates of one run, for `edgeinfer info`. */
    int64_t (*macs)(const ei_graph * g, const ei_node * node);
};

/* The op table, generated from op_table.def. */
typedef enum ei_op_kind {
#define EI_OP(sym, onnx_name) EI_OP_##sym,
#include "ops/op_table.def"
#undef EI_OP
    EI_OP_COUNT
} ei_op_kind;

const ei_op_def * ei_op_find(const char * domain, const char * op_type); /* NULL if unsupported */
const ei_op_def * ei_op_get(ei_op_kind kind);
ei_op_kind        ei_op_kind_of(const ei_op_def * def);

/* ---- helpers shared by op files (src/ops/op_util.c) ---- */

/* Normalises a possibly negative axis against rank; error names the node. */
ei_status * ei_op_axis(const ei_node * n, int64_t axis, int32_t rank, int32_t * out);
/* Numpy-style multidirectional broadcast of a and b. */
ei_status * ei_op_broadcast(const ei_node * n, const ei_shape * a, const ei_shape * b, ei_shape * out);
/* Reads a constant int32/int64 input as int64 list; error when not constant or too long.
 * *count = -1 when the input is omitted. */
ei_status * ei_op_const_ints(const ei_graph * g, const ei_node * n, int32_t k, int64_t * vals, int32_t max,
                             int32_t * count);
/* The end of every import: on error (st non-NULL) frees p and returns st; otherwise replaces
 * node->params with p (node takes ownership) and returns NULL. */
ei_status * ei_op_install_params(ei_node * node, void * p, ei_status * st);
/* Sets output k's dtype and shape. */
void ei_op_set_output(ei_graph * g, const ei_node * n, int32_t k, ei_dtype dt, const ei_shape * s);
/* Sets output k's dtype and shape from t and makes t its load-time constant (takes ownership of
 * t; destroys it when the output is omitted). For ops whose result is known in infer. */
void ei_op_set_output_constant(ei_graph * g, const ei_node * n, int32_t k, ei_tensor * t);
/* Row-major strides of s in elements. */
void ei_shape_strides(const ei_shape * s, int64_t * strides);
/* Strides of `in` broadcast to `out` (0 where in's dim is 1 or missing); in is right-aligned. */
void ei_shape_broadcast_strides(const ei_shape * in, const ei_shape * out, int64_t * strides);
/* Error unless the input's dtype is one of the listed ones (terminated by EI_DTYPE_UNDEFINED). */
ei_status * ei_op_check_dtype(const ei_graph * g, const ei_node * n, int32_t k, ...);

/* Declarations of every op definition: `extern const ei_op_def ei_op_def_Conv;` etc. */
#define EI_OP(sym, onnx_name) extern const ei_op_def ei_op_def_##sym;
#include "ops/op_table.def"
#undef EI_OP

#endif
