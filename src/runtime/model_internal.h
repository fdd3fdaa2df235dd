#ifndef EI_RUNTIME_MODEL_INTERNAL_H
#define EI_RUNTIME_MODEL_INTERNAL_H

#include "edgeinfer/model.h"
#include "ir/graph.h"
#include "onnx/onnx_tensor.h"

/* How a model was built, for engine files (src/engine): set by ei_engine_build and by loading an
 * engine; zero for a plain ONNX load. */
typedef struct ei_model_build_info {
    uint8_t onnx_sha256[32];
    bool    has_onnx_sha256;
    int32_t precision, batch, n_threads, optimization_level;
    char *  input_shapes; /* owned; NULL = none */
} ei_model_build_info;

struct ei_model {
    ei_graph *          g;
    void *              file_map; /* the mmap'd .onnx, when loaded from a file */
    size_t              file_size;
    void *              mem_copy; /* the copied buffer, when loaded from memory */
    ei_mapped_files *   external;
    ei_model_summary    summary;
    char *              producer_name, *producer_version;
    char *              opset_domains[16];
    int32_t             n_op_types;
    char **             op_type_names;
    int32_t *           op_type_nodes;
    char                optimization_report[512];
    ei_model_build_info build;
};

/* A model around an already built graph (an engine file's): takes ownership of g and of the
 * read-only mapping map/map_size (munmap'd on destroy; may be NULL), also when it fails. The
 * header facts of `facts` (IR version, producer, opsets, node counts, optimisation report) are
 * copied; the rest of the summary is computed from g. */
ei_status * ei_model_from_graph(ei_graph * g, void * map, size_t map_size, const ei_model_summary * facts,
                                ei_model ** out);

#endif
