/* The decoder object: validated parameters, priors generated once, and per-run dispatch after the
 * output tensors have been found (by name, else by shape) and checked against what the format
 * needs. Every shape problem is reported with the tensor's name, its shape and what was expected. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "vision/decode_internal.h"

struct ei_decoder {
    ei_decoder_params p;
    char *            boxes_output; /* owned copies of p.boxes_output / p.scores_output */
    char *            scores_output;
    float *           priors;
    int32_t           n_priors;
    float *           thr; /* thr_cap floats each */
    float *           lim;
    int32_t           thr_cap;
};

ei_decoder_params ei_decoder_params_default(void) {
    ei_decoder_params p;
    memset(&p, 0, sizeof(p));
    p.size = sizeof(p);
    p.kind = EI_DECODER_SSD;
    p.background_class = 0;
    p.score_fn = EI_SCORE_NONE;
    p.center_variance = 0.1f;
    p.size_variance = 0.2f;
    p.boxes_normalized = 1;
    p.strides[0] = 8, p.strides[1] = 16, p.strides[2] = 32;
    p.n_strides = 3;
    return p;
}

static const char * ei_kind_name(ei_decoder_kind k) {
    switch (k) {
    case EI_DECODER_SSD: return "SSD";
    case EI_DECODER_BOXES_SCORES: return "BOXES_SCORES";
    case EI_DECODER_YOLOX: return "YOLOX";
    case EI_DECODER_YOLOV5: return "YOLOV5";
    case EI_DECODER_YOLOV8: return "YOLOV8";
    case EI_DECODER_CUSTOM: return "CUSTOM";
    }
    return "unknown";
}

static char * ei_strdup_or_null(const char * s, int * oom) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char * d = malloc(n);
    if (!d)
        *oom = 1;
    else
        memcpy(d, s, n);
    return d;
}

static ei_status * ei_decoder_check(const ei_decoder_params * p) {
    if (p->size != sizeof(*p))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "decoder params: size %u is not sizeof(ei_decoder_params) %zu; start from "
                         "ei_decoder_params_default()",
                         p->size, sizeof(*p));
    if (p->kind == EI_DECODER_CUSTOM)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "decoder kind CUSTOM has no built-in decoder: custom parsers go through parser plugins "
                         "(parser.h), not ei_decoder_create");
    if ((int)p->kind < 0 || p->kind > EI_DECODER_CUSTOM)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "decoder params: unknown kind %d", (int)p->kind);
    if (p->num_classes < 0 || p->num_classes > EI_DECODER_MAX_CLASSES)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s decoder: num_classes %d; expected 0 (from the output) to %d",
                         ei_kind_name(p->kind), p->num_classes, EI_DECODER_MAX_CLASSES);
    if (p->score_fn != EI_SCORE_NONE && p->score_fn != EI_SCORE_SOFTMAX && p->score_fn != EI_SCORE_SIGMOID)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s decoder: unknown score function %d", ei_kind_name(p->kind),
                         (int)p->score_fn);
    if (p->kind == EI_DECODER_SSD && (!isfinite(p->center_variance) || !isfinite(p->size_variance)))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "SSD decoder: variances must be finite");
    if (p->kind == EI_DECODER_YOLOX) {
        if (p->n_strides < 1 || p->n_strides > 4)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "YOLOX decoder: %d strides; expected 1 to 4", p->n_strides);
        for (int32_t k = 0; k < p->n_strides; k++)
            if (p->strides[k] <= 0)
                return ei_errorf(EI_CODE_INVALID_ARGUMENT, "YOLOX decoder: stride %d must be positive", p->strides[k]);
    }
    return NULL;
}

