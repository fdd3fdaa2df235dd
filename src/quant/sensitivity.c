/* Sensitivity analysis of an INT8 calibration table (docs/precision.md, "Sensitivity: tensors kept
 * in float"): which convolution inputs lose the most when quantised, kept in float until the
 * network's outputs are close enough to fp32.
 *
 * The fp32 session runs with an observer that fake-quantises, in place, the input X of the
 * convolutions being simulated right before they run, and puts the float values back right after:
 * the observer is called after every node, so after node i it quantises the X of node i + 1 (when
 * that one is simulated), and after node i + 1 it restores X. Other readers of X (a residual, a
 * Concat) see the float values, as in the INT8 engine, where only the convolution quantises its
 * input. Fake quantisation is the INT8 kernels' own: q = clamp(round_half_even(x / x_scale)) to
 * [0, 255] (unsigned, x_scale = table scale * 127 / 255) or [-127, 127], then x = q * x_scale
 * (ei_quantize_row). A graph input read by a simulated convolution is quantised before the run
 * (for all its readers).
 *
 * Weights (sens_weights): a simulated convolution also computes with the int8 kernel's weights,
 * dequantised (q * w_scale[m], ei_quantize_conv_weights), and with the bias the INT8 rewrite gives
 * it (corrected when the table has channel means). The fp32 kernels copy (reorder) their weights
 * when a session is created, so every set of simulated tensors gets its own session, created with
 * those convolutions' weight and bias constants swapped for the simulated ones and destroyed (and
 * the constants put back) after its runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "core/tensor.h"
#include "edgeinfer/session.h"
#include "ir/graph_edit.h"
#include "ops/conv_int8.h"
#include "ops/op.h"
#include "quant/calib_internal.h"
#include "quant/quantize.h"
#include "runtime/model_internal.h"
#include "runtime/session_internal.h"

static bool is_candidate(const ei_graph * g, const ei_node * n) { return ei_quantize_is_candidate(g, n); }

typedef struct sens_unit {
    int32_t value; /* the convolution input (its table entry) */
    float   x_scale;
    bool    is_unsigned;
    bool    active; /* simulated in the current run */
    double  single; /* worst cosine with only this tensor quantised */
} sens_unit;

typedef struct sens_run {
    const ei_graph * g;
    const ei_node ** steps; /* execution order, recorded in the first run */
    int32_t          n_steps, cap_steps, step;
    bool             recording;
    int32_t *        unit_of_value; /* per value: unit index or -1 */
    sens_unit *      units;
    int32_t          n_units;
    ei_tensor **     tensor_of; /* per value: the session's tensor (seen as a node output) */
    float *          backup;    /* float values of the X being simulated */
    uint8_t *        q;         /* quantised bytes */
    size_t           cap_n;
    ei_tensor *      pending; /* X to restore after the current node, or NULL */
} sens_run;

/* Unit of the convolution at step i when it is simulated now, else -1. */
static int32_t active_unit(const sens_run * r, int32_t i) {
    if (i < 0 || i >= r->n_steps) return -1;
    const ei_node * n = r->steps[i];
    if (!is_candidate(r->g, n)) return -1;
    int32_t u = r->unit_of_value[n->inputs[0]];
    return u >= 0 && r->units[u].active ? u : -1;
}

/* Room for n values in the backup and quantised buffers. */
static ei_status * reserve(sens_run * r, size_t n) {
    if (n <= r->cap_n) return NULL;
    float * b = realloc(r->backup, n * sizeof *b);
    if (!b) return ei_status_oom();
    r->backup = b;
    uint8_t * q = realloc(r->q, n);
    if (!q) return ei_status_oom();
    r->q = q;
    r->cap_n = n;
    return NULL;
}

/* x = dequantise(quantise(x)), as ei.ConvInt8 quantises its input. */
static ei_status * fake_quantize(sens_run * r, float * x, size_t n, const sens_unit * u) {
    EI_TRY(reserve(r, n));
    ei_quantize_row(x, r->q, (int64_t)n, 1.0f / u->x_scale, u->is_unsigned);
    if (u->is_unsigned)
        for (size_t i = 0; i < n; i++) x[i] = (float)r->q[i] * u->x_scale;
    else
        for (size_t i = 0; i < n; i++) x[i] = (float)(int8_t)r->q[i] * u->x_scale;
    return NULL;
}

