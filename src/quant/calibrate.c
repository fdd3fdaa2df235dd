/* ei_calibrate: runs a float model over calibration images and turns what every float activation
 * held into an ei_calib_table (docs/precision.md, "INT8 calibration").
 *
 * Images are pre-processed exactly as ei_infer does (ei_infer_match_input + ei_preprocess), in
 * batches of the model's batch size. A session observer sees every node's outputs. minmax needs
 * one pass (max |x|, sign); entropy and percentile run the images a second time to fill a 2048-bin
 * histogram of |x| over [0, max |x| of the first pass], so that the histogram covers exactly the
 * observed range without re-binning (src/quant/histogram.c). The last batch, when the images do not
 * fill it, repeats its last image in the free slots, and tensors whose first dimension is the
 * batch are observed only over the real images' rows. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "core/status.h"
#include "core/tensor.h"
#include "edgeinfer/calib.h"
#include "edgeinfer/config.h"
#include "edgeinfer/engine.h"
#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"
#include "edgeinfer/session.h"
#include "engine/sha256.h"
#include "ops/conv_int8.h"
#include "pipeline/infer_internal.h"
#include "quant/calib_internal.h"
#include "quant/quantize.h"
#include "runtime/model_internal.h"
#include "runtime/session_internal.h"

static const char k_formats[] = ".jpg, .jpeg and .png";

ei_calib_options ei_calib_options_default(void) {
    ei_calib_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.method = EI_CALIB_ENTROPY;
    o.sens_target_cosine = EI_CALIB_SENS_TARGET_COSINE;
    o.sens_max_float = -1;
    o.sens_images = EI_CALIB_SENS_IMAGES;
    o.sens_weights = true;
    o.bias_correction = true;
    return o;
}

bool ei_model_onnx_sha256(const ei_model * model, uint8_t out[32]) {
    if (!model) return false;
    if (model->build.has_onnx_sha256) {
        memcpy(out, model->build.onnx_sha256, 32);
        return true;
    }
    if (model->file_map && model->file_size) { /* ei_model_load_file: the mapped ONNX bytes */
        ei_sha256_once(model->file_map, model->file_size, out);
        return true;
    }
    return false;
}

/* ---- image lists ---- */

void ei_calib_images_free(char ** paths, int32_t count) {
    for (int32_t i = 0; paths && i < count; i++) free(paths[i]);
    free(paths);
}

typedef struct path_list {
    char ** p;
    int32_t n, cap;
} path_list;

static ei_status * push_path(path_list * l, const char * dir, const char * name) {
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 64;
        char ** p = realloc(l->p, (size_t)cap * sizeof *p);
        if (!p) return ei_status_oom();
        l->p = p, l->cap = cap;
    }
    size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char * s = malloc(n);
    if (!s) return ei_status_oom();
    if (dir)
        snprintf(s, n, "%s/%s", dir, name);
    else
        snprintf(s, n, "%s", name);
    l->p[l->n++] = s;
    return NULL;
}

static bool is_image_name(const char * name) {
    const char * dot = strrchr(name, '.');
    return dot && dot != name && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_str(const void * a, const void * b) { return strcmp(*(char * const *)a, *(char * const *)b); }

static ei_status * list_dir(const char * dir, path_list * l) {
    DIR * d = opendir(dir);
    if (!d) return ei_errorf(EI_CODE_IO, "calibration images '%s': %s", dir, strerror(errno));
    ei_status *     st = NULL;
    struct dirent * e;
    while (!st && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !is_image_name(e->d_name)) continue;
        st = push_path(l, dir, e->d_name);
    }
    closedir(d);
    if (!st && l->n) qsort(l->p, (size_t)l->n, sizeof *l->p, cmp_str);
    return st;
}

