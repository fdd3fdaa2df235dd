/* ei.ConvBlocked8 by Winograd F(4x4, 3x3) or F(2x2, 3x3) on AVX2 + FMA (src/cpu/winograd.c): 3x3
 * kernels, stride 1, dilation 1, group 1, any pads, blocked input [N, C/8, H, W, 8]. Tried before
 * oneDNN's direct kernel (src/cpu/kernel_table.c); declines every other node, and every node on a
 * CPU without AVX2 + FMA, so those run oneDNN's (or the reference) kernel.
 *
 * EI_CONV_WINOGRAD (read when a session is created): "0" turns the kernel off; "1" takes every
 * node it can compute, whatever its size, with the automatic tile (ei_winograd_tile); "4" / "2" take
 * every node by F(4x4, 3x3) / F(2x2, 3x3); unset or anything else: the shapes where it was measured
 * to beat oneDNN's direct kernel (ei_winograd_wins), with the automatic tile. */
#ifndef EI_CPU_WINOGRAD_H
#define EI_CPU_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/kernel_table.h"

#if defined(__x86_64__) || defined(__i386__)
#define EI_WINOGRAD_AVAILABLE 1
extern const ei_cpu_kernel ei_winograd_conv_blocked8;
#endif

/* Whether F(4x4, 3x3) beats the direct kernel for C input and M output channels and an output of
 * oh x ow pixels per image (the automatic choice; measured on SSD300 and SSD-MobileNet-v1 layers). */
bool ei_winograd_wins(int64_t c, int64_t m, int64_t oh, int64_t ow);

/* The output tile side the automatic choice gives a node of n images of oh x ow outputs: 2 for
 * F(2x2, 3x3) when F(4x4, 3x3) would have at most 18 tiles (maps up to 16x16 at batch 1),
 * so few that its transformed weights (36/9 of the 3x3 ones, read once per run) cost more than
 * F(2x2)'s extra multiply-adds (16/9 as much weight, 16 per 4 pixels against 36 per 16); 4 otherwise. */
int ei_winograd_tile(int64_t n, int64_t oh, int64_t ow);

#endif
