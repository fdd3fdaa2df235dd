/* Engine files: writer (ei_model_save_engine) and reader (ei_model_load_engine). The reader
 * treats the file as hostile: every count, index, offset and string is checked against the bytes
 * that are there before it is used. */
#include "engine/engine_file.h"
#include "core/file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgeinfer/edgeinfer.h"
#include "engine/checksum.h"
#include "engine/isa.h"
#include "ops/op.h"
#include "runtime/model_internal.h"

uint64_t ei_engine_checksum(const uint8_t * file, size_t size) {
    /* Two pieces around the checksum field, the first one's hash seeding the second's. */
    uint64_t head = ei_xxh64(file, EI_ENGINE_OFF_CHECKSUM, 0);
    return ei_xxh64(file + EI_ENGINE_OFF_CHECKSUM + 8, size - EI_ENGINE_OFF_CHECKSUM - 8, head);
}

/* ---------------------------------------------------------------- writer */

typedef struct wbuf {
    uint8_t * p;
    size_t    n, cap;
    bool      oom;
} wbuf;

static void w_bytes(wbuf * b, const void * d, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t * p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void w_u8(wbuf * b, uint8_t v) { w_bytes(b, &v, 1); }
static void w_i32(wbuf * b, int32_t v) { w_bytes(b, &v, 4); }
static void w_u32(wbuf * b, uint32_t v) { w_bytes(b, &v, 4); }
static void w_i64(wbuf * b, int64_t v) { w_bytes(b, &v, 8); }
static void w_u64(wbuf * b, uint64_t v) { w_bytes(b, &v, 8); }
static void w_f32(wbuf * b, float v) { w_bytes(b, &v, 4); }
static void w_str(wbuf * b, const char * s) {
    size_t n = s ? strlen(s) : 0;
    w_u32(b, (uint32_t)n);
    w_bytes(b, s, n);
}

/* Constant tensors in the order they go into the data section. */
typedef struct tensor_list {
    const ei_tensor ** t;
    int64_t            n, cap;
    uint64_t           data_size;
} tensor_list;

static size_t align_up(size_t v) { return (v + EI_ENGINE_ALIGN - 1) & ~(size_t)(EI_ENGINE_ALIGN - 1); }

static ei_status * w_tensor(wbuf * b, tensor_list * tl, const ei_tensor * t) {
    if (t->dtype <= EI_DTYPE_UNDEFINED || t->dtype >= EI_DTYPE_COUNT)
        return ei_errorf(EI_CODE_UNSUPPORTED, "a constant has dtype %d, which engine files cannot hold", (int)t->dtype);
    if (tl->n == tl->cap) {
        int64_t            cap = tl->cap ? tl->cap * 2 : 256;
        const ei_tensor ** p = realloc(tl->t, (size_t)cap * sizeof *p);
        if (!p) return ei_status_oom();
        tl->t = p, tl->cap = cap;
    }
    tl->t[tl->n++] = t;
    uint64_t off = align_up(tl->data_size);
    tl->data_size = off + t->nbytes;
    w_i32(b, (int32_t)t->dtype);
    w_i32(b, t->shape.rank);
    for (int32_t d = 0; d < t->shape.rank; d++) w_i64(b, t->shape.dim[d]);
    w_u64(b, off);
    w_u64(b, t->nbytes);
    return NULL;
}

static ei_status * w_graph(wbuf * b, tensor_list * tl, const ei_graph * g) {
    w_i32(b, g->n_values);
    for (int32_t i = 0; i < g->n_values; i++) {
        const ei_value * v = &g->values[i];
        w_str(b, v->name);
        w_i32(b, (int32_t)v->dtype);
        w_u8(b, v->shape_known);
        w_i32(b, v->shape.rank);
        for (int32_t d = 0; d < v->shape.rank; d++) w_i64(b, v->shape.dim[d]);
        w_i32(b, v->producer);
        w_u32(b, v->flags);
        w_u8(b, v->constant != NULL);
        if (v->constant) {
            ei_status * st = w_tensor(b, tl, v->constant);
            if (st) return ei_status_wrapf(st, "value '%s'", v->name);
        }
    }
    w_i32(b, g->n_nodes);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        w_str(b, n->name);
        w_str(b, n->op_type);
        w_str(b, n->domain);
        w_i64(b, n->opset);
        w_u8(b, n->folded);
        w_i32(b, n->n_inputs);
        for (int32_t k = 0; k < n->n_inputs; k++) w_i32(b, n->inputs[k]);
        w_i32(b, n->n_outputs);
        for (int32_t k = 0; k < n->n_outputs; k++) w_i32(b, n->outputs[k]);
        w_i32(b, n->n_attrs);
        for (int32_t k = 0; k < n->n_attrs; k++) {
            const ei_attr * a = &n->attrs[k];
            w_str(b, a->name);
            w_i32(b, (int32_t)a->type);
            switch (a->type) {
            case EI_ATTR_INT: w_i64(b, a->i); break;
            case EI_ATTR_FLOAT: w_f32(b, a->f); break;
            case EI_ATTR_STRING: w_str(b, a->s); break;
            case EI_ATTR_TENSOR:
                w_u8(b, a->t != NULL);
                if (a->t) EI_TRY(w_tensor(b, tl, a->t));
                break;
            case EI_ATTR_INTS:
                w_i32(b, a->n);
                for (int32_t j = 0; j < a->n; j++) w_i64(b, a->ints[j]);
                break;
            case EI_ATTR_FLOATS:
                w_i32(b, a->n);
                for (int32_t j = 0; j < a->n; j++) w_f32(b, a->floats[j]);
                break;
            case EI_ATTR_STRINGS:
                w_i32(b, a->n);
                for (int32_t j = 0; j < a->n; j++) w_str(b, a->strings[j]);
                break;
            default: break; /* UNDEFINED, GRAPH: name and type only */
            }
        }
    }
    w_i32(b, g->n_inputs);
    for (int32_t i = 0; i < g->n_inputs; i++) w_i32(b, g->inputs[i]);
    w_i32(b, g->n_outputs);
    for (int32_t i = 0; i < g->n_outputs; i++) w_i32(b, g->outputs[i]);
    for (int32_t i = 0; i < g->n_nodes; i++) w_i32(b, g->order[i]);
    return NULL;
}