static bool overlaps(const ei_tensor * a, const ei_tensor * b) {
    const char * pa = a->data;
    const char * pb = b->data;
    return pa < pb + b->nbytes && pb < pa + a->nbytes;
}

/* The observer may change the tensors it is shown (session_internal.h): it quantises the next
 * simulated convolution's input in place and restores it once that convolution has run. */
static ei_status * observer(void * user, const ei_graph * g, const ei_node * node, const ei_tensor * const * out) {
    sens_run * r = user;
    int32_t    i = r->step++;
    if (r->recording) {
        if (r->n_steps == r->cap_steps) {
            int32_t          cap = r->cap_steps ? 2 * r->cap_steps : 256;
            const ei_node ** s = realloc(r->steps, (size_t)cap * sizeof *s);
            if (!s) return ei_status_oom();
            r->steps = s, r->cap_steps = cap;
        }
        r->steps[r->n_steps++] = node;
    } else if (i >= r->n_steps || r->steps[i] != node)
        return ei_errorf(EI_CODE_INTERNAL, "sensitivity analysis: the session ran its nodes in another order");
    for (int32_t k = 0; k < node->n_outputs; k++)
        if (node->outputs[k] >= 0 && out[k]) r->tensor_of[node->outputs[k]] = (ei_tensor *)out[k];
    if (r->pending) {
        bool clobbered = false; /* an output written over X: X is dead, nothing to restore */
        for (int32_t k = 0; k < node->n_outputs; k++)
            if (out[k] && out[k] != r->pending && overlaps(out[k], r->pending)) clobbered = true;
        if (!clobbered) memcpy(r->pending->data, r->backup, r->pending->nbytes);
        r->pending = NULL;
    }
    int32_t u = active_unit(r, i + 1);
    if (u < 0) return NULL;
    ei_tensor * x = r->tensor_of[r->steps[i + 1]->inputs[0]];
    if (!x || x->dtype != EI_DTYPE_F32 || !x->data) return NULL; /* a graph input: quantised before the run */
    size_t n = x->nbytes / sizeof(float);
    EI_TRY(reserve(r, n));
    memcpy(r->backup, x->data, x->nbytes);
    r->pending = x;
    (void)g;
    return fake_quantize(r, x->data, n, &r->units[u]);
}

/* A convolution whose weights the analysis simulates (sens_weights). */
typedef struct sens_conv {
    int32_t     unit;    /* its input's unit */
    int32_t     w, b;    /* weight and bias values (b -1: none or not corrected) */
    ei_tensor * w_sim;   /* dequantised int8 weights */
    ei_tensor * b_sim;   /* corrected bias, or NULL */
    ei_tensor * w_saved; /* the graph's constants while swapped */
    ei_tensor * b_saved;
} sens_conv;

typedef struct sens_ctx {
    ei_session *              s;
    ei_session *              base; /* the caller's session (float weights) */
    ei_graph *                mg;   /* the model's graph, whose weight constants are swapped */
    const ei_model *          model;
    int32_t                   n_threads;
    sens_conv *               convs;
    int32_t                   n_convs;
    const char *              input_name;
    int32_t                   input_id;
    const ei_tensor * const * inputs;
    int32_t                   n_inputs;
    ei_tensor *               qin; /* an input copy, quantised when a simulated convolution reads it */
    float **                  ref; /* fp32 outputs per input batch, concatenated */
    size_t                    ref_n;
    sens_run                  r;
    const ei_calib_options *  o;
    int32_t                   done, total;
} sens_ctx;

static double cosine(const float * a, const float * b, size_t n) {
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) continue;
        ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    }
    if (aa == 0.0 && bb == 0.0) return 1.0;
    if (aa == 0.0 || bb == 0.0) return 0.0;
    return ab / sqrt(aa * bb);
}

