#include "passes/pass_manager.h"

#include <stdio.h>
#include <string.h>

#include "ir/graph_edit.h"
#include "passes/passes.h"

typedef struct pass_entry {
    ei_status * (*run)(ei_graph * g, int32_t * applied);
    const char * label;
} pass_entry;

/* Order matters: BN folding first exposes Conv -> activation and gives the space-to-depth fold
 * the Conv's final weights; a Conv over a Concat of linear maps folded into them once BN is folded
 * and before activation fusion (its ReLU then fuses with the residual Add it leaves); LayerNorm before fusing so its
 * MatMul neighbours are not taken apart; activation fusion before residual fusion, which only takes a Conv without one;
 * standalone GELU after the fusable ones were absorbed; head transposes moved before the layout plan so that they meet
 * its conversions; the layout plan on the fused graph (it turns Conv into ei.ConvBlocked8, which no other pass
 * matches); last, what follows its conversions merged into them, and then the Concat of NHWC heads. */
static const pass_entry g_passes[EI_PASS_COUNT] = {
    [EI_PASS_ELIMINATE_IDENTITY] = {ei_pass_eliminate_identity, "no-ops removed"},
    [EI_PASS_FOLD_BN_INTO_CONV] = {ei_pass_fold_bn_into_conv, "BN folded"},
    [EI_PASS_FOLD_SPACE_TO_DEPTH] = {ei_pass_fold_space_to_depth, "space-to-depth stems folded"},
    [EI_PASS_FOLD_LINEAR_CONCAT] = {ei_pass_fold_linear_concat, "concat convs folded into linear maps"},
    [EI_PASS_MATCH_LAYERNORM] = {ei_pass_match_layernorm, "LayerNorms matched"},
    [EI_PASS_FUSE_ACTIVATION] = {ei_pass_fuse_activation, "activations fused"},
    [EI_PASS_FUSE_RESIDUAL] = {ei_pass_fuse_residual, "residual adds fused"},
    [EI_PASS_MATCH_GELU] = {ei_pass_match_gelu, "GELUs matched"},
    [EI_PASS_SINK_TRANSPOSE] = {ei_pass_sink_transpose, "head transposes moved to NHWC"},
    [EI_PASS_LAYOUT_BLOCKED8] = {ei_pass_layout_blocked8, "nodes in blocked layout"},
    [EI_PASS_MERGE_FROM_BLOCKED8] = {ei_pass_merge_from_blocked8, "layout conversions merged"},
    [EI_PASS_CONCAT_FROM_BLOCKED8] = {ei_pass_concat_from_blocked8, "head concats written in place"},
};

static int32_t running_nodes(const ei_graph * g) {
    int32_t n = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) n += !g->nodes[i].folded && !ei_node_is_removed(&g->nodes[i]);
    return n;
}

ei_status * ei_passes_run(ei_graph * g, int32_t level, ei_pass_stats * stats) {
    memset(stats, 0, sizeof *stats);
    stats->nodes_before = running_nodes(g);
    stats->nodes_after = stats->nodes_before;
    if (level <= 0) return NULL;
    bool changed = false;
    for (int32_t p = 0; p < EI_PASS_COUNT; p++) {
        if ((p == EI_PASS_LAYOUT_BLOCKED8 || p == EI_PASS_MERGE_FROM_BLOCKED8 || p == EI_PASS_CONCAT_FROM_BLOCKED8) &&
            level < 2)
            continue;
        EI_TRY(g_passes[p].run(g, &stats->applied[p]));
        if (stats->applied[p]) {
            changed = true;
            EI_TRY(ei_graph_compact(g));
        }
    }
    if (changed) EI_TRY(ei_graph_reinfer(g));
    stats->nodes_after = running_nodes(g);
    return NULL;
}

void ei_pass_stats_format(const ei_pass_stats * stats, char * buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t p = 0; p < EI_PASS_COUNT && used < size; p++)
        if (stats->applied[p])
            used += (size_t)snprintf(buf + used, size - used, "%s%s %d", used ? ", " : "", g_passes[p].label,
                                     stats->applied[p]);
}
