/* Shared pieces of src/eval/. */
#ifndef EI_EVAL_INTERNAL_H
#define EI_EVAL_INTERNAL_H

#include <stddef.h>

#include "edgeinfer/status.h"

/* Reads a whole file (at most the JSON reader's limit) into a NUL-terminated buffer the caller
 * frees; `what` names the file in messages ("annotation file"). */
ei_status * ei_eval_read_file(const char * path, const char * what, char ** text, size_t * n);

#endif
