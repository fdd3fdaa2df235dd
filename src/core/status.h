/* Building and propagating ei_status inside the library. */
#ifndef EI_CORE_STATUS_H
#define EI_CORE_STATUS_H

#include <stdio.h>
#include <stdlib.h>

#include "edgeinfer/status.h"

/* Creates a status; never returns NULL (falls back to a static out-of-memory status). */
ei_status * ei_errorf(ei_code code, const char * fmt, ...) EI_PRINTF(2, 3);
/* Prefixes context to st's message ("loading x.onnx: <message>") and returns st. NULL stays NULL. */
ei_status * ei_status_wrapf(ei_status * st, const char * fmt, ...) EI_PRINTF(2, 3);
/* The static out-of-memory status; ei_status_destroy ignores it. */
ei_status * ei_status_oom(void);

#define EI_TRY(expr)                                                                                                   \
    do {                                                                                                               \
        ei_status * ei_try_st_ = (expr);                                                                               \
        if (ei_try_st_) return ei_try_st_;                                                                             \
    } while (0)

/* Internal invariants only (never for input-dependent conditions); on in release builds. */
#define EI_ASSERT(cond)                                                                                                \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "edgeinfer: internal error at %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#endif
