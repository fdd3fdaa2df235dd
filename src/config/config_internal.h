/* Shared by the config reader's files: the parse context, typed value getters (each error names
 * file, group, key and value) and the key tables. GLib stays in src/config/. */
#ifndef EI_CONFIG_INTERNAL_H
#define EI_CONFIG_INTERNAL_H

#include <glib.h>

#include "core/status.h"
#include "edgeinfer/config.h"

#define EI_CFG_PROPERTY     "property"
#define EI_CFG_ATTRS_ALL    "class-attrs-all"
#define EI_CFG_ATTRS_PREFIX "class-attrs-"

typedef struct ei_cfg_ctx {
    GKeyFile *        kf;
    const char *      file; /* for messages */
    ei_infer_config * cfg;
    GPtrArray *       warnings; /* of g_strdup'ed strings, moved into cfg at the end */
} ei_cfg_ctx;

/* A name -> value table for enum keys; a value may also be written as its number. */
typedef struct ei_cfg_enum {
    const char * name;
    int          value;
} ei_cfg_enum;

void ei_cfg_warn(ei_cfg_ctx * c, const char * fmt, ...) EI_PRINTF(2, 3);
/* "<file>: [group] key = 'value': <why>" as EI_CODE_INVALID_ARGUMENT. */
ei_status * ei_cfg_bad_value(ei_cfg_ctx * c, const char * group, const char * key, const char * value, const char * fmt,
                             ...) EI_PRINTF(5, 6);

/* Getters leave *out untouched and set *present = 0 (present may be NULL) when the key is absent. The
 * returned strings are g_malloc'ed. */
ei_status * ei_cfg_get_string(ei_cfg_ctx * c, const char * group, const char * key, char ** out, int * present);
ei_status * ei_cfg_get_int(ei_cfg_ctx * c, const char * group, const char * key, int32_t lo, int32_t hi, int32_t * out,
                           int * present);
ei_status * ei_cfg_get_float(ei_cfg_ctx * c, const char * group, const char * key, float * out, int * present);
ei_status * ei_cfg_get_bool(ei_cfg_ctx * c, const char * group, const char * key, int32_t * out, int * present);
ei_status * ei_cfg_get_enum(ei_cfg_ctx * c, const char * group, const char * key, const ei_cfg_enum * table, int * out,
                            int * present);
/* ';'-separated numbers (a trailing ';' is allowed, as GKeyFile lists); fails when more than max. */
ei_status * ei_cfg_get_floats(ei_cfg_ctx * c, const char * group, const char * key, float * out, int32_t max,
                              int32_t * n, int * present);
ei_status * ei_cfg_get_ints(ei_cfg_ctx * c, const char * group, const char * key, int32_t lo, int32_t hi, int32_t * out,
                            int32_t max, int32_t * n, int * present);
/* The raw (stripped) value, or NULL when absent; g_free it. */
char * ei_cfg_raw(ei_cfg_ctx * c, const char * group, const char * key);
/* Splits a value on sep, strips each piece and drops one trailing empty piece; g_strfreev it. */
char ** ei_cfg_split(const char * value, const char * sep, int32_t * n);
/* Parses one number of a list item; 0 on success. */
int ei_cfg_parse_float(const char * s, float * out);
int ei_cfg_parse_int(const char * s, int32_t lo, int32_t hi, int32_t * out);

/* Warns about unknown groups and keys (with the nearest known name) and ignored nvinfer keys. */
void ei_cfg_check_names(ei_cfg_ctx * c);
/* Edit distance (Levenshtein), capped at 64-character names. */
int ei_cfg_edit_distance(const char * a, const char * b);

/* A key accepted for compatibility and ignored, with the reason the warning gives. A trailing '*'
 * in name matches any suffix (never suggested as a nearest name). Tables end with a NULL name. */
typedef struct ei_cfg_ignored_key {
    const char * name;
    const char * why;
} ei_cfg_ignored_key;

/* The nearest of known[] and ignored[] names (either may be NULL) within a third of name's letters
 * (at least 2 edits), or NULL: the "did you mean" of unknown-key warnings. */
const char * ei_cfg_nearest(const char * name, const char * const * known, const ei_cfg_ignored_key * ignored);
/* Whether name is in the NULL-terminated list. */
int ei_cfg_listed(const char * name, const char * const * known);

/* The decoder keys ([property] decoder, priors, variances, strides, ...) into cfg->decoder. */
ei_status * ei_cfg_read_decoder(ei_cfg_ctx * c);

#endif
