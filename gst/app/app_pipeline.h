/* The pipeline of `edgeinfer run APP.ini` as a gst-launch-1.0 description (docs/app-config.md,
 * "The pipeline"): what --print-pipeline shows and what the runner hands to gst_parse_launch, plus
 * the few things a description cannot say (the RTSP servers to start, the frame-drop probes, the
 * image folders to feed). */
#ifndef EI_APP_PIPELINE_H
#define EI_APP_PIPELINE_H

#include <gst/gst.h>

#include "app_config.h"

/* The description; g_free it. Element names: src<I> (source id I: edgemux's sink_I, edgedemux's
 * src_I), mux, infer, osd, json, demux, tiler, enc<N> and sink<N> for [sinkN]. */
EI_NODISCARD char * ei_app_pipeline_describe(const ei_app_config * cfg, ei_status ** err);

/* A value as one gst-launch token: "..." with '"' and '\' escaped. g_free it. */
char * ei_app_pipeline_quote(const char * value);

/* An RTSP server deepstream-app style: [sinkN] type=4 with rtsp-port serves rtsp://HOST:rtsp_port/ds-test
 * by re-reading its own RTP/UDP stream (launch is the gst-rtsp-server media factory's description). */
typedef struct ei_app_rtsp_server {
    int          sink_group; /* N of [sinkN] */
    int          rtsp_port;
    int          udp_port;
    const char * mount; /* "/ds-test" */
    char *       launch;
} ei_app_rtsp_server;

/* The servers to start (one per UDP sink with rtsp-port > 0); free with ei_app_rtsp_servers_free. */
ei_app_rtsp_server * ei_app_rtsp_servers(const ei_app_config * cfg, int * n);
void                 ei_app_rtsp_servers_free(ei_app_rtsp_server * servers, int n);

/* drop-frame-interval N > 1: the description puts `identity name=drop<I>` after source I's decoder;
 * this adds a probe on each one's src pad that passes the first of every N buffers and drops the rest.
 * Returns FALSE (and does nothing more) when an expected drop<I> is missing from pipeline. */
gboolean ei_app_pipeline_install_drops(GstElement * pipeline, const ei_app_config * cfg);

/* Decoded frames without a timestamp. A live RTP source can yield one (a depayloader or parser
 * output without PTS that the decoder cannot interpolate: RTP caps carry no frame rate), and one
 * such frame made mp4mux stop the whole run ("Buffer has no PTS") in a loaded CI run. Each stream's
 * edgemux sink pad gets a probe (ei_app_stamp_state): a frame without PTS takes the previous frame's
 * PTS + its duration (its own duration, else the previous one's); with no previous frame (or after
 * a new segment or flush) or no duration known, it is dropped before anything downstream sees it,
 * so the JSON Lines and the video stay frame for frame equal. */
typedef struct ei_app_stamp_state {
    GstClockTime last_pts, last_duration;
    guint64      stamped, dropped;
} ei_app_stamp_state;
void ei_app_stamp_reset(ei_app_stamp_state * st);
/* TRUE: keep *b (stamped in place when it had no PTS, made writable first); FALSE: drop it. */
gboolean ei_app_stamp_buffer(ei_app_stamp_state * st, GstBuffer ** b);
/* Adds the probe on mux's sink_<I> pads of every stream; FALSE when mux or a pad is missing. */
gboolean ei_app_pipeline_install_stamps(GstElement * pipeline, const ei_app_config * cfg);

/* The inference element's model copies (instances) and threads per copy on this machine: min(cores,
 * 4) single-threaded copies, more threads each beyond 4 cores (docs/app-run.md). */
void ei_app_pipeline_infer_threads(guint * threads, guint * copies);

/* The max-threads of source s's libav video decoders: its decoder-threads key, else 1 when
 * [primary-gie] is on and its copies x threads take every core (a frame-threaded decoder then only
 * adds hand-offs between threads competing for the same cores), else 0 (libav's choice). */
int ei_app_pipeline_decoder_threads(const ei_app_config * cfg, const ei_app_source * s);

/* What the description cannot say about the codecs:
 * - decoders: max-threads (ei_app_pipeline_decoder_threads, when > 0) on the avdec_* video decoders
 *   that the URI sources' uridecodebin src<I> and the RTSP sources' decodebin dec<I> create, as they
 *   are added (deep-element-added; again after a reconnect). UDP sources have it in the description.
 * - MPEG-4 file sinks: probes on enc<N> (avenc_mpeg4) that give each output buffer the time of its
 *   input frame (gst-libav 1.22.0 with libavcodec 59 pushes PTS = DTS = 2^63 ns, which mp4mux
 *   refuses; docs/app-config.md).
 * Returns FALSE when an expected src<I>/dec<I> bin or enc<N> is missing from pipeline. */
gboolean ei_app_pipeline_install_codecs(GstElement * pipeline, const ei_app_config * cfg);

#endif
