/* ei_infer_config: load, parse, check files, destroy. The [property] keys that are not the
 * decoder's (config_decoder.c) are read here, then the [class-attrs-*] groups, then the checks that
 * involve several keys. Defaults are nvinfer's except where a comment says why not. */
#include <math.h>
#include <string.h>

#include "config/config_internal.h"

#define P EI_CFG_PROPERTY

static void set_defaults(ei_infer_config * cfg) {
    cfg->size = sizeof *cfg;
    cfg->batch_size = 1;
    cfg->network_mode = EI_NETWORK_MODE_FP32;
    cfg->precision = EI_PRECISION_FP32;
    cfg->network_type = EI_NETWORK_TYPE_DETECTOR;
    cfg->cluster_mode = EI_CLUSTER_MODE_NMS; /* nvinfer's default 0 (GroupRectangles) is not implemented */
    cfg->gie_unique_id = 1;
    cfg->overall_topk = -1;
    cfg->net_scale_factor = 1.0f;

    ei_preprocess_spec * pp = &cfg->preprocess;
    pp->size = sizeof *pp;
    pp->color = EI_PIXEL_RGB;
    pp->layout = EI_LAYOUT_NCHW;
    pp->filter = EI_RESIZE_NEAREST; /* nvinfer's scaling-filter default is 0 */
    for (int c = 0; c < 3; c++) pp->scale[c] = 1.0f;

    ei_decoder_params * d = &cfg->decoder;
    d->size = sizeof *d;
    d->kind = EI_DECODER_SSD;
    d->background_class = 0;
    d->score_fn = EI_SCORE_NONE;
    d->center_variance = 0.1f;
    d->size_variance = 0.2f;
    d->boxes_normalized = 1;
    d->strides[0] = 8, d->strides[1] = 16, d->strides[2] = 32;
    d->n_strides = 3;
    d->priors.min_ratio = 0.2f;
    d->priors.max_ratio = 0.95f;
    d->priors.clip = 1;

    ei_segment_params * s = &cfg->segment;
    s->size = sizeof *s;
    s->layout = EI_LAYOUT_NCHW;
    s->threshold = -INFINITY; /* plain argmax; one-channel models threshold at 0.5 */
    s->upsample_scores = 1;
}

static ei_class_attrs attrs_default(void) {
    ei_class_attrs a = {0};
    a.pre_cluster_threshold = 0.2f;
    a.nms_iou_threshold = 0.3f;
    a.topk = -1;
    return a;
}

static ei_status * bad(ei_cfg_ctx * c, const char * group, const char * key, const char * why) {
    char *      v = ei_cfg_raw(c, group, key);
    ei_status * st = ei_cfg_bad_value(c, group, key, v ? v : "", "%s", why);
    g_free(v);
    return st;
}

/* An absolute path for a path key, resolved against the config's folder as nvinfer does. */
static ei_status * get_path(ei_cfg_ctx * c, const char * key, char ** out) {
    char * v = NULL;
    EI_TRY(ei_cfg_get_string(c, P, key, &v, NULL));
    if (!v) return NULL;
    *out = g_canonicalize_filename(v, c->cfg->base_dir);
    g_free(v);
    return NULL;
}

/* Refused values of an nvinfer enum key: what each one is, for the message. */
typedef struct refused {
    int          value;
    const char * what;
} refused;

static ei_status * get_enum_refusing(ei_cfg_ctx * c, const char * key, const ei_cfg_enum * table, const refused * no,
                                     const char * supported, int * out) {
    char *  v = ei_cfg_raw(c, P, key);
    int32_t num;
    if (v && ei_cfg_parse_int(v, INT32_MIN, INT32_MAX, &num) == 0) {
        for (const refused * r = no; r->what; r++) {
            if (r->value == num) {
                ei_status * st = ei_cfg_bad_value(c, P, key, v, "%s (%s=%d) is not implemented; supported: %s", r->what,
                                                  key, (int)num, supported);
                g_free(v);
                return st;
            }
        }
    }
    g_free(v);
    return ei_cfg_get_enum(c, P, key, table, out, NULL);
}

