/* Resize (opsets 10, 11, 13, 18, 19): the importer maps every opset onto ei_resize_params; the
 * shape inference and kernels are shared with Upsample (resize_common.c, resize_kernel.c). */
#include <stdlib.h>

#include "ops/resize_common.h"

static ei_status * resize_import(ei_node * node) {
    if (node->opset <= 10 && node->n_inputs > 2)
        return ei_node_errorf(
            node, EI_CODE_INVALID_MODEL,
            "Resize-10 takes inputs X and scales; this node has %d inputs (roi and sizes need opset 11)",
            node->n_inputs);
    ei_resize_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    ei_status * st = ei_resize_parse_attrs(node, p, false);
    return ei_op_install_params(node, p, st);
}

const ei_op_def ei_op_def_RESIZE = {
    .name = "Resize",
    .in_min = 1,
    .in_max = 4,
    .out_min = 1,
    .out_max = 1,
    .import = resize_import,
    .infer = ei_resize_infer,
    .run = ei_resize_run,
};
