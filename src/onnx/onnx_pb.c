/* The ONNX message decoder on top of pb_wire.
 *
 * Shape of the code: one "parse" function per message that runs ei_msg_each over its fields
 * with a per-message "field" handler. Repeated fields collect into ei_pb_vec (geometric
 * growth, bounded by the limits in onnx_pb.h) and are moved into the public struct when the
 * message ends, on success and failure alike, so that freeing the top-level object always
 * frees every partial result. A child element is appended (zeroed) before it is parsed for
 * the same reason.
 *
 * Error messages carry the path inside the message; the path is a stack of (message, field
 * number, index) kept in ei_pb_ctx and only turned into text when an error is reported. */
#include "onnx/onnx_pb.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/pb_wire.h"

/* TensorProto.DataType values this decoder knows (onnx 1.18+: up to FLOAT6E3M2). */
#define EI_ONNX_MAX_DATA_TYPE 28

/* ---- paths and errors ------------------------------------------------------------------- */

typedef struct ei_pb_name {
    uint32_t     number;
    const char * name;
} ei_pb_name;

typedef struct ei_pb_seg {
    const ei_pb_name * names; /* of the message holding the field */
    uint32_t           number;
    int64_t            index; /* -1 for a singular field */
} ei_pb_seg;

typedef struct ei_pb_ctx {
    const uint8_t * base; /* the whole input, for byte offsets in messages */
    const char *    root; /* names the top-level message when the path is empty */
    int             depth;
    ei_pb_seg       seg[EI_ONNX_MAX_NESTING];
} ei_pb_ctx;

/* A cursor over one message: the reader bounded to its bytes and the field just read. */
typedef struct ei_pb_msg {
    ei_pb_ctx *        c;
    ei_pb_reader       r;
    const ei_pb_name * names;
    ei_pb_field        f;
} ei_pb_msg;

typedef ei_status * (*ei_pb_fn)(ei_pb_msg * m, void * obj);

static const char * ei_pb_lookup(const ei_pb_name * names, uint32_t number) {
    for (const ei_pb_name * n = names; n && n->name; n++)
        if (n->number == number) return n->name;
    return NULL;
}

/* Appends to a fixed buffer, silently truncating: error text must never fail. */
static void ei_path_addf(char * buf, size_t cap, size_t * n, const char * fmt, ...) EI_PRINTF(4, 5);
static void ei_path_addf(char * buf, size_t cap, size_t * n, const char * fmt, ...) {
    if (*n >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k > 0) *n = *n + (size_t)k < cap ? *n + (size_t)k : cap - 1;
}

static void ei_path_add_seg(char * buf, size_t cap, size_t * n, ei_pb_seg s) {
    const char * name = ei_pb_lookup(s.names, s.number);
    const char * dot = *n ? "." : "";
    if (name)
        ei_path_addf(buf, cap, n, "%s%s", dot, name);
    else
        ei_path_addf(buf, cap, n, "%sfield %" PRIu32, dot, s.number);
    if (s.index >= 0) ei_path_addf(buf, cap, n, "[%" PRId64 "]", s.index);
}

/* "graph.node[3].attribute[1].t" + the field itself (number 0: none) + ": " + the message. */
static ei_status * ei_pb_vfail(const ei_pb_ctx * c, ei_pb_seg field, const char * fmt, va_list ap) {
    char   path[512] = "";
    size_t n = 0;
    for (int i = 0; i < c->depth; i++) ei_path_add_seg(path, sizeof path, &n, c->seg[i]);
    if (field.number) ei_path_add_seg(path, sizeof path, &n, field);
    if (!n) ei_path_addf(path, sizeof path, &n, "%s", c->root);
    char what[256];
    vsnprintf(what, sizeof what, fmt, ap);
    return ei_errorf(EI_CODE_INVALID_MODEL, "%s: %s", path, what);
}

/* Fails naming the field just read (index -1: singular, or no index worth printing). */
static ei_status * ei_msg_fail(const ei_pb_msg * m, int64_t index, const char * fmt, ...) EI_PRINTF(3, 4);
static ei_status * ei_msg_fail(const ei_pb_msg * m, int64_t index, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ei_status * st = ei_pb_vfail(m->c, (ei_pb_seg){m->names, m->f.number, index}, fmt, ap);
    va_end(ap);
    return st;
}

/* Fails naming a field of the current message that is not the one just read. */
static ei_status * ei_msg_fail_at(const ei_pb_msg * m, uint32_t number, int64_t index, const char * fmt, ...)
    EI_PRINTF(4, 5);
static ei_status * ei_msg_fail_at(const ei_pb_msg * m, uint32_t number, int64_t index, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ei_status * st = ei_pb_vfail(m->c, (ei_pb_seg){m->names, number, index}, fmt, ap);
    va_end(ap);
    return st;
}

static ei_status * ei_msg_wire_fail(const ei_pb_msg * m, uint32_t number, int64_t index, ei_pb_err e) {
    char what[160];
    ei_pb_strerror(e, &m->r, &m->f, what, sizeof what);
    return ei_msg_fail_at(m, number, index, "%s (at byte %zu)", what, (size_t)(m->r.p - m->c->base));
}

/* ---- reading fields ---------------------------------------------------------------------- */

static ei_status * ei_msg_next(ei_pb_msg * m, bool * more) {
    *more = ei_pb_left(&m->r) > 0;
    if (!*more) return NULL;
    ei_pb_err e = ei_pb_read_tag(&m->r, &m->f);
    return e ? ei_msg_wire_fail(m, 0, -1, e) : NULL;
}

