/* Dtype-generic copy kernels shared by the data-movement operators (Transpose, Slice, Expand,
 * Concat, Split, Pad, Tile, DepthToSpace, ...). They work on raw bytes with an element size of
 * 1, 2, 4 or 8 (any other size falls back to memcpy per element), so every dtype, bool and
 * float16 included, goes through the same code. */
#ifndef EI_OPS_DATAMOVE_H
#define EI_OPS_DATAMOVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "edgeinfer/tensor.h"

/* Aim for at least this many bytes per parallel task: below it the wake-up costs more than the copy. */
#define EI_DM_GRAIN_BYTES ((int64_t)1 << 16)

/* The strided copy takes up to this many axes (Tile splits each axis in two). */
#define EI_DM_MAX_RANK (2 * EI_MAX_RANK)

/* dst (dense, row-major over dims) = src[sum_k i_k * strides[k]] for every index i < dims.
 * Strides are in elements and may be zero (broadcast) or negative (reversed slices); src points
 * at the element of index 0. Contiguous innermost runs are copied with memcpy; when the last axis
 * is strided but another is contiguous (transposes), square blocks keep reads and writes in cache.
 * Parallel when the copy is big. */
void ei_dm_strided_copy(void * dst, const void * src, size_t esize, int32_t rank, const int64_t * dims,
                        const int64_t * strides, ei_threadpool * pool);

/* dst = src permuted: dst's axis k is src's axis perm[k]. src is dense with in_dims. */
void ei_dm_transpose(void * dst, const void * src, size_t esize, int32_t rank, const int64_t * in_dims,
                     const int32_t * perm, ei_threadpool * pool);

/* rows runs of run_bytes: dst + r * dst_pitch <- src + r * src_pitch (pitches in bytes). */
void ei_dm_copy_rows(void * dst, int64_t dst_pitch, const void * src, int64_t src_pitch, int64_t run_bytes,
                     int64_t rows, ei_threadpool * pool);

/* Plain memcpy, split across the pool when it is big. */
void ei_dm_copy(void * dst, const void * src, size_t nbytes, ei_threadpool * pool);

/* Fills count elements of esize bytes with the element at value. */
void ei_dm_fill(void * dst, const void * value, size_t esize, int64_t count);

#endif
