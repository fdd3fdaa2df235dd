/* The CPU backend's dispatch table: one entry per operator. An operator without an optimised
 * entry, or whose entry declines a node (supports() false), runs its reference kernel from
 * src/ops/, so a faster implementation replaces one entry without touching anything else. */
#ifndef EI_CPU_KERNEL_TABLE_H
#define EI_CPU_KERNEL_TABLE_H

#include "ops/op.h"

typedef struct ei_cpu_kernel {
    /* (optional) false: run the reference kernel for this node (dtype, attribute the kernel lacks). */
    bool (*supports)(const ei_graph * g, const ei_node * node);
    /* (optional) Called once when a session is created: create primitives, pack constant weights,
     * size scratch. *state is passed to run and freed by release. */
    ei_status * (*prepare)(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state);
    ei_status * (*run)(const ei_node * node, void * state, const ei_tensor * const * in, ei_tensor * const * out,
                       const ei_exec * ex);
    void (*release)(void * state); /* (optional) */
} ei_cpu_kernel;

/* The kernel for node: the optimised entry when it supports the node, else NULL (use node->def->run). */
const ei_cpu_kernel * ei_cpu_kernel_for(const ei_graph * g, const ei_node * node);

/* Whether ei.ConvBlocked8 has a fast kernel (oneDNN): the layout pass plans blocked regions only then,
 * since its reference kernel converts layouts around the plain Conv kernel. */
bool ei_cpu_has_blocked8_conv(void);

#endif
