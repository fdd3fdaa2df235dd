#include "onnx/onnx_import.h"

#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* Open-addressing name -> value id map; the graph's own lookup is linear. */
typedef struct name_map {
    int32_t *  slots; /* value id + 1; 0 = empty */
    uint32_t   mask;
    ei_graph * g;
} name_map;

static uint32_t hash_str(const char * s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static ei_status * map_init(name_map * m, ei_graph * g, int64_t expected) {
    uint32_t cap = 64;
    while (cap < expected * 2 && cap < (1u << 30)) cap <<= 1;
    m->slots = calloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
    m->g = g;
    return m->slots ? NULL : ei_status_oom();
}

static int32_t map_find(const name_map * m, const char * name) {
    for (uint32_t i = hash_str(name) & m->mask;; i = (i + 1) & m->mask) {
        int32_t s = m->slots[i];
        if (!s) return -1;
        if (strcmp(m->g->values[s - 1].name, name) == 0) return s - 1;
    }
}

static ei_status * map_grow(name_map * m) {
    uint32_t  cap = (m->mask + 1) * 2;
    int32_t * slots = calloc(cap, sizeof *slots);
    if (!slots) return ei_status_oom();
    for (uint32_t i = 0; i <= m->mask; i++) {
        int32_t s = m->slots[i];
        if (!s) continue;
        uint32_t j = hash_str(m->g->values[s - 1].name) & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = s;
    }
    free(m->slots);
    m->slots = slots;
    m->mask = cap - 1;
    return NULL;
}

/* Returns the id of `name`, adding the value when it is new. */
static ei_status * map_get(name_map * m, const char * name, int32_t * id, bool * added) {
    *id = map_find(m, name);
    if (added) *added = false;
    if (*id >= 0) return NULL;
    if ((uint32_t)m->g->n_values * 2 >= m->mask) EI_TRY(map_grow(m));
    EI_TRY(ei_graph_value_add(m->g, name, id));
    uint32_t i = hash_str(name) & m->mask;
    while (m->slots[i]) i = (i + 1) & m->mask;
    m->slots[i] = *id + 1;
    if (added) *added = true;
    return NULL;
}

/* Input-shape overrides, "name:1x3x224x224,other:1x10". */
static ei_status * find_shape_override(const char * spec, const char * name, ei_shape * out, bool * found) {
    *found = false;
    if (!spec) return NULL;
    size_t       nl = strlen(name);
    const char * p = spec;
    while (*p) {
        const char * colon = strrchr(p, ':');
        const char * comma = strchr(p, ',');
        const char * end = comma ? comma : p + strlen(p);
        /* the last ':' before the end of this item separates name and dims (names may contain ':') */
        colon = NULL;
        for (const char * q = p; q < end; q++)
            if (*q == ':') colon = q;
        if (!colon)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "input shape '%.*s' should look like NAME:1x3x224x224",
                             (int)(end - p), p);
        if ((size_t)(colon - p) == nl && strncmp(p, name, nl) == 0) {
            ei_shape s;
            memset(&s, 0, sizeof s);
            const char * q = colon + 1;
            while (q < end) {
                char *    e;
                long long v = strtoll(q, &e, 10);
                if (e == q || v < 0 || v > (1ll << 40) || s.rank == EI_MAX_RANK)
                    return ei_errorf(EI_CODE_INVALID_ARGUMENT, "input shape for '%s' has a bad dimension near '%.*s'",
                                     name, (int)(end - q), q);
                s.dim[s.rank++] = v;
                q = e;
                if (q < end && *q == 'x')
                    q++;
                else if (q < end)
                    return ei_errorf(EI_CODE_INVALID_ARGUMENT, "input shape for '%s': expected 'x' near '%.*s'", name,
                                     (int)(end - q), q);
            }
            *out = s;
            *found = true;
            return NULL;
        }
        p = comma ? comma + 1 : end;
    }
    return NULL;
}

static int64_t default_opset(const ei_onnx_model * m, bool * found) {
    *found = false;
    int64_t v = 0;
    for (int32_t i = 0; i < m->n_opsets; i++)
        if (m->opsets[i].domain.n == 0 || ei_pb_bytes_eq(m->opsets[i].domain, "ai.onnx")) {
            v = m->opsets[i].version;
            *found = true;
        }
    return v;
}