static void put_u32(uint8_t * p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t * p, uint64_t v) { memcpy(p, &v, 8); }

/* Writes the whole file to a temporary name in the same folder, then renames it into place. */
static ei_status * write_atomic(const char * path, const uint8_t * data, size_t size) {
    size_t pl = strlen(path);
    char * tmp = malloc(pl + 32);
    if (!tmp) return ei_status_oom();
    snprintf(tmp, pl + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ei_status * st = ei_errorf(EI_CODE_IO, "cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int         err = done < size ? errno : 0;
    ei_status * st = NULL;
    if (close(fd) != 0 && !err) err = errno;
    if (err || done < size)
        st = ei_errorf(EI_CODE_IO, "cannot write '%s': %s", tmp, err ? strerror(err) : "short write");
    else if (rename(tmp, path) != 0)
        st = ei_errorf(EI_CODE_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st) unlink(tmp);
    free(tmp);
    return st;
}

ei_status * ei_model_save_engine(const ei_model * m, const char * path) {
    if (!m || !path) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_model_save_engine: model and path are required");
    if (!m->build.has_onnx_sha256)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "the model does not know its ONNX bytes (load it with "
                                                   "ei_engine_build or ei_model_load_file)");
    const ei_graph * g = m->g;
    if (!g->order) return ei_errorf(EI_CODE_INTERNAL, "the graph is not sorted");
    wbuf        b = {0};
    tensor_list tl = {0};
    /* Facts and options first, then the graph. */
    w_str(&b, EI_VERSION_STRING);
    w_bytes(&b, m->build.onnx_sha256, 32);
    w_i32(&b, m->build.precision);
    w_i32(&b, m->build.batch);
    w_i32(&b, m->build.n_threads);
    w_i32(&b, m->build.optimization_level);
    w_str(&b, m->build.input_shapes);
    const ei_model_summary * s = &m->summary;
    w_i64(&b, s->ir_version);
    w_str(&b, s->producer_name);
    w_str(&b, s->producer_version);
    w_i32(&b, s->opset_count);
    for (int32_t i = 0; i < s->opset_count; i++) {
        w_str(&b, s->opset_domain[i]);
        w_i64(&b, s->opset_version[i]);
    }
    w_i32(&b, s->node_count);
    w_i32(&b, s->nodes_before_optimization);
    w_i32(&b, s->nodes_after_optimization);
    w_str(&b, s->optimization_report);
    ei_status * st = w_graph(&b, &tl, g);
    if (!st && b.oom) st = ei_status_oom();
    uint8_t * file = NULL;
    size_t    meta_off = EI_ENGINE_HEADER_SIZE, data_off = align_up(meta_off + b.n);
    size_t    size = data_off + (size_t)tl.data_size;
    if (!st) {
        file = calloc(1, size);
        if (!file) st = ei_status_oom();
    }
    if (!st) {
        memcpy(file, EI_ENGINE_MAGIC, 8);
        put_u32(file + EI_ENGINE_OFF_VERSION, EI_ENGINE_FORMAT_VERSION);
        put_u32(file + EI_ENGINE_OFF_HEADER_SIZE, EI_ENGINE_HEADER_SIZE);
        put_u64(file + EI_ENGINE_OFF_FILE_SIZE, size);
        put_u64(file + EI_ENGINE_OFF_REQUIRED_ISA, EI_ISA_REQUIRED_BASELINE);
        put_u64(file + EI_ENGINE_OFF_BUILDER_ISA, ei_isa_detect());
        put_u64(file + EI_ENGINE_OFF_META, meta_off);
        put_u64(file + EI_ENGINE_OFF_META + 8, b.n);
        put_u64(file + EI_ENGINE_OFF_DATA, data_off);
        put_u64(file + EI_ENGINE_OFF_DATA + 8, tl.data_size);
        memcpy(file + meta_off, b.p, b.n);
        uint64_t off = 0;
        for (int64_t i = 0; i < tl.n; i++) {
            off = align_up(off);
            if (tl.t[i]->nbytes) memcpy(file + data_off + off, tl.t[i]->data, tl.t[i]->nbytes);
            off += tl.t[i]->nbytes;
        }
        put_u64(file + EI_ENGINE_OFF_CHECKSUM, ei_engine_checksum(file, size));
        st = write_atomic(path, file, size);
    }
    free(file);
    free(b.p);
    free(tl.t);
    return st;
}

/* ---------------------------------------------------------------- reader */

typedef struct rd {
    const uint8_t * p;
    size_t          n, pos;
    bool            bad; /* read past the end: everything after reads as zero */
} rd;

static const uint8_t * r_bytes(rd * r, size_t n) {
    if (r->bad || n > r->n - r->pos) {
        r->bad = true;
        return NULL;
    }
    const uint8_t * p = r->p + r->pos;
    r->pos += n;
    return p;
}
#define R_SCALAR(name, type)                                                                                           \
    static type name(rd * r) {                                                                                         \
        type            v = 0;                                                                                         \
        const uint8_t * p = r_bytes(r, sizeof v);                                                                      \
        if (p) memcpy(&v, p, sizeof v);                                                                                \
        return v;                                                                                                      \
    }
R_SCALAR(r_u8, uint8_t)
R_SCALAR(r_i32, int32_t)
R_SCALAR(r_u32, uint32_t)
R_SCALAR(r_i64, int64_t)
R_SCALAR(r_u64, uint64_t)
R_SCALAR(r_f32, float)
#undef R_SCALAR

/* A NUL-terminated copy of a length-prefixed string; NULL on overrun (r->bad) or OOM. */
static char * r_str(rd * r) {
    uint32_t        n = r_u32(r);
    const uint8_t * p = r_bytes(r, n);
    if (!p) return NULL;
    char * s = malloc((size_t)n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* A count that must fit in what is left, at least min_bytes per item. */
static int32_t r_count(rd * r, size_t min_bytes) {
    int32_t n = r_i32(r);
    if (n < 0 || (size_t)n > (r->n - r->pos) / min_bytes) {
        r->bad = true;
        return 0;
    }
    return n;
}

static ei_status * corrupt(const char * what) { return ei_errorf(EI_CODE_CORRUPT_ENGINE, "corrupt engine: %s", what); }

static ei_status * r_shape(rd * r, ei_shape * s) {
    memset(s, 0, sizeof *s);
    s->rank = r_i32(r);
    if (s->rank < 0 || s->rank > EI_MAX_RANK) return corrupt("a shape has a bad rank");
    for (int32_t d = 0; d < s->rank; d++) {
        s->dim[d] = r_i64(r);
        if (s->dim[d] < 0) return corrupt("a shape has a negative dimension");
    }
    return r->bad ? corrupt("the graph section ends early") : NULL;
}

typedef struct load_ctx {
    rd        r;
    uint8_t * data; /* constant data section, in the mapping */
    uint64_t  data_size;
} load_ctx;

/* A constant: wrapped in place in the mapping, never copied. */
static ei_status * r_tensor(load_ctx * c, ei_tensor ** out) {
    int32_t dt = r_i32(&c->r);
    if (dt <= EI_DTYPE_UNDEFINED || dt >= EI_DTYPE_COUNT) return corrupt("a constant has an unknown dtype");
    ei_shape s;
    EI_TRY(r_shape(&c->r, &s));
    uint64_t off = r_u64(&c->r), nbytes = r_u64(&c->r);
    if (c->r.bad) return corrupt("the graph section ends early");
    size_t      want = 0;
    ei_status * st = ei_shape_nbytes_checked(&s, (ei_dtype)dt, SIZE_MAX / 2, &want);
    if (st || want != nbytes) {
        ei_status_destroy(st);
        return corrupt("a constant's size does not match its shape");
    }
    if (off % EI_ENGINE_ALIGN || off > c->data_size || nbytes > c->data_size - off)
        return corrupt("a constant lies outside the data section");
    return ei_tensor_wrap((ei_dtype)dt, &s, c->data + off, out);
}

static ei_status * r_ids(load_ctx * c, int32_t n, int32_t limit, int32_t ** out) {
    *out = calloc((size_t)n + 1, sizeof **out);
    if (!*out) return ei_status_oom();
    for (int32_t k = 0; k < n; k++) {
        (*out)[k] = r_i32(&c->r);
        if ((*out)[k] < -1 || (*out)[k] >= limit) return corrupt("an index is out of range");
    }
    return c->r.bad ? corrupt("the graph section ends early") : NULL;
}

static ei_status * r_attr(load_ctx * c, ei_attr * a) {
    rd * r = &c->r;
    a->name = r_str(r);
    int32_t type = r_i32(r);
    if (!a->name) return r->bad ? corrupt("the graph section ends early") : ei_status_oom();
    if (type < EI_ATTR_UNDEFINED || type > EI_ATTR_STRINGS) return corrupt("an attribute has an unknown type");
    a->type = (ei_attr_type)type;
    switch (a->type) {
    case EI_ATTR_INT: a->i = r_i64(r); break;
    case EI_ATTR_FLOAT: a->f = r_f32(r); break;
    case EI_ATTR_STRING:
        a->s = r_str(r);
        if (!a->s && !r->bad) return ei_status_oom();
        break;
    case EI_ATTR_TENSOR:
        if (r_u8(r)) EI_TRY(r_tensor(c, &a->t));
        break;
    case EI_ATTR_INTS:
        a->n = r_count(r, 8);
        a->ints = malloc((size_t)a->n * sizeof *a->ints + 1);
        if (!a->ints) return ei_status_oom();
        for (int32_t j = 0; j < a->n; j++) a->ints[j] = r_i64(r);
        break;
    case EI_ATTR_FLOATS:
        a->n = r_count(r, 4);
        a->floats = malloc((size_t)a->n * sizeof *a->floats + 1);
        if (!a->floats) return ei_status_oom();
        for (int32_t j = 0; j < a->n; j++) a->floats[j] = r_f32(r);
        break;
    case EI_ATTR_STRINGS: {
        int32_t n = r_count(r, 4);
        a->strings = calloc((size_t)n + 1, sizeof *a->strings);
        if (!a->strings) return ei_status_oom();
        for (; a->n < n; a->n++) {
            a->strings[a->n] = r_str(r);
            if (!a->strings[a->n]) return r->bad ? corrupt("the graph section ends early") : ei_status_oom();
        }
        break;
    }
    default: break;
    }
    return r->bad ? corrupt("the graph section ends early") : NULL;
}

static ei_status * r_node(load_ctx * c, ei_graph * g, int32_t idx, ei_node * n) {
    rd * r = &c->r;
    n->name = r_str(r);
    n->op_type = r_str(r);
    n->domain = r_str(r);
    if (!n->name || !n->op_type || !n->domain)
        return r->bad ? corrupt("the graph section ends early") : ei_status_oom();
    n->opset = r_i64(r);
    n->folded = r_u8(r) != 0;
    n->def = ei_op_find(n->domain, n->op_type);
    if (!n->def)
        return ei_errorf(EI_CODE_UNSUPPORTED, "the engine uses operator %s%s%s, which this edgeinfer does not have",
                         n->domain, n->domain[0] ? "." : "", n->op_type);
    n->n_inputs = r_count(r, 4);
    EI_TRY(r_ids(c, n->n_inputs, g->n_values, &n->inputs));
    n->n_outputs = r_count(r, 4);
    EI_TRY(r_ids(c, n->n_outputs, g->n_values, &n->outputs));
    const ei_op_def * d = n->def;
    if (n->n_inputs < d->in_min || (d->in_max >= 0 && n->n_inputs > d->in_max) || n->n_outputs < d->out_min ||
        (d->out_max >= 0 && n->n_outputs > d->out_max))
        return ei_node_errorf(n, EI_CODE_CORRUPT_ENGINE, "corrupt engine: wrong number of inputs or outputs");
    for (int32_t k = 0; k < d->in_min; k++)
        if (n->inputs[k] < 0)
            return ei_node_errorf(n, EI_CODE_CORRUPT_ENGINE, "corrupt engine: required input missing");
    /* Liveness and execution follow producers: each output must name this node as its producer. */
    for (int32_t k = 0; k < n->n_outputs; k++) {
        int32_t id = n->outputs[k];
        if (id >= 0 && g->values[id].producer != idx)
            return ei_node_errorf(n, EI_CODE_CORRUPT_ENGINE, "corrupt engine: output %d is inconsistent", k);
    }
    n->n_attrs = r_count(r, 8);
    n->attrs = calloc((size_t)n->n_attrs + 1, sizeof *n->attrs);
    if (!n->attrs) return ei_status_oom();
    for (int32_t k = 0; k < n->n_attrs; k++) EI_TRY(r_attr(c, &n->attrs[k]));
    /* Attribute decoding into the op's params: the same checks as an ONNX import. */
    if (d->import) EI_TRY(d->import(n));
    return NULL;
}

static ei_status * r_graph(load_ctx * c, ei_graph * g) {
    rd *    r = &c->r;
    int32_t nv = r_count(r, 22);
    g->values = calloc((size_t)nv + 1, sizeof *g->values);
    if (!g->values) return ei_status_oom();
    g->cap_values = nv + 1;
    /* Producers refer to nodes, whose count comes later: checked once it is known. */
    for (int32_t i = 0; i < nv; i++) {
        ei_value * v = &g->values[i];
        v->name = r_str(r);
        if (!v->name) return r->bad ? corrupt("the graph section ends early") : ei_status_oom();
        g->n_values = i + 1;
        int32_t dt = r_i32(r);
        if (dt < 0 || dt >= EI_DTYPE_COUNT) return corrupt("a value has an unknown dtype");
        v->dtype = (ei_dtype)dt;
        v->shape_known = r_u8(r) != 0;
        EI_TRY(r_shape(r, &v->shape));
        v->producer = r_i32(r);
        v->flags = r_u32(r);
        if (r_u8(r)) EI_TRY(r_tensor(c, &v->constant));
        if (r->bad) return corrupt("the graph section ends early");
    }
    int32_t nn = r_count(r, 30);
    for (int32_t i = 0; i < nv; i++)
        if (g->values[i].producer < -1 || g->values[i].producer >= nn)
            return corrupt("a value's producer is out of range");
    g->nodes = calloc((size_t)nn + 1, sizeof *g->nodes);
    if (!g->nodes) return ei_status_oom();
    g->cap_nodes = nn + 1;
    for (int32_t i = 0; i < nn; i++) {
        g->n_nodes = i + 1;
        EI_TRY(r_node(c, g, i, &g->nodes[i]));
    }
    g->n_inputs = r_count(r, 4);
    EI_TRY(r_ids(c, g->n_inputs, g->n_values, &g->inputs));
    g->n_outputs = r_count(r, 4);
    EI_TRY(r_ids(c, g->n_outputs, g->n_values, &g->outputs));
    for (int32_t i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] < 0) return corrupt("a graph input is missing");
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] < 0) return corrupt("a graph output is missing");
    /* The stored execution order must be a permutation of the nodes. */
    g->order = malloc(((size_t)nn + 1) * sizeof *g->order);
    bool * seen = calloc((size_t)nn + 1, 1);
    if (!g->order || !seen) {
        free(seen);
        return ei_status_oom();
    }
    ei_status * st = NULL;
    for (int32_t i = 0; i < nn && !st; i++) {
        int32_t k = r_i32(r);
        if (r->bad)
            st = corrupt("the graph section ends early");
        else if (k < 0 || k >= nn || seen[k])
            st = corrupt("the execution order is not a permutation of the nodes");
        else
            seen[k] = true, g->order[i] = k;
    }
    free(seen);
    return st;
}

