#include "io/npy.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static const struct {
    const char * descr;
    ei_dtype     dt;
} g_descr[] = {
    {"<f4", EI_DTYPE_F32}, {"<f8", EI_DTYPE_F64}, {"<f2", EI_DTYPE_F16}, {"<i8", EI_DTYPE_I64},
    {"<i4", EI_DTYPE_I32}, {"<i2", EI_DTYPE_I16}, {"|i1", EI_DTYPE_I8},  {"|u1", EI_DTYPE_U8},
    {"<u2", EI_DTYPE_U16}, {"<u4", EI_DTYPE_U32}, {"<u8", EI_DTYPE_U64}, {"|b1", EI_DTYPE_BOOL},
};

/* Finds `'key':` in the header dict and returns a pointer just after the colon. */
static const char * dict_value(const char * hdr, size_t n, const char * key) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 < n; i++) {
        if ((hdr[i] == '\'' || hdr[i] == '"') && memcmp(hdr + i + 1, key, kl) == 0 && hdr[i + 1 + kl] == hdr[i]) {
            const char * p = hdr + i + kl + 2;
            while (p < hdr + n && (*p == ' ' || *p == ':')) p++;
            return p;
        }
    }
    return NULL;
}

ei_status * ei_npy_decode(const uint8_t * data, size_t size, const char * what, ei_tensor ** out) {
    *out = NULL;
    if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: not a .npy file (bad magic)", what);
    uint8_t major = data[6];
    size_t  hlen, off;
    if (major == 1) {
        hlen = (size_t)data[8] | (size_t)data[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: truncated .npy header", what);
        hlen = (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 | (size_t)data[11] << 24;
        off = 12;
    } else {
        return ei_errorf(EI_CODE_UNSUPPORTED, "%s: .npy format version %d is not supported", what, major);
    }
    if (hlen > size - off) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: truncated .npy header", what);
    const char * h = (const char *)data + off;
    const char * d = dict_value(h, hlen, "descr");
    const char * f = dict_value(h, hlen, "fortran_order");
    const char * s = dict_value(h, hlen, "shape");
    if (!d || !f || !s)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: .npy header lacks descr, fortran_order or shape", what);
    if ((size_t)(h + hlen - f) >= 4 && memcmp(f, "True", 4) == 0)
        return ei_errorf(EI_CODE_UNSUPPORTED,
                         "%s: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)", what);
    ei_dtype dt = EI_DTYPE_UNDEFINED;
    if (*d == '\'' || *d == '"') {
        for (size_t i = 0; i < sizeof g_descr / sizeof g_descr[0]; i++) {
            size_t l = strlen(g_descr[i].descr);
            if ((size_t)(h + hlen - d) > l + 1 && memcmp(d + 1, g_descr[i].descr, l) == 0 && d[1 + l] == *d)
                dt = g_descr[i].dt;
        }
        /* one-byte types are also written with '<' or '=' by some writers */
        if (dt == EI_DTYPE_UNDEFINED && (size_t)(h + hlen - d) > 4 && (d[1] == '<' || d[1] == '=') && d[4] == *d) {
            if (d[2] == 'u' && d[3] == '1') dt = EI_DTYPE_U8;
            if (d[2] == 'i' && d[3] == '1') dt = EI_DTYPE_I8;
            if (d[2] == 'b' && d[3] == '1') dt = EI_DTYPE_BOOL;
        }
    }
    if (dt == EI_DTYPE_UNDEFINED)
        return ei_errorf(EI_CODE_UNSUPPORTED,
                         "%s: .npy dtype %.12s is not supported (little-endian numeric types only)", what, d);
    if (*s != '(') return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: .npy shape is not a tuple", what);
    ei_shape shape;
    memset(&shape, 0, sizeof shape);
    const char * p = s + 1;
    const char * end = h + hlen;
    while (p < end && *p != ')') {
        while (p < end && (*p == ' ' || *p == ',')) p++;
        if (p < end && *p == ')') break;
        if (p >= end || *p < '0' || *p > '9') return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: bad .npy shape", what);
        int64_t v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (v > ((int64_t)1 << 40))
                return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: .npy dimension too large", what);
            v = v * 10 + (*p++ - '0');
        }
        if (p < end && *p == 'L') p++;
        if (shape.rank == EI_MAX_RANK)
            return ei_errorf(EI_CODE_UNSUPPORTED, "%s: .npy rank exceeds %d", what, EI_MAX_RANK);
        shape.dim[shape.rank++] = v;
    }
    if (p >= end) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: bad .npy shape", what);
    size_t      nbytes;
    ei_status * st = ei_shape_nbytes_checked(&shape, dt, (size_t)1 << 36, &nbytes);
    if (st) return ei_status_wrapf(st, "%s", what);
    size_t data_off = off + hlen;
    if (size - data_off < nbytes)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: .npy data is truncated (%zu of %zu bytes)", what,
                         size - data_off, nbytes);
    EI_TRY(ei_tensor_create(dt, &shape, out));
    if (nbytes) memcpy((*out)->data, data + data_off, nbytes);
    return NULL;
}

ei_status * ei_npy_encode(const ei_tensor * t, uint8_t ** out, size_t * out_size) {
    const char * descr = NULL;
    for (size_t i = 0; i < sizeof g_descr / sizeof g_descr[0]; i++)
        if (g_descr[i].dt == t->dtype) descr = g_descr[i].descr;
    if (!descr) {
        if (t->dtype == EI_DTYPE_BF16)
            descr = "<u2"; /* numpy has no bfloat16: the raw bits */
        else
            return ei_errorf(EI_CODE_UNSUPPORTED, "cannot write dtype %s to .npy", ei_dtype_name(t->dtype));
    }
    char hdr[512];
    int  n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int32_t i = 0; i < t->shape.rank; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s", (long long)t->shape.dim[i],
                      (t->shape.rank == 1 || i + 1 < t->shape.rank) ? ", " : "");
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    /* pad with spaces so that data starts at a multiple of 64, ending in '\n' */
    size_t    total_hdr = 10 + (size_t)n + 1;
    size_t    pad = (64 - total_hdr % 64) % 64;
    size_t    hlen = (size_t)n + pad + 1;
    uint8_t * buf = malloc(10 + hlen + t->nbytes);
    if (!buf) return ei_status_oom();
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, hdr, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    if (t->nbytes) memcpy(buf + 10 + hlen, t->data, t->nbytes);
    *out = buf;
    *out_size = 10 + hlen + t->nbytes;
    return NULL;
}
