/* The INT8 calibration table and its text file (include/edgeinfer/calib.h). Tables hold a few
 * hundred tensors, looked up once per node when an engine is built: a linear search is enough. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_atomic.h"
#include "core/status.h"
#include "edgeinfer/calib.h"

typedef struct calib_entry {
    char *  name;
    float   scale;
    bool    is_unsigned;
    int32_t channels; /* > 0: per-channel means recorded (bias correction) */
    float * mean;     /* channels float means, then channels means of the quantised values */
} calib_entry;

struct ei_calib_table {
    calib_entry *   e;
    int32_t         n, cap;
    uint8_t         sha[32];
    bool            has_sha;
    ei_calib_method method;
    int32_t         images;
    char *          note; /* saved as comment lines; NULL: none */
};

static const char * const g_methods[] = {"entropy", "percentile", "minmax"};

const char * ei_calib_method_name(ei_calib_method m) {
    return (unsigned)m < sizeof g_methods / sizeof g_methods[0] ? g_methods[m] : "?";
}

bool ei_calib_method_parse(const char * name, ei_calib_method * out) {
    for (int32_t i = 0; name && i < (int32_t)(sizeof g_methods / sizeof g_methods[0]); i++)
        if (!strcasecmp(name, g_methods[i])) {
            *out = (ei_calib_method)i;
            return true;
        }
    return false;
}

ei_status * ei_calib_table_create(ei_calib_table ** out) {
    *out = calloc(1, sizeof **out);
    return *out ? NULL : ei_status_oom();
}

void ei_calib_table_destroy(ei_calib_table * t) {
    if (!t) return;
    for (int32_t i = 0; i < t->n; i++) free(t->e[i].name), free(t->e[i].mean);
    free(t->e);
    free(t->note);
    free(t);
}

bool ei_calib_table_remove(ei_calib_table * t, const char * tensor) {
    for (int32_t i = 0; t && tensor && i < t->n; i++)
        if (!strcmp(t->e[i].name, tensor)) {
            free(t->e[i].name);
            free(t->e[i].mean);
            memmove(&t->e[i], &t->e[i + 1], (size_t)(t->n - i - 1) * sizeof *t->e);
            t->n--;
            return true;
        }
    return false;
}

ei_status * ei_calib_table_set_note(ei_calib_table * t, const char * text) {
    char * copy = NULL;
    if (text && *text) {
        copy = strdup(text);
        if (!copy) return ei_status_oom();
        for (char * c = copy; *c; c++)
            if (*c == '\t' || *c == '\r') *c = ' '; /* a '#' line with a tab would load as a tensor */
    }
    free(t->note);
    t->note = copy;
    return NULL;
}

const char * ei_calib_table_note(const ei_calib_table * t) { return t ? t->note : NULL; }

static calib_entry * find(const ei_calib_table * t, const char * name) {
    for (int32_t i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].name, name)) return &t->e[i];
    return NULL;
}

ei_status * ei_calib_table_set(ei_calib_table * t, const char * tensor, float scale, bool is_unsigned) {
    if (!tensor || !tensor[0]) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "calibration table: empty tensor name");
    if (strpbrk(tensor, "\t\r\n"))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "calibration table: tensor name '%s' contains a tab or line break, which the file "
                         "format cannot hold",
                         tensor);
    if (!isfinite(scale) || scale <= 0.0f)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "calibration table: tensor '%s': scale %g must be finite and > 0",
                         tensor, (double)scale);
    calib_entry * e = find(t, tensor);
    if (!e) {
        if (t->n == t->cap) {
            int32_t       cap = t->cap ? t->cap * 2 : 64;
            calib_entry * p = realloc(t->e, (size_t)cap * sizeof *p);
            if (!p) return ei_status_oom();
            t->e = p, t->cap = cap;
        }
        char * name = strdup(tensor);
        if (!name) return ei_status_oom();
        e = &t->e[t->n++];
        memset(e, 0, sizeof *e);
        e->name = name;
    } else if (e->scale != scale || e->is_unsigned != is_unsigned) {
        free(e->mean); /* the means of the quantised values were for the old scale */
        e->mean = NULL;
        e->channels = 0;
    }
    e->scale = scale;
    e->is_unsigned = is_unsigned;
    return NULL;
}