static ei_status * convert_attr(const ei_onnx_attr * a, ei_attr * out, const char * node_name) {
    memset(out, 0, sizeof *out);
    out->name = ei_pb_strdup(a->name);
    if (!out->name) return ei_status_oom();
    if (a->ref_attr_name.n)
        return ei_errorf(EI_CODE_INVALID_MODEL,
                         "node '%s': attribute '%s' refers to a function attribute outside a function", node_name,
                         out->name);
    switch (a->type) {
    case 1:
        out->type = EI_ATTR_FLOAT;
        out->f = a->f;
        break;
    case 2:
        out->type = EI_ATTR_INT;
        out->i = a->i;
        break;
    case 3:
        out->type = EI_ATTR_STRING;
        out->s = ei_pb_strdup(a->s);
        if (!out->s) return ei_status_oom();
        break;
    case 4: {
        out->type = EI_ATTR_TENSOR;
        if (!a->t)
            return ei_errorf(EI_CODE_INVALID_MODEL, "node '%s': tensor attribute '%s' has no tensor", node_name,
                             out->name);
        char what[256];
        snprintf(what, sizeof what, "node '%s' attribute '%s'", node_name, out->name);
        EI_TRY(ei_onnx_tensor_convert(a->t, false, NULL, what, &out->t));
        break;
    }
    case 5: out->type = EI_ATTR_GRAPH; break;
    case 6:
        out->type = EI_ATTR_FLOATS;
        out->n = a->n_floats;
        out->floats = malloc(((size_t)a->n_floats + 1) * sizeof(float));
        if (!out->floats) return ei_status_oom();
        if (a->n_floats) memcpy(out->floats, a->floats, (size_t)a->n_floats * sizeof(float));
        break;
    case 7:
        out->type = EI_ATTR_INTS;
        out->n = a->n_ints;
        out->ints = malloc(((size_t)a->n_ints + 1) * sizeof(int64_t));
        if (!out->ints) return ei_status_oom();
        if (a->n_ints) memcpy(out->ints, a->ints, (size_t)a->n_ints * sizeof(int64_t));
        break;
    case 8:
        out->type = EI_ATTR_STRINGS;
        out->strings = calloc((size_t)a->n_strings + 1, sizeof(char *));
        if (!out->strings) return ei_status_oom();
        for (int32_t i = 0; i < a->n_strings; i++) {
            out->strings[i] = ei_pb_strdup(a->strings[i]);
            if (!out->strings[i]) return ei_status_oom();
            out->n = i + 1;
        }
        break;
    default:
        /* tensors/graphs lists, sparse tensors, type protos: no supported op takes them */
        out->type = EI_ATTR_UNDEFINED;
        break;
    }
    return NULL;
}

typedef struct import_ctx {
    const ei_onnx_model *    m;
    const ei_model_options * opt;
    ei_mapped_files *        mf;
    bool                     borrow;
    ei_graph *               g;
    name_map                 names;
    int64_t                  opset;
} import_ctx;

static ei_status * add_initializers(import_ctx * c) {
    const ei_onnx_graph * og = &c->m->graph;
    for (int32_t i = 0; i < og->n_initializers; i++) {
        const ei_onnx_tensor * t = &og->initializers[i];
        char *                 name = ei_pb_strdup(t->name);
        if (!name) return ei_status_oom();
        if (!name[0]) {
            free(name);
            return ei_errorf(EI_CODE_INVALID_MODEL, "graph.initializer[%d] has no name", i);
        }
        int32_t     id;
        bool        added;
        ei_status * st = map_get(&c->names, name, &id, &added);
        if (!st && !added) st = ei_errorf(EI_CODE_INVALID_MODEL, "initializer '%s' is defined twice", name);
        if (!st) {
            char what[300];
            snprintf(what, sizeof what, "initializer '%s'", name);
            ei_value * v = &c->g->values[id];
            st = ei_onnx_tensor_convert(t, c->borrow, c->mf, what, &v->constant);
            if (!st) {
                v->dtype = v->constant->dtype;
                v->shape = v->constant->shape;
                v->shape_known = true;
                v->flags |= EI_VALUE_INITIALIZER;
            }
        }
        free(name);
        EI_TRY(st);
    }
    return NULL;
}

static ei_status * frozen_value(const ei_model_options * opt, const char * name, const ei_tensor ** out) {
    *out = NULL;
    if (!opt) return NULL;
    for (int32_t i = 0; i < opt->n_frozen_inputs; i++)
        if (opt->frozen_input_names[i] && strcmp(opt->frozen_input_names[i], name) == 0) {
            *out = opt->frozen_input_values[i];
            return NULL;
        }
    return NULL;
}

