/* The memory plan: every run-time tensor of a session is a view into one arena, placed by
 * lifetime so that tensors that are never alive at the same step share bytes. The arena then
 * stays near the largest set of tensors alive at once instead of the sum of all of them. */
#ifndef EI_RUNTIME_MEMPLAN_H
#define EI_RUNTIME_MEMPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "ir/graph.h"

#define EI_MEMPLAN_ALIGN 64 /* every buffer starts on a cache line, for vector kernels */

/* One buffer in the arena: a run-time value, or several when an in-place step shares its input's
 * buffer with its output. Steps are numbered 0..n_steps-1; first == -1 means "before step 0" (graph
 * inputs, written by ei_session_set_input) and last == n_steps "after the last step" (graph
 * outputs, read after the run). Alive during [first, last], both ends included. */
typedef struct ei_mem_buffer {
    size_t  bytes; /* rounded up to EI_MEMPLAN_ALIGN */
    int32_t first, last;
    size_t  offset; /* in the arena; set by ei_memplan_place */
} ei_mem_buffer;

typedef struct ei_memplan {
    ei_mem_buffer * buffers;
    int32_t         n_buffers;
    int32_t *       buffer_of;       /* per value id: its buffer, or -1 (constant or not run) */
    int32_t         n_in_place;      /* steps whose output shares its input's buffer */
    size_t          arena_bytes;     /* what the placed buffers span */
    size_t          unplanned_bytes; /* every value in its own buffer, as before planning */
    size_t          peak_live_bytes; /* the most bytes alive at one step: no placement can use less */
} ei_memplan;

/* Plans the values that steps[0..n_steps) (node indices, in run order) read and write, plus the
 * graph inputs. in_place[i] (may be NULL) is -1, or k when step i's kernel accepts an output that
 * is its input k (same bytes, same size); the plan then shares the buffer when input k is a
 * run-time value that nothing reads after step i. Fails on sizes that overflow; the caller frees
 * *out with ei_memplan_free, also on failure. */
ei_status * ei_memplan_build(const ei_graph * g, const int32_t * steps, int32_t n_steps, const int32_t * in_place,
                             ei_memplan * out);
void        ei_memplan_free(ei_memplan * p);

/* Greedy placement: buffers by size, largest first, each at the lowest offset that no placed
 * buffer alive at an overlapping step occupies. Sets every offset and *arena_bytes. */
ei_status * ei_memplan_place(ei_mem_buffer * b, int32_t n, size_t * arena_bytes);

#endif