static const ei_cfg_enum network_modes[] = {{"fp32", 0}, {"int8", 1}, {"fp16", 2}, {NULL, 0}};
static const ei_cfg_enum network_types[] = {
    {"detector", 0}, {"classifier", 1}, {"segmentation", 2}, {"other", 100}, {NULL, 0}};
static const refused     network_types_no[] = {{3, "instance segmentation"}, {0, NULL}};
static const ei_cfg_enum cluster_modes[] = {{"nms", 2}, {"none", 4}, {NULL, 0}};
static const refused     cluster_modes_no[] = {
        {0, "OpenCV groupRectangles"}, {1, "DBSCAN"}, {3, "DBSCAN + NMS hybrid"}, {0, NULL}};
/* nvinfer's numbers, mapped to ei_pixel_format by color_format(). */
static const ei_cfg_enum colors[] = {{"rgb", 0}, {"bgr", 1}, {"gray", 2}, {NULL, 0}};
static const ei_cfg_enum filters[] = {{"nearest", EI_RESIZE_NEAREST}, {"bilinear", EI_RESIZE_BILINEAR}, {NULL, 0}};
static const refused     filters_no[] = {{2, "nvinfer's interpolation 2 (GPU cubic / VIC 5-tap)"},
                                         {3, "nvinfer's interpolation 3 (GPU super-sampling / VIC 10-tap)"},
                                         {4, "nvinfer's interpolation 4 (GPU Lanczos / VIC smart)"},
                                         {5, "nvinfer's interpolation 5 (VIC nicest)"},
                                         {6, "nvinfer's interpolation 6 (platform default)"},
                                         {0, NULL}};
static const ei_cfg_enum orders[] = {{"nchw", EI_LAYOUT_NCHW}, {"nhwc", EI_LAYOUT_NHWC}, {NULL, 0}};
static const ei_cfg_enum upsamples[] = {{"labels", 0}, {"scores", 1}, {NULL, 0}};