static ei_status * list_file(const char * list, path_list * l) {
    FILE * f = fopen(list, "r");
    if (!f) return ei_errorf(EI_CODE_IO, "calibration image list '%s': %s", list, strerror(errno));
    /* Relative paths are relative to the list's folder. */
    char * dir = strdup(list);
    if (!dir) {
        fclose(f);
        return ei_status_oom();
    }
    char * slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    ei_status * st = NULL;
    char *      line = NULL;
    size_t      cap = 0;
    ssize_t     len;
    int32_t     lineno = 0;
    while (!st && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)len != strlen(line)) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                           "calibration image list '%s', line %d: contains a NUL byte (is it an image, not a list?)",
                           list, lineno);
            break;
        }
        while (len > 0 && isspace((unsigned char)line[len - 1])) line[--len] = '\0';
        char * s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        st = push_path(l, s[0] == '/' || !dir[0] ? NULL : dir, s);
    }
    free(line);
    free(dir);
    fclose(f);
    return st;
}

ei_status * ei_calib_images_list(const char * source, char *** paths, int32_t * count) {
    *paths = NULL;
    *count = 0;
    struct stat sb;
    if (!source || stat(source, &sb) != 0)
        return ei_errorf(EI_CODE_NOT_FOUND,
                         "calibration images '%s': %s (give a folder of %s images, or a text file listing them)",
                         source ? source : "(null)", source ? strerror(errno) : "no path", k_formats);
    path_list   l = {0};
    bool        is_dir = S_ISDIR(sb.st_mode);
    ei_status * st = is_dir ? list_dir(source, &l) : list_file(source, &l);
    if (!st && l.n == 0)
        st = is_dir ? ei_errorf(EI_CODE_NOT_FOUND,
                                "calibration folder '%s' holds no image: edgeinfer reads %s files (JPEG and PNG)",
                                source, k_formats)
                    : ei_errorf(EI_CODE_NOT_FOUND,
                                "calibration image list '%s' names no image (one path a line, relative to the list; "
                                "JPEG or PNG)",
                                source);
    if (st) {
        ei_calib_images_free(l.p, l.n);
        return st;
    }
    *paths = l.p;
    *count = l.n;
    return NULL;
}

/* ---- calibration ---- */

/* Pass 3 (bias correction): per-channel sums of a convolution input and of its quantised values. */
typedef struct chan_sums {
    int32_t  channels; /* 0: not collected */
    float    x_scale;  /* the int8 kernel's step (table scale * 127 / 255 when unsigned) */
    bool     is_unsigned;
    double * sum;   /* channels sums of x, then channels sums of the quantised x */
    uint64_t count; /* values per channel */
} chan_sums;

typedef struct calib_run {
    const ei_calib_options * opt;
    chan_sums *              sums; /* per value id (pass 3) */
    uint8_t *                qbuf; /* pass 3: quantised span */
    size_t                   qcap;
    ei_absstat *             stats; /* per value id */
    int32_t *                lanes; /* per value id: real lanes of a blocked value's last block, 0: all */
    int32_t                  batch; /* the model's batch size */
    int32_t                  slots; /* real images in the current batch */
    int32_t                  pass;  /* 1: range, 2: histogram, 3: channel means */
} calib_run;

/* Adds n values of channel c (x and quantised x) to the sums; stride 1 or 8 (a blocked lane). */
static ei_status * sum_channel(calib_run * r, chan_sums * cs, int32_t c, const float * x, size_t n, size_t stride) {
    if (n * stride > r->qcap) {
        uint8_t * q = realloc(r->qbuf, n * stride);
        if (!q) return ei_status_oom();
        r->qbuf = q, r->qcap = n * stride;
    }
    if (n == 0) return NULL;
    /* Up to the last value read: a lane of the tensor's last block ends there, not stride - 1 later. */
    ei_quantize_row(x, r->qbuf, (int64_t)((n - 1) * stride + 1), 1.0f / cs->x_scale, cs->is_unsigned);
    double sx = 0.0, sq = 0.0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i * stride];
        if (v == v) sx += v; /* NaN: skipped (counted as 0) */
        sq += cs->is_unsigned ? (double)r->qbuf[i * stride] : (double)(int8_t)r->qbuf[i * stride];
    }
    cs->sum[c] += sx;
    cs->sum[cs->channels + c] += sq * cs->x_scale;
    return NULL;
}

