/* The ONNX protobuf decoder: wire-level reads, both encodings of repeated scalars, every
 * message kind, the limits, error paths, truncations and hostile repetition. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <time.h>

#include "ei_test.h"
#include "onnx/onnx_pb.h"
#include "onnx/pb_wire.h"

/* ---- a tiny protobuf writer -------------------------------------------------------------- */

typedef struct pbuf {
    uint8_t * p;
    size_t    n, cap;
} pbuf;

static void put_raw(pbuf * b, const void * p, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        uint8_t * q = realloc(b->p, cap);
        if (!q) abort();
        b->p = q, b->cap = cap;
    }
    if (n && p) memcpy(b->p + b->n, p, n); /* p == NULL: reserve only, the caller fills */
    b->n += n;
}

static void put_varint(pbuf * b, uint64_t v) {
    uint8_t tmp[10];
    size_t  n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put_raw(b, tmp, n);
}

static void put_tag(pbuf * b, uint32_t field, uint32_t wire) { put_varint(b, (uint64_t)field << 3 | wire); }

static void put_uint(pbuf * b, uint32_t field, uint64_t v) {
    put_tag(b, field, 0);
    put_varint(b, v);
}

static void put_int(pbuf * b, uint32_t field, int64_t v) { put_uint(b, field, (uint64_t)v); }

static void put_len(pbuf * b, uint32_t field, const void * p, size_t n) {
    put_tag(b, field, 2);
    put_varint(b, n);
    put_raw(b, p, n);
}

static void put_str(pbuf * b, uint32_t field, const char * s) { put_len(b, field, s, strlen(s)); }

/* Writes sub as a length-delimited field and frees it. */
static void put_msg(pbuf * b, uint32_t field, pbuf * sub) {
    put_len(b, field, sub->p, sub->n);
    free(sub->p);
    *sub = (pbuf){0};
}

static void put_fixed32(pbuf * b, uint32_t field, uint32_t v) {
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_tag(b, field, 5);
    put_raw(b, t, 4);
}

static void put_float(pbuf * b, uint32_t field, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put_fixed32(b, field, v);
}

static void put_fixed64(pbuf * b, uint32_t field, uint64_t v) {
    uint8_t t[8];
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (8 * i));
    put_tag(b, field, 1);
    put_raw(b, t, 8);
}

static void put_double(pbuf * b, uint32_t field, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    put_fixed64(b, field, v);
}

static void put_packed_varints(pbuf * b, uint32_t field, const int64_t * v, size_t n) {
    pbuf sub = {0};
    for (size_t i = 0; i < n; i++) put_varint(&sub, (uint64_t)v[i]);
    put_msg(b, field, &sub);
}

static void put_packed_floats(pbuf * b, uint32_t field, const float * v, size_t n) {
    put_len(b, field, v, n * sizeof *v); /* little-endian hosts only, like the CI */
}

static ei_status * parse_model(const pbuf * b, ei_onnx_model ** m) { return ei_onnx_parse_model(b->p, b->n, m); }

/* A model with graph {body} wrapped around it. */
static pbuf model_with_graph(pbuf * graph) {
    pbuf m = {0};
    put_int(&m, 1, 8);
    put_msg(&m, 7, graph);
    return m;
}

static void expect_model_error(pbuf * graph, const char * substr) {
    pbuf            b = model_with_graph(graph);
    ei_onnx_model * m = (ei_onnx_model *)1;
    EI_CHECK_ERROR(parse_model(&b, &m), EI_CODE_INVALID_MODEL, substr);
    EI_CHECK(m == NULL);
    free(b.p);
}

/* ---- wire level -------------------------------------------------------------------------- */

static void test_varint(void) {
    uint64_t     v;
    uint8_t      one[] = {0x05};
    ei_pb_reader r = ei_pb_reader_make(one, 1);
    EI_CHECK(ei_pb_read_varint(&r, &v) == EI_PB_OK && v == 5 && ei_pb_left(&r) == 0);

    uint8_t two[] = {0xac, 0x02};
    r = ei_pb_reader_make(two, 2);
    EI_CHECK(ei_pb_read_varint(&r, &v) == EI_PB_OK && v == 300);

    uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    r = ei_pb_reader_make(max, sizeof max);
    EI_CHECK(ei_pb_read_varint(&r, &v) == EI_PB_OK && v == UINT64_MAX);

    uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    r = ei_pb_reader_make(over, sizeof over);
    EI_CHECK(ei_pb_read_varint(&r, &v) == EI_PB_ERR_VARINT);

    uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    r = ei_pb_reader_make(eleven, sizeof eleven);
    EI_CHECK(ei_pb_read_varint(&r, &v) == EI_PB_ERR_VARINT);

    uint8_t trunc[] = {0x80, 0x80};
    r = ei_pb_reader_make(trunc, sizeof trunc);
    EI_CHECK(ei_pb_read_varint(&r, &v) == EI_PB_ERR_TRUNCATED);

    r = ei_pb_reader_make(NULL, 0);
    EI_CHECK(ei_pb_read_varint(&r, &v) == EI_PB_ERR_TRUNCATED);
}

