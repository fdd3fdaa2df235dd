/* ei_tensor_load_file / ei_tensor_save_file: .npy and ONNX TensorProto .pb. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "io/npy.h"
#include "onnx/onnx_pb.h"
#include "onnx/onnx_tensor.h"

static bool has_ext(const char * path, const char * ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && strcasecmp(path + n - e, ext) == 0;
}

static ei_status * read_all(const char * path, uint8_t ** out, size_t * size) {
    FILE * f = fopen(path, "rb");
    if (!f)
        return ei_errorf(errno == ENOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO, "cannot open '%s': %s", path,
                         strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return ei_errorf(EI_CODE_IO, "'%s' is not a regular file", path);
    }
    uint8_t * buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        fclose(f);
        return ei_status_oom();
    }
    size_t n = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    if (n != (size_t)sb.st_size) {
        free(buf);
        return ei_errorf(EI_CODE_IO, "short read on '%s'", path);
    }
    *out = buf;
    *size = n;
    return NULL;
}

ei_status * ei_tensor_load_file(const char * path, ei_tensor ** out) {
    *out = NULL;
    bool npy = has_ext(path, ".npy"), pb = has_ext(path, ".pb");
    if (!npy && !pb)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "'%s': tensor files must end in .npy or .pb (ONNX TensorProto)",
                         path);
    uint8_t * data = NULL;
    size_t    size = 0;
    EI_TRY(read_all(path, &data, &size));
    ei_status * st;
    if (npy) {
        st = ei_npy_decode(data, size, path, out);
    } else {
        ei_onnx_tensor * t = NULL;
        st = ei_onnx_parse_tensor(data, size, &t);
        if (!st)
            st = ei_onnx_tensor_convert(t, false, NULL, path, out);
        else
            st = ei_status_wrapf(st, "%s", path);
        ei_onnx_tensor_free(t);
    }
    free(data);
    return st;
}

/* Minimal TensorProto writer: dims (1), data_type (2), name (8), raw_data (9). */
static size_t put_varint(uint8_t * p, uint64_t v) {
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

static ei_status * encode_pb(const ei_tensor * t, const char * name, uint8_t ** out, size_t * out_size) {
    size_t    nl = name ? strlen(name) : 0;
    size_t    cap = 16 + t->shape.rank * 11 + 11 + nl + 11 + 11 + t->nbytes;
    uint8_t * buf = malloc(cap);
    if (!buf) return ei_status_oom();
    size_t n = 0;
    for (int32_t i = 0; i < t->shape.rank; i++) {
        buf[n++] = 1 << 3 | 0;
        n += put_varint(buf + n, (uint64_t)t->shape.dim[i]);
    }
    buf[n++] = 2 << 3 | 0;
    n += put_varint(buf + n, (uint64_t)ei_dtype_to_onnx(t->dtype));
    if (nl) {
        buf[n++] = 8 << 3 | 2;
        n += put_varint(buf + n, nl);
        memcpy(buf + n, name, nl);
        n += nl;
    }
    buf[n++] = 9 << 3 | 2;
    n += put_varint(buf + n, t->nbytes);
    if (t->nbytes) memcpy(buf + n, t->data, t->nbytes);
    n += t->nbytes;
    *out = buf;
    *out_size = n;
    return NULL;
}

ei_status * ei_tensor_save_file(const ei_tensor * t, const char * name, const char * path) {
    bool npy = has_ext(path, ".npy"), pb = has_ext(path, ".pb");
    if (!npy && !pb)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "'%s': tensor files must end in .npy or .pb (ONNX TensorProto)",
                         path);
    uint8_t * buf = NULL;
    size_t    size = 0;
    EI_TRY(npy ? ei_npy_encode(t, &buf, &size) : encode_pb(t, name, &buf, &size));
    size_t tl = strlen(path) + 16;
    char * tmp = malloc(tl);
    if (!tmp) {
        free(buf);
        return ei_status_oom();
    }
    snprintf(tmp, tl, "%s.tmp%d", path, (int)getpid());
    ei_status * st = NULL;
    FILE *      f = fopen(tmp, "wb");
    if (!f) {
        st = ei_errorf(EI_CODE_IO, "cannot write '%s': %s", path, strerror(errno));
    } else {
        bool ok = fwrite(buf, 1, size, f) == size;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            st = ei_errorf(EI_CODE_IO, "cannot write '%s': %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    free(buf);
    return st;
}
