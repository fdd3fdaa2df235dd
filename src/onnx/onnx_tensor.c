#include "onnx/onnx_tensor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

typedef struct mapped_file {
    char * path;
    void * base;
    size_t size;
} mapped_file;

struct ei_mapped_files {
    char *        base_dir;
    mapped_file * files;
    int32_t       n, cap;
};

char * ei_pb_strdup(ei_pb_bytes b) {
    char * s = malloc(b.n + 1);
    if (!s) return NULL;
    if (b.n) memcpy(s, b.p, b.n);
    s[b.n] = 0;
    return s;
}

ei_status * ei_mapped_files_create(const char * base_dir, ei_mapped_files ** out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return ei_status_oom();
    (*out)->base_dir = strdup(base_dir && base_dir[0] ? base_dir : ".");
    if (!(*out)->base_dir) {
        free(*out);
        *out = NULL;
        return ei_status_oom();
    }
    return NULL;
}

void ei_mapped_files_destroy(ei_mapped_files * mf) {
    if (!mf) return;
    for (int32_t i = 0; i < mf->n; i++) {
        if (mf->files[i].base) munmap(mf->files[i].base, mf->files[i].size);
        free(mf->files[i].path);
    }
    free(mf->files);
    free(mf->base_dir);
    free(mf);
}

/* The ONNX spec says `location` is relative to the model's directory; absolute paths and ".."
 * would let a hostile model read any file, so both are refused. */
static ei_status * check_location(const char * loc, const char * what) {
    if (!loc[0]) return ei_errorf(EI_CODE_INVALID_MODEL, "%s: external data has an empty location", what);
    if (loc[0] == '/')
        return ei_errorf(EI_CODE_INVALID_MODEL,
                         "%s: external data location '%s' is absolute; it must be relative to the model's folder", what,
                         loc);
    for (const char * p = loc; *p; p++) {
        if (p[0] == '.' && p[1] == '.' && (p == loc || p[-1] == '/') && (p[2] == '/' || p[2] == 0))
            return ei_errorf(EI_CODE_INVALID_MODEL, "%s: external data location '%s' leaves the model's folder", what,
                             loc);
    }
    return NULL;
}

static ei_status * map_file(ei_mapped_files * mf, const char * loc, const char * what, const mapped_file ** out) {
    for (int32_t i = 0; i < mf->n; i++)
        if (strcmp(mf->files[i].path, loc) == 0) {
            *out = &mf->files[i];
            return NULL;
        }
    size_t n = strlen(mf->base_dir) + strlen(loc) + 2;
    char * full = malloc(n);
    if (!full) return ei_status_oom();
    snprintf(full, n, "%s/%s", mf->base_dir, loc);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ei_status * st = ei_errorf(EI_CODE_NOT_FOUND, "%s: cannot open external data file '%s'", what, full);
        free(full);
        return st;
    }
    free(full);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ei_errorf(EI_CODE_IO, "%s: external data '%s' is not a regular file", what, loc);
    }
    void * base = NULL;
    if (sb.st_size > 0) {
        base = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (base == MAP_FAILED) {
            close(fd);
            return ei_errorf(EI_CODE_IO, "%s: cannot map external data '%s'", what, loc);
        }
    }
    close(fd);
    if (mf->n == mf->cap) {
        int32_t       cap = mf->cap ? mf->cap * 2 : 4;
        mapped_file * f = realloc(mf->files, (size_t)cap * sizeof *f);
        if (!f) {
            if (base) munmap(base, (size_t)sb.st_size);
            return ei_status_oom();
        }
        mf->files = f;
        mf->cap = cap;
    }
    mapped_file * f = &mf->files[mf->n];
    f->path = strdup(loc);
    if (!f->path) {
        if (base) munmap(base, (size_t)sb.st_size);
        return ei_status_oom();
    }
    f->base = base;
    f->size = (size_t)sb.st_size;
    mf->n++;
    *out = f;
    return NULL;
}