/* Similarity of the outputs with fp32 (ref and now: the outputs concatenated): the least over
 * outputs of the output's cosine. An output [..., L] with 2 <= L <= 1024 whose rows are its values
 * (a detector's [N, boxes, 4 + 1 + classes], or [N, boxes, classes]) gets the mean over its L
 * columns of the column's cosine: one cosine over the whole tensor would be the boxes' (coordinates
 * in pixels dwarf the scores), while mAP depends on the scores too. */
static double similarity(const ei_session * s, const ei_graph * g, const float * ref, const float * now) {
    double worst = 1.0;
    size_t off = 0;
    for (int32_t o = 0; o < g->n_outputs; o++) {
        const ei_tensor * t = ei_session_output(s, o);
        if (!t || t->dtype != EI_DTYPE_F32) continue;
        size_t  n = t->nbytes / sizeof(float);
        int64_t L = t->shape.rank >= 2 ? t->shape.dim[t->shape.rank - 1] : 0;
        double  cs;
        if (L >= 2 && L <= 1024 && n / (size_t)L >= 2) {
            size_t rows = n / (size_t)L;
            double sum = 0.0;
            for (int64_t j = 0; j < L; j++) {
                double ab = 0.0, aa = 0.0, bb = 0.0;
                for (size_t r = 0; r < rows; r++) {
                    double a = ref[off + r * (size_t)L + (size_t)j], b = now[off + r * (size_t)L + (size_t)j];
                    if (!isfinite(a) || !isfinite(b)) continue;
                    ab += a * b, aa += a * a, bb += b * b;
                }
                sum += aa == 0.0 && bb == 0.0 ? 1.0 : aa == 0.0 || bb == 0.0 ? 0.0 : ab / sqrt(aa * bb);
            }
            cs = sum / (double)L;
        } else
            cs = cosine(ref + off, now + off, n);
        if (cs < worst) worst = cs;
        off += n;
    }
    return worst;
}

static size_t outputs_numel(const ei_session * s, const ei_graph * g) {
    size_t n = 0;
    for (int32_t o = 0; o < g->n_outputs; o++) {
        const ei_tensor * t = ei_session_output(s, o);
        if (t && t->dtype == EI_DTYPE_F32) n += t->nbytes / sizeof(float);
    }
    return n;
}

static void outputs_copy(const ei_session * s, const ei_graph * g, float * dst) {
    for (int32_t o = 0; o < g->n_outputs; o++) {
        const ei_tensor * t = ei_session_output(s, o);
        if (!t || t->dtype != EI_DTYPE_F32) continue;
        memcpy(dst, t->data, t->nbytes);
        dst += t->nbytes / sizeof(float);
    }
}

/* One run per input batch with the units marked active; worst cosine of the outputs with fp32
 * (with ref NULL: the fp32 reference runs, which record them). */
static ei_status * run_all(sens_ctx * c, double * worst) {
    const ei_graph * g = c->r.g;
    *worst = 1.0;
    int32_t in_unit = c->r.unit_of_value[c->input_id];
    bool    quant_input = in_unit >= 0 && c->r.units[in_unit].active;
    for (int32_t b = 0; b < c->n_inputs; b++) {
        const ei_tensor * in = c->inputs[b];
        if (quant_input) {
            memcpy(c->qin->data, in->data, in->nbytes);
            EI_TRY(fake_quantize(&c->r, c->qin->data, in->nbytes / sizeof(float), &c->r.units[in_unit]));
            in = c->qin;
        }
        EI_TRY(ei_session_set_input(c->s, c->input_name, in));
        c->r.step = 0;
        c->r.pending = NULL;
        /* Step 0 cannot be prepared by an observer call: its X is a graph input (handled above). */
        EI_TRY(ei_session_run(c->s));
        c->r.recording = false;
        if (!c->ref[b]) {
            c->ref_n = outputs_numel(c->s, g);
            c->ref[b] = malloc((c->ref_n + 1) * sizeof(float));
            if (!c->ref[b]) return ei_status_oom();
            outputs_copy(c->s, g, c->ref[b]);
        } else {
            float * now = malloc((c->ref_n + 1) * sizeof(float));
            if (!now) return ei_status_oom();
            outputs_copy(c->s, g, now);
            double cs = similarity(c->s, g, c->ref[b], now);
            free(now);
            if (cs < *worst) *worst = cs;
        }
        c->done++;
        if (c->o->sens_progress) c->o->sens_progress(c->o->user, c->done < c->total ? c->done : c->total, c->total);
    }
    return NULL;
}