/* Kernels read run parameters that each op's infer derives from the input shapes and constant
 * inputs (Resize's scales, Conv's padding...); they are not in the file, so infer runs once per
 * unfolded node. That is node-local: no sort, no folding, no propagation (every shape is stored),
 * and it doubles as a check that the stored output shapes are what the op computes, so a kernel
 * never sees shapes it did not validate. */
static ei_status * derive_params(ei_graph * g) {
    for (int32_t oi = 0; oi < g->n_nodes; oi++) {
        ei_node * n = &g->nodes[g->order[oi]];
        if (n->folded) continue;
        ei_dtype dt[16];
        ei_shape sh[16];
        int32_t  k_max = n->n_outputs < 16 ? n->n_outputs : 16;
        for (int32_t k = 0; k < k_max; k++) {
            const ei_value * v = ei_node_output(g, n, k);
            if (v && v->constant)
                return ei_node_errorf(n, EI_CODE_CORRUPT_ENGINE,
                                      "corrupt engine: output %d of a node "
                                      "run at run time is a constant",
                                      k);
            if (v) dt[k] = v->dtype, sh[k] = v->shape;
        }
        EI_TRY(n->def->infer(g, n));
        for (int32_t k = 0; k < k_max; k++) {
            const ei_value * v = ei_node_output(g, n, k);
            if (v && (v->constant || v->dtype != dt[k] || !ei_shape_equal(&v->shape, &sh[k])))
                return ei_node_errorf(n, EI_CODE_CORRUPT_ENGINE,
                                      "corrupt engine: the stored type or shape of output %d is not what the operator "
                                      "computes",
                                      k);
        }
    }
    return NULL;
}

