/* BF16 and FP16 engines (docs/precision.md, "BF16 and FP16"). At build time the constant weights of
 * Conv, ei.ConvBlocked8, ConvTranspose, MatMul and Gemm are rounded (to nearest even) and stored as
 * bf16 / fp16: the weight value's dtype becomes BF16 / F16, which only a constant weight input of
 * those operators may have. Everything else (biases, LayerNorm, Softmax, reductions, every other
 * constant) stays fp32. This CPU family has no bf16/fp16 arithmetic, so kernels compute in fp32:
 * oneDNN kernels widen the weights once when a session is created (into the buffer they reorder
 * from), the reference kernels widen them on every run (ei_half_run).
 *
 * Activations: unless the build asks for fp32 activations, each converted node also gets the
 * attribute "ei.round_inputs" (int: the ei_precision) and its data input (X of a convolution, A of
 * a matmul) is rounded to that precision before the fp32 compute, as a CPU with native bf16/fp16
 * arithmetic would see it: accuracy measured here is the accuracy such a CPU would give. */
#ifndef EI_QUANT_HALF_H
#define EI_QUANT_HALF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/engine.h"
#include "ops/op.h"

/* The attribute naming the precision a node's data input is rounded to (absent: not rounded). */
#define EI_HALF_ROUND_ATTR "ei.round_inputs"

/* What ei_half_convert did. */
typedef struct ei_half_report {
    int32_t converted;  /* nodes whose weights are now bf16 / fp16 */
    int32_t kept;       /* candidate nodes left fp32 because keep_fp32 names them */
    int32_t shared;     /* candidate nodes left fp32 because another node reads the same weights */
    int32_t overflow;   /* FP16: candidate nodes left fp32 because a weight exceeds fp16's range */
    int64_t bytes_fp32; /* bytes of the converted weights before */
    int64_t bytes_half; /* and after */
} ei_half_report;

/* Converts the weights of g (an optimised, sorted graph) to precision p (BF16 or FP16). keep_fp32:
 * comma-separated node names that stay fp32; a name no node has is an error naming it.
 * round_inputs: also mark the converted nodes so that their data input is rounded at run time.
 * rep may be NULL. */
ei_status * ei_half_convert(ei_graph * g, ei_precision p, const char * keep_fp32, bool round_inputs,
                            ei_half_report * rep);

/* For an operator's infer: input k is F32, or a constant BF16 / F16 weight of an engine. */
ei_status * ei_half_check_weight(const ei_graph * g, const ei_node * n, int32_t k);
/* Whether the reference kernel of node must go through ei_half_run (weight input w is bf16/fp16,
 * or the node rounds its data input). */
bool ei_half_needed(const ei_node * node, const ei_tensor * const * in, int32_t w);
/* Runs fn (an fp32 kernel) with input 0 rounded when the node asks for it and input w widened to
 * fp32 (temporary buffers, freed before returning). */
ei_status * ei_half_run(ei_kernel_fn fn, int32_t w, const ei_node * node, const ei_tensor * const * in,
                        ei_tensor * const * out, const ei_exec * ex);
/* The precision node rounds its data input to (EI_PRECISION_FP32: none). */
ei_precision ei_half_round_mode(const ei_node * node);

/* Two lines (no final newline) for `edgeinfer build`: what a bf16 / fp16 engine stores and what
 * stays fp32, and that compute stays fp32 on this CPU (no speed-up; the file is about half the
 * size). */
void ei_half_describe(const ei_model * m, char * buf, size_t n);

/* dst[i] = src[i] widened from BF16 or F16 (dt) to fp32; exact. */
void ei_half_widen(ei_dtype dt, const uint16_t * src, float * dst, int64_t n);
/* dst[i] = src[i] rounded to p (BF16 or FP16, nearest even) and back; dst may be src. Identical to
 * ei_f32_to_bf16/f16 followed by the widening, using F16C / AVX2 where the CPU has them. */
void ei_half_round(ei_precision p, const float * src, float * dst, int64_t n);
/* The same, split over pool's threads (pool may be NULL). */
void ei_half_round_parallel(ei_threadpool * pool, ei_precision p, const float * src, float * dst, int64_t n);

#endif