static ei_status * read_preprocess(ei_cfg_ctx * c) {
    ei_infer_config *    cfg = c->cfg;
    ei_preprocess_spec * pp = &cfg->preprocess;
    int                  v = 0, present;
    EI_TRY(ei_cfg_get_enum(c, P, "model-color-format", colors, &v, NULL));
    pp->color = v == 2 ? EI_PIXEL_GRAY : v == 1 ? EI_PIXEL_BGR : EI_PIXEL_RGB;
    int channels = pp->color == EI_PIXEL_GRAY ? 1 : 3;

    /* scaling-filter: nvinfer's 0 and 1, plus "area" (edgeinfer: pixel averaging when shrinking). */
    char * f = ei_cfg_raw(c, P, "scaling-filter");
    if (f && !g_ascii_strcasecmp(f, "area")) {
        pp->filter = EI_RESIZE_AREA;
    } else {
        v = pp->filter;
        ei_status * st = get_enum_refusing(c, "scaling-filter", filters, filters_no,
                                           "0 (nearest), 1 (bilinear), area (pixel-area averaging)", &v);
        if (st) {
            g_free(f);
            return st;
        }
        pp->filter = (ei_resize_filter)v;
    }
    g_free(f);
    v = pp->layout;
    EI_TRY(ei_cfg_get_enum(c, P, "network-input-order", orders, &v, NULL));
    pp->layout = (ei_layout)v;
    EI_TRY(ei_cfg_get_bool(c, P, "maintain-aspect-ratio", &pp->keep_aspect, NULL));
    EI_TRY(ei_cfg_get_bool(c, P, "symmetric-padding", &pp->symmetric_pad, NULL));

    int32_t dims[3], n = 0;
    EI_TRY(ei_cfg_get_ints(c, P, "infer-dims", 1, 16384, dims, 3, &n, &present));
    if (present) {
        if (n != 3) return bad(c, P, "infer-dims", "expected C;H;W (e.g. 3;416;416)");
        if (dims[0] != channels)
            return bad(c, P, "infer-dims",
                       channels == 1 ? "C must be 1 for model-color-format=2 (GRAY)"
                                     : "C must be 3 for model-color-format 0 (RGB) or 1 (BGR)");
        memcpy(cfg->infer_dims, dims, sizeof dims);
        pp->width = dims[2];
        pp->height = dims[1];
    }

    float pad[3];
    EI_TRY(ei_cfg_get_floats(c, P, "pad-value", pad, 3, &n, &present));
    if (present) {
        if (n != 1 && n != channels) return bad(c, P, "pad-value", "expected one value or one per channel");
        for (int i = 0; i < 3; i++) pp->pad_value[i] = pad[n == 1 ? 0 : (i < n ? i : 0)];
        if (!pp->keep_aspect) ei_cfg_warn(c, "[%s] pad-value has no effect without maintain-aspect-ratio=1", P);
    }
    if (pp->symmetric_pad && !pp->keep_aspect)
        ei_cfg_warn(c, "[%s] symmetric-padding has no effect without maintain-aspect-ratio=1", P);

    /* y = net-scale-factor * (x - offsets[c]), or (x/255 - mean[c]) / std[c]: one or the other. */
    int has_nsf, has_off, has_mean, has_std;
    EI_TRY(ei_cfg_get_float(c, P, "net-scale-factor", &cfg->net_scale_factor, &has_nsf));
    EI_TRY(ei_cfg_get_floats(c, P, "offsets", cfg->offsets, 3, &cfg->n_offsets, &has_off));
    if (has_off && cfg->n_offsets != channels) {
        char *      why = g_strdup_printf("%d values, model-color-format %s needs %d", (int)cfg->n_offsets,
                                     channels == 1               ? "2 (GRAY)"
                                          : pp->color == EI_PIXEL_BGR ? "1 (BGR)"
                                                                      : "0 (RGB)",
                                          channels);
        ei_status * st = bad(c, P, "offsets", why);
        g_free(why);
        return st;
    }
    float   mean[3], std[3];
    int32_t n_mean = 0, n_std = 0;
    EI_TRY(ei_cfg_get_floats(c, P, "mean", mean, 3, &n_mean, &has_mean));
    EI_TRY(ei_cfg_get_floats(c, P, "std", std, 3, &n_std, &has_std));
    if ((has_mean || has_std) && (has_nsf || has_off))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: [%s] mean/std and net-scale-factor/offsets both given: they are two ways to write the "
                         "same normalisation; use one",
                         c->file, P);
    if (has_mean != has_std)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] %s given without %s: give both (or neither)", c->file, P,
                         has_mean ? "mean" : "std", has_mean ? "std" : "mean");
    if (has_mean) {
        if (n_mean != channels) return bad(c, P, "mean", channels == 1 ? "expected 1 value" : "expected 3 values");
        if (n_std != channels) return bad(c, P, "std", channels == 1 ? "expected 1 value" : "expected 3 values");
        for (int i = 0; i < 3; i++) {
            int k = i < channels ? i : 0;
            if (!(std[k] > 0)) return bad(c, P, "std", "every std must be positive");
            pp->scale[i] = 1.0f / (255.0f * std[k]);
            pp->offset[i] = 255.0f * mean[k];
        }
    } else {
        for (int i = 0; i < 3; i++) {
            pp->scale[i] = cfg->net_scale_factor;
            pp->offset[i] = cfg->n_offsets ? cfg->offsets[i < cfg->n_offsets ? i : 0] : 0.0f;
        }
    }
    return NULL;
}