static ei_status * ei_msg_each(ei_pb_msg * m, const ei_pb_name * names, ei_pb_fn field, void * obj) {
    m->names = names;
    for (;;) {
        bool more;
        EI_TRY(ei_msg_next(m, &more));
        if (!more) return NULL;
        EI_TRY(field(m, obj));
    }
}

static ei_status * ei_msg_value(ei_pb_msg * m, int64_t index) {
    ei_pb_err e = ei_pb_read_value(&m->r, &m->f);
    return e ? ei_msg_wire_fail(m, m->f.number, index, e) : NULL;
}

static const char * ei_wire_name(uint32_t wire) {
    switch (wire) {
    case EI_PB_WIRE_VARINT: return "varint";
    case EI_PB_WIRE_FIXED64: return "fixed64";
    case EI_PB_WIRE_LEN: return "length-delimited";
    case EI_PB_WIRE_FIXED32: return "fixed32";
    default: return "group or invalid";
    }
}

/* Reads the value of a known field after checking its wire type. */
static ei_status * ei_msg_read(ei_pb_msg * m, uint32_t wire, int64_t index) {
    if (m->f.wire != wire)
        return ei_msg_fail(m, index, "wire type %" PRIu32 " (%s), expected %" PRIu32 " (%s)", m->f.wire,
                           ei_wire_name(m->f.wire), wire, ei_wire_name(wire));
    return ei_msg_value(m, index);
}

static ei_status * ei_msg_skip(ei_pb_msg * m) { return ei_msg_value(m, -1); }

static ei_pb_bytes ei_msg_payload(const ei_pb_msg * m) { return (ei_pb_bytes){m->f.data, m->f.len}; }

static ei_status * ei_msg_bytes(ei_pb_msg * m, ei_pb_bytes * out) {
    EI_TRY(ei_msg_read(m, EI_PB_WIRE_LEN, -1));
    *out = ei_msg_payload(m);
    return NULL;
}

/* Conversions that C leaves implementation-defined, spelled out (protobuf semantics). */
static int64_t ei_pb_i64(uint64_t u) { return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1; }

static int32_t ei_pb_i32(uint64_t u) {
    uint32_t v = (uint32_t)u;
    return v <= INT32_MAX ? (int32_t)v : -(int32_t)(UINT32_MAX - v) - 1;
}

static ei_status * ei_msg_i64(ei_pb_msg * m, int64_t * out) {
    EI_TRY(ei_msg_read(m, EI_PB_WIRE_VARINT, -1));
    *out = ei_pb_i64(m->f.u);
    return NULL;
}

static ei_status * ei_msg_i32(ei_pb_msg * m, int32_t * out) {
    EI_TRY(ei_msg_read(m, EI_PB_WIRE_VARINT, -1));
    *out = ei_pb_i32(m->f.u);
    return NULL;
}

static ei_status * ei_msg_f32(ei_pb_msg * m, float * out) {
    EI_TRY(ei_msg_read(m, EI_PB_WIRE_FIXED32, -1));
    uint32_t bits = (uint32_t)m->f.u;
    memcpy(out, &bits, sizeof bits);
    return NULL;
}

/* A repeated field that is only counted (sparse initializers, functions, string_data). */
static ei_status * ei_msg_count(ei_pb_msg * m, int32_t * count) {
    EI_TRY(ei_msg_read(m, EI_PB_WIRE_LEN, *count));
    if (*count >= EI_ONNX_MAX_COUNT)
        return ei_msg_fail(m, -1, "more than %d entries (EI_ONNX_MAX_COUNT)", EI_ONNX_MAX_COUNT);
    ++*count;
    return NULL;
}

/* Descends into a sub-message; fn parses it into obj. */
static ei_status * ei_msg_child(ei_pb_msg * m, int64_t index, ei_pb_fn fn, void * obj) {
    EI_TRY(ei_msg_read(m, EI_PB_WIRE_LEN, index));
    ei_pb_ctx * c = m->c;
    if (c->depth >= EI_ONNX_MAX_NESTING)
        return ei_msg_fail(m, index, "messages nested deeper than %d (EI_ONNX_MAX_NESTING)", EI_ONNX_MAX_NESTING);
    c->seg[c->depth++] = (ei_pb_seg){m->names, m->f.number, index};
    ei_pb_msg   sub = {.c = c, .r = ei_pb_reader_make(m->f.data, m->f.len)};
    ei_status * st = fn(&sub, obj);
    c->depth--;
    return st;
}

/* ---- growable arrays --------------------------------------------------------------------- */

typedef struct ei_pb_vec {
    void *  data;
    int64_t n, cap;
} ei_pb_vec;

/* Makes room for add more elements, doubling so that a file of many tiny repeated fields
 * stays linear; max is EI_ONNX_MAX_COUNT or EI_ONNX_MAX_DIMS. */
