/* The blocked activation layout of the graph-level layout plan (src/passes/layout_blocked8.c): a
 * float32 tensor [N, C, H, W] stored as an ordinary tensor of shape [N, ceil(C/8), H, W, 8]
 * (oneDNN's nChw8c), channel c at block c / 8, lane c % 8. Lanes past C are padding: every op that
 * writes a blocked tensor keeps them finite (the reorder and the blocked Conv write zeros), and a
 * blocked Conv reads them against zero weights, so they never reach a real channel. */
#ifndef EI_OPS_BLOCKED8_H
#define EI_OPS_BLOCKED8_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/threadpool.h"

#define EI_BLOCK8 8

/* ceil(c / 8). */
static inline int64_t ei_blocks8(int64_t c) { return (c + EI_BLOCK8 - 1) / EI_BLOCK8; }

/* x [n, c, hw] -> y [n, ceil(c/8), hw, 8], padding lanes zero. */
void ei_blocked8_pack(ei_threadpool * pool, const float * x, float * y, int64_t n, int64_t c, int64_t hw);
/* y [n, ceil(c/8), hw, 8] -> x [n, c, hw], padding lanes dropped. */
void ei_blocked8_unpack(ei_threadpool * pool, const float * y, float * x, int64_t n, int64_t c, int64_t hw);

/* Squeeze-and-excitation on blocked tensors (ops/blocked8_kernels.c), rows = N * ceil(C/8):
 * y[r, p, l] = x[r, p, l] * s[r, l] for p < hw (y may be x); */
void ei_blocked8_scale(ei_threadpool * pool, const float * x, const float * s, float * y, int64_t rows, int64_t hw);
/* Which operand of y = a * b is the blocked activation scaled per channel by the other, i.e.
 * [N, C/8, H, W, 8] (y's shape) times [N, C/8, 1, 1, 8]: 0 or 1, or -1 when the shapes are
 * anything else. float32 is the caller's check. */
int32_t ei_blocked8_scale_operand(const ei_shape * a, const ei_shape * b, const ei_shape * y);
/* y[r, l] = mean (or max) over p < hw of x[r, p, l]. */
void ei_blocked8_global_pool(ei_threadpool * pool, const float * x, float * y, int64_t rows, int64_t hw, bool is_max);
/* Tests: 0 makes the two kernels above take their portable C path, 1 restores the dispatch. */
void ei_blocked8_set_simd(int enable);

#endif