/* The dequantised int8 weights (and the rewrite's bias) of every candidate convolution. */
static ei_status * prepare_convs(sens_ctx * c, const ei_calib_table * t) {
    ei_graph * g = c->mg;
    c->convs = calloc((size_t)g->n_nodes + 1, sizeof *c->convs);
    if (!c->convs) return ei_status_oom();
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!is_candidate(g, n) || c->r.unit_of_value[n->inputs[0]] < 0) continue;
        sens_conv * sc = &c->convs[c->n_convs++];
        sc->unit = c->r.unit_of_value[n->inputs[0]];
        sc->w = n->inputs[1];
        sc->b = -1;
        const ei_tensor * w = g->values[sc->w].constant;
        ei_tensor *       q = NULL, *ws = NULL;
        EI_TRY(ei_quantize_conv_weights(w, &q, &ws));
        ei_status * st = ei_tensor_create(EI_DTYPE_F32, &w->shape, &sc->w_sim);
        int64_t     m = w->shape.dim[0], per = ei_shape_numel(&w->shape) / m;
        for (int64_t o = 0; !st && o < m; o++)
            for (int64_t k = 0; k < per; k++)
                ((float *)sc->w_sim->data)[o * per + k] =
                    (float)((const int8_t *)q->data)[o * per + k] * ((const float *)ws->data)[o];
        /* The bias the rewrite gives it (quantize.c, corrected_bias): B + delta with channel means. */
        ei_fused f;
        if (!st) st = ei_fused_import(n, &f);
        int32_t      n_base = !st && f.residual ? n->n_inputs - 1 : n->n_inputs;
        int32_t      bv = n_base > 2 ? n->inputs[2] : -1;
        const float *mean, *mean_q;
        int32_t      ch = ei_calib_table_means(t, g->values[n->inputs[0]].name, &mean, &mean_q);
        int64_t      group = 1;
        if (!st) st = ei_attr_get_int(n, "group", 1, &group);
        const ei_tensor * b = bv >= 0 ? g->values[bv].constant : NULL;
        if (!st && ch > 0 && b && b->dtype == EI_DTYPE_F32 && ei_tensor_numel(b) == m) {
            st = ei_tensor_create(EI_DTYPE_F32, &b->shape, &sc->b_sim);
            if (!st && ei_quantize_bias_delta(w, q, ws, group, mean, mean_q, ch, sc->b_sim->data)) {
                for (int64_t o = 0; o < m; o++) ((float *)sc->b_sim->data)[o] += ((const float *)b->data)[o];
                sc->b = bv;
            } else if (!st) {
                ei_tensor_destroy(sc->b_sim);
                sc->b_sim = NULL;
            }
        }
        ei_tensor_destroy(q);
        ei_tensor_destroy(ws);
        EI_TRY(st);
    }
    return NULL;
}

/* Swaps the simulated weights (and biases) of the active units' convolutions in (in true) or
 * back. A constant read by several convolutions is swapped once. */
static void swap_convs(sens_ctx * c, bool in) {
    ei_graph * g = c->mg;
    for (int32_t k = 0; k < c->n_convs; k++) {
        sens_conv * sc = &c->convs[k];
        if (!c->r.units[sc->unit].active) continue;
        if (in) {
            sc->w_saved = g->values[sc->w].constant, g->values[sc->w].constant = sc->w_sim;
            if (sc->b >= 0) sc->b_saved = g->values[sc->b].constant, g->values[sc->b].constant = sc->b_sim;
        }
    }
    if (in) return;
    for (int32_t k = c->n_convs - 1; k >= 0; k--) { /* reverse: a shared constant gets its first save back */
        sens_conv * sc = &c->convs[k];
        if (!c->r.units[sc->unit].active) continue;
        g->values[sc->w].constant = sc->w_saved;
        if (sc->b >= 0) g->values[sc->b].constant = sc->b_saved;
    }
}