static uint32_t get_u32(const uint8_t * p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get_u64(const uint8_t * p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Header checks, each failure with its own message, cheapest and most telling first. */
static ei_status * check_header(const uint8_t * f, size_t size) {
    if (size >= 8 && memcmp(f, EI_ENGINE_MAGIC, 8) != 0)
        return ei_errorf(EI_CODE_CORRUPT_ENGINE, "not an edgeinfer engine file (bad magic)");
    if (size < EI_ENGINE_HEADER_SIZE)
        return ei_errorf(EI_CODE_CORRUPT_ENGINE, "truncated engine: %zu bytes, shorter than the %d-byte header", size,
                         EI_ENGINE_HEADER_SIZE);
    uint32_t version = get_u32(f + EI_ENGINE_OFF_VERSION);
    if (version != EI_ENGINE_FORMAT_VERSION)
        return ei_errorf(EI_CODE_UNSUPPORTED,
                         "engine format version %u; this edgeinfer (%s) reads version %u: rebuild the engine with "
                         "`edgeinfer build`",
                         version, EI_VERSION_STRING, EI_ENGINE_FORMAT_VERSION);
    uint64_t want = get_u64(f + EI_ENGINE_OFF_FILE_SIZE);
    if (want > size)
        return ei_errorf(EI_CODE_CORRUPT_ENGINE, "truncated engine: the header says %llu bytes, the file has %zu",
                         (unsigned long long)want, size);
    if (want < size)
        return ei_errorf(EI_CODE_CORRUPT_ENGINE, "corrupt engine: %zu bytes where the header says %llu", size,
                         (unsigned long long)want);
    if (get_u32(f + EI_ENGINE_OFF_HEADER_SIZE) != EI_ENGINE_HEADER_SIZE) return corrupt("bad header size");
    if (ei_engine_checksum(f, size) != get_u64(f + EI_ENGINE_OFF_CHECKSUM))
        return ei_errorf(EI_CODE_CORRUPT_ENGINE, "corrupt engine: checksum mismatch (the file was damaged after it "
                                                 "was written; rebuild it)");
    uint64_t need = get_u64(f + EI_ENGINE_OFF_REQUIRED_ISA), have = ei_isa_detect();
    if (need & ~have) {
        char missing[256], builder[256];
        ei_isa_format(need & ~have, missing, sizeof missing);
        ei_isa_format(get_u64(f + EI_ENGINE_OFF_BUILDER_ISA), builder, sizeof builder);
        return ei_errorf(EI_CODE_UNSUPPORTED,
                         "the engine needs CPU features this CPU lacks: %s (it was built on a CPU with: %s); rebuild "
                         "it on this machine",
                         missing, builder);
    }
    uint64_t mo = get_u64(f + EI_ENGINE_OFF_META), ms = get_u64(f + EI_ENGINE_OFF_META + 8);
    uint64_t dof = get_u64(f + EI_ENGINE_OFF_DATA), ds = get_u64(f + EI_ENGINE_OFF_DATA + 8);
    if (mo < EI_ENGINE_HEADER_SIZE || mo > size || ms > size - mo || dof % EI_ENGINE_ALIGN || dof < mo + ms ||
        dof > size || ds > size - dof)
        return corrupt("the sections lie outside the file");
    return NULL;
}

/* Everything after the header checks: metadata, then the graph. Takes ownership of map. */
static ei_status * load_mapped(uint8_t * f, size_t size, ei_model ** out) {
    load_ctx c;
    memset(&c, 0, sizeof c);
    uint64_t mo = get_u64(f + EI_ENGINE_OFF_META), dof = get_u64(f + EI_ENGINE_OFF_DATA);
    c.r.p = f + mo;
    c.r.n = (size_t)get_u64(f + EI_ENGINE_OFF_META + 8);
    c.data = f + dof;
    c.data_size = get_u64(f + EI_ENGINE_OFF_DATA + 8);

    ei_model_build_info bi;
    memset(&bi, 0, sizeof bi);
    char *          version = r_str(&c.r);
    char *          producer = NULL, *producer_version = NULL;
    char *          domains[16] = {0};
    int64_t         versions[16] = {0};
    int32_t         n_opsets = 0;
    ei_graph *      g = NULL;
    ei_status *     st = NULL;
    const uint8_t * sha = r_bytes(&c.r, 32);
    if (sha) memcpy(bi.onnx_sha256, sha, 32);
    bi.has_onnx_sha256 = true;
    bi.precision = r_i32(&c.r);
    bi.batch = r_i32(&c.r);
    bi.n_threads = r_i32(&c.r);
    bi.optimization_level = r_i32(&c.r);
    char * shapes = r_str(&c.r);
    if (shapes && shapes[0])
        bi.input_shapes = shapes;
    else
        free(shapes);
    int64_t ir_version = r_i64(&c.r);
    producer = r_str(&c.r);
    producer_version = r_str(&c.r);
    n_opsets = r_i32(&c.r);
    if (n_opsets < 0 || n_opsets > 16) st = corrupt("bad opset count");
    for (int32_t i = 0; !st && i < n_opsets; i++) {
        domains[i] = r_str(&c.r);
        versions[i] = r_i64(&c.r);
        if (!domains[i]) st = c.r.bad ? corrupt("the metadata ends early") : ei_status_oom();
    }
    ei_model_summary facts;
    memset(&facts, 0, sizeof facts);
    facts.node_count = r_i32(&c.r);
    facts.nodes_before_optimization = r_i32(&c.r);
    facts.nodes_after_optimization = r_i32(&c.r);
    char * report = r_str(&c.r);
    if (!st && (c.r.bad || !version || !producer || !producer_version || !report))
        st = c.r.bad ? corrupt("the metadata ends early") : ei_status_oom();
    if (!st && ((uint32_t)bi.precision >= EI_PRECISION_COUNT || bi.batch < 0 || bi.n_threads < 0))
        st = corrupt("bad build options");
    if (!st) st = ei_graph_create(&g);
    if (!st) st = r_graph(&c, g);
    if (!st && c.r.pos != c.r.n) st = corrupt("unexpected bytes after the graph");
    if (!st) st = derive_params(g);
    ei_model * m = NULL;
    if (!st) {
        facts.ir_version = ir_version;
        facts.producer_name = producer;
        facts.producer_version = producer_version;
        facts.opset_count = n_opsets;
        for (int32_t i = 0; i < n_opsets; i++) facts.opset_domain[i] = domains[i], facts.opset_version[i] = versions[i];
        facts.optimization_report = report;
        st = ei_model_from_graph(g, f, size, &facts, &m);
        g = NULL, f = NULL; /* owned by m, or released by ei_model_from_graph */
    }
    if (!st) {
        m->build = bi;
        bi.input_shapes = NULL;
    }
    ei_graph_destroy(g);
    ei_file_unmap(f, size);
    free(bi.input_shapes);
    free(version);
    free(producer);
    free(producer_version);
    free(report);
    for (int i = 0; i < 16; i++) free(domains[i]);
    *out = m;
    return st;
}

ei_status * ei_model_load_engine(const char * path, ei_model ** out) {
    *out = NULL;
    void * map;
    size_t size;
    /* populate: the checksum reads every page anyway; one fault-in pass is faster. */
    EI_TRY(ei_file_map(path, true, EI_CODE_CORRUPT_ENGINE, "truncated engine: the file is empty", &map, &size));
    uint8_t *   f = map;
    ei_status * st = check_header(f, size);
    if (st) {
        ei_file_unmap(f, size);
        return ei_status_wrapf(st, "%s", path);
    }
    st = load_mapped(f, size, out);
    return st ? ei_status_wrapf(st, "%s", path) : NULL;
}

bool ei_file_is_engine(const char * path) {
    char   magic[8];
    FILE * fp = fopen(path, "rb");
    if (!fp) return false;
    bool yes = fread(magic, 1, 8, fp) == 8 && memcmp(magic, EI_ENGINE_MAGIC, 8) == 0;
    fclose(fp);
    return yes;
}

int32_t ei_model_engine_threads(const ei_model * m) { return m ? m->build.n_threads : 0; }

ei_precision ei_model_engine_precision(const ei_model * m) {
    return m ? (ei_precision)m->build.precision : EI_PRECISION_FP32;
}