bool ei_calib_table_get(const ei_calib_table * t, const char * tensor, float * scale, bool * is_unsigned) {
    const calib_entry * e = t && tensor ? find(t, tensor) : NULL;
    if (!e) return false;
    if (scale) *scale = e->scale;
    if (is_unsigned) *is_unsigned = e->is_unsigned;
    return true;
}

ei_status * ei_calib_table_set_means(ei_calib_table * t, const char * tensor, int32_t channels, const float * mean,
                                     const float * mean_q) {
    calib_entry * e = t && tensor ? find(t, tensor) : NULL;
    if (!e)
        return ei_errorf(EI_CODE_NOT_FOUND, "calibration table: no tensor '%s' to record means for",
                         tensor ? tensor : "(null)");
    if (channels < 0 || (channels > 0 && (!mean || !mean_q)))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "calibration table: tensor '%s': %d channel means", tensor,
                         channels);
    for (int32_t c = 0; c < channels; c++)
        if (!isfinite(mean[c]) || !isfinite(mean_q[c]))
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "calibration table: tensor '%s': mean of channel %d is not finite", tensor, c);
    float * m = NULL;
    if (channels > 0) {
        m = malloc(2 * (size_t)channels * sizeof *m);
        if (!m) return ei_status_oom();
        memcpy(m, mean, (size_t)channels * sizeof *m);
        memcpy(m + channels, mean_q, (size_t)channels * sizeof *m);
        for (int32_t k = 0; k < 2 * channels; k++)
            if (fabsf(m[k]) < FLT_MIN) m[k] = 0.0f; /* subnormals: strtof refuses them (ERANGE) on reload */
    }
    free(e->mean);
    e->mean = m;
    e->channels = channels;
    return NULL;
}

int32_t ei_calib_table_means(const ei_calib_table * t, const char * tensor, const float ** mean,
                             const float ** mean_q) {
    const calib_entry * e = t && tensor ? find(t, tensor) : NULL;
    if (!e || e->channels <= 0) return 0;
    if (mean) *mean = e->mean;
    if (mean_q) *mean_q = e->mean + e->channels;
    return e->channels;
}

int32_t ei_calib_table_count(const ei_calib_table * t) { return t ? t->n : 0; }

const char * ei_calib_table_name(const ei_calib_table * t, int32_t i) {
    return t && i >= 0 && i < t->n ? t->e[i].name : NULL;
}

void ei_calib_table_set_source(ei_calib_table * t, const uint8_t model_sha256[32], ei_calib_method method,
                               int32_t images) {
    t->has_sha = model_sha256 != NULL;
    if (model_sha256) memcpy(t->sha, model_sha256, 32);
    t->method = method;
    t->images = images;
}

bool ei_calib_table_model_sha256(const ei_calib_table * t, uint8_t out[32]) {
    if (t->has_sha) memcpy(out, t->sha, 32);
    return t->has_sha;
}

ei_calib_method ei_calib_table_method(const ei_calib_table * t) { return t->method; }
int32_t         ei_calib_table_images(const ei_calib_table * t) { return t->images; }

