/* The CPU kernel table entries implemented with oneDNN (built when EI_WITH_ONEDNN). */
#ifndef EI_CPU_DNNL_KERNELS_H
#define EI_CPU_DNNL_KERNELS_H

#include "cpu/kernel_table.h"

extern const ei_cpu_kernel ei_dnnl_conv;
extern const ei_cpu_kernel ei_dnnl_conv_transpose;
extern const ei_cpu_kernel ei_dnnl_conv_blocked8;
extern const ei_cpu_kernel ei_dnnl_conv_int8;
extern const ei_cpu_kernel ei_dnnl_matmul_int8;
extern const ei_cpu_kernel ei_dnnl_matmul;
extern const ei_cpu_kernel ei_dnnl_gemm;

#endif
