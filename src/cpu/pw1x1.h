/* Pointwise (1x1, stride 1, no padding, one group) convolution on the 8-channel blocked layout
 * (ops/blocked8.h): Y[n, oc] = act(sum_ic W[oc, ic] X[n, ic] + B[oc] (+ R[n, oc])) for every pixel,
 * X [N, ceil(IC/8), HW, 8], Y and R [N, ceil(OC/8), HW, 8]. Weights are packed once per node,
 * per group of 3 output blocks, into [ceil(IC/8) * 8, 24] (zero rows and lanes past IC and OC), so
 * a register tile of 3 output blocks x 4 pixels loads one weight vector per output block and
 * broadcasts one input value per pixel for each input channel: 12 FMAs per 7 loads. Input
 * channels go 128 at a time (their weights stay in L1 over a chunk of up to 64 pixels), the next
 * pass's weights prefetched. Work is split over (image, 3 output
 * blocks, pixel chunk), so each thread reads only its output blocks' weights, where oneDNN's
 * jit_1x1 splits only the pixels and every thread reads all the weights (SSD-MobileNet-v1's
 * 1024 -> 1024 at 10x10: 4 MiB of them for 100 pixels; docs/cpu-kernels.md). Padding lanes of Y
 * are written as zeros. AVX2 + FMA intrinsics chosen at run time; a portable C path computes the
 * same. */
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

/* Whether ei.ConvBlocked8 runs a blocked 1x1 convolution of these sizes with this kernel instead of
 * oneDNN's jit_1x1, by the environment variable EI_PW1X1 (read once): unset or "0", never (the
 * default: on the shared 2-core machine neither was measurably faster, docs/cpu-kernels.md); "1",
 * for weight-heavy layers of small images (at least 1 MiB of weights, at most 400 pixels:
 * SSD-MobileNet-v1's 512 and 1024 channel layers), where oneDNN's threads each read every weight
 * (it splits only the pixels) and ours read disjoint output-channel groups; "all", for every
 * blocked 1x1 (tests, measurements). False without AVX2 + FMA. */
bool ei_pw1x1_wanted(int64_t ic, int64_t oc, int64_t hw);

#endif
