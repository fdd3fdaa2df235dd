/* Vectorised transcendental activations, runtime-dispatched (AVX2+FMA, else scalar libm). The
 * exp approximation is Cephes' expf polynomial (relative error about 2e-7 over the clamped range),
 * so results stay within the 1e-4 model tolerance of the scalar libm versions. */
#ifndef EI_CPU_VMATH_H
#define EI_CPU_VMATH_H

#include <stdint.h>

/* y[i] = 1 / (1 + exp(-y[i])) */
void ei_vec_sigmoid(float * y, int64_t n);
/* y[i] = y[i] / (1 + exp(-y[i])) (SiLU / swish) */
void ei_vec_silu(float * y, int64_t n);
/* y[i] = exp(y[i]) */
void ei_vec_exp(float * y, int64_t n);

#endif
