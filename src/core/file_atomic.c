#include "core/file_atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ei_status * ei_file_write_atomic(const char * path, ei_status * (*write)(FILE * f, void * user), void * user) {
    size_t plen = strlen(path);
    char * tmp = malloc(plen + 16);
    if (!tmp) return ei_status_oom();
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        ei_status * st = ei_errorf(EI_CODE_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    fchmod(fd, 0644);
    FILE *      f = fdopen(fd, "wb");
    ei_status * st = NULL;
    if (!f) {
        close(fd);
        st = ei_errorf(EI_CODE_IO, "%s: %s", path, strerror(errno));
    } else {
        st = write(f, user);
        if (!st && ferror(f)) st = ei_errorf(EI_CODE_IO, "%s: write failed", path);
        if (fclose(f) != 0 && !st) st = ei_errorf(EI_CODE_IO, "%s: %s", path, strerror(errno));
    }
    if (!st && rename(tmp, path) != 0) st = ei_errorf(EI_CODE_IO, "%s: rename failed: %s", path, strerror(errno));
    if (st) unlink(tmp);
    free(tmp);
    return st;
}