static void test_wire_fields(void) {
    ei_pb_field  f;
    uint8_t      zero[] = {0x00, 0x00};
    ei_pb_reader r = ei_pb_reader_make(zero, sizeof zero);
    EI_CHECK(ei_pb_read_tag(&r, &f) == EI_PB_ERR_FIELD_ZERO);

    uint8_t group[] = {0x0b, 0x0c}; /* field 1 start group, end group */
    r = ei_pb_reader_make(group, sizeof group);
    EI_CHECK(ei_pb_read_tag(&r, &f) == EI_PB_OK && f.number == 1 && f.wire == 3);
    EI_CHECK(ei_pb_read_value(&r, &f) == EI_PB_ERR_GROUP);

    uint8_t bad_wire[] = {0x0e, 0x00};
    r = ei_pb_reader_make(bad_wire, sizeof bad_wire);
    EI_CHECK(ei_pb_read_tag(&r, &f) == EI_PB_OK);
    EI_CHECK(ei_pb_read_value(&r, &f) == EI_PB_ERR_WIRE_TYPE);

    uint8_t big_field[] = {0xf8, 0xff, 0xff, 0xff, 0x7f}; /* field 2^32 - 1 */
    r = ei_pb_reader_make(big_field, sizeof big_field);
    EI_CHECK(ei_pb_read_tag(&r, &f) == EI_PB_ERR_FIELD_RANGE);

    uint8_t len[] = {0x0a, 0x05, 'a', 'b'};
    r = ei_pb_reader_make(len, sizeof len);
    EI_CHECK(ei_pb_read_tag(&r, &f) == EI_PB_OK);
    EI_CHECK(ei_pb_read_value(&r, &f) == EI_PB_ERR_LENGTH && f.u == 5);
    char msg[128];
    ei_pb_strerror(EI_PB_ERR_LENGTH, &r, &f, msg, sizeof msg);
    EI_CHECK(strcmp(msg, "length 5 exceeds the 2 bytes left") == 0);

    uint8_t fixed[] = {0x0d, 1, 2, 3, 4, 0x11, 1, 2, 3, 4, 5, 6, 7, 8};
    r = ei_pb_reader_make(fixed, sizeof fixed);
    EI_CHECK(ei_pb_read_tag(&r, &f) == EI_PB_OK && ei_pb_read_value(&r, &f) == EI_PB_OK);
    EI_CHECK(f.u == 0x04030201u);
    EI_CHECK(ei_pb_read_tag(&r, &f) == EI_PB_OK && ei_pb_read_value(&r, &f) == EI_PB_OK);
    EI_CHECK(f.u == 0x0807060504030201ull && ei_pb_left(&r) == 0);

    size_t  count;
    uint8_t packed[] = {0x01, 0xac, 0x02, 0x7f};
    EI_CHECK(ei_pb_count_varints(packed, sizeof packed, &count) == EI_PB_OK && count == 3);
    EI_CHECK(ei_pb_count_varints(packed, 2, &count) == EI_PB_ERR_TRUNCATED);
}

/* ---- a complete model -------------------------------------------------------------------- */

