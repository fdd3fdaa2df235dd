#include "cpu/kernel_table.h"

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

const ei_cpu_kernel * ei_cpu_kernel_for(const ei_graph * g, const ei_node * node) {
    ei_op_kind k = ei_op_kind_of(node->def);
    if (k >= EI_OP_COUNT || !g_cpu_kernels[k]) return NULL;
    const ei_cpu_kernel * kern = g_cpu_kernels[k];
    if (kern->supports && !kern->supports(g, node)) return NULL;
    return kern;
}

bool ei_cpu_has_blocked8_conv(void) {
#ifdef EI_WITH_ONEDNN
    return true;
#else
    return false;
#endif
}
