/* Parser plugins: user detection decoders built as shared libraries, named in the inference config
 * by DeepStream's keys custom-lib-path (the library) and parse-bbox-func-name (the function).
 *
 * The ABI (what a plugin sees) is plain C and versioned:
 *   - A plugin exports   uint32_t ei_parser_abi_version(void);   returning EI_PARSER_ABI_VERSION of
 *     the header it was built with. The host refuses a library whose version differs from its own.
 *   - and a parse function of type ei_parser_fn under any name:
 *         int my_parse(const ei_parser_input * in, ei_parser_output * out);
 *   - A plugin needs only this header (and the ones it includes); it must not link libedgeinfer.
 *   - Structs start with `uint32_t size` (the host's sizeof). New fields are only ever appended, so
 *     a plugin built against an older header of the same ABI version reads a prefix; a plugin that
 *     needs a newer field checks `size` first. Incompatible changes bump EI_PARSER_ABI_VERSION.
 *
 * Ownership, one call at a time:
 *   - The HOST allocates and frees everything: the input struct, the layer array, the names and
 *     tensor data it points to, the thresholds, the output struct and its detection array.
 *   - All of it is borrowed by the plugin for the duration of the call only. The plugin must not
 *     keep any pointer from `in` or `out` after it returns, must not write to `in`, and must not
 *     free anything it did not allocate itself. It must not write past out->detections[capacity-1].
 *   - If more boxes are found than out->capacity, the plugin sets out->count to the number it needs
 *     and returns EI_PARSER_NEED_CAPACITY; the host grows the array and calls again with the same
 *     input (so a parse function must be deterministic and free of side effects between calls).
 *   - On failure the plugin returns EI_PARSER_ERROR (or any other non-zero value) and may write a
 *     NUL-terminated message into out->error; the host reports it.
 *   - The host may call the function from several threads at once for different frames: a plugin
 *     with global state must lock it itself.
 *
 * The host then checks what came back (count <= capacity, finite coordinates with x2 >= x1 and
 * y2 >= y1, finite scores, class ids below n_classes) and reports a status naming the library and
 * the function when a check fails. */
#ifndef EDGEINFER_PARSER_H
#define EDGEINFER_PARSER_H

#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/detect.h"
#include "edgeinfer/status.h"
#include "edgeinfer/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EI_PARSER_ABI_VERSION   1u
#define EI_PARSER_ABI_SYMBOL    "ei_parser_abi_version"
#define EI_PARSER_MAX_RANK      8
#define EI_PARSER_ERROR_SIZE    256
#define EI_PARSER_DTYPE_FLOAT32 1 /* the only layer dtype of ABI version 1 */

/* Return values of a parse function. */
#define EI_PARSER_OK            0
#define EI_PARSER_NEED_CAPACITY 1 /* out->count holds the number of detections needed */
#define EI_PARSER_ERROR         (-1)

/* One output layer of the network, for one batch item: when the tensor has a leading batch
 * dimension the host passes that item's slice with dims[0] == 1. */
typedef struct ei_parser_layer {
    uint32_t      size;  /* sizeof(ei_parser_layer) */
    int32_t       dtype; /* EI_PARSER_DTYPE_FLOAT32 */
    const char *  name;  /* the ONNX output name */
    int32_t       rank;
    int64_t       dims[EI_PARSER_MAX_RANK];
    const float * data; /* dense row-major, product(dims) elements */
} ei_parser_layer;

typedef struct ei_parser_input {
    uint32_t                size;        /* sizeof(ei_parser_input) */
    uint32_t                abi_version; /* EI_PARSER_ABI_VERSION of the host */
    const ei_parser_layer * layers;
    int32_t                 n_layers;
    int32_t                 net_w, net_h, net_c; /* network input size; boxes are in these pixels */
    int32_t                 n_classes;           /* num-detected-classes: class ids are 0..n_classes-1 */
    /* n_classes entries: the pre-cluster-threshold of each class. A plugin should report only boxes
     * whose score reaches their class's threshold (the host drops the others anyway). */
    const float * pre_cluster_thresholds;
    int32_t       batch; /* which batch item the layers belong to (for plugins that log) */
} ei_parser_input;

typedef struct ei_parser_output {
    uint32_t       size;       /* sizeof(ei_parser_output) */
    ei_detection * detections; /* caller-allocated, capacity entries */
    int32_t        capacity;
    int32_t        count;                       /* written by the plugin */
    char           error[EI_PARSER_ERROR_SIZE]; /* a message the plugin may write on failure */
} ei_parser_output;

typedef uint32_t (*ei_parser_abi_version_fn)(void);
typedef int (*ei_parser_fn)(const ei_parser_input * in, ei_parser_output * out);

/* ---- the host side ---- */

typedef struct ei_parser_plugin ei_parser_plugin;

/* Loads lib_path with dlopen(RTLD_NOW | RTLD_LOCAL), checks its ABI version and finds func_name.
 * A missing or unloadable file, a missing symbol and a version mismatch each fail with a message
 * naming the library (and the dlerror text). Both strings are copied. The caller owns *out. */
EI_API EI_NODISCARD ei_status * ei_parser_plugin_load(const char * lib_path, const char * func_name,
                                                      ei_parser_plugin ** out);
/* dlcloses the library (NULL-safe). No call may be in flight. */
EI_API void ei_parser_plugin_destroy(ei_parser_plugin * plugin);

/* The channel count given to the plugin as net_c (3 unless set). */
EI_API void ei_parser_plugin_set_channels(ei_parser_plugin * plugin, int32_t net_c);

/* Runs the plugin on batch item `batch` of the network outputs (float32 tensors, n_outputs of them,
 * named by output_names) and appends its detections, in network-input pixels (net_w x net_h), to
 * out — the same contract as ei_decoder_run in detect.h: boxes below their class's
 * attrs[c].pre_cluster_threshold are dropped, no NMS is run. attrs has n_classes entries. Keeps no
 * pointer to the arguments after returning; allocates the plugin's buffer per call, so calls on one
 * plugin from several threads are safe when the plugin's function is. */
EI_API EI_NODISCARD ei_status * ei_parser_plugin_run(ei_parser_plugin * plugin, const ei_tensor * const * outputs,
                                                     const char * const * output_names, int32_t n_outputs,
                                                     int32_t batch, int32_t net_w, int32_t net_h,
                                                     const ei_class_attrs * attrs, int32_t n_classes,
                                                     ei_detections * out);

#ifdef __cplusplus
}
#endif
#endif
