/* Writing a file so that readers never see it half-written: a temporary file beside it, renamed
 * over it once complete. */
#ifndef EI_CORE_FILE_ATOMIC_H
#define EI_CORE_FILE_ATOMIC_H

#include <stdio.h>

#include "core/status.h"

/* Calls write(f, user) on a new temporary file in path's folder (mode 0644), then renames it to
 * path. On any error (from write, the write-back or the rename) the temporary file is removed and
 * path is untouched. Errors from the file system name path. */
ei_status * ei_file_write_atomic(const char * path, ei_status * (*write)(FILE * f, void * user), void * user);

#endif