ei_status * ei_decoder_create(const ei_decoder_params * params, ei_decoder ** out) {
    if (!params || !out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_decoder_create: NULL argument");
    *out = NULL;
    EI_TRY(ei_decoder_check(params));
    ei_decoder * dec = calloc(1, sizeof(*dec));
    if (!dec) return ei_status_oom();
    dec->p = *params;
    int oom = 0;
    dec->boxes_output = ei_strdup_or_null(params->boxes_output, &oom);
    dec->scores_output = ei_strdup_or_null(params->scores_output, &oom);
    dec->p.boxes_output = dec->boxes_output;
    dec->p.scores_output = dec->scores_output;
    if (oom) {
        ei_decoder_destroy(dec);
        return ei_status_oom();
    }
    if (params->kind == EI_DECODER_SSD) {
        ei_status * st = ei_priors_generate(&params->priors, &dec->priors, &dec->n_priors);
        if (st) {
            ei_decoder_destroy(dec);
            return ei_status_wrapf(st, "SSD decoder");
        }
    }
    *out = dec;
    return NULL;
}

void ei_decoder_destroy(ei_decoder * dec) {
    if (!dec) return;
    free(dec->boxes_output);
    free(dec->scores_output);
    free(dec->priors);
    free(dec->thr);
    free(dec->lim);
    free(dec);
}

/* ---- finding and viewing outputs ---- */

static void ei_list_outputs(const ei_tensor * const * outputs, const char * const * names, int32_t n, char * buf,
                            size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < n && o + 1 < size; i++) {
        char sh[96];
        ei_shape_format(ei_tensor_shape(outputs[i]), sh, sizeof(sh));
        int w = snprintf(buf + o, size - o, "%s'%s' %s", i ? ", " : "", names && names[i] ? names[i] : "?", sh);
        if (w < 0) break;
        o += (size_t)w;
    }
}

/* Finds an output by name, else the first one (other than `skip`) whose shape fits: rank 2 or 3,
 * and last dimension 4 when want_last4. Returns its index or -1. */
static int32_t ei_find_output(const ei_tensor * const * outputs, const char * const * names, int32_t n,
                              const char * name, int want_last4, int32_t skip) {
    for (int32_t i = 0; i < n; i++) {
        if (i == skip || !outputs[i]) continue;
        if (name) {
            if (names && names[i] && strcmp(names[i], name) == 0) return i;
            continue;
        }
        const ei_shape * s = ei_tensor_shape(outputs[i]);
        if (s->rank != 2 && s->rank != 3) continue;
        if (want_last4 && s->dim[s->rank - 1] != 4) continue;
        return i;
    }
    return -1;
}

static ei_status * ei_missing(const ei_decoder * dec, const char * role, const char * name,
                              const ei_tensor * const * outputs, const char * const * names, int32_t n) {
    char list[512];
    ei_list_outputs(outputs, names, n, list, sizeof(list));
    if (name)
        return ei_errorf(EI_CODE_NOT_FOUND, "%s decoder: no output named '%s' for the %s (outputs: %s)",
                         ei_kind_name(dec->p.kind), name, role, list[0] ? list : "none");
    return ei_errorf(EI_CODE_NOT_FOUND, "%s decoder: no output of rank 2 or 3%s for the %s (outputs: %s)",
                     ei_kind_name(dec->p.kind), strcmp(role, "boxes") == 0 ? " with last dimension 4" : "", role,
                     list[0] ? list : "none");
}

static ei_status * ei_view(const ei_decoder * dec, const ei_tensor * t, const char * name, int32_t batch,
                           ei_decode_view * v) {
    const ei_shape * s = ei_tensor_shape(t);
    memset(v, 0, sizeof(*v));
    v->name = name ? name : "?";
    ei_shape_format(s, v->shape, sizeof(v->shape));
    const char * kind = ei_kind_name(dec->p.kind);
    if (ei_tensor_dtype(t) != EI_DTYPE_F32)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s decoder: output '%s' (%s) is %s; expected float32", kind,
                         v->name, v->shape, ei_dtype_name(ei_tensor_dtype(t)));
    if (s->rank != 2 && s->rank != 3)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s decoder: output '%s' has shape %s (rank %d); expected rank 3 "
                         "[batch, rows, columns] or rank 2 [rows, columns]",
                         kind, v->name, v->shape, s->rank);
    int64_t nb = s->rank == 3 ? s->dim[0] : 1;
    if (batch < 0 || batch >= nb)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s decoder: batch item %d requested from output '%s' of shape %s",
                         kind, batch, v->name, v->shape);
    v->rows = s->dim[s->rank - 2];
    v->cols = s->dim[s->rank - 1];
    v->row_stride = v->cols;
    v->col_stride = 1;
    v->data = (const float *)ei_tensor_data_const(t) + (int64_t)batch * v->rows * v->cols;
    return NULL;
}

/* Reads the view as [cols, rows] in memory (YOLOv8's [4+C, N]). */
static void ei_view_transpose(ei_decode_view * v) {
    int64_t r = v->rows;
    v->rows = v->cols;
    v->cols = r;
    v->row_stride = 1;
    v->col_stride = v->rows;
}

/* ---- thresholds ---- */

