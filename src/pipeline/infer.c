/* The per-frame pipeline: pre-process a batch, run the session, decode each frame, move results to
 * the frame's coordinates, cluster. Everything the config could get wrong against the model (input
 * size, layout, class count, output names, label count) is checked once here, at create, with a
 * message that says which key to change. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "edgeinfer/parser.h"
#include "edgeinfer/session.h"
#include "pipeline/infer_internal.h"

struct ei_infer {
    const ei_infer_config * cfg;
    ei_infer_options        opt;
    ei_model *              model;
    ei_session *            session;
    ei_tensor *             input; /* [batch, C, H, W] or [batch, H, W, C] float32 */
    const char *            input_name;
    ei_preprocess_spec      pre;
    ei_decoder_params       dec_params;
    ei_decoder *            decoder; /* built-in decoders */
    ei_parser_plugin *      plugin;  /* custom-lib-path + parse-bbox-func-name */
    ei_labels *             labels;
    ei_class_attrs *        attrs; /* one per class: the config's, nvinfer's defaults where it has none */
    int32_t                 batch;
    int32_t                 n_classes;
    int32_t                 seg_output; /* the score tensor of segmentation / classifier networks */
    const ei_tensor **      outputs;    /* this run's outputs, for the decoders */
    const char **           output_names;
    int32_t                 n_outputs;
    ei_infer_timing         timing;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

ei_infer_options ei_infer_options_default(void) {
    ei_infer_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    return o;
}

void ei_frame_result_free(ei_frame_result * r) {
    if (!r) return;
    ei_detections_free(&r->detections);
    ei_seg_map_free(&r->seg);
    memset(r, 0, sizeof *r);
}

ei_status * ei_infer_match_input(const ei_infer_config * cfg, const ei_model * model, ei_preprocess_spec * pre,
                                 int32_t * batch, const char ** input_name) {
    if (ei_model_input_count(model) != 1)
        return ei_errorf(EI_CODE_UNSUPPORTED,
                         "the model has %d inputs; the vision pipeline feeds exactly one image input",
                         ei_model_input_count(model));
    const char *     name = ei_model_input_name(model, 0);
    const ei_shape * s = ei_model_input_shape(model, 0);
    char             dims[128];
    ei_shape_format(s, dims, sizeof dims);
    if (ei_model_input_dtype(model, 0) != EI_DTYPE_F32)
        return ei_errorf(EI_CODE_UNSUPPORTED, "model input '%s' is %s; the pipeline produces float32", name,
                         ei_dtype_name(ei_model_input_dtype(model, 0)));
    if (s->rank != 4)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "model input '%s' is %s; an image input has 4 dimensions", name,
                         dims);
    *pre = cfg->preprocess;
    int  want_c = ei_preprocess_spec_channels(pre);
    bool nchw_ok = s->dim[1] == want_c, nhwc_ok = s->dim[3] == want_c;
    /* The layout follows from the shape when only one reading fits (a 257x257x3 input is NHWC). */
    if (pre->layout == EI_LAYOUT_NCHW && !nchw_ok && nhwc_ok) pre->layout = EI_LAYOUT_NHWC;
    if (pre->layout == EI_LAYOUT_NHWC && !nhwc_ok && nchw_ok) pre->layout = EI_LAYOUT_NCHW;
    bool    nhwc = pre->layout == EI_LAYOUT_NHWC;
    int64_t c = nhwc ? s->dim[3] : s->dim[1], h = nhwc ? s->dim[1] : s->dim[2], w = nhwc ? s->dim[2] : s->dim[3];
    if (c != want_c)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "model input '%s' is %s: %lld channels, but model-color-format gives %d (%s)", name, dims,
                         (long long)c, want_c, ei_pixel_format_name(pre->color));
    if (cfg->infer_dims[0] && (cfg->infer_dims[0] != c || cfg->infer_dims[1] != h || cfg->infer_dims[2] != w))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "infer-dims=%d;%d;%d does not match model input '%s' (%s, %s): use infer-dims=%lld;%lld;%lld",
                         cfg->infer_dims[0], cfg->infer_dims[1], cfg->infer_dims[2], name, dims, nhwc ? "NHWC" : "NCHW",
                         (long long)c, (long long)h, (long long)w);
    pre->width = (int32_t)w;
    pre->height = (int32_t)h;
    *batch = (int32_t)s->dim[0];
    *input_name = name;
    return NULL;
}

