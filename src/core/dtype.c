#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/tensor.h"

static const struct {
    const char * name;
    size_t       size;
    int32_t      onnx;
} g_dtypes[EI_DTYPE_COUNT] = {
#define EI_X(e, name, size, onnx) [EI_DTYPE_##e] = {name, size, onnx},
    EI_DTYPE_LIST(EI_X)
#undef EI_X
};

const char * ei_dtype_name(ei_dtype dt) { return (unsigned)dt < EI_DTYPE_COUNT ? g_dtypes[dt].name : "invalid"; }

size_t ei_dtype_size(ei_dtype dt) { return (unsigned)dt < EI_DTYPE_COUNT ? g_dtypes[dt].size : 0; }

ei_dtype ei_dtype_from_onnx(int32_t onnx_type) {
    for (int i = 1; i < EI_DTYPE_COUNT; i++)
        if (g_dtypes[i].onnx == onnx_type) return (ei_dtype)i;
    return EI_DTYPE_UNDEFINED;
}

int32_t ei_dtype_to_onnx(ei_dtype dt) { return (unsigned)dt < EI_DTYPE_COUNT ? g_dtypes[dt].onnx : 0; }

bool ei_dtype_is_float(ei_dtype dt) {
    return dt == EI_DTYPE_F32 || dt == EI_DTYPE_F16 || dt == EI_DTYPE_BF16 || dt == EI_DTYPE_F64;
}

float ei_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 112) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ei_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx > 0x7f800000) return (uint16_t)(sign | 0x7e00 | ((absx >> 13) & 0x3ff)); /* NaN */
    if (absx >= 0x477ff000) return (uint16_t)(sign | 0x7c00);                         /* overflow -> inf */
    if (absx < 0x38800000) {                                                          /* subnormal or zero */
        if (absx < 0x33000000) return (uint16_t)sign;
        uint32_t e = absx >> 23, m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((absx >> 13) - (112u << 10));
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float ei_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float    f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ei_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