static ei_status * ei_thresholds(ei_decoder * dec, int32_t n_cls, const ei_class_attrs * attrs, int32_t n_attrs,
                                 float * min_thr) {
    if (n_cls > dec->thr_cap) {
        float * t = realloc(dec->thr, (size_t)n_cls * sizeof(float));
        if (!t) return ei_status_oom();
        dec->thr = t;
        float * l = realloc(dec->lim, (size_t)n_cls * sizeof(float));
        if (!l) return ei_status_oom();
        dec->lim = l;
        dec->thr_cap = n_cls;
    }
    const int   bg_applies = dec->p.kind == EI_DECODER_SSD || dec->p.kind == EI_DECODER_BOXES_SCORES;
    const float def = ei_class_attrs_default().pre_cluster_threshold;
    *min_thr = INFINITY;
    for (int32_t c = 0; c < n_cls; c++) {
        float t = attrs ? (c < n_attrs ? attrs[c].pre_cluster_threshold : INFINITY) : def;
        if (bg_applies && c == dec->p.background_class) t = INFINITY;
        if (isnan(t)) t = INFINITY;
        dec->thr[c] = t;
        if (t < *min_thr) *min_thr = t;
        /* Raw-score bounds (decode_ssd.c); a little slack so rounding never rejects a passing row. */
        float l;
        if (t == INFINITY)
            l = INFINITY;
        else if (t <= 0.0f)
            l = -INFINITY;
        else if (dec->p.score_fn == EI_SCORE_SOFTMAX)
            l = logf(t) - 1e-4f;
        else if (dec->p.score_fn == EI_SCORE_SIGMOID)
            l = t >= 1.0f ? logf(t / fmaxf(1.0f - t, 1e-30f)) - 1e-4f : logf(t / (1.0f - t)) - 1e-4f;
        else
            l = t;
        dec->lim[c] = l;
    }
    return NULL;
}

static ei_status * ei_bad_shape(const ei_decoder * dec, const ei_decode_view * v, const char * expected) {
    return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s decoder: output '%s' has shape %s; expected %s",
                     ei_kind_name(dec->p.kind), v->name, v->shape, expected);
}

static ei_status * ei_check_classes(const ei_decoder * dec, const ei_decode_view * v, int64_t have, int extra) {
    char exp[160];
    if (dec->p.num_classes > 0 && have != dec->p.num_classes + extra) {
        if (extra)
            snprintf(exp, sizeof(exp), "%d values per row (%d box/objectness values + %d classes)",
                     dec->p.num_classes + extra, extra, dec->p.num_classes);
        else
            snprintf(exp, sizeof(exp), "%d class scores per row (num_classes)", dec->p.num_classes);
        return ei_bad_shape(dec, v, exp);
    }
    if (have - extra < 1 || have - extra > EI_DECODER_MAX_CLASSES) {
        snprintf(exp, sizeof(exp), "1 to %d class scores per row after %d box values", EI_DECODER_MAX_CLASSES, extra);
        return ei_bad_shape(dec, v, exp);
    }
    return NULL;
}

/* SSD and BOXES_SCORES: finds and checks the boxes and scores outputs. */
static ei_status * ei_prepare_two(const ei_decoder * dec, const ei_tensor * const * outputs, const char * const * names,
                                  int32_t n, int32_t batch, ei_decode_view * b, ei_decode_view * s) {
    int32_t bi = ei_find_output(outputs, names, n, dec->p.boxes_output, 1, -1);
    if (bi < 0) return ei_missing(dec, "boxes", dec->p.boxes_output, outputs, names, n);
    int32_t si = ei_find_output(outputs, names, n, dec->p.scores_output, 0, bi);
    if (si < 0) return ei_missing(dec, "scores", dec->p.scores_output, outputs, names, n);
    EI_TRY(ei_view(dec, outputs[bi], names ? names[bi] : NULL, batch, b));
    EI_TRY(ei_view(dec, outputs[si], names ? names[si] : NULL, batch, s));
    char exp[200];
    if (dec->p.kind == EI_DECODER_SSD) {
        if (b->rows != dec->n_priors || b->cols != 4) {
            snprintf(exp, sizeof(exp), "%d rows of 4 box regressions (one per prior: the prior spec gives %d priors)",
                     dec->n_priors, dec->n_priors);
            return ei_bad_shape(dec, b, exp);
        }
        if (s->rows != dec->n_priors) {
            snprintf(exp, sizeof(exp), "%d rows of class scores (one per prior)", dec->n_priors);
            return ei_bad_shape(dec, s, exp);
        }
    } else {
        if (b->cols != 4) return ei_bad_shape(dec, b, "rows of 4 corner coordinates");
        if (s->rows != b->rows) {
            snprintf(exp, sizeof(exp), "%lld rows of class scores (as many as boxes '%s' %s)", (long long)b->rows,
                     b->name, b->shape);
            return ei_bad_shape(dec, s, exp);
        }
    }
    return ei_check_classes(dec, s, s->cols, 0);
}