/* Fills the network size and layout from the model's input where the config leaves them open,
 * and refuses a config that contradicts the model. */
static ei_status * match_input(ei_infer * inf) {
    return ei_infer_match_input(inf->cfg, inf->model, &inf->pre, &inf->batch, &inf->input_name);
}

static ei_status * load_labels(ei_infer * inf) {
    if (!inf->cfg->labelfile_path) return NULL;
    EI_TRY(ei_status_wrapf(ei_labels_load(inf->cfg->labelfile_path, &inf->labels), "labelfile-path"));
    int32_t n = ei_labels_count(inf->labels);
    if (inf->n_classes > 0 && n != inf->n_classes) {
        const char * key =
            inf->cfg->network_type == EI_NETWORK_TYPE_DETECTOR ? "num-detected-classes" : "the model's class count";
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "labelfile-path %s has %d labels but %s is %d",
                         inf->cfg->labelfile_path, n, key, inf->n_classes);
    }
    return NULL;
}

static ei_status * find_output(ei_infer * inf, const char * name, int32_t * idx) {
    for (int32_t i = 0; i < ei_model_output_count(inf->model); i++)
        if (!strcmp(ei_model_output_name(inf->model, i), name)) {
            *idx = i;
            return NULL;
        }
    char list[1024] = "";
    for (int32_t i = 0; i < ei_model_output_count(inf->model); i++) {
        size_t u = strlen(list);
        snprintf(list + u, sizeof list - u, "%s'%s'", i ? ", " : "", ei_model_output_name(inf->model, i));
    }
    return ei_errorf(EI_CODE_NOT_FOUND, "output-blob-names: the model has no output '%s' (its outputs: %s)", name,
                     list);
}

/* Decodes all-zero outputs of the model's shapes once, so that a decoder that does not fit the
 * model (prior count, class count, missing output) fails at create, before any frame. */
static ei_status * dry_run_decoder(ei_infer * inf) {
    int32_t       n = ei_model_output_count(inf->model);
    ei_tensor **  outs = calloc((size_t)n + 1, sizeof *outs);
    const char ** names = calloc((size_t)n + 1, sizeof *names);
    ei_detections dets = {0};
    ei_status *   st = outs && names ? NULL : ei_status_oom();
    for (int32_t i = 0; !st && i < n; i++) {
        names[i] = ei_model_output_name(inf->model, i);
        st = ei_tensor_create(ei_model_output_dtype(inf->model, i), ei_model_output_shape(inf->model, i), &outs[i]);
    }
    if (!st)
        st = ei_decoder_run(inf->decoder, (const ei_tensor * const *)outs, names, n, 0, inf->pre.width, inf->pre.height,
                            inf->attrs, inf->n_classes, &dets);
    for (int32_t i = 0; outs && i < n; i++) ei_tensor_destroy(outs[i]);
    free(outs);
    free(names);
    ei_detections_free(&dets);
    return st ? ei_status_wrapf(st, "the decoder does not fit the model") : NULL;
}