static pbuf full_model(void) {
    pbuf attr_ints = {0}, attr_floats = {0}, attr_t = {0}, attr_legacy = {0}, attr_s = {0};
    put_str(&attr_ints, 1, "pads");
    put_int(&attr_ints, 20, 7);
    put_int(&attr_ints, 8, 1); /* unpacked, then packed: protobuf concatenates */
    int64_t more[] = {-2, 3};
    put_packed_varints(&attr_ints, 8, more, 2);

    put_str(&attr_floats, 1, "scales");
    put_int(&attr_floats, 20, 6);
    float fl[] = {1.5f, -2.0f};
    put_packed_floats(&attr_floats, 7, fl, 2);
    put_float(&attr_floats, 7, 4.0f);

    pbuf t = {0};
    put_int(&t, 1, 2);
    put_int(&t, 2, 7);
    int64_t tv[] = {10, -20};
    put_packed_varints(&t, 7, tv, 2);
    put_str(&attr_t, 1, "value");
    put_int(&attr_t, 20, 4);
    put_msg(&attr_t, 5, &t);

    put_str(&attr_legacy, 1, "alpha"); /* IR 3: no type */
    put_float(&attr_legacy, 2, 0.25f);

    put_str(&attr_s, 1, "mode");
    put_str(&attr_s, 4, "nearest");
    put_int(&attr_s, 13, 0); /* doc_string with the wrong wire type: ignored */

    pbuf node = {0};
    put_str(&node, 1, "x");
    put_str(&node, 1, "");
    put_str(&node, 1, "w");
    put_str(&node, 2, "y");
    put_str(&node, 3, "n0");
    put_str(&node, 4, "Conv");
    put_str(&node, 7, "");
    put_msg(&node, 5, &attr_ints);
    put_msg(&node, 5, &attr_floats);
    put_msg(&node, 5, &attr_t);
    put_msg(&node, 5, &attr_legacy);
    put_msg(&node, 5, &attr_s);
    put_str(&node, 6, "documentation");

    pbuf    init = {0};
    int64_t dims[] = {2, 3};
    put_packed_varints(&init, 1, dims, 2);
    put_int(&init, 2, 1);
    put_str(&init, 8, "w");
    float w[6] = {1, 2, 3, 4, 5, 6};
    put_len(&init, 9, w, sizeof w);

    pbuf dim0 = {0}, dim1 = {0}, dim2 = {0}, shape = {0}, tt = {0}, type = {0}, vi = {0};
    put_str(&dim0, 2, "N");
    put_int(&dim1, 1, 3);
    put_str(&dim2, 3, "denotation only");
    put_msg(&shape, 1, &dim0);
    put_msg(&shape, 1, &dim1);
    put_msg(&shape, 1, &dim2);
    put_int(&tt, 1, 1);
    put_msg(&tt, 2, &shape);
    put_msg(&type, 1, &tt);
    put_str(&vi, 1, "x");
    put_msg(&vi, 2, &type);

    pbuf seq = {0}, seq_type = {0}, vo = {0};
    put_msg(&seq_type, 4, &seq);
    put_str(&vo, 1, "y");
    put_msg(&vo, 2, &seq_type);

    pbuf vnone = {0};
    put_str(&vnone, 1, "untyped");

    pbuf graph = {0};
    put_str(&graph, 2, "g");
    put_msg(&graph, 1, &node);
    put_msg(&graph, 5, &init);
    put_msg(&graph, 11, &vi);
    put_msg(&graph, 12, &vo);
    put_msg(&graph, 13, &vnone);
    put_str(&graph, 15, "");
    put_str(&graph, 14, "skipped");
    put_fixed64(&graph, 99, 1); /* unknown fields of every wire type */
    put_fixed32(&graph, 98, 1);
    put_uint(&graph, 97, 1);
    put_str(&graph, 96, "x");

    pbuf opset = {0};
    put_str(&opset, 1, "");
    put_int(&opset, 2, 17);

    pbuf m = {0};
    put_int(&m, 1, 8);
    put_str(&m, 2, "edgeinfer-test");
    put_str(&m, 3, "1.0");
    put_str(&m, 4, "ai.test");
    put_int(&m, 5, 3);
    put_msg(&m, 8, &opset);
    put_msg(&m, 7, &graph);
    put_str(&m, 25, "");
    put_str(&m, 25, "");
    put_str(&m, 14, "");
    return m;
}

