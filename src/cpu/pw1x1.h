/* Pointwise (1x1, stride 1, no padding, one group) convolution on the 8-channel blocked layout
 * (ops/blocked8.h): Y[n, oc] = act(sum_ic W[oc, ic] X[n, ic] + B[oc] (+ R[n, oc])) for every pixel,
 * X [N, ceil(IC/8), HW, 8], Y and R [N, ceil(OC/8), HW, 8]. Weights are packed once per node into
 * [ceil(OC/8), ceil(IC/8) * 8, 8] (zero rows and lanes past IC and OC), so a register tile of 3
 * output blocks x 4 pixels loads one weight vector per output block and broadcasts one input value
 * per pixel for each input channel: 12 FMAs per 7 loads. Work is split over (image, 3 output
 * blocks, pixel chunk), so both cores stay busy where oneDNN's jit_1x1 splits a small image badly
 * (SSD-MobileNet-v1's 1024 -> 1024 at 10x10: docs/cpu-kernels.md). Padding lanes of Y are written
 * as zeros. AVX2 + FMA intrinsics chosen at run time; a portable C path computes the same. */
#ifndef EI_CPU_PW1X1_H
#define EI_CPU_PW1X1_H

#include <stdbool.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "ops/fused.h"

typedef struct ei_pw1x1 ei_pw1x1;

/* Packs w [oc, ic] (row-major float32) and bias [oc] (or NULL). f: the fused activation and whether
 * run gets a residual. */
ei_status * ei_pw1x1_create(int64_t ic, int64_t oc, const float * w, const float * bias, const ei_fused * f,
                            ei_pw1x1 ** out);
void        ei_pw1x1_destroy(ei_pw1x1 * k);

/* y = conv(x) for n images of hw pixels; res (blocked like y, may equal y) when the kernel was
 * created with a residual, else NULL. */
void ei_pw1x1_run(const ei_pw1x1 * k, ei_threadpool * pool, const float * x, const float * res, float * y, int64_t n,
                  int64_t hw);

/* Whether the AVX2 + FMA path runs on this CPU. */
bool ei_pw1x1_has_avx2(void);
/* For tests: force the portable path (true) or pick by CPU (false). Not while a run is in progress. */
void ei_pw1x1_force_portable(bool on);

/* Whether the blocked 1x1 convolution of these sizes is faster here than oneDNN's jit_1x1 (measured
 * on the models of docs/cpu-kernels.md): small images with many channels. False without AVX2 + FMA,
 * or when the environment variable EI_PW1X1 is "0" (for before/after measurements). */
bool ei_pw1x1_wanted(int64_t ic, int64_t oc, int64_t hw);

#endif
