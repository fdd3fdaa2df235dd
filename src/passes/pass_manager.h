/* Runs the graph optimisation passes over an imported, shape-inferred graph, then compacts,
 * re-sorts and re-infers it so that every shape is validated again. */
#ifndef EI_PASSES_PASS_MANAGER_H
#define EI_PASSES_PASS_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

enum {
    EI_PASS_ELIMINATE_IDENTITY,
    EI_PASS_FOLD_BN_INTO_CONV,
    EI_PASS_FOLD_SPACE_TO_DEPTH,
    EI_PASS_FOLD_LINEAR_CONCAT,
    EI_PASS_MATCH_LAYERNORM,
    EI_PASS_FUSE_ACTIVATION,
    EI_PASS_FUSE_RESIDUAL,
    EI_PASS_MATCH_GELU,
    EI_PASS_SINK_TRANSPOSE,
    EI_PASS_LAYOUT_BLOCKED8,
    EI_PASS_MERGE_FROM_BLOCKED8,
    EI_PASS_CONCAT_FROM_BLOCKED8,
    EI_PASS_COUNT
};

typedef struct ei_pass_stats {
    int32_t nodes_before, nodes_after; /* nodes that run (not computed at load time) */
    int32_t applied[EI_PASS_COUNT];    /* rewrites per pass */
} ei_pass_stats;

/* level 0: nothing; 1: every pass but the layout plan and what follows it; >= 2: every pass. */
ei_status * ei_passes_run(ei_graph * g, int32_t level, ei_pass_stats * stats);
/* "BN folded 35, activations fused 110" for the passes that changed something ("" for none). */
void ei_pass_stats_format(const ei_pass_stats * stats, char * buf, size_t size);

#endif
