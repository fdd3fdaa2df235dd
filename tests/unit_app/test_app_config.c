/* The application config: a deepstream-app style file with every group, name checks (nearest-name
 * warnings, ignored deepstream keys), bad values named by group/key/value, relative paths. */
#include <glib.h>
#include <glib/gstdio.h>

#include "app_config.h"
#include "ei_test.h"

/* Warnings collected by the log callback. */
static GString * warnings;

static void collect(void * user, const char * msg) {
    (void)user;
    g_string_append(warnings, msg);
    g_string_append_c(warnings, '\n');
}

static ei_status * parse(const char * text, ei_app_config ** out) {
    g_string_truncate(warnings, 0);
    return ei_app_config_parse(text, strlen(text), "app.ini", "/data/cfg", collect, NULL, out);
}

/* Like deepstream-app's source30_1080p_dec_infer-resnet_tiled_display_int8.txt, cut to 4 sources. */
static const char * const deepstream_like =
    "[application]\n"
    "enable-perf-measurement=1\n"
    "perf-measurement-interval-sec=5\n"
    "#gie-kitti-output-dir=streamscl\n"
    "\n"
    "[tiled-display]\n"
    "enable=1\n"
    "rows=2\n"
    "columns=2\n"
    "width=1280\n"
    "height=720\n"
    "gpu-id=0\n"
    "nvbuf-memory-type=0\n"
    "\n"
    "[source0]\n"
    "enable=1\n"
    "type=3\n"
    "uri=file://../../streams/sample_1080p_h264.mp4\n"
    "num-sources=2\n"
    "gpu-id=0\n"
    "cudadec-memtype=0\n"
    "\n"
    "[source1]\n"
    "enable=1\n"
    "type=3\n"
    "uri=file:///opt/streams/sample_1080p_h264.mp4\n"
    "num-sources=2\n"
    "drop-frame-interval=2\n"
    "\n"
    "[source2]\n"
    "enable=0\n"
    "type=4\n"
    "uri=rtsp://example/stream\n"
    "\n"
    "[sink0]\n"
    "enable=1\n"
    "type=2\n"
    "sync=1\n"
    "source-id=0\n"
    "gpu-id=0\n"
    "nvbuf-memory-type=0\n"
    "\n"
    "[sink1]\n"
    "enable=1\n"
    "type=3\n"
    "container=1\n"
    "codec=1\n"
    "enc-type=0\n"
    "sync=0\n"
    "bitrate=2000000\n"
    "profile=0\n"
    "output-file=out.mp4\n"
    "source-id=0\n"
    "\n"
    "[sink2]\n"
    "enable=1\n"
    "type=4\n"
    "codec=2\n"
    "sync=0\n"
    "bitrate=4000000\n"
    "rtsp-port=8554\n"
    "udp-port=5400\n"
    "\n"
    "[osd]\n"
    "enable=1\n"
    "gpu-id=0\n"
    "border-width=1\n"
    "text-size=15\n"
    "text-color=1;1;1;1;\n"
    "text-bg-color=0.3;0.3;0.3;1\n"
    "font=Serif\n"
    "show-clock=0\n"
    "nvbuf-memory-type=0\n"
    "\n"
    "[streammux]\n"
    "gpu-id=0\n"
    "live-source=0\n"
    "batch-size=4\n"
    "batched-push-timeout=40000\n"
    "width=1920\n"
    "height=1080\n"
    "enable-padding=0\n"
    "nvbuf-memory-type=0\n"
    "\n"
    "[primary-gie]\n"
    "enable=1\n"
    "gpu-id=0\n"
    "model-engine-file=../../models/Primary_Detector/resnet10.caffemodel_b30_gpu0_int8.engine\n"
    "batch-size=4\n"
    "bbox-border-color0=1;0;0;1\n"
    "bbox-border-color1=0;1;1;1\n"
    "interval=0\n"
    "gie-unique-id=1\n"
    "nvbuf-memory-type=0\n"
    "config-file=config_infer_primary.txt\n"
    "\n"
    "[tracker]\n"
    "enable=0\n"
    "\n"
    "[tests]\n"
    "file-loop=0\n";

