/* The pipeline `edgeinfer run APP.ini` builds from an ei_app_config (app_pipeline.c). */
#ifndef EI_APP_PIPELINE_H
#define EI_APP_PIPELINE_H

#include "app_config.h"

/* A gst-launch description of the application's pipeline, with the element names the runner
 * (app_run.c) looks for: sources src<N>, mux, infer, osd, json, demux, tiler, encoders enc<K>,
 * sinks sink<K>. Returns a string the caller frees with g_free, or NULL with *err set. */
char * ei_app_pipeline_describe(const ei_app_config * cfg, ei_status ** err);

/* Which RTSP servers to start */

#endif
