/* Executes a model's graph in topological order. Everything the run needs (tensors for every
 * live value, placed in one arena by the memory plan; per-node input/output pointer arrays) is
 * prepared in ei_session_create, so that ei_session_run only calls kernels. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/kernel_table.h"
#include "edgeinfer/session.h"
#include "ops/blocked8.h"
#include "ops/op.h"
#include "runtime/memplan.h"
#include "runtime/model_internal.h"
#include "runtime/session_internal.h"

typedef struct step {
    const ei_node *       node;
    const ei_cpu_kernel * kernel; /* NULL: the reference kernel node->def->run */
    void *                state;  /* kernel->prepare's, freed by kernel->release */
    const ei_tensor **    in;
    ei_tensor **          out;
} step;

struct ei_session {
    const ei_model *    model;
    const ei_graph *    g;
    ei_threadpool *     pool;
    ei_tensor **        tensors; /* per value: owned run-time tensor, or NULL */
    const ei_tensor **  view;    /* per value: what kernels read (run-time tensor or constant) */
    step *              steps;
    int32_t             n_steps;
    bool *              input_set;
    void *              arena; /* every run-time tensor is a view into it (runtime/memplan.h) */
    ei_session_memory   mem;
    ei_session_observer observer;
    void *              observer_user;
};

ei_session_options ei_session_options_default(void) {
    ei_session_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    return o;
}

void ei_session_destroy(ei_session * s) {
    if (!s) return;
    for (int32_t i = 0; s->tensors && i < s->g->n_values; i++) ei_tensor_destroy(s->tensors[i]);
    for (int32_t i = 0; s->steps && i < s->n_steps; i++) {
        if (s->steps[i].kernel && s->steps[i].kernel->release && s->steps[i].state)
            s->steps[i].kernel->release(s->steps[i].state);
        free(s->steps[i].in);
        free(s->steps[i].out);
    }
    free(s->steps);
    free(s->tensors);
    free(s->view);
    free(s->input_set);
    free(s->arena);
    ei_threadpool_destroy(s->pool);
    free(s);
}

/* Marks the nodes that graph outputs depend on; others are never run. */
static bool * live_nodes(const ei_graph * g) {
    bool *    live = calloc((size_t)g->n_nodes + 1, 1);
    int32_t * stack = malloc(((size_t)g->n_values + 1) * sizeof *stack);
    bool *    seen = calloc((size_t)g->n_values + 1, 1);
    if (!live || !stack || !seen) {
        free(live), free(stack), free(seen);
        return NULL;
    }
    int32_t top = 0;
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (!seen[g->outputs[i]]) seen[g->outputs[i]] = true, stack[top++] = g->outputs[i];
    while (top) {
        const ei_value * v = &g->values[stack[--top]];
        if (v->producer < 0 || v->constant || live[v->producer]) continue;
        live[v->producer] = true;
        const ei_node * n = &g->nodes[v->producer];
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t id = n->inputs[k];
            if (id >= 0 && !seen[id]) seen[id] = true, stack[top++] = id;
        }
    }
    free(stack);
    free(seen);
    return live;
}

/* A hostile or mistaken model can ask for tensors far beyond the machine (a 700-byte file found
 * by the fuzzer asked for 22 GB); refuse a planned arena above the limit before allocating it. */
static ei_status * check_memory(const ei_graph * g, const ei_memplan * plan, uint64_t limit) {
    if (!limit) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        limit = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
    }
    if ((uint64_t)plan->arena_bytes <= limit) return NULL;
    int32_t largest = -1;
    for (int32_t i = 0; i < g->n_values; i++)
        if (plan->buffer_of[i] >= 0 &&
            (largest < 0 || plan->buffers[plan->buffer_of[i]].bytes > plan->buffers[plan->buffer_of[largest]].bytes))
            largest = i;
    return ei_errorf(EI_CODE_OUT_OF_MEMORY,
                     "the model's tensors need more than the limit: %.3g GB at once (tensor '%s' alone is %.3g GB); "
                     "the limit is %.3g GB (ei_session_options.max_memory_bytes, default: the machine's RAM)",
                     (double)plan->arena_bytes / 1e9, largest >= 0 ? g->values[largest].name : "?",
                     largest >= 0 ? (double)plan->buffers[plan->buffer_of[largest]].bytes / 1e9 : 0.0,
                     (double)limit / 1e9);
}

/* The input whose buffer the step's output may take, or -1: ops whose reference kernel only copies
 * input 0 to output 0 and skips the copy when the two are the same bytes, and the blocked
 * channel-scale Mul, which reads each element of its big operand before writing it
 * (ops/blocked8.h); the memory plan then gives them one buffer. */
