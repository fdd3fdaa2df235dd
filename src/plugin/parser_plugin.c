/* The host side of parser plugins: dlopen, ABI check, one call per batch item with a
 * caller-allocated detection buffer that grows on EI_PARSER_NEED_CAPACITY, and validation of what
 * the plugin wrote before anything reaches the caller. */
#include "edgeinfer/parser.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"

#define EI_PARSER_FIRST_CAPACITY 256
#define EI_PARSER_MAX_CAPACITY   (1 << 22) /* more boxes than this from one frame is a plugin bug */
#define EI_PARSER_MAX_RETRIES    4

struct ei_parser_plugin {
    void *       handle;
    ei_parser_fn fn;
    char *       lib_path;
    char *       func_name;
    int32_t      net_c;
};

static char * dup_str(const char * s) {
    size_t n = strlen(s) + 1;
    char * d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void ei_parser_plugin_destroy(ei_parser_plugin * plugin) {
    if (!plugin) return;
    if (plugin->handle) dlclose(plugin->handle);
    free(plugin->lib_path);
    free(plugin->func_name);
    free(plugin);
}

void ei_parser_plugin_set_channels(ei_parser_plugin * plugin, int32_t net_c) {
    if (plugin) plugin->net_c = net_c;
}

/* dlsym returns void *; converting it to a function pointer is what POSIX requires to work. */
static void * find_symbol(void * handle, const char * name) {
    dlerror();
    return dlsym(handle, name);
}

ei_status * ei_parser_plugin_load(const char * lib_path, const char * func_name, ei_parser_plugin ** out) {
    *out = NULL;
    if (!lib_path || !lib_path[0])
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "parser plugin: no library given (custom-lib-path is empty)");
    if (!func_name || !func_name[0])
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "parser plugin %s: no function given (parse-bbox-func-name is empty)", lib_path);
    struct stat sb;
    if (stat(lib_path, &sb) != 0)
        return ei_errorf(errno == ENOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO, "parser plugin %s: cannot open: %s",
                         lib_path, strerror(errno));
    void * handle = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char * why = dlerror();
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "parser plugin %s: cannot load the library: %s", lib_path,
                         why ? why : "unknown dlopen error");
    }
    ei_status * st = NULL;
    void *      sym = find_symbol(handle, EI_PARSER_ABI_SYMBOL);
    if (!sym) {
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                       "parser plugin %s: the library does not export %s(); is it an edgeinfer parser plugin "
                       "(see include/edgeinfer/parser.h)?",
                       lib_path, EI_PARSER_ABI_SYMBOL);
        goto fail;
    }
    ei_parser_abi_version_fn version_fn;
    memcpy(&version_fn, &sym, sizeof version_fn);
    uint32_t version = version_fn();
    if (version != EI_PARSER_ABI_VERSION) {
        st = ei_errorf(EI_CODE_UNSUPPORTED,
                       "parser plugin %s: built for parser ABI version %u, but this edgeinfer speaks version %u; "
                       "rebuild the plugin against this edgeinfer's include/edgeinfer/parser.h",
                       lib_path, version, EI_PARSER_ABI_VERSION);
        goto fail;
    }
    sym = find_symbol(handle, func_name);
    if (!sym) {
        st = ei_errorf(EI_CODE_NOT_FOUND,
                       "parser plugin %s: no function '%s' (parse-bbox-func-name) in the library; is it exported "
                       "with C linkage and default visibility?",
                       lib_path, func_name);
        goto fail;
    }
    ei_parser_plugin * p = calloc(1, sizeof *p);
    if (!p) {
        st = ei_status_oom();
        goto fail;
    }
    p->handle = handle;
    memcpy(&p->fn, &sym, sizeof p->fn);
    p->lib_path = dup_str(lib_path);
    p->func_name = dup_str(func_name);
    p->net_c = 3;
    if (!p->lib_path || !p->func_name) {
        ei_parser_plugin_destroy(p);
        return ei_status_oom();
    }
    *out = p;
    return NULL;
fail:
    dlclose(handle);
    return st;
}

