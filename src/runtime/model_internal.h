#ifndef EI_RUNTIME_MODEL_INTERNAL_H
#define EI_RUNTIME_MODEL_INTERNAL_H

#include "edgeinfer/model.h"
#include "ir/graph.h"
#include "onnx/onnx_tensor.h"

struct ei_model {
    ei_graph *        g;
    void *            file_map; /* the mmap'd .onnx, when loaded from a file */
    size_t            file_size;
    void *            mem_copy; /* the copied buffer, when loaded from memory */
    ei_mapped_files * external;
    ei_model_summary  summary;
    char *            producer_name, *producer_version;
    char *            opset_domains[16];
    int32_t           n_op_types;
    char **           op_type_names;
    int32_t *         op_type_nodes;
    char              optimization_report[256];
};

#endif
