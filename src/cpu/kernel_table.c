#include "cpu/kernel_table.h"

#include "cpu/stem.h"
#include "cpu/winograd.h"

#ifdef EI_WITH_ONEDNN
#include "cpu/dnnl/dnnl_kernels.h"
#endif

/* Optimised kernels by op kind, designated initializers; absent = reference kernel only. */
static const ei_cpu_kernel * const g_cpu_kernels[EI_OP_COUNT + 1] = {
#ifdef EI_WITH_ONEDNN
    [EI_OP_CONV] = &ei_dnnl_conv,
    [EI_OP_CONV_TRANSPOSE] = &ei_dnnl_conv_transpose,
    [EI_OP_MATMUL] = &ei_dnnl_matmul,
    [EI_OP_GEMM] = &ei_dnnl_gemm,
    [EI_OP_CONV_BLOCKED8] = &ei_dnnl_conv_blocked8,
    [EI_OP_CONV_INT8] = &ei_dnnl_conv_int8,
    [EI_OP_MATMUL_INT8] = &ei_dnnl_matmul_int8,
#endif
    [EI_OP_COUNT] = NULL,
};

/* Specialised kernels tried, in this order, before the entry above: they take only the nodes their
 * supports() accepts (shapes where they were measured to win) and leave the rest to g_cpu_kernels. */
#define EI_CPU_FIRST_MAX 3 /* entries + the NULL that ends every list */
static const ei_cpu_kernel * const g_cpu_kernels_first[EI_OP_COUNT + 1][EI_CPU_FIRST_MAX] = {
    [EI_OP_CONV_BLOCKED8] =
        {
#ifdef EI_WINOGRAD_AVAILABLE
            &ei_winograd_conv_blocked8, /* 3x3 stride 1, 32 input channels or more: cpu/winograd.h */
#endif
#ifdef EI_STEM_AVAILABLE
            &ei_stem_conv_blocked8, /* few input channels (first layers): cpu/stem.h */
#endif
            NULL,
        },
    [EI_OP_COUNT] = {NULL},
};

static const ei_cpu_kernel * kernel_if_supported(const ei_cpu_kernel * kern, const ei_graph * g, const ei_node * node) {
    if (!kern || (kern->supports && !kern->supports(g, node))) return NULL;
    return kern;
}

const ei_cpu_kernel * ei_cpu_kernel_for(const ei_graph * g, const ei_node * node) {
    ei_op_kind k = ei_op_kind_of(node->def);
    if (k >= EI_OP_COUNT) return NULL;
    for (int32_t i = 0; i < EI_CPU_FIRST_MAX && g_cpu_kernels_first[k][i]; i++) {
        const ei_cpu_kernel * kern = kernel_if_supported(g_cpu_kernels_first[k][i], g, node);
        if (kern) return kern;
    }
    return kernel_if_supported(g_cpu_kernels[k], g, node);
}

bool ei_cpu_has_blocked8_conv(void) {
#ifdef EI_WITH_ONEDNN
    return true;
#else
    return false;
#endif
}