static ei_status * read_property(ei_cfg_ctx * c) {
    ei_infer_config * cfg = c->cfg;
    int               v, present;
    EI_TRY(get_path(c, "onnx-file", &cfg->onnx_file));
    EI_TRY(get_path(c, "model-engine-file", &cfg->model_engine_file));
    EI_TRY(get_path(c, "labelfile-path", &cfg->labelfile_path));
    EI_TRY(get_path(c, "custom-lib-path", &cfg->custom_lib_path));
    EI_TRY(ei_cfg_get_string(c, P, "parse-bbox-func-name", &cfg->parse_bbox_func_name, NULL));
    if (g_key_file_has_key(c->kf, P, "mean-file", NULL))
        return bad(c, P, "mean-file", "mean files are not supported; use offsets (per-channel means)");
    if (!cfg->onnx_file && !cfg->model_engine_file)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] no model: set onnx-file (or model-engine-file)", c->file,
                         P);

    EI_TRY(ei_cfg_get_int(c, P, "batch-size", 1, 1024, &cfg->batch_size, NULL));
    v = cfg->network_mode;
    EI_TRY(ei_cfg_get_enum(c, P, "network-mode", network_modes, &v, NULL));
    cfg->network_mode = (ei_network_mode)v;
    cfg->precision = cfg->network_mode == EI_NETWORK_MODE_INT8   ? EI_PRECISION_INT8
                     : cfg->network_mode == EI_NETWORK_MODE_FP16 ? EI_PRECISION_FP16
                                                                 : EI_PRECISION_FP32;
    EI_TRY(get_path(c, "int8-calib-file", &cfg->int8_calib_file));
    if (cfg->precision == EI_PRECISION_INT8 && !cfg->int8_calib_file && cfg->onnx_file)
        return bad(c, P, "network-mode",
                   "int8 needs int8-calib-file=FILE, a calibration cache made by `edgeinfer build MODEL.onnx "
                   "--precision int8 -c CONFIG --calib-images DIR --calib-cache FILE` (or use network-mode=0)");
    if (cfg->int8_calib_file && cfg->precision != EI_PRECISION_INT8)
        ei_cfg_warn(c, "[%s] int8-calib-file has no effect without network-mode=1 (int8)", P);
    v = cfg->network_type;
    EI_TRY(get_enum_refusing(c, "network-type", network_types, network_types_no,
                             "0 (detector), 1 (classifier), 2 (segmentation), 100 (other)", &v));
    cfg->network_type = (ei_network_type)v;
    v = cfg->cluster_mode;
    EI_TRY(get_enum_refusing(c, "cluster-mode", cluster_modes, cluster_modes_no, "2 (NMS), 4 (no clustering)", &v));
    cfg->cluster_mode = (ei_cluster_mode)v;
    EI_TRY(ei_cfg_get_int(c, P, "interval", 0, INT32_MAX, &cfg->interval, NULL));
    EI_TRY(ei_cfg_get_int(c, P, "gie-unique-id", 0, INT32_MAX, &cfg->gie_unique_id, NULL));
    EI_TRY(ei_cfg_get_int(c, P, "num-detected-classes", 1, 65535, &cfg->num_detected_classes, &present));
    if (!present && cfg->network_type == EI_NETWORK_TYPE_DETECTOR)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: [%s] num-detected-classes is required for a detector (network-type=0)", c->file, P);
    cfg->decoder.num_classes = cfg->num_detected_classes;
    EI_TRY(ei_cfg_get_bool(c, P, "nms-class-agnostic", &cfg->nms_class_agnostic, NULL));
    EI_TRY(ei_cfg_get_int(c, P, "overall-topk", -1, INT32_MAX, &cfg->overall_topk, NULL));

    char * names = ei_cfg_raw(c, P, "output-blob-names");
    if (names) {
        cfg->output_blob_names = ei_cfg_split(names, ";", &cfg->n_output_blob_names);
        int empty = cfg->n_output_blob_names == 0;
        for (int32_t i = 0; i < cfg->n_output_blob_names; i++) empty |= !cfg->output_blob_names[i][0];
        ei_status * st = empty ? ei_cfg_bad_value(c, P, "output-blob-names", names, "empty name in the list") : NULL;
        g_free(names);
        if (st) return st;
    }

    EI_TRY(read_preprocess(c));
    cfg->decoder.priors.image_w = cfg->preprocess.width;
    cfg->decoder.priors.image_h = cfg->preprocess.height;

    ei_segment_params * s = &cfg->segment;
    EI_TRY(ei_cfg_get_float(c, P, "segmentation-threshold", &s->threshold, NULL));
    v = s->layout;
    EI_TRY(ei_cfg_get_enum(c, P, "segmentation-output-order", orders, &v, NULL));
    s->layout = (ei_layout)v;
    EI_TRY(ei_cfg_get_enum(c, P, "segmentation-upsample", upsamples, &s->upsample_scores, NULL));
    int32_t sig = s->sigmoid;
    EI_TRY(ei_cfg_get_bool(c, P, "segmentation-sigmoid", &sig, NULL));
    s->sigmoid = sig;

    int had_decoder = g_key_file_has_key(c->kf, P, "decoder", NULL);
    EI_TRY(ei_cfg_read_decoder(c));
    if (had_decoder && cfg->network_type != EI_NETWORK_TYPE_DETECTOR)
        ei_cfg_warn(c, "[%s] decoder is ignored: network-type=%d is not a detector", P, (int)cfg->network_type);
    return NULL;
}