static void test_deepstream_like(void) {
    ei_app_config * cfg = NULL;
    EI_CHECK_OK(parse(deepstream_like, &cfg));
    if (!cfg) return;
    EI_CHECK(cfg->perf_measurement && cfg->perf_interval_sec == 5);
    EI_CHECK(cfg->n_sources == 2 && cfg->n_streams == 4);
    EI_CHECK(cfg->sources[0].type == EI_APP_SOURCE_MULTI_URI && cfg->sources[0].num_sources == 2);
    EI_CHECK(cfg->sources[0].first_stream == 0 && cfg->sources[1].first_stream == 2);
    EI_CHECK(!strcmp(cfg->sources[0].uri, "file:///streams/sample_1080p_h264.mp4"));
    EI_CHECK(!strcmp(cfg->sources[1].uri, "file:///opt/streams/sample_1080p_h264.mp4"));
    EI_CHECK(cfg->sources[1].drop_frame_interval == 2);
    EI_CHECK(cfg->sources[0].latency_ms == 100 && cfg->sources[0].rtsp_reconnect_attempts == -1);
    EI_CHECK(cfg->mux_batch_size == 4 && cfg->mux_batched_push_timeout_us == 40000);
    EI_CHECK(cfg->mux_width == 1920 && cfg->mux_height == 1080 && !cfg->mux_live_source);
    EI_CHECK(cfg->gie_enabled && !strcmp(cfg->gie_config_file, "/data/cfg/config_infer_primary.txt"));
    EI_CHECK(!strcmp(cfg->gie_model_engine_file, "/models/Primary_Detector/resnet10.caffemodel_b30_gpu0_int8.engine"));
    EI_CHECK(cfg->gie_batch_size == 4 && cfg->gie_interval == 0 && cfg->gie_unique_id == 1);
    EI_CHECK(cfg->osd_enabled && cfg->osd_border_width == 1 && cfg->osd_text_size == 15);
    EI_CHECK(cfg->osd_display_text && cfg->osd_display_bbox);
    EI_CHECK(cfg->tiled_enabled && cfg->tiled_rows == 2 && cfg->tiled_columns == 2);
    EI_CHECK(cfg->tiled_width == 1280 && cfg->tiled_height == 720);
    EI_CHECK(cfg->n_sinks == 3);
    EI_CHECK(cfg->sinks[0].type == EI_APP_SINK_DISPLAY && cfg->sinks[0].sync && cfg->sinks[0].source_id == -1);
    EI_CHECK(cfg->sinks[1].type == EI_APP_SINK_FILE && !strcmp(cfg->sinks[1].output_file, "out.mp4"));
    EI_CHECK(cfg->sinks[1].bitrate == 2000000 && cfg->sinks[1].container == 1 && cfg->sinks[1].sink_group == 1);
    EI_CHECK(cfg->sinks[2].type == EI_APP_SINK_UDP && cfg->sinks[2].codec == EI_APP_CODEC_H265);
    EI_CHECK(cfg->sinks[2].rtsp_port == 8554 && cfg->sinks[2].udp_port == 5400);
    EI_CHECK(!strcmp(cfg->sinks[2].host, "127.0.0.1"));
    /* Ignored deepstream keys say why; the tiled sinks' source-id is ignored, with the reason. */
    EI_CHECK(strstr(warnings->str, "app.ini: [source0] gpu-id is ignored: there is no GPU"));
    EI_CHECK(strstr(warnings->str, "[sink1] enc-type is ignored: a hardware encoder setting"));
    EI_CHECK(strstr(warnings->str, "[primary-gie] bbox-border-color0 is ignored"));
    EI_CHECK(strstr(warnings->str, "[tracker] is ignored: tracking is not supported"));
    EI_CHECK(strstr(warnings->str, "[sink0] source-id is ignored: the sink shows the tiled output"));
    EI_CHECK(!strstr(warnings->str, "unknown"));
    EI_CHECK(cfg->n_warnings > 10 && cfg->warnings[cfg->n_warnings] == NULL);
    ei_app_config_free(cfg);
}