/* YOLO: one output, named by boxes_output (or scores_output), else the first of rank 2 or 3. */
static ei_status * ei_prepare_yolo(const ei_decoder * dec, const ei_tensor * const * outputs,
                                   const char * const * names, int32_t n, int32_t batch, int32_t net_w, int32_t net_h,
                                   ei_decode_view * v) {
    const char * want = dec->p.boxes_output ? dec->p.boxes_output : dec->p.scores_output;
    int32_t      i = ei_find_output(outputs, names, n, want, 0, -1);
    if (i < 0) return ei_missing(dec, "detections", want, outputs, names, n);
    EI_TRY(ei_view(dec, outputs[i], names ? names[i] : NULL, batch, v));
    char          exp[200];
    const int32_t nc = dec->p.num_classes;
    if (dec->p.kind == EI_DECODER_YOLOV8) {
        /* [4+C, N] as exported by ultralytics, or [N, 4+C]: the side that equals 4 + num_classes
         * (when known), else the shorter side, holds the values of one box. */
        int transposed = nc > 0 ? (v->rows == nc + 4 && v->cols != nc + 4) : v->rows < v->cols;
        if (transposed) ei_view_transpose(v);
        return ei_check_classes(dec, v, v->cols, 4);
    }
    EI_TRY(ei_check_classes(dec, v, v->cols, 5));
    if (dec->p.kind == EI_DECODER_YOLOX) {
        int64_t want_rows = 0;
        int     o = 0;
        char    grids[96];
        grids[0] = '\0';
        for (int32_t k = 0; k < dec->p.n_strides; k++) {
            int32_t s = dec->p.strides[k];
            want_rows += (int64_t)(net_w / s) * (net_h / s);
            o += snprintf(grids + o, sizeof(grids) - (size_t)o, "%s%dx%d", k ? " + " : "", net_w / s, net_h / s);
        }
        if (v->rows != want_rows) {
            snprintf(exp, sizeof(exp), "%lld rows (grids %s for a %dx%d input at the decoder's strides)",
                     (long long)want_rows, grids, net_w, net_h);
            return ei_bad_shape(dec, v, exp);
        }
    }
    return NULL;
}

ei_status * ei_decoder_run(ei_decoder * dec, const ei_tensor * const * outputs, const char * const * output_names,
                           int32_t n_outputs, int32_t batch, int32_t net_w, int32_t net_h, const ei_class_attrs * attrs,
                           int32_t n_classes, ei_detections * out) {
    if (!dec || !outputs || !out || n_outputs <= 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_decoder_run: NULL argument or no outputs");
    if (net_w <= 0 || net_h <= 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_decoder_run: network input size %dx%d must be positive", net_w,
                         net_h);
    for (int32_t i = 0; i < n_outputs; i++)
        if (!outputs[i]) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_decoder_run: output %d is NULL", i);
    ei_decode_view b, s;
    if (dec->p.kind == EI_DECODER_SSD || dec->p.kind == EI_DECODER_BOXES_SCORES) {
        EI_TRY(ei_prepare_two(dec, outputs, output_names, n_outputs, batch, &b, &s));
    } else {
        EI_TRY(ei_prepare_yolo(dec, outputs, output_names, n_outputs, batch, net_w, net_h, &s));
    }
    ei_decode_job job;
    memset(&job, 0, sizeof(job));
    job.p = &dec->p;
    job.priors = dec->priors;
    job.n_priors = dec->n_priors;
    job.n_classes = (int32_t)(s.cols - (dec->p.kind == EI_DECODER_YOLOX || dec->p.kind == EI_DECODER_YOLOV5 ? 5
                                        : dec->p.kind == EI_DECODER_YOLOV8                                  ? 4
                                                                                                            : 0));
    job.net_w = (float)net_w;
    job.net_h = (float)net_h;
    job.out = out;
    EI_TRY(ei_thresholds(dec, job.n_classes, attrs, n_classes, &job.min_thr));
    job.thr = dec->thr;
    job.lim = dec->lim;
    if (!(job.min_thr < INFINITY)) return NULL; /* no class can be reported */
    switch (dec->p.kind) {
    case EI_DECODER_SSD: return ei_decode_ssd(&job, &b, &s);
    case EI_DECODER_BOXES_SCORES: return ei_decode_boxes_scores(&job, &b, &s);
    default: return ei_decode_yolo(&job, &s);
    }
}
