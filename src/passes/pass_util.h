/* Pattern-matching helpers shared by the passes. */
#ifndef EI_PASSES_PASS_UTIL_H
#define EI_PASSES_PASS_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"
#include "ops/fused.h"

/* True when node is live, not folded and of op_type. */
bool ei_pass_is_op(const ei_node * n, const char * op_type);
/* The single live consumer of v when it has op_type (and v has no other use), else -1. */
int32_t ei_pass_sole_consumer_of(const ei_graph * g, int32_t v, const char * op_type);
/* True when value v is a float32 constant with one element; its value in *out. */
bool ei_pass_const_scalar(const ei_graph * g, int32_t v, float * out);
/* True when v is a one-element float32 constant within tol of want. */
bool ei_pass_const_near(const ei_graph * g, int32_t v, float want, float tol);
/* The permutation of Transpose node n for an input of `rank` dims in perm (ONNX's default, the
 * reversed axes, when the attribute is absent); false when the attribute does not name each of the
 * rank axes exactly once. */
bool ei_pass_transpose_perm(const ei_node * n, int32_t rank, int32_t * perm);
/* The input of binary node n that is not `v` (-1 when neither or both are v). */
int32_t ei_pass_other_input(const ei_node * n, int32_t v);
/* Makes readers of node idx's output `out` read `in` instead and removes the node. When `out` is a
 * graph output, the producer of `in` is made to write `out` directly (keeping the output's name),
 * which is only possible when `in` is a plain intermediate value; returns false when nothing was
 * changed. */
bool ei_pass_bypass(ei_graph * g, int32_t idx, int32_t in, int32_t out);
/* Makes node idx write `to` as its output 0 instead of its current output (which is left unused). */
void ei_pass_retarget_output(ei_graph * g, int32_t idx, int32_t to);

/* Conv, ConvTranspose, Gemm or MatMul: the ops whose kernels apply ei.* activations. */
bool ei_pass_fusable_producer(const ei_node * n);
/* The activation computed by the single node a (Relu, Clip with constant bounds, ...), or false. */
bool ei_pass_single_activation(const ei_graph * g, const ei_node * a, ei_fused * f);

/* The GELU pattern 0.5 * x * (1 + erf(x / sqrt 2)) starting from the Div (or Mul by 1/sqrt 2) node
 * div_idx. On a match: x, the final value, the 5 nodes, and how many times the pattern reads x
 * (2). Intermediate values must have no reader outside the pattern. */
typedef struct ei_gelu_match {
    int32_t x, y;
    int32_t nodes[5];
} ei_gelu_match;
bool ei_pass_find_gelu(const ei_graph * g, int32_t div_idx, ei_gelu_match * m);

#endif
