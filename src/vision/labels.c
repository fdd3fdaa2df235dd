/* Class names from a label file or a Hugging Face config.json. One allocation holds all names
 * (NUL-terminated, back to back) and another the pointers into it. */
#include "edgeinfer/labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "vision/json.h"

#define EI_LABELS_MAX_BYTES ((size_t)16 << 20)
#define EI_LABELS_MAX_COUNT (1 << 20)

struct ei_labels {
    int32_t n;
    char ** names;
    char *  text;
};

void ei_labels_destroy(ei_labels * l) {
    if (!l) return;
    free(l->names);
    free(l->text);
    free(l);
}

int32_t ei_labels_count(const ei_labels * l) { return l ? l->n : 0; }

const char * ei_labels_name(const ei_labels * l, int32_t id) {
    if (!l || id < 0 || id >= l->n) return NULL;
    return l->names[id];
}

static ei_status * labels_alloc(int32_t n, size_t text_bytes, ei_labels ** out) {
    ei_labels * l = calloc(1, sizeof *l);
    if (!l) return ei_status_oom();
    l->n = n;
    l->names = calloc((size_t)n, sizeof *l->names);
    l->text = malloc(text_bytes ? text_bytes : 1);
    if (!l->names || !l->text) {
        ei_labels_destroy(l);
        return ei_status_oom();
    }
    *out = l;
    return NULL;
}

/* ---- text files ---- */

static int is_trailing_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Checks the whole text is UTF-8 without NUL bytes, reporting the line of the first bad byte. */
static ei_status * check_text(const char * text, size_t n, const char * name) {
    int32_t line = 1;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') line++;
        if (c == 0)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d: NUL byte in a label file", name, (int)line);
        if (c < 0x80) {
            i++;
            continue;
        }
        /* One multi-byte sequence: lead byte, continuation bytes, no overlong forms or surrogates. */
        size_t len = 0;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        int ok = len && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)text[i + k] & 0xC0) == 0x80;
        if (ok && len == 3) {
            unsigned c1 = (unsigned char)text[i + 1];
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0); /* overlong; surrogates */
        }
        if (ok && len == 4) {
            unsigned c1 = (unsigned char)text[i + 1];
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90); /* overlong; > U+10FFFF */
        }
        if (!ok)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d: invalid UTF-8 (byte 0x%02X at offset %zu)", name,
                             (int)line, c, i);
        i += len;
    }
    return NULL;
}

/* Splits text into items at `sep`, trimming trailing whitespace from each; an empty item is an
 * error (the caller has dropped a trailing separator). Items of '\n' are lines, so messages give the
 * line; items of ';' are fields of DeepStream's one-line format. */
static ei_status * parse_items(const char * text, size_t n, char sep, const char * name, ei_labels ** out) {
    int32_t count = 0;
    for (size_t i = 0; i < n; i++) count += text[i] == sep;
    if (n && text[n - 1] != sep) count++;
    if (count > EI_LABELS_MAX_COUNT)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: more than %d labels", name, EI_LABELS_MAX_COUNT);
    ei_labels * l = NULL;
    EI_TRY(labels_alloc(count, n + 1, &l));
    char * dst = l->text;
    size_t pos = 0;
    for (int32_t k = 0; k < count; k++) {
        const char * item = text + pos;
        const char * end = memchr(item, sep, n - pos);
        size_t       len = end ? (size_t)(end - item) : n - pos;
        pos += len + 1;
        while (len && is_trailing_space(item[len - 1])) len--;
        if (!len) {
            ei_labels_destroy(l);
            return sep == '\n' ? ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d is empty (every class needs a name)",
                                           name, (int)k + 1)
                               : ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: field %d of the ';'-separated list is empty",
                                           name, (int)k + 1);
        }
        memcpy(dst, item, len);
        dst[len] = '\0';
        l->names[k] = dst;
        dst += len + 1;
    }
    *out = l;
    return NULL;
}

static ei_status * parse_text(const char * text, size_t n, const char * name, ei_labels ** out) {
    EI_TRY(check_text(text, n, name));
    /* Trailing blank lines (and a final newline) carry no class. */
    size_t m = n;
    while (m && (text[m - 1] == '\n' || is_trailing_space(text[m - 1]))) m--;
    if (!m) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: empty label file (no class names)", name);
    if (!memchr(text, '\n', m) && memchr(text, ';', m)) return parse_items(text, m, ';', name, out);
    return parse_items(text, m, '\n', name, out);
}

/* ---- Hugging Face config.json ---- */