static int parse_u64(ei_pb_bytes b, uint64_t * out) {
    if (b.n == 0 || b.n > 20) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (b.p[i] < '0' || b.p[i] > '9') return 0;
        uint64_t d = (uint64_t)(b.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static ei_status * external_bytes(const ei_onnx_tensor * t, ei_mapped_files * mf, const char * what, size_t want,
                                  const uint8_t ** out) {
    if (!mf) return ei_errorf(EI_CODE_UNSUPPORTED, "%s: external data is not allowed here", what);
    char *   loc = NULL;
    uint64_t offset = 0, length = UINT64_MAX;
    for (int32_t i = 0; i < t->n_external; i++) {
        const ei_onnx_kv * kv = &t->external[i];
        if (ei_pb_bytes_eq(kv->key, "location")) {
            free(loc);
            loc = ei_pb_strdup(kv->value);
            if (!loc) return ei_status_oom();
        } else if (ei_pb_bytes_eq(kv->key, "offset") || ei_pb_bytes_eq(kv->key, "length")) {
            uint64_t v;
            if (!parse_u64(kv->value, &v)) {
                free(loc);
                return ei_errorf(EI_CODE_INVALID_MODEL, "%s: external data %.*s is not a number", what, (int)kv->key.n,
                                 (const char *)kv->key.p);
            }
            if (ei_pb_bytes_eq(kv->key, "offset"))
                offset = v;
            else
                length = v;
        }
    }
    if (!loc) return ei_errorf(EI_CODE_INVALID_MODEL, "%s: external data without a location", what);
    ei_status *         st = check_location(loc, what);
    const mapped_file * f = NULL;
    if (!st) st = map_file(mf, loc, what, &f);
    if (st) {
        free(loc);
        return st;
    }
    if (length == UINT64_MAX) length = want;
    if (length != want || offset > f->size || length > f->size - offset) {
        st = ei_errorf(EI_CODE_INVALID_MODEL,
                       "%s: external data in '%s' (offset %llu, length %llu) does not fit the file (%zu bytes) or "
                       "the tensor (%zu bytes)",
                       what, loc, (unsigned long long)offset, (unsigned long long)length, f->size, want);
        free(loc);
        return st;
    }
    free(loc);
    *out = (const uint8_t *)f->base + offset;
    return NULL;
}

static ei_status * typed_count_error(const char * what, const char * field, int64_t have, int64_t want) {
    return ei_errorf(EI_CODE_INVALID_MODEL, "%s: %s holds %lld values but the shape needs %lld", what, field,
                     (long long)have, (long long)want);
}

/* Typed fields: the spec packs small types into int32_data and uint32 into uint64_data. */
static ei_status * convert_typed(const ei_onnx_tensor * t, ei_tensor * out, const char * what) {
    int64_t n = ei_shape_numel(&out->shape);
    void *  d = out->data;
    switch (out->dtype) {
    case EI_DTYPE_F32:
        if (t->n_float_data != n) return typed_count_error(what, "float_data", t->n_float_data, n);
        if (n) memcpy(d, t->float_data, (size_t)n * 4);
        return NULL;
    case EI_DTYPE_F64:
        if (t->n_double_data != n) return typed_count_error(what, "double_data", t->n_double_data, n);
        if (n) memcpy(d, t->double_data, (size_t)n * 8);
        return NULL;
    case EI_DTYPE_I64:
        if (t->n_int64_data != n) return typed_count_error(what, "int64_data", t->n_int64_data, n);
        if (n) memcpy(d, t->int64_data, (size_t)n * 8);
        return NULL;
    case EI_DTYPE_U32:
    case EI_DTYPE_U64:
        if (t->n_uint64_data != n) return typed_count_error(what, "uint64_data", t->n_uint64_data, n);
        for (int64_t i = 0; i < n; i++) {
            if (out->dtype == EI_DTYPE_U32)
                ((uint32_t *)d)[i] = (uint32_t)t->uint64_data[i];
            else
                ((uint64_t *)d)[i] = t->uint64_data[i];
        }
        return NULL;
    default: break;
    }
    if (t->n_int32_data != n) return typed_count_error(what, "int32_data", t->n_int32_data, n);
    for (int64_t i = 0; i < n; i++) {
        int32_t v = t->int32_data[i];
        switch (out->dtype) {
        case EI_DTYPE_I32: ((int32_t *)d)[i] = v; break;
        case EI_DTYPE_I16: ((int16_t *)d)[i] = (int16_t)v; break;
        case EI_DTYPE_U16:
        case EI_DTYPE_F16:
        case EI_DTYPE_BF16: ((uint16_t *)d)[i] = (uint16_t)v; break;
        case EI_DTYPE_I8: ((int8_t *)d)[i] = (int8_t)v; break;
        case EI_DTYPE_U8: ((uint8_t *)d)[i] = (uint8_t)v; break;
        case EI_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0; break;
        default: return ei_errorf(EI_CODE_INTERNAL, "%s: unhandled dtype", what);
        }
    }
    return NULL;
}

ei_status * ei_onnx_tensor_convert(const ei_onnx_tensor * t, bool borrow, ei_mapped_files * mf, const char * what,
                                   ei_tensor ** out) {
    *out = NULL;
    ei_dtype dt = ei_dtype_from_onnx(t->data_type);
    if (dt == EI_DTYPE_UNDEFINED) {
        if (t->data_type == 8) return ei_errorf(EI_CODE_UNSUPPORTED, "%s: string tensors are not supported", what);
        return ei_errorf(EI_CODE_UNSUPPORTED,
                         "%s: data type %d is not supported (supported: float32, float16, "
                         "bfloat16, float64, int8..int64, uint8..uint64, bool)",
                         what, (int)t->data_type);
    }
    if (t->n_dims > EI_MAX_RANK)
        return ei_errorf(EI_CODE_UNSUPPORTED, "%s: rank %d exceeds the maximum of %d", what, t->n_dims, EI_MAX_RANK);
    if (t->has_segment) return ei_errorf(EI_CODE_UNSUPPORTED, "%s: segmented tensors are not supported", what);
    ei_shape    shape = ei_shape_make(t->n_dims, t->dims);
    size_t      nbytes;
    ei_status * st = ei_shape_nbytes_checked(&shape, dt, (size_t)1 << 40, &nbytes);
    if (st) return ei_status_wrapf(st, "%s", what);
    const uint8_t * raw = NULL;
    if (t->data_location == 1) {
        EI_TRY(external_bytes(t, mf, what, nbytes, &raw));
    } else if (t->raw_data.n || (nbytes == 0 && !t->n_float_data && !t->n_int32_data && !t->n_int64_data &&
                                 !t->n_double_data && !t->n_uint64_data)) {
        if (t->raw_data.n != nbytes)
            return ei_errorf(EI_CODE_INVALID_MODEL, "%s: raw_data has %zu bytes but shape %s of %s needs %zu", what,
                             t->raw_data.n, ei_shape_format(&shape, (char[128]){0}, 128), ei_dtype_name(dt), nbytes);
        raw = t->raw_data.p;
    }
    if (raw) {
        size_t esz = ei_dtype_size(dt);
        if (borrow && ((uintptr_t)raw % esz) == 0) return ei_tensor_wrap(dt, &shape, (void *)raw, out);
        EI_TRY(ei_tensor_create(dt, &shape, out));
        if (nbytes) memcpy((*out)->data, raw, nbytes);
        return NULL;
    }
    if (t->n_string_data) return ei_errorf(EI_CODE_UNSUPPORTED, "%s: string tensors are not supported", what);
    EI_TRY(ei_tensor_create(dt, &shape, out));
    st = convert_typed(t, *out, what);
    if (st) {
        ei_tensor_destroy(*out);
        *out = NULL;
    }
    return st;
}