static void test_unknown_names(void) {
    ei_app_config * cfg = NULL;
    EI_CHECK_OK(parse("[sorce0]\ntype=2\n[source0]\ntype=uri\nuri=a.mp4\nlatncy=200\n[sink0]\ntype=1\nsycn=0\n"
                      "[primary-gei]\n[sink1]\ntype=fake\n[streammux]\nbatched-push-timout=10\n[zzzzzz]\n",
                      &cfg));
    EI_CHECK(strstr(warnings->str, "app.ini: unknown group [sorce0] ignored; did you mean [source0]?"));
    EI_CHECK(strstr(warnings->str, "app.ini: [source0] unknown key 'latncy'; did you mean 'latency'?"));
    EI_CHECK(strstr(warnings->str, "[sink0] unknown key 'sycn'; did you mean 'sync'?"));
    EI_CHECK(strstr(warnings->str, "unknown group [primary-gei] ignored; did you mean [primary-gie]?"));
    EI_CHECK(
        strstr(warnings->str, "[streammux] unknown key 'batched-push-timout'; did you mean 'batched-push-timeout'?"));
    EI_CHECK(strstr(warnings->str, "unknown group [zzzzzz] ignored (edgeinfer reads"));
    if (cfg) {
        EI_CHECK(cfg->n_sinks == 2 && !cfg->gie_enabled && cfg->sources[0].latency_ms == 100);
        EI_CHECK(cfg->sinks[0].source_id == 0 && cfg->sinks[1].sink_group == 1);
    }
    ei_app_config_free(cfg);
}

static void test_bad_values(void) {
    ei_app_config * cfg = NULL;
    g_string_truncate(warnings, 0);
#define BAD(text, substr) EI_CHECK_ERROR(parse(text, &cfg), EI_CODE_INVALID_ARGUMENT, substr)
    BAD("[source0]\ntype=9\nuri=a\n", "app.ini: [source0] type = '9': expected one of 1 (camera), 2 (uri)");
    BAD("[source0]\ntype=5\n", "[source0] type = '5': a CSI camera (Jetson-only) is not supported");
    BAD("[source0]\ntype=2\n", "app.ini: [source0] uri is required for type=2");
    BAD("[source0]\nuri=a.mp4\n", "[source0] type is required");
    BAD("[source0]\ntype=100\nudp-port=70000\n", "[source0] udp-port = '70000': out of range [1, 65535]");
    BAD("[source0]\ntype=100\nudp-port=abc\n", "[source0] udp-port = 'abc': not an integer");
    BAD("[source0]\ntype=100\ncodec=3\n", "[source0] codec = '3': MPEG-4 part 2 (codec=3) is not supported; supported: "
                                          "1 (h264), 2 (h265)");
    BAD("[source0]\ntype=4\nuri=http://x/y\n", "[source0] uri = 'http://x/y': type=4 (rtsp) needs an rtsp://");
    BAD("[source0]\ntype=101\n", "[source0] dir is required for type=101");
    BAD("[source0]\ntype=2\nuri=a.mp4\nenable=yes\n", "[source0] enable = 'yes': not a boolean");
    BAD("[source0]\nenable=0\ntype=2\nuri=a\n", "app.ini: no enabled source");
    BAD("", "no enabled source");
    BAD("[source0]\ntype=100\ncodec=mpeg4\n", "[source0] codec = 'mpeg4': MPEG-4 part 2 (codec=3) is not supported");
    /* MPEG-4 part 2 is for file sinks only (deepstream-app's rule): refused for UDP, by number or name. */
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=4\ncodec=3\n",
        "[sink0] codec = '3': MPEG-4 part 2 (codec=3) is for file sinks (type=3) only, as in deepstream-app; type=4 "
        "(udp) streams H.264 or H.265; supported: 1 (h264), 2 (h265)");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=udp\ncodec=MPEG4\n",
        "[sink0] codec = 'MPEG4': MPEG-4 part 2 (codec=3) is for file sinks (type=3) only");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=3\ncodec=4\noutput-file=o.mp4\n",
        "[sink0] codec = '4': expected one of 1 (h264), 2 (h265), 3 (mpeg4)");
    BAD("[source0]\ntype=2\nuri=a\ndecoder-threads=-1\n", "[source0] decoder-threads = '-1': out of range [0, 256]");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=3\n", "[sink0] output-file is required for type=3");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=4\nudp-port=0\n", "[sink0] udp-port = '0': out of range [1, 65535]");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=4\nrtsp-port=99999\n", "[sink0] rtsp-port = '99999'");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=6\n", "[sink0] type = '6': a message broker sink (type=6)");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=1\nsource-id=3\n", "[sink0] source-id = '3': there are 1 source");
    BAD("[source0]\ntype=2\nuri=a\n[sink0]\ntype=3\ncontainer=4\noutput-file=x\n", "[sink0] container = '4'");
    BAD("[source0]\ntype=2\nuri=a\n[primary-gie]\nenable=1\n", "app.ini: [primary-gie] config-file is required");
    BAD("[source0]\ntype=2\nuri=a\n[primary-gie]\nconfig-file=x.ini\ninterval=-1\n",
        "[primary-gie] interval = '-1': out of range");
    BAD("[source0]\ntype=2\nuri=a\n[streammux]\nwidth=-5\nheight=2\n", "[streammux] width = '-5': out of range");
    BAD("[source0]\ntype=2\nuri=a\n[streammux]\nwidth=640\n", "[streammux] width and height: give both");
    BAD("[source0]\ntype=2\nuri=a\n[application]\nperf-measurement-interval-sec=0\n",
        "[application] perf-measurement-interval-sec = '0': out of range [1, 3600]");
    BAD("[source0]\ntype=2\nuri=a\n[osd]\nborder-width=x\n", "[osd] border-width = 'x': not an integer");
    BAD("[source0]\ntype=2\nuri=a\n[tiled-display]\nwidth=8\n", "[tiled-display] width = '8': out of range");
    BAD("[source0]\ntype=3\nuri=a\nnum-sources=65\n", "[source0] num-sources = '65': out of range [1, 64]");
    BAD("[source0\n", "app.ini: not a valid INI file");