/* Pass 3: a plain [N, C, H, W] or blocked [N, C/8, H, W, 8] tensor's first `rows` rows. */
static ei_status * observe_sums(calib_run * r, chan_sums * cs, const ei_tensor * t, int64_t rows) {
    const float * x = t->data;
    int64_t       hw = t->shape.dim[2] * t->shape.dim[3];
    if (t->shape.rank == 4) {
        if (t->shape.dim[1] < cs->channels) return NULL;
        for (int64_t n = 0; n < rows; n++)
            for (int32_t c = 0; c < cs->channels; c++)
                EI_TRY(sum_channel(r, cs, c, x + (size_t)((n * t->shape.dim[1] + c) * hw), (size_t)hw, 1));
    } else {
        int64_t cb = t->shape.dim[1];
        if (t->shape.dim[4] != 8 || cb * 8 < cs->channels) return NULL;
        for (int64_t n = 0; n < rows; n++)
            for (int32_t c = 0; c < cs->channels; c++)
                EI_TRY(sum_channel(r, cs, c, x + (size_t)((n * cb + c / 8) * hw * 8 + c % 8), (size_t)hw, 8));
    }
    cs->count += (uint64_t)(rows * hw);
    return NULL;
}

static ei_status * observe_span(calib_run * r, ei_absstat * s, const float * x, size_t n) {
    if (r->pass == 1) {
        ei_absstat_observe_range(s, x, n);
        return NULL;
    }
    return s->seen ? ei_absstat_observe_hist(s, x, n) : NULL;
}

/* The 8-channel blocked layout [N, ceil(C/8), H, W, 8] of a value whose C is not a multiple of 8:
 * the padding lanes of the last block (zeros, 0.5 after a Sigmoid) are not activations and would
 * weigh on the histogram (7 of 8 values for a 1-channel output), so only the first `lanes` lanes of
 * the last block are observed. */
static ei_status * observe_blocked(calib_run * r, ei_absstat * s, const ei_tensor * t, int64_t rows, int32_t lanes) {
    const float * x = t->data;
    int64_t       cb = t->shape.dim[1], hw = t->shape.dim[2] * t->shape.dim[3];
    for (int64_t n = 0; n < rows; n++)
        for (int64_t b = 0; b < cb; b++) {
            const float * blk = x + (size_t)((n * cb + b) * hw * 8);
            if (b < cb - 1) {
                EI_TRY(observe_span(r, s, blk, (size_t)(hw * 8)));
                continue;
            }
            for (int64_t i = 0; i < hw; i++) EI_TRY(observe_span(r, s, blk + i * 8, (size_t)lanes));
        }
    return NULL;
}

static ei_status * observe_tensor(calib_run * r, int32_t id, const ei_value * v, const ei_tensor * t) {
    if (v->constant || t->dtype != EI_DTYPE_F32 || !t->data) return NULL;
    ei_absstat * s = &r->stats[id];
    size_t       n = t->nbytes / sizeof(float);
    int64_t      rows = t->shape.rank > 0 ? t->shape.dim[0] : 1;
    if (r->slots < r->batch && t->shape.rank > 0 && t->shape.dim[0] == r->batch) {
        n = n / (size_t)r->batch * (size_t)r->slots; /* only the real images' rows */
        rows = r->slots;
    }
    if (r->pass == 3) return r->sums[id].channels > 0 ? observe_sums(r, &r->sums[id], t, rows) : NULL;
    if (r->lanes[id] > 0 && t->shape.rank == 5 && t->shape.dim[4] == 8)
        return observe_blocked(r, s, t, rows, r->lanes[id]);
    return observe_span(r, s, t->data, n);
}

