/* ei.ConvBlocked8 for first layers (few input channels) by a register-blocked direct convolution
 * on AVX2 + FMA (src/cpu/stem.c): any kernel size, strides, dilations and pads, group 1, input
 * plain [N, C, H, W] (an image, as the layout pass leaves it) or blocked [N, C/8, H, W, 8], output
 * blocked with the fused bias, residual and activation. Tried after Winograd and before oneDNN
 * (src/cpu/kernel_table.c); declines every other node, and every node on a CPU without AVX2 + FMA,
 * so those run oneDNN's (or the reference) kernel.
 *
 * EI_CONV_STEM (read when a session is created): "0" turns the kernel off; "1" takes every node it
 * can compute, whatever its number of input channels; unset or anything else: the shapes where it
 * was measured to beat oneDNN (ei_stem_wins). */
#ifndef EI_CPU_STEM_H
#define EI_CPU_STEM_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/kernel_table.h"

#if defined(__x86_64__) || defined(__i386__)
#define EI_STEM_AVAILABLE 1
extern const ei_cpu_kernel ei_stem_conv_blocked8;
#endif

/* Whether the direct kernel beats oneDNN for c input channels read plain (`plain`) or blocked, m
 * output channels and a kernel of kernel_area taps per channel (the automatic choice; measured on
 * the first layers of YOLOX-nano, SSDLite320, SSD-MobileNet-v1 and SSD300 and on single
 * convolutions, docs/cpu-kernels.md). */
bool ei_stem_wins(int64_t c, int64_t m, int64_t kernel_area, bool plain);

#endif