static void test_full_model(void) {
    pbuf            b = full_model();
    ei_onnx_model * m = NULL;
    EI_CHECK_OK(parse_model(&b, &m));
    if (!m) {
        free(b.p);
        return;
    }
    EI_CHECK(m->ir_version == 8 && m->model_version == 3);
    EI_CHECK(ei_pb_bytes_eq(m->producer_name, "edgeinfer-test"));
    EI_CHECK(ei_pb_bytes_eq(m->producer_version, "1.0"));
    EI_CHECK(ei_pb_bytes_eq(m->domain, "ai.test"));
    EI_CHECK(m->n_opsets == 1 && ei_pb_bytes_eq(m->opsets[0].domain, "") && m->opsets[0].version == 17);
    EI_CHECK(m->n_functions == 2 && m->has_graph);

    const ei_onnx_graph * g = &m->graph;
    EI_CHECK(ei_pb_bytes_eq(g->name, "g"));
    EI_CHECK(g->n_nodes == 1 && g->n_initializers == 1 && g->n_sparse_initializers == 1);
    const ei_onnx_node * n = &g->nodes[0];
    EI_CHECK(ei_pb_bytes_eq(n->op_type, "Conv") && ei_pb_bytes_eq(n->name, "n0"));
    EI_CHECK(n->n_inputs == 3 && ei_pb_bytes_eq(n->inputs[1], "") && ei_pb_bytes_eq(n->inputs[2], "w"));
    EI_CHECK(n->n_outputs == 1 && ei_pb_bytes_eq(n->outputs[0], "y"));
    EI_CHECK(n->n_attrs == 5);
    if (n->n_attrs == 5) {
        const ei_onnx_attr * a = n->attrs;
        EI_CHECK(a[0].type == 7 && a[0].n_ints == 3 && a[0].ints[0] == 1 && a[0].ints[1] == -2 && a[0].ints[2] == 3);
        EI_CHECK(a[1].type == 6 && a[1].n_floats == 3 && a[1].floats[0] == 1.5f && a[1].floats[1] == -2.0f &&
                 a[1].floats[2] == 4.0f);
        EI_CHECK(a[2].type == 4 && a[2].t && a[2].t->data_type == 7 && a[2].t->n_dims == 1 &&
                 a[2].t->n_int64_data == 2 && a[2].t->int64_data[1] == -20);
        EI_CHECK(a[3].type == 1 && a[3].f == 0.25f);
        EI_CHECK(a[4].type == 3 && ei_pb_bytes_eq(a[4].s, "nearest"));
    }
    const ei_onnx_tensor * w = &g->initializers[0];
    EI_CHECK(ei_pb_bytes_eq(w->name, "w") && w->data_type == 1 && w->n_dims == 2 && w->dims[0] == 2 &&
             w->dims[1] == 3 && w->raw_data.n == 24);
    /* raw_data is a slice of the input, not a copy */
    EI_CHECK(w->raw_data.p > b.p && w->raw_data.p + 24 <= b.p + b.n);

    EI_CHECK(g->n_inputs == 1 && g->inputs[0].is_tensor && g->inputs[0].elem_type == 1);
    EI_CHECK(g->inputs[0].has_shape && g->inputs[0].n_dims == 3);
    if (g->inputs[0].n_dims == 3) {
        const ei_onnx_dim * d = g->inputs[0].dims;
        EI_CHECK(d[0].value == -1 && ei_pb_bytes_eq(d[0].param, "N"));
        EI_CHECK(d[1].value == 3 && d[1].param.n == 0);
        EI_CHECK(d[2].value == -1 && d[2].param.n == 0);
    }
    EI_CHECK(g->n_outputs == 1 && !g->outputs[0].is_tensor);
    EI_CHECK(g->n_value_info == 1 && g->value_info[0].is_tensor && !g->value_info[0].has_shape &&
             g->value_info[0].elem_type == 0);
    ei_onnx_model_free(m);
    free(b.p);
}

/* Every prefix, and every single-byte corruption, must fail cleanly or parse. */
static void test_truncations_and_flips(void) {
    pbuf b = full_model();
    int  bad_codes = 0, failed = 0;
    for (size_t len = 0; len < b.n; len++) {
        uint8_t * copy = malloc(len ? len : 1);
        memcpy(copy, b.p, len);
        ei_onnx_model * m = NULL;
        ei_status *     st = ei_onnx_parse_model(copy, len, &m);
        if (st) failed++;
        if (st && ei_status_code(st) != EI_CODE_INVALID_MODEL) bad_codes++;
        ei_status_destroy(st);
        ei_onnx_model_free(m);
        free(copy);
    }
    EI_CHECK(bad_codes == 0);
    EI_CHECK(failed > (int)b.n / 2);
    for (size_t i = 0; i < b.n; i++) {
        for (int v = 0; v < 256; v += 37) {
            uint8_t save = b.p[i];
            b.p[i] = (uint8_t)v;
            ei_onnx_model * m = NULL;
            ei_status *     st = ei_onnx_parse_model(b.p, b.n, &m);
            if (st && ei_status_code(st) != EI_CODE_INVALID_MODEL) bad_codes++;
            ei_status_destroy(st);
            ei_onnx_model_free(m);
            b.p[i] = save;
        }
    }
    EI_CHECK(bad_codes == 0);
    free(b.p);
}