/* run_all for the current set of active units: on the caller's session when no weight is
 * simulated, else on a session created with the simulated constants. */
static ei_status * run_config(sens_ctx * c, double * worst) {
    bool any = false;
    for (int32_t k = 0; k < c->n_convs && !any; k++) any = c->r.units[c->convs[k].unit].active;
    if (!c->o->sens_weights || !any) return run_all(c, worst);
    swap_convs(c, true);
    ei_session_options so = ei_session_options_default();
    so.n_threads = c->n_threads;
    ei_session * s = NULL;
    ei_status *  st = ei_session_create(c->model, &so, &s);
    if (!st) {
        ei_session_set_observer(s, observer, &c->r);
        c->s = s;
        st = run_all(c, worst);
        c->s = c->base;
        ei_session_destroy(s);
    }
    swap_convs(c, false);
    return st;
}

static const sens_unit * g_sort_units; /* qsort has no context argument */
static int               cmp_single(const void * a, const void * b) {
                  double x = g_sort_units[*(const int32_t *)a].single, y = g_sort_units[*(const int32_t *)b].single;
                  if (x != y) return x < y ? -1 : 1;
    return *(const int32_t *)a - *(const int32_t *)b;
}

static void append_name(char * buf, size_t cap, const char * name) {
    size_t used = strlen(buf);
    if (used + strlen(name) + 6 >= cap) {
        if (used + 4 < cap && (used < 3 || strcmp(buf + used - 3, "...") != 0))
            snprintf(buf + used, cap - used, "%s...", used ? ", " : "");
        return;
    }
    snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", name);
}

