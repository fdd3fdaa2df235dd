/* The edgeinfer keys that choose and parameterise the detection decoder (DeepStream has only a
 * custom parser function for this): decoder, score-function, output names, the SSD prior spec,
 * variances, YOLO strides. Filled into cfg->decoder; checked against nothing but the config. */
#include <stddef.h>
#include <string.h>

#include "config/config_internal.h"

#define P EI_CFG_PROPERTY

static const ei_cfg_enum decoder_names[] = {
    {"ssd", EI_DECODER_SSD},
    {"boxes-scores", EI_DECODER_BOXES_SCORES},
    {"yolox", EI_DECODER_YOLOX},
    {"yolov5", EI_DECODER_YOLOV5},
    {"yolov8", EI_DECODER_YOLOV8},
    {"custom", EI_DECODER_CUSTOM},
    {NULL, 0},
};
static const ei_cfg_enum score_names[] = {
    {"none", EI_SCORE_NONE}, {"softmax", EI_SCORE_SOFTMAX}, {"sigmoid", EI_SCORE_SIGMOID}, {NULL, 0}};
static const ei_cfg_enum prior_names[] = {{"torchvision", EI_PRIOR_TORCHVISION},
                                          {"pytorch-ssd", EI_PRIOR_PYTORCH_SSD},
                                          {"min-boxes", EI_PRIOR_MIN_BOXES},
                                          {NULL, 0}};

static const char * const prior_keys[] = {"prior-style",
                                          "prior-feature-maps",
                                          "prior-steps",
                                          "prior-min-boxes",
                                          "prior-min-sizes",
                                          "prior-max-sizes",
                                          "prior-scales",
                                          "prior-aspect-ratios",
                                          "prior-min-ratio",
                                          "prior-max-ratio",
                                          "prior-clip",
                                          "prior-variances",
                                          NULL};

/* "WxH" (or "N" for N x N) as two positive numbers; 0 on success. */
static int parse_pair(const char * s, float * a, float * b) {
    char ** xy = g_strsplit(s, "x", 3);
    int     n = (int)g_strv_length(xy);
    int     bad = n < 1 || n > 2 || ei_cfg_parse_float(g_strstrip(xy[0]), a) ||
              (n == 2 && ei_cfg_parse_float(g_strstrip(xy[1]), b));
    if (!bad && n == 1) *b = *a;
    g_strfreev(xy);
    return bad || !(*a > 0) || !(*b > 0);
}

/* A ';' list with one item per level, each item as parse_pair. */
static ei_status * get_pairs(ei_cfg_ctx * c, const char * key, int32_t want, float (*out)[2], int32_t * n,
                             int * present) {
    char * v = ei_cfg_raw(c, P, key);
    *present = v != NULL;
    if (!v) return NULL;
    int32_t     k = 0;
    char **     parts = ei_cfg_split(v, ";", &k);
    ei_status * st = NULL;
    if (k == 0 || k > EI_PRIOR_MAX_LEVELS)
        st = ei_cfg_bad_value(c, P, key, v, "%d levels, expected 1 to %d", (int)k, EI_PRIOR_MAX_LEVELS);
    else if (want > 0 && k != want)
        st = ei_cfg_bad_value(c, P, key, v, "%d levels, prior-feature-maps has %d", (int)k, (int)want);
    for (int32_t i = 0; !st && i < k; i++)
        if (parse_pair(parts[i], &out[i][0], &out[i][1]))
            st = ei_cfg_bad_value(c, P, key, v, "level %d ('%s') is not WxH or N with positive numbers", (int)i + 1,
                                  parts[i]);
    if (!st) *n = k;
    g_strfreev(parts);
    g_free(v);
    return st;
}

/* Per level, ','-separated numbers: "10,16,24;32,48". Levels may be empty only when allow_empty. */
static ei_status * get_level_lists(ei_cfg_ctx * c, const char * key, int32_t want, int allow_empty,
                                   float (*out)[EI_PRIOR_MAX_SIZES], int32_t * counts, int * present) {
    char * v = ei_cfg_raw(c, P, key);
    *present = v != NULL;
    if (!v) return NULL;
    int32_t     k = 0;
    char **     levels = g_strsplit(v, ";", -1);
    ei_status * st = NULL;
    k = (int32_t)g_strv_length(levels);
    if (k != want) st = ei_cfg_bad_value(c, P, key, v, "%d levels, prior-feature-maps has %d", (int)k, (int)want);
    for (int32_t l = 0; !st && l < k; l++) {
        int32_t m = 0;
        char ** items = ei_cfg_split(levels[l], ",", &m);
        if (m > EI_PRIOR_MAX_SIZES)
            st = ei_cfg_bad_value(c, P, key, v, "level %d has %d values, at most %d", (int)l + 1, (int)m,
                                  EI_PRIOR_MAX_SIZES);
        else if (m == 0 && !allow_empty)
            st = ei_cfg_bad_value(c, P, key, v, "level %d is empty", (int)l + 1);
        for (int32_t i = 0; !st && i < m; i++)
            if (ei_cfg_parse_float(items[i], &out[l][i]) || !(out[l][i] > 0))
                st = ei_cfg_bad_value(c, P, key, v, "level %d: '%s' is not a positive number", (int)l + 1, items[i]);
        counts[l] = m;
        g_strfreev(items);
    }
    g_strfreev(levels);
    g_free(v);
    return st;
}