/* ---- tensors: every typed field in both encodings ---------------------------------------- */

static void test_tensor_encodings(void) {
    pbuf t = {0};
    put_int(&t, 1, 2); /* dims: unpacked then packed */
    int64_t d[] = {3};
    put_packed_varints(&t, 1, d, 1);
    put_int(&t, 2, 6);
    put_int(&t, 5, -1); /* int32_data: a negative int32 is a 10-byte varint */
    int64_t i32[] = {2, 3, -4, 5, 6};
    put_packed_varints(&t, 5, i32, 5);
    put_float(&t, 4, 1.0f);
    float f[] = {2.0f, 3.0f};
    put_packed_floats(&t, 4, f, 2);
    put_int(&t, 7, INT64_MIN);
    int64_t i64[] = {INT64_MAX};
    put_packed_varints(&t, 7, i64, 1);
    put_double(&t, 10, 0.5);
    double dd[] = {-0.25};
    put_len(&t, 10, dd, sizeof dd);
    put_uint(&t, 11, UINT64_MAX);
    int64_t u64[] = {7};
    put_packed_varints(&t, 11, u64, 1);
    put_str(&t, 6, "s0");
    put_str(&t, 6, "s1");
    pbuf kv = {0}, seg = {0};
    put_str(&kv, 1, "location");
    put_str(&kv, 2, "w.bin");
    put_msg(&t, 13, &kv);
    put_int(&t, 14, 1);
    put_int(&seg, 1, 0);
    put_msg(&t, 3, &seg);
    put_str(&t, 12, "doc");

    ei_onnx_tensor * x = NULL;
    EI_CHECK_OK(ei_onnx_parse_tensor(t.p, t.n, &x));
    if (x) {
        EI_CHECK(x->n_dims == 2 && x->dims[0] == 2 && x->dims[1] == 3 && x->data_type == 6);
        EI_CHECK(x->n_int32_data == 6 && x->int32_data[0] == -1 && x->int32_data[3] == -4);
        EI_CHECK(x->n_float_data == 3 && x->float_data[0] == 1.0f && x->float_data[2] == 3.0f);
        EI_CHECK(x->n_int64_data == 2 && x->int64_data[0] == INT64_MIN && x->int64_data[1] == INT64_MAX);
        EI_CHECK(x->n_double_data == 2 && x->double_data[0] == 0.5 && x->double_data[1] == -0.25);
        EI_CHECK(x->n_uint64_data == 2 && x->uint64_data[0] == UINT64_MAX && x->uint64_data[1] == 7);
        EI_CHECK(x->n_string_data == 2 && x->has_segment && x->data_location == 1);
        EI_CHECK(x->n_external == 1 && ei_pb_bytes_eq(x->external[0].key, "location") &&
                 ei_pb_bytes_eq(x->external[0].value, "w.bin"));
    }
    ei_onnx_tensor_free(x);
    free(t.p);
}

static void expect_tensor_error(pbuf * t, const char * substr) {
    ei_onnx_tensor * x = (ei_onnx_tensor *)1;
    EI_CHECK_ERROR(ei_onnx_parse_tensor(t->p, t->n, &x), EI_CODE_INVALID_MODEL, substr);
    EI_CHECK(x == NULL);
    free(t->p);
    *t = (pbuf){0};
}