/* A decimal id without sign, leading zeros or spaces, below EI_LABELS_MAX_COUNT; -1 otherwise. */
static int32_t parse_id(const char * s, size_t len) {
    if (!len || len > 7 || (len > 1 && s[0] == '0')) return -1;
    int32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < EI_LABELS_MAX_COUNT ? v : -1;
}

static ei_status * labels_from_id2label(const ei_json * map, const char * name, ei_labels ** out) {
    int32_t n = map->n_children;
    if (!n) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: \"id2label\" is empty (no class names)", name);
    size_t bytes = 0;
    for (const ei_json * c = map->child; c; c = c->next) {
        int32_t id = parse_id(c->key, c->key_len);
        if (id < 0)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "%s: line %d: \"id2label\" key \"%s\" is not a class id (a decimal number from 0)", name,
                             (int)c->line, c->key);
        if (id >= n)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "%s: line %d: \"id2label\" has %d entries but an id %d: ids must be 0..%d without gaps",
                             name, (int)c->line, (int)n, (int)id, (int)n - 1);
        if (c->type != EI_JSON_TYPE_STRING)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d: \"id2label\" entry \"%s\" is a %s, not a string",
                             name, (int)c->line, c->key, ei_json_type_name(c->type));
        if (!c->str_len || strlen(c->str) != c->str_len)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d: \"id2label\" entry \"%s\" is %s", name,
                             (int)c->line, c->key, c->str_len ? "a name with a NUL character" : "an empty name");
        bytes += c->str_len + 1;
    }
    ei_labels * l = NULL;
    EI_TRY(labels_alloc(n, bytes, &l));
    char * dst = l->text;
    for (const ei_json * c = map->child; c; c = c->next) {
        int32_t id = parse_id(c->key, c->key_len);
        if (l->names[id]) {
            ei_labels_destroy(l);
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d: \"id2label\" id %d appears twice", name,
                             (int)c->line, (int)id);
        }
        memcpy(dst, c->str, c->str_len + 1);
        l->names[id] = dst;
        dst += c->str_len + 1;
    }
    /* n distinct ids, each below n: every id 0..n-1 is present. */
    *out = l;
    return NULL;
}

static ei_status * parse_json(const char * text, size_t n, const char * name, ei_labels ** out) {
    ei_json * doc = NULL;
    EI_TRY(ei_json_parse(text, n, name, &doc));
    ei_status * st = NULL;
    if (doc->type != EI_JSON_TYPE_OBJECT) {
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: the JSON document is a %s, not an object with \"id2label\"", name,
                       ei_json_type_name(doc->type));
    } else {
        const ei_json * map = ei_json_object_get(doc, "id2label");
        if (!map)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                           "%s: no \"id2label\" key (a Hugging Face config.json maps class ids to names there)", name);
        else if (map->type != EI_JSON_TYPE_OBJECT)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d: \"id2label\" is a %s, not an object", name,
                           (int)map->line, ei_json_type_name(map->type));
        else
            st = labels_from_id2label(map, name, out);
    }
    ei_json_destroy(doc);
    return st;
}

ei_status * ei_labels_parse(const char * text, size_t n, const char * name_for_messages, ei_labels ** out) {
    *out = NULL;
    const char * name = name_for_messages ? name_for_messages : "labels";
    if (!text && n) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: NULL text", name);
    if (n > EI_LABELS_MAX_BYTES)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: %zu bytes is more than the label file limit of %zu", name, n,
                         EI_LABELS_MAX_BYTES);
    size_t skip = n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* UTF-8 byte order mark */
    size_t i = skip;
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    if (i < n && text[i] == '{') return parse_json(text, n, name, out);
    return parse_text(text + skip, n - skip, name, out);
}

ei_status * ei_labels_load(const char * path, ei_labels ** out) {
    *out = NULL;
    FILE * f = fopen(path, "rb");
    if (!f)
        return ei_errorf(errno == ENOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO, "cannot open label file %s: %s", path,
                         strerror(errno));
    char * buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap > EI_LABELS_MAX_BYTES) break; /* ei_labels_parse reports the size */
            size_t ncap = cap ? cap * 2 : 4096;
            char * p = realloc(buf, ncap);
            if (!p) {
                free(buf);
                fclose(f);
                return ei_status_oom();
            }
            buf = p, cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return ei_errorf(EI_CODE_IO, "cannot read label file %s", path);
    }
    ei_status * st = ei_labels_parse(buf, n, path, out);
    free(buf);
    return st;
}