#undef BAD
    EI_CHECK(cfg == NULL);
}

static void test_defaults_and_paths(void) {
    ei_app_config * cfg = NULL;
    EI_CHECK_OK(parse("[source0]\ntype=uri\nuri=../videos/my clip.mp4\n"
                      "[source1]\ntype=101\ndir=imgs\n"
                      "[source2]\ntype=udp\ncodec=h265\nlatency=50\n"
                      "[source3]\ntype=1\ncamera-v4l2-dev-node=2\ncamera-width=640\ncamera-height=480\n"
                      "[source4]\ntype=4\nuri=rtsp://cam/live\nselect-rtp-protocol=4\nrtsp-reconnect-interval-sec=3\n"
                      "[primary-gie]\nconfig-file=../../configs/yolox_nano.ini\n"
                      "[application]\njsonl-output-file=out/det.jsonl\n[tests]\nfile-loop=1\n",
                      &cfg));
    if (!cfg) return;
    EI_CHECK(cfg->n_streams == 5);
    EI_CHECK(!strcmp(cfg->sources[0].uri, "file:///data/videos/my%20clip.mp4"));
    EI_CHECK(cfg->sources[0].file_loop && cfg->sources[1].file_loop);
    EI_CHECK(!strcmp(cfg->sources[1].dir, "/data/cfg/imgs"));
    EI_CHECK(cfg->sources[2].type == EI_APP_SOURCE_UDP_RTP && cfg->sources[2].udp_port == 5000);
    EI_CHECK(cfg->sources[2].codec == EI_APP_CODEC_H265 && cfg->sources[2].latency_ms == 50);
    EI_CHECK(!strcmp(cfg->sources[3].camera_v4l2_dev_node, "/dev/video2") && cfg->sources[3].camera_width == 640);
    EI_CHECK(cfg->sources[4].select_rtp_protocol == 4 && cfg->sources[4].rtsp_reconnect_interval_sec == 3);
    EI_CHECK(!strcmp(cfg->gie_config_file, "/configs/yolox_nano.ini") && cfg->gie_unique_id == 1);
    EI_CHECK(!strcmp(cfg->jsonl_output, "out/det.jsonl")); /* outputs stay relative to the working folder */
    for (int i = 0; i < 5; i++) EI_CHECK(cfg->sources[i].decoder_threads == -1); /* the app's choice */
    EI_CHECK(cfg->perf_interval_sec == 5 && cfg->mux_batch_size == 0 && cfg->mux_batched_push_timeout_us == 40000);
    EI_CHECK(!cfg->osd_enabled && !cfg->tiled_enabled);
    /* No sink: a fake sink is added, with a note. */
    EI_CHECK(cfg->n_sinks == 1 && cfg->sinks[0].type == EI_APP_SINK_FAKE && cfg->sinks[0].source_id == 0);
    EI_CHECK(strstr(warnings->str, "no enabled [sinkN] group: adding a fake sink (type=1)"));
    ei_app_config_free(cfg);

    /* Tiled with rows/columns left out: the near-square grid. */
    EI_CHECK_OK(
        parse("[source0]\ntype=3\nuri=/v.mp4\nnum-sources=5\n[tiled-display]\nenable=1\n[sink0]\ntype=1\n", &cfg));
    if (cfg) EI_CHECK(cfg->tiled_columns == 3 && cfg->tiled_rows == 2 && cfg->sinks[0].source_id == -1);
    ei_app_config_free(cfg);
    /* Several sources, no tiler, a sink without source-id: source 0, with a note. */
    EI_CHECK_OK(parse("[source0]\ntype=3\nuri=/v.mp4\nnum-sources=2\n[sink0]\ntype=1\n", &cfg));
    EI_CHECK(strstr(warnings->str, "[sink0] no source-id: the sink shows source 0 only"));
    ei_app_config_free(cfg);
}