static int32_t in_place_input(const ei_graph * g, const step * sp) {
    const ei_node *   n = sp->node;
    const ei_op_def * d = n->def;
    if (sp->kernel) return -1;
    if (d == &ei_op_def_RESHAPE || d == &ei_op_def_FLATTEN || d == &ei_op_def_SQUEEZE || d == &ei_op_def_UNSQUEEZE ||
        d == &ei_op_def_IDENTITY || d == &ei_op_def_DROPOUT)
        return 0;
    if (d == &ei_op_def_MUL && n->n_inputs == 2 && n->n_outputs == 1 && n->inputs[0] >= 0 && n->inputs[1] >= 0 &&
        n->outputs[0] >= 0) {
        const ei_value * a = &g->values[n->inputs[0]];
        const ei_value * b = &g->values[n->inputs[1]];
        const ei_value * y = &g->values[n->outputs[0]];
        if (a->dtype == EI_DTYPE_F32 && b->dtype == EI_DTYPE_F32 && y->dtype == EI_DTYPE_F32)
            return ei_blocked8_scale_operand(&a->shape, &b->shape, &y->shape);
    }
    return -1;
}

/* Plans the arena, checks it against the limit, allocates it and makes every run-time value a
 * view into it. */
static ei_status * place_tensors(ei_session * s, uint64_t limit) {
    const ei_graph * g = s->g;
    int32_t *        nodes = malloc(((size_t)s->n_steps + 1) * sizeof *nodes);
    int32_t *        in_place = calloc((size_t)s->n_steps + 1, sizeof *in_place);
    ei_memplan       plan;
    memset(&plan, 0, sizeof plan);
    ei_status * st = (!nodes || !in_place) ? ei_status_oom() : NULL;
    for (int32_t i = 0; !st && i < s->n_steps; i++) {
        nodes[i] = (int32_t)(s->steps[i].node - g->nodes);
        in_place[i] = in_place_input(g, &s->steps[i]);
    }
    if (!st) st = ei_memplan_build(g, nodes, s->n_steps, in_place, &plan);
    if (!st) st = check_memory(g, &plan, limit);
    if (!st) {
        s->mem.arena_bytes = plan.arena_bytes;
        s->mem.unplanned_bytes = plan.unplanned_bytes;
        s->mem.peak_live_bytes = plan.peak_live_bytes;
        s->mem.n_in_place = plan.n_in_place;
        /* At least one cache line, so that even an empty tensor's data is never NULL. */
        size_t bytes = plan.arena_bytes ? plan.arena_bytes : EI_MEMPLAN_ALIGN;
        s->arena = aligned_alloc(EI_MEMPLAN_ALIGN, bytes);
        if (!s->arena) st = ei_errorf(EI_CODE_OUT_OF_MEMORY, "cannot allocate the %.3g GB arena", (double)bytes / 1e9);
#ifndef NDEBUG
        /* Kernels get their outputs uninitialised (the bytes of tensors that died earlier). Debug
         * builds fill the arena with NaN / -1 so that a kernel which reads its output before
         * writing it fails the tests rather than passing on zeros by luck. */
        if (s->arena) memset(s->arena, 0xff, bytes);
#endif
    }
    for (int32_t i = 0; !st && i < g->n_values; i++) {
        if (plan.buffer_of[i] < 0) continue;
        const ei_value * v = &g->values[i];
        st = ei_tensor_wrap(v->dtype, &v->shape, (char *)s->arena + plan.buffers[plan.buffer_of[i]].offset,
                            &s->tensors[i]);
        if (st)
            st = ei_status_wrapf(st, "tensor '%s'", v->name);
        else
            s->view[i] = s->tensors[i], s->mem.n_tensors++;
    }
    ei_memplan_free(&plan);
    free(nodes);
    free(in_place);
    return st;
}