/* For each blocked value "<name>.b8" (src/passes/layout_blocked8.c) whose plain twin "<name>"
 * [N, C, H, W] is still in the graph with C not a multiple of 8: C % 8, the real lanes of its last
 * block. 0 elsewhere (plain values, full blocks, or no twin to tell: then every lane is observed). */
static ei_status * find_padding(const ei_graph * g, int32_t * lanes) {
    for (int32_t v = 0; v < g->n_values; v++) {
        const ei_value * b = &g->values[v];
        lanes[v] = 0;
        size_t len = b->name ? strlen(b->name) : 0;
        if (b->dtype != EI_DTYPE_F32 || b->shape.rank != 5 || b->shape.dim[4] != 8 || len < 4 ||
            strcmp(b->name + len - 3, ".b8") != 0)
            continue;
        char * base = strndup(b->name, len - 3);
        if (!base) return ei_status_oom();
        int32_t p = ei_graph_value_find(g, base);
        free(base);
        if (p < 0 || g->values[p].shape.rank != 4) continue;
        int64_t c = g->values[p].shape.dim[1];
        if (c > 0 && (c + 7) / 8 == b->shape.dim[1] && c % 8) lanes[v] = (int32_t)(c % 8);
    }
    return NULL;
}

static ei_status * observer(void * user, const ei_graph * g, const ei_node * node, const ei_tensor * const * out) {
    calib_run * r = user;
    for (int32_t k = 0; k < node->n_outputs; k++) {
        int32_t id = node->outputs[k];
        if (id < 0 || !out[k]) continue;
        EI_TRY(observe_tensor(r, id, &g->values[id], out[k]));
    }
    return NULL;
}