/* codec=3 (MPEG-4 part 2) for file sinks, by number and by name, with its bitrate and GOP; decoder-threads
 * per source and from [source-attr-all]. */
static void test_mpeg4_and_decoder_threads(void) {
    ei_app_config * cfg = NULL;
    EI_CHECK_OK(parse("[source0]\ntype=2\nuri=a.mp4\ndecoder-threads=0\n[source1]\ntype=4\nuri=rtsp://x/y\n"
                      "decoder-threads=3\n"
                      "[sink0]\ntype=3\ncodec=3\nbitrate=2500000\niframeinterval=25\noutput-file=o.mp4\nsource-id=0\n"
                      "[sink1]\ntype=file\ncontainer=mkv\ncodec=mpeg4\noutput-file=o.mkv\nsource-id=1\n",
                      &cfg));
    if (cfg) {
        EI_CHECK(cfg->sources[0].decoder_threads == 0 && cfg->sources[1].decoder_threads == 3);
        EI_CHECK(cfg->sinks[0].codec == EI_APP_CODEC_MPEG4 && cfg->sinks[0].bitrate == 2500000 &&
                 cfg->sinks[0].iframeinterval == 25 && cfg->sinks[0].container == 1);
        EI_CHECK(cfg->sinks[1].codec == EI_APP_CODEC_MPEG4 && cfg->sinks[1].container == 2);
        EI_CHECK(!strstr(warnings->str, "decoder-threads")); /* a known key */
    }
    ei_app_config_free(cfg);
    cfg = NULL;
    EI_CHECK_OK(parse("[source-list]\nlist=a.mp4;b.mp4\n[source-attr-all]\ndecoder-threads=2\n"
                      "[source1]\ndecoder-threads=1\n",
                      &cfg));
    if (cfg)
        EI_CHECK(cfg->n_sources == 2 && cfg->sources[0].decoder_threads == 2 && cfg->sources[1].decoder_threads == 1);
    ei_app_config_free(cfg);
}

/* [source-list] (deepstream-app): one source per list entry, [source-attr-all]'s keys for each,
 * [sourceK] overriding entry K; the type follows each URI. */