static ei_status * ei_vec_reserve(const ei_pb_msg * m, ei_pb_vec * v, size_t elem, int64_t add, int64_t max) {
    if (add > max - v->n)
        return ei_msg_fail(m, -1, "more than %" PRId64 " entries (%s)", max,
                           max == EI_ONNX_MAX_DIMS ? "EI_ONNX_MAX_DIMS" : "EI_ONNX_MAX_COUNT");
    int64_t need = v->n + add;
    if (need <= v->cap) return NULL;
    int64_t cap = v->cap * 2;
    if (cap < need) cap = need;
    if (cap < 4) cap = 4;
    if (cap > max) cap = max;
    if ((uint64_t)cap > SIZE_MAX / elem) return ei_status_oom();
    void * p = realloc(v->data, (size_t)cap * elem);
    if (!p) return ei_status_oom();
    v->data = p;
    v->cap = cap;
    return NULL;
}

/* Appends one zeroed element and returns it in *slot. */
static ei_status * ei_vec_push(const ei_pb_msg * m, ei_pb_vec * v, size_t elem, int64_t max, void ** slot) {
    EI_TRY(ei_vec_reserve(m, v, elem, 1, max));
    *slot = (char *)v->data + (size_t)v->n * elem;
    memset(*slot, 0, elem);
    v->n++;
    return NULL;
}

static ei_status * ei_msg_push_bytes(ei_pb_msg * m, ei_pb_vec * v) {
    EI_TRY(ei_msg_read(m, EI_PB_WIRE_LEN, v->n));
    void * slot;
    EI_TRY(ei_vec_push(m, v, sizeof(ei_pb_bytes), EI_ONNX_MAX_COUNT, &slot));
    *(ei_pb_bytes *)slot = ei_msg_payload(m);
    return NULL;
}

/* Appends a zeroed element of size elem to v and parses the sub-message into it. */
static ei_status * ei_msg_push_child(ei_pb_msg * m, ei_pb_vec * v, size_t elem, int64_t max, ei_pb_fn fn) {
    if (m->f.wire != EI_PB_WIRE_LEN) return ei_msg_read(m, EI_PB_WIRE_LEN, v->n);
    int64_t index = v->n;
    void *  slot;
    EI_TRY(ei_vec_push(m, v, elem, max, &slot));
    return ei_msg_child(m, index, fn, slot);
}

/* ---- repeated scalars, packed or not ----------------------------------------------------- */

typedef enum ei_pb_kind { EI_PB_I64, EI_PB_I32, EI_PB_U64, EI_PB_F32, EI_PB_F64 } ei_pb_kind;

static uint32_t ei_kind_wire(ei_pb_kind k) {
    return k == EI_PB_F32 ? EI_PB_WIRE_FIXED32 : k == EI_PB_F64 ? EI_PB_WIRE_FIXED64 : EI_PB_WIRE_VARINT;
}

static size_t ei_kind_size(ei_pb_kind k) { return k == EI_PB_I32 || k == EI_PB_F32 ? 4 : 8; }

/* Stores one wire value (varint value or fixed bits) as element i of the kind's C type. */
static void ei_kind_store(ei_pb_kind k, void * data, int64_t i, uint64_t u) {
    switch (k) {
    case EI_PB_I64: ((int64_t *)data)[i] = ei_pb_i64(u); break;
    case EI_PB_I32: ((int32_t *)data)[i] = ei_pb_i32(u); break;
    case EI_PB_U64: ((uint64_t *)data)[i] = u; break;
    case EI_PB_F32: {
        uint32_t bits = (uint32_t)u;
        memcpy((float *)data + i, &bits, sizeof bits);
        break;
    }
    case EI_PB_F64: memcpy((double *)data + i, &u, sizeof u); break;
    }
}

static ei_status * ei_packed_count(const ei_pb_msg * m, ei_pb_kind k, int64_t * count) {
    size_t n = m->f.len, c;
    if (k == EI_PB_F32 || k == EI_PB_F64) {
        size_t w = ei_kind_size(k);
        if (n % w) return ei_msg_fail(m, -1, "packed length %zu is not a multiple of %zu", n, w);
        c = n / w;
    } else if (ei_pb_count_varints(m->f.data, n, &c)) {
        return ei_msg_fail(m, -1, "packed varints end in the middle of a value");
    }
    *count = (int64_t)c; /* c <= n < PTRDIFF_MAX: the bytes exist */
    return NULL;
}

static void ei_unpack_fixed(ei_pb_kind k, const uint8_t * p, int64_t count, void * dst) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)k;
    memcpy(dst, p, (size_t)count * ei_kind_size(k));
#else
    for (int64_t i = 0; i < count; i++) {
        uint64_t u = k == EI_PB_F32 ? ei_pb_load32(p + 4 * i) : ei_pb_load64(p + 8 * i);
        ei_kind_store(k, dst, i, u);
    }
#endif
}

static ei_status * ei_unpack_varints(const ei_pb_msg * m, ei_pb_kind k, int64_t count, void * data, int64_t at) {
    ei_pb_reader r = ei_pb_reader_make(m->f.data, m->f.len);
    for (int64_t i = 0; i < count; i++) {
        uint64_t  u;
        ei_pb_err e = ei_pb_read_varint(&r, &u);
        if (e) return ei_msg_fail(m, -1, "packed element %" PRId64 ": varint longer than 10 bytes", i);
        ei_kind_store(k, data, at + i, u);
    }
    return NULL;
}

