/* Typed values out of GKeyFile strings. GKeyFile's own getters report "Value 'x' cannot be
 * interpreted as a number" without the key or file and accept locale-dependent input, so every value
 * is read raw and parsed here with the C-locale GLib parsers. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "config/config_internal.h"

void ei_cfg_warn(ei_cfg_ctx * c, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char * body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(c->warnings, g_strdup_printf("%s: %s", c->file, body));
    g_free(body);
}

ei_status * ei_cfg_bad_value(ei_cfg_ctx * c, const char * group, const char * key, const char * value, const char * fmt,
                             ...) {
    va_list ap;
    va_start(ap, fmt);
    char * why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ei_status * st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] %s = '%s': %s", c->file, group, key, value, why);
    g_free(why);
    return st;
}

char * ei_cfg_raw(ei_cfg_ctx * c, const char * group, const char * key) {
    char * v = g_key_file_get_value(c->kf, group, key, NULL);
    return v ? g_strstrip(v) : NULL;
}

static void set_present(int * present, int v) {
    if (present) *present = v;
}

int ei_cfg_parse_float(const char * s, float * out) {
    char * end = NULL;
    if (!s[0]) return -1;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v) || fabs(v) > 3.4e38) return -1;
    *out = (float)v;
    return 0;
}

int ei_cfg_parse_int(const char * s, int32_t lo, int32_t hi, int32_t * out) {
    char * end = NULL;
    if (!s[0]) return -1;
    errno = 0;
    gint64 v = g_ascii_strtoll(s, &end, 10);
    if (*end || errno == ERANGE) return -1;
    if (v < lo || v > hi) return 1;
    *out = (int32_t)v;
    return 0;
}

char ** ei_cfg_split(const char * value, const char * sep, int32_t * n) {
    char ** parts = g_strsplit(value, sep, -1);
    int32_t k = 0;
    while (parts[k]) g_strstrip(parts[k++]);
    if (k > 0 && !parts[k - 1][0]) { /* "1;2;" as GKeyFile writes lists */
        g_free(parts[k - 1]);
        parts[--k] = NULL;
    }
    *n = k;
    return parts;
}

ei_status * ei_cfg_get_string(ei_cfg_ctx * c, const char * group, const char * key, char ** out, int * present) {
    char * v = ei_cfg_raw(c, group, key);
    set_present(present, v != NULL);
    if (!v) return NULL;
    if (!v[0]) {
        ei_status * st = ei_cfg_bad_value(c, group, key, v, "empty");
        g_free(v);
        return st;
    }
    g_free(*out);
    *out = v;
    return NULL;
}

ei_status * ei_cfg_get_int(ei_cfg_ctx * c, const char * group, const char * key, int32_t lo, int32_t hi, int32_t * out,
                           int * present) {
    char * v = ei_cfg_raw(c, group, key);
    set_present(present, v != NULL);
    if (!v) return NULL;
    ei_status * st = NULL;
    int         r = ei_cfg_parse_int(v, lo, hi, out);
    if (r < 0) st = ei_cfg_bad_value(c, group, key, v, "not an integer");
    if (r > 0) st = ei_cfg_bad_value(c, group, key, v, "out of range [%d, %d]", (int)lo, (int)hi);
    g_free(v);
    return st;
}

ei_status * ei_cfg_get_float(ei_cfg_ctx * c, const char * group, const char * key, float * out, int * present) {
    char * v = ei_cfg_raw(c, group, key);
    set_present(present, v != NULL);
    if (!v) return NULL;
    ei_status * st = NULL;
    if (ei_cfg_parse_float(v, out)) st = ei_cfg_bad_value(c, group, key, v, "not a number");
    g_free(v);
    return st;
}

ei_status * ei_cfg_get_bool(ei_cfg_ctx * c, const char * group, const char * key, int32_t * out, int * present) {
    char * v = ei_cfg_raw(c, group, key);
    set_present(present, v != NULL);
    if (!v) return NULL;
    ei_status * st = NULL;
    if (!strcmp(v, "1") || !g_ascii_strcasecmp(v, "true"))
        *out = 1;
    else if (!strcmp(v, "0") || !g_ascii_strcasecmp(v, "false"))
        *out = 0;
    else
        st = ei_cfg_bad_value(c, group, key, v, "not a boolean (0, 1, true or false)");
    g_free(v);
    return st;
}

ei_status * ei_cfg_get_enum(ei_cfg_ctx * c, const char * group, const char * key, const ei_cfg_enum * table, int * out,
                            int * present) {
    char * v = ei_cfg_raw(c, group, key);
    set_present(present, v != NULL);
    if (!v) return NULL;
    int32_t num = 0;
    int     isnum = ei_cfg_parse_int(v, INT32_MIN, INT32_MAX, &num) == 0;
    for (const ei_cfg_enum * e = table; e->name; e++) {
        if (isnum ? num == e->value : !g_ascii_strcasecmp(v, e->name)) {
            *out = e->value;
            g_free(v);
            return NULL;
        }
    }
    GString * list = g_string_new(NULL);
    for (const ei_cfg_enum * e = table; e->name; e++)
        g_string_append_printf(list, "%s%d (%s)", e == table ? "" : ", ", e->value, e->name);
    ei_status * st = ei_cfg_bad_value(c, group, key, v, "expected one of %s", list->str);
    g_string_free(list, TRUE);
    g_free(v);
    return st;
}

ei_status * ei_cfg_get_floats(ei_cfg_ctx * c, const char * group, const char * key, float * out, int32_t max,
                              int32_t * n, int * present) {
    char * v = ei_cfg_raw(c, group, key);
    set_present(present, v != NULL);
    if (!v) return NULL;
    int32_t     k = 0;
    char **     parts = ei_cfg_split(v, ";", &k);
    ei_status * st = NULL;
    if (k == 0) st = ei_cfg_bad_value(c, group, key, v, "empty list");
    if (!st && k > max) st = ei_cfg_bad_value(c, group, key, v, "%d values, at most %d allowed", (int)k, (int)max);
    for (int32_t i = 0; !st && i < k; i++)
        if (ei_cfg_parse_float(parts[i], &out[i]))
            st = ei_cfg_bad_value(c, group, key, v, "item %d ('%s') is not a number", (int)i + 1, parts[i]);
    if (!st) *n = k;
    g_strfreev(parts);
    g_free(v);
    return st;
}

ei_status * ei_cfg_get_ints(ei_cfg_ctx * c, const char * group, const char * key, int32_t lo, int32_t hi, int32_t * out,
                            int32_t max, int32_t * n, int * present) {
    char * v = ei_cfg_raw(c, group, key);
    set_present(present, v != NULL);
    if (!v) return NULL;
    int32_t     k = 0;
    char **     parts = ei_cfg_split(v, ";", &k);
    ei_status * st = NULL;
    if (k == 0) st = ei_cfg_bad_value(c, group, key, v, "empty list");
    if (!st && k > max) st = ei_cfg_bad_value(c, group, key, v, "%d values, at most %d allowed", (int)k, (int)max);
    for (int32_t i = 0; !st && i < k; i++) {
        int r = ei_cfg_parse_int(parts[i], lo, hi, &out[i]);
        if (r < 0) st = ei_cfg_bad_value(c, group, key, v, "item %d ('%s') is not an integer", (int)i + 1, parts[i]);
        if (r > 0)
            st = ei_cfg_bad_value(c, group, key, v, "item %d (%s) out of range [%d, %d]", (int)i + 1, parts[i], (int)lo,
                                  (int)hi);
    }
    if (!st) *n = k;
    g_strfreev(parts);
    g_free(v);
    return st;
}
