#include "vision/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

typedef struct json_parser {
    const char * s;
    size_t       n, pos;
    int32_t      line;
    size_t       line_start; /* offset of the first byte of the current line */
    const char * name;
    int32_t      nodes;
} json_parser;

const char * ei_json_type_name(ei_json_type t) {
    switch (t) {
    case EI_JSON_TYPE_NULL: return "null";
    case EI_JSON_TYPE_FALSE:
    case EI_JSON_TYPE_TRUE: return "boolean";
    case EI_JSON_TYPE_NUMBER: return "number";
    case EI_JSON_TYPE_STRING: return "string";
    case EI_JSON_TYPE_ARRAY: return "array";
    case EI_JSON_TYPE_OBJECT: return "object";
    }
    return "invalid";
}

static int32_t column_of(const json_parser * p) { return (int32_t)(p->pos - p->line_start) + 1; }

static ei_status * fail(const json_parser * p, const char * what) {
    return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d, column %d: %s", p->name, (int)p->line, (int)column_of(p),
                     what);
}

static void skip_ws(json_parser * p) {
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c == '\n') {
            p->line++;
            p->line_start = p->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

void ei_json_destroy(ei_json * v) {
    while (v) {
        ei_json * next = v->next;
        ei_json_destroy(v->child); /* recursion depth is bounded by EI_JSON_MAX_DEPTH */
        free(v->str);
        free(v->key);
        free(v);
        v = next;
    }
}

static ei_status * new_node(json_parser * p, ei_json_type t, ei_json ** out) {
    if (++p->nodes > EI_JSON_MAX_NODES) return fail(p, "too many values (the limit is 4194304)");
    ei_json * v = calloc(1, sizeof *v);
    if (!v) return ei_status_oom();
    v->type = t;
    v->line = p->line;
    v->column = column_of(p);
    *out = v;
    return NULL;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is invalid (overlong forms,
 * surrogates and code points above U+10FFFF included). */
static size_t utf8_seq_len(const unsigned char * s, size_t n) {
    unsigned c = s[0];
    size_t   len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static size_t utf8_put(char * dst, uint32_t cp) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | cp >> 6);
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | cp >> 12);
        dst[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | cp >> 18);
    dst[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    dst[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex4(const char * s, uint32_t * out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Parses the string starting at the opening quote. The decoded text is never longer than the
 * escaped one (\uXXXX is 6 bytes for at most 3; a surrogate pair 12 for 4), so one allocation of
 * the raw length suffices. */
static ei_status * parse_string(json_parser * p, char ** out, size_t * out_len) {
    size_t start = ++p->pos, end = start;
    while (end < p->n && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n) return fail(p, "unterminated string");
    char * buf = malloc(end - start + 1);
    if (!buf) return ei_status_oom();
    size_t k = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            free(buf);
            return fail(p, "control character in a string (escape it)");
        }
        if (c != '\\') {
            size_t len = utf8_seq_len((const unsigned char *)p->s + p->pos, end - p->pos);
            if (!len) {
                free(buf);
                return fail(p, "invalid UTF-8 in a string");
            }
            memcpy(buf + k, p->s + p->pos, len);
            k += len;
            p->pos += len;
            continue;
        }
        char         e = p->s[p->pos + 1];
        const char * simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            buf[k++] = map[simple - "\"\\/bfnrt"];
            p->pos += 2;
            continue;
        }
        if (e != 'u') {
            free(buf);
            return fail(p, "invalid escape in a string");
        }
        uint32_t cp, lo;
        if (end - p->pos < 6 || !hex4(p->s + p->pos + 2, &cp)) {
            free(buf);
            return fail(p, "\\u must be followed by 4 hex digits");
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(buf);
            return fail(p, "unpaired low surrogate in a \\u escape");
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - p->pos < 12 || p->s[p->pos + 6] != '\\' || p->s[p->pos + 7] != 'u' ||
                !hex4(p->s + p->pos + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                free(buf);
                return fail(p, "high surrogate not followed by a low surrogate \\u escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p->pos += 6;
        }
        k += utf8_put(buf + k, cp);
        p->pos += 6;
    }
    buf[k] = '\0';
    p->pos = end + 1;
    *out = buf;
    *out_len = k;
    return NULL;
}

static ei_status * parse_number(json_parser * p, double * out) {
    size_t i = p->pos;
    if (i < p->n && p->s[i] == '-') i++;
    if (i >= p->n || p->s[i] < '0' || p->s[i] > '9') return fail(p, "invalid number");
    if (p->s[i] == '0')
        i++;
    else
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    if (i < p->n && p->s[i] == '.') {
        if (++i >= p->n || p->s[i] < '0' || p->s[i] > '9') return fail(p, "invalid number (digits must follow '.')");
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        if (++i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || p->s[i] < '0' || p->s[i] > '9') return fail(p, "invalid number (bad exponent)");
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    size_t len = i - p->pos;
    char   small[64];
    char * tmp = len < sizeof small ? small : malloc(len + 1);
    if (!tmp) return ei_status_oom();
    memcpy(tmp, p->s + p->pos, len);
    tmp[len] = '\0';
    *out = strtod(tmp, NULL); /* the grammar was checked above; overflow gives +-HUGE_VAL */
    if (tmp != small) free(tmp);
    p->pos = i;
    return NULL;
}

static ei_status * parse_value(json_parser * p, int depth, ei_json ** out);

/* Arrays and objects: children are appended in order; `is_object` adds "key": before each. */
static ei_status * parse_container(json_parser * p, int depth, int is_object, ei_json * v) {
    char       close = is_object ? '}' : ']';
    ei_json ** tail = &v->child;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
        return NULL;
    }
    for (;;) {
        char * key = NULL;
        size_t key_len = 0;
        if (is_object) {
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != '"') return fail(p, "expected a string key in an object");
            EI_TRY(parse_string(p, &key, &key_len));
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != ':') {
                free(key);
                return fail(p, "expected ':' after an object key");
            }
            p->pos++;
        }
        ei_json *   child = NULL;
        ei_status * st = parse_value(p, depth + 1, &child);
        if (st) {
            free(key);
            return st;
        }
        child->key = key;
        child->key_len = key_len;
        *tail = child;
        tail = &child->next;
        v->n_children++;
        skip_ws(p);
        if (p->pos >= p->n) return fail(p, is_object ? "unterminated object" : "unterminated array");
        char c = p->s[p->pos++];
        if (c == close) return NULL;
        if (c != ',') {
            p->pos--;
            return fail(p, is_object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
        }
    }
}

static ei_status * parse_value(json_parser * p, int depth, ei_json ** out) {
    *out = NULL;
    skip_ws(p);
    if (p->pos >= p->n) return fail(p, "unexpected end of input (expected a value)");
    char        c = p->s[p->pos];
    ei_status * st = NULL;
    if (c == '{' || c == '[') {
        if (depth >= EI_JSON_MAX_DEPTH) return fail(p, "nesting deeper than 64 levels");
        EI_TRY(new_node(p, c == '{' ? EI_JSON_TYPE_OBJECT : EI_JSON_TYPE_ARRAY, out));
        st = parse_container(p, depth, c == '{', *out);
    } else if (c == '"') {
        EI_TRY(new_node(p, EI_JSON_TYPE_STRING, out));
        st = parse_string(p, &(*out)->str, &(*out)->str_len);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        EI_TRY(new_node(p, EI_JSON_TYPE_NUMBER, out));
        st = parse_number(p, &(*out)->number);
    } else {
        static const struct {
            const char * word;
            ei_json_type type;
        } words[] = {{"null", EI_JSON_TYPE_NULL}, {"true", EI_JSON_TYPE_TRUE}, {"false", EI_JSON_TYPE_FALSE}};
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
            size_t len = strlen(words[i].word);
            if (p->n - p->pos >= len && memcmp(p->s + p->pos, words[i].word, len) == 0) {
                EI_TRY(new_node(p, words[i].type, out));
                p->pos += len;
                return NULL;
            }
        }
        return fail(p, "unexpected character (expected a value)");
    }
    if (st) {
        ei_json_destroy(*out);
        *out = NULL;
    }
    return st;
}

ei_status * ei_json_parse(const char * text, size_t n, const char * name_for_messages, ei_json ** out) {
    *out = NULL;
    const char * name = name_for_messages ? name_for_messages : "JSON";
    if (n > EI_JSON_MAX_BYTES)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: %zu bytes is more than the JSON limit of %zu", name, n,
                         EI_JSON_MAX_BYTES);
    json_parser p = {.s = text, .n = n, .line = 1, .name = name};
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) p.pos = p.line_start = 3; /* UTF-8 byte order mark */
    ei_json * v = NULL;
    EI_TRY(parse_value(&p, 0, &v));
    skip_ws(&p);
    if (p.pos < p.n) {
        ei_json_destroy(v);
        return fail(&p, "unexpected data after the JSON value");
    }
    *out = v;
    return NULL;
}

const ei_json * ei_json_object_get(const ei_json * obj, const char * key) {
    if (!obj || obj->type != EI_JSON_TYPE_OBJECT) return NULL;
    size_t len = strlen(key);
    for (const ei_json * c = obj->child; c; c = c->next)
        if (c->key_len == len && memcmp(c->key, key, len) == 0) return c;
    return NULL;
}
