/* What Conv, ConvTranspose, Gemm and MatMul share to honour the ei.* attributes of fused.h: the
 * residual input check in infer and the residual add + activation after the reference kernel. */
#ifndef EI_OPS_FUSED_APPLY_H
#define EI_OPS_FUSED_APPLY_H

#include "core/threadpool.h"
#include "ops/fused.h"

/* With ei.residual, input k must be present, float32 and of the output's shape ys; without it,
 * the node must have at most k inputs. */
ei_status * ei_fused_check_residual(const ei_graph * g, const ei_node * node, const ei_fused * f, int32_t k,
                                    const ei_shape * ys);
/* y = act(y + r) (r NULL without residual), split over pool (may be NULL). */
void ei_fused_finish(const ei_fused * f, const ei_tensor * r, ei_tensor * y, ei_threadpool * pool);

#endif
