#include "runtime/memplan.h"

#include <stdlib.h>
#include <string.h>

void ei_memplan_free(ei_memplan * p) {
    if (!p) return;
    free(p->buffers);
    free(p->buffer_of);
    memset(p, 0, sizeof *p);
}

typedef struct place_key {
    size_t  bytes;
    int32_t first, index;
} place_key;

/* Largest first: small buffers then fill the gaps the large ones leave. Ties by start step and
 * index, so that the plan is the same on every platform (qsort is not stable). */
static int by_size_desc(const void * pa, const void * pb) {
    const place_key *a = pa, *b = pb;
    if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static int by_offset(const void * pa, const void * pb) {
    const ei_mem_buffer *a = *(const ei_mem_buffer *const *)pa, *b = *(const ei_mem_buffer *const *)pb;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

ei_status * ei_memplan_place(ei_mem_buffer * b, int32_t n, size_t * arena_bytes) {
    *arena_bytes = 0;
    place_key *            keys = malloc(((size_t)n + 1) * sizeof *keys);
    const ei_mem_buffer ** placed = malloc(((size_t)n + 1) * sizeof *placed);
    const ei_mem_buffer ** near = malloc(((size_t)n + 1) * sizeof *near);
    if (!keys || !placed || !near) {
        free(keys), free(placed), free(near);
        return ei_status_oom();
    }
    for (int32_t i = 0; i < n; i++) keys[i] = (place_key){b[i].bytes, b[i].first, i};
    qsort(keys, (size_t)n, sizeof *keys, by_size_desc);
    int32_t     n_placed = 0;
    size_t      arena = 0;
    ei_status * st = NULL;
    for (int32_t k = 0; k < n && !st; k++) {
        ei_mem_buffer * x = &b[keys[k].index];
        x->offset = 0;
        if (!x->bytes) continue; /* occupies nothing; any offset will do */
        /* The placed buffers alive at some step where x is, by offset: x goes into the first gap
         * large enough, or after the last of them. */
        int32_t n_near = 0;
        for (int32_t j = 0; j < n_placed; j++)
            if (placed[j]->first <= x->last && x->first <= placed[j]->last) near[n_near++] = placed[j];
        qsort(near, (size_t)n_near, sizeof *near, by_offset);
        size_t off = 0;
        for (int32_t j = 0; j < n_near; j++) {
            if (near[j]->offset >= off && near[j]->offset - off >= x->bytes) break;
            size_t end = near[j]->offset + near[j]->bytes;
            if (end > off) off = end;
        }
        if (x->bytes > SIZE_MAX - off) {
            st = ei_errorf(EI_CODE_OUT_OF_MEMORY, "the memory plan overflows the address space");
            break;
        }
        x->offset = off;
        if (off + x->bytes > arena) arena = off + x->bytes;
        placed[n_placed++] = x;
    }
    free(keys), free(placed), free(near);
    if (!st) *arena_bytes = arena;
    return st;
}

/* The most bytes alive at one step, from "before step 0" (-1) to "after the last step". */
static size_t peak_live(const ei_mem_buffer * b, int32_t n, int32_t n_steps) {
    size_t peak = 0;
    for (int32_t t = -1; t <= n_steps; t++) {
        size_t sum = 0;
        for (int32_t i = 0; i < n; i++)
            if (b[i].first <= t && t <= b[i].last) sum += b[i].bytes;
        if (sum > peak) peak = sum;
    }
    return peak;
}

static bool is_run_time(const ei_graph * g, int32_t id) { return id >= 0 && !g->values[id].constant; }

ei_status * ei_memplan_build(const ei_graph * g, const int32_t * steps, int32_t n_steps, const int32_t * in_place,
                             ei_memplan * out) {
    memset(out, 0, sizeof *out);
    size_t    nv = (size_t)g->n_values + 1;
    int32_t * first = malloc(nv * sizeof *first);
    int32_t * last = malloc(nv * sizeof *last);
    size_t *  bytes = calloc(nv, sizeof *bytes);
    bool *    has = calloc(nv, sizeof *has);
    out->buffer_of = malloc(nv * sizeof *out->buffer_of);
    out->buffers = malloc(nv * sizeof *out->buffers);
    ei_status * st = NULL;
    if (!first || !last || !bytes || !has || !out->buffer_of || !out->buffers) {
        st = ei_status_oom();
        goto done;
    }
    for (int32_t i = 0; i < g->n_values; i++) out->buffer_of[i] = -1;

    /* Lifetimes. Graph inputs stay alive for the whole run and beyond: a second run without a new
     * ei_session_set_input reads them again. Graph outputs stay alive after the run, where the
     * caller reads them; an output nobody reads is alive only during the step that writes it. */
    for (int32_t i = 0; i < g->n_inputs; i++) {
        int32_t id = g->inputs[i];
        if (!is_run_time(g, id)) continue;
        has[id] = true, first[id] = -1, last[id] = n_steps;
    }
    for (int32_t t = 0; t < n_steps; t++) {
        const ei_node * n = &g->nodes[steps[t]];
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t id = n->inputs[k];
            if (id >= 0 && has[id] && last[id] < t) last[id] = t;
        }
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t id = n->outputs[k];
            if (!is_run_time(g, id) || has[id]) continue;
            has[id] = true, first[id] = t, last[id] = t;
        }
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] >= 0 && has[g->outputs[i]]) last[g->outputs[i]] = n_steps;

    for (int32_t i = 0; i < g->n_values; i++) {
        if (!has[i]) continue;
        const ei_value * v = &g->values[i];
        size_t           nb;
        st = ei_shape_nbytes_checked(&v->shape, v->dtype, SIZE_MAX / 2, &nb);
        if (st) {
            st = ei_status_wrapf(st, "tensor '%s'", v->name);
            goto done;
        }
        bytes[i] = (nb + EI_MEMPLAN_ALIGN - 1) & ~(size_t)(EI_MEMPLAN_ALIGN - 1);
        if (bytes[i] > SIZE_MAX - out->unplanned_bytes) {
            st = ei_errorf(EI_CODE_OUT_OF_MEMORY, "the model's tensors overflow the address space");
            goto done;
        }
        out->unplanned_bytes += bytes[i];
    }

    /* Buffers, in the order values come to life, so that an in-place output finds its input's
     * buffer already made. */
    for (int32_t i = 0; i < g->n_inputs; i++) {
        int32_t id = g->inputs[i];
        if (!has[id] || out->buffer_of[id] >= 0) continue;
        out->buffer_of[id] = out->n_buffers;
        out->buffers[out->n_buffers++] = (ei_mem_buffer){bytes[id], first[id], last[id], 0};
    }
    for (int32_t t = 0; t < n_steps; t++) {
        const ei_node * n = &g->nodes[steps[t]];
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t id = n->outputs[k];
            if (id < 0 || !has[id] || out->buffer_of[id] >= 0) continue;
            int32_t ip = in_place ? in_place[t] : -1;
            int32_t src = k == 0 && ip >= 0 && ip < n->n_inputs ? n->inputs[ip] : -1;
            /* The input's bytes can become the output's when nothing reads the input later and the
             * caller does not see it (graph inputs and outputs keep their own buffers). */
            bool share = src >= 0 && has[src] && last[src] == t &&
                         !(g->values[src].flags & (EI_VALUE_GRAPH_INPUT | EI_VALUE_GRAPH_OUTPUT)) &&
                         g->values[src].dtype == g->values[id].dtype &&
                         ei_shape_numel(&g->values[src].shape) == ei_shape_numel(&g->values[id].shape) &&
                         out->buffer_of[src] >= 0;
            if (share) {
                ei_mem_buffer * b = &out->buffers[out->buffer_of[src]];
                out->buffer_of[id] = out->buffer_of[src];
                if (last[id] > b->last) b->last = last[id];
                out->n_in_place++;
            } else {
                out->buffer_of[id] = out->n_buffers;
                out->buffers[out->n_buffers++] = (ei_mem_buffer){bytes[id], first[id], last[id], 0};
            }
        }
    }
    st = ei_memplan_place(out->buffers, out->n_buffers, &out->arena_bytes);
    if (!st) out->peak_live_bytes = peak_live(out->buffers, out->n_buffers, n_steps);
done:
    free(first), free(last), free(bytes), free(has);
    return st;
}
