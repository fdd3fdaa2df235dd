/* The names the config knows: keys read into the typed config, nvinfer keys accepted but ignored
 * (each with the reason the warning gives), and the nearest-name suggestion for typos. A key read by
 * config.c or config_decoder.c must be listed here, or it would be reported as unknown. */
#include <string.h>

#include "config/config_internal.h"

static const char * const property_keys[] = {
    /* nvinfer */
    "onnx-file", "model-engine-file", "labelfile-path", "batch-size", "network-mode", "num-detected-classes",
    "net-scale-factor", "offsets", "model-color-format", "maintain-aspect-ratio", "symmetric-padding", "scaling-filter",
    "infer-dims", "network-type", "output-blob-names", "cluster-mode", "parse-bbox-func-name", "custom-lib-path",
    "interval", "gie-unique-id", "segmentation-threshold", "network-input-order", "segmentation-output-order",
    "mean-file", "int8-calib-file",
    /* edgeinfer */
    "decoder", "score-function", "background-class", "boxes-output-name", "scores-output-name", "prior-style",
    "prior-feature-maps", "prior-steps", "prior-min-boxes", "prior-min-sizes", "prior-max-sizes", "prior-scales",
    "prior-aspect-ratios", "prior-min-ratio", "prior-max-ratio", "prior-clip", "prior-variances", "yolo-strides",
    "yolo-sigmoid", "boxes-normalized", "nms-class-agnostic", "mean", "std", "pad-value", "segmentation-upsample",
    "segmentation-sigmoid", "overall-topk", NULL};

static const char * const attrs_keys[] = {
    "pre-cluster-threshold", "post-cluster-threshold", "nms-iou-threshold", "topk",      "detected-min-w",
    "detected-min-h",        "detected-max-w",         "detected-max-h",    "threshold", NULL};

typedef ei_cfg_ignored_key ignored_key;

#define TRT       "a TensorRT setting; edgeinfer builds its own engine"
#define SECONDARY "secondary (per-object) inference is not implemented; edgeinfer infers on full frames"
#define GST       "a GStreamer element setting; the edgeinfer library has no element"
#define FORMAT    "a model format edgeinfer does not read; give onnx-file"

static const ignored_key property_ignored[] = {
    {"gpu-id", "the device is chosen when the engine is built"},
    {"process-mode", SECONDARY},
    {"secondary-reinfer-interval", SECONDARY},
    {"input-object-min-width", SECONDARY},
    {"input-object-min-height", SECONDARY},
    {"input-object-max-width", SECONDARY},
    {"input-object-max-height", SECONDARY},
    {"operate-on-gie-id", SECONDARY},
    {"operate-on-class-ids", SECONDARY},
    {"filter-out-class-ids", "class filtering is not implemented; use a high pre-cluster-threshold for the class"},
    {"output-tensor-meta", GST},
    {"tensor-meta-pool-size", GST},
    {"input-tensor-from-meta", GST},
    {"disable-output-host-copy", GST},
    {"auto-inc-mem", GST},
    {"max-gpu-mem-per", GST},
    {"dump-input-tensor", GST},
    {"dump-output-tensor", GST},
    {"scaling-compute-hw", "edgeinfer scales on the CPU"},
    {"enable-dla", "there is no DLA"},
    {"use-dla-core", "there is no DLA"},
    {"workspace-size", TRT},
    {"force-implicit-batch-dim", TRT},
    {"output-io-formats", TRT},
    {"layer-device-precision", TRT},
    {"engine-create-func-name", TRT},
    {"custom-network-config", TRT},
    {"is-classifier", "legacy; use network-type=1"},
    {"enable-dbscan", "legacy; use cluster-mode (edgeinfer implements 2 and 4)"},
    {"parse-func", "legacy built-in parser selector; use decoder"},
    {"parse-classifier-func-name", "classifier plugins are not implemented; outputs are reported raw"},
    {"parse-bbox-instance-mask-func-name", "instance segmentation is not implemented"},
    {"output-instance-mask", "instance segmentation is not implemented"},
    {"classifier-type", "classifier outputs are reported raw"},
    {"classifier-threshold", "classifier outputs are reported raw"},
    {"classifier-async-mode", "classifier outputs are reported raw"},
    {"model-file", FORMAT},
    {"proto-file", FORMAT},
    {"uff-file", FORMAT},
    {"uff-input-order", FORMAT},
    {"uff-input-dims", FORMAT},
    {"uff-input-blob-name", FORMAT},
    {"input-dims", "legacy (UFF); use infer-dims"},
    {"tlt-encoded-model", FORMAT},
    {"tlt-model-key", FORMAT},
    {NULL, NULL},
};