static void test_tensor_errors(void) {
    pbuf t = {0};
    put_int(&t, 1, 2);
    put_int(&t, 1, -5);
    expect_tensor_error(&t, "dims[1]: negative dimension -5");

    for (int i = 0; i < 9; i++) put_int(&t, 1, 1);
    expect_tensor_error(&t, "dims: more than 8 entries (EI_ONNX_MAX_DIMS)");

    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    put_packed_varints(&t, 1, nine, 9);
    expect_tensor_error(&t, "dims: more than 8 entries");

    put_int(&t, 2, 99);
    expect_tensor_error(&t, "data_type: unknown data type 99");

    put_int(&t, 2, -1);
    expect_tensor_error(&t, "data_type: unknown data type -1");

    put_int(&t, 1, 2);
    put_int(&t, 2, 1);
    put_len(&t, 9, "abc", 3);
    expect_tensor_error(&t, "raw_data: 3 bytes, but 2 elements of data_type 1 need 8");

    put_int(&t, 1, 3);
    put_int(&t, 2, 22); /* INT4: 3 elements in 2 bytes */
    put_len(&t, 9, "ab", 2);
    ei_onnx_tensor * x = NULL;
    EI_CHECK_OK(ei_onnx_parse_tensor(t.p, t.n, &x));
    ei_onnx_tensor_free(x);
    free(t.p);
    t = (pbuf){0};

    put_int(&t, 1, INT64_MAX);
    put_int(&t, 1, 4);
    expect_tensor_error(&t, "dims: element count overflows int64");

    put_len(&t, 4, "abcde", 5);
    expect_tensor_error(&t, "float_data: packed length 5 is not a multiple of 4");

    put_len(&t, 10, "abcd", 4);
    expect_tensor_error(&t, "double_data: packed length 4 is not a multiple of 8");

    put_len(&t, 7, "\x01\x80", 2);
    expect_tensor_error(&t, "int64_data: packed varints end in the middle of a value");

    put_len(&t, 7, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    expect_tensor_error(&t, "int64_data: packed element 0: varint longer than 10 bytes");

    put_fixed32(&t, 7, 1);
    expect_tensor_error(&t, "int64_data: wire type 5 (fixed32), expected 0 (varint)");

    put_int(&t, 4, 1);
    expect_tensor_error(&t, "float_data: wire type 0 (varint), expected 5 (fixed32)");

    put_int(&t, 8, 1);
    expect_tensor_error(&t, "name: wire type 0 (varint), expected 2 (length-delimited)");

    put_tag(&t, 30, 3);
    expect_tensor_error(&t, "field 30: deprecated group encoding (wire type 3) is not supported");

    put_tag(&t, 30, 7);
    put_varint(&t, 0);
    expect_tensor_error(&t, "field 30: invalid wire type 7");

    put_raw(&t, "\x00\x00", 2);
    expect_tensor_error(&t, "tensor: field number 0 is invalid");

    put_raw(&t, "\x42\x80", 2);
    expect_tensor_error(&t, "name: value truncated");

    put_tag(&t, 8, 2);
    put_varint(&t, 4000);
    put_raw(&t, "abcdefghijkl", 12);
    expect_tensor_error(&t, "name: length 4000 exceeds the 12 bytes left");

    pbuf kv = {0};
    put_msg(&t, 13, &kv);
    put_str(&kv, 1, "location");
    put_msg(&t, 13, &kv);
    put_raw(&kv, "\x0a\x09", 2);
    put_msg(&t, 13, &kv);
    expect_tensor_error(&t, "external_data[2].key: length 9 exceeds the 0 bytes left");
}

/* ---- errors name the path ---------------------------------------------------------------- */

static void test_error_paths(void) {
    /* graph.node[1].attribute[1].t.dims: a packed length beyond the tensor's bytes */
    pbuf t = {0}, a0 = {0}, a1 = {0}, n0 = {0}, n1 = {0}, g = {0};
    put_tag(&t, 1, 2);
    put_varint(&t, 4000);
    put_raw(&t, "0123456789ab", 12);
    put_str(&a0, 1, "first");
    put_str(&a1, 1, "value");
    put_msg(&a1, 5, &t);
    put_msg(&n1, 5, &a0);
    put_msg(&n1, 5, &a1);
    put_msg(&g, 1, &n0);
    put_msg(&g, 1, &n1);
    expect_model_error(&g, "graph.node[1].attribute[1].t.dims: length 4000 exceeds the 12 bytes left");

    pbuf i0 = {0}, i1 = {0}, i2 = {0};
    put_int(&i2, 1, 3);
    put_int(&i2, 1, -5);
    put_msg(&g, 5, &i0);
    put_msg(&g, 5, &i1);
    put_msg(&g, 5, &i2);
    expect_model_error(&g, "graph.initializer[2].dims[1]: negative dimension -5");

    pbuf node = {0};
    put_int(&node, 4, 3);
    put_msg(&g, 1, &node);
    expect_model_error(&g, "graph.node[0].op_type: wire type 0 (varint), expected 2");

    /* a node whose declared length runs past the graph */
    put_tag(&g, 1, 2);
    put_varint(&g, 50);
    put_raw(&g, "xx", 2);
    expect_model_error(&g, "graph.node[0]: length 50 exceeds the 2 bytes left");

    pbuf d = {0}, shape = {0}, tt = {0}, type = {0}, vi = {0};
    put_int(&d, 1, -5);
    put_msg(&shape, 1, &d);
    put_msg(&tt, 2, &shape);
    put_msg(&type, 1, &tt);
    put_msg(&vi, 2, &type);
    put_msg(&g, 12, &vi);
    expect_model_error(&g, "graph.output[0].type.tensor_type.shape.dim[0].dim_value: negative dimension -5");

    for (int i = 0; i < 9; i++) {
        pbuf di = {0};
        put_int(&di, 1, 1);
        put_msg(&shape, 1, &di);
    }
    put_msg(&tt, 2, &shape);
    put_msg(&type, 1, &tt);
    put_msg(&vi, 2, &type);
    put_msg(&g, 11, &vi);
    expect_model_error(&g, "graph.input[0].type.tensor_type.shape.dim: more than 8 entries");

    put_msg(&tt, 2, &shape);
    put_msg(&tt, 2, &shape);
    put_msg(&type, 1, &tt);
    put_msg(&vi, 2, &type);
    put_msg(&g, 13, &vi);
    expect_model_error(&g, "graph.value_info[0].type.tensor_type.shape: appears twice");

    pbuf two = {0}, attr = {0};
    put_str(&attr, 1, "ambiguous");
    put_int(&attr, 3, 1);
    put_float(&attr, 2, 1.0f);
    put_msg(&two, 5, &attr);
    put_msg(&g, 1, &two);
    expect_model_error(&g, "graph.node[0].attribute[0].type: absent, and several value fields are set");

    pbuf m = {0}, g1 = {0}, g2 = {0};
    put_msg(&m, 7, &g1);
    put_msg(&m, 7, &g2);
    ei_onnx_model * out = NULL;
    EI_CHECK_ERROR(parse_model(&m, &out), EI_CODE_INVALID_MODEL, "graph: appears twice");
    free(m.p);
    m = (pbuf){0};
    put_raw(&m, "\x08", 1);
    EI_CHECK_ERROR(parse_model(&m, &out), EI_CODE_INVALID_MODEL, "ir_version: value truncated");
    free(m.p);
    m = (pbuf){0};
    put_raw(&m, "\x80", 1);
    EI_CHECK_ERROR(parse_model(&m, &out), EI_CODE_INVALID_MODEL, "model: value truncated");
    free(m.p);

    EI_CHECK_ERROR(ei_onnx_parse_model(NULL, 3, &out), EI_CODE_INVALID_ARGUMENT, "data");
    EI_CHECK_ERROR(ei_onnx_parse_model(NULL, 0, NULL), EI_CODE_INVALID_ARGUMENT, "out");
}

static void test_attribute_types(void) {
    pbuf a_ints = {0}, a_none = {0}, a_g = {0}, a_strs = {0}, a_keep = {0}, n = {0}, g = {0};
    put_str(&a_ints, 1, "legacy_ints");
    put_int(&a_ints, 8, 4);
    put_str(&a_none, 1, "no_value");
    put_str(&a_g, 1, "body");
    put_str(&a_g, 6, "\x12\x01g"); /* graph kept as bytes, not decoded */
    put_str(&a_strs, 1, "names");
    put_str(&a_strs, 9, "a");
    put_str(&a_strs, 9, "bc");
    put_str(&a_keep, 1, "stated");
    put_int(&a_keep, 20, 2);
    put_int(&a_keep, 3, 0);
    put_str(&a_keep, 21, "outer");
    put_msg(&n, 5, &a_ints);
    put_msg(&n, 5, &a_none);
    put_msg(&n, 5, &a_g);
    put_msg(&n, 5, &a_strs);
    put_msg(&n, 5, &a_keep);
    put_msg(&g, 1, &n);
    pbuf            b = model_with_graph(&g);
    ei_onnx_model * m = NULL;
    EI_CHECK_OK(parse_model(&b, &m));
    if (m && m->graph.n_nodes == 1 && m->graph.nodes[0].n_attrs == 5) {
        const ei_onnx_attr * a = m->graph.nodes[0].attrs;
        EI_CHECK(a[0].type == 7 && a[0].n_ints == 1 && a[0].ints[0] == 4);
        EI_CHECK(a[1].type == 0);
        EI_CHECK(a[2].type == 5 && a[2].g.n == 3);
        EI_CHECK(a[3].type == 8 && a[3].n_strings == 2 && ei_pb_bytes_eq(a[3].strings[1], "bc"));
        EI_CHECK(a[4].type == 2 && a[4].i == 0 && ei_pb_bytes_eq(a[4].ref_attr_name, "outer"));
    } else {
        EI_CHECK(!"model shape");
    }
    ei_onnx_model_free(m);
    free(b.p);
}

/* ---- hostile repetition stays linear, counts stay bounded -------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Appends pattern[0..n) times times, growing the buffer once. */
static void put_repeated(pbuf * b, const char * pattern, size_t n, size_t times) {
    put_raw(b, NULL, n * times);
    uint8_t * p = b->p + b->n - n * times;
    for (size_t i = 0; i < times; i++) memcpy(p + i * n, pattern, n);
}

static void test_many_tiny_fields(void) {
    const int n = 2 << 20;
    pbuf      t = {0};
    put_repeated(&t, "\x38\x01", 2, (size_t)n);     /* int64_data = 1, unpacked */
    put_repeated(&t, "\xf8\x07\x01", 3, (size_t)n); /* unknown field 127 */
    double           t0 = now_s();
    ei_onnx_tensor * x = NULL;
    EI_CHECK_OK(ei_onnx_parse_tensor(t.p, t.n, &x));
    double dt = now_s() - t0;
    EI_CHECK(x && x->n_int64_data == n && x->int64_data[n - 1] == 1);
    EI_CHECK(dt < 5.0); /* ~40 ms optimized: generous for sanitizer builds and busy machines */
    printf("  %d repeated + %d unknown fields parsed in %.1f ms\n", n, n, dt * 1e3);
    ei_onnx_tensor_free(x);
    free(t.p);

    /* One more string_data entry than EI_ONNX_MAX_COUNT. */
    t = (pbuf){0};
    put_repeated(&t, "\x32\x00", 2, (size_t)EI_ONNX_MAX_COUNT + 1);
    expect_tensor_error(&t, "string_data: more than 16777216 entries (EI_ONNX_MAX_COUNT)");
}

/* ---- real models, when the shared assets are there --------------------------------------- */

static uint8_t * read_file(const char * path, size_t * n) {
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t * buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1)) != NULL) {
            *n = fread(buf, 1, (size_t)len, f);
            if (*n != (size_t)len) {
                free(buf);
                buf = NULL;
            }
        }
    }
    fclose(f);
    return buf;
}