/* One float per level ("0.1;0.2;...") into a strided field of the levels. */
static ei_status * get_level_floats(ei_cfg_ctx * c, const char * key, ei_prior_spec * ps, size_t field) {
    float   vals[EI_PRIOR_MAX_LEVELS];
    int32_t n = 0;
    int     present;
    EI_TRY(ei_cfg_get_floats(c, P, key, vals, EI_PRIOR_MAX_LEVELS, &n, &present));
    if (!present) return NULL;
    if (n != ps->n_levels) {
        char *      v = ei_cfg_raw(c, P, key);
        ei_status * st =
            ei_cfg_bad_value(c, P, key, v, "%d levels, prior-feature-maps has %d", (int)n, (int)ps->n_levels);
        g_free(v);
        return st;
    }
    for (int32_t l = 0; l < n; l++) memcpy((char *)&ps->level[l] + field, &vals[l], sizeof(float));
    return NULL;
}

static ei_status * missing(ei_cfg_ctx * c, const char * key, const char * why) {
    return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] %s is required %s", c->file, P, key, why);
}

static ei_status * read_priors(ei_cfg_ctx * c, ei_decoder_params * d) {
    ei_prior_spec * ps = &d->priors;
    int             style = EI_PRIOR_TORCHVISION, present;
    EI_TRY(ei_cfg_get_enum(c, P, "prior-style", prior_names, &style, &present));
    if (!present) return missing(c, "prior-style", "by decoder=ssd (torchvision, pytorch-ssd or min-boxes)");
    ps->style = (ei_prior_style)style;

    float   pairs[EI_PRIOR_MAX_LEVELS][2];
    int32_t n = 0;
    EI_TRY(get_pairs(c, "prior-feature-maps", 0, pairs, &n, &present));
    if (!present) return missing(c, "prior-feature-maps", "by decoder=ssd (e.g. 40x30;20x15;10x8;5x4)");
    ps->n_levels = n;
    for (int32_t l = 0; l < n; l++) {
        /* range first: converting a float beyond int32 is undefined */
        int whole = pairs[l][0] <= 65536 && pairs[l][1] <= 65536 && pairs[l][0] == (float)(int32_t)pairs[l][0] &&
                    pairs[l][1] == (float)(int32_t)pairs[l][1];
        if (!whole) {
            char *      v = ei_cfg_raw(c, P, "prior-feature-maps");
            ei_status * st = ei_cfg_bad_value(c, P, "prior-feature-maps", v,
                                              "level %d: feature-map sizes are whole numbers up to 65536", (int)l + 1);
            g_free(v);
            return st;
        }
        ps->level[l].fm_w = (int32_t)pairs[l][0];
        ps->level[l].fm_h = (int32_t)pairs[l][1];
    }
    EI_TRY(get_pairs(c, "prior-steps", n, pairs, &n, &present));
    for (int32_t l = 0; present && l < n; l++) ps->level[l].step_x = pairs[l][0], ps->level[l].step_y = pairs[l][1];

    float   lists[EI_PRIOR_MAX_LEVELS][EI_PRIOR_MAX_SIZES];
    int32_t counts[EI_PRIOR_MAX_LEVELS];
    EI_TRY(get_level_lists(c, "prior-min-boxes", ps->n_levels, 0, lists, counts, &present));
    for (int32_t l = 0; present && l < ps->n_levels; l++) {
        memcpy(ps->level[l].sizes, lists[l], sizeof lists[l]);
        ps->level[l].n_sizes = counts[l];
    }
    if (!present && ps->style == EI_PRIOR_MIN_BOXES)
        return missing(c, "prior-min-boxes", "by prior-style=min-boxes (e.g. 10,16,24;32,48;64,96;128,192,256)");
    EI_TRY(get_level_lists(c, "prior-aspect-ratios", ps->n_levels, 1, lists, counts, &present));
    for (int32_t l = 0; present && l < ps->n_levels; l++) {
        memcpy(ps->level[l].aspect_ratios, lists[l], sizeof lists[l]);
        ps->level[l].n_aspect_ratios = counts[l];
    }
    EI_TRY(get_level_floats(c, "prior-min-sizes", ps, offsetof(ei_prior_level, min_size)));
    EI_TRY(get_level_floats(c, "prior-max-sizes", ps, offsetof(ei_prior_level, max_size)));
    EI_TRY(get_level_floats(c, "prior-scales", ps, offsetof(ei_prior_level, scale)));
    if (ps->style == EI_PRIOR_PYTORCH_SSD && !g_key_file_has_key(c->kf, P, "prior-min-sizes", NULL))
        return missing(c, "prior-min-sizes", "by prior-style=pytorch-ssd (one pixel size per level)");
    EI_TRY(ei_cfg_get_float(c, P, "prior-min-ratio", &ps->min_ratio, NULL));
    EI_TRY(ei_cfg_get_float(c, P, "prior-max-ratio", &ps->max_ratio, NULL));
    int32_t clip = ps->clip;
    EI_TRY(ei_cfg_get_bool(c, P, "prior-clip", &clip, NULL));
    ps->clip = clip;

    float var[2];
    EI_TRY(ei_cfg_get_floats(c, P, "prior-variances", var, 2, &n, &present));
    if (present) {
        if (n != 2 || !(var[0] > 0) || !(var[1] > 0)) {
            char *      v = ei_cfg_raw(c, P, "prior-variances");
            ei_status * st = ei_cfg_bad_value(c, P, "prior-variances", v,
                                              "expected two positive numbers: centre;size (e.g. 0.1;0.2)");
            g_free(v);
            return st;
        }
        d->center_variance = var[0];
        d->size_variance = var[1];
    }
    return NULL;
}