#define CLUSTER "used by cluster-mode 0, 1 or 3, which edgeinfer does not implement"
static const ignored_key attrs_ignored[] = {
    {"eps", CLUSTER},
    {"group-threshold", CLUSTER},
    {"minBoxes", CLUSTER},
    {"dbscan-min-score", CLUSTER},
    {"roi-top-offset", "ROI offsets are not implemented"},
    {"roi-bottom-offset", "ROI offsets are not implemented"},
    {"border-color", "drawing colours come from edgeinfer's palette"},
    {"bg-color", "drawing colours come from edgeinfer's palette"},
    {NULL, NULL},
};

int ei_cfg_edit_distance(const char * a, const char * b) {
    enum { MAXL = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXL) la = MAXL;
    if (lb > MAXL) lb = MAXL;
    int row[MAXL + 1];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char * ei_cfg_nearest(const char * name, const char * const * known, const ei_cfg_ignored_key * ignored) {
    const char * best = NULL;
    int          bestd = 1 << 30;
    for (int i = 0; known && known[i]; i++) {
        int d = ei_cfg_edit_distance(name, known[i]);
        if (d < bestd) bestd = d, best = known[i];
    }
    for (int i = 0; ignored && ignored[i].name; i++) {
        if (strchr(ignored[i].name, '*')) continue;
        int d = ei_cfg_edit_distance(name, ignored[i].name);
        if (d < bestd) bestd = d, best = ignored[i].name;
    }
    int limit = (int)strlen(name) / 3;
    return best && bestd <= (limit < 2 ? 2 : limit) ? best : NULL;
}

int ei_cfg_listed(const char * name, const char * const * known) {
    for (int i = 0; known && known[i]; i++)
        if (!strcmp(name, known[i])) return 1;
    return 0;
}

static void check_keys(ei_cfg_ctx * c, const char * group, const char * const * known, const ignored_key * ignored) {
    gsize   n = 0;
    char ** keys = g_key_file_get_keys(c->kf, group, &n, NULL);
    for (gsize k = 0; keys && k < n; k++) {
        const char * key = keys[k];
        if (ei_cfg_listed(key, known)) continue;
        const ignored_key * ig = ignored;
        while (ig->name && strcmp(ig->name, key)) ig++;
        if (ig->name) {
            ei_cfg_warn(c, "[%s] %s is ignored: %s", group, key, ig->why);
            continue;
        }
        const char * near = ei_cfg_nearest(key, known, ignored);
        if (near)
            ei_cfg_warn(c, "[%s] unknown key '%s'; did you mean '%s'?", group, key, near);
        else
            ei_cfg_warn(c, "[%s] unknown key '%s'", group, key);
    }
    g_strfreev(keys);
}

void ei_cfg_check_names(ei_cfg_ctx * c) {
    static const char * const groups[] = {EI_CFG_PROPERTY, EI_CFG_ATTRS_ALL, NULL};
    gsize                     n = 0;
    char **                   names = g_key_file_get_groups(c->kf, &n);
    for (gsize g = 0; g < n; g++) {
        const char * name = names[g];
        if (!strcmp(name, EI_CFG_PROPERTY)) {
            check_keys(c, name, property_keys, property_ignored);
        } else if (g_str_has_prefix(name, EI_CFG_ATTRS_PREFIX)) {
            /* [class-attrs-all] and [class-attrs-<N>]; a malformed N is config.c's error. */
            check_keys(c, name, attrs_keys, attrs_ignored);
        } else {
            /* "class-atrs-3" -> [class-attrs-3]: compare what precedes a trailing number with the prefix. */
            size_t len = strlen(name), digits = 0;
            while (digits < len && g_ascii_isdigit(name[len - 1 - digits])) digits++;
            char * stem = g_strndup(name, len - digits);
            if (digits && digits < len && ei_cfg_edit_distance(stem, EI_CFG_ATTRS_PREFIX) <= 2) {
                ei_cfg_warn(c, "unknown group [%s] ignored; did you mean [%s%s]?", name, EI_CFG_ATTRS_PREFIX,
                            name + len - digits);
                g_free(stem);
                continue;
            }
            g_free(stem);
            const char * near = ei_cfg_nearest(name, groups, NULL);
            if (near)
                ei_cfg_warn(c, "unknown group [%s] ignored; did you mean [%s]?", name, near);
            else
                ei_cfg_warn(c,
                            "unknown group [%s] ignored (edgeinfer reads [property], [class-attrs-all] and "
                            "[class-attrs-N])",
                            name);
        }
    }
    g_strfreev(names);
}
