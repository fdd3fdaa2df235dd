/* A bounded decoder of the ONNX protobuf wire format into plain structs.
 *
 * Why hand-written (docs/onnx-reader.md): weights are referenced in place in the caller's buffer
 * (an mmap'd file) instead of being copied by a generated parser; every length, count and index is
 * checked against the bytes that remain, so the fuzzer has a small surface to cover; no
 * protobuf-c or generated code to build.
 *
 * Every `ei_pb_bytes` points into the buffer given to ei_onnx_parse_model: that buffer must
 * outlive the parsed model. Strings are NOT NUL-terminated (use .n). Everything else (arrays of
 * structs, decoded typed tensor fields) is owned by the parsed model and freed by
 * ei_onnx_model_free. */
#ifndef EI_ONNX_PB_H
#define EI_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct ei_pb_bytes {
    const uint8_t * p;
    size_t          n;
} ei_pb_bytes;

typedef struct ei_onnx_kv { /* StringStringEntryProto */
    ei_pb_bytes key, value;
} ei_onnx_kv;

typedef struct ei_onnx_tensor { /* TensorProto */
    ei_pb_bytes name;
    int32_t     data_type; /* TensorProto.DataType; 0 when absent */
    int32_t     n_dims;
    int64_t *   dims;     /* n_dims entries, checked >= 0 */
    ei_pb_bytes raw_data; /* n == 0 when absent */
    /* Typed fields, decoded from packed or unpacked encoding; count = elements. */
    int64_t      n_float_data;
    float *      float_data;
    int64_t      n_int32_data;
    int32_t *    int32_data; /* also holds f16/bf16/bool/int8/uint8/int16/uint16 */
    int64_t      n_int64_data;
    int64_t *    int64_data;
    int64_t      n_double_data;
    double *     double_data;
    int64_t      n_uint64_data;
    uint64_t *   uint64_data;   /* uint32/uint64 */
    int32_t      n_string_data; /* counted only; string tensors are not supported */
    int32_t      data_location; /* 0 DEFAULT, 1 EXTERNAL */
    int32_t      n_external;
    ei_onnx_kv * external;    /* location / offset / length / checksum */
    int32_t      has_segment; /* segment field present (unsupported) */
} ei_onnx_tensor;

typedef struct ei_onnx_dim { /* TensorShapeProto.Dimension */
    int64_t     value;       /* -1 when the dimension is symbolic or absent */
    ei_pb_bytes param;       /* dim_param, n == 0 when absent */
} ei_onnx_dim;

typedef struct ei_onnx_value_info { /* ValueInfoProto with a tensor TypeProto */
    ei_pb_bytes   name;
    int32_t       elem_type; /* 0 when absent */
    int32_t       has_shape; /* shape field present (a rank-0 shape is present but empty) */
    int32_t       n_dims;
    ei_onnx_dim * dims;
    int32_t       is_tensor; /* 0 for sequence/map/optional/sparse types */
} ei_onnx_value_info;

typedef struct ei_onnx_graph ei_onnx_graph;

typedef struct ei_onnx_attr { /* AttributeProto */
    ei_pb_bytes      name;
    int32_t          type; /* AttributeProto.AttributeType (1 FLOAT .. 8 STRINGS, 5 GRAPH ...) */
    float            f;
    int64_t          i;
    ei_pb_bytes      s;
    ei_onnx_tensor * t; /* NULL when absent */
    ei_pb_bytes      g; /* raw GraphProto bytes, not decoded */
    int32_t          n_floats;
    float *          floats;
    int32_t          n_ints;
    int64_t *        ints;
    int32_t          n_strings;
    ei_pb_bytes *    strings;
    ei_pb_bytes      ref_attr_name; /* set inside functions only */
} ei_onnx_attr;

typedef struct ei_onnx_node { /* NodeProto */
    ei_pb_bytes    name, op_type, domain;
    int32_t        n_inputs;
    ei_pb_bytes *  inputs; /* "" = omitted optional input */
    int32_t        n_outputs;
    ei_pb_bytes *  outputs;
    int32_t        n_attrs;
    ei_onnx_attr * attrs;
} ei_onnx_node;

struct ei_onnx_graph { /* GraphProto */
    ei_pb_bytes          name;
    int32_t              n_nodes;
    ei_onnx_node *       nodes;
    int32_t              n_initializers;
    ei_onnx_tensor *     initializers;
    int32_t              n_inputs;
    ei_onnx_value_info * inputs;
    int32_t              n_outputs;
    ei_onnx_value_info * outputs;
    int32_t              n_value_info;
    ei_onnx_value_info * value_info;
    int32_t              n_sparse_initializers; /* counted only; refused by the importer */
};

typedef struct ei_onnx_opset { /* OperatorSetIdProto */
    ei_pb_bytes domain;
    int64_t     version;
} ei_onnx_opset;

typedef struct ei_onnx_model { /* ModelProto */
    int64_t         ir_version;
    ei_pb_bytes     producer_name, producer_version, domain;
    int64_t         model_version;
    int32_t         n_opsets;
    ei_onnx_opset * opsets;
    int32_t         has_graph;
    ei_onnx_graph   graph;
    int32_t         n_functions; /* counted only */
} ei_onnx_model;

/* Hard limits; a file beyond them is refused with a message naming the limit. */
#define EI_ONNX_MAX_NESTING 16        /* message nesting depth */
#define EI_ONNX_MAX_DIMS    8         /* rank of any tensor or value_info */
#define EI_ONNX_MAX_COUNT   (1 << 24) /* elements of any repeated field */

/* Parses a ModelProto from data[0..size). On error returns a status whose message says what is
 * wrong and where ("graph.node[12].attribute[3]: length 4000 exceeds the 12 bytes left").
 * The caller owns *out (free with ei_onnx_model_free); data must outlive it. */
ei_status * ei_onnx_parse_model(const uint8_t * data, size_t size, ei_onnx_model ** out);
void        ei_onnx_model_free(ei_onnx_model * m);

/* Parses a TensorProto (an ONNX test-data .pb file). data must outlive *out. */
ei_status * ei_onnx_parse_tensor(const uint8_t * data, size_t size, ei_onnx_tensor ** out);
void        ei_onnx_tensor_free(ei_onnx_tensor * t);

/* Compares a ei_pb_bytes with a C string. */
int ei_pb_bytes_eq(ei_pb_bytes b, const char * s);

#endif
