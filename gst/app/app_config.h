/* The application config of `edgeinfer run APP.ini`: deepstream-app's INI groups and keys with
 * their meaning (docs/app-config.md), plus what deepstream-app lacks (RTP/UDP H.264/H.265 sources,
 * image folders, reconnect with back-off). Parsed once into plain structs; the pipeline builder
 * (app_pipeline.h) and the runner (app_run.h) read only these. */
#ifndef EI_APP_CONFIG_H
#define EI_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/status.h"

#define EI_APP_MAX_SOURCES 64
#define EI_APP_MAX_SINKS   16

/* deepstream-app's type codes where it has them; ours from 100 up. */
typedef enum ei_app_source_type {
    EI_APP_SOURCE_CAMERA_V4L2 = 1,
    EI_APP_SOURCE_URI = 2,
    EI_APP_SOURCE_MULTI_URI = 3, /* num-sources copies of uri */
    EI_APP_SOURCE_RTSP = 4,
    EI_APP_SOURCE_UDP_RTP = 100,   /* udpsrc port=N, RTP H.264 or H.265 (codec key) */
    EI_APP_SOURCE_IMAGE_DIR = 101, /* a folder of JPEG/PNG images, in name order */
} ei_app_source_type;

typedef enum ei_app_codec { EI_APP_CODEC_H264 = 1, EI_APP_CODEC_H265 = 2, EI_APP_CODEC_MPEG4 = 3 } ei_app_codec;

typedef struct ei_app_source {
    int                source_group; /* N of [sourceN] */
    ei_app_source_type type;
    char *             uri;         /* URI/RTSP: file:// or rtsp:// (a plain path is made a file:// URI) */
    int                num_sources; /* MultiURI: copies of uri (>= 1) */
    char *             dir;         /* IMAGE_DIR: the folder */
    int                camera_width, camera_height, camera_fps_n, camera_fps_d;
    char *             camera_v4l2_dev_node; /* V4L2: /dev/videoN (default /dev/video0) */
    int                udp_port;             /* UDP_RTP */
    ei_app_codec       codec;                /* UDP_RTP: H264 (default) or H265 */
    int                drop_frame_interval;  /* keep 1 of every N decoded frames (0/1: all) */
    int                latency_ms;           /* RTSP jitter buffer (default 100) */
    int  rtsp_reconnect_interval_sec;        /* RTSP/UDP: stall timeout before reconnecting (default 10; 0 off) */
    int  rtsp_reconnect_attempts;            /* -1: forever (default) */
    int  select_rtp_protocol;                /* 0: UDP+TCP, 4: TCP only (deepstream-app codes) */
    bool file_loop;
    int  decoder_threads; /* ours: libav decoders' max-threads; -1: the app's choice (docs/app-config.md) */
    /* Added by the parser (not deepstream keys): */
    int first_stream; /* the source id (edgemux sink_N, edgedemux src_N, src<N>) of its first stream */
    int n_streams;    /* streams it feeds: num_sources for MULTI_URI, else 1 */
} ei_app_source;

typedef enum ei_app_sink_type {
    EI_APP_SINK_FAKE = 1,
    EI_APP_SINK_DISPLAY = 2, /* autovideosink */
    EI_APP_SINK_FILE = 3,
    EI_APP_SINK_UDP = 4, /* RTP over UDP (host, port); with rtsp-port also an RTSP server */
} ei_app_sink_type;

typedef struct ei_app_sink {
    int              sink_group; /* N of [sinkN] */
    ei_app_sink_type type;
    bool             sync;      /* default deepstream-app: sync=1 for display; we default 0 for fake/file */
    int              source_id; /* -1: the tiled/combined output; else only that source (link-to-demux) */
    int              container; /* FILE: 1 mp4, 2 mkv */
    ei_app_codec     codec;     /* FILE: H264, H265 or MPEG4 (MPEG-4 part 2); UDP: H264 or H265 */
    int              bitrate;   /* bits/s (deepstream-app's unit); 0: encoder default (MPEG4: constant quantizer) */
    int              iframeinterval;
    char *           output_file;
    char *           host; /* UDP: default 127.0.0.1 */
    int              udp_port;
    int              rtsp_port;     /* UDP: > 0 serves rtsp://HOST:PORT/ds-test as deepstream-app does */
    int              width, height; /* 0: as produced */
    /* Added by the parser: */
    bool link_to_demux; /* deepstream's link-to-demux: with [tiled-display] on, take source_id's stream */
} ei_app_sink;

typedef struct ei_app_config {
    char * path; /* the file, for messages; relative paths inside are resolved against its folder */

    /* [application] */
    bool   perf_measurement; /* enable-perf-measurement */
    int    perf_interval_sec;
    char * jsonl_output; /* our key `jsonl-output-file`: one JSON record per frame ("-" = stdout) */

    ei_app_source sources[EI_APP_MAX_SOURCES]; /* enabled [sourceN] groups, in N order */
    int           n_sources;

    /* [streammux] */
    int  mux_batch_size;              /* 0: the number of source streams */
    int  mux_batched_push_timeout_us; /* -1: wait for a full batch (default 40000) */
    int  mux_width, mux_height;       /* 0: frames kept at their size */
    bool mux_live_source;

    /* [primary-gie] */
    bool   gie_enabled;
    char * gie_config_file; /* resolved path */
    char * gie_model_engine_file;
    int    gie_batch_size; /* 0: the streammux batch size */
    int    gie_interval;
    int    gie_unique_id;

    /* [osd] */
    bool osd_enabled;
    int  osd_border_width;
    int  osd_text_size;
    bool osd_display_text;
    bool osd_display_mask;

    /* [tiled-display] */
    bool tiled_enabled;
    int  tiled_rows, tiled_columns, tiled_width, tiled_height;

    ei_app_sink sinks[EI_APP_MAX_SINKS]; /* enabled [sinkN] groups */
    int         n_sinks;

    /* Added by the parser: */
    int     n_streams;        /* total streams (source ids 0..n_streams-1) over every enabled source */
    bool    osd_display_bbox; /* [osd] display-bbox (default 1) */
    int     n_warnings;       /* the warnings also given to log, NULL-terminated */
    char ** warnings;
} ei_app_config;

/* Reads path. Unknown groups and keys are warnings naming the nearest known one (log, may be
 * NULL: stderr); a bad value or a missing required key is an error naming file, group, key and
 * value. The caller frees *out with ei_app_config_free. */
EI_NODISCARD ei_status * ei_app_config_load(const char * path, void (*log)(void * user, const char * msg), void * user,
                                            ei_app_config ** out);
/* The same from a string (fuzz target and tests); dir resolves relative paths. */
EI_NODISCARD ei_status * ei_app_config_parse(const char * text, size_t len, const char * name, const char * dir,
                                             void (*log)(void * user, const char * msg), void * user,
                                             ei_app_config ** out);
void                     ei_app_config_free(ei_app_config * cfg); /* NULL-safe */

#endif