static ei_status * analyse(sens_ctx * c, ei_calib_table * t, ei_calib_report * rep) {
    const ei_graph * g = c->r.g;
    c->r.unit_of_value = malloc(((size_t)g->n_values + 1) * sizeof *c->r.unit_of_value);
    c->r.tensor_of = calloc((size_t)g->n_values + 1, sizeof *c->r.tensor_of);
    c->r.units = calloc((size_t)g->n_values + 1, sizeof *c->r.units);
    c->ref = calloc((size_t)c->n_inputs + 1, sizeof *c->ref);
    if (!c->r.unit_of_value || !c->r.tensor_of || !c->r.units || !c->ref) return ei_status_oom();
    for (int32_t v = 0; v < g->n_values; v++) c->r.unit_of_value[v] = -1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[g->order ? g->order[i] : i];
        if (!is_candidate(g, n)) continue;
        int32_t v = n->inputs[0];
        float   scale;
        bool    u;
        if (c->r.unit_of_value[v] >= 0 || !ei_calib_table_get(t, g->values[v].name, &scale, &u)) continue;
        sens_unit * su = &c->r.units[c->r.n_units];
        su->value = v;
        su->is_unsigned = u;
        su->x_scale = u ? scale * 127.0f / 255.0f : scale;
        c->r.unit_of_value[v] = c->r.n_units++;
    }
    int32_t nu = c->r.n_units;
    int32_t cap = c->o->sens_max_float >= 0 ? c->o->sens_max_float : (nu + 3) / 4;
    if (cap > nu) cap = nu;
    rep->sens_candidates = nu;
    rep->sens_images = c->n_inputs;
    c->total = (2 + nu + cap) * c->n_inputs;
    double cs;
    c->r.recording = true;
    EI_TRY(run_all(c, &cs)); /* fp32 reference */
    if (c->o->sens_weights) EI_TRY(prepare_convs(c, t));
    for (int32_t k = 0; k < nu; k++) {
        c->r.units[k].active = true;
        EI_TRY(ei_status_wrapf(run_config(c, &c->r.units[k].single), "with tensor '%s' quantised",
                               g->values[c->r.units[k].value].name));
        c->r.units[k].active = false;
    }
    for (int32_t k = 0; k < nu; k++) c->r.units[k].active = true;
    EI_TRY(run_config(c, &cs));
    rep->sens_cosine_all = cs;
    int32_t * rank = malloc(((size_t)nu + 1) * sizeof *rank);
    if (!rank) return ei_status_oom();
    for (int32_t k = 0; k < nu; k++) rank[k] = k;
    g_sort_units = c->r.units;
    qsort(rank, (size_t)nu, sizeof *rank, cmp_single);
    ei_status * st = NULL;
    int32_t     kept = 0;
    double *    after = malloc(((size_t)cap + 1) * sizeof *after); /* all-int8 cosine after each one kept */
    if (!after) st = ei_status_oom();
    while (!st && cs < c->o->sens_target_cosine && kept < cap) {
        c->r.units[rank[kept]].active = false;
        st = run_config(c, &cs);
        after[kept++] = cs;
    }
    rep->sens_cosine_final = cs;
    rep->sens_kept = kept;
    char * note = NULL;
    size_t note_cap = 1024 + (size_t)kept * 128;
    if (!st) note = malloc(note_cap);
    if (!st && !note) st = ei_status_oom();
    if (!st) {
        int w = snprintf(
            note, note_cap,
            "sensitivity analysis: %d of %d convolution input tensors kept in float (no line below),\n"
            "all-int8 output similarity %.4f -> %.4f (target %.4g, worst of %d images).\n"
            "each line below: the tensor (output similarity with only it quantised; with it and those above float):",
            kept, nu, rep->sens_cosine_all, cs, c->o->sens_target_cosine, c->n_inputs);
        size_t used = w > 0 ? (size_t)w : 0;
        for (int32_t k = 0; k < kept && used < note_cap; k++) {
            const sens_unit * su = &c->r.units[rank[k]];
            const char *      name = g->values[su->value].name;
            w = snprintf(note + used, note_cap - used, "\nkept-float: %.60s (%.4f; %.4f)", name, su->single, after[k]);
            if (w > 0) used += (size_t)w;
            append_name(rep->sens_kept_names, sizeof rep->sens_kept_names, name);
            ei_calib_table_remove(t, name);
        }
        st = ei_calib_table_set_note(t, note);
    }
    free(note);
    free(after);
    free(rank);
    return st;
}

ei_status * ei_calib_sensitivity(const ei_model * model, ei_session * s, int32_t n_threads, const char * input_name,
                                 const ei_tensor * const * inputs, int32_t n_inputs, const ei_calib_options * o,
                                 ei_calib_table * t, ei_calib_report * rep) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sens_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.base = s;
    c.model = model;
    c.mg = model->g;
    c.n_threads = n_threads;
    c.input_name = input_name;
    c.inputs = inputs;
    c.n_inputs = n_inputs;
    c.o = o;
    c.r.g = ei_session_graph(s);
    c.input_id = ei_graph_value_find(c.r.g, input_name);
    ei_status * st = c.input_id < 0 ? ei_errorf(EI_CODE_INTERNAL, "sensitivity: no graph value '%s'", input_name)
                                    : ei_tensor_create(EI_DTYPE_F32, &inputs[0]->shape, &c.qin);
    ei_session_set_observer(s, observer, &c.r);
    if (!st) st = analyse(&c, t, rep);
    ei_session_set_observer(s, NULL, NULL);
    rep->sens_runs = c.done;
    for (int32_t b = 0; c.ref && b < n_inputs; b++) free(c.ref[b]);
    free(c.ref);
    for (int32_t k = 0; k < c.n_convs; k++) ei_tensor_destroy(c.convs[k].w_sim), ei_tensor_destroy(c.convs[k].b_sim);
    free(c.convs);
    free(c.r.steps);
    free(c.r.unit_of_value);
    free(c.r.tensor_of);
    free(c.r.units);
    free(c.r.backup);
    free(c.r.q);
    ei_tensor_destroy(c.qin);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep->sens_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return ei_status_wrapf(st, "sensitivity analysis");
}
