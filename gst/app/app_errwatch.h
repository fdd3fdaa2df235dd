/* Errors posted by elements inside the sources, seen when they are posted, before a bin can drop
 * them (docs/app-run.md, "Sources that stop without a word").
 *
 * decodebin (gstdecodebin2 in GStreamer 1.22) keeps back the errors of an element it is still
 * setting to PAUSED, so that it can try another one, and throws them away when that state change
 * succeeds. A demuxer that fails at once (qtdemux on an MP4 cut short: "no playable streams") can
 * post its error inside that window; it then never reaches the pipeline's bus, the source goes
 * silent, and the pipeline waits for its first frame for ever. A tracer hook on
 * element-post-message-pre sees every error as it is posted, so the runner can act on one that
 * never arrived. */
#ifndef EI_APP_ERRWATCH_H
#define EI_APP_ERRWATCH_H

#include <stdbool.h>

#include <gst/gst.h>

/* Starts watching (once per process; later calls do nothing). GStreamer wants tracers installed
 * before any pipeline goes to PAUSED. false: this GStreamer has no tracer hooks (nothing is seen). */
bool ei_app_errwatch_install(void);

/* The latest error posted after since_us (monotonic µs) by an element inside bin (bin itself
 * excluded: its own errors reach the bus), as "element: message" (g_free it), with its time in
 * *when_us; NULL when none. */
char * ei_app_errwatch_latest(GstElement * bin, gint64 since_us, gint64 * when_us);

/* Forgets the errors seen so far and the elements they came from (at the end of a run). */
void ei_app_errwatch_clear(void);

#endif
