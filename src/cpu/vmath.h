/* Vectorised math kernels, runtime-dispatched (AVX2+FMA, else portable C with libm). The exp
 * approximation is Cephes' expf polynomial (relative error <= 3e-7, measured by tests/kernels_seg),
 * erf Eigen's rational approximation (absolute error <= 5e-7), so results stay within the 1e-4
 * model tolerance of the scalar libm versions. Unless stated, x and y may be the same array. */
#ifndef EI_CPU_VMATH_H
#define EI_CPU_VMATH_H

#include <stdint.h>

/* y[i] = 1 / (1 + exp(-y[i])) */
void ei_vec_sigmoid(float * y, int64_t n);
/* y[i] = y[i] / (1 + exp(-y[i])) (SiLU / swish) */
void ei_vec_silu(float * y, int64_t n);
/* y[i] = exp(y[i]) */
void ei_vec_exp(float * y, int64_t n);

/* One contiguous row of n: y = exp(x - max) / sum (log != 0: (x - max) - log(sum)). */
void ei_vec_softmax(const float * x, float * y, int64_t n, int log);
/* y = 0.5 x (1 + erf(x / sqrt 2)) (GELU, approximate = "none"). */
void ei_vec_gelu(const float * x, float * y, int64_t n);
/* One row of n: y = (x - mean) / sqrt(var + eps) * scale + bias (bias may be NULL); mean and var
 * over the row, two passes; mean_out / inv_out (may be NULL) receive mean and 1/sqrt(var + eps). */
void ei_vec_layernorm(const float * x, float * y, int64_t n, const float * scale, const float * bias, float eps,
                      float * mean_out, float * inv_out);
/* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols, 4-byte elements of any type copied
 * bit for bit (strides in elements; the arrays must not overlap). */
void ei_vec_transpose32(const void * src, int64_t lds, void * dst, int64_t ldd, int64_t rows, int64_t cols);
/* y = a * wa + b * wb */
void ei_vec_lerp(float * y, const float * a, float wa, const float * b, float wb, int64_t n);
/* y[i] = s[i0[i]] * w0[i] + s[i1[i]] * w1[i] (y must not overlap s) */
void ei_vec_gather_lerp(float * y, const float * s, const int32_t * i0, const float * w0, const int32_t * i1,
                        const float * w1, int64_t n);

/* Tests: 0 makes every function above take its portable C path, 1 restores the dispatch. */
void ei_vmath_set_simd(int enable);

#endif