static void test_real_model(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/coco_detection/yolox_nano_416.onnx", ei_test_assets_dir());
    size_t    n;
    uint8_t * data = read_file(path, &n);
    if (!data) {
        printf("  (skipped: %s not found)\n", path);
        return;
    }
    ei_onnx_model * m = NULL;
    EI_CHECK_OK(ei_onnx_parse_model(data, n, &m));
    /* counts as reported by onnx.load */
    EI_CHECK(m && m->graph.n_nodes == 369 && m->graph.n_initializers == 236);
    EI_CHECK(m && m->graph.n_inputs >= 1 && m->graph.n_outputs >= 1);
    ei_onnx_model_free(m);
    free(data);
}

static void test_bytes_eq(void) {
    ei_pb_bytes none = {NULL, 0}, abc = {(const uint8_t *)"abcd", 3};
    EI_CHECK(ei_pb_bytes_eq(none, ""));
    EI_CHECK(!ei_pb_bytes_eq(none, "a"));
    EI_CHECK(ei_pb_bytes_eq(abc, "abc"));
    EI_CHECK(!ei_pb_bytes_eq(abc, "abcd"));
    EI_CHECK(!ei_pb_bytes_eq(abc, NULL));
}

int main(void) {
    EI_RUN(test_varint);
    EI_RUN(test_wire_fields);
    EI_RUN(test_full_model);
    EI_RUN(test_truncations_and_flips);
    EI_RUN(test_tensor_encodings);
    EI_RUN(test_tensor_errors);
    EI_RUN(test_error_paths);
    EI_RUN(test_attribute_types);
    EI_RUN(test_many_tiny_fields);
    EI_RUN(test_real_model);
    EI_RUN(test_bytes_eq);
    EI_TEST_EXIT();
}
