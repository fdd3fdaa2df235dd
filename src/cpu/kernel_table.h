/* The CPU backend's dispatch table: one kernel per operator. Entries without a faster kernel fall
 * back to the operator's reference kernel, so a faster implementation replaces one entry. */
#ifndef EI_CPU_KERNEL_TABLE_H
#define EI_CPU_KERNEL_TABLE_H

#include "ops/op.h"

ei_kernel_fn ei_cpu_kernel(const ei_node * node);

#endif