static ei_status * read_attrs(ei_cfg_ctx * c, const char * group, ei_class_attrs * a) {
    int has_pre, has_old;
    EI_TRY(ei_cfg_get_float(c, group, "pre-cluster-threshold", &a->pre_cluster_threshold, &has_pre));
    float old = 0;
    EI_TRY(ei_cfg_get_float(c, group, "threshold", &old, &has_old));
    if (has_pre && has_old)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: [%s] threshold (nvinfer's legacy name) and pre-cluster-threshold both given: use "
                         "pre-cluster-threshold",
                         c->file, group);
    if (has_old) a->pre_cluster_threshold = old;
    EI_TRY(ei_cfg_get_float(c, group, "post-cluster-threshold", &a->post_cluster_threshold, NULL));
    EI_TRY(ei_cfg_get_float(c, group, "nms-iou-threshold", &a->nms_iou_threshold, NULL));
    EI_TRY(ei_cfg_get_int(c, group, "topk", -1, INT32_MAX, &a->topk, NULL));
    static const char * const sizes[] = {"detected-min-w", "detected-min-h", "detected-max-w", "detected-max-h"};
    float *                   dst[] = {&a->min_w, &a->min_h, &a->max_w, &a->max_h};
    for (int i = 0; i < 4; i++) {
        EI_TRY(ei_cfg_get_float(c, group, sizes[i], dst[i], NULL));
        if (*dst[i] < 0) return bad(c, group, sizes[i], "must not be negative");
    }
    return NULL;
}

static ei_status * read_class_attrs(ei_cfg_ctx * c) {
    ei_infer_config * cfg = c->cfg;
    ei_class_attrs    base = attrs_default();
    if (g_key_file_has_group(c->kf, EI_CFG_ATTRS_ALL)) EI_TRY(read_attrs(c, EI_CFG_ATTRS_ALL, &base));
    if (cfg->num_detected_classes > 0) {
        cfg->class_attrs = g_new(ei_class_attrs, cfg->num_detected_classes);
        cfg->n_class_attrs = cfg->num_detected_classes;
        for (int32_t i = 0; i < cfg->n_class_attrs; i++) cfg->class_attrs[i] = base;
    }
    gsize       n = 0;
    char **     groups = g_key_file_get_groups(c->kf, &n);
    ei_status * st = NULL;
    for (gsize g = 0; !st && g < n; g++) {
        const char * name = groups[g];
        if (!g_str_has_prefix(name, EI_CFG_ATTRS_PREFIX) || !strcmp(name, EI_CFG_ATTRS_ALL)) continue;
        const char * id = name + strlen(EI_CFG_ATTRS_PREFIX);
        int32_t      k = -1;
        int          ok = id[0] && strspn(id, "0123456789") == strlen(id) && !ei_cfg_parse_int(id, 0, INT32_MAX, &k);
        if (!ok)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                           "%s: [%s] is not a class group: expected [class-attrs-all] or [class-attrs-<class id>]",
                           c->file, name);
        else if (k >= cfg->num_detected_classes)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] class %d does not exist: num-detected-classes is %d",
                           c->file, name, (int)k, (int)cfg->num_detected_classes);
        else
            st = read_attrs(c, name, &cfg->class_attrs[k]);
    }
    g_strfreev(groups);
    return st;
}

