/* Upsample (opsets 7 and 9; deprecated in 10, still found in older exports): nearest or linear (and
 * cubic, which ONNX Runtime also accepts) with asymmetric coordinates, scales >= 1 from an attribute (7) or a constant
 * input (9). Shares the Resize implementation. */
#include <stdlib.h>

#include "ops/resize_common.h"

static ei_status * upsample_import(ei_node * node) {
    ei_resize_params * p = calloc(1, sizeof *p);
    if (!p) return ei_status_oom();
    ei_status * st = ei_resize_parse_attrs(node, p, true);
    return ei_op_install_params(node, p, st);
}

const ei_op_def ei_op_def_UPSAMPLE = {
    .name = "Upsample",
    .in_min = 1,
    .in_max = 2,
    .out_min = 1,
    .out_max = 1,
    .import = upsample_import,
    .infer = ei_resize_infer,
    .run = ei_resize_run,
};
