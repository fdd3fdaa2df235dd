/* Fuzz target for the ONNX protobuf decoder: any input must either parse into a model whose
 * invariants hold (every slice inside the input, limits respected) or fail with a message,
 * without crashing, leaking or reading out of bounds. Also parses the input as a TensorProto. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "onnx/onnx_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

typedef struct ei_fz {
    const uint8_t * data;
    size_t          size;
    uint64_t        sum; /* reading every byte lets AddressSanitizer check every slice */
} ei_fz;

static void ei_fz_require(int ok, const char * what) {
    if (ok) return;
    fprintf(stderr, "fuzz_onnx: invariant violated: %s\n", what);
    abort();
}

static void ei_fz_bytes(ei_fz * z, ei_pb_bytes b) {
    if (!b.n) return;
    uintptr_t lo = (uintptr_t)z->data, p = (uintptr_t)b.p;
    ei_fz_require(p >= lo && b.n <= z->size && p - lo <= z->size - b.n, "slice outside input");
    for (size_t i = 0; i < b.n; i++) z->sum += b.p[i];
}

static void ei_fz_count(int64_t n, int64_t max, const void * p) {
    ei_fz_require(n >= 0 && n <= max, "count out of range");
    ei_fz_require(n == 0 || p != NULL, "NULL array with a count");
}

static void ei_fz_tensor(ei_fz * z, const ei_onnx_tensor * t) {
    ei_fz_bytes(z, t->name);
    ei_fz_bytes(z, t->raw_data);
    ei_fz_count(t->n_dims, EI_ONNX_MAX_DIMS, t->dims);
    for (int32_t i = 0; i < t->n_dims; i++) ei_fz_require(t->dims[i] >= 0, "negative dim");
    ei_fz_count(t->n_float_data, EI_ONNX_MAX_COUNT, t->float_data);
    ei_fz_count(t->n_int32_data, EI_ONNX_MAX_COUNT, t->int32_data);
    ei_fz_count(t->n_int64_data, EI_ONNX_MAX_COUNT, t->int64_data);
    ei_fz_count(t->n_double_data, EI_ONNX_MAX_COUNT, t->double_data);
    ei_fz_count(t->n_uint64_data, EI_ONNX_MAX_COUNT, t->uint64_data);
    ei_fz_count(t->n_external, EI_ONNX_MAX_COUNT, t->external);
    ei_fz_count(t->n_string_data, EI_ONNX_MAX_COUNT, "");
    for (int64_t i = 0; i < t->n_float_data; i++) z->sum += (uint64_t)(t->float_data[i] > 0);
    for (int64_t i = 0; i < t->n_int32_data; i++) z->sum += (uint64_t)t->int32_data[i];
    for (int64_t i = 0; i < t->n_int64_data; i++) z->sum += (uint64_t)t->int64_data[i];
    for (int64_t i = 0; i < t->n_double_data; i++) z->sum += (uint64_t)(t->double_data[i] > 0);
    for (int64_t i = 0; i < t->n_uint64_data; i++) z->sum += t->uint64_data[i];
    for (int32_t i = 0; i < t->n_external; i++) {
        ei_fz_bytes(z, t->external[i].key);
        ei_fz_bytes(z, t->external[i].value);
    }
}

static void ei_fz_value_infos(ei_fz * z, const ei_onnx_value_info * v, int32_t n) {
    ei_fz_count(n, EI_ONNX_MAX_COUNT, v);
    for (int32_t i = 0; i < n; i++) {
        ei_fz_bytes(z, v[i].name);
        ei_fz_count(v[i].n_dims, EI_ONNX_MAX_DIMS, v[i].dims);
        for (int32_t d = 0; d < v[i].n_dims; d++) {
            ei_fz_require(v[i].dims[d].value >= -1, "dim_value below -1");
            ei_fz_bytes(z, v[i].dims[d].param);
        }
    }
}