static void warnf(const ei_calib_options * o, const char * fmt, ...) EI_PRINTF(2, 3);
static void warnf(const ei_calib_options * o, const char * fmt, ...) {
    if (!o->warn) return;
    char    msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->warn(o->user, msg);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct calib_ctx {
    const ei_model *         model;
    const ei_infer_config *  cfg;
    const char * const *     images;
    int32_t                  n_images;
    const ei_calib_options * opt;
    ei_preprocess_spec       pre;
    const char *             input_name;
    int32_t                  input_id;
    ei_session *             session;
    ei_tensor *              input;
    calib_run                run;
    int32_t *                used; /* indices of the readable images (pass 1 finds them) */
    int32_t                  n_used, skipped, want;
    int32_t                  done, total;
} calib_ctx;

/* Runs one batch: images[idx[0..n)] already loaded into imgs. */
static ei_status * run_batch(calib_ctx * c, const ei_image * imgs, int32_t n) {
    size_t  slot = (size_t)ei_tensor_numel(c->input) / (size_t)c->run.batch;
    float * dst = ei_tensor_data(c->input);
    for (int32_t i = 0; i < c->run.batch; i++) {
        const ei_image * img = &imgs[i < n ? i : n - 1];
        EI_TRY(ei_preprocess(&c->pre, img, dst + (size_t)i * slot, NULL));
    }
    c->run.slots = n;
    const ei_graph * g = ei_session_graph(c->session);
    EI_TRY(observe_tensor(&c->run, c->input_id, &g->values[c->input_id], c->input));
    EI_TRY(ei_session_set_input(c->session, c->input_name, c->input));
    EI_TRY(ei_session_run(c->session));
    c->done += n;
    if (c->opt->progress) c->opt->progress(c->opt->user, c->done, c->total);
    return NULL;
}

/* One pass over the images. Pass 1 walks the whole list, skipping unreadable images, until it has
 * `want` readable ones; later passes run exactly those. */
static ei_status * run_pass(calib_ctx * c, int32_t pass) {
    c->run.pass = pass;
    int32_t    B = c->run.batch;
    ei_image * imgs = calloc((size_t)B, sizeof *imgs);
    if (!imgs) return ei_status_oom();
    ei_status * st = NULL;
    int32_t     n = 0;
    int32_t     end = pass == 1 ? c->n_images : c->n_used;
    int32_t     taken = 0;
    for (int32_t k = 0; !st && k < end && taken < c->want; k++) {
        int32_t     idx = pass == 1 ? k : c->used[k];
        ei_status * ls = ei_image_load(c->images[idx], EI_PIXEL_RGB, &imgs[n]);
        if (ls) {
            if (pass == 1) {
                warnf(c->opt, "skipping calibration image %s: %s", c->images[idx], ei_status_message(ls));
                c->skipped++;
                ei_status_destroy(ls);
                continue;
            }
            st = ei_status_wrapf(ls, "calibration image %s (readable in the first pass)", c->images[idx]);
            break;
        }
        if (pass == 1) c->used[c->n_used++] = idx;
        taken++;
        if (++n == B) {
            st = ei_status_wrapf(run_batch(c, imgs, n), "calibration batch ending with %s", c->images[idx]);
            for (int32_t i = 0; i < n; i++) ei_image_free(&imgs[i]);
            n = 0;
        }
    }
    if (!st && n > 0) st = ei_status_wrapf(run_batch(c, imgs, n), "last calibration batch");
    for (int32_t i = 0; i < n; i++) ei_image_free(&imgs[i]);
    free(imgs);
    return st;
}

/* Bias correction: a third pass over the images sums, per channel, every int8 convolution input
 * that has an entry in t, float and quantised with its entry's scale; the means go into t. */
static ei_status * channel_means(calib_ctx * c, ei_calib_table * t, int32_t * n_means) {
    const ei_graph * g = ei_session_graph(c->session);
    c->run.sums = calloc((size_t)g->n_values + 1, sizeof *c->run.sums);
    if (!c->run.sums) return ei_status_oom();
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * n = &g->nodes[i];
        if (!ei_quantize_is_candidate(g, n)) continue;
        int32_t     v = n->inputs[0];
        chan_sums * cs = &c->run.sums[v];
        float       scale;
        bool        u;
        int64_t     group = 1;
        EI_TRY(ei_attr_get_int(n, "group", 1, &group));
        int64_t ch = g->values[n->inputs[1]].shape.dim[1] * group;
        if (cs->channels || !ei_calib_table_get(t, g->values[v].name, &scale, &u) || ch < 1 || ch > INT32_MAX) continue;
        cs->sum = calloc(2 * (size_t)ch, sizeof *cs->sum);
        if (!cs->sum) return ei_status_oom();
        cs->channels = (int32_t)ch;
        cs->is_unsigned = u;
        cs->x_scale = u ? scale * 127.0f / 255.0f : scale;
    }
    EI_TRY(run_pass(c, 3));
    float * m = NULL;
    for (int32_t v = 0; v < g->n_values; v++) {
        chan_sums * cs = &c->run.sums[v];
        if (!cs->channels || !cs->count) continue;
        float * grown = realloc(m, 2 * (size_t)cs->channels * sizeof *m);
        if (!grown) {
            free(m);
            return ei_status_oom();
        }
        m = grown;
        for (int32_t k = 0; k < 2 * cs->channels; k++) m[k] = (float)(cs->sum[k] / (double)cs->count);
        ei_status * st = ei_calib_table_set_means(t, g->values[v].name, cs->channels, m, m + cs->channels);
        if (st) {
            free(m);
            return st;
        }
        ++*n_means;
    }
    free(m);
    return NULL;
}

/* The sensitivity analysis on the first sens_images readable images, in batches of the model's
 * batch size (a last batch that is not full repeats its last image). */
