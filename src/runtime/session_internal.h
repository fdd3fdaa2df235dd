/* Library-internal hooks into a session, for tools that need more than its outputs. */
#ifndef EI_RUNTIME_SESSION_INTERNAL_H
#define EI_RUNTIME_SESSION_INTERNAL_H

#include "edgeinfer/session.h"
#include "ir/graph.h"

/* Called by ei_session_run after each node with the node's outputs (out[k] NULL for an omitted
 * output), in execution order. The tensors are the session's own, valid only during the call
 * (their memory is reused by later nodes). Returning a status stops the run with it. INT8
 * calibration collects activation ranges this way.
 * The observer may also change the values of the tensors it is shown, in place, before the nodes
 * that read them run (the sensitivity analysis, src/quant/sensitivity.c, fake-quantises a
 * convolution's input this way and restores it after that node). It must not change their
 * shape, dtype or data pointer. A tensor stays valid (same memory, not reused) until its last
 * reader has run, so a pointer kept from an earlier call may be written until then. */
typedef ei_status * (*ei_session_observer)(void * user, const ei_graph * g, const ei_node * node,
                                           const ei_tensor * const * out);

/* fn NULL removes the observer. */
void ei_session_set_observer(ei_session * s, ei_session_observer fn, void * user);
/* The graph the session executes (the model's optimised graph). */
const ei_graph * ei_session_graph(const ei_session * s);

#endif