static void hex(const uint8_t sha[32], char out[65]) {
    for (int32_t i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", sha[i]);
}

static ei_status * write_table(FILE * f, void * user) {
    const ei_calib_table * t = user;
    fprintf(f, "# edgeinfer INT8 calibration cache: one tensor per line, NAME<TAB>SCALE<TAB>signed|unsigned.\n"
               "# SCALE = clipping threshold / 127; 'unsigned' tensors are never negative. Edit freely;\n"
               "# tensors without a line stay in float.\n");
    for (const char * p = t->note; p && *p;) {
        const char * end = strchr(p, '\n');
        int          len = end ? (int)(end - p) : (int)strlen(p);
        fprintf(f, "# %.*s\n", len, p);
        p = end ? end + 1 : p + len;
    }
    bool means = false;
    for (int32_t i = 0; i < t->n; i++) means |= t->e[i].channels > 0;
    fprintf(f, "format: %d\n", means ? EI_CALIB_FORMAT_MEANS : EI_CALIB_FORMAT_VERSION);
    if (t->has_sha) {
        char h[65];
        hex(t->sha, h);
        fprintf(f, "model-sha256: %s\n", h);
    }
    fprintf(f, "method: %s\nimages: %d\n", ei_calib_method_name(t->method), t->images);
    for (int32_t i = 0; i < t->n; i++) {
        const calib_entry * e = &t->e[i];
        fprintf(f, "%s\t%.9g\t%s", e->name, (double)e->scale, e->is_unsigned ? "unsigned" : "signed");
        for (int32_t k = 0; k < 2 * e->channels; k++)
            fprintf(f, "%s%.9g", k == 0 ? "\tmean:" : k == e->channels ? "\tmean-q:" : ",", (double)e->mean[k]);
        fputc('\n', f);
    }
    return NULL;
}

ei_status * ei_calib_table_save(const ei_calib_table * t, const char * path) {
    return ei_file_write_atomic(path, write_table, (void *)t);
}

static bool parse_hex(const char * s, uint8_t out[32]) {
    if (strlen(s) != 64) return false;
    for (int32_t i = 0; i < 32; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

/* "v0,v1,..." after prefix into out (at most cap values); the count, or -1 when malformed. */
static int32_t parse_floats(const char * s, const char * prefix, float * out, int32_t cap) {
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl)) return -1;
    s += pl;
    int32_t n = 0;
    while (n < cap) {
        char * end;
        errno = 0;
        float v = strtof(s, &end);
        if (end == s || errno || !isfinite(v)) return -1;
        out[n++] = v;
        if (*end == '\0') return n;
        if (*end != ',') return -1;
        s = end + 1;
    }
    return -1;
}

/* The optional fields after a tensor's sign: "mean:m0,m1,...<TAB>mean-q:q0,q1,..." (format 2). */
static ei_status * parse_means(ei_calib_table * t, const char * name, char * field) {
    char * tab = strchr(field, '\t');
    if (!tab)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "tensor '%s': after the sign, expected 'mean:M0,M1,...<TAB>mean-q:Q0,Q1,...'", name);
    *tab = '\0';
    int32_t cap = 1;
    for (const char * p = field; *p; p++) cap += *p == ',';
    float * m = malloc(2 * (size_t)cap * sizeof *m);
    if (!m) return ei_status_oom();
    int32_t     n = parse_floats(field, "mean:", m, cap);
    int32_t     nq = n > 0 ? parse_floats(tab + 1, "mean-q:", m + cap, cap) : -1;
    ei_status * st = n <= 0 || nq != n ? ei_errorf(EI_CODE_INVALID_ARGUMENT,
                                                   "tensor '%s': the channel means are not 'mean:M0,M1,...<TAB>"
                                                   "mean-q:Q0,Q1,...' with as many finite numbers in each",
                                                   name)
                                       : ei_calib_table_set_means(t, name, n, m, m + cap);
    free(m);
    return st;
}