static ei_status * sensitivity(calib_ctx * c, ei_calib_table * t, ei_calib_report * rep) {
    int32_t      B = c->run.batch;
    int32_t      m = c->opt->sens_images > 0 ? c->opt->sens_images : EI_CALIB_SENS_IMAGES;
    int32_t      n = m < c->n_used ? m : c->n_used;
    int32_t      nb = (n + B - 1) / B;
    ei_tensor ** in = calloc((size_t)nb + 1, sizeof *in);
    ei_image *   imgs = calloc((size_t)B, sizeof *imgs);
    ei_status *  st = !in || !imgs ? ei_status_oom() : NULL;
    for (int32_t b = 0; !st && b < nb; b++) {
        int32_t k = 0;
        for (; !st && k < B && b * B + k < n; k++)
            st = ei_image_load(c->images[c->used[b * B + k]], EI_PIXEL_RGB, &imgs[k]);
        if (!st) st = ei_tensor_create(EI_DTYPE_F32, ei_model_input_shape(c->model, 0), &in[b]);
        size_t slot = !st ? (size_t)ei_tensor_numel(in[b]) / (size_t)B : 0;
        for (int32_t i = 0; !st && i < B; i++)
            st = ei_preprocess(&c->pre, &imgs[i < k ? i : k - 1], (float *)ei_tensor_data(in[b]) + (size_t)i * slot,
                               NULL);
        for (int32_t i = 0; i < k; i++) ei_image_free(&imgs[i]);
    }
    if (!st)
        st = ei_calib_sensitivity(c->model, c->session, ei_model_engine_threads(c->model), c->input_name,
                                  (const ei_tensor * const *)in, nb, c->opt, t, rep);
    for (int32_t b = 0; in && b < nb; b++) ei_tensor_destroy(in[b]);
    free(in);
    free(imgs);
    return st;
}

static ei_status * calibrate(calib_ctx * c, ei_calib_table ** out, ei_calib_report * rep) {
    const ei_calib_options * o = c->opt;
    if (ei_model_engine_precision(c->model) != EI_PRECISION_FP32)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "the model is an %s engine: calibrate its fp32 build (ei_engine_build with "
                         "EI_PRECISION_FP32, or the ONNX file)",
                         ei_precision_name(ei_model_engine_precision(c->model)));
    EI_TRY(ei_infer_match_input(c->cfg, c->model, &c->pre, &c->run.batch, &c->input_name));
    if (c->run.batch < 1)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "model input '%s' has batch dimension %d: build the model with a fixed batch (--batch N)",
                         c->input_name, c->run.batch);
    ei_session_options so = ei_session_options_default();
    so.n_threads = ei_model_engine_threads(c->model);
    EI_TRY(ei_session_create(c->model, &so, &c->session));
    const ei_graph * g = ei_session_graph(c->session);
    c->input_id = ei_graph_value_find(g, c->input_name);
    if (c->input_id < 0) return ei_errorf(EI_CODE_INTERNAL, "calibration: no graph value '%s'", c->input_name);
    EI_TRY(ei_tensor_create(EI_DTYPE_F32, ei_model_input_shape(c->model, 0), &c->input));
    c->run.stats = calloc((size_t)g->n_values + 1, sizeof *c->run.stats);
    c->run.lanes = calloc((size_t)g->n_values + 1, sizeof *c->run.lanes);
    c->used = malloc(((size_t)c->n_images + 1) * sizeof *c->used);
    if (!c->run.stats || !c->run.lanes || !c->used) return ei_status_oom();
    EI_TRY(find_padding(g, c->run.lanes));
    c->run.opt = o;
    ei_session_set_observer(c->session, observer, &c->run);

    int32_t passes = (o->method == EI_CALIB_MINMAX ? 1 : 2) + (o->bias_correction ? 1 : 0);
    c->want = o->max_images > 0 && o->max_images < c->n_images ? o->max_images : c->n_images;
    c->total = passes * c->want;
    EI_TRY(run_pass(c, 1));
    const char * src = o->source ? o->source : "the calibration images";
    if (c->n_used == 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: none of the %d images could be read (edgeinfer reads %s files: JPEG and PNG)", src,
                         c->n_images, k_formats);
    c->total = passes * c->n_used;
    if (o->method != EI_CALIB_MINMAX) {
        for (int32_t v = 0; v < g->n_values; v++) c->run.stats[v].range = c->run.stats[v].amax;
        EI_TRY(run_pass(c, 2));
    }

    ei_calib_table * t = NULL;
    EI_TRY(ei_calib_table_create(&t));
    ei_status * st = NULL;
    /* The graph input first, then node outputs in execution order. */
    for (int32_t i = -1; !st && i < g->n_nodes; i++) {
        int32_t         n_out = i < 0 ? 1 : g->nodes[g->order ? g->order[i] : i].n_outputs;
        const ei_node * node = i < 0 ? NULL : &g->nodes[g->order ? g->order[i] : i];
        for (int32_t k = 0; !st && k < n_out; k++) {
            int32_t id = node ? node->outputs[k] : c->input_id;
            if (id < 0 || !c->run.stats[id].seen || ei_calib_table_get(t, g->values[id].name, NULL, NULL)) continue;
            const ei_absstat * s = &c->run.stats[id];
            float              th = ei_absstat_threshold(s, o->method);
            st = ei_calib_table_set(t, g->values[id].name, th / 127.0f, !s->negative);
        }
    }
    if (st) {
        ei_calib_table_destroy(t);
        return st;
    }
    if (o->bias_correction) st = ei_status_wrapf(channel_means(c, t, &rep->means), "bias correction");
    if (!st && o->sens_target_cosine > 0.0) st = sensitivity(c, t, rep);
    if (st) {
        ei_calib_table_destroy(t);
        return st;
    }
    uint8_t sha[32];
    bool    has_sha = ei_model_onnx_sha256(c->model, sha);
    ei_calib_table_set_source(t, has_sha ? sha : NULL, o->method, c->n_used);
    rep->images = c->n_used;
    rep->skipped = c->skipped;
    rep->tensors = ei_calib_table_count(t);
    rep->passes = passes;
    *out = t;
    return NULL;
}