static void test_source_list(void) {
    ei_app_config * cfg = NULL;
    EI_CHECK_OK(parse("[source-list]\nnum-source-bins=4\nlist=file://../v/a.mp4;b.mp4;rtsp://cam/live;usb:2;\n"
                      "sensor-id-list=s0;s1;s2;s3\nlisst=x\n"
                      "[source-attr-all]\nenable=1\ntype=3\nlatency=300\nrtsp-reconnect-interval-sec=4\ngpu-id=0\n"
                      "[source1]\ndrop-frame-interval=3\nfile-loop=1\n"
                      "[tiled-display]\nenable=1\n[sink0]\ntype=1\n",
                      &cfg));
    if (cfg) {
        EI_CHECK(cfg->n_sources == 4 && cfg->n_streams == 4);
        EI_CHECK(cfg->sources[0].type == EI_APP_SOURCE_URI && !strcmp(cfg->sources[0].uri, "file:///data/v/a.mp4"));
        EI_CHECK(cfg->sources[1].type == EI_APP_SOURCE_URI && !strcmp(cfg->sources[1].uri, "file:///data/cfg/b.mp4"));
        EI_CHECK(cfg->sources[2].type == EI_APP_SOURCE_RTSP && !strcmp(cfg->sources[2].uri, "rtsp://cam/live"));
        EI_CHECK(cfg->sources[3].type == EI_APP_SOURCE_CAMERA_V4L2 &&
                 !strcmp(cfg->sources[3].camera_v4l2_dev_node, "/dev/video2"));
        for (int i = 0; i < 4; i++) {
            EI_CHECK(cfg->sources[i].latency_ms == 300 && cfg->sources[i].rtsp_reconnect_interval_sec == 4);
            EI_CHECK(cfg->sources[i].first_stream == i && cfg->sources[i].n_streams == 1);
            EI_CHECK(cfg->sources[i].source_group == i);
        }
        EI_CHECK(cfg->sources[1].drop_frame_interval == 3 && cfg->sources[0].drop_frame_interval == 0);
        EI_CHECK(cfg->sources[1].file_loop && !cfg->sources[0].file_loop);
    }
    EI_CHECK(strstr(warnings->str, "[source-list] sensor-id-list is ignored"));
    EI_CHECK(strstr(warnings->str, "[source-list] unknown key 'lisst'; did you mean 'list'?"));
    EI_CHECK(strstr(warnings->str, "[source-attr-all] type is ignored: each source's type and URI come from"));
    EI_CHECK(strstr(warnings->str, "[source-attr-all] gpu-id is ignored: there is no GPU"));
    ei_app_config_free(cfg);

    /* num-source-bins left out: the list's length; enable=0 in [sourceK] drops entry K. */
    EI_CHECK_OK(parse("[source-list]\nlist=/a.mp4;/b.mp4;/c.mp4\n[source1]\nenable=0\n", &cfg));
    if (cfg) {
        EI_CHECK(cfg->n_sources == 2 && cfg->n_streams == 2);
        EI_CHECK(!strcmp(cfg->sources[1].uri, "file:///c.mp4") && cfg->sources[1].first_stream == 1);
        EI_CHECK(cfg->sources[1].source_group == 2);
    }
    ei_app_config_free(cfg);
    /* [source-attr-all] alone is ignored, with the reason; [tests] file-loop reaches list sources. */
    EI_CHECK_OK(parse("[source-attr-all]\nlatency=5\n[source0]\ntype=2\nuri=/a.mp4\n", &cfg));
    EI_CHECK(strstr(warnings->str, "[source-attr-all] is ignored: it gives the attributes of [source-list]'s"));
    ei_app_config_free(cfg);
    EI_CHECK_OK(parse("[source-list]\nlist=/a.mp4\n[tests]\nfile-loop=1\n", &cfg));
    if (cfg) EI_CHECK(cfg->n_sources == 1 && cfg->sources[0].file_loop);
    ei_app_config_free(cfg);
    /* file-loop on a live source is a warning. */
    EI_CHECK_OK(parse("[source0]\ntype=4\nuri=rtsp://x/y\nfile-loop=1\n", &cfg));
    EI_CHECK(strstr(warnings->str, "[source0] file-loop is ignored: it applies to file:// URIs"));
    ei_app_config_free(cfg);

#define BAD(text, substr) EI_CHECK_ERROR(parse(text, &cfg), EI_CODE_INVALID_ARGUMENT, substr)
    BAD("[source-list]\nnum-source-bins=3\nlist=/a.mp4;/b.mp4\n",
        "app.ini: [source-list] num-source-bins = '3': list has 2 URIs (the two must agree)");
    BAD("[source-list]\nnum-source-bins=2\n", "app.ini: [source-list] list is required");
    BAD("[source-list]\nlist=/a.mp4;;/b.mp4\n", "[source-list] list = '': an empty entry");
    BAD("[source-list]\nlist=csi:0\n", "[source-list] list = 'csi:0': a CSI camera (csi:N) is Jetson-only");
    BAD("[source-list]\nlist=usb:x\n", "[source-list] list = 'usb:x': expected usb:N");
    BAD("[source-list]\nlist=/a.mp4\n[source1]\nlatency=3\n", "app.ini: [source1] there is no source 1");
    BAD("[source-list]\nlist=/a.mp4\n[source0]\ntype=3\n", "[source0] type = '3': multi-uri cannot be used with");
    BAD("[source-list]\nlist=/a.mp4\n[source0]\nenable=0\n", "every entry of [source-list] list is disabled");
    BAD("[source-list]\nlist=/a.mp4\n[source-attr-all]\nlatency=x\n", "[source-attr-all] latency = 'x'");
#undef BAD
    EI_CHECK(cfg == NULL);
}