static ei_status * prepare_detector(ei_infer * inf) {
    const ei_infer_config * cfg = inf->cfg;
    inf->n_classes = cfg->num_detected_classes;
    inf->dec_params = cfg->decoder;
    if (inf->dec_params.num_classes <= 0) inf->dec_params.num_classes = inf->n_classes;
    /* Settled once here, so that no frame allocates them. */
    inf->attrs = malloc((size_t)(inf->n_classes > 0 ? inf->n_classes : 1) * sizeof *inf->attrs);
    if (!inf->attrs) return ei_status_oom();
    for (int32_t c = 0; c < inf->n_classes; c++)
        inf->attrs[c] = cfg->class_attrs && c < cfg->n_class_attrs ? cfg->class_attrs[c] : ei_class_attrs_default();
    ei_prior_spec * ps = &inf->dec_params.priors;
    if (ps->image_w <= 0) ps->image_w = inf->pre.width;
    if (ps->image_h <= 0) ps->image_h = inf->pre.height;
    for (int32_t i = 0; i < cfg->n_output_blob_names; i++) {
        int32_t idx;
        EI_TRY(find_output(inf, cfg->output_blob_names[i], &idx));
    }
    if (cfg->custom_lib_path || cfg->parse_bbox_func_name || inf->dec_params.kind == EI_DECODER_CUSTOM) {
        if (!cfg->custom_lib_path || !cfg->parse_bbox_func_name)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "a parser plugin needs both custom-lib-path and parse-bbox-func-name (%s is missing)",
                             cfg->custom_lib_path ? "parse-bbox-func-name" : "custom-lib-path");
        EI_TRY(ei_parser_plugin_load(cfg->custom_lib_path, cfg->parse_bbox_func_name, &inf->plugin));
        ei_parser_plugin_set_channels(inf->plugin, ei_preprocess_spec_channels(&inf->pre));
        return NULL;
    }
    EI_TRY(ei_status_wrapf(ei_decoder_create(&inf->dec_params, &inf->decoder), "decoder"));
    return dry_run_decoder(inf);
}

static ei_status * prepare_dense(ei_infer * inf) {
    const ei_infer_config * cfg = inf->cfg;
    inf->seg_output = 0;
    if (cfg->n_output_blob_names > 0) EI_TRY(find_output(inf, cfg->output_blob_names[0], &inf->seg_output));
    const ei_shape * s = ei_model_output_shape(inf->model, inf->seg_output);
    const char *     name = ei_model_output_name(inf->model, inf->seg_output);
    char             dims[128];
    ei_shape_format(s, dims, sizeof dims);
    if (cfg->network_type == EI_NETWORK_TYPE_SEGMENTATION) {
        if (s->rank != 4)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "segmentation output '%s' is %s; expected [N, C, H, W] or [N, H, W, C] scores", name,
                             dims);
        inf->n_classes = (int32_t)(cfg->segment.layout == EI_LAYOUT_NHWC ? s->dim[3] : s->dim[1]);
        if (inf->n_classes == 1) inf->n_classes = 2; /* one channel: background and foreground */
    } else {
        inf->n_classes = (int32_t)(ei_shape_numel(s) / (s->rank ? s->dim[0] : 1));
    }
    return NULL;
}