static ei_status * parse_into(ei_cfg_ctx * c, const char * text, size_t n) {
    GError * err = NULL;
    if (!g_key_file_load_from_data(c->kf, text, n, G_KEY_FILE_NONE, &err)) {
        ei_status * st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: not a valid INI file: %s", c->file, err->message);
        g_error_free(err);
        return st;
    }
    if (!g_key_file_has_group(c->kf, P))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: no [%s] group (nvinfer's settings live there)", c->file, P);
    ei_cfg_check_names(c);
    EI_TRY(read_property(c));
    return read_class_attrs(c);
}

ei_status * ei_infer_config_parse(const char * text, size_t n, const char * path, ei_infer_config ** out) {
    if (!out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_infer_config_parse: out is NULL");
    *out = NULL;
    if (!text && n) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_infer_config_parse: text is NULL");
    ei_infer_config * cfg = g_new0(ei_infer_config, 1);
    set_defaults(cfg);
    cfg->config_path = g_strdup(path);
    char * dir = g_path_get_dirname(path ? path : "./x");
    cfg->base_dir = g_canonicalize_filename(dir, NULL);
    g_free(dir);

    ei_cfg_ctx c = {.kf = g_key_file_new(), .file = path ? path : "<config>", .cfg = cfg};
    c.warnings = g_ptr_array_new();
    ei_status * st = parse_into(&c, text ? text : "", n);
    g_key_file_free(c.kf);
    cfg->n_warnings = (int32_t)c.warnings->len;
    g_ptr_array_add(c.warnings, NULL);
    cfg->warnings = (char **)g_ptr_array_free(c.warnings, FALSE);
    if (st) {
        ei_infer_config_destroy(cfg);
        return st;
    }
    *out = cfg;
    return NULL;
}

ei_status * ei_infer_config_check_files(const ei_infer_config * cfg) {
    if (!cfg) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_infer_config_check_files: cfg is NULL");
    const char * file = cfg->config_path ? cfg->config_path : "<config>";
    struct {
        const char * key;
        const char * path;
    } files[] = {
        {cfg->onnx_file ? "onnx-file" : "model-engine-file", cfg->onnx_file ? cfg->onnx_file : cfg->model_engine_file},
        {"labelfile-path", cfg->labelfile_path},
        {"custom-lib-path", cfg->custom_lib_path},
        {"int8-calib-file", cfg->precision == EI_PRECISION_INT8 ? cfg->int8_calib_file : NULL},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (files[i].path && !g_file_test(files[i].path, G_FILE_TEST_IS_REGULAR))
            return ei_errorf(EI_CODE_NOT_FOUND, "%s: [%s] %s: no such file: %s", file, P, files[i].key, files[i].path);
    }
    return NULL;
}

ei_status * ei_infer_config_load(const char * path, ei_infer_config ** out) {
    if (!out || !path) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_infer_config_load: path or out is NULL");
    *out = NULL;
    char *   text = NULL;
    gsize    n = 0;
    GError * err = NULL;
    if (!g_file_get_contents(path, &text, &n, &err)) {
        ei_code code = err->domain == G_FILE_ERROR && err->code == G_FILE_ERROR_NOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO;
        ei_status * st = ei_errorf(code, "%s: cannot read the config: %s", path, err->message);
        g_error_free(err);
        return st;
    }
    ei_infer_config * cfg = NULL;
    ei_status *       st = ei_infer_config_parse(text, n, path, &cfg);
    g_free(text);
    if (!st) st = ei_infer_config_check_files(cfg);
    if (st) {
        ei_infer_config_destroy(cfg);
        return st;
    }
    *out = cfg;
    return NULL;
}

void ei_infer_config_destroy(ei_infer_config * cfg) {
    if (!cfg) return;
    g_free(cfg->config_path);
    g_free(cfg->base_dir);
    g_free(cfg->onnx_file);
    g_free(cfg->model_engine_file);
    g_free(cfg->labelfile_path);
    g_free(cfg->custom_lib_path);
    g_free(cfg->int8_calib_file);
    g_free(cfg->parse_bbox_func_name);
    g_strfreev(cfg->output_blob_names);
    g_free((char *)cfg->decoder.boxes_output); /* allocated by config_decoder.c */
    g_free((char *)cfg->decoder.scores_output);
    g_free(cfg->class_attrs);
    g_strfreev(cfg->warnings);
    g_free(cfg);
}
