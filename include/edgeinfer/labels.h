/* Class names: from a label file (one name per line, or DeepStream's ';'-separated single line)
 * or from a Hugging Face config.json's "id2label". */
#ifndef EDGEINFER_LABELS_H
#define EDGEINFER_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_labels ei_labels;

/* Chooses the format by content (a JSON object -> id2label). Text: one name per line, trailing
 * whitespace and CR trimmed, trailing blank lines ignored, a blank line inside is an error; a single
 * line holding ';' is split at ';'. JSON: "id2label" keys are decimal ids that must be exactly
 * 0..n-1. Empty files, missing or duplicate ids, and non-UTF-8 bytes fail with a message naming the
 * file and line (docs/parser-plugins.md lists the rules). The caller owns *out. ei_labels_parse
 * reads text[0..n) (no terminator needed) and uses name_for_messages in its messages. */
EI_API EI_NODISCARD ei_status * ei_labels_load(const char * path, ei_labels ** out);
EI_API EI_NODISCARD ei_status * ei_labels_parse(const char * text, size_t n, const char * name_for_messages,
                                                ei_labels ** out);
EI_API void                     ei_labels_destroy(ei_labels * l); /* NULL-safe */
EI_API int32_t                  ei_labels_count(const ei_labels * l);
/* The name of class id, valid while l lives; NULL when l is NULL or id is out of range. */
EI_API const char * ei_labels_name(const ei_labels * l, int32_t id);

#ifdef __cplusplus
}
#endif
#endif