/* One line (without its newline) of the file; trailing spaces were removed. */
static ei_status * parse_line(ei_calib_table * t, char * line, bool * saw_format) {
    /* A '#' line is a comment unless it has a tab: ONNX tensor names may start with '#'. */
    if (!line[0] || (line[0] == '#' && !strchr(line, '\t'))) return NULL;
    char * tab = strchr(line, '\t');
    if (!tab) {
        char * colon = strchr(line, ':');
        if (!colon)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "expected 'NAME<TAB>SCALE<TAB>signed|unsigned' or "
                             "'key: value', got '%.80s'",
                             line);
        *colon = '\0';
        const char * v = colon + 1;
        while (*v == ' ') v++;
        if (!strcmp(line, "format")) {
            if (strcmp(v, "1") && strcmp(v, "2"))
                return ei_errorf(EI_CODE_UNSUPPORTED, "format %s: this edgeinfer reads formats %d and %d (recalibrate)",
                                 v, EI_CALIB_FORMAT_VERSION, EI_CALIB_FORMAT_MEANS);
            *saw_format = true;
        } else if (!strcmp(line, "model-sha256")) {
            if (!parse_hex(v, t->sha))
                return ei_errorf(EI_CODE_INVALID_ARGUMENT, "model-sha256 '%s' is not 64 hex digits", v);
            t->has_sha = true;
        } else if (!strcmp(line, "method")) {
            if (!ei_calib_method_parse(v, &t->method))
                return ei_errorf(EI_CODE_INVALID_ARGUMENT, "method '%s': expected entropy, percentile or minmax", v);
        } else if (!strcmp(line, "images")) {
            char * end;
            long   n = strtol(v, &end, 10);
            if (end == v || *end || n < 0 || n > INT32_MAX)
                return ei_errorf(EI_CODE_INVALID_ARGUMENT, "images '%s' is not a count", v);
            t->images = (int32_t)n;
        } else
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "unknown key '%s' (known: format, model-sha256, method, images; tensor lines separate "
                             "their fields with tabs)",
                             line);
        return NULL;
    }
    *tab = '\0';
    char * scale_s = tab + 1;
    char * tab2 = strchr(scale_s, '\t');
    if (!tab2)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "tensor '%s': expected NAME<TAB>SCALE<TAB>signed|unsigned", line);
    *tab2 = '\0';
    char * range = tab2 + 1;
    char * means = strchr(range, '\t');
    if (means) *means++ = '\0';
    char * end;
    errno = 0;
    float scale = strtof(scale_s, &end);
    if (end == scale_s || *end || errno)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "tensor '%s': scale '%s' is not a number", line, scale_s);
    bool is_unsigned;
    if (!strcmp(range, "unsigned"))
        is_unsigned = true;
    else if (!strcmp(range, "signed"))
        is_unsigned = false;
    else
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "tensor '%s': range '%s' must be 'signed' or 'unsigned'", line,
                         range);
    if (find(t, line)) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "tensor '%s' is listed twice", line);
    EI_TRY(ei_calib_table_set(t, line, scale, is_unsigned));
    return means ? parse_means(t, line, means) : NULL;
}

ei_status * ei_calib_table_load(const char * path, ei_calib_table ** out) {
    *out = NULL;
    FILE * f = fopen(path, "r");
    if (!f)
        return ei_errorf(errno == ENOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO, "calibration cache '%s': %s", path,
                         strerror(errno));
    ei_calib_table * t = NULL;
    ei_status *      st = ei_calib_table_create(&t);
    char *           line = NULL;
    size_t           cap = 0;
    ssize_t          len;
    int32_t          lineno = 0;
    bool             saw_format = false;
    while (!st && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)len != strlen(line)) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "calibration cache '%s', line %d: contains a NUL byte", path,
                           lineno);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = '\0';
        st = parse_line(t, line, &saw_format);
        if (st) st = ei_status_wrapf(st, "calibration cache '%s', line %d", path, lineno);
    }
    if (!st && ferror(f)) st = ei_errorf(EI_CODE_IO, "calibration cache '%s': read failed", path);
    if (!st && !saw_format)
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                       "calibration cache '%s': no 'format: %d' line: not an edgeinfer calibration cache", path,
                       EI_CALIB_FORMAT_VERSION);
    if (!st && t->n == 0) st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "calibration cache '%s' lists no tensor", path);
    free(line);
    fclose(f);
    if (st) {
        ei_calib_table_destroy(t);
        return st;
    }
    *out = t;
    return NULL;
}

ei_status * ei_calib_table_check_model(const ei_calib_table * t, const uint8_t model_sha256[32], const char * path) {
    if (!t->has_sha || !memcmp(t->sha, model_sha256, 32)) return NULL;
    char a[65], b[65];
    hex(t->sha, a);
    hex(model_sha256, b);
    return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                     "calibration cache '%s' was made for another model (sha256 %.12s..., this one is %.12s...): "
                     "recalibrate with --calib-images, or give this model's cache",
                     path ? path : "(table)", a, b);
}
