/* Library-internal hooks into a session, for tools that need more than its outputs. */
#ifndef EI_RUNTIME_SESSION_INTERNAL_H
#define EI_RUNTIME_SESSION_INTERNAL_H

#include "edgeinfer/session.h"
#include "ir/graph.h"

/* Called by ei_session_run after each node with the node's outputs (out[k] NULL for an omitted
 * output), in execution order. The tensors are the session's own, valid only during the call
 * (their memory is reused by later nodes). Returning a status stops the run with it. INT8
 * calibration collects activation ranges this way. */
typedef ei_status * (*ei_session_observer)(void * user, const ei_graph * g, const ei_node * node,
                                           const ei_tensor * const * out);

/* fn NULL removes the observer. */
void ei_session_set_observer(ei_session * s, ei_session_observer fn, void * user);
/* The graph the session executes (the model's optimised graph). */
const ei_graph * ei_session_graph(const ei_session * s);

#endif
