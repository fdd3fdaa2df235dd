/* ei.MatMulInt8 (src/ops/matmul_int8.c): what the op, the INT8 rewrite and the oneDNN kernel share. */
#ifndef EI_OPS_MATMUL_INT8_H
#define EI_OPS_MATMUL_INT8_H

#include <stdbool.h>

#include "ops/fused.h"

typedef struct ei_matmul_int8_params {
    ei_fused fused; /* an activation; never a residual */
    float    a_scale;
    bool     a_unsigned;
} ei_matmul_int8_params;

#endif