ei_status * ei_infer_create(const ei_infer_config * cfg, const ei_infer_options * opt, ei_infer ** out) {
    *out = NULL;
    ei_infer_options o = opt ? *opt : ei_infer_options_default();
    ei_infer *       inf = calloc(1, sizeof *inf);
    if (!inf) return ei_status_oom();
    inf->cfg = cfg;
    inf->opt = o;
    ei_status * st = ei_infer_open_model(cfg, &o, &inf->model);
    if (!st) st = match_input(inf);
    if (!st && cfg->network_type == EI_NETWORK_TYPE_DETECTOR) {
        inf->n_classes = cfg->num_detected_classes;
        st = load_labels(inf); /* a label file that contradicts the class count is a config error */
    }
    if (!st) {
        switch (cfg->network_type) {
        case EI_NETWORK_TYPE_DETECTOR: st = prepare_detector(inf); break;
        case EI_NETWORK_TYPE_SEGMENTATION:
        case EI_NETWORK_TYPE_CLASSIFIER: st = prepare_dense(inf); break;
        default: break;
        }
    }
    if (!st && cfg->network_type != EI_NETWORK_TYPE_DETECTOR) st = load_labels(inf);
    if (!st) {
        ei_session_options so = ei_session_options_default();
        so.n_threads = o.n_threads ? o.n_threads : ei_model_engine_threads(inf->model);
        st = ei_session_create(inf->model, &so, &inf->session);
    }
    if (!st) st = ei_tensor_create(EI_DTYPE_F32, ei_model_input_shape(inf->model, 0), &inf->input);
    if (!st) {
        inf->n_outputs = ei_model_output_count(inf->model);
        inf->outputs = calloc((size_t)inf->n_outputs + 1, sizeof *inf->outputs);
        inf->output_names = calloc((size_t)inf->n_outputs + 1, sizeof *inf->output_names);
        if (!inf->outputs || !inf->output_names) st = ei_status_oom();
        for (int32_t i = 0; !st && i < inf->n_outputs; i++) inf->output_names[i] = ei_model_output_name(inf->model, i);
    }
    if (st) {
        ei_infer_destroy(inf);
        return st;
    }
    *out = inf;
    return NULL;
}

void ei_infer_destroy(ei_infer * inf) {
    if (!inf) return;
    ei_decoder_destroy(inf->decoder);
    ei_parser_plugin_destroy(inf->plugin);
    ei_labels_destroy(inf->labels);
    free(inf->attrs);
    ei_tensor_destroy(inf->input);
    ei_session_destroy(inf->session);
    ei_model_destroy(inf->model);
    free(inf->outputs);
    free(inf->output_names);
    free(inf);
}

/* cluster-mode=4: no NMS, but the thresholds and limits still apply. */
static int32_t filter_only(ei_detection * d, int32_t n, const ei_class_attrs * attrs, int32_t n_classes, int32_t topk) {
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        const ei_detection * x = &d[i];
        if (x->class_id < 0 || x->class_id >= n_classes) continue;
        const ei_class_attrs * a = &attrs[x->class_id];
        float                  w = x->x2 - x->x1, h = x->y2 - x->y1;
        if (x->score < a->pre_cluster_threshold || x->score < a->post_cluster_threshold) continue;
        if ((a->min_w > 0 && w < a->min_w) || (a->min_h > 0 && h < a->min_h)) continue;
        if ((a->max_w > 0 && w > a->max_w) || (a->max_h > 0 && h > a->max_h)) continue;
        d[k++] = *x;
    }
    if (topk > 0 && k > topk) {
        /* ei_nms with an IoU above 1 suppresses nothing: it only sorts and truncates. */
        k = ei_nms(d, k, 2.0f, 1, topk);
    }
    return k;
}

static ei_status * postprocess_detector(ei_infer * inf, int32_t b, ei_frame_result * r) {
    const ei_infer_config * cfg = inf->cfg;
    const ei_class_attrs *  attrs = inf->attrs;
    int32_t                 n_attrs = inf->n_classes;
    r->detections.count = 0;
    ei_status * st;
    if (inf->plugin)
        st = ei_parser_plugin_run(inf->plugin, inf->outputs, inf->output_names, inf->n_outputs, b, inf->pre.width,
                                  inf->pre.height, attrs, n_attrs, &r->detections);
    else
        st = ei_decoder_run(inf->decoder, inf->outputs, inf->output_names, inf->n_outputs, b, inf->pre.width,
                            inf->pre.height, attrs, n_attrs, &r->detections);
    if (!st) {
        ei_detections_to_image(&r->transform, r->detections.items, r->detections.count, 1);
        if (cfg->cluster_mode == EI_CLUSTER_MODE_NMS)
            r->detections.count = ei_cluster(r->detections.items, r->detections.count, attrs, n_attrs,
                                             cfg->nms_class_agnostic, cfg->overall_topk);
        else
            r->detections.count =
                filter_only(r->detections.items, r->detections.count, attrs, n_attrs, cfg->overall_topk);
    }
    return st;
}