ei_status * ei_calibrate(const ei_model * model, const ei_infer_config * cfg, const char * const * images,
                         int32_t n_images, const ei_calib_options * opt, ei_calib_table ** out,
                         ei_calib_report * report) {
    *out = NULL;
    ei_calib_options o = ei_calib_options_default();
    if (opt) {
        if (opt->size != sizeof o)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_calib_options.size is %u, expected %zu", (unsigned)opt->size,
                             sizeof o);
        o = *opt;
    }
    if (!(o.sens_target_cosine >= 0.0 && o.sens_target_cosine <= 1.0))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "sensitivity target cosine %g: expected 0 (no analysis) to 1 (e.g. %g, the default)",
                         o.sens_target_cosine, EI_CALIB_SENS_TARGET_COSINE);
    if ((unsigned)o.method > (unsigned)EI_CALIB_MINMAX)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "calibration method %d: expected entropy, percentile or minmax",
                         (int)o.method);
    if (!model || !cfg || (!images && n_images > 0) || n_images < 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_calibrate: model, config and image list are required");
    if (n_images == 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: no image given (edgeinfer reads %s files: JPEG and PNG)",
                         o.source ? o.source : "the calibration images", k_formats);
    double          t0 = now_s();
    ei_calib_report rep;
    memset(&rep, 0, sizeof rep);
    calib_ctx c;
    memset(&c, 0, sizeof c);
    c.model = model;
    c.cfg = cfg;
    c.images = images;
    c.n_images = n_images;
    c.opt = &o;
    ei_status * st = ei_status_wrapf(calibrate(&c, out, &rep), "calibration");
    if (c.run.stats) {
        const ei_graph * g = ei_session_graph(c.session);
        for (int32_t v = 0; v < g->n_values; v++) ei_absstat_free(&c.run.stats[v]);
    }
    if (c.run.sums) {
        const ei_graph * g = ei_session_graph(c.session);
        for (int32_t v = 0; v < g->n_values; v++) free(c.run.sums[v].sum);
    }
    free(c.run.sums);
    free(c.run.qbuf);
    free(c.run.stats);
    free(c.run.lanes);
    free(c.used);
    ei_tensor_destroy(c.input);
    ei_session_destroy(c.session);
    rep.seconds = now_s() - t0;
    if (report) *report = rep;
    return st;
}
