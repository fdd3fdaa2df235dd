#include "cpu/kernel_table.h"

/* Optimised kernels by op kind; NULL = use the reference kernel from src/ops/. */
static const ei_kernel_fn g_cpu_kernels[EI_OP_COUNT + 1] = {
    [EI_OP_COUNT] = NULL,
};

ei_kernel_fn ei_cpu_kernel(const ei_node * node) {
    ei_op_kind k = ei_op_kind_of(node->def);
    if (k < EI_OP_COUNT && g_cpu_kernels[k]) return g_cpu_kernels[k];
    return node->def->run;
}