/* Appends the values of a repeated scalar field to v, from either encoding. */
static ei_status * ei_msg_scalars(ei_pb_msg * m, ei_pb_kind k, ei_pb_vec * v, int64_t max) {
    size_t elem = ei_kind_size(k);
    if (m->f.wire != EI_PB_WIRE_LEN) {
        EI_TRY(ei_msg_read(m, ei_kind_wire(k), -1));
        EI_TRY(ei_vec_reserve(m, v, elem, 1, max));
        ei_kind_store(k, v->data, v->n++, m->f.u);
        return NULL;
    }
    EI_TRY(ei_msg_value(m, -1));
    int64_t count = 0;
    EI_TRY(ei_packed_count(m, k, &count));
    if (!count) return NULL;
    EI_TRY(ei_vec_reserve(m, v, elem, count, max));
    if (k == EI_PB_F32 || k == EI_PB_F64)
        ei_unpack_fixed(k, m->f.data, count, (char *)v->data + (size_t)v->n * elem);
    else
        EI_TRY(ei_unpack_varints(m, k, count, v->data, v->n));
    v->n += count;
    return NULL;
}

/* ---- freeing ----------------------------------------------------------------------------- */

static void ei_tensor_clear(ei_onnx_tensor * t) {
    free(t->dims);
    free(t->float_data);
    free(t->int32_data);
    free(t->int64_data);
    free(t->double_data);
    free(t->uint64_data);
    free(t->external);
}

void ei_onnx_tensor_free(ei_onnx_tensor * t) {
    if (!t) return;
    ei_tensor_clear(t);
    free(t);
}

static void ei_attr_clear(ei_onnx_attr * a) {
    free(a->floats);
    free(a->ints);
    free(a->strings);
    ei_onnx_tensor_free(a->t);
}

static void ei_node_clear(ei_onnx_node * n) {
    free(n->inputs);
    free(n->outputs);
    for (int32_t i = 0; i < n->n_attrs; i++) ei_attr_clear(&n->attrs[i]);
    free(n->attrs);
}

static void ei_value_infos_free(ei_onnx_value_info * v, int32_t n) {
    for (int32_t i = 0; i < n; i++) free(v[i].dims);
    free(v);
}

static void ei_graph_clear(ei_onnx_graph * g) {
    for (int32_t i = 0; i < g->n_nodes; i++) ei_node_clear(&g->nodes[i]);
    free(g->nodes);
    for (int32_t i = 0; i < g->n_initializers; i++) ei_tensor_clear(&g->initializers[i]);
    free(g->initializers);
    ei_value_infos_free(g->inputs, g->n_inputs);
    ei_value_infos_free(g->outputs, g->n_outputs);
    ei_value_infos_free(g->value_info, g->n_value_info);
}

void ei_onnx_model_free(ei_onnx_model * m) {
    if (!m) return;
    free(m->opsets);
    ei_graph_clear(&m->graph);
    free(m);
}

/* ---- StringStringEntryProto, OperatorSetIdProto ----------------------------------------- */

static const ei_pb_name k_kv_names[] = {{1, "key"}, {2, "value"}, {0, NULL}};