ei_status * ei_session_create(const ei_model * model, const ei_session_options * opt, ei_session ** out) {
    *out = NULL;
    ei_session_options defaults = ei_session_options_default();
    if (!opt) opt = &defaults;
    const ei_graph * g = model->g;
    ei_session *     s = calloc(1, sizeof *s);
    if (!s) return ei_status_oom();
    s->model = model;
    s->g = g;
    s->tensors = calloc((size_t)g->n_values + 1, sizeof *s->tensors);
    s->view = calloc((size_t)g->n_values + 1, sizeof *s->view);
    s->steps = calloc((size_t)g->n_nodes + 1, sizeof *s->steps);
    s->input_set = calloc((size_t)g->n_inputs + 1, sizeof *s->input_set);
    bool *      live = live_nodes(g);
    ei_status * st = (!s->tensors || !s->view || !s->steps || !s->input_set || !live) ? ei_status_oom() : NULL;
    for (int32_t oi = 0; !st && oi < g->n_nodes; oi++) {
        const ei_node * n = &g->nodes[g->order[oi]];
        if (n->folded || !live[g->order[oi]]) continue;
        step * sp = &s->steps[s->n_steps++];
        sp->node = n;
        sp->kernel = ei_cpu_kernel_for(g, n);
    }
    for (int32_t i = 0; !st && i < g->n_values; i++)
        if (g->values[i].constant) s->view[i] = g->values[i].constant;
    if (!st) st = place_tensors(s, opt->max_memory_bytes);
    if (!st) st = ei_threadpool_create(opt->n_threads, &s->pool);
    for (int32_t i = 0; !st && i < s->n_steps; i++) {
        step *          sp = &s->steps[i];
        const ei_node * n = sp->node;
        if (sp->kernel && sp->kernel->prepare) {
            st = sp->kernel->prepare(g, n, ei_threadpool_size(s->pool), &sp->state);
            if (st) break;
        }
        sp->in = calloc((size_t)n->n_inputs + 1, sizeof *sp->in);
        sp->out = calloc((size_t)n->n_outputs + 1, sizeof *sp->out);
        if (!sp->in || !sp->out) {
            st = ei_status_oom();
            break;
        }
        for (int32_t k = 0; k < n->n_inputs; k++) sp->in[k] = n->inputs[k] >= 0 ? s->view[n->inputs[k]] : NULL;
        for (int32_t k = 0; k < n->n_outputs; k++) sp->out[k] = n->outputs[k] >= 0 ? s->tensors[n->outputs[k]] : NULL;
    }
    free(live);
    if (st) {
        ei_session_destroy(s);
        return st;
    }
    s->mem.other_bytes = (size_t)g->n_values * (sizeof *s->tensors + sizeof *s->view) +
                         (size_t)s->mem.n_tensors * sizeof(ei_tensor) + (size_t)g->n_nodes * sizeof *s->steps +
                         (size_t)g->n_inputs * sizeof *s->input_set;
    for (int32_t i = 0; i < s->n_steps; i++)
        s->mem.other_bytes += (size_t)(s->steps[i].node->n_inputs + s->steps[i].node->n_outputs + 2) * sizeof(void *);
    *out = s;
    return NULL;
}

ei_status * ei_session_set_input(ei_session * s, const char * name, const ei_tensor * t) {
    for (int32_t i = 0; i < s->g->n_inputs; i++) {
        int32_t          id = s->g->inputs[i];
        const ei_value * v = &s->g->values[id];
        if (strcmp(v->name, name) != 0) continue;
        char have[128], want[128];
        if (t->dtype != v->dtype)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "input '%s' must be %s, not %s", name, ei_dtype_name(v->dtype),
                             ei_dtype_name(t->dtype));
        if (!ei_shape_equal(&t->shape, &v->shape))
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "input '%s' must have shape %s, not %s", name,
                             ei_shape_format(&v->shape, want, sizeof want),
                             ei_shape_format(&t->shape, have, sizeof have));
        if (t->nbytes) memcpy(s->tensors[id]->data, t->data, t->nbytes);
        s->input_set[i] = true;
        return NULL;
    }
    char   names[512] = "";
    size_t used = 0;
    for (int32_t i = 0; i < s->g->n_inputs && used < sizeof names; i++) {
        int w =
            snprintf(names + used, sizeof names - used, "%s'%s'", i ? ", " : "", s->g->values[s->g->inputs[i]].name);
        if (w > 0) used += (size_t)w;
    }
    return ei_errorf(EI_CODE_NOT_FOUND, "the model has no input named '%s'; its inputs are %s", name,
                     s->g->n_inputs ? names : "(none)");
}

ei_status * ei_session_run(ei_session * s) {
    for (int32_t i = 0; i < s->g->n_inputs; i++)
        if (!s->input_set[i])
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "input '%s' was not set", s->g->values[s->g->inputs[i]].name);
    ei_exec ex = {.pool = s->pool};
    for (int32_t i = 0; i < s->n_steps; i++) {
        const step * sp = &s->steps[i];
        ei_status *  st = sp->kernel ? sp->kernel->run(sp->node, sp->state, sp->in, sp->out, &ex)
                                     : sp->node->def->run(sp->node, sp->in, sp->out, &ex);
        if (st) return st;
        if (s->observer) EI_TRY(s->observer(s->observer_user, s->g, sp->node, (const ei_tensor * const *)sp->out));
    }
    return NULL;
}

void ei_session_set_observer(ei_session * s, ei_session_observer fn, void * user) {
    s->observer = fn;
    s->observer_user = user;
}

const ei_graph * ei_session_graph(const ei_session * s) { return s->g; }

const ei_tensor * ei_session_output(const ei_session * s, int32_t i) {
    if (i < 0 || i >= s->g->n_outputs) return NULL;
    return s->view[s->g->outputs[i]];
}

size_t ei_session_memory_bytes(const ei_session * s) { return s->mem.arena_bytes + s->mem.other_bytes; }

void ei_session_memory_stats(const ei_session * s, ei_session_memory * out) { *out = s->mem; }
