#include "onnx/pb_wire.h"

#include <inttypes.h>
#include <stdio.h>

/* A NULL buffer of size 0 gets a real address: arithmetic on NULL, even +0, is undefined. */
static const uint8_t ei_pb_empty[1];

ei_pb_reader ei_pb_reader_make(const uint8_t * p, size_t n) {
    if (!p) {
        p = ei_pb_empty;
        n = 0;
    }
    return (ei_pb_reader){p, p + n};
}

size_t ei_pb_left(const ei_pb_reader * r) { return (size_t)(r->end - r->p); }

ei_pb_err ei_pb_read_varint(ei_pb_reader * r, uint64_t * out) {
    const uint8_t * p = r->p;
    size_t          left = ei_pb_left(r);
    if (left && p[0] < 0x80) { /* most tags, lengths and small ints */
        *out = p[0];
        r->p = p + 1;
        return EI_PB_OK;
    }
    size_t   max = left < EI_PB_MAX_VARINT_BYTES ? left : EI_PB_MAX_VARINT_BYTES;
    uint64_t v = 0;
    for (size_t i = 0; i < max; i++) {
        uint8_t b = p[i];
        /* The 10th byte holds bit 63 only: anything more would be silently dropped. */
        if (i == EI_PB_MAX_VARINT_BYTES - 1 && b > 1) return EI_PB_ERR_VARINT;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            r->p = p + i + 1;
            return EI_PB_OK;
        }
    }
    return EI_PB_ERR_TRUNCATED;
}

uint32_t ei_pb_load32(const uint8_t * p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t ei_pb_load64(const uint8_t * p) { return (uint64_t)ei_pb_load32(p) | (uint64_t)ei_pb_load32(p + 4) << 32; }

ei_pb_err ei_pb_read_fixed32(ei_pb_reader * r, uint32_t * out) {
    if (ei_pb_left(r) < 4) return EI_PB_ERR_TRUNCATED;
    *out = ei_pb_load32(r->p);
    r->p += 4;
    return EI_PB_OK;
}

ei_pb_err ei_pb_read_fixed64(ei_pb_reader * r, uint64_t * out) {
    if (ei_pb_left(r) < 8) return EI_PB_ERR_TRUNCATED;
    *out = ei_pb_load64(r->p);
    r->p += 8;
    return EI_PB_OK;
}

ei_pb_err ei_pb_read_tag(ei_pb_reader * r, ei_pb_field * f) {
    uint64_t  tag;
    ei_pb_err e = ei_pb_read_varint(r, &tag);
    if (e) return e;
    f->number = 0;
    f->wire = (uint32_t)(tag & 7);
    f->u = tag >> 3;
    if (f->u > EI_PB_MAX_FIELD_NUMBER) return EI_PB_ERR_FIELD_RANGE;
    f->number = (uint32_t)f->u;
    return f->number ? EI_PB_OK : EI_PB_ERR_FIELD_ZERO;
}

static ei_pb_err ei_pb_read_len(ei_pb_reader * r, ei_pb_field * f) {
    ei_pb_err e = ei_pb_read_varint(r, &f->u);
    if (e) return e;
    if (f->u > ei_pb_left(r)) return EI_PB_ERR_LENGTH;
    f->data = r->p;
    f->len = (size_t)f->u;
    r->p += f->len;
    return EI_PB_OK;
}

ei_pb_err ei_pb_read_value(ei_pb_reader * r, ei_pb_field * f) {
    f->u = 0;
    f->data = NULL;
    f->len = 0;
    switch (f->wire) {
    case EI_PB_WIRE_VARINT: return ei_pb_read_varint(r, &f->u);
    case EI_PB_WIRE_FIXED64: return ei_pb_read_fixed64(r, &f->u);
    case EI_PB_WIRE_LEN: return ei_pb_read_len(r, f);
    case EI_PB_WIRE_FIXED32: {
        uint32_t  v = 0;
        ei_pb_err e = ei_pb_read_fixed32(r, &v);
        f->u = v;
        return e;
    }
    case EI_PB_WIRE_SGROUP:
    case EI_PB_WIRE_EGROUP: return EI_PB_ERR_GROUP;
    default: return EI_PB_ERR_WIRE_TYPE;
    }
}

ei_pb_err ei_pb_count_varints(const uint8_t * p, size_t n, size_t * count) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += p[i] < 0x80;
    *count = c;
    return n && p[n - 1] >= 0x80 ? EI_PB_ERR_TRUNCATED : EI_PB_OK;
}

void ei_pb_strerror(ei_pb_err err, const ei_pb_reader * r, const ei_pb_field * f, char * buf, size_t cap) {
    switch (err) {
    case EI_PB_OK: snprintf(buf, cap, "no error"); break;
    case EI_PB_ERR_TRUNCATED: snprintf(buf, cap, "value truncated: only %zu bytes left", ei_pb_left(r)); break;
    case EI_PB_ERR_VARINT: snprintf(buf, cap, "varint longer than 10 bytes or 64 bits"); break;
    case EI_PB_ERR_LENGTH:
        snprintf(buf, cap, "length %" PRIu64 " exceeds the %zu bytes left", f->u, ei_pb_left(r));
        break;
    case EI_PB_ERR_FIELD_ZERO: snprintf(buf, cap, "field number 0 is invalid"); break;
    case EI_PB_ERR_FIELD_RANGE:
        snprintf(buf, cap, "field number %" PRIu64 " exceeds %u", f->u, EI_PB_MAX_FIELD_NUMBER);
        break;
    case EI_PB_ERR_GROUP:
        snprintf(buf, cap, "deprecated group encoding (wire type %u) is not supported", f->wire);
        break;
    case EI_PB_ERR_WIRE_TYPE: snprintf(buf, cap, "invalid wire type %u", f->wire); break;
    default: snprintf(buf, cap, "unknown wire error %d", (int)err); break;
    }
}