static ei_status * ei_kv_field(ei_pb_msg * m, void * obj) {
    ei_onnx_kv * kv = obj;
    switch (m->f.number) {
    case 1: return ei_msg_bytes(m, &kv->key);
    case 2: return ei_msg_bytes(m, &kv->value);
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_kv_parse(ei_pb_msg * m, void * obj) { return ei_msg_each(m, k_kv_names, ei_kv_field, obj); }

static const ei_pb_name k_opset_names[] = {{1, "domain"}, {2, "version"}, {0, NULL}};

static ei_status * ei_opset_field(ei_pb_msg * m, void * obj) {
    ei_onnx_opset * o = obj;
    switch (m->f.number) {
    case 1: return ei_msg_bytes(m, &o->domain);
    case 2: return ei_msg_i64(m, &o->version);
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_opset_parse(ei_pb_msg * m, void * obj) {
    return ei_msg_each(m, k_opset_names, ei_opset_field, obj);
}

/* ---- TensorProto ------------------------------------------------------------------------- */

static const ei_pb_name k_tensor_names[] = {
    {1, "dims"},           {2, "data_type"},      {3, "segment"},         {4, "float_data"},
    {5, "int32_data"},     {6, "string_data"},    {7, "int64_data"},      {8, "name"},
    {9, "raw_data"},       {10, "double_data"},   {11, "uint64_data"},    {12, "doc_string"},
    {13, "external_data"}, {14, "data_location"}, {16, "metadata_props"}, {0, NULL}};

typedef struct ei_tensor_b {
    ei_onnx_tensor * t;
    ei_pb_vec        dims, f32, i32, i64, f64, u64, ext;
} ei_tensor_b;

static ei_status * ei_tensor_field(ei_pb_msg * m, void * obj) {
    ei_tensor_b *    b = obj;
    ei_onnx_tensor * t = b->t;
    switch (m->f.number) {
    case 1: return ei_msg_scalars(m, EI_PB_I64, &b->dims, EI_ONNX_MAX_DIMS);
    case 2: return ei_msg_i32(m, &t->data_type);
    case 3: t->has_segment = 1; return ei_msg_read(m, EI_PB_WIRE_LEN, -1);
    case 4: return ei_msg_scalars(m, EI_PB_F32, &b->f32, EI_ONNX_MAX_COUNT);
    case 5: return ei_msg_scalars(m, EI_PB_I32, &b->i32, EI_ONNX_MAX_COUNT);
    case 6: return ei_msg_count(m, &t->n_string_data);
    case 7: return ei_msg_scalars(m, EI_PB_I64, &b->i64, EI_ONNX_MAX_COUNT);
    case 8: return ei_msg_bytes(m, &t->name);
    case 9: return ei_msg_bytes(m, &t->raw_data);
    case 10: return ei_msg_scalars(m, EI_PB_F64, &b->f64, EI_ONNX_MAX_COUNT);
    case 11: return ei_msg_scalars(m, EI_PB_U64, &b->u64, EI_ONNX_MAX_COUNT);
    case 13: return ei_msg_push_child(m, &b->ext, sizeof(ei_onnx_kv), EI_ONNX_MAX_COUNT, ei_kv_parse);
    case 14: return ei_msg_i32(m, &t->data_location);
    default: return ei_msg_skip(m);
    }
}

static void ei_tensor_take(ei_tensor_b * b) {
    ei_onnx_tensor * t = b->t;
    t->dims = b->dims.data;
    t->n_dims = (int32_t)b->dims.n;
    t->float_data = b->f32.data;
    t->n_float_data = b->f32.n;
    t->int32_data = b->i32.data;
    t->n_int32_data = b->i32.n;
    t->int64_data = b->i64.data;
    t->n_int64_data = b->i64.n;
    t->double_data = b->f64.data;
    t->n_double_data = b->f64.n;
    t->uint64_data = b->u64.data;
    t->n_uint64_data = b->u64.n;
    t->external = b->ext.data;
    t->n_external = (int32_t)b->ext.n;
}

/* Bits per element in raw_data; 0 where the layout is not a plain array (strings, unknown). */
static int64_t ei_data_type_bits(int32_t dt) {
    static const unsigned char bits[EI_ONNX_MAX_DATA_TYPE + 1] = {
        0, 32, 8, 8, 16, 16, 32, 64, 0, 8, 16, 64, 32, 64, 64, 128, 16, /* 0..16 */
        8, 8,  8, 8, 4,  4,  4,  8,  2, 2, 6,  6};                      /* 17..28 */
    return dt >= 0 && dt <= EI_ONNX_MAX_DATA_TYPE ? bits[dt] : 0;
}

/* Product of the dims, or -1 when it does not fit in int64. */
static int64_t ei_dims_numel(const int64_t * dims, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (dims[i] == 0) return 0;
    int64_t numel = 1;
    for (int32_t i = 0; i < n; i++) {
        if (numel > INT64_MAX / dims[i]) return -1;
        numel *= dims[i];
    }
    return numel;
}

/* Sub-byte types are packed LSB first, so raw_data holds ceil(numel * bits / 8) bytes. */
static ei_status * ei_tensor_check_raw(const ei_pb_msg * m, const ei_onnx_tensor * t, int64_t numel) {
    int64_t bits = ei_data_type_bits(t->data_type);
    if (!t->raw_data.n || !bits) return NULL;
    int64_t need = -1; /* -1: more bytes than int64 can count */
    if (numel / 8 <= (INT64_MAX - 128) / bits) need = numel / 8 * bits + ((numel % 8) * bits + 7) / 8;
    if (need >= 0 && (uint64_t)need == t->raw_data.n) return NULL;
    return ei_msg_fail_at(m, 9, -1, "%zu bytes, but %" PRId64 " elements of data_type %" PRId32 " need %" PRId64,
                          t->raw_data.n, numel, t->data_type, need);
}

static ei_status * ei_tensor_check(const ei_pb_msg * m, const ei_onnx_tensor * t) {
    if (t->data_type < 0 || t->data_type > EI_ONNX_MAX_DATA_TYPE)
        return ei_msg_fail_at(m, 2, -1, "unknown data type %" PRId32, t->data_type);
    for (int32_t i = 0; i < t->n_dims; i++)
        if (t->dims[i] < 0) return ei_msg_fail_at(m, 1, i, "negative dimension %" PRId64, t->dims[i]);
    int64_t numel = ei_dims_numel(t->dims, t->n_dims);
    if (numel < 0) return ei_msg_fail_at(m, 1, -1, "element count overflows int64");
    return ei_tensor_check_raw(m, t, numel);
}

static ei_status * ei_tensor_parse(ei_pb_msg * m, void * obj) {
    ei_tensor_b b = {.t = obj};
    ei_status * st = ei_msg_each(m, k_tensor_names, ei_tensor_field, &b);
    ei_tensor_take(&b);
    return st ? st : ei_tensor_check(m, b.t);
}

/* ---- ValueInfoProto, TypeProto, TensorShapeProto ---------------------------------------- */

static const ei_pb_name k_value_info_names[] = {
    {1, "name"}, {2, "type"}, {3, "doc_string"}, {4, "metadata_props"}, {0, NULL}};
static const ei_pb_name k_type_names[] = {
    {1, "tensor_type"}, {4, "sequence_type"},      {5, "map_type"},      {6, "denotation"},
    {7, "opaque_type"}, {8, "sparse_tensor_type"}, {9, "optional_type"}, {0, NULL}};
static const ei_pb_name k_tensor_type_names[] = {{1, "elem_type"}, {2, "shape"}, {0, NULL}};
static const ei_pb_name k_shape_names[] = {{1, "dim"}, {0, NULL}};
static const ei_pb_name k_dim_names[] = {{1, "dim_value"}, {2, "dim_param"}, {3, "denotation"}, {0, NULL}};

typedef struct ei_value_info_b {
    ei_onnx_value_info * vi;
    ei_pb_vec            dims;
    bool                 has_type, has_tensor_type;
} ei_value_info_b;

static ei_status * ei_dim_field(ei_pb_msg * m, void * obj) {
    ei_onnx_dim * d = obj;
    switch (m->f.number) {
    case 1:
        EI_TRY(ei_msg_i64(m, &d->value));
        /* Some exporters write -1 for "unknown"; anything more negative is corrupt. */
        if (d->value < -1) return ei_msg_fail(m, -1, "negative dimension %" PRId64, d->value);
        d->param = (ei_pb_bytes){NULL, 0}; /* oneof: the last member read wins */
        return NULL;
    case 2:
        EI_TRY(ei_msg_bytes(m, &d->param));
        d->value = -1;
        return NULL;
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_dim_parse(ei_pb_msg * m, void * obj) {
    ei_onnx_dim * d = obj;
    d->value = -1;
    return ei_msg_each(m, k_dim_names, ei_dim_field, obj);
}

static ei_status * ei_shape_field(ei_pb_msg * m, void * obj) {
    ei_value_info_b * b = obj;
    if (m->f.number != 1) return ei_msg_skip(m);
    return ei_msg_push_child(m, &b->dims, sizeof(ei_onnx_dim), EI_ONNX_MAX_DIMS, ei_dim_parse);
}

static ei_status * ei_shape_parse(ei_pb_msg * m, void * obj) {
    return ei_msg_each(m, k_shape_names, ei_shape_field, obj);
}

/* Singular message fields that appear twice would be merged by protobuf (shapes concatenated);
 * no writer does that, so it is refused rather than guessed at. */
static ei_status * ei_msg_once(const ei_pb_msg * m, bool * seen) {
    if (*seen) return ei_msg_fail(m, -1, "appears twice");
    *seen = true;
    return NULL;
}

static ei_status * ei_tensor_type_field(ei_pb_msg * m, void * obj) {
    ei_value_info_b * b = obj;
    switch (m->f.number) {
    case 1: return ei_msg_i32(m, &b->vi->elem_type);
    case 2: {
        bool seen = b->vi->has_shape;
        EI_TRY(ei_msg_once(m, &seen));
        b->vi->has_shape = 1;
        return ei_msg_child(m, -1, ei_shape_parse, b);
    }
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_tensor_type_parse(ei_pb_msg * m, void * obj) {
    return ei_msg_each(m, k_tensor_type_names, ei_tensor_type_field, obj);
}

static ei_status * ei_type_field(ei_pb_msg * m, void * obj) {
    ei_value_info_b * b = obj;
    switch (m->f.number) {
    case 1:
        EI_TRY(ei_msg_once(m, &b->has_tensor_type));
        b->vi->is_tensor = 1;
        return ei_msg_child(m, -1, ei_tensor_type_parse, b);
    case 4: /* sequence, map, opaque, sparse tensor, optional: not decoded */
    case 5:
    case 7:
    case 8:
    case 9: b->vi->is_tensor = 0; return ei_msg_read(m, EI_PB_WIRE_LEN, -1);
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_type_parse(ei_pb_msg * m, void * obj) { return ei_msg_each(m, k_type_names, ei_type_field, obj); }

static ei_status * ei_value_info_field(ei_pb_msg * m, void * obj) {
    ei_value_info_b * b = obj;
    switch (m->f.number) {
    case 1: return ei_msg_bytes(m, &b->vi->name);
    case 2: EI_TRY(ei_msg_once(m, &b->has_type)); return ei_msg_child(m, -1, ei_type_parse, b);
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_value_info_parse(ei_pb_msg * m, void * obj) {
    ei_value_info_b b = {.vi = obj};
    /* A value without a type is an unknown tensor (elem_type 0, no shape), not a sequence. */
    b.vi->is_tensor = 1;
    ei_status * st = ei_msg_each(m, k_value_info_names, ei_value_info_field, &b);
    b.vi->dims = b.dims.data;
    b.vi->n_dims = (int32_t)b.dims.n;
    return st;
}

/* ---- AttributeProto ---------------------------------------------------------------------- */

static const ei_pb_name k_attr_names[] = {{1, "name"},
                                          {2, "f"},
                                          {3, "i"},
                                          {4, "s"},
                                          {5, "t"},
                                          {6, "g"},
                                          {7, "floats"},
                                          {8, "ints"},
                                          {9, "strings"},
                                          {10, "tensors"},
                                          {11, "graphs"},
                                          {13, "doc_string"},
                                          {14, "tp"},
                                          {15, "type_protos"},
                                          {20, "type"},
                                          {21, "ref_attr_name"},
                                          {22, "sparse_tensor"},
                                          {23, "sparse_tensors"},
                                          {0, NULL}};

/* AttributeProto.AttributeType of each value field, indexed by field number (0: not a value). */
static const int32_t k_attr_field_type[24] = {[2] = 1, [3] = 2,  [4] = 3,   [5] = 4,   [6] = 5,   [7] = 6,   [8] = 7,
                                              [9] = 8, [10] = 9, [11] = 10, [14] = 13, [15] = 14, [22] = 11, [23] = 12};

typedef struct ei_attr_b {
    ei_onnx_attr * a;
    ei_pb_vec      floats, ints, strings;
    uint32_t       seen; /* bit n: value field n was present, to infer a missing type */
} ei_attr_b;

static ei_status * ei_attr_tensor(ei_pb_msg * m, ei_onnx_attr * a) {
    if (a->t) return ei_msg_fail(m, -1, "appears twice");
    if (m->f.wire != EI_PB_WIRE_LEN) return ei_msg_read(m, EI_PB_WIRE_LEN, -1);
    a->t = calloc(1, sizeof *a->t);
    if (!a->t) return ei_status_oom();
    return ei_msg_child(m, -1, ei_tensor_parse, a->t);
}

static ei_status * ei_attr_field(ei_pb_msg * m, void * obj) {
    ei_attr_b *    b = obj;
    ei_onnx_attr * a = b->a;
    if (m->f.number < 24 && k_attr_field_type[m->f.number]) b->seen |= 1u << m->f.number;
    switch (m->f.number) {
    case 1: return ei_msg_bytes(m, &a->name);
    case 2: return ei_msg_f32(m, &a->f);
    case 3: return ei_msg_i64(m, &a->i);
    case 4: return ei_msg_bytes(m, &a->s);
    case 5: return ei_attr_tensor(m, a);
    case 6: return ei_msg_bytes(m, &a->g);
    case 7: return ei_msg_scalars(m, EI_PB_F32, &b->floats, EI_ONNX_MAX_COUNT);
    case 8: return ei_msg_scalars(m, EI_PB_I64, &b->ints, EI_ONNX_MAX_COUNT);
    case 9: return ei_msg_push_bytes(m, &b->strings);
    case 20: return ei_msg_i32(m, &a->type);
    case 21: return ei_msg_bytes(m, &a->ref_attr_name);
    default: return ei_msg_skip(m);
    }
}

/* IR version 3 files may omit `type`; the importer relies on it, so infer it from the one
 * value field that is present. */
static ei_status * ei_attr_infer_type(const ei_pb_msg * m, ei_attr_b * b) {
    if (b->a->type || !b->seen) return NULL;
    if (b->seen & (b->seen - 1)) return ei_msg_fail_at(m, 20, -1, "absent, and several value fields are set");
    for (uint32_t n = 0; n < 24; n++)
        if (b->seen == 1u << n) b->a->type = k_attr_field_type[n];
    return NULL;
}

static ei_status * ei_attr_parse(ei_pb_msg * m, void * obj) {
    ei_attr_b   b = {.a = obj};
    ei_status * st = ei_msg_each(m, k_attr_names, ei_attr_field, &b);
    b.a->floats = b.floats.data;
    b.a->n_floats = (int32_t)b.floats.n;
    b.a->ints = b.ints.data;
    b.a->n_ints = (int32_t)b.ints.n;
    b.a->strings = b.strings.data;
    b.a->n_strings = (int32_t)b.strings.n;
    return st ? st : ei_attr_infer_type(m, &b);
}

/* ---- NodeProto --------------------------------------------------------------------------- */

static const ei_pb_name k_node_names[] = {
    {1, "input"},      {2, "output"}, {3, "name"},     {4, "op_type"},        {5, "attribute"},
    {6, "doc_string"}, {7, "domain"}, {8, "overload"}, {9, "metadata_props"}, {10, "device_configurations"},
    {0, NULL}};

typedef struct ei_node_b {
    ei_onnx_node * n;
    ei_pb_vec      inputs, outputs, attrs;
} ei_node_b;

static ei_status * ei_node_field(ei_pb_msg * m, void * obj) {
    ei_node_b *    b = obj;
    ei_onnx_node * n = b->n;
    switch (m->f.number) {
    case 1: return ei_msg_push_bytes(m, &b->inputs);
    case 2: return ei_msg_push_bytes(m, &b->outputs);
    case 3: return ei_msg_bytes(m, &n->name);
    case 4: return ei_msg_bytes(m, &n->op_type);
    case 5: return ei_msg_push_child(m, &b->attrs, sizeof(ei_onnx_attr), EI_ONNX_MAX_COUNT, ei_attr_parse);
    case 7: return ei_msg_bytes(m, &n->domain);
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_node_parse(ei_pb_msg * m, void * obj) {
    ei_node_b   b = {.n = obj};
    ei_status * st = ei_msg_each(m, k_node_names, ei_node_field, &b);
    b.n->inputs = b.inputs.data;
    b.n->n_inputs = (int32_t)b.inputs.n;
    b.n->outputs = b.outputs.data;
    b.n->n_outputs = (int32_t)b.outputs.n;
    b.n->attrs = b.attrs.data;
    b.n->n_attrs = (int32_t)b.attrs.n;
    return st;
}

/* ---- GraphProto -------------------------------------------------------------------------- */

static const ei_pb_name k_graph_names[] = {{1, "node"},
                                           {2, "name"},
                                           {5, "initializer"},
                                           {10, "doc_string"},
                                           {11, "input"},
                                           {12, "output"},
                                           {13, "value_info"},
                                           {14, "quantization_annotation"},
                                           {15, "sparse_initializer"},
                                           {16, "metadata_props"},
                                           {0, NULL}};

typedef struct ei_graph_b {
    ei_onnx_graph * g;
    ei_pb_vec       nodes, inits, inputs, outputs, value_info;
} ei_graph_b;

static ei_status * ei_graph_field(ei_pb_msg * m, void * obj) {
    ei_graph_b * b = obj;
    size_t       vi = sizeof(ei_onnx_value_info);
    switch (m->f.number) {
    case 1: return ei_msg_push_child(m, &b->nodes, sizeof(ei_onnx_node), EI_ONNX_MAX_COUNT, ei_node_parse);
    case 2: return ei_msg_bytes(m, &b->g->name);
    case 5: return ei_msg_push_child(m, &b->inits, sizeof(ei_onnx_tensor), EI_ONNX_MAX_COUNT, ei_tensor_parse);
    case 11: return ei_msg_push_child(m, &b->inputs, vi, EI_ONNX_MAX_COUNT, ei_value_info_parse);
    case 12: return ei_msg_push_child(m, &b->outputs, vi, EI_ONNX_MAX_COUNT, ei_value_info_parse);
    case 13: return ei_msg_push_child(m, &b->value_info, vi, EI_ONNX_MAX_COUNT, ei_value_info_parse);
    case 15: return ei_msg_count(m, &b->g->n_sparse_initializers);
    default: return ei_msg_skip(m);
    }
}

static ei_status * ei_graph_parse(ei_pb_msg * m, void * obj) {
    ei_graph_b      b = {.g = obj};
    ei_status *     st = ei_msg_each(m, k_graph_names, ei_graph_field, &b);
    ei_onnx_graph * g = b.g;
    g->nodes = b.nodes.data;
    g->n_nodes = (int32_t)b.nodes.n;
    g->initializers = b.inits.data;
    g->n_initializers = (int32_t)b.inits.n;
    g->inputs = b.inputs.data;
    g->n_inputs = (int32_t)b.inputs.n;
    g->outputs = b.outputs.data;
    g->n_outputs = (int32_t)b.outputs.n;
    g->value_info = b.value_info.data;
    g->n_value_info = (int32_t)b.value_info.n;
    return st;
}

/* ---- ModelProto -------------------------------------------------------------------------- */

static const ei_pb_name k_model_names[] = {{1, "ir_version"},
                                           {2, "producer_name"},
                                           {3, "producer_version"},
                                           {4, "domain"},
                                           {5, "model_version"},
                                           {6, "doc_string"},
                                           {7, "graph"},
                                           {8, "opset_import"},
                                           {14, "metadata_props"},
                                           {20, "training_info"},
                                           {25, "functions"},
                                           {26, "configuration"},
                                           {0, NULL}};

typedef struct ei_model_b {
    ei_onnx_model * o;
    ei_pb_vec       opsets;
} ei_model_b;

static ei_status * ei_model_field(ei_pb_msg * m, void * obj) {
    ei_model_b *    b = obj;
    ei_onnx_model * o = b->o;
    switch (m->f.number) {
    case 1: return ei_msg_i64(m, &o->ir_version);
    case 2: return ei_msg_bytes(m, &o->producer_name);
    case 3: return ei_msg_bytes(m, &o->producer_version);
    case 4: return ei_msg_bytes(m, &o->domain);
    case 5: return ei_msg_i64(m, &o->model_version);
    case 7: {
        bool seen = o->has_graph;
        EI_TRY(ei_msg_once(m, &seen));
        o->has_graph = 1;
        return ei_msg_child(m, -1, ei_graph_parse, &o->graph);
    }
    case 8: return ei_msg_push_child(m, &b->opsets, sizeof(ei_onnx_opset), EI_ONNX_MAX_COUNT, ei_opset_parse);
    case 25: return ei_msg_count(m, &o->n_functions);
    default: return ei_msg_skip(m);
    }
}

/* ---- entry points ------------------------------------------------------------------------ */

static ei_status * ei_parse_root(const uint8_t * data, size_t size, const char * root, ei_pb_fn parse, void * obj) {
    ei_pb_ctx c = {.base = data, .root = root};
    ei_pb_msg m = {.c = &c, .r = ei_pb_reader_make(data, size)};
    c.base = m.r.p;
    return parse(&m, obj);
}

static ei_status * ei_model_parse(ei_pb_msg * m, void * obj) {
    ei_model_b  b = {.o = obj};
    ei_status * st = ei_msg_each(m, k_model_names, ei_model_field, &b);
    b.o->opsets = b.opsets.data;
    b.o->n_opsets = (int32_t)b.opsets.n;
    return st;
}

ei_status * ei_onnx_parse_model(const uint8_t * data, size_t size, ei_onnx_model ** out) {
    if (!out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_onnx_parse_model: out is NULL");
    *out = NULL;
    if (!data && size) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_onnx_parse_model: data is NULL");
    ei_onnx_model * m = calloc(1, sizeof *m);
    if (!m) return ei_status_oom();
    ei_status * st = ei_parse_root(data, size, "model", ei_model_parse, m);
    if (st) {
        ei_onnx_model_free(m);
        return st;
    }
    *out = m;
    return NULL;
}

ei_status * ei_onnx_parse_tensor(const uint8_t * data, size_t size, ei_onnx_tensor ** out) {
    if (!out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_onnx_parse_tensor: out is NULL");
    *out = NULL;
    if (!data && size) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_onnx_parse_tensor: data is NULL");
    ei_onnx_tensor * t = calloc(1, sizeof *t);
    if (!t) return ei_status_oom();
    ei_status * st = ei_parse_root(data, size, "tensor", ei_tensor_parse, t);
    if (st) {
        ei_onnx_tensor_free(t);
        return st;
    }
    *out = t;
    return NULL;
}

int ei_pb_bytes_eq(ei_pb_bytes b, const char * s) {
    if (!s) return 0;
    size_t n = strlen(s);
    return b.n == n && (n == 0 || memcmp(b.p, s, n) == 0);
}