static ei_status * get_name(ei_cfg_ctx * c, const char * key, const char ** out) {
    char * s = NULL;
    EI_TRY(ei_cfg_get_string(c, P, key, &s, NULL));
    if (s) *out = s; /* owned by the config: ei_infer_config_destroy frees it */
    return NULL;
}

ei_status * ei_cfg_read_decoder(ei_cfg_ctx * c) {
    ei_infer_config *   cfg = c->cfg;
    ei_decoder_params * d = &cfg->decoder;
    int                 kind = EI_DECODER_SSD, present;
    EI_TRY(ei_cfg_get_enum(c, P, "decoder", decoder_names, &kind, &present));
    EI_TRY(get_name(c, "boxes-output-name", &d->boxes_output));
    EI_TRY(get_name(c, "scores-output-name", &d->scores_output));

    if (!present) {
        if (cfg->parse_bbox_func_name) {
            kind = EI_DECODER_CUSTOM;
        } else if (cfg->network_type == EI_NETWORK_TYPE_DETECTOR) {
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "%s: [%s] a detector (network-type=0) needs decoder = ssd, boxes-scores, yolox, yolov5, "
                             "yolov8 or custom (with custom-lib-path and parse-bbox-func-name)",
                             c->file, P);
        } else {
            return NULL; /* not a detector: no decoder */
        }
    }
    d->kind = (ei_decoder_kind)kind;
    if (d->kind == EI_DECODER_CUSTOM && (!cfg->parse_bbox_func_name || !cfg->custom_lib_path))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: [%s] decoder=custom needs custom-lib-path and parse-bbox-func-name", c->file, P);
    if (d->kind != EI_DECODER_CUSTOM && cfg->parse_bbox_func_name) {
        char *      v = ei_cfg_raw(c, P, "decoder");
        ei_status * st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                                   "%s: [%s] decoder = '%s' contradicts parse-bbox-func-name = '%s': a custom parser "
                                   "needs decoder=custom (or no decoder key)",
                                   c->file, P, v, cfg->parse_bbox_func_name);
        g_free(v);
        return st;
    }

    int score = EI_SCORE_NONE;
    EI_TRY(ei_cfg_get_enum(c, P, "score-function", score_names, &score, NULL));
    d->score_fn = (ei_score_fn)score;
    EI_TRY(ei_cfg_get_int(c, P, "background-class", -1, INT32_MAX, &d->background_class, &present));
    if (present && cfg->num_detected_classes > 0 && d->background_class >= cfg->num_detected_classes) {
        char *      v = ei_cfg_raw(c, P, "background-class");
        ei_status * st = ei_cfg_bad_value(c, P, "background-class", v, "not a class: num-detected-classes is %d",
                                          (int)cfg->num_detected_classes);
        g_free(v);
        return st;
    }
    EI_TRY(ei_cfg_get_bool(c, P, "boxes-normalized", &d->boxes_normalized, NULL));
    int32_t sig = d->yolo_sigmoid;
    EI_TRY(ei_cfg_get_bool(c, P, "yolo-sigmoid", &sig, NULL));
    d->yolo_sigmoid = sig;
    EI_TRY(ei_cfg_get_ints(c, P, "yolo-strides", 1, 1024, d->strides, 4, &d->n_strides, NULL));

    if (d->kind == EI_DECODER_SSD) return read_priors(c, d);
    for (int i = 0; prior_keys[i]; i++)
        if (g_key_file_has_key(c->kf, P, prior_keys[i], NULL))
            ei_cfg_warn(c, "[%s] %s is ignored: it applies to decoder=ssd only", P, prior_keys[i]);
    return NULL;
}
