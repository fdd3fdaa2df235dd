/* ei_session: the execution state for one model. One thread at a time uses a session; several
 * sessions may share one model. */
#ifndef EDGEINFER_SESSION_H
#define EDGEINFER_SESSION_H

#include <stdint.h>

#include "edgeinfer/api.h"
#include "edgeinfer/model.h"
#include "edgeinfer/status.h"
#include "edgeinfer/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ei_session ei_session;

typedef struct ei_session_options {
    uint32_t size;             /* sizeof(ei_session_options); set by ei_session_options_default() */
    int32_t  n_threads;        /* worker threads; 0 = ei_cpu_cores() */
    uint64_t max_memory_bytes; /* refuse models whose tensor arena needs more; 0 = the machine's RAM */
} ei_session_options;

EI_API ei_session_options ei_session_options_default(void);

/* The cores this process may use, the default thread count: the online cores, limited by the
 * affinity mask (taskset, docker --cpuset-cpus) and by a cgroup CPU quota (docker --cpus, a
 * Kubernetes CPU limit), rounded up. At least 1. */
EI_API int32_t ei_cpu_cores(void);

/* model must outlive the session. opt may be NULL. The caller owns *out. Fails with
 * EI_CODE_OUT_OF_MEMORY, before allocating the tensors, when the model's planned arena of run-time
 * tensors needs more than opt->max_memory_bytes. */
EI_API EI_NODISCARD ei_status * ei_session_create(const ei_model * model, const ei_session_options * opt,
                                                  ei_session ** out);
EI_API void                     ei_session_destroy(ei_session * s); /* NULL-safe */

/* Copies t into the named input. The dtype must match and the shape must equal the model's. */
EI_API EI_NODISCARD ei_status * ei_session_set_input(ei_session * s, const char * name, const ei_tensor * t);
/* Runs the network on the inputs set so far; every input must have been set once. */
EI_API EI_NODISCARD ei_status * ei_session_run(ei_session * s);
/* Bytes the session holds for a run: the arena of run-time tensors plus its own bookkeeping
 * (constants, which the model holds, and kernels' packed weights excluded). */
EI_API size_t ei_session_memory_bytes(const ei_session * s);

/* Where the run-time tensors' memory goes. Every tensor is a view into one arena; tensors that are
 * never alive at the same step share bytes (docs/memory.md). Sizes are rounded up to 64 bytes. */
typedef struct ei_session_memory {
    size_t  arena_bytes;     /* the one buffer all run-time tensors live in */
    size_t  unplanned_bytes; /* the same tensors each in a buffer of its own, as without planning */
    size_t  peak_live_bytes; /* the most tensor bytes alive at one step: no plan can use less */
    size_t  other_bytes;     /* the session's bookkeeping: tensor headers, per-step pointer arrays */
    int32_t n_tensors;       /* run-time tensors (graph inputs and outputs of the steps) */
    int32_t n_in_place;      /* steps (Reshape, Identity, ...) whose output reuses their input's bytes */
} ei_session_memory;
EI_API void ei_session_memory_stats(const ei_session * s, ei_session_memory * out);
/* Output i of the last run, borrowed: valid until the next run or ei_session_destroy. */
EI_API const ei_tensor * ei_session_output(const ei_session * s, int32_t i);

#ifdef __cplusplus
}
#endif
#endif