static void test_load(void) {
    ei_app_config * cfg = NULL;
    EI_CHECK_ERROR(ei_app_config_load("/nonexistent/app.ini", collect, NULL, &cfg), EI_CODE_NOT_FOUND,
                   "/nonexistent/app.ini: cannot read the app config");
    char * dir = g_dir_make_tmp("ei_app_XXXXXX", NULL);
    EI_CHECK(dir != NULL);
    if (!dir) return;
    char *       path = g_build_filename(dir, "a b.ini", NULL);
    char *       video = g_build_filename(dir, "v.mp4", NULL);
    const char * text = "[source0]\ntype=2\nuri=v.mp4\n[primary-gie]\nconfig-file=missing.ini\n[sink0]\ntype=1\n";
    EI_CHECK(g_file_set_contents(path, text, -1, NULL));
    EI_CHECK_ERROR(ei_app_config_load(path, collect, NULL, &cfg), EI_CODE_NOT_FOUND, "uri: no such file: file://");
    EI_CHECK(g_file_set_contents(video, "x", 1, NULL));
    EI_CHECK_ERROR(ei_app_config_load(path, collect, NULL, &cfg), EI_CODE_NOT_FOUND,
                   "a b.ini: [primary-gie] config-file: no such file:");
    /* The example configs of the repo parse (their files are checked only where the assets are). */
    char * example = g_build_filename(EI_SOURCE_DIR, "configs", "app", "yolox_car_file.ini", NULL);
    char * text2 = NULL;
    gsize  n = 0;
    EI_CHECK(g_file_get_contents(example, &text2, &n, NULL));
    char * exdir = g_path_get_dirname(example);
    g_string_truncate(warnings, 0);
    EI_CHECK_OK(ei_app_config_parse(text2, n, example, exdir, collect, NULL, &cfg));
    EI_CHECK(warnings->len == 0);
    if (cfg) {
        EI_CHECK(g_str_has_suffix(cfg->gie_config_file, "/configs/yolox_nano.ini"));
        EI_CHECK(g_str_has_suffix(cfg->sources[0].uri, "/shared/assets/videos/car-detection.mp4"));
        EI_CHECK(cfg->sinks[0].type == EI_APP_SINK_FILE && cfg->jsonl_output);
    }
    ei_app_config_free(cfg);
    g_free(text2);
    g_free(exdir);
    g_free(example);
    example = g_build_filename(EI_SOURCE_DIR, "configs", "app", "yolox_4_tiled.ini", NULL);
    EI_CHECK(g_file_get_contents(example, &text2, &n, NULL));
    g_string_truncate(warnings, 0);
    EI_CHECK_OK(ei_app_config_parse(text2, n, example, EI_SOURCE_DIR "/configs/app", collect, NULL, &cfg));
    /* YOLOX-nano's graph fixes batch 1: the example says so, and the only warning is that one. */
    EI_CHECK(strstr(warnings->str, "batches of 4 are inferred in pieces"));
    EI_CHECK(strchr(warnings->str, '\n') == strrchr(warnings->str, '\n'));
    if (cfg) EI_CHECK(cfg->n_streams == 4 && cfg->tiled_enabled && cfg->mux_batch_size == 4);
    ei_app_config_free(cfg);
    g_free(text2);
    g_free(example);
    g_remove(video);
    g_remove(path);
    g_rmdir(dir);
    g_free(video);
    g_free(path);
    g_free(dir);
}

int main(void) {
    warnings = g_string_new(NULL);
    EI_RUN(test_deepstream_like);
    EI_RUN(test_unknown_names);
    EI_RUN(test_bad_values);
    EI_RUN(test_defaults_and_paths);
    EI_RUN(test_source_list);
    EI_RUN(test_mpeg4_and_decoder_threads);
    EI_RUN(test_load);
    g_string_free(warnings, TRUE);
    EI_TEST_EXIT();
}