/* Fills one layer view per output, sliced to batch item `batch`. */
static ei_status * make_layers(const ei_parser_plugin * p, const ei_tensor * const * outputs,
                               const char * const * names, int32_t n, int32_t batch, ei_parser_layer * layers) {
    for (int32_t i = 0; i < n; i++) {
        const ei_tensor * t = outputs[i];
        const char *      name = names && names[i] ? names[i] : "";
        if (!t)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "parser plugin %s (%s): output %d ('%s') is NULL", p->lib_path,
                             p->func_name, (int)i, name);
        const ei_shape * s = ei_tensor_shape(t);
        char             buf[128];
        if (ei_tensor_dtype(t) != EI_DTYPE_F32)
            return ei_errorf(EI_CODE_UNSUPPORTED,
                             "parser plugin %s (%s): output '%s' is %s; parser plugins receive float32 layers only",
                             p->lib_path, p->func_name, name, ei_dtype_name(ei_tensor_dtype(t)));
        const float *     data = ei_tensor_data_const(t);
        ei_parser_layer * l = &layers[i];
        memset(l, 0, sizeof *l);
        l->size = sizeof *l;
        l->dtype = EI_PARSER_DTYPE_FLOAT32;
        l->name = name;
        l->rank = s->rank;
        for (int32_t d = 0; d < s->rank; d++) l->dims[d] = s->dim[d];
        if (s->rank >= 1) {
            if (batch >= s->dim[0])
                return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                                 "parser plugin %s (%s): batch item %d requested but output '%s' has shape %s",
                                 p->lib_path, p->func_name, (int)batch, name, ei_shape_format(s, buf, sizeof buf));
            int64_t per_item = ei_shape_numel(s) / s->dim[0];
            data += (size_t)per_item * (size_t)batch;
            l->dims[0] = 1;
        } else if (batch != 0) {
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "parser plugin %s (%s): batch item %d requested but output '%s' is a scalar", p->lib_path,
                             p->func_name, (int)batch, name);
        }
        l->data = data;
    }
    return NULL;
}

/* The checks of the header's contract, on what the plugin wrote. */
static ei_status * check_detections(const ei_parser_plugin * p, const ei_detection * d, int32_t count,
                                    int32_t n_classes) {
    for (int32_t i = 0; i < count; i++) {
        const ei_detection * b = &d[i];
        if (!isfinite(b->x1) || !isfinite(b->y1) || !isfinite(b->x2) || !isfinite(b->y2) || !isfinite(b->score))
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "parser plugin %s (%s): detection %d has a non-finite value (box %g,%g,%g,%g score %g)",
                             p->lib_path, p->func_name, (int)i, (double)b->x1, (double)b->y1, (double)b->x2,
                             (double)b->y2, (double)b->score);
        if (b->x2 < b->x1 || b->y2 < b->y1)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "parser plugin %s (%s): detection %d has x2 < x1 or y2 < y1 (box %g,%g,%g,%g); boxes "
                             "are corners (x1, y1, x2, y2)",
                             p->lib_path, p->func_name, (int)i, (double)b->x1, (double)b->y1, (double)b->x2,
                             (double)b->y2);
        if (b->class_id < 0 || b->class_id >= n_classes)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "parser plugin %s (%s): detection %d has class id %d, outside 0..%d (num-detected-classes "
                             "is %d)",
                             p->lib_path, p->func_name, (int)i, (int)b->class_id, (int)n_classes - 1, (int)n_classes);
    }
    return NULL;
}

/* Appends the boxes that reach their class's threshold, growing out by doubling. The growth is
 * done here rather than through ei_detections_reserve so that this file stands on its own. */
static ei_status * append_kept(ei_detections * out, const ei_detection * d, int32_t count,
                               const ei_class_attrs * attrs) {
    for (int32_t i = 0; i < count; i++) {
        if (d[i].score < attrs[d[i].class_id].pre_cluster_threshold) continue;
        if (out->count == out->capacity) {
            if (out->capacity > INT32_MAX / 2) return ei_status_oom();
            int32_t        ncap = out->capacity ? out->capacity * 2 : 64;
            ei_detection * items = realloc(out->items, (size_t)ncap * sizeof *items);
            if (!items) return ei_status_oom();
            out->items = items;
            out->capacity = ncap;
        }
        out->items[out->count++] = d[i];
    }
    return NULL;
}

