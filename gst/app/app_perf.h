/* Measurement for `edgeinfer run`: frames per source (deepstream-app's **PERF lines) and the
 * latency of each stage (decode, pre-process, inference, post-process, OSD, encode), read from pad
 * probes on the running pipeline (docs/app-run.md, "Performance report"). */
#ifndef EI_APP_PERF_H
#define EI_APP_PERF_H

#include <stdbool.h>
#include <stdio.h>

#include <gst/gst.h>

#define EI_APP_PERF_MAX_SOURCES 64

typedef struct ei_app_perf ei_app_perf;

/* Probes every element of pipeline that matters (and those added later, e.g. inside decodebin).
 * Frames are counted per source at the first of: infer's src pad (GstEiFrameMeta source_id),
 * demux's src_<N> pads, mux's sink_<N> pads, the video src pads of the src<N> elements. */
ei_app_perf * ei_app_perf_new(GstElement * pipeline);
void          ei_app_perf_free(ei_app_perf * perf); /* NULL-safe; the pipeline (referenced) must be stopped */

/* The monotonic time (µs) of the last buffer that left source id (0: none yet), for stall
 * detection; and resets it (a restarted source starts its clock again). */
gint64 ei_app_perf_last_data_us(ei_app_perf * perf, int id);
void   ei_app_perf_touch_source(ei_app_perf * perf, int id);

/* Frames counted so far, over every source (--max-frames). */
guint64 ei_app_perf_frames(ei_app_perf * perf);
guint64 ei_app_perf_source_frames(ei_app_perf * perf, int id); /* of source id */

/* Writes deepstream-app's two lines: "**PERF:  FPS 0 (Avg)\tFPS 1 (Avg)\t" and the values,
 * the FPS since the previous call and the average since each source's first frame. */
void ei_app_perf_print_interval(ei_app_perf * perf, FILE * f);
/* Marks the end of the run (the wall time stops here). */
void ei_app_perf_finish(ei_app_perf * perf);
/* The final report: totals, per-source FPS and the per-stage latency table. */
void ei_app_perf_print_report(ei_app_perf * perf, FILE * f);
/* The same as JSON; false with errno set when path cannot be written. */
bool ei_app_perf_write_json(ei_app_perf * perf, const char * path);

#endif