static ei_status * add_inputs(import_ctx * c) {
    const ei_onnx_graph * og = &c->m->graph;
    c->g->inputs = calloc((size_t)og->n_inputs + 1, sizeof(int32_t));
    if (!c->g->inputs) return ei_status_oom();
    for (int32_t i = 0; i < og->n_inputs; i++) {
        const ei_onnx_value_info * vi = &og->inputs[i];
        char *                     name = ei_pb_strdup(vi->name);
        if (!name) return ei_status_oom();
        int32_t     id;
        bool        added;
        ei_status * st = map_get(&c->names, name, &id, &added);
        if (st) {
            free(name);
            return st;
        }
        ei_value * v = &c->g->values[id];
        /* Older exporters list initializers among the inputs too: those stay constants. */
        if (!added) {
            if (v->flags & EI_VALUE_INITIALIZER) {
                free(name);
                continue;
            }
            st = ei_errorf(EI_CODE_INVALID_MODEL, "graph input '%s' is listed twice", name);
            free(name);
            return st;
        }
        if (!vi->is_tensor)
            st = ei_errorf(EI_CODE_UNSUPPORTED,
                           "graph input '%s' is not a tensor (sequences, maps and optionals are not supported)", name);
        ei_dtype dt = ei_dtype_from_onnx(vi->elem_type);
        if (!st && dt == EI_DTYPE_UNDEFINED)
            st = ei_errorf(EI_CODE_UNSUPPORTED, "graph input '%s' has element type %d, which is not supported", name,
                           (int)vi->elem_type);
        ei_shape shape;
        bool     overridden = false;
        if (!st) st = find_shape_override(c->opt ? c->opt->input_shapes : NULL, name, &shape, &overridden);
        const ei_tensor * frozen = NULL;
        if (!st) st = frozen_value(c->opt, name, &frozen);
        if (!st && frozen) {
            if (frozen->dtype != dt)
                st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "frozen input '%s' is %s but the model declares %s", name,
                               ei_dtype_name(frozen->dtype), ei_dtype_name(dt));
            if (!st) st = ei_tensor_clone(frozen, &v->constant);
            if (!st) {
                v->dtype = dt;
                v->shape = frozen->shape;
                v->shape_known = true;
                v->flags |= EI_VALUE_INITIALIZER;
            }
            free(name);
            EI_TRY(st);
            continue;
        }
        if (!st && !overridden) {
            if (!vi->has_shape)
                st = ei_errorf(EI_CODE_INVALID_MODEL,
                               "graph input '%s' has no shape; give one with --input-shape %s:DIMS", name, name);
            else if (vi->n_dims > EI_MAX_RANK)
                st = ei_errorf(EI_CODE_UNSUPPORTED, "graph input '%s' has rank %d; at most %d is supported", name,
                               vi->n_dims, EI_MAX_RANK);
            else {
                memset(&shape, 0, sizeof shape);
                shape.rank = vi->n_dims;
                for (int32_t d = 0; d < vi->n_dims; d++)
                    shape.dim[d] = vi->dims[d].value >= 0 ? vi->dims[d].value : 1; /* symbolic: 1 */
            }
        }
        if (!st && overridden && vi->has_shape && vi->n_dims != shape.rank)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "input shape for '%s' has rank %d but the model declares rank %d",
                           name, shape.rank, vi->n_dims);
        if (!st && overridden && vi->has_shape)
            for (int32_t d = 0; d < shape.rank && !st; d++)
                if (vi->dims[d].value >= 0 && vi->dims[d].value != shape.dim[d])
                    st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                                   "input shape for '%s': dimension %d is fixed to %lld by the model, not %lld", name,
                                   d, (long long)vi->dims[d].value, (long long)shape.dim[d]);
        size_t nb;
        if (!st) st = ei_shape_nbytes_checked(&shape, dt, (size_t)1 << 36, &nb);
        free(name);
        if (st) return ei_status_wrapf(st, "graph input %d", i);
        v->dtype = dt;
        v->shape = shape;
        v->shape_known = true;
        v->flags |= EI_VALUE_GRAPH_INPUT;
        c->g->inputs[c->g->n_inputs++] = id;
    }
    return NULL;
}