static void classify(ei_infer * inf, int32_t b, ei_frame_result * r) {
    const ei_tensor * t = inf->outputs[inf->seg_output];
    const float *     p = (const float *)ei_tensor_data_const(t) + (size_t)b * (size_t)inf->n_classes;
    int32_t           best = 0;
    for (int32_t c = 1; c < inf->n_classes; c++)
        if (p[c] > p[best]) best = c;
    r->top_class = best;
    r->top_score = p[best];
}

ei_status * ei_infer_run(ei_infer * inf, const ei_image * frames, int32_t n, ei_frame_result * results) {
    if (n < 1 || n > inf->batch)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_infer_run: %d frames for a batch of %d", n, inf->batch);
    double               t0 = now_ms();
    ei_frame_transform   xf[64];
    ei_frame_transform * xfs = n <= 64 ? xf : malloc((size_t)n * sizeof *xfs);
    if (!xfs) return ei_status_oom();
    ei_status * st = NULL;
    /* A partial batch leaves the other slots as they were: the network's outputs for them are
     * ignored. */
    size_t  slot = (size_t)ei_tensor_numel(inf->input) / (size_t)inf->batch;
    int32_t i = 0;
    for (; i < n && !st; i++)
        st = ei_preprocess(&inf->pre, &frames[i], (float *)ei_tensor_data(inf->input) + (size_t)i * slot, &xfs[i]);
    if (st) {
        if (xfs != xf) free(xfs);
        return ei_status_wrapf(st, "pre-processing frame %d", i - 1);
    }
    double t1 = now_ms();
    st = ei_session_set_input(inf->session, inf->input_name, inf->input);
    if (!st) st = ei_session_run(inf->session);
    double t2 = now_ms();
    for (i = 0; !st && i < inf->n_outputs; i++) inf->outputs[i] = ei_session_output(inf->session, i);
    for (i = 0; i < n && !st; i++) {
        ei_frame_result * r = &results[i];
        ei_seg_map_free(&r->seg);
        r->detections.count = 0;
        r->top_class = -1;
        r->top_score = 0;
        r->transform = xfs[i];
        switch (inf->cfg->network_type) {
        case EI_NETWORK_TYPE_DETECTOR: st = postprocess_detector(inf, i, r); break;
        case EI_NETWORK_TYPE_SEGMENTATION:
            st = ei_segment_decode(&inf->cfg->segment, inf->outputs[inf->seg_output], i, &xfs[i], &r->seg);
            break;
        case EI_NETWORK_TYPE_CLASSIFIER: classify(inf, i, r); break;
        default: break;
        }
        if (st) st = ei_status_wrapf(st, "frame %d", i);
    }
    inf->timing.preprocess_ms = t1 - t0;
    inf->timing.infer_ms = t2 - t1;
    inf->timing.postprocess_ms = now_ms() - t2;
    if (xfs != xf) free(xfs);
    return st;
}

int32_t                    ei_infer_batch_size(const ei_infer * inf) { return inf->batch; }
const ei_model *           ei_infer_model(const ei_infer * inf) { return inf->model; }
const ei_labels *          ei_infer_labels(const ei_infer * inf) { return inf->labels; }
const ei_preprocess_spec * ei_infer_preprocess(const ei_infer * inf) { return &inf->pre; }
ei_network_type            ei_infer_network_type(const ei_infer * inf) { return inf->cfg->network_type; }
int32_t                    ei_infer_num_classes(const ei_infer * inf) { return inf->n_classes; }
ei_infer_timing            ei_infer_last_timing(const ei_infer * inf) { return inf->timing; }
const ei_tensor *          ei_infer_input_tensor(const ei_infer * inf) { return inf->input; }
const ei_tensor *          ei_infer_output(const ei_infer * inf, int32_t i) {
             return i >= 0 && i < inf->n_outputs ? ei_session_output(inf->session, i) : NULL;
}
