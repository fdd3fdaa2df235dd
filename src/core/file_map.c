#include "core/file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

ei_status * ei_file_map(const char * path, bool populate, ei_code empty_code, const char * empty_msg, void ** data,
                        size_t * size) {
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ei_errorf(errno == ENOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO, "cannot open '%s': %s", path,
                         strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ei_errorf(EI_CODE_IO, "'%s' is not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return ei_errorf(empty_code, "%s: %s", path, empty_msg);
    }
    void * p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
    int    err = errno;
    close(fd);
    if (p == MAP_FAILED) return ei_errorf(EI_CODE_IO, "cannot map '%s': %s", path, strerror(err));
    *data = p;
    *size = (size_t)sb.st_size;
    return NULL;
}

void ei_file_unmap(void * data, size_t size) {
    if (data) munmap(data, size);
}