ei_status * ei_parser_plugin_run(ei_parser_plugin * plugin, const ei_tensor * const * outputs,
                                 const char * const * output_names, int32_t n_outputs, int32_t batch, int32_t net_w,
                                 int32_t net_h, const ei_class_attrs * attrs, int32_t n_classes, ei_detections * out) {
    if (!plugin || !out || (n_outputs > 0 && !outputs) || n_outputs < 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "parser plugin: NULL plugin, outputs or result list");
    if (n_classes <= 0 || !attrs)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "parser plugin %s (%s): %d classes (num-detected-classes must be > 0)", plugin->lib_path,
                         plugin->func_name, (int)n_classes);
    if (batch < 0 || net_w <= 0 || net_h <= 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "parser plugin %s (%s): bad batch item %d or network size %dx%d",
                         plugin->lib_path, plugin->func_name, (int)batch, (int)net_w, (int)net_h);
    ei_parser_layer * layers = calloc(n_outputs ? (size_t)n_outputs : 1, sizeof *layers);
    float *           thresholds = malloc((size_t)n_classes * sizeof *thresholds);
    ei_parser_output  res;
    memset(&res, 0, sizeof res);
    ei_detection * buf = NULL; /* ours: res.detections is what the plugin saw and could overwrite */
    ei_status *    st = NULL;
    if (!layers || !thresholds) {
        st = ei_status_oom();
        goto done;
    }
    st = make_layers(plugin, outputs, output_names, n_outputs, batch, layers);
    if (st) goto done;
    for (int32_t c = 0; c < n_classes; c++) thresholds[c] = attrs[c].pre_cluster_threshold;
    ei_parser_input in = {
        .size = sizeof in,
        .abi_version = EI_PARSER_ABI_VERSION,
        .layers = layers,
        .n_layers = n_outputs,
        .net_w = net_w,
        .net_h = net_h,
        .net_c = plugin->net_c,
        .n_classes = n_classes,
        .pre_cluster_thresholds = thresholds,
        .batch = batch,
    };
    int32_t capacity = EI_PARSER_FIRST_CAPACITY;
    for (int attempt = 0;; attempt++) {
        free(buf);
        buf = calloc((size_t)capacity, sizeof *buf);
        memset(&res, 0, sizeof res);
        res.size = sizeof res;
        res.capacity = capacity;
        res.detections = buf;
        if (!buf) {
            st = ei_status_oom();
            goto done;
        }
        int rc = plugin->fn(&in, &res);
        res.error[EI_PARSER_ERROR_SIZE - 1] = '\0'; /* a plugin may forget the terminator */
        if (rc == EI_PARSER_OK) break;
        if (rc != EI_PARSER_NEED_CAPACITY) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "parser plugin %s (%s) failed (returned %d)%s%s", plugin->lib_path,
                           plugin->func_name, rc, res.error[0] ? ": " : "", res.error);
            goto done;
        }
        if (res.count <= capacity || res.count > EI_PARSER_MAX_CAPACITY || attempt + 1 >= EI_PARSER_MAX_RETRIES) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                           "parser plugin %s (%s) asked for room for %d detections (capacity was %d, attempt %d); "
                           "EI_PARSER_NEED_CAPACITY needs a count above the capacity and at most %d, and the same "
                           "count on a repeated call",
                           plugin->lib_path, plugin->func_name, (int)res.count, (int)capacity, attempt + 1,
                           EI_PARSER_MAX_CAPACITY);
            goto done;
        }
        capacity = res.count;
    }
    if (res.count < 0 || res.count > capacity) {
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                       "parser plugin %s (%s) reported %d detections but the buffer holds %d; a plugin that needs more "
                       "room returns EI_PARSER_NEED_CAPACITY",
                       plugin->lib_path, plugin->func_name, (int)res.count, (int)capacity);
        goto done;
    }
    if (res.size != sizeof res || res.detections != buf || res.capacity != capacity) {
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                       "parser plugin %s (%s) changed the output's size, detections or capacity fields, which belong "
                       "to the host",
                       plugin->lib_path, plugin->func_name);
        goto done;
    }
    st = check_detections(plugin, buf, res.count, n_classes);
    if (!st) st = append_kept(out, buf, res.count, attrs);
done:
    free(layers);
    free(thresholds);
    free(buf);
    return st;
}