static ei_status * add_node(import_ctx * c, int32_t idx, const ei_onnx_node * on) {
    ei_node * n;
    EI_TRY(ei_graph_node_add(c->g, &n));
    n->op_type = ei_pb_strdup(on->op_type);
    n->domain = ei_pb_strdup(on->domain);
    if (!n->op_type || !n->domain) return ei_status_oom();
    if (on->name.n) {
        n->name = ei_pb_strdup(on->name);
    } else {
        size_t len = on->op_type.n + 24;
        n->name = malloc(len);
        if (n->name) snprintf(n->name, len, "%s_%d", n->op_type, idx);
    }
    if (!n->name) return ei_status_oom();
    n->opset = c->opset;
    n->n_inputs = on->n_inputs;
    n->n_outputs = on->n_outputs;
    n->inputs = malloc(((size_t)on->n_inputs + 1) * sizeof(int32_t));
    n->outputs = malloc(((size_t)on->n_outputs + 1) * sizeof(int32_t));
    n->attrs = calloc((size_t)on->n_attrs + 1, sizeof(ei_attr));
    if (!n->inputs || !n->outputs || !n->attrs) return ei_status_oom();
    for (int32_t k = 0; k < on->n_attrs; k++) {
        n->n_attrs = k + 1;
        EI_TRY(convert_attr(&on->attrs[k], &n->attrs[k], n->name));
    }
    for (int32_t k = 0; k < on->n_inputs; k++) {
        n->inputs[k] = -1;
        if (!on->inputs[k].n) continue;
        char * name = ei_pb_strdup(on->inputs[k]);
        if (!name) return ei_status_oom();
        ei_status * st = map_get(&c->names, name, &n->inputs[k], NULL);
        free(name);
        EI_TRY(st);
    }
    for (int32_t k = 0; k < on->n_outputs; k++) {
        n->outputs[k] = -1;
        if (!on->outputs[k].n) continue;
        char * name = ei_pb_strdup(on->outputs[k]);
        if (!name) return ei_status_oom();
        int32_t     id;
        ei_status * st = map_get(&c->names, name, &id, NULL);
        if (!st) {
            ei_value * v = &c->g->values[id];
            if (v->producer >= 0 || (v->flags & (EI_VALUE_INITIALIZER | EI_VALUE_GRAPH_INPUT)))
                st = ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                    "output '%s' is already defined elsewhere (each value "
                                    "must have exactly one producer)",
                                    name);
            else
                v->producer = idx;
        }
        free(name);
        EI_TRY(st);
        n->outputs[k] = id;
    }
    return NULL;
}

/* Resolves operators after every node is read, so one message can name all unsupported ones. */
static ei_status * resolve_ops(import_ctx * c) {
    char    missing[1024] = "";
    size_t  used = 0;
    int32_t n_unresolved = 0;
    for (int32_t i = 0; i < c->g->n_nodes; i++) {
        ei_node * n = &c->g->nodes[i];
        if (!n->op_type[0]) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "the node has no op_type");
        n->def = ei_op_find(n->domain, n->op_type);
        if (n->def) continue;
        /* List each unsupported operator once: skip it if an earlier node had the same one. */
        bool seen = false;
        for (int32_t j = 0; j < i && !seen; j++)
            seen = !c->g->nodes[j].def && !strcmp(c->g->nodes[j].op_type, n->op_type) &&
                   !strcmp(c->g->nodes[j].domain, n->domain);
        n_unresolved++;
        if (seen) continue;
        char item[200];
        snprintf(item, sizeof item, "%s%s%s", n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type);
        if (used + strlen(item) + 8 < sizeof missing)
            used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "", item);
    }
    if (n_unresolved)
        return ei_errorf(EI_CODE_UNSUPPORTED, "unsupported operator%s: %s (`edgeinfer ops` lists the supported ones)",
                         strchr(missing, ',') ? "s" : "", missing);
    for (int32_t i = 0; i < c->g->n_nodes; i++) {
        ei_node *         n = &c->g->nodes[i];
        const ei_op_def * d = n->def;
        if (n->n_inputs < d->in_min || (d->in_max >= 0 && n->n_inputs > d->in_max))
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "has %d inputs; %s takes %d to %d", n->n_inputs, d->name,
                                  d->in_min, d->in_max);
        if (n->n_outputs < d->out_min || (d->out_max >= 0 && n->n_outputs > d->out_max))
            return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "has %d outputs; %s produces %d to %d", n->n_outputs,
                                  d->name, d->out_min, d->out_max);
        for (int32_t k = 0; k < d->in_min && k < n->n_inputs; k++)
            if (n->inputs[k] < 0) return ei_node_errorf(n, EI_CODE_INVALID_MODEL, "required input %d is empty", k);
        if (d->import) EI_TRY(d->import(n));
    }
    return NULL;
}

