/* Test helper of tests/qdq: runs the QDQ extraction (src/quant/qdq.h) on a model and writes what it
 * found, for test_qdq_model.py to compare with the QDQ model's own scales.
 *
 *     qdq_extract_tool MODEL.onnx TABLE.txt [ENGINE]
 *
 * Prints "pairs P tensors T asymmetric A weights W kept K", then "conv-inputs C of N" (table
 * entries that are an input of a Conv, ei.ConvBlocked8, MatMul or Gemm of the optimised graph),
 * then "dequantize-live D" (DequantizeLinear nodes of constant data not folded at load: 0 when the
 * weights were folded into float constants). Writes the table, and the float graph as an engine
 * file when ENGINE is given. Exit 0, or 3 with the error. */
#include <stdio.h>
#include <string.h>

#include "edgeinfer/engine.h"
#include "engine/sha256.h"
#include "ir/graph_edit.h"
#include "quant/qdq.h"
#include "runtime/model_internal.h"

static bool heavy(const ei_node * n) {
    return !strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ei.ConvBlocked8") || !strcmp(n->op_type, "MatMul") ||
           !strcmp(n->op_type, "Gemm");
}

int main(int argc, char ** argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: qdq_extract_tool MODEL.onnx TABLE.txt [ENGINE]\n");
        return 2;
    }
    ei_model *       m = NULL;
    ei_calib_table * t = NULL;
    ei_qdq_stats     qs;
    ei_status *      st = ei_qdq_load_model(argv[1], NULL, &m, &t, &qs);
    if (!st) {
        ei_sha256_once(m->file_map, m->file_size, m->build.onnx_sha256); /* engine files record it */
        m->build.has_onnx_sha256 = true;
        st = ei_calib_table_save(t, argv[2]);
    }
    if (!st && argc == 4) st = ei_model_save_engine(m, argv[3]);
    if (st) {
        fprintf(stderr, "error: %s\n", ei_status_message(st));
        ei_status_destroy(st);
        ei_calib_table_destroy(t);
        ei_model_destroy(m);
        return 3;
    }
    printf("pairs %d tensors %d asymmetric %d weights %d kept %d\n", qs.pairs, qs.tensors, qs.asymmetric, qs.weights,
           qs.kept);
    const ei_graph * g = m->g;
    int32_t          conv_inputs = 0;
    for (int32_t e = 0; e < ei_calib_table_count(t); e++) {
        int32_t v = ei_graph_value_find(g, ei_calib_table_name(t, e));
        bool    found = false;
        for (int32_t i = 0; v >= 0 && i < g->n_nodes && !found; i++) {
            const ei_node * n = &g->nodes[i];
            if (ei_node_is_removed(n) || n->folded || !heavy(n)) continue;
            found = n->n_inputs > 0 && n->inputs[0] == v;
        }
        conv_inputs += found;
    }
    printf("conv-inputs %d of %d\n", conv_inputs, ei_calib_table_count(t));
    int32_t live_dq = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        live_dq += !ei_node_is_removed(n) && !n->folded && !strcmp(n->op_type, "DequantizeLinear") &&
                   ei_node_input_const(g, n, 0) != NULL;
    }
    printf("dequantize-live %d\n", live_dq);
    ei_calib_table_destroy(t);
    ei_model_destroy(m);
    return 0;
}
