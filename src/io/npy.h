/* NumPy .npy (format 1.0 - 3.0) reading and writing, little-endian, C order. */
#ifndef EI_IO_NPY_H
#define EI_IO_NPY_H

#include "core/tensor.h"

ei_status * ei_npy_decode(const uint8_t * data, size_t size, const char * what, ei_tensor ** out);
/* Encodes t as .npy 1.0 into a malloc'd buffer. */
ei_status * ei_npy_encode(const ei_tensor * t, uint8_t ** out, size_t * out_size);

#endif