static ei_status * check_defined(import_ctx * c) {
    for (int32_t i = 0; i < c->g->n_nodes; i++) {
        const ei_node * n = &c->g->nodes[i];
        for (int32_t k = 0; k < n->n_inputs; k++) {
            if (n->inputs[k] < 0) continue;
            const ei_value * v = &c->g->values[n->inputs[k]];
            if (v->producer < 0 && !(v->flags & (EI_VALUE_INITIALIZER | EI_VALUE_GRAPH_INPUT)))
                return ei_node_errorf(n, EI_CODE_INVALID_MODEL,
                                      "input '%s' is not produced by any node, initializer or graph input", v->name);
        }
    }
    return NULL;
}

static ei_status * add_outputs(import_ctx * c) {
    const ei_onnx_graph * og = &c->m->graph;
    if (og->n_outputs == 0) return ei_errorf(EI_CODE_INVALID_MODEL, "the graph has no outputs");
    c->g->outputs = calloc((size_t)og->n_outputs, sizeof(int32_t));
    if (!c->g->outputs) return ei_status_oom();
    for (int32_t i = 0; i < og->n_outputs; i++) {
        char * name = ei_pb_strdup(og->outputs[i].name);
        if (!name) return ei_status_oom();
        int32_t     id = map_find(&c->names, name);
        ei_status * st = NULL;
        if (id < 0) st = ei_errorf(EI_CODE_INVALID_MODEL, "graph output '%s' is not produced by any node", name);
        free(name);
        EI_TRY(st);
        c->g->values[id].flags |= EI_VALUE_GRAPH_OUTPUT;
        c->g->outputs[c->g->n_outputs++] = id;
    }
    return NULL;
}

static ei_status * check_header(const ei_onnx_model * m, int64_t * opset) {
    if (!m->has_graph) return ei_errorf(EI_CODE_INVALID_MODEL, "the file has no graph (is it an ONNX model?)");
    if (m->ir_version < 3)
        return ei_errorf(EI_CODE_UNSUPPORTED, "IR version %lld is older than 3, the oldest supported",
                         (long long)m->ir_version);
    if (m->ir_version > EI_ONNX_MAX_IR_VERSION)
        return ei_errorf(EI_CODE_UNSUPPORTED, "IR version %lld is newer than %d, the newest this edgeinfer reads",
                         (long long)m->ir_version, EI_ONNX_MAX_IR_VERSION);
    bool found;
    *opset = default_opset(m, &found);
    if (!found) return ei_errorf(EI_CODE_INVALID_MODEL, "the model imports no version of the default ai.onnx opset");
    if (*opset < 1 || *opset > EI_ONNX_MAX_OPSET)
        return ei_errorf(EI_CODE_UNSUPPORTED, "ai.onnx opset %lld is outside 1..%d, the versions this edgeinfer reads",
                         (long long)*opset, EI_ONNX_MAX_OPSET);
    if (m->graph.n_sparse_initializers) return ei_errorf(EI_CODE_UNSUPPORTED, "sparse initializers are not supported");
    return NULL;
}

ei_status * ei_onnx_import(const ei_onnx_model * m, ei_mapped_files * mf, bool borrow, const ei_model_options * opt,
                           ei_graph ** out) {
    *out = NULL;
    import_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.opt = opt;
    c.mf = mf;
    c.borrow = borrow;
    EI_TRY(check_header(m, &c.opset));
    EI_TRY(ei_graph_create(&c.g));
    const ei_onnx_graph * og = &m->graph;
    ei_status * st = map_init(&c.names, c.g, (int64_t)og->n_initializers + og->n_inputs + og->n_nodes * 2 + 16);
    if (!st) st = add_initializers(&c);
    if (!st) st = add_inputs(&c);
    for (int32_t i = 0; !st && i < og->n_nodes; i++) st = add_node(&c, i, &og->nodes[i]);
    if (!st) st = check_defined(&c);
    if (!st) st = add_outputs(&c);
    if (!st) st = resolve_ops(&c);
    if (!st) st = ei_graph_sort(c.g);
    if (!st) st = ei_graph_infer(c.g, opt ? opt->fold_constants : true);
    free(c.names.slots);
    if (st) {
        ei_graph_destroy(c.g);
        return st;
    }
    *out = c.g;
    return NULL;
}
