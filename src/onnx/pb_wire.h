/* Low-level reading of the protobuf wire format over a bounded byte range.
 *
 * Nothing here allocates or knows about ONNX: every read either advances the reader over a
 * complete, in-bounds item or returns an ei_pb_err and leaves the caller to report it with
 * its own context (onnx_pb.c adds the path inside the message). */
#ifndef EI_ONNX_PB_WIRE_H
#define EI_ONNX_PB_WIRE_H

#include <stddef.h>
#include <stdint.h>

typedef enum ei_pb_wire_type {
    EI_PB_WIRE_VARINT = 0,
    EI_PB_WIRE_FIXED64 = 1,
    EI_PB_WIRE_LEN = 2,
    EI_PB_WIRE_SGROUP = 3, /* deprecated groups: refused */
    EI_PB_WIRE_EGROUP = 4,
    EI_PB_WIRE_FIXED32 = 5,
} ei_pb_wire_type;

typedef enum ei_pb_err {
    EI_PB_OK = 0,
    EI_PB_ERR_TRUNCATED,   /* a varint or fixed-width value runs past the end */
    EI_PB_ERR_VARINT,      /* a varint longer than 10 bytes or wider than 64 bits */
    EI_PB_ERR_LENGTH,      /* a length exceeds the bytes left */
    EI_PB_ERR_FIELD_ZERO,  /* field number 0 */
    EI_PB_ERR_FIELD_RANGE, /* field number above 2^29 - 1 */
    EI_PB_ERR_GROUP,       /* wire type 3 or 4 */
    EI_PB_ERR_WIRE_TYPE,   /* wire type 6 or 7 */
} ei_pb_err;

#define EI_PB_MAX_FIELD_NUMBER 536870911u /* 2^29 - 1 */
#define EI_PB_MAX_VARINT_BYTES 10

typedef struct ei_pb_reader {
    const uint8_t * p;   /* next byte to read */
    const uint8_t * end; /* one past the last readable byte */
} ei_pb_reader;

typedef struct ei_pb_field {
    uint32_t        number;
    uint32_t        wire; /* ei_pb_wire_type */
    uint64_t        u;    /* VARINT, FIXED32 or FIXED64 value; the bad length on EI_PB_ERR_LENGTH */
    const uint8_t * data; /* LEN payload, inside the reader's range */
    size_t          len;
} ei_pb_field;

/* p may be NULL only when n is 0. */
ei_pb_reader ei_pb_reader_make(const uint8_t * p, size_t n);
size_t       ei_pb_left(const ei_pb_reader * r);

ei_pb_err ei_pb_read_varint(ei_pb_reader * r, uint64_t * out);
ei_pb_err ei_pb_read_fixed32(ei_pb_reader * r, uint32_t * out);
ei_pb_err ei_pb_read_fixed64(ei_pb_reader * r, uint64_t * out);

/* Reads a tag into f->number and f->wire; refuses field number 0 and numbers above 2^29 - 1. */
ei_pb_err ei_pb_read_tag(ei_pb_reader * r, ei_pb_field * f);
/* Reads the value that follows a tag (f->wire); for LEN, checks the length against the bytes
 * left. Skipping an unknown field is reading its value and ignoring it. Refuses groups. */
ei_pb_err ei_pb_read_value(ei_pb_reader * r, ei_pb_field * f);

/* The number of varints in a packed payload, or EI_PB_ERR_TRUNCATED when its last byte still has
 * the continuation bit set. Over-long varints are caught when they are decoded. */
ei_pb_err ei_pb_count_varints(const uint8_t * p, size_t n, size_t * count);

/* Little-endian loads, for the elements of packed fixed-width payloads. */
uint32_t ei_pb_load32(const uint8_t * p);
uint64_t ei_pb_load64(const uint8_t * p);

/* Describes err in words ("length 4000 exceeds the 12 bytes left"), given the reader and field
 * of the read that failed. Always NUL-terminates buf (cap > 0). */
void ei_pb_strerror(ei_pb_err err, const ei_pb_reader * r, const ei_pb_field * f, char * buf, size_t cap);

#endif
