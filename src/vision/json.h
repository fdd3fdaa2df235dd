/* A small, bounded JSON reader (RFC 8259) for the files that sit next to models, such as a
 * Hugging Face config.json. It builds a tree in one pass; hostile input (deep nesting, huge
 * documents, bad escapes, invalid UTF-8) gets a status naming the line and column, never a crash. */
#ifndef EI_VISION_JSON_H
#define EI_VISION_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/status.h"

#define EI_JSON_MAX_DEPTH 64                 /* arrays and objects nested deeper are rejected */
#define EI_JSON_MAX_BYTES ((size_t)64 << 20) /* documents larger than this are rejected */
#define EI_JSON_MAX_NODES ((int32_t)1 << 22) /* values in one document */

typedef enum ei_json_type {
    EI_JSON_TYPE_NULL = 0,
    EI_JSON_TYPE_FALSE,
    EI_JSON_TYPE_TRUE,
    EI_JSON_TYPE_NUMBER,
    EI_JSON_TYPE_STRING,
    EI_JSON_TYPE_ARRAY,
    EI_JSON_TYPE_OBJECT,
} ei_json_type;

/* One value. Strings (values and keys) are UTF-8, NUL-terminated, and may contain "\u0000" as an
 * embedded NUL: str_len is the true length. Children of arrays and objects form a list through
 * `next`, in document order; an object member keeps its key in `key`. */
typedef struct ei_json {
    ei_json_type     type;
    double           number;
    char *           str;
    size_t           str_len;
    char *           key;
    size_t           key_len;
    struct ei_json * child;
    struct ei_json * next;
    int32_t          n_children;
    int32_t          line, column; /* where the value starts (1-based), for messages */
} ei_json;

/* Parses text[0..n). name_for_messages prefixes every error ("config.json: line 3, column 7: ...").
 * The caller owns *out and frees it with ei_json_destroy. */
ei_status * ei_json_parse(const char * text, size_t n, const char * name_for_messages, ei_json ** out);
void        ei_json_destroy(ei_json * v); /* NULL-safe */

/* The first member of object `obj` named key (NULL if obj is not an object or has none). */
const ei_json * ei_json_object_get(const ei_json * obj, const char * key);
/* "object", "string", ... for messages. */
const char * ei_json_type_name(ei_json_type t);

#endif