static void ei_fz_attr(ei_fz * z, const ei_onnx_attr * a) {
    ei_fz_bytes(z, a->name);
    ei_fz_bytes(z, a->s);
    ei_fz_bytes(z, a->g);
    ei_fz_bytes(z, a->ref_attr_name);
    if (a->t) ei_fz_tensor(z, a->t);
    ei_fz_count(a->n_floats, EI_ONNX_MAX_COUNT, a->floats);
    ei_fz_count(a->n_ints, EI_ONNX_MAX_COUNT, a->ints);
    ei_fz_count(a->n_strings, EI_ONNX_MAX_COUNT, a->strings);
    for (int32_t i = 0; i < a->n_floats; i++) z->sum += (uint64_t)(a->floats[i] > 0);
    for (int32_t i = 0; i < a->n_ints; i++) z->sum += (uint64_t)a->ints[i];
    for (int32_t i = 0; i < a->n_strings; i++) ei_fz_bytes(z, a->strings[i]);
}

static void ei_fz_node(ei_fz * z, const ei_onnx_node * n) {
    ei_fz_bytes(z, n->name);
    ei_fz_bytes(z, n->op_type);
    ei_fz_bytes(z, n->domain);
    ei_fz_count(n->n_inputs, EI_ONNX_MAX_COUNT, n->inputs);
    ei_fz_count(n->n_outputs, EI_ONNX_MAX_COUNT, n->outputs);
    ei_fz_count(n->n_attrs, EI_ONNX_MAX_COUNT, n->attrs);
    for (int32_t i = 0; i < n->n_inputs; i++) ei_fz_bytes(z, n->inputs[i]);
    for (int32_t i = 0; i < n->n_outputs; i++) ei_fz_bytes(z, n->outputs[i]);
    for (int32_t i = 0; i < n->n_attrs; i++) ei_fz_attr(z, &n->attrs[i]);
}

static void ei_fz_model(ei_fz * z, const ei_onnx_model * m) {
    ei_fz_bytes(z, m->producer_name);
    ei_fz_bytes(z, m->producer_version);
    ei_fz_bytes(z, m->domain);
    ei_fz_count(m->n_opsets, EI_ONNX_MAX_COUNT, m->opsets);
    for (int32_t i = 0; i < m->n_opsets; i++) ei_fz_bytes(z, m->opsets[i].domain);
    const ei_onnx_graph * g = &m->graph;
    ei_fz_bytes(z, g->name);
    ei_fz_count(g->n_nodes, EI_ONNX_MAX_COUNT, g->nodes);
    for (int32_t i = 0; i < g->n_nodes; i++) ei_fz_node(z, &g->nodes[i]);
    ei_fz_count(g->n_initializers, EI_ONNX_MAX_COUNT, g->initializers);
    for (int32_t i = 0; i < g->n_initializers; i++) ei_fz_tensor(z, &g->initializers[i]);
    ei_fz_value_infos(z, g->inputs, g->n_inputs);
    ei_fz_value_infos(z, g->outputs, g->n_outputs);
    ei_fz_value_infos(z, g->value_info, g->n_value_info);
}

static void ei_fz_status(ei_status * st) {
    ei_code c = ei_status_code(st);
    ei_fz_require(c == EI_CODE_INVALID_MODEL || c == EI_CODE_OUT_OF_MEMORY, "unexpected code");
    ei_fz_require(ei_status_message(st)[0] != '\0', "empty error message");
    ei_status_destroy(st);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ei_fz           z = {data, size, 0};
    ei_onnx_model * m = NULL;
    ei_status *     st = ei_onnx_parse_model(data, size, &m);
    if (st) {
        ei_fz_require(m == NULL, "model returned with an error");
        ei_fz_status(st);
    } else {
        ei_fz_model(&z, m);
        ei_onnx_model_free(m);
    }
    ei_onnx_tensor * t = NULL;
    st = ei_onnx_parse_tensor(data, size, &t);
    if (st) {
        ei_fz_require(t == NULL, "tensor returned with an error");
        ei_fz_status(st);
    } else {
        ei_fz_tensor(&z, t);
        ei_onnx_tensor_free(t);
    }
    /* Keeps the reads alive under optimization. */
    volatile uint64_t sink = z.sum;
    (void)sink;
    return 0;
}
