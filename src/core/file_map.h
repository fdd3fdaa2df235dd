/* Read-only memory mapping of a whole regular file: how models and engines are loaded without
 * copying their weights. */
#ifndef EI_CORE_FILE_MAP_H
#define EI_CORE_FILE_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "edgeinfer/status.h"

/* Maps path read-only. An empty file is refused with empty_code and "<path>: <empty_msg>".
 * populate: fault every page in now (for callers that read the whole file at once anyway).
 * On success the caller owns *data / *size and releases them with ei_file_unmap. */
ei_status * ei_file_map(const char * path, bool populate, ei_code empty_code, const char * empty_msg, void ** data,
                        size_t * size);
void        ei_file_unmap(void * data, size_t size); /* NULL-safe */

#endif
